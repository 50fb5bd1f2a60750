"""Where bearing lines cross: two (or more) cameras' bearings of one fire give its place, as
fire-lookout towers fix a smoke with two azimuths.

Crossings are worked in one local tangent plane (`LocalFrame`, at the lines' mean origin),
each line's direction turned from its own camera's north into that plane (meridians converge:
0.3 deg between towers 30 km apart at 45 deg of latitude). The uncertainty is the bearings'
angular errors propagated through the geometry: each line may be off sideways by range x
sigma, and the point's covariance is (N^T W N)^-1 over the lines' normals N, weights
1 / (range x sigma)^2. For two lines crossing at an angle g with sideways errors s each,
the ellipse's semi-axes are s / (sqrt(2) sin(g/2)) along their bisector and
s / (sqrt(2) cos(g/2)) across it (the parallelogram of +-s about each line reaches s / sin g
along the other). It is reported as `uncertainty_m`, the radius of a circle holding the fix
with at least 95 % probability (the 95 % ellipse's semi-major axis, 2.45 sigma along the
major axis), with the 1-sigma ellipse axes beside it.

`locate` takes more than two lines: the crossing most of them agree on, then their weighted
least-squares point.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vigil.geo.bearing import DIGITS, BearingLine
from vigil.geo.earth import LocalFrame

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
