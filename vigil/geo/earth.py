"""Places on Earth: great-circle distances, geofences, and WGS 84 positions to and from a local
east-north-up frame in metres (WGS 84 -> ECEF -> ENU, a few lines of standard geodesy)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)
WGS84_A = 6_378_137.0  # semi-major axis, metres
WGS84_F = 1 / 298.257223563
WGS84_E2 = WGS84_F * (2 - WGS84_F)  # first eccentricity squared

LatLon = tuple[float, float]


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def in_polygon(point: tuple[float, float], polygon: Sequence[tuple[float, float]]) -> bool:
    """Whether a (latitude, longitude) point lies inside a polygon of such points (a geofence
    of a few kilometres at most: treated as flat)."""
    from shapely.geometry import Point as ShapelyPoint
    from shapely.geometry import Polygon

    return bool(
        Polygon([(lon, lat) for lat, lon in polygon]).covers(ShapelyPoint(point[1], point[0]))
    )


def geodetic_to_ecef(lat: float, lon: float, h: float) -> np.ndarray:
    """WGS 84 latitude, longitude (degrees) and ellipsoidal height (metres) as ECEF metres."""
    phi, lam = math.radians(lat), math.radians(lon)
    n = WGS84_A / math.sqrt(1 - WGS84_E2 * math.sin(phi) ** 2)
    return np.array(
        [
            (n + h) * math.cos(phi) * math.cos(lam),
            (n + h) * math.cos(phi) * math.sin(lam),
            (n * (1 - WGS84_E2) + h) * math.sin(phi),
        ]
    )


def ecef_to_geodetic(xyz: np.ndarray) -> tuple[float, float, float]:
    """ECEF metres as WGS 84 (latitude, longitude, height); iterated to well under a
    millimetre for any point near the Earth's surface."""
    x, y, z = (float(v) for v in xyz)
    p = math.hypot(x, y)
    phi = math.atan2(z, p * (1 - WGS84_E2))
    for _ in range(6):
        n = WGS84_A / math.sqrt(1 - WGS84_E2 * math.sin(phi) ** 2)
        h = p * math.cos(phi) + z * math.sin(phi) - WGS84_A**2 / n
        phi = math.atan2(z, p * (1 - WGS84_E2 * n / (n + h)))
    n = WGS84_A / math.sqrt(1 - WGS84_E2 * math.sin(phi) ** 2)
    h = p * math.cos(phi) + z * math.sin(phi) - WGS84_A**2 / n
    return math.degrees(phi), math.degrees(math.atan2(y, x)), h


def radius_of_curvature(lat: float) -> float:
    """The Earth's Gaussian mean radius of curvature at a latitude (metres): what a ray's
    horizon is judged against."""
    s2 = math.sin(math.radians(lat)) ** 2
    return WGS84_A * math.sqrt(1 - WGS84_E2) / (1 - WGS84_E2 * s2)


class LocalFrame:
    """An east-north-up frame in metres with its origin at a WGS 84 position."""

    def __init__(self, lat: float, lon: float, h: float = 0.0) -> None:
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise ValueError(f"no such place: latitude {lat}, longitude {lon}")
        self.lat, self.lon, self.h = lat, lon, h
        self.origin = geodetic_to_ecef(lat, lon, h)
        phi, lam = math.radians(lat), math.radians(lon)
        sp, cp, sl, cl = math.sin(phi), math.cos(phi), math.sin(lam), math.cos(lam)
        # Rows: east, north, up as ECEF unit vectors.
        self.axes = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])

    def to_enu(self, lat: float, lon: float, h: float) -> np.ndarray:
        return np.asarray(self.axes @ (geodetic_to_ecef(lat, lon, h) - self.origin))

    def to_geodetic(self, enu: np.ndarray) -> tuple[float, float, float]:
        return ecef_to_geodetic(self.origin + self.axes.T @ np.asarray(enu, np.float64))
