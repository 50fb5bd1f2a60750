"""Candidate regions: connected blobs of a pixel mask, with the per-region measures the
fire detector scores (means of per-pixel maps over each blob)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from vigil.domain import Box

_CLOSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


@dataclass(frozen=True, slots=True)
class Region:
    """One blob on the small image: its box there, its pixel count, and the mean of each
    measure over its pixels."""

    box: Box  # pixels of the small image
    pixels: int
    fraction: float  # of the small image's area
    means: Mapping[str, float]  # the mean of each map over the blob, and the 90th
    # percentile of each "q90" map (a cue that only part of a blob shows: flame's flicker)
    solidity: float  # blob area / its convex hull's: a flame's ragged tongues are below 1


def blobs(
    mask: np.ndarray, min_fraction: float, max_fraction: float = 1.0
) -> Iterator[tuple[Box, np.ndarray, float]]:
    """(box, blob mask within the box, solidity) of each blob of `mask` (bool), nearby
    pixels joined; blobs outside the area fractions are left out."""
    joined = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, _CLOSE)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    total = mask.size
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if not min_fraction * total <= area <= max_fraction * total:
            continue
        inside = labels[y : y + h, x : x + w] == i
        contours, _ = cv2.findContours(
            inside.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        points = np.vstack(contours) if contours else np.zeros((0, 1, 2), np.int32)
        hull = cv2.contourArea(cv2.convexHull(points)) if len(points) >= 3 else 0.0
        filled = sum(cv2.contourArea(c) for c in contours)
        solidity = min(1.0, filled / hull) if hull > 0 else 1.0
        yield Box(float(x), float(y), float(w), float(h)), inside, solidity


def measure(
    mask: np.ndarray,
    maps: Mapping[str, np.ndarray],
    min_fraction: float,
    max_fraction: float = 1.0,
    q90: Mapping[str, np.ndarray] | None = None,
) -> list[Region]:
    """The blobs of `mask` with the mean of every map (and the 90th percentile of every
    `q90` map) over each blob's pixels."""
    out = []
    for box, inside, solidity in blobs(mask, min_fraction, max_fraction):
        x, y, w, h = int(box.x), int(box.y), int(box.w), int(box.h)
        pixels = int(np.count_nonzero(inside))
        means = {
            name: float(plane[y : y + h, x : x + w][inside].mean()) if pixels else 0.0
            for name, plane in maps.items()
        }
        for name, plane in (q90 or {}).items():
            values = plane[y : y + h, x : x + w][inside]
            means[name] = float(np.percentile(values, 90)) if pixels else 0.0
        out.append(Region(box, pixels, pixels / mask.size, means, solidity))
    return out
