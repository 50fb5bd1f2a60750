"""A fixed camera's ground homography: points worked out by hand on synthetic scenes, a real
pinhole camera's view, and the config's errors."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.config import parse_config
from vigil.errors import ConfigError
from vigil.geo import CameraPose, CameraView, LocalFrame
from vigil.geo.fixed import GroundMap

LAT, LON = 52.0116, 4.3571
FRAME = LocalFrame(LAT, LON, 0.0)


def at(east: float, north: float) -> tuple[float, float]:
    """The lat/lon `east`, `north` metres from (LAT, LON)."""
    lat, lon, _ = FRAME.to_geodetic(np.array([east, north, 0.0]))
    return (lat, lon)


def en(point: tuple[float, float] | None) -> tuple[float, float]:
    assert point is not None
    east, north, _ = FRAME.to_enu(point[0], point[1], 0.0)
    return (float(east), float(north))


def test_a_camera_looking_straight_down() -> None:
    # The image's corners are a 100 m x 50 m field, north up: every point is in proportion.
    image = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    ground = GroundMap(image, [at(0, 50), at(100, 50), at(100, 0), at(0, 0)])
    assert en(ground.to_latlon(0.5, 0.5)) == pytest.approx((50.0, 25.0), abs=1e-3)
    assert en(ground.to_latlon(0.25, 0.1)) == pytest.approx((25.0, 45.0), abs=1e-3)
    assert en(ground.pixel_to_latlon(960, 540, 1920, 1080)) == pytest.approx((50, 25), abs=1e-3)


# A 10 m wide, 40 m long stretch of road running north, seen from behind its south end: the
# near edge spans 0.2..0.8 of the image at the bottom (y 0.9), the far edge 0.4..0.6 at y 0.5.
ROAD_IMAGE = [(0.2, 0.9), (0.8, 0.9), (0.6, 0.5), (0.4, 0.5)]
ROAD_GROUND = [at(0, 0), at(10, 0), at(10, 40), at(0, 40)]


def test_a_road_in_perspective_by_hand() -> None:
    road = GroundMap(ROAD_IMAGE, ROAD_GROUND)
    for (fx, fy), point in zip(ROAD_IMAGE, ROAD_GROUND, strict=True):
        assert en(road.to_latlon(fx, fy)) == pytest.approx(en(point), abs=1e-3)
    # The diagonals, from (0.2, 0.9) to (0.6, 0.5) and (0.8, 0.9) to (0.4, 0.5), cross at
    # (0.5, 0.6): that is the middle of the road, 5 m across and 20 m along, not the image
    # halfway point (0.7) between the edges, which lies much nearer.
    assert en(road.to_latlon(0.5, 0.6)) == pytest.approx((5.0, 20.0), abs=1e-3)
    near = en(road.to_latlon(0.5, 0.7))
    assert near[0] == pytest.approx(5.0, abs=1e-3) and 0 < near[1] < 20.0
    # The road's sides meet at (0.5, 0.3): the horizon. At and above it there is no ground.
    assert road.to_latlon(0.5, 0.3) is None
    assert road.to_latlon(0.1, 0.2) is None
    assert en(road.to_latlon(0.5, 0.31))[1] > 1000


def test_a_pinhole_camera_on_a_pole() -> None:
    """Image points of marks on the ground through a real camera model (8 m up, 25 deg down,
    looking north-east); the homography from four of them places the others."""
    pole = CameraView(
        CameraPose(LAT, LON, 8.0, 45.0, sensor_elevation=-25.0, hfov=70.0, vfov=42.0), 0.0
    )
    marks = [at(e, n) for e, n in [(5, 20), (20, 5), (30, 30), (8, 12)]]
    image = [pole.to_image(*m) for m in marks]
    assert all(p is not None and 0 <= p[0] <= 1 and 0 <= p[1] <= 1 for p in image)
    ground = GroundMap(image, marks)  # type: ignore[arg-type]
    rng = np.random.default_rng(5)
    for fx, fy in rng.uniform([0, 0.45], [1, 1], (50, 2)):
        truth = pole.to_latlon(fx, fy)
        assert en(ground.to_latlon(fx, fy)) == pytest.approx(en(truth), abs=0.01)


def test_more_than_four_points_are_fitted() -> None:
    image = [*ROAD_IMAGE, (0.5, 0.6), (0.3, 0.7)]
    ground = [*ROAD_GROUND, at(5, 20), at(0, 0)]  # the last pair is a slip: (0.3, 0.7) isn't 0, 0
    fitted = GroundMap(image[:5], ground[:5])
    assert en(fitted.to_latlon(0.5, 0.6)) == pytest.approx((5.0, 20.0), abs=1e-3)
    off = GroundMap(image, ground)  # still a map, pulled by the bad point
    assert en(off.to_latlon(0.5, 0.6)) != pytest.approx((5.0, 20.0), abs=0.5)


@pytest.mark.parametrize(
    "image,ground,message",
    [
        (ROAD_IMAGE[:3], ROAD_GROUND[:3], "at least four points"),
        (
            [(0.1, 0.5), (0.5, 0.5), (0.9, 0.5), (0.5, 0.9)],
            ROAD_GROUND,
            "three of the four image points lie on one line",
        ),
        (
            ROAD_IMAGE,
            [at(0, 0), at(10, 0), at(20, 0), at(0, 40)],
            "three of the four ground points lie on one line",
        ),
        (
            [(0.1, 0.5), (0.3, 0.5), (0.5, 0.5), (0.7, 0.5), (0.9, 0.51)],
            [*ROAD_GROUND, at(5, 20)],
            "the 5 image points lie \\(nearly\\) on one line",
        ),
        (ROAD_IMAGE, [at(0, 0), at(10, 0), at(10, 40), at(0, 8000)], "point 4 lies 6.0 km"),
        # lat and lon swapped: east-north mirrored
        (ROAD_IMAGE, [(lon, lat) for lat, lon in ROAD_GROUND], "a mirror image.*swapped"),
        (ROAD_IMAGE, [at(10, 0), at(0, 0), at(0, 40), at(10, 40)], "a mirror image"),
        (ROAD_IMAGE, [at(0, 0), at(10, 40), at(10, 0), at(0, 40)], "in a different order"),
    ],
)
def test_bad_references_say_what_is_wrong(
    image: list[tuple[float, float]], ground: list[tuple[float, float]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        GroundMap(image, ground)


def config(points: str, camera: str = "") -> str:
    return f"""\
cameras:
  - id: gate
    source: gate.mp4
{camera}    ground:
      points:
{points}"""


def points_yaml(image: list[tuple[float, float]], ground: list[tuple[float, float]]) -> str:
    return "".join(
        f"        - {{image: [{x}, {y}], lat: {lat:.8f}, lon: {lon:.8f}}}\n"
        for (x, y), (lat, lon) in zip(image, ground, strict=True)
    )


def test_config_ground_section() -> None:
    cfg = parse_config(config(points_yaml(ROAD_IMAGE, ROAD_GROUND)), "vigil.yml")
    ground = cfg.camera("gate").ground.ground_map()
    assert en(ground.to_latlon(0.5, 0.6)) == pytest.approx((5.0, 20.0), abs=0.01)
    plain = "cameras:\n  - id: gate\n    source: gate.mp4\n"
    assert parse_config(plain, "vigil.yml").camera("gate").ground is None


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "vigil.yml")
    return str(info.value)


def test_config_errors_name_the_problem() -> None:
    three = error_of(config(points_yaml(ROAD_IMAGE[:3], ROAD_GROUND[:3])))
    assert "vigil.yml line 5: cameras.0.ground: a camera's ground needs at least four" in three
    flat = error_of(config(points_yaml(ROAD_IMAGE, [at(0, 0), at(5, 0), at(10, 0), at(0, 9)])))
    assert "three of the four ground points lie on one line" in flat
    crossed = [ROAD_GROUND[i] for i in (0, 2, 1, 3)]
    assert "in a different order" in error_of(config(points_yaml(ROAD_IMAGE, crossed)))
    far = error_of(config(points_yaml(ROAD_IMAGE, ROAD_GROUND), "    lat: 52.2\n    lon: 4.3571\n"))
    assert "the ground points lie 20.9 km from the camera's lat/lon" in far
    bad_lat = points_yaml(ROAD_IMAGE, ROAD_GROUND).replace("lat: 52.", "lat: 95.", 1)
    assert "cameras.0.ground.points.0.lat: Input should be less than or equal to 90" in error_of(
        config(bad_lat)
    )
    outside = points_yaml([(1.5, 0.9), *ROAD_IMAGE[1:]], ROAD_GROUND)
    assert "cameras.0.ground.points.0.image" in error_of(config(outside))
    assert "unknown key 'alt'" in error_of(
        config(points_yaml(ROAD_IMAGE, ROAD_GROUND)).replace("lon:", "alt: 3, lon:", 1)
    )
