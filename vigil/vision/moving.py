"""MovingObjects: a detector of things that move, for views no object model was trained on.

A COCO model knows cars from the side and the street; seen straight down from a mast it
calls them phones. This detector knows no classes: every solid moving blob is a detection
labelled "motion", scored by how much of its box is foreground. It keeps a background model,
so it must see every frame (`needs_every_frame`), and it is cheap enough to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from vigil.domain import Box, Detection
from vigil.vision.base import DetectorSettings

LABEL = "motion"


class MotionSettings(DetectorSettings):
    """Anything that moves, without classes (label "motion"): for views no model knows."""

    kind: Literal["motion"] = "motion"
    width: int = Field(320, ge=64, le=1920, description="width of the image blobs are found on")
    min_area: float = Field(0.004, gt=0.0, le=1.0, description="smallest blob, image fraction")
    max_area: float = Field(0.3, gt=0.0, le=1.0, description="largest blob, image fraction")
    history: int = Field(300, ge=10, le=10000, description="frames the background remembers")
    var_threshold: float = Field(32.0, gt=0.0, le=1000.0, description="foreground sensitivity")

    def load(self, input_size: int) -> MovingObjects:
        return MovingObjects(
            width=self.width,
            min_area=self.min_area,
            max_area=self.max_area,
            history=self.history,
            var_threshold=self.var_threshold,
        )


class MovingObjects:
    """Background subtraction (OpenCV MOG2) -> cleaned foreground blobs -> Detections."""

    needs_every_frame = True

    def __init__(
        self,
        width: int = 320,
        min_area: float = 0.004,
        max_area: float = 0.3,
        history: int = 300,
        var_threshold: float = 32.0,
    ) -> None:
        if not 64 <= width <= 1920:
            raise ValueError(f"MovingObjects width must be 64..1920 pixels, got {width}")
        self.width, self.min_area, self.max_area = width, min_area, max_area
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=history, varThreshold=var_threshold, detectShadows=True
        )
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))

    @property
    def labels(self) -> Sequence[str]:
        return (LABEL,)

    def detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        scale = self.width / w
        small = cv2.resize(
            image, (self.width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
        mask = self._subtractor.apply(small)
        # 127 marks shadows: a car's shadow is not part of the car.
        _, fg = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._open)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._close, iterations=2)
        contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        area = fg.shape[0] * fg.shape[1]
        # A blob over most of the picture is light or the camera changing, not an object.
        min_px, max_px = self.min_area * area, self.max_area * area
        out = []
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if not min_px <= bw * bh <= max_px:
                continue
            fill = float(np.count_nonzero(fg[y : y + bh, x : x + bw])) / (bw * bh)
            box = Box(x / scale, y / scale, bw / scale, bh / scale).clip(w, h)
            out.append(Detection(box, LABEL, round(fill, 3)))
        return out
