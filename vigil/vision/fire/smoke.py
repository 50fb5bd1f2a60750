"""Smoke in a stream from a fixed camera: a grey veil over a learned background.

A pixel is veiled when it is grey (colour.smoke_pixels), lighter than the background by more
than noise, has lost fine detail the background had (smoke blurs what is behind it) and is
drifting: it changes a little from frame to frame, where a parked grey car does not change
at all and a walker changes a lot. Smoke thickens slowly, so only pixels veiled on most
frames for seconds count (`heat`, a slow running share). A moving camera has no background:
on frames where the picture moved the model starts again, so a drone's feed finds flame, not
smoke.
"""

from __future__ import annotations

import cv2
import numpy as np

from vigil.domain import Box
from vigil.vision.fire.colour import Planes, smoke_pixels
from vigil.vision.fire.regions import measure
from vigil.vision.fire.temporal import Average, Background, fine_detail

# Grey-level difference from the background that is more than noise and lighting drift.
MIN_CONTRAST = 12
# Drift: the mean absolute frame-to-frame change of a smoke pixel lies in this band.
DRIFT = (0.5, 6.0)
# Detail kept below this share of the background's counts as softened.
SOFTER = 0.6
# Frames of background learned before smoke is looked for (a few seconds at 30 fps).
WARM_UP = 90
# A smoke pixel is veiled on at least this share of frames over the last seconds: smoke
# from a fire stays, where a wave's foam washes up and back.
VEILED = 0.7
# A smoke blob covers at least this multiple of the flame blob minimum.
AREA_FACTOR = 10
# Shift of the picture from its background (pixels of the small copy) above which the
# camera is not fixed.
MAX_STEADY_SHIFT = 1.0
# Weights of the smoke cues: greyness, softening, persistence.
SMOKE_WEIGHTS = (0.2, 0.3, 0.5)


class SmokeModel:
    """Per-stream smoke state: the background, and how long each pixel has been veiled."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.background = Background()
        self.heat = Average(1 / 90)
        self.change = Average(1 / 8)
        self._prev: np.ndarray | None = None
        self.frames = 0

    def update(
        self, planes: Planes, camera_moved: bool, min_area: float
    ) -> list[tuple[Box, float]]:
        """Feed one frame's planes; (box on the small image, score) of each smoke blob."""
        y = planes.y.astype(np.float32)
        detail = fine_detail(y)
        grey_bg = self.background.grey.value
        if camera_moved or (grey_bg is not None and _shifted(grey_bg, y)):
            self._reset()
            return []
        if self._prev is not None:
            self.change.update(np.abs(y - self._prev))
        self._prev = y
        detail_bg = self.background.detail.value
        self.frames += 1
        if grey_bg is None or detail_bg is None or self.frames < WARM_UP:
            self.background.update(y, detail)
            return []
        grey = smoke_pixels(planes)
        lighter = y - grey_bg >= MIN_CONTRAST
        softened = detail < SOFTER * detail_bg + 1.0
        change = self.change.value
        drifting = (
            (change >= DRIFT[0]) & (change <= DRIFT[1]) if change is not None else lighter & False
        )
        veil = grey & lighter & softened & drifting
        self.heat.update(veil)
        # Learn the background everywhere but under the veil: smoke must not become scenery.
        self.background.update(np.where(veil, grey_bg, y), np.where(veil, detail_bg, detail))
        heat = self.heat.value
        if heat is None:
            return []
        maps: dict[str, np.ndarray] = {
            "grey": grey.astype(np.float32),
            "soft": np.clip(1.0 - detail / (detail_bg + 1.0), 0.0, 1.0),
            "heat": heat,
        }
        out = []
        for r in measure(heat >= VEILED, maps, AREA_FACTOR * min_area, 0.5):
            cues = (r.means["grey"], r.means["soft"], r.means["heat"])
            out.append((r.box, float(sum(w * c for w, c in zip(SMOKE_WEIGHTS, cues, strict=True)))))
        return out


def _shifted(background: np.ndarray, now: np.ndarray) -> bool:
    """Has the picture moved away from the learned background (a pan, a drone's or a
    walker's drift, a fraction of a pixel a frame but pixels in seconds)? Phase correlation
    finds the shift; a fixed camera's stays well under a pixel."""
    (dx, dy), _ = cv2.phaseCorrelate(background.astype(np.float32), now)
    return bool(dx * dx + dy * dy > MAX_STEADY_SHIFT**2)
