"""WGS 84 <-> ECEF <-> local east-north-up: known values and round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vigil.geo import LocalFrame, ecef_to_geodetic, geodetic_to_ecef, haversine_m
from vigil.geo.earth import WGS84_A, WGS84_F, radius_of_curvature


def test_known_ecef_points() -> None:
    assert geodetic_to_ecef(0, 0, 0) == pytest.approx([WGS84_A, 0, 0], abs=1e-6)
    assert geodetic_to_ecef(0, 90, 100) == pytest.approx([0, WGS84_A + 100, 0], abs=1e-6)
    b = WGS84_A * (1 - WGS84_F)
    assert b == pytest.approx(6_356_752.314245, abs=1e-6)  # the published semi-minor axis
    assert geodetic_to_ecef(90, 0, 0) == pytest.approx([0, 0, b], abs=1e-6)
    assert geodetic_to_ecef(-90, 0, 10) == pytest.approx([0, 0, -b - 10], abs=1e-6)


@pytest.mark.parametrize(
    "lat,lon,h",
    [
        (41.14, -104.8, 2936.0),
        (-33.9, 151.2, -20.0),
        (89.999, 10.0, 5.0),
        (0.0, 179.99, 9000.0),
        (52.0116, 4.3571, 0.0),
        (-89.5, -179.5, 100.0),
    ],
)
def test_ecef_round_trip(lat: float, lon: float, h: float) -> None:
    got = ecef_to_geodetic(geodetic_to_ecef(lat, lon, h))
    assert got[0] == pytest.approx(lat, abs=1e-9)
    assert got[1] == pytest.approx(lon, abs=1e-9)
    assert got[2] == pytest.approx(h, abs=1e-4)


def test_local_frame_axes() -> None:
    frame = LocalFrame(41.14, -104.8, 1850.0)
    north = frame.to_geodetic(np.array([0.0, 1000.0, 0.0]))
    east = frame.to_geodetic(np.array([1000.0, 0.0, 0.0]))
    up = frame.to_geodetic(np.array([0.0, 0.0, 50.0]))
    assert north[0] > 41.14 and north[1] == pytest.approx(-104.8, abs=1e-9)
    assert east[1] > -104.8 and east[0] == pytest.approx(41.14, abs=1e-4)
    assert up[:2] == pytest.approx((41.14, -104.8), abs=1e-9)
    assert up[2] == pytest.approx(1900.0, abs=1e-6)
    # 1 km along the ground is 1 km on the mean sphere to within its 0.3 % flattening.
    assert haversine_m((41.14, -104.8), north[:2]) == pytest.approx(1000.0, rel=3e-3)
    assert haversine_m((41.14, -104.8), east[:2]) == pytest.approx(1000.0, rel=3e-3)
    # 1 km along the tangent plane, the Earth has dropped away by d^2 / 2R (8 cm).
    drop = 1000.0**2 / (2 * radius_of_curvature(41.14))
    assert north[2] == pytest.approx(1850.0 + drop, abs=0.002)
    assert east[2] == pytest.approx(1850.0 + drop, abs=0.002)
    assert frame.to_enu(*north) == pytest.approx([0.0, 1000.0, 0.0], abs=1e-6)


def test_local_frame_rejects_no_place() -> None:
    with pytest.raises(ValueError, match="no such place"):
        LocalFrame(91.0, 0.0)


def test_radius_of_curvature_between_the_axes() -> None:
    assert WGS84_A * (1 - WGS84_F) < radius_of_curvature(45.0) < WGS84_A
    assert radius_of_curvature(0.0) < radius_of_curvature(60.0)
    assert math.isfinite(radius_of_curvature(90.0))
