"""Colour models of flame and smoke, per pixel, on a small BGR copy of a frame.

Flame (the rules of Chen et al. 2004 and Celik & Demirel 2009, with their published
thresholds, not fitted here): red dominates (R >= G > B), red is bright, luminance exceeds
blue-difference chroma (Y > Cb), red-difference exceeds blue-difference chroma by a margin
(Cr - Cb >= 40), and the colder the red the more saturated it must be. A flame's hottest part
saturates the sensor towards yellow-white: those "core" pixels are counted separately, since
a red car or a brick wall has none.

Smoke: grey (low saturation) and neither dark nor blown out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Chen et al.: R above R_T; saturation at least (255 - R) * S_T / R_T (S on 0..255 here).
RED_MIN = 125
SAT_SLOPE = 60 / 125
# Celik & Demirel: |Cr - Cb| >= tau, tau = 40 in their ROC study.
CHROMA_MARGIN = 40
# Yellow-white flame core: red and green near saturation, blue lower.
CORE_RED, CORE_GREEN = 220, 150
# Smoke: saturation at most this (0..255) and value within this band.
SMOKE_MAX_SAT = 50
SMOKE_VALUE = (90, 235)


@dataclass(frozen=True, slots=True)
class Planes:
    """A small frame split once into the planes the models read (int16, no overflow)."""

    b: np.ndarray
    g: np.ndarray
    r: np.ndarray
    y: np.ndarray
    cr: np.ndarray
    cb: np.ndarray
    s: np.ndarray
    v: np.ndarray

    @classmethod
    def of(cls, bgr: np.ndarray) -> Planes:
        ycc = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb).astype(np.int16)
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV).astype(np.int16)
        b, g, r = (bgr[..., i].astype(np.int16) for i in range(3))
        return cls(b, g, r, ycc[..., 0], ycc[..., 1], ycc[..., 2], hsv[..., 1], hsv[..., 2])


def flame_pixels(p: Planes) -> np.ndarray:
    """Boolean map of pixels whose colour is flame's."""
    rgb = (p.r >= RED_MIN) & (p.r >= p.g) & (p.g > p.b)
    sat = p.s * 1.0 >= (255 - p.r) * SAT_SLOPE
    ycc = (p.y > p.cb) & (p.cr - p.cb >= CHROMA_MARGIN)
    return np.asarray(rgb & sat & ycc)


def core_pixels(p: Planes) -> np.ndarray:
    """Boolean map of yellow-white pixels (a flame's hottest part, or any bright lamp)."""
    return np.asarray((p.r >= CORE_RED) & (p.g >= CORE_GREEN) & (p.r >= p.g) & (p.g >= p.b))


def flame_strength(p: Planes) -> np.ndarray:
    """How flame-like each pixel's colour is, 0..1 (float32): the chroma margin and the
    brightness, each ramped from its rule's threshold to well past it."""
    chroma = np.clip((p.cr - p.cb - CHROMA_MARGIN) / 60.0 + 0.5, 0.0, 1.0)
    bright = np.clip((p.r - RED_MIN) / 100.0 + 0.3, 0.0, 1.0)
    return (chroma * bright).astype(np.float32)


def smoke_pixels(p: Planes) -> np.ndarray:
    """Boolean map of grey, mid-to-bright pixels: smoke's colour (and a cloud's, a wall's)."""
    lo, hi = SMOKE_VALUE
    return np.asarray((p.s <= SMOKE_MAX_SAT) & (p.v >= lo) & (p.v <= hi))
