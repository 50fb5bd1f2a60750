"""Fire bearings (a fixed camera's view:, a moving camera's telemetry) and the crossing of
bearing lines: synthetic cameras around a known point, errors in metres, and seeded noise
against the claimed 95 % uncertainty."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from vigil.config import VigilConfig
from vigil.config.camera import CameraConfig
from vigil.config.loader import parse_config
from vigil.domain import Box, Frame, Telemetry
from vigil.errors import ConfigError
from vigil.geo import BearingLine, CameraPose, CameraView, fire_bearing, intersect, locate
from vigil.geo.crossing import CHI2_2D_95, MAX_FIX_RANGE_M, MIN_CROSSING_DEG
from vigil.geo.earth import LocalFrame, haversine_m

SIZE = (640, 360)
FIRE = (45.0, 10.0)


def watch(heading: float = 90.0, hfov: float = 60.0, **view: float) -> CameraConfig:
    return CameraConfig(
        id="tower",
        source="tower.mp4",
        lat=45.0,
        lon=10.0,
        view={"heading_deg": heading, "hfov_deg": hfov, **view},
    )


def column(fx: float, width: float = 0.0, bottom: float = 0.5) -> Box:
    """A box centred on image fraction `fx` (width as a fraction), its bottom at `bottom`."""
    w, h = SIZE
    return Box((fx - width / 2) * w, (bottom - 0.1) * h, width * w, 0.1 * h)


def sight(camera: tuple[float, float], target: tuple[float, float], sigma: float) -> BearingLine:
    """The bearing a level camera at `camera` sees `target` at: its direction's azimuth in
    the camera's own east-north-up frame (what a tower's pan reads)."""
    east, north, _ = LocalFrame(*camera, 0.0).to_enu(*target, 0.0)
    return BearingLine(*camera, math.degrees(math.atan2(east, north)) % 360.0, sigma)


def offset(place: tuple[float, float], bearing: float, km: float) -> tuple[float, float]:
    b = math.radians(bearing)
    lat, lon, _ = LocalFrame(*place, 0.0).to_geodetic(
        np.array([math.sin(b), math.cos(b), 0.0]) * km * 1000.0
    )
    return (lat, lon)


# --- a fixed camera's view -------------------------------------------------------------


@pytest.mark.parametrize("fx", [0.5, 0.6, 0.75, 0.9, 1.0, 0.1, 0.0])
def test_a_fixed_cameras_bearing_follows_the_pinhole_not_a_straight_share(fx: float) -> None:
    got = fire_bearing(watch(), None, column(fx), SIZE)
    expect = 90.0 + math.degrees(math.atan((2 * fx - 1) * math.tan(math.radians(30.0))))
    assert got["bearing_deg"] == pytest.approx(expect, abs=1e-3)
    assert (got["from_lat"], got["from_lon"]) == (45.0, 10.0)
    if fx not in (0.0, 0.5, 1.0):  # the linear share would be this far off
        assert abs(expect - (90.0 + (fx - 0.5) * 60.0)) > 0.3


def test_bearings_wrap_round_north() -> None:
    assert fire_bearing(watch(350.0), None, column(1.0), SIZE)["bearing_deg"] == pytest.approx(20)
    assert fire_bearing(watch(10.0), None, column(0.0), SIZE)["bearing_deg"] == pytest.approx(340)


def test_sigma_is_the_views_combined_with_the_boxs_angular_width() -> None:
    thin = fire_bearing(watch(bearing_sigma_deg=0.5), None, column(0.5), SIZE)
    assert thin["bearing_sigma_deg"] == pytest.approx(0.5, abs=1e-3)
    wide = fire_bearing(watch(bearing_sigma_deg=0.5), None, column(0.5, 0.2), SIZE)
    half = math.degrees(math.atan(0.2 * math.tan(math.radians(30.0))))
    assert wide["bearing_sigma_deg"] == pytest.approx(math.hypot(0.5, 2 * half / 12**0.5), 1e-3)


def test_a_tilted_camera_takes_the_boxs_bottom_row() -> None:
    level, tilted = watch(hfov=80.0), watch(hfov=80.0, tilt_deg=-40.0)
    high, low = column(0.9, bottom=0.3), column(0.9, bottom=0.95)
    assert fire_bearing(level, None, high, SIZE) == fire_bearing(level, None, low, SIZE)
    a = fire_bearing(tilted, None, high, SIZE)["bearing_deg"]
    b = fire_bearing(tilted, None, low, SIZE)["bearing_deg"]
    assert abs(a - b) > 1.0  # a tilted camera's column is no vertical line on the ground
    vfov = math.degrees(2 * math.atan(math.tan(math.radians(40.0)) * SIZE[1] / SIZE[0]))
    pose = CameraPose(45.0, 10.0, 10.0, 90.0, sensor_elevation=-40.0, hfov=80.0, vfov=vfov)
    view = CameraView(pose, 0.0)
    ray = view.ray(0.9, 0.95)  # its own ray through that pixel
    assert b == pytest.approx(math.degrees(math.atan2(ray[0], ray[1])), abs=1e-3)


def test_no_view_no_bearing() -> None:
    camera = CameraConfig(id="plain", source="x.mp4", lat=45.0, lon=10.0)
    assert fire_bearing(camera, None, column(0.5), SIZE) == {}


@pytest.mark.parametrize(
    ("view", "words"),
    [
        ("{heading_deg: 90, hfov_deg: 60}", "give the camera's lat and lon"),
        ("{heading_deg: 360, hfov_deg: 60}", "heading_deg"),
        ("{heading_deg: 90, hfov_deg: 190}", "hfov_deg"),
        ("{heading_deg: 90, hfov_deg: 60, tilt_deg: -95}", "tilt_deg"),
        ("{heading_deg: 90, hfov_deg: 60, bearing_sigma_deg: 0}", "bearing_sigma_deg"),
        ("{heading: 90, hfov_deg: 60}", "heading"),
    ],
)
def test_a_bad_view_is_one_clear_config_error(view: str, words: str) -> None:
    place = "" if "lat and lon" in words else "lat: 45.0, lon: 10.0, "
    text = f"cameras:\n  - {{id: t, source: t.mp4, {place}view: {view}}}\n"
    with pytest.raises(ConfigError, match=words):
        parse_config(text, "vigil.yml", VigilConfig)


# --- a moving camera's telemetry ---------------------------------------------------------


def drone_frame(hfov: float | None = None) -> Frame:
    sample = Telemetry(
        0.0, lat=45.0, lon=10.0, alt=600.0, rel_alt=120.0, heading=30.0, pitch=0.0,
        sensor_azimuth=15.0, sensor_elevation=-25.0, hfov=hfov,
    )  # fmt: skip
    return Frame("drone", 0, 0.0, np.zeros((SIZE[1], SIZE[0], 3), np.uint8), telemetry=sample)


DRONE = CameraConfig(id="drone", source="drone.mp4", mount={"hfov": 70.0})


def test_a_drones_bearing_and_ground_point_come_from_its_pose() -> None:
    box = column(0.7, 0.05, bottom=0.8)
    got = fire_bearing(DRONE, drone_frame(), box, SIZE)
    assert (got["from_lat"], got["from_lon"]) == (45.0, 10.0)
    vfov = math.degrees(2 * math.atan(math.tan(math.radians(35.0)) * SIZE[1] / SIZE[0]))
    pose = CameraPose(45.0, 10.0, 600.0, 30.0, 0.0, 0.0, 15.0, -25.0, 0.0, 70.0, vfov)
    view = CameraView(pose, 480.0)
    ray = view.ray(0.7, 0.8)
    assert got["bearing_deg"] == pytest.approx(math.degrees(math.atan2(ray[0], ray[1])), abs=1e-2)
    assert got["bearing_sigma_deg"] > 2.0  # the compass's, and the box's width
    # The ground point is where that pixel lies: the view puts it back at the box's bottom.
    fx, fy = view.to_image(got["ground_lat"], got["ground_lon"]) or (0.0, 0.0)
    assert (fx, fy) == (pytest.approx(0.7, abs=1e-4), pytest.approx(0.8, abs=1e-4))
    # Straight ahead the bearing is the platform's heading plus the sensor's azimuth.
    ahead = fire_bearing(DRONE, drone_frame(), column(0.5, bottom=0.5), SIZE)
    assert ahead["bearing_deg"] == pytest.approx(45.0, abs=1e-3)


def test_a_drone_without_a_lens_or_heading_gives_no_bearing() -> None:
    lensless = CameraConfig(id="drone", source="drone.mp4")
    assert fire_bearing(lensless, drone_frame(), column(0.5), SIZE) == {}
    assert fire_bearing(DRONE, drone_frame(hfov=50.0), column(0.5), SIZE)  # its own lens
    frame = drone_frame()
    assert frame.telemetry is not None
    headless = replace(frame, telemetry=replace(frame.telemetry, heading=None))
    assert fire_bearing(DRONE, headless, column(0.5), SIZE) == {}


def test_a_drone_over_unknown_ground_still_gives_its_bearing() -> None:
    frame = drone_frame()
    assert frame.telemetry is not None
    unknown = replace(frame, telemetry=replace(frame.telemetry, rel_alt=None))
    got = fire_bearing(DRONE, unknown, column(0.5), SIZE)
    assert "bearing_deg" in got and "ground_lat" not in got


# --- crossings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "most_m"),
    [
        ((0.0, 20.0), (90.0, 25.0), 1.0),  # near perpendicular, 20-25 km out
        ((200.0, 30.0), (250.0, 35.0), 1.0),  # 50 deg apart
        ((0.0, 15.0), (12.0, 15.0), 1.0),  # a shallow 12 deg crossing
        ((0.0, 45.0), (90.0, 45.0), 5.0),  # 45 km: the tangent plane's curvature
    ],
)
def test_two_cameras_fix_a_known_point(
    a: tuple[float, float], b: tuple[float, float], most_m: float
) -> None:
    cam_a, cam_b = offset(FIRE, a[0], a[1]), offset(FIRE, b[0], b[1])
    fix = intersect(sight(cam_a, FIRE, 1.0), sight(cam_b, FIRE, 1.0))
    assert fix is not None
    assert haversine_m((fix.lat, fix.lon), FIRE) < most_m
    assert fix.ranges_m == (
        pytest.approx(a[1] * 1000, rel=1e-3),
        pytest.approx(b[1] * 1000, rel=1e-3),
    )


def test_the_uncertainty_is_range_times_sigma_over_the_crossings_sine() -> None:
    cam_a, cam_b = offset(FIRE, 0.0, 20.0), offset(FIRE, 90.0, 20.0)
    square = intersect(sight(cam_a, FIRE, 1.0), sight(cam_b, FIRE, 1.0))
    assert square is not None
    sideways = 20_000 * math.radians(1.0)
    assert square.semi_major_m == pytest.approx(sideways, rel=0.01)
    assert square.uncertainty_m == pytest.approx(sideways * math.sqrt(CHI2_2D_95), rel=0.01)
    # Crossing at 20 deg: the ellipse is long along the lines' bisector (towards the cameras),
    # its axes s / (sqrt 2 sin 10 deg) and s / (sqrt 2 cos 10 deg).
    cam_c = offset(FIRE, 20.0, 20.0)
    shallow = intersect(sight(cam_a, FIRE, 1.0), sight(cam_c, FIRE, 1.0))
    assert shallow is not None
    half = math.radians(10.0)
    assert shallow.semi_major_m == pytest.approx(sideways / 2**0.5 / math.sin(half), rel=0.01)
    assert shallow.semi_minor_m == pytest.approx(sideways / 2**0.5 / math.cos(half), rel=0.01)
    assert shallow.major_axis_deg == pytest.approx(10.0, abs=0.2)
    assert shallow.crossing_deg == pytest.approx(20.0, abs=0.05)


def test_no_fix_from_parallel_lines_behind_a_camera_or_beyond_range() -> None:
    cam_a = offset(FIRE, 0.0, 20.0)
    near = offset(FIRE, MIN_CROSSING_DEG * 0.8, 20.0)
    assert intersect(sight(cam_a, FIRE, 1.0), sight(near, FIRE, 1.0)) is None  # 4 deg apart
    facing = offset(FIRE, 180.0, 20.0)  # both look along the line between them
    assert intersect(sight(cam_a, FIRE, 1.0), sight(facing, FIRE, 1.0)) is None
    cam_b = offset(FIRE, 90.0, 20.0)
    away = BearingLine(cam_b[0], cam_b[1], (sight(cam_b, FIRE, 1).bearing_deg + 180) % 360, 1)
    assert intersect(sight(cam_a, FIRE, 1.0), away) is None  # they cross behind cam_b
    far_a = offset(FIRE, 0.0, MAX_FIX_RANGE_M / 1000 + 5)
    assert intersect(sight(far_a, FIRE, 1.0), sight(cam_b, FIRE, 1.0)) is None


def test_three_cameras_least_squares_and_a_line_to_another_fire_left_out() -> None:
    cams = [offset(FIRE, 0.0, 20.0), offset(FIRE, 100.0, 25.0), offset(FIRE, 230.0, 15.0)]
    lines = [sight(c, FIRE, 1.0) for c in cams]
    found = locate(lines)
    assert found is not None
    fix, members = found
    assert members == [0, 1, 2]
    assert haversine_m((fix.lat, fix.lon), FIRE) < 1.0
    pairs = [intersect(lines[i], lines[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert all(p is not None and fix.uncertainty_m < p.uncertainty_m for p in pairs)
    other = sight(offset(FIRE, 300.0, 20.0), offset(FIRE, 45.0, 8.0), 1.0)  # elsewhere
    fix4, members4 = locate([*lines, other]) or (None, [])
    assert members4 == [0, 1, 2] and fix4 is not None
    assert haversine_m((fix4.lat, fix4.lon), FIRE) < 1.0
    assert locate([lines[0]]) is None


def _mahalanobis2(fix_lat: float, fix_lon: float, fix: object) -> float:
    east, north, _ = LocalFrame(fix_lat, fix_lon, 0.0).to_enu(*FIRE, 0.0)
    axis = math.radians(fix.major_axis_deg)  # type: ignore[attr-defined]
    along = east * math.sin(axis) + north * math.cos(axis)
    across = east * math.cos(axis) - north * math.sin(axis)
    return float(
        (along / fix.semi_major_m) ** 2 + (across / fix.semi_minor_m) ** 2  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("spread", [90.0, 45.0])
def test_the_95_percent_uncertainty_covers_the_truth_about_that_often(spread: float) -> None:
    rng = np.random.default_rng(17)
    cam_a, cam_b = offset(FIRE, 10.0, 20.0), offset(FIRE, 10.0 + spread, 30.0)
    true_a, true_b = sight(cam_a, FIRE, 1.5), sight(cam_b, FIRE, 1.0)
    inside = ellipse = trials = 0
    for _ in range(1500):
        a = BearingLine(*cam_a, true_a.bearing_deg + rng.normal(0, 1.5), 1.5)
        b = BearingLine(*cam_b, true_b.bearing_deg + rng.normal(0, 1.0), 1.0)
        fix = intersect(a, b)
        assert fix is not None
        trials += 1
        inside += haversine_m((fix.lat, fix.lon), FIRE) <= fix.uncertainty_m
        ellipse += _mahalanobis2(fix.lat, fix.lon, fix) <= CHI2_2D_95
    assert 0.93 <= ellipse / trials <= 0.97  # the covariance is right
    assert inside / trials >= 0.94  # the circle holds at least the ellipse
