"""From a camera's image to the ground: metres on a flat ground plane (no place on Earth).

Two ways to say where the ground is, both from measurements a user can make on site:
- `UniformScale`: two image points a known distance apart; every pixel is the same size on
  the ground (a camera looking straight down, or a short stretch of road seen from the side).
- `Homography`: four image points and where they lie on the ground, in metres (corners of a
  parking bay, road markings); right for any flat ground seen at an angle.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from vigil.domain import Point


class GroundPlane(Protocol):
    def to_ground(self, point: Point) -> Point:
        """An image point (pixels) as metres on the ground plane."""


def distance(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


class UniformScale:
    """Every pixel covers `metres_per_pixel` on the ground."""

    def __init__(self, metres_per_pixel: float) -> None:
        if not metres_per_pixel > 0:
            raise ValueError(f"metres per pixel must be positive, got {metres_per_pixel}")
        self.metres_per_pixel = metres_per_pixel

    @classmethod
    def from_reference(cls, a: Point, b: Point, metres: float) -> UniformScale:
        """Image points `a` and `b` (pixels) lie `metres` apart on the ground."""
        pixels = distance(a, b)
        if pixels <= 0:
            raise ValueError("the two reference points of a scale must be different")
        return cls(metres / pixels)

    def to_ground(self, point: Point) -> Point:
        return (point[0] * self.metres_per_pixel, point[1] * self.metres_per_pixel)


def _collinear_triple(points: Sequence[Point]) -> bool:
    """Whether any three of the points (nearly) lie on one line."""
    scale = max(distance(p, q) for p in points for q in points) or 1.0
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            for k in range(j + 1, len(points)):
                (ax, ay), (bx, by), (cx, cy) = points[i], points[j], points[k]
                area = abs((bx - ax) * (cy - ay) - (by - ay) * (cx - ax))
                if area < 1e-6 * scale * scale:
                    return True
    return False


def _spans_area(points: Sequence[Point]) -> bool:
    """Whether some four of the points have no three (nearly) on one line."""
    return any(
        not _collinear_triple([points[i] for i in four])
        for four in itertools.combinations(range(len(points)), 4)
    )


class Homography:
    """The perspective map from image pixels to ground metres fixed by four point pairs, or
    fitted (least squares) to more."""

    def __init__(self, image: Sequence[Point], ground: Sequence[Point]) -> None:
        n = len(image)
        if n < 4 or len(ground) != n:
            raise ValueError(
                "a ground homography needs four (or more) image points and as many ground "
                f"points; got {len(image)} and {len(ground)}"
            )
        for name, pts in (("image", image), ("ground", ground)):
            if n == 4 and _collinear_triple(pts):
                raise ValueError(
                    f"three of the four {name} points lie on one line; choose four points "
                    "that span an area (the corners of a marked rectangle, say)"
                )
            if n > 4 and not _spans_area(pts):
                raise ValueError(
                    f"the {n} {name} points lie (nearly) on one line; include four points "
                    "that span an area (the corners of a marked rectangle, say)"
                )
        src = np.array(image, np.float64)
        dst = np.array(ground, np.float64)
        if n == 4:
            matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
        else:
            matrix, _ = cv2.findHomography(src, dst, 0)  # least squares over every pair
            if matrix is None:
                raise ValueError(f"no homography fits these {n} point pairs; check them")
        self.matrix = np.asarray(matrix, np.float64)
        centre = np.mean(src, axis=0)
        # The ground's side of the horizon: where the reference points are.
        self._side = math.copysign(1.0, float(self.matrix[2] @ [centre[0], centre[1], 1.0]))

    def to_ground(self, point: Point) -> Point:
        """Metres on the ground; (inf, inf) for a point on or above the horizon."""
        x, y, w = self.matrix @ np.array([point[0], point[1], 1.0])
        if w * self._side <= 1e-12:
            return (math.inf, math.inf)
        return (float(x / w), float(y / w))
