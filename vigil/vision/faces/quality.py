"""Quality gates: a face is compared only when it is big enough, sharp enough and turned
towards the camera enough for its embedding to mean something. Each rejection says why.

What each gate measures, and why its default is where it is (measured on the shared face
set, ../shared/data/faces, by shrinking and blurring its portraits; see docs/benchmarks.md):

- **size**: the detector box's shorter side in the picture's pixels, at least 40. The encoder
  works on a 150 px chip, so a small face is mostly upsampling. Shrunk until their boxes were
  about 40 px wide, the set's faces moved 0.16-0.25 from their full-size embeddings; at 32 px
  0.21-0.32, at 24 px 0.33-0.40 (more than half the distance between a typical same-person
  pair and the match threshold), at 16 px 0.43-0.62.
- **sharpness**: the variance of the Laplacian of the grey aligned chip's central part (the
  face, not the background the chip's margin shows), at least 25. The set's unblurred faces
  score 85-1,900. A Gaussian blur of sigma 1 % of the face's width leaves 14-70 and moves
  embeddings 0.12-0.21; sigma 2 % leaves 6-21 and moves them 0.27-0.36, and heavily blurred
  faces drift towards other people's (Obama's to 0.62 of someone else at 3 %).
- **pose**: the nose tip's offset from the midpoint of the eyes, along the eye line, as a
  fraction of the eye distance, at most 0.45. 0 is frontal; the nose tip stands about 2.5 cm
  in front of eyes about 6 cm apart, so the offset grows as about 0.4 x tan(yaw) and 0.45 is
  about 45-50 degrees. The set's photos measure 0.00-0.33, the enrolled face in the Hamilton
  clip up to 0.35, and the clip's profiles 0.59 and beyond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

TOO_SMALL = "too small"
BLURRED = "blurred"
TURNED_AWAY = "turned away"


@dataclass(frozen=True, slots=True)
class FaceGates:
    """The thresholds a face must pass to be compared."""

    min_size: float = 40.0  # pixels, the box's shorter side
    min_sharpness: float = 25.0  # variance of the Laplacian on the aligned chip
    max_turn: float = 0.45  # nose offset from the eyes' midpoint / eye distance

    def __post_init__(self) -> None:
        if self.min_size < 1 or self.min_sharpness < 0 or self.max_turn <= 0:
            raise ValueError(f"face gates must be positive, got {self}")


@dataclass(frozen=True, slots=True)
class Quality:
    """What the gates measured on one face, and the first gate it failed (None: usable)."""

    size: float
    turn: float
    sharpness: float | None  # None when the face failed a gate before the chip was made
    reason: str | None

    @property
    def usable(self) -> bool:
        return self.reason is None

    def to_json(self) -> dict[str, object]:
        return {
            "usable": self.usable,
            "reason": self.reason,
            "size": round(self.size, 1),
            "turn": round(self.turn, 3),
            "sharpness": None if self.sharpness is None else round(self.sharpness, 1),
        }


def turn(landmarks: tuple[tuple[float, float], ...]) -> float:
    """How far the face is turned sideways: the nose tip's offset from the eyes' midpoint along
    the eye line, over the eye distance (signed; 0 is frontal). Landmarks are CenterFace's
    five: two eyes, nose tip, two mouth corners."""
    (lx, ly), (rx, ry), (nx, ny) = landmarks[0], landmarks[1], landmarks[2]
    ex, ey = rx - lx, ry - ly
    eyes = math.hypot(ex, ey)
    if eyes < 1e-6:
        return math.inf  # both eyes on one spot: a profile, or a false detection
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    return ((nx - mx) * ex + (ny - my) * ey) / (eyes * eyes)


def sharpness(chip: np.ndarray) -> float:
    """The variance of the Laplacian over the central 60 % of an aligned face chip."""
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY) if chip.ndim == 3 else chip
    h, w = grey.shape[:2]
    core = grey[int(h * 0.2) : int(h * 0.8), int(w * 0.2) : int(w * 0.8)]
    return float(cv2.Laplacian(core, cv2.CV_64F).var())


def geometry_reason(gates: FaceGates, size: float, turned: float) -> str | None:
    """The gate a face fails on its box and landmarks alone (None: it passes them)."""
    if size < gates.min_size:
        return TOO_SMALL
    if not abs(turned) <= gates.max_turn:  # also catches NaN and inf
        return TURNED_AWAY
    return None


def sharpness_reason(gates: FaceGates, value: float) -> str | None:
    return BLURRED if value < gates.min_sharpness else None
