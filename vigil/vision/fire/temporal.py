"""Per-pixel models of a stream over time: flicker, persistence and a slow background.

Each keeps an exponential moving average with its start-up bias removed (so the first frames
of a stream are judged on what was seen, not on zeros), at the size of the small copy the
detector works on. One instance belongs to one stream: a detector per camera.
"""

from __future__ import annotations

import cv2
import numpy as np

# A luminance step under this (of 255) is compression and sensor noise, not a change.
STEP = 8
# Above this fraction of pixels stepping at once, the picture itself changed (the camera
# moved or the light switched): flicker is not measured on such a frame.
GLOBAL_STEP_FRACTION = 0.35


class Average:
    """A bias-corrected exponential moving average of a per-pixel map."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self._sum: np.ndarray | None = None
        self._weight = 0.0

    def update(self, value: np.ndarray) -> None:
        value = value.astype(np.float32, copy=False)
        if self._sum is None or self._sum.shape != value.shape:
            self._sum, self._weight = np.zeros_like(value), 0.0
        self._sum += self.alpha * (value - self._sum)
        self._weight += self.alpha * (1.0 - self._weight)

    def decay(self) -> None:
        """A frame on which nothing was observed: older observations weigh less."""
        if self._sum is not None:
            self._sum *= 1.0 - self.alpha
            self._weight *= 1.0 - self.alpha

    @property
    def value(self) -> np.ndarray | None:
        if self._sum is None or self._weight <= 0.0:
            return None
        out: np.ndarray = self._sum / self._weight
        return out


class Flicker:
    """How often each pixel's brightness reverses direction: flame flickers at 1-15 Hz in
    place, so its luminance keeps going up and down; a moving car's edge passes once, a wall
    or a parked red car does not change at all (Toreyin et al.'s temporal cue, without the
    wavelet: a reversal count over a ~half-second window)."""

    def __init__(self, alpha: float = 1 / 12) -> None:
        self.rate = Average(alpha)
        self._prev: np.ndarray | None = None
        self._sign: np.ndarray | None = None
        self._where: np.ndarray | None = None
        self.camera_moved = False

    def update(self, y: np.ndarray, where: np.ndarray | None = None) -> None:
        """Feed a luminance plane; `where` (bool), when given, is where a reversal counts:
        the pixels of flame colour on this frame and the one before, so that legs walking
        over a wooden floor do not count as the floor flickering."""
        if self._prev is None or self._prev.shape != y.shape:
            self._prev, self._sign = y, np.zeros(y.shape, np.int8)
            self._where = where
            return
        assert self._sign is not None
        diff = y - self._prev
        self._prev = y
        sign = (diff > STEP).astype(np.int8) - (diff < -STEP).astype(np.int8)
        stepping = float(np.count_nonzero(sign)) / sign.size
        self.camera_moved = stepping > GLOBAL_STEP_FRACTION
        if self.camera_moved:
            self._sign[:] = 0
            self.rate.decay()
            return
        reversed_ = (sign * self._sign) < 0
        if where is not None:
            reversed_ &= where if self._where is None else where & self._where
            self._where = where
        self._sign = np.where(sign != 0, sign, self._sign)
        self.rate.update(reversed_)

    def value(self) -> np.ndarray | None:
        return self.rate.value


class Background:
    """A slowly learned grey background and its fine detail (mean absolute Laplacian), for
    smoke: a veil of smoke brightens or greys what is behind it and softens its edges."""

    def __init__(self, alpha: float = 1 / 100) -> None:
        self.grey = Average(alpha)
        self.detail = Average(alpha)

    def update(self, y: np.ndarray, detail: np.ndarray) -> None:
        self.grey.update(y)
        self.detail.update(detail)

    def reset(self) -> None:
        self.grey = Average(self.grey.alpha)
        self.detail = Average(self.detail.alpha)


def fine_detail(y: np.ndarray) -> np.ndarray:
    """Absolute Laplacian of a luminance plane, lightly blurred: high-frequency energy."""
    lap = cv2.Laplacian(y.astype(np.float32), cv2.CV_32F, ksize=3)
    out: np.ndarray = cv2.blur(np.abs(lap), (5, 5))
    return out
