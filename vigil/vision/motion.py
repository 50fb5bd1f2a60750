"""MotionGate: where did the picture change? Cheap enough to run on every frame.

It works on a small blurred grey copy of the frame against a slowly learned background, so
a quiet camera costs a resize and a subtraction per frame and the detector can sleep.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vigil.domain import Box, Point

# Above this changed fraction of the image the whole picture changed (light switched, camera
# moved): report the full frame and re-learn the background quickly rather than chase ghosts.
GLOBAL_CHANGE_FRACTION = 0.5


class MotionGate:
    """Learns a background and reports the regions that differ from it, in frame pixels."""

    def __init__(
        self,
        frame_size: tuple[int, int],
        *,
        width: int = 192,
        threshold: int = 20,
        min_area: float = 0.0015,
        learning_rate: float = 0.02,
        masks: Sequence[Sequence[Point]] = (),
    ) -> None:
        fw, fh = frame_size
        self.frame_size = (fw, fh)
        self.small_size = (width, max(16, round(fh * width / fw)))
        self.threshold = threshold
        self.learning_rate = learning_rate
        sw, sh = self.small_size
        self.min_area_px = min_area * sw * sh
        self._sx, self._sy = fw / sw, fh / sh
        self._background: np.ndarray | None = None
        self._mask = self._build_mask(masks)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))

    def _build_mask(self, masks: Sequence[Sequence[Point]]) -> np.ndarray | None:
        """255 where motion counts, 0 inside the motion masks (trees, clocks, screens)."""
        if not masks:
            return None
        sw, sh = self.small_size
        keep = np.full((sh, sw), 255, np.uint8)
        for poly in masks:
            pts = np.array([[x / self._sx, y / self._sy] for x, y in poly], np.int32)
            cv2.fillPoly(keep, [pts], 0)
        return keep

    def _small_grey(self, image: np.ndarray) -> np.ndarray:
        small = cv2.resize(image, self.small_size, interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        return cv2.GaussianBlur(grey, (5, 5), 0)

    def update(self, image: np.ndarray) -> list[Box]:
        """Feed one frame; returns the changed regions (empty on the first frame)."""
        grey = self._small_grey(image)
        if self._background is None:
            self._background = grey.astype(np.float32)
            return []
        diff = cv2.absdiff(grey, cv2.convertScaleAbs(self._background))
        _, changed = cv2.threshold(diff, self.threshold, 255, cv2.THRESH_BINARY)
        if self._mask is not None:
            changed = cv2.bitwise_and(changed, self._mask)
        changed = cv2.dilate(changed, self._kernel, iterations=2)
        fraction = float(np.count_nonzero(changed)) / changed.size
        if fraction > GLOBAL_CHANGE_FRACTION:
            cv2.accumulateWeighted(grey, self._background, 0.5)
            fw, fh = self.frame_size
            return [Box(0.0, 0.0, float(fw), float(fh))]
        cv2.accumulateWeighted(grey, self._background, self.learning_rate)
        contours, _ = cv2.findContours(changed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        regions = []
        for contour in contours:
            if cv2.contourArea(contour) < self.min_area_px:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            regions.append(Box(x * self._sx, y * self._sy, w * self._sx, h * self._sy))
        return regions

    def absorb(self, regions: Sequence[Box], image: np.ndarray) -> None:
        """Learn `regions` of this frame into the background at once.

        Called for changed regions in which the detector found nothing (a shadow, the ghost
        of someone who stood still and left): without this they would wake the detector on
        every frame until the slow background caught up.
        """
        if self._background is None or not regions:
            return
        grey = self._small_grey(image)
        sh, sw = grey.shape
        for r in regions:
            x1, y1 = max(0, int(r.x / self._sx)), max(0, int(r.y / self._sy))
            x2, y2 = min(sw, int(np.ceil(r.x2 / self._sx))), min(sh, int(np.ceil(r.y2 / self._sy)))
            self._background[y1:y2, x1:x2] = grey[y1:y2, x1:x2]
