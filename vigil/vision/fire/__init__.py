"""Fire watch's detector: Vigil's own flame and smoke detector (colour, flicker, persistence,
edge softening; no learned weights), its single-image mode and a plain colour baseline.

The labels are named here once, for the detector, the fire analyzer and the CLI.
"""

from __future__ import annotations

from typing import Literal

Label = Literal["fire", "smoke"]
FIRE: Label = "fire"
SMOKE: Label = "smoke"
LABELS: tuple[Label, ...] = (FIRE, SMOKE)
