"""FireDetector: Vigil's own flame and smoke detector (no learned weights).

Per frame, on a small copy (`width` pixels wide):

- flame: pixels of flame colour (`colour.flame_pixels`) that flicker in place (their
  brightness keeps reversing, `temporal.Flicker`, while they stay flame-coloured, `heat`),
  grown a few pixels into the flame-coloured pixels around them, joined into blobs; a blob
  scores its colour (chroma and brightness margins), its yellow-white core and its steady
  flicker;
- smoke: grey pixels lighter than a slowly learned background, with softer detail than it
  had, drifting slowly, on most frames for seconds (`smoke.SmokeModel`; fixed cameras only).

The score is a weighted mean of those cues in 0..1; a colour with nothing of the rest
(a red car parked, a wooden floor) stays under the threshold. The detector keeps a model of
its stream over time, so it sees every frame (`needs_every_frame`) and one camera's model is
never another's: the pipeline builds a detector per camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from vigil.domain import Box, Detection
from vigil.vision.base import DetectorSettings
from vigil.vision.fire import FIRE, LABELS, SMOKE, colour
from vigil.vision.fire.regions import Region, measure
from vigil.vision.fire.smoke import SmokeModel
from vigil.vision.fire.temporal import Average, Flicker

# Steady flicker (reversal rate x persistence, per pixel, 90th percentile over a blob) at
# which the cue counts fully: a pixel flame-coloured throughout whose brightness reverses
# on three frames in ten (flame flickers at 1-15 Hz; a face or a walker's legs, moving over
# flame-coloured skin or floor, reach about a third of that).
FLICKER_FULL = 0.3
# The least steady flicker of a pixel that is part of a flame blob.
ACTIVE = 0.03
# Steps of 3 x 3 growth from flickering flame pixels into adjacent flame-coloured ones
# (6 px of the 320-px copy; chosen on house6: more swallows the walls around a flame).
GROW_STEPS = 6
_GROW = np.ones((3, 3), np.uint8)
# A yellow-white core on this share of a blob's pixels counts fully.
CORE_FULL = 0.2
# Weights of the flame cues: colour, core, steady flicker. Chosen on house6 and the no-fire
# videos of the shared data (docs/benchmarks.md says so): flicker weighs most because colour
# alone is a wooden floor's or a face's too.
FLAME_WEIGHTS = (0.25, 0.25, 0.5)


class FireSettings(DetectorSettings):
    """Flame and smoke by colour, flicker, persistence and (smoke) edge softening; labels
    fire and smoke. Vigil's own: no model file."""

    kind: Literal["fire"] = "fire"
    width: int = Field(320, ge=96, le=1280, description="width of the copy it works on")
    min_area: float = Field(
        0.0002, gt=0.0, le=0.5, description="smallest flame blob, fraction of the image"
    )
    min_score: float = Field(0.3, ge=0.0, le=1.0, description="weakest detection returned")
    smoke: bool = Field(True, description="look for smoke as well as flame")

    def load(self, input_size: int) -> FireDetector:
        return FireDetector(self.width, self.min_area, self.min_score, smoke=self.smoke)


class FireDetector:
    """Flame and smoke in a stream of frames (labels fire, smoke); boxes in input pixels."""

    needs_every_frame = True

    def __init__(
        self,
        width: int = 320,
        min_area: float = 0.0002,
        min_score: float = 0.3,
        *,
        smoke: bool = True,
    ) -> None:
        if not 96 <= width <= 1280:
            raise ValueError(f"FireDetector width must be 96..1280 pixels, got {width}")
        self.width, self.min_area, self.min_score = width, min_area, min_score
        self.with_smoke = smoke
        self._size: tuple[int, int] | None = None
        self._reset()

    def _reset(self) -> None:
        """Forget the stream: a new one (or a new size) starts from nothing."""
        self.flicker = Flicker()
        self.heat = Average(1 / 10)
        self.smoke = SmokeModel() if self.with_smoke else None

    @property
    def labels(self) -> Sequence[str]:
        return LABELS

    def _small(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if (w, h) != self._size:  # a new stream size: what was learned no longer fits
            self._reset()
            self._size = (w, h)
        width = min(self.width, w)
        size = (width, max(1, round(h * width / w)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA) if width != w else image

    def detect(self, image: np.ndarray) -> list[Detection]:
        small = self._small(image)
        planes = colour.Planes.of(small)
        flame = colour.flame_pixels(planes)
        self.flicker.update(planes.y, flame)
        self.heat.update(flame)
        regions = self.flame_regions(planes, flame)
        scale = image.shape[1] / small.shape[1]
        out = [
            Detection(_back(r.box, scale, image), FIRE, round(s, 3))
            for r in regions
            if (s := flame_score(r)) >= self.min_score
        ]
        if self.smoke is not None:
            for box, s in self.smoke.update(planes, self.flicker.camera_moved, self.min_area):
                if s >= self.min_score:
                    out.append(Detection(_back(box, scale, image), SMOKE, round(s, 3)))
        return out

    def flame_regions(self, planes: colour.Planes, flame: np.ndarray) -> list[Region]:
        """Blobs of flickering flame: flame-coloured pixels that also flicker in place,
        scored on those pixels; each box then takes in the flame-coloured pixels right
        around them (the flame's steadier body), a few pixels, not a whole wall."""
        zeros = np.zeros(flame.shape, np.float32)
        # Flickering where the colour stays: both at once, pixel by pixel (a face moving
        # flickers at its edges, where its colour comes and goes; a floor stays, unflickering).
        steady = _or(self.flicker.value(), zeros) * _or(self.heat.value, zeros)
        active = flame & (steady >= ACTIVE)
        maps = {
            "strength": colour.flame_strength(planes),
            "core": colour.core_pixels(planes).astype(np.float32),
        }
        regions = measure(active, maps, self.min_area, q90={"steady_flicker": steady})
        if not regions:
            return regions
        grown = cv2.dilate(active.astype(np.uint8), _GROW, iterations=GROW_STEPS) > 0
        body = grown & flame
        return [replace(r, box=_body_box(r.box, body)) for r in regions]


def flame_score(region: Region) -> float:
    """A flame blob's confidence in 0..1 from its colour, core and steady flicker."""
    m = region.means
    cues = (
        m["strength"],
        min(1.0, m["core"] / CORE_FULL),
        min(1.0, m["steady_flicker"] / FLICKER_FULL),
    )
    return float(sum(w * c for w, c in zip(FLAME_WEIGHTS, cues, strict=True)))


def _body_box(box: Box, body: np.ndarray) -> Box:
    """`box` grown to the bounds of the `body` pixels within GROW_STEPS of it."""
    h, w = body.shape
    x0, y0 = max(0, int(box.x) - GROW_STEPS), max(0, int(box.y) - GROW_STEPS)
    x1, y1 = min(w, int(box.x2) + GROW_STEPS), min(h, int(box.y2) + GROW_STEPS)
    ys, xs = np.nonzero(body[y0:y1, x0:x1])
    if not len(xs):
        return box
    grown = Box.from_xyxy(x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1)
    return box.union(grown)


def _or(value: np.ndarray | None, default: np.ndarray) -> np.ndarray:
    return default if value is None else value


def _back(box: Box, scale: float, image: np.ndarray) -> Box:
    """A box of the small copy in the input image's pixels."""
    h, w = image.shape[:2]
    return box.scale(scale, scale).clip(w, h)
