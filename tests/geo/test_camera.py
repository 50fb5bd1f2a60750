"""A moving camera's view of the ground: cases whose answer follows from the geometry by hand,
an independent rotation (scipy's intrinsic Euler angles), round trips, and nonsense refused."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vigil.domain import Telemetry
from vigil.errors import GeometryError
from vigil.geo import (
    CameraPose,
    CameraView,
    LocalFrame,
    camera_view,
    ground_alt_of,
    haversine_m,
    projected_centre,
)
from vigil.sources.telemetry.klv import read_klv

LAT, LON, GROUND, UP = 41.14, -104.8, 1850.0, 1000.0


def view(ground: float = GROUND, **kw: float) -> CameraView:
    values = {
        "lat": LAT,
        "lon": LON,
        "alt": ground + UP,
        "heading": 0.0,
        "hfov": 60.0,
        "vfov": 40.0,
        **kw,
    }
    return CameraView(CameraPose(**values), ground)  # type: ignore[arg-type]


def en(point: tuple[float, float] | None) -> tuple[float, float]:
    """(east, north) metres of a ground point from the point under the sensor."""
    assert point is not None
    east, north, _ = LocalFrame(LAT, LON, GROUND).to_enu(point[0], point[1], GROUND)
    return (float(east), float(north))


def test_nadir_footprint_is_centred_under_the_sensor() -> None:
    v = view(heading=37.0, sensor_elevation=-90.0, hfov=90.0, vfov=90.0)
    assert en(v.centre()) == pytest.approx((0.0, 0.0), abs=1e-3)
    corners = [en(c) for c in v.footprint()]
    assert np.mean(corners, axis=0) == pytest.approx((0.0, 0.0), abs=1e-3)
    # 90 deg fields of view 1000 m up: each corner 1000 m forward/back and 1000 m aside.
    for c in corners:
        assert math.hypot(*c) == pytest.approx(UP * math.sqrt(2), rel=1e-4)


def test_nadir_north_up_corners_fall_where_the_image_says() -> None:
    tl, tr, br, bl = (en(c) for c in view(sensor_elevation=-90.0, hfov=90, vfov=90).footprint())
    # The top of the image is the platform's front (north), its right the right wing (east).
    assert tl == pytest.approx((-UP, UP), abs=0.05)
    assert tr == pytest.approx((UP, UP), abs=0.05)
    assert br == pytest.approx((UP, -UP), abs=0.05)
    assert bl == pytest.approx((-UP, -UP), abs=0.05)


@pytest.mark.parametrize(
    "kw,expected",
    [
        ({"sensor_elevation": -45.0}, (0.0, UP)),  # 45 deg down looking north: alt m north
        ({"heading": 90.0, "sensor_elevation": -45.0}, (UP, 0.0)),
        ({"sensor_azimuth": 90.0, "sensor_elevation": -45.0}, (UP, 0.0)),
        ({"heading": 90.0, "sensor_azimuth": 90.0, "sensor_elevation": -45.0}, (0.0, -UP)),
        ({"heading": 200.0, "sensor_azimuth": 250.0, "sensor_elevation": -45.0}, (UP, 0.0)),
        # Nose 15 deg up: a sensor 45 deg below the axis looks 30 deg down.
        ({"pitch": 15.0, "sensor_elevation": -45.0}, (0.0, UP / math.tan(math.radians(30)))),
        # Roll right wing down by 30: a belly camera swings left (west).
        ({"roll": 30.0, "sensor_elevation": -90.0}, (-UP * math.tan(math.radians(30)), 0.0)),
        # ... and a camera looking out of the right wing looks 10 deg further down.
        (
            {"roll": 10.0, "sensor_azimuth": 90.0, "sensor_elevation": -35.0},
            (UP / math.tan(math.radians(45)), 0.0),
        ),
        # Nose 20 deg up: a belly camera looks forward; one out of the right wing 45 deg down
        # turns forward by as much, and its ray leans out by 1 / cos 20.
        ({"pitch": 20.0, "sensor_elevation": -90.0}, (0.0, UP * math.tan(math.radians(20)))),
        (
            {"pitch": 20.0, "sensor_azimuth": 90.0, "sensor_elevation": -45.0},
            (UP / math.cos(math.radians(20)), UP * math.tan(math.radians(20))),
        ),
    ],
)
def test_frame_centre_by_hand(kw: dict[str, float], expected: tuple[float, float]) -> None:
    assert en(view(**kw).centre()) == pytest.approx(expected, abs=0.05)


def test_sensor_roll_turns_the_image_about_the_line_of_sight() -> None:
    plain = view(sensor_elevation=-90.0, hfov=50.0, vfov=50.0)
    turned = view(sensor_elevation=-90.0, sensor_roll=90.0, hfov=50.0, vfov=50.0)
    assert en(turned.centre()) == pytest.approx((0.0, 0.0), abs=1e-3)
    # Turned clockwise seen from behind, the top of the image points where its right did.
    top = en(turned.to_latlon(0.5, 0.0))
    assert top[0] > 100 and abs(top[1]) < 1e-3
    assert en(plain.to_latlon(1.0, 0.5)) == pytest.approx(top, abs=1e-3)


def scipy_line_of_sight(p: CameraPose) -> np.ndarray:
    """The same convention built independently: intrinsic z-y'-x'' (yaw, pitch, roll) in
    north-east-down, the platform's then the sensor's."""
    platform = Rotation.from_euler("ZYX", [p.heading, p.pitch, p.roll], degrees=True)
    sensor = Rotation.from_euler(
        "ZYX", [p.sensor_azimuth, p.sensor_elevation, p.sensor_roll], degrees=True
    )
    n, e, d = (platform * sensor).apply([1.0, 0.0, 0.0])
    return np.array([e, n, -d])


def test_rotation_matches_scipy_euler_angles() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        h, p, r, az, el, sr = rng.uniform([0, -20, -50, 0, -90, 0], [360, 20, 50, 360, 0, 360])
        pose = CameraPose(LAT, LON, 3000.0, h, p, r, az, el, sr, 20.0, 15.0)
        assert CameraView(pose, GROUND).line_of_sight() == pytest.approx(
            scipy_line_of_sight(pose), abs=1e-12
        )


def random_view(rng: np.random.Generator) -> CameraView:
    h, p, r, az = rng.uniform([0, -20, -40, 0], [360, 20, 40, 360])
    el = rng.uniform(-90, -30)
    hfov = rng.uniform(1, 90)
    pose = CameraPose(
        float(rng.uniform(-60, 60)),
        float(rng.uniform(-179, 179)),
        2000.0 + rng.uniform(50, 5000),
        h,
        p,
        r,
        az,
        el,
        rng.uniform(0, 360),
        hfov,
        hfov * 9 / 16,
    )
    return CameraView(pose, 2000.0)


def test_pixel_to_ground_to_pixel_round_trip() -> None:
    rng = np.random.default_rng(11)
    for _ in range(100):
        v = random_view(rng)
        for fx, fy in rng.uniform(0, 1, (5, 2)):
            ground = v.to_latlon(fx, fy)
            if ground is None:  # a corner of a steep roll may see the sky
                continue
            assert v.to_image(*ground) == pytest.approx((fx, fy), abs=1e-9)


def test_ground_to_pixel_to_ground_round_trip() -> None:
    rng = np.random.default_rng(12)
    for _ in range(100):
        v = random_view(rng)
        centre = v.centre()
        frame = LocalFrame(centre[0], centre[1], v.ground_alt)
        for e, n in rng.uniform(-300, 300, (5, 2)):
            lat, lon, _ = frame.to_geodetic(np.array([e, n, 0.0]))
            image = v.to_image(lat, lon)
            assert image is not None
            back = v.to_latlon(*image)
            assert back is not None
            assert frame.to_enu(*back, v.ground_alt)[:2] == pytest.approx([e, n], abs=1e-3)


def test_pixels_of_an_image_and_its_fractions_agree() -> None:
    v = view(sensor_elevation=-60.0, heading=33.0)
    assert v.pixel_to_latlon(640, 360, 1280, 720) == pytest.approx(v.centre(), abs=1e-9)
    assert v.pixel_to_latlon(0, 720, 1280, 720) == v.footprint()[3]


def test_a_view_reaching_above_the_horizon() -> None:
    # 20 deg of vertical field of view centred 5 deg down: the top corners see the sky.
    tl, tr, br, bl = view(sensor_elevation=-5.0).footprint()
    assert tl is None and tr is None and br is not None and bl is not None
    assert en(br)[1] > UP  # what it does see lies far ahead
    assert view(sensor_elevation=-5.0).to_latlon(0.5, 0.0) is None
    # Dipping less than the horizon does (1 deg at 1000 m): no ground on the curved Earth.
    with pytest.raises(GeometryError, match=r"looks 0\.5 deg below .*above the horizon"):
        view(sensor_elevation=-0.5).centre()
    with pytest.raises(GeometryError, match=r"looks 10\.0 deg above the horizontal"):
        view(sensor_elevation=10.0).centre()
    assert en(view(sensor_elevation=-2.0).centre())[1] == pytest.approx(
        UP / math.tan(math.radians(2.0)), rel=1e-3
    )


def test_nonsense_is_refused_with_its_reason() -> None:
    no_fov = CameraView(CameraPose(LAT, LON, 3000.0, 0.0, sensor_elevation=-45.0), GROUND)
    assert en(no_fov.centre()) == pytest.approx((0.0, 3000.0 - GROUND), abs=0.05)
    with pytest.raises(GeometryError, match="field of view"):
        no_fov.footprint()
    with pytest.raises(GeometryError, match="field of view"):
        no_fov.to_image(LAT, LON)
    with pytest.raises(GeometryError, match="between 0 and 180"):
        CameraPose(LAT, LON, 3000.0, 0.0, hfov=180.0, vfov=10.0)
    with pytest.raises(GeometryError, match="not above its ground"):
        CameraView(CameraPose(LAT, LON, 1800.0, 0.0, sensor_elevation=-45.0), GROUND)
    with pytest.raises(GeometryError, match="no such place"):
        CameraPose(95.0, LON, 3000.0, 0.0)
    with pytest.raises(GeometryError, match="camera's roll is nan"):
        CameraPose(LAT, LON, 3000.0, 0.0, roll=math.nan)
    with pytest.raises(GeometryError, match="camera's alt is inf"):
        CameraPose(LAT, LON, math.inf, 0.0)


def test_a_real_drone_on_the_ground_looking_along_its_axis() -> None:
    """realflight.bin (MIT, tests/fixtures/telemetry): a Tekever AR5 before take-off, no
    sensor elevation, nose 1.5 deg up: its camera sees no ground, and says so."""
    t = next(read_klv(Path(__file__).parents[1] / "fixtures" / "telemetry" / "realflight.bin"))
    assert t.sensor_elevation is None and t.pitch is not None and t.pitch > 0
    v = CameraView(CameraPose.from_telemetry(t), ground_alt=t.alt - 2.0)
    with pytest.raises(GeometryError, match=r"deg above the horizontal from 2 m up"):
        v.centre()
    # Its sensor roll is 180: mounted upside down, the top of its picture is the ground some
    # 80 m ahead (a 3 deg half field of view, 2 m up), the bottom the sky.
    tl, tr, br, bl = v.footprint()
    assert br is None and bl is None
    assert tl is not None and 50 < haversine_m((t.lat, t.lon), tl) < 150
    assert projected_centre(t, t.alt - 2.0) is None


def test_pose_from_telemetry() -> None:
    t = Telemetry(
        t=1.5,
        lat=LAT,
        lon=LON,
        alt=2850.0,
        heading=90.0,
        pitch=4.0,
        roll=-6.0,
        sensor_azimuth=270.0,
        sensor_elevation=-30.0,
        hfov=10.0,
        vfov=0.0,
    )
    pose = CameraPose.from_telemetry(t)
    assert (pose.pitch, pose.roll, pose.sensor_roll, pose.vfov) == (4.0, -6.0, 0.0, None)
    level = CameraPose.from_telemetry(t, platform_attitude=False)
    assert (level.pitch, level.roll, level.heading) == (0.0, 0.0, 90.0)
    with pytest.raises(GeometryError, match=r"t=2\.000 s has no alt, heading, pitch or sensor"):
        CameraPose.from_telemetry(Telemetry(t=2.0, lat=LAT, lon=LON))


def test_projected_centre_of_telemetry() -> None:
    t = Telemetry(t=0.0, lat=LAT, lon=LON, alt=GROUND + UP, heading=0.0, sensor_elevation=-45.0)
    assert en(projected_centre(t, GROUND)) == pytest.approx((0.0, UP), abs=0.05)
    assert projected_centre(t) is None  # no ground elevation: nothing to meet
    with pytest.raises(GeometryError, match="nothing of the ground's elevation"):
        camera_view(t)
    # A drone 1000 m above where it took off: the ground is the take-off point's height.
    drone = replace(t, alt=GROUND + UP + 30.0, rel_alt=UP)
    assert ground_alt_of(drone) == pytest.approx(GROUND + 30.0)
    assert en(projected_centre(drone)) == pytest.approx((0.0, UP), abs=0.05)
    # An encoded frame-centre elevation comes first.
    klv = replace(drone, frame_center_alt=GROUND - 100.0)
    assert camera_view(klv).ground_alt == GROUND - 100.0
    up = Telemetry(t=0.0, lat=LAT, lon=LON, alt=GROUND + UP, heading=0.0, sensor_elevation=5.0)
    assert projected_centre(up, GROUND) is None
    assert projected_centre(Telemetry(t=0.0), GROUND) is None


def test_a_gimbal_given_against_the_earth_looks_where_it_says() -> None:
    """DJI logs its gimbal's pitch and yaw against the earth; the reader turns them into
    angles relative to the aircraft. Put back through the platform, the line of sight must
    point where the gimbal said: the same convention on both sides."""
    from vigil.sources.telemetry.dji_srt import relative_sensor_angles

    rng = np.random.default_rng(3)
    for _ in range(100):
        aircraft = tuple(rng.uniform([-20, -30, 0], [20, 30, 360]))  # pitch, roll, yaw
        gimbal_pitch, gimbal_yaw = rng.uniform(-89, -5), rng.uniform(0, 360)
        az, el, sroll = relative_sensor_angles(aircraft, (gimbal_pitch, 0.0, gimbal_yaw))
        pose = CameraPose(LAT, LON, GROUND + UP, aircraft[2], aircraft[0], aircraft[1], az, el,
                          sroll)  # fmt: skip
        east, north, up = CameraView(pose, GROUND).line_of_sight()
        assert math.degrees(math.asin(up)) == pytest.approx(gimbal_pitch, abs=1e-9)
        heading = math.degrees(math.atan2(east, north)) % 360
        assert min(abs(heading - gimbal_yaw), 360 - abs(heading - gimbal_yaw)) < 1e-9
