"""A fixed camera on the map: four (or more) image points measured with their latitude and
longitude give a homography from the image onto local east-north metres around them, and so
every image point on the ground its latitude and longitude.

    ground:
      points:
        - {image: [0.12, 0.91], lat: 52.01161, lon: 4.35702}
        - ...

Image points are fractions of the image (0..1, from the top left), like zones and lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field, model_validator

from vigil.geo.earth import LatLon, LocalFrame, haversine_m
from vigil.geo.plane import Homography
from vigil.sections import RelPoint, Strict

# How far from their centre the points may lie: the ground is a plane only for so long (and a
# point farther out is most often a typing slip).
MAX_SPREAD_M = 5_000.0
MAX_POINTS = 20
# Beyond this from the points, an image point is taken to be at the horizon (rounding near it
# sends the plane's points to any distance; no fixed camera places objects this far).
MAX_RANGE_M = 50_000.0


class GroundMap:
    """Image fractions to latitude/longitude through a ground homography."""

    def __init__(self, image: Sequence[tuple[float, float]], latlon: Sequence[LatLon]) -> None:
        n = len(image)
        if n < 4 or len(latlon) != n:
            raise ValueError(
                f"a camera's ground needs at least four points (each an image point with its "
                f"lat and lon) to fix its homography; got {n}"
            )
        lat0 = sum(p[0] for p in latlon) / n
        lon0 = sum(p[1] for p in latlon) / n
        far = max(range(n), key=lambda i: haversine_m((lat0, lon0), latlon[i]))
        spread = haversine_m((lat0, lon0), latlon[far])
        if spread > MAX_SPREAD_M:
            raise ValueError(
                f"ground point {far + 1} lies {spread / 1000:.1f} km from the points' centre; a "
                f"flat ground holds within {MAX_SPREAD_M / 1000:.0f} km: check its lat and lon "
                "(a typing slip, or lat and lon swapped)"
            )
        self.frame = LocalFrame(lat0, lon0, 0.0)
        self.metres: list[tuple[float, float]] = []
        for la, lo in latlon:
            east, north, _ = self.frame.to_enu(la, lo, 0.0)
            self.metres.append((float(east), float(north)))
        self.homography = Homography(image, self.metres)
        self._check_orientation(image)

    def _check_orientation(self, image: Sequence[tuple[float, float]]) -> None:
        """Seen from above, a camera's image (y down) is a mirror of east-north: the map's
        Jacobian is negative at every point of the ground it sees. A positive one means the
        points are paired in the wrong order (or lat and lon swapped)."""
        h = self.homography.matrix
        det = float(np.linalg.det(h))
        signs = [det / float(h[2] @ [x, y, 1.0]) ** 3 for x, y in image]
        if all(s < 0 for s in signs):
            return
        if all(s > 0 for s in signs):
            problem = "are a mirror image of the image points' arrangement"
        else:
            problem = "go round the area in a different order from the image points"
        raise ValueError(
            f"the ground points {problem}, as no camera above the ground sees them; pair each "
            "image point with its own lat and lon (and check lat and lon are not swapped)"
        )

    def to_latlon(self, fx: float, fy: float) -> LatLon | None:
        """The ground point at image fractions (fx, fy); None on or above the horizon (or
        more than MAX_RANGE_M away, as good as on it)."""
        east, north = self.homography.to_ground((fx, fy))
        if not np.hypot(east, north) <= MAX_RANGE_M:  # inf and nan too
            return None
        lat, lon, _ = self.frame.to_geodetic(np.array([east, north, 0.0]))
        return (lat, lon)

    def pixel_to_latlon(self, x: float, y: float, width: int, height: int) -> LatLon | None:
        return self.to_latlon(x / width, y / height)


class GroundPointConfig(Strict):
    image: RelPoint
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)


class GroundReferenceConfig(Strict):
    """Where a fixed camera's image lies on the map: four or more image points (fractions)
    with their measured latitude and longitude (ground marks seen in the image)."""

    points: list[GroundPointConfig] = Field(max_length=MAX_POINTS)

    @model_validator(mode="after")
    def _fits(self) -> GroundReferenceConfig:
        self.ground_map()
        return self

    def ground_map(self) -> GroundMap:
        return GroundMap([p.image for p in self.points], [(p.lat, p.lon) for p in self.points])

    def centre(self) -> LatLon:
        n = len(self.points)
        return (sum(p.lat for p in self.points) / n, sum(p.lon for p in self.points) / n)
