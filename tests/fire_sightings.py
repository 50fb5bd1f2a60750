"""Synthetic fire sightings for tests: the true bearing from a place to a point, and the box
a watch camera would see a fire at that point in (its centre column found on the real
bearing function, vigil.geo.bearing.fire_bearing, by bisection)."""

from __future__ import annotations

import math

from vigil.config import CameraConfig
from vigil.domain import Box
from vigil.geo import LocalFrame, fire_bearing

FRAME = (1280, 720)  # the towers' picture size (width, height)


def bearing_to(origin: tuple[float, float], point: tuple[float, float]) -> float:
    """Degrees clockwise from true north, from `origin` to `point` (lat, lon)."""
    east, north, _ = LocalFrame(*origin, 0.0).to_enu(*point, 0.0)
    return math.degrees(math.atan2(east, north)) % 360.0


def box_towards(
    camera: CameraConfig, point: tuple[float, float], frame: tuple[int, int] = FRAME
) -> Box:
    """A 40 x 60 flame box in `camera`'s picture whose bearing points at `point`."""
    assert camera.lat is not None and camera.lon is not None
    want = bearing_to((camera.lat, camera.lon), point)

    def box(x: float) -> Box:
        return Box(x - 20, 400, 40, 60)

    def off(x: float) -> float:
        got = fire_bearing(camera, None, box(x), frame)["bearing_deg"]
        return (got - want + 180.0) % 360.0 - 180.0

    lo, hi = 30.0, frame[0] - 30.0
    assert off(lo) < 0 < off(hi), f"{point} is not in {camera.id}'s view"
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if off(mid) < 0 else (lo, mid)
    return box((lo + hi) / 2)
