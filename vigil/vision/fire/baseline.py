"""The plain colour-threshold fire detector: the benchmark's peer, not the product's.

Every blob of flame-coloured pixels (the same published colour rules as the fire detector,
`colour.flame_pixels`) is a fire, scored by its mean colour strength: no flicker, no core,
no persistence, no smoke. What one gets from a colour rule alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vigil.domain import Detection
from vigil.vision.fire import FIRE, colour
from vigil.vision.fire.regions import measure


class ColourThreshold:
    """Flame-coloured blobs, each a `fire` detection; stateless."""

    needs_every_frame = True  # run on every frame, as the fire detector is, for a fair count

    def __init__(self, width: int = 320, min_area: float = 0.0002) -> None:
        self.width, self.min_area = width, min_area

    @property
    def labels(self) -> Sequence[str]:
        return (FIRE,)

    def detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        width = min(self.width, w)
        small = cv2.resize(
            image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA
        )
        planes = colour.Planes.of(small)
        strength = colour.flame_strength(planes)
        scale = w / width
        return [
            Detection(r.box.scale(scale, scale).clip(w, h), FIRE, round(r.means["s"], 3))
            for r in measure(colour.flame_pixels(planes), {"s": strength}, self.min_area)
        ]
