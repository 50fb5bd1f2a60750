"""Blurring faces in pictures Vigil keeps, on cameras that look for faces.

On a camera with a faces analyzer, a person's picture (a track's snapshot, an event's crop)
must not keep the face of someone who matched no watchlist. `FaceBlur` finds every face in a
picture with a permissive detector score (a face half seen is still a face) and pixelates it
with a margin, beyond recovery: the block is averaged down to a few cells and scaled back.
"""

from __future__ import annotations

import numpy as np

from vigil.vision.faces.detect import CenterFace

MARGIN = 0.25
CELLS = 6  # a face becomes CELLS x CELLS flat blocks


Box = tuple[float, float, float, float]  # x, y, w, h in the picture's pixels


def pixelate(image: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """A copy of `image` with each box (grown by MARGIN) pixelated beyond recovery."""
    import cv2

    out = image.copy()
    h, w = out.shape[:2]
    for x, y, fw, fh in boxes:
        x0, y0 = max(0, int(x - MARGIN * fw)), max(0, int(y - MARGIN * fh))
        x1, y1 = min(w, int(x + fw * (1 + MARGIN))), min(h, int(y + fh * (1 + MARGIN)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        block = out[y0:y1, x0:x1]
        small = cv2.resize(block, (CELLS, CELLS), interpolation=cv2.INTER_AREA)
        out[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    return out


class FaceBlur:
    def __init__(self, min_score: float = 0.3) -> None:
        self._detector = CenterFace(min_score=min_score)
        self.min_score = min_score
        self.calls = 0

    def find(self, image: np.ndarray) -> list[Box]:
        """The boxes of the faces in `image` (BGR), at this blur's permissive score."""
        return [face.box for face in self._detector.detect(image)]

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """A copy of `image` (BGR) with every face found pixelated."""
        self.calls += 1
        return pixelate(image, self.find(image))
