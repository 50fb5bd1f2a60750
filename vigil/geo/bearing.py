"""Where a fire is: the bearing of a detection from its camera, and the crossing of two (or
more) cameras' bearing lines, as fire-lookout towers fix a smoke with two azimuths.

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

Crossings are worked in one local tangent plane (`LocalFrame`, at the lines' mean origin),
each line's direction turned from its own camera's north into that plane (meridians converge:
0.3 deg between towers 30 km apart at 45 deg of latitude). The uncertainty is the bearings'
angular errors propagated through the geometry: each line may be off sideways by range x
sigma, and the point's covariance is (N^T W N)^-1 over the lines' normals N, weights
1 / (range x sigma)^2. For two lines crossing at an angle g with sideways errors s each,
the ellipse's semi-axes are s / (sqrt(2) sin(g/2)) along their bisector and
s / (sqrt(2) cos(g/2)) across it (the parallelogram of +-s about each line reaches s / sin g
along the other). It is reported as `uncertainty_m`, the radius of a circle holding the fix with at
least 95 % probability (the 95 % ellipse's semi-major axis, 2.45 sigma along the major axis),
with the 1-sigma ellipse axes beside it.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from vigil.domain import Box, Frame, Telemetry
from vigil.errors import GeometryError
from vigil.geo.camera import CameraPose, CameraView, ground_alt_of
from vigil.geo.earth import LocalFrame
from vigil.sections import Strict

if TYPE_CHECKING:
    from vigil.config.camera import CameraConfig

DEFAULT_BEARING_SIGMA_DEG = 1.0  # a pan set from a survey or a map and a compass
# A drone's or body camera's heading comes from a magnetic compass and gimbal encoders.
TELEMETRY_BEARING_SIGMA_DEG = 2.0
# Lines crossing at less than this give no fix: the point slides along them (a sideways
# error of range x sigma grows by 1 / sin of the angle: 11x at 5 deg).
MIN_CROSSING_DEG = 5.0
# Lines from closer than this start from one place: their crossing says nothing of range.
MIN_BASELINE_M = 100.0
# A fire-watch tower's camera sees smoke 30 to 50 km away; a crossing beyond is no fix.
MAX_FIX_RANGE_M = 50_000.0
CHI2_2D_95 = 5.991  # the 95 % quantile of chi-square with 2 degrees of freedom
# Beyond the two lines that give the best crossing, a line joins the least-squares fix
# when it passes within this many of its own sigmas (range x sigma) of that crossing.
GATE_SIGMAS = 3.0
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


@dataclass(frozen=True, slots=True)
class Fix:
    """Where bearing lines cross. `uncertainty_m`: a 95 % circle's radius; `semi_major_m`,
    `semi_minor_m`: the 1-sigma ellipse, its major axis along `major_axis_deg`; `ranges_m`:
    from each line's origin, in the order given; `crossing_deg`: the widest angle at which
    two of its lines cross (0 to 90)."""

    lat: float
    lon: float
    uncertainty_m: float
    semi_major_m: float
    semi_minor_m: float
    major_axis_deg: float
    ranges_m: tuple[float, ...]
    crossing_deg: float


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


@functools.lru_cache(maxsize=4096)
def _frame(lat: float, lon: float) -> LocalFrame:
    """A tangent plane at sea level (a locating builds the same ones again and again)."""
    return LocalFrame(lat, lon, 0.0)


def _plane(lines: Sequence[BearingLine]) -> tuple[LocalFrame, np.ndarray, np.ndarray]:
    """The lines in one tangent plane: origins (n x 2, metres) and unit directions."""
    frame = _frame(sum(x.lat for x in lines) / len(lines), sum(x.lon for x in lines) / len(lines))
    origins, directions = [], []
    for line in lines:
        own = _frame(line.lat, line.lon)
        b = math.radians(line.bearing_deg)
        d = frame.axes @ (own.axes.T @ np.array([math.sin(b), math.cos(b), 0.0]))
        origins.append(frame.to_enu(line.lat, line.lon, 0.0)[:2])
        directions.append(d[:2] / np.linalg.norm(d[:2]))
    return frame, np.array(origins), np.array(directions)


def _crossing_deg(d1: np.ndarray, d2: np.ndarray) -> float:
    """The angle between two lines (not rays), 0 to 90 degrees."""
    s = abs(float(d1[0] * d2[1] - d1[1] * d2[0]))
    return math.degrees(math.asin(min(1.0, s)))


def _covariance(
    point: np.ndarray, origins: np.ndarray, directions: np.ndarray, sigmas: np.ndarray
) -> np.ndarray | None:
    """The 2 x 2 covariance (m^2) of a point on lines with angular sigmas (radians), or None
    when it lies behind a line's origin or beyond MAX_FIX_RANGE_M of it."""
    offsets = point - origins
    along = np.einsum("ij,ij->i", offsets, directions)
    ranges = np.linalg.norm(offsets, axis=1)
    if np.any(along <= 0) or np.any(ranges > MAX_FIX_RANGE_M):
        return None
    normals = np.column_stack([-directions[:, 1], directions[:, 0]])
    sideways = np.maximum(ranges * sigmas, 1e-3)
    info = normals.T @ (normals / sideways[:, None] ** 2)
    return np.asarray(np.linalg.inv(info))


def _major(cov: np.ndarray) -> float:
    """The variance along a 2 x 2 covariance's major axis."""
    a, b, c = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    return (a + c) / 2 + math.hypot((a - c) / 2, b)


def _fix_at(
    frame: LocalFrame,
    point: np.ndarray,
    lines: Sequence[BearingLine],
    origins: np.ndarray,
    directions: np.ndarray,
) -> Fix | None:
    """The fix at `point` (plane metres) with its covariance (see `_covariance`)."""
    cov = _covariance(point, origins, directions, np.radians([x.sigma_deg for x in lines]))
    if cov is None:
        return None
    values, vectors = np.linalg.eigh(cov)
    major = vectors[:, 1]
    lat, lon, _ = frame.to_geodetic(np.array([point[0], point[1], 0.0]))
    widest = max(
        _crossing_deg(directions[i], directions[j])
        for i, j in itertools.combinations(range(len(lines)), 2)
    )
    sigma_major = math.sqrt(max(float(values[1]), 0.0))
    return Fix(
        lat=round(lat, DIGITS),
        lon=round(lon, DIGITS),
        uncertainty_m=round(math.sqrt(CHI2_2D_95) * sigma_major, 1),
        semi_major_m=round(sigma_major, 1),
        semi_minor_m=round(math.sqrt(max(float(values[0]), 0.0)), 1),
        major_axis_deg=round(math.degrees(math.atan2(major[0], major[1])) % 180.0, 1),
        ranges_m=tuple(round(float(r), 1) for r in np.linalg.norm(point - origins, axis=1)),
        crossing_deg=round(widest, 2),
    )


def _crossing(origins: np.ndarray, directions: np.ndarray, i: int, j: int) -> np.ndarray | None:
    """Where lines i and j cross in their plane (see `intersect` for when they do not)."""
    (pa, pb), (da, db) = origins[[i, j]], directions[[i, j]]
    if float(np.linalg.norm(pb - pa)) < MIN_BASELINE_M:
        return None
    if _crossing_deg(da, db) < MIN_CROSSING_DEG:
        return None
    gap = pb - pa
    t = float(gap[0] * db[1] - gap[1] * db[0]) / float(da[0] * db[1] - da[1] * db[0])
    return np.asarray(pa + t * da)


def intersect(a: BearingLine, b: BearingLine) -> Fix | None:
    """Where two bearing lines cross, with its uncertainty; None when they cross at less
    than MIN_CROSSING_DEG (nearly parallel, or pointing along each other), behind either
    origin, farther than MAX_FIX_RANGE_M from either, or when they start within
    MIN_BASELINE_M of each other (one place: two fires seen from one tower)."""
    frame, origins, directions = _plane([a, b])
    point = _crossing(origins, directions, 0, 1)
    return None if point is None else _fix_at(frame, point, [a, b], origins, directions)


def _near(
    point: np.ndarray, spread_m: float, origins: np.ndarray, directions: np.ndarray,
    sigmas: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Which lines pass in front of their origin within GATE_SIGMAS of a point known to
    `spread_m` (each line's own sideways error at that range and the point's, combined)."""
    offsets = point - origins
    along = np.einsum("ij,ij->i", offsets, directions)
    sideways = np.abs(offsets[:, 0] * directions[:, 1] - offsets[:, 1] * directions[:, 0])
    spread = np.hypot(spread_m, along * sigmas)
    return np.asarray((along > 0) & (sideways <= GATE_SIGMAS * spread))


def _least_squares(lines: Sequence[BearingLine], start: Fix, rounds: int = 4) -> Fix | None:
    """The weighted least-squares point of several lines, from a first estimate: each line's
    sideways distance over its own range x sigma (ranges taken again each round)."""
    frame, origins, directions = _plane(lines)
    point = frame.to_enu(start.lat, start.lon, 0.0)[:2]
    normals = np.column_stack([-directions[:, 1], directions[:, 0]])
    sigmas = np.radians([x.sigma_deg for x in lines])
    for _ in range(rounds):
        ranges = np.maximum(np.linalg.norm(point - origins, axis=1), 1.0)
        w = 1.0 / (ranges * sigmas) ** 2
        lhs = normals.T @ (normals * w[:, None])
        rhs = normals.T @ (w * np.einsum("ij,ij->i", normals, origins))
        point = np.linalg.solve(lhs, rhs)
    return _fix_at(frame, point, lines, origins, directions)


def locate(
    lines: Sequence[BearingLine], *, through: int | None = None
) -> tuple[Fix, list[int]] | None:
    """The best fix of several bearing lines and which of them (indexes) make it. Each pair's
    crossing gathers the lines passing within GATE_SIGMAS of it; the crossing most lines
    agree on wins (a line to another fire, crossing one of them nearby, gathers fewer), the
    better known on a tie; with more than two lines, least squares over them. `through`:
    only crossings of that line count (the fix a new sighting makes). None when no two
    lines cross (see `intersect`)."""
    frame, origins, directions = _plane(lines)
    sigmas = np.radians([x.sigma_deg for x in lines])
    best: tuple[int, float, list[int], tuple[int, int], np.ndarray] | None = None
    for i, j in itertools.combinations(range(len(lines)), 2):
        if through is not None and through not in (i, j):
            continue
        point = _crossing(origins, directions, i, j)
        pair = [i, j]
        cov = None if point is None else _covariance(point, origins[pair], directions[pair],
                                                     sigmas[pair])  # fmt: skip
        if point is None or cov is None:
            continue
        spread = math.sqrt(max(_major(cov), 0.0))
        near = _near(point, spread, origins, directions, sigmas)
        near[pair] = True
        members = [int(k) for k in np.flatnonzero(near)]
        if best is None or (-len(members), spread) < (-best[0], best[1]):
            best = (len(members), spread, members, (i, j), point)
    if best is None:
        return None
    _, _, members, (i, j), point = best
    fix = _fix_at(frame, point, [lines[i], lines[j]], origins[[i, j]], directions[[i, j]])
    assert fix is not None  # its covariance was found above
    if len(members) > 2:
        joint = _least_squares([lines[k] for k in members], fix)
        if joint is not None:
            return joint, members
    return fix, members


def passes_near(line: BearingLine, fix: Fix) -> bool:
    """Whether a line passes in front of its origin within GATE_SIGMAS of a fix (its own
    sideways error at that range and the fix's, combined)."""
    frame, origins, directions = _plane([line])
    point = frame.to_enu(fix.lat, fix.lon, 0.0)[:2]
    return bool(_near(point, fix.semi_major_m, origins, directions,
                      np.radians([line.sigma_deg]))[0])  # fmt: skip
