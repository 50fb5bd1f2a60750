"""Single-image mode: flame (and smoke above it) in one photo, where nothing flickers.

A still has no flicker and no persistence, so the decision rests on what one picture shows,
with a stricter threshold than the video mode:

- colour: the flame colour rules (colour.flame_pixels), as in video;
- light: flame emits light, so a good part of it clips the red channel (skin, a brick wall
  or a red car in daylight rarely does);
- core: a flame's hottest part saturates towards yellow-white inside the flame-coloured
  region (a red car, a brick wall or skin has at most a few highlights);
- heat colour: part of a flame is hot yellow (green well above blue), where a lamp's glint
  or a reflection on red paint is white;
- gradient: from the yellow-white core to the red edge the green/red ratio spans a wide
  range; a yellow car or an orange sign is one colour;
- texture: flame has fine structure (tongues, sparks), a sunset sky or a lamp's glow is
  smooth (mean absolute Laplacian of the region's luminance);
- shape: flame is ragged (low solidity: its area against its convex hull's), a lamp, a tail
  light, a sign or the sun's disc is compact.

Smoke is only reported above a flame found this way: a grey, soft (low-detail) region that
touches the flame's top. Grey soft regions alone are clouds, fog, walls and sky as often as
smoke, and a still gives nothing to tell them apart; the video mode finds smoke without flame.
"""

from __future__ import annotations

import cv2
import numpy as np

from vigil.domain import Box, Detection
from vigil.vision.fire import FIRE, SMOKE, colour
from vigil.vision.fire.regions import Region, blobs, measure
from vigil.vision.fire.temporal import fine_detail

WIDTH = 480
MIN_AREA = 0.0005  # of the image: a flame must cover a few hundred pixels of a photo
THRESHOLD = 0.65  # video mode reports from 0.3 and alerts from 0.55; a still needs more
CORE_FULL = 0.2  # share of a blob's pixels that are yellow-white, counted fully
DETAIL_FULL = 12.0  # mean absolute Laplacian (grey levels) counted fully
RAGGED_FULL = 0.4  # 1 - solidity counted fully
# Gates every still flame passes (see the module's doc): share of pixels with red >= 240,
# share of yellow-white core, and the spread (90th - 10th percentile) of green / red.
MIN_LIT, LIT_RED = 0.15, 240
MIN_CORE = 0.05
# ...with a part of it hot yellow, not white: a tail light's glint is white on red.
MIN_YELLOW, YELLOW_GAP = 0.05, 50
MIN_SPREAD = 0.3
# ...and ragged: a lamp, a tail light, a sign or the sun's disc is compact (a candle's
# teardrop is too: a still cannot tell it from a bulb).
MAX_SOLIDITY = 0.85
# Weights of colour, core, texture, shape.
STILL_WEIGHTS = (0.2, 0.35, 0.25, 0.2)
SMOKE_MAX_DETAIL = 4.0  # a smoke plume is soft
SMOKE_SCORE = 0.7  # smoke above a flame: as sure as such a judgement gets without motion


def detect_still(image: np.ndarray) -> list[Detection]:
    """Flame and smoke in one BGR image; boxes in its pixels; scores in 0..1."""
    h, w = image.shape[:2]
    width = min(WIDTH, w)
    small = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    scale = w / width
    planes = colour.Planes.of(small)
    flame = colour.flame_pixels(planes)
    # The core belongs to the flame region it sits in: flame plus the core pixels touching it.
    core = colour.core_pixels(planes)
    near_flame = cv2.dilate(flame.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    region = flame | (core & near_flame)
    detail = fine_detail(planes.y)
    maps = {
        "strength": colour.flame_strength(planes),
        "core": core.astype(np.float32),
        "detail": detail,
        "lit": (planes.r >= LIT_RED).astype(np.float32),
        "yellow": _yellow(planes).astype(np.float32),
    }
    ratio = planes.g / np.maximum(planes.r, 1).astype(np.float32)
    out: list[Detection] = []
    for r in measure(region, maps, MIN_AREA, q90={"ratio_hi": ratio, "ratio_lo": -ratio}):
        score = still_score(r)
        if score < THRESHOLD or not _passes_gates(r):
            continue
        out.append(Detection(r.box.scale(scale, scale).clip(w, h), FIRE, round(score, 3)))
        smoke = _smoke_above(r.box, planes, detail)
        if smoke is not None:
            out.append(Detection(smoke.scale(scale, scale).clip(w, h), SMOKE, SMOKE_SCORE))
    return out


def _yellow(p: colour.Planes) -> np.ndarray:
    """Hot yellow-orange: bright red and green well above blue (a white highlight or a
    reflection is not)."""
    return np.asarray((p.r >= 200) & (p.g >= 120) & (p.r >= p.g) & (p.g - p.b >= YELLOW_GAP))


def _passes_gates(region: Region) -> bool:
    m = region.means
    spread = m["ratio_hi"] + m["ratio_lo"]  # p90 of g/r minus p10 of g/r
    lit = m["lit"] >= MIN_LIT and m["yellow"] >= MIN_YELLOW
    cored = m["core"] >= MIN_CORE
    return lit and cored and spread >= MIN_SPREAD and region.solidity <= MAX_SOLIDITY


def still_score(region: Region) -> float:
    m = region.means
    cues = (
        m["strength"],
        min(1.0, m["core"] / CORE_FULL),
        min(1.0, m["detail"] / DETAIL_FULL),
        min(1.0, (1.0 - region.solidity) / RAGGED_FULL),
    )
    return float(sum(wt * c for wt, c in zip(STILL_WEIGHTS, cues, strict=True)))


def _smoke_above(flame: Box, planes: colour.Planes, detail: np.ndarray) -> Box | None:
    """A grey, soft blob touching the top of `flame` (small-image pixels), at least as
    large as the flame, or None."""
    grey = colour.smoke_pixels(planes) & (detail <= SMOKE_MAX_DETAIL)
    top = int(flame.y)
    for box, _inside, _solidity in blobs(grey, MIN_AREA):
        touches = box.y < top + 0.25 * flame.h and box.y2 >= top - 2
        overlaps_x = box.x < flame.x2 and flame.x < box.x2
        if touches and overlaps_x and box.area >= flame.area and box.y < top:
            return box
    return None
