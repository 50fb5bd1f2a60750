"""The Detector seam: an image in, Detections out. Nothing else (no threads, no storage)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from vigil.domain import Detection


@runtime_checkable
class Detector(Protocol):
    @property
    def labels(self) -> Sequence[str]:
        """Every label this detector can return."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Find objects in a BGR uint8 image; boxes are pixels of that image."""
