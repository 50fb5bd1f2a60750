"""A moving camera's view of the ground: from where the platform is and how it and its sensor
are turned, where on a flat ground each pixel looks.

Conventions are MISB ST 0601's. Platform: heading clockwise from true north (about down),
pitch nose up positive (about the right wing), roll right wing down positive (about forward).
Sensor, relative to the platform: azimuth clockwise seen from above, elevation up positive
(looking down is negative), roll clockwise seen from behind the camera (0: the top of the
image is up). A direction in the camera (forward, right, down) reaches the local
north-east-down frame through

    R = Rz(heading) Ry(pitch) Rx(roll) . Rz(azimuth) Ry(elevation) Rx(sensor roll)

(each an active rotation of the axes: the platform's turns first, then the sensor's within
the platform). A pixel's ray is the pinhole one: at image fractions (fx, fy) it is
(1, (2 fx - 1) tan(hfov / 2), (2 fy - 1) tan(vfov / 2)) in the camera frame, so the image's
right is the camera's right and its bottom is the camera's down.

The ground is a plane at `ground_alt` metres, level in the east-north-up frame at the sensor
(the same datum as the sensor's altitude: only their difference matters). A ray that dips less
below the horizontal than the true horizon does (about 1.9 deg at 3 km up) meets no ground on
the curved Earth: it counts as above the horizon, though the flat plane would meet it hundreds
of kilometres away. The flat plane's own error is the Earth's curvature, d^2 / 2R: 0.5 m of
height at 2.5 km, under a metre along the ground at an oblique view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vigil.domain import Telemetry
from vigil.errors import GeometryError
from vigil.geo.earth import LatLon, LocalFrame, radius_of_curvature

# The corners of a frame as image fractions, in ST 0601's order (corner points 1-4).
CORNERS: tuple[tuple[float, float], ...] = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
_NED_TO_ENU = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])


def _rz(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _ry(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rx(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


@dataclass(frozen=True, slots=True)
class CameraPose:
    """Where a camera is (WGS 84, altitude in metres) and how it is turned (degrees)."""

    lat: float
    lon: float
    alt: float
    heading: float
    pitch: float = 0.0
    roll: float = 0.0
    sensor_azimuth: float = 0.0
    sensor_elevation: float = 0.0
    sensor_roll: float = 0.0
    hfov: float | None = None
    vfov: float | None = None

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise GeometryError(f"the camera's {name} is {value}, not a number it can have")
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise GeometryError(f"no such place: latitude {self.lat}, longitude {self.lon}")
        for name in ("hfov", "vfov"):
            fov = getattr(self, name)
            if fov is not None and not 0.0 < fov < 180.0:
                raise GeometryError(
                    f"a field of view ({name}) of {fov} deg is not one a camera has; "
                    "it must lie between 0 and 180 degrees"
                )

    @classmethod
    def from_telemetry(cls, t: Telemetry, *, platform_attitude: bool = True) -> CameraPose:
        """The pose a telemetry sample gives. Missing platform pitch and roll, sensor
        azimuth and sensor roll count as 0 (a level platform, a sensor along its axis); a
        missing position, altitude or heading, or neither a pitch nor a sensor elevation
        (how far down it looks), is a GeometryError. `platform_attitude=False` leaves out
        the platform's pitch and roll (the peer in bench/geo.py)."""
        missing = [n for n in ("lat", "lon", "alt", "heading") if getattr(t, n) is None]
        if t.pitch is None and t.sensor_elevation is None:
            missing.append("pitch or sensor_elevation")
        if missing:
            raise GeometryError(
                f"the telemetry at t={t.t:.3f} s has no {', '.join(missing)}: where its camera "
                "looks cannot be worked out (give a source that records them)"
            )
        assert t.lat is not None and t.lon is not None and t.alt is not None
        assert t.heading is not None

        def angle(value: float | None) -> float:
            return 0.0 if value is None else value

        return cls(
            t.lat,
            t.lon,
            t.alt,
            t.heading,
            angle(t.pitch) if platform_attitude else 0.0,
            angle(t.roll) if platform_attitude else 0.0,
            angle(t.sensor_azimuth),
            angle(t.sensor_elevation),
            angle(t.sensor_roll),
            t.hfov or None,
            t.vfov or None,
        )

    def rotation(self) -> np.ndarray:
        """The camera's (forward, right, down) axes as columns in east-north-up."""
        platform = _rz(self.heading) @ _ry(self.pitch) @ _rx(self.roll)
        sensor = _rz(self.sensor_azimuth) @ _ry(self.sensor_elevation) @ _rx(self.sensor_roll)
        return np.asarray(_NED_TO_ENU @ platform @ sensor)


class CameraView:
    """A pose over a flat ground `ground_alt` metres high: its frame centre, footprint, and
    image points to and from latitude/longitude."""

    def __init__(self, pose: CameraPose, ground_alt: float) -> None:
        self.pose, self.ground_alt = pose, ground_alt
        self.depth = pose.alt - ground_alt
        if not self.depth > 0:
            raise GeometryError(
                f"the camera at {pose.alt:.1f} m is not above its ground at {ground_alt:.1f} m; "
                "check that both heights are on the same datum (mean sea level or ellipsoid)"
            )
        self.frame = LocalFrame(pose.lat, pose.lon, pose.alt)
        self.rotation = pose.rotation()
        r = radius_of_curvature(pose.lat)
        # How far below the horizontal the true horizon lies, seen from this height.
        self.horizon_dip = math.acos(r / (r + self.depth))

    def _meet(self, direction: np.ndarray) -> np.ndarray | None:
        """Where a unit ENU direction from the sensor meets the ground (ENU offset)."""
        down = -float(direction[2])
        if down <= math.sin(self.horizon_dip):
            return None
        return np.asarray(direction * (self.depth / down))

    def _latlon(self, enu: np.ndarray) -> LatLon:
        lat, lon, _ = self.frame.to_geodetic(enu)
        return (lat, lon)

    def line_of_sight(self) -> np.ndarray:
        return np.asarray(self.rotation[:, 0])

    def ray(self, fx: float, fy: float) -> np.ndarray:
        """The unit ENU direction through image fractions (fx, fy), (0, 0) the top left."""
        hfov, vfov = self.pose.hfov, self.pose.vfov
        if hfov is None or vfov is None:
            raise GeometryError(
                "the camera's field of view (hfov and vfov) is not known, so no pixel but the "
                "frame centre can be placed on the ground; give telemetry that records it"
            )
        cam = np.array(
            [
                1.0,
                (2 * fx - 1) * math.tan(math.radians(hfov) / 2),
                (2 * fy - 1) * math.tan(math.radians(vfov) / 2),
            ]
        )
        d = self.rotation @ cam
        return np.asarray(d / np.linalg.norm(d))

    def centre(self) -> LatLon:
        """Where the line of sight meets the ground; GeometryError when it does not."""
        los = self.line_of_sight()
        hit = self._meet(los)
        if hit is None:
            angle = math.degrees(math.asin(max(-1.0, min(1.0, float(los[2])))))
            raise GeometryError(
                f"the camera looks {abs(angle):.1f} deg {'above' if angle >= 0 else 'below'} "
                f"the horizontal from {self.depth:.0f} m up, at or above the horizon "
                f"({math.degrees(self.horizon_dip):.1f} deg down): no frame centre on the ground"
            )
        return self._latlon(hit)

    def to_latlon(self, fx: float, fy: float) -> LatLon | None:
        """The ground point seen at image fractions (fx, fy); None above the horizon."""
        hit = self._meet(self.ray(fx, fy))
        return None if hit is None else self._latlon(hit)

    def pixel_to_latlon(self, x: float, y: float, width: int, height: int) -> LatLon | None:
        """`to_latlon` for a pixel of a `width` x `height` image."""
        return self.to_latlon(x / width, y / height)

    def footprint(self) -> tuple[LatLon | None, ...]:
        """The frame's four corners on the ground (top left, top right, bottom right, bottom
        left: ST 0601's corner points 1-4), None for a corner above the horizon."""
        return tuple(self.to_latlon(fx, fy) for fx, fy in CORNERS)

    def to_image(self, lat: float, lon: float) -> tuple[float, float] | None:
        """Image fractions at which a ground point appears (outside 0..1 when out of frame);
        None when it is behind the camera."""
        if self.pose.hfov is None or self.pose.vfov is None:
            self.ray(0.5, 0.5)  # the same error as for any other pixel
        assert self.pose.hfov is not None and self.pose.vfov is not None
        # The point of the flat ground whose own vertical passes through (lat, lon): along
        # that vertical (ECEF is linear in height) from the ellipsoid height up to the plane.
        low = self.frame.to_enu(lat, lon, self.ground_alt)
        vertical = self.frame.to_enu(lat, lon, self.ground_alt + 1.0) - low
        cam = self.rotation.T @ (low + vertical * ((-self.depth - low[2]) / vertical[2]))
        if cam[0] <= 1e-9:
            return None
        return (
            0.5 + cam[1] / cam[0] / (2 * math.tan(math.radians(self.pose.hfov) / 2)),
            0.5 + cam[2] / cam[0] / (2 * math.tan(math.radians(self.pose.vfov) / 2)),
        )


def ground_alt_of(t: Telemetry) -> float | None:
    """The ground elevation a sample gives, on its altitude's datum: the encoded frame
    centre's elevation (KLV tag 25), else the take-off point's (alt - rel_alt: a drone over
    ground as high as where it started), else None."""
    if t.frame_center_alt is not None:
        return t.frame_center_alt
    if t.alt is not None and t.rel_alt is not None:
        return t.alt - t.rel_alt
    return None


def camera_view(t: Telemetry, ground_alt: float | None = None) -> CameraView:
    """The view of a telemetry sample over a ground `ground_alt` high (default: what the sample
    says, `ground_alt_of`); GeometryError when something it needs is missing."""
    if ground_alt is None:
        ground_alt = ground_alt_of(t)
    if ground_alt is None:
        raise GeometryError(
            f"the telemetry at t={t.t:.3f} s says nothing of the ground's elevation (no frame "
            "centre elevation, no height above take-off): give the ground's elevation"
        )
    return CameraView(CameraPose.from_telemetry(t), ground_alt)


def projected_centre(t: Telemetry, ground_alt: float | None = None) -> LatLon | None:
    """The frame centre a telemetry sample's pose projects onto a ground `ground_alt` high
    (default: `ground_alt_of`), or None where that cannot be worked out (something missing, a
    view above the horizon)."""
    try:
        return camera_view(t, ground_alt).centre()
    except GeometryError:
        return None
