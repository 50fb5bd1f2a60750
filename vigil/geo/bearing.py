"""Where a fire is seen from: the bearing of a detection from its camera, a line on the map
(two cameras' lines cross at the fire: `vigil.geo.crossing`).

A fixed watch camera's `view:` section gives its pan (`heading_deg`, the bearing of the
image centre, clockwise from true north), its horizontal field of view and its tilt:

    view: {heading_deg: 212.5, hfov_deg: 58, tilt_deg: -2, bearing_sigma_deg: 1}

A moving camera (drone, body camera) takes both from the frame's telemetry through
`vigil.geo.camera` (its `mount:` section filling in a lens or ground the format lacks), and
also gives where the ray meets the ground: the single-camera estimate.

The bearing is that of the ray through the box's centre column at its bottom row: a flame's
base is where it burns, and a smoke column's root is nearest its source (its top drifts with
the wind). For a level camera the row does not matter; for a tilted or rolled one it does,
and the bottom row is also the one that meets the ground. Its uncertainty combines the
view's (how well the pan is known) with the spread of where in the box the source may lie
(a uniform spread over the box's angular width: width / sqrt(12)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from vigil.domain import Box, Frame, Telemetry
from vigil.errors import GeometryError
from vigil.geo.camera import CameraPose, CameraView, ground_alt_of
from vigil.sections import Strict

if TYPE_CHECKING:
    from vigil.config.camera import CameraConfig

DEFAULT_BEARING_SIGMA_DEG = 1.0  # a pan set from a survey or a map and a compass
# A drone's or body camera's heading comes from a magnetic compass and gimbal encoders.
TELEMETRY_BEARING_SIGMA_DEG = 2.0
DIGITS = 7  # about a centimetre of latitude


class ViewConfig(Strict):
    """Which way a fixed watch camera looks (see the module's note)."""

    heading_deg: float = Field(
        ge=0.0, lt=360.0, description="bearing of the image centre, clockwise from true north"
    )
    hfov_deg: float = Field(gt=0.0, lt=180.0, description="horizontal field of view, degrees")
    tilt_deg: float = Field(
        0.0, ge=-85.0, le=85.0, description="up positive, looking down negative, degrees"
    )
    bearing_sigma_deg: float = Field(
        DEFAULT_BEARING_SIGMA_DEG,
        gt=0.0,
        le=30.0,
        description="how well the heading is known (one standard deviation, degrees)",
    )


@dataclass(frozen=True, slots=True)
class BearingLine:
    """A bearing from a place: a line on the map (degrees, clockwise from true north)."""

    lat: float
    lon: float
    bearing_deg: float
    sigma_deg: float

    @classmethod
    def of(cls, attributes: Mapping[str, Any]) -> BearingLine | None:
        """The line an event's attributes carry (what `fire_bearing` gave), if any."""
        try:
            values = [float(attributes[k]) for k in ("from_lat", "from_lon", "bearing_deg")]
            sigma = float(attributes.get("bearing_sigma_deg", DEFAULT_BEARING_SIGMA_DEG))
        except (KeyError, TypeError, ValueError):
            return None
        if not all(math.isfinite(v) for v in (*values, sigma)) or sigma <= 0:
            return None
        if not (-90.0 <= values[0] <= 90.0 and -180.0 <= values[1] <= 180.0):
            return None
        return cls(values[0], values[1], values[2] % 360.0, sigma)


def _azimuth(direction: np.ndarray) -> float | None:
    east, north = float(direction[0]), float(direction[1])
    if math.hypot(east, north) < 1e-6:
        return None  # straight up or down: no bearing
    return math.degrees(math.atan2(east, north)) % 360.0


def _wrap(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


def _rays(pose: CameraPose) -> CameraView:
    # Only the view's rays are used, and they do not depend on the ground: a nominal one.
    return CameraView(pose, pose.alt - 1.0)


def _vfov(hfov: float, frame_size: tuple[int, int]) -> float:
    width, height = frame_size
    half = math.tan(math.radians(hfov) / 2) * height / max(width, 1)
    return math.degrees(2 * math.atan(half))


def _box_bearing(
    view: CameraView, box: Box, frame_size: tuple[int, int], sigma0: float
) -> tuple[float, float] | None:
    """(bearing, sigma) of the box's centre column at its bottom row (see the note)."""
    width, height = frame_size
    if width <= 0 or height <= 0:
        return None
    fy = min(max(box.y2 / height, 0.0), 1.0)
    fx = min(max(box.center[0] / width, 0.0), 1.0)
    left, right = max(box.x / width, 0.0), min(box.x2 / width, 1.0)
    centre = _azimuth(view.ray(fx, fy))
    a, b = _azimuth(view.ray(left, fy)), _azimuth(view.ray(right, fy))
    if centre is None or a is None or b is None:
        return None
    spread = abs(_wrap(b - a)) / math.sqrt(12.0)
    return centre, math.hypot(sigma0, spread)


def _fixed_bearing(camera: CameraConfig, box: Box, frame_size: tuple[int, int]) -> dict[str, float]:
    view, lat, lon = camera.view, camera.lat, camera.lon
    if view is None or lat is None or lon is None:
        return {}
    pose = CameraPose(
        lat, lon, 0.0, view.heading_deg, sensor_elevation=view.tilt_deg,
        hfov=view.hfov_deg, vfov=_vfov(view.hfov_deg, frame_size),
    )  # fmt: skip
    found = _box_bearing(_rays(pose), box, frame_size, view.bearing_sigma_deg)
    if found is None:
        return {}
    return _record(lat, lon, *found)


def _ground_of(camera: CameraConfig, t: Telemetry) -> float | None:
    """The ground's elevation under a moving camera: as `vigil.ingest.geotag` takes it."""
    mount = camera.mount
    if mount is not None and mount.ground_alt is not None:
        return mount.ground_alt
    own = ground_alt_of(t)
    if own is not None:
        return own
    if mount is not None and mount.height is not None and t.alt is not None:
        return t.alt - mount.height
    return None


def _moving_bearing(
    camera: CameraConfig, t: Telemetry, box: Box, frame_size: tuple[int, int]
) -> dict[str, float]:
    hfov = t.hfov or (camera.mount.hfov if camera.mount is not None else None)
    if hfov is None:
        return {}
    try:
        pose = CameraPose.from_telemetry(t)
        pose = CameraPose(
            pose.lat, pose.lon, pose.alt, pose.heading, pose.pitch, pose.roll,
            pose.sensor_azimuth, pose.sensor_elevation, pose.sensor_roll,
            hfov, t.vfov or _vfov(hfov, frame_size),
        )  # fmt: skip
        found = _box_bearing(_rays(pose), box, frame_size, TELEMETRY_BEARING_SIGMA_DEG)
    except GeometryError:
        return {}
    if found is None:
        return {}
    out = _record(pose.lat, pose.lon, *found)
    ground = _ground_of(camera, t)
    if ground is not None and ground < pose.alt:
        width, height = frame_size
        fx, fy = box.center[0] / width, min(box.y2, height) / height
        hit = CameraView(pose, ground).to_latlon(fx, fy)
        if hit is not None:
            out["ground_lat"], out["ground_lon"] = round(hit[0], DIGITS), round(hit[1], DIGITS)
    return out


def _record(lat: float, lon: float, bearing: float, sigma: float) -> dict[str, float]:
    return {
        "bearing_deg": round(bearing, 3),
        "bearing_sigma_deg": round(sigma, 3),
        "from_lat": round(lat, DIGITS),
        "from_lon": round(lon, DIGITS),
    }


def fire_bearing(
    camera: CameraConfig, frame: Frame | None, box: Box, frame_size: tuple[int, int]
) -> dict[str, float]:
    """The bearing of a fire or smoke region `box` (pixels of a `frame_size` (width, height)
    frame) from where its camera was: `bearing_deg`, `bearing_sigma_deg`, `from_lat`,
    `from_lon`, and for a moving camera over a known ground `ground_lat`, `ground_lon`. A
    frame with telemetry is placed by it; else the camera's `view:`; {} when neither says
    which way the camera looked."""
    t = frame.telemetry if frame is not None else None
    if t is not None and t.lat is not None and t.lon is not None:
        moving = _moving_bearing(camera, t, box, frame_size)
        if moving:
            return moving
    return _fixed_bearing(camera, box, frame_size)
