"""Speed: ground speed from a scale or a homography, `speeding` once per track over the limit,
jitter and lost tracks ignored; configured per camera; on the real car-park clip."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tests.conftest import CAR_CLIP, EXAMPLES
from vigil.analyzers.base import TrackedFrame
from vigil.analyzers.registry import build_analyzers
from vigil.analyzers.speed import SpeedSettings, SpeedWatcher
from vigil.config import load_config, parse_config
from vigil.domain import Box, Event, EventType, Track, TrackState
from vigil.errors import ConfigError
from vigil.geo import Homography, UniformScale
from vigil.pipeline.analyze import run_analysis
from vigil.pipeline.camera import CameraPipeline, FrameResult, detector_for_camera
from vigil.sources import open_source

CAM = "road"
SIZE = (1000, 500)
FPS = 10.0


def settings(**kw: object) -> SpeedSettings:
    base: dict[str, object] = {
        "limit_kmh": 30,
        "scale": {"a": [0.0, 0.5], "b": [1.0, 0.5], "metres": 100.0},  # 1000 px = 100 m
    }
    return SpeedSettings.model_validate({**base, **kw})


def watcher(**kw: object) -> SpeedWatcher:
    s = settings(**kw)
    return SpeedWatcher(CAM, s, s.plane(*SIZE))


def drive(
    w: SpeedWatcher,
    kmh: float,
    seconds: float,
    *,
    jitter_px: float = 0.0,
    state: TrackState = TrackState.CONFIRMED,
    track_id: int = 1,
) -> list[tuple[float, list]]:
    """A car moving right at `kmh` (0.1 m per pixel), seen FPS times a second."""
    px_per_s = kmh / 3.6 / 0.1
    out = []
    for k in range(int(seconds * FPS) + 1):
        t = k / FPS
        wobble = jitter_px * (1 if k % 2 else -1)
        box = Box(100 + px_per_s * t + wobble, 200 + wobble, 40, 20)
        track = Track(track_id, "car", box, 0.9, state, 0.0, t)
        out.append((t, w.update(TrackedFrame(CAM, t, [track]))))
    return out


def events(steps: list[tuple[float, list]]) -> list:
    return [e for _, evs in steps for e in evs]


def test_a_car_over_the_limit_raises_one_speeding_event_with_its_speed() -> None:
    w = watcher()
    got = events(drive(w, 50.0, 4.0))
    assert [e.type for e in got] == [EventType.SPEEDING]
    ev = got[0]
    assert ev.attributes["speed_kmh"] == pytest.approx(50.0, abs=0.5)
    assert ev.attributes["limit_kmh"] == 30
    assert ev.camera_id == CAM and ev.track_id == 1 and ev.label == "car"
    # Two estimates in a row over the limit, each over (nearly: 0.8 of) a window of 1 s.
    assert ev.time == pytest.approx(0.9) and ev.start == pytest.approx(0.0)
    assert w.speed_kmh(1) == pytest.approx(50.0, abs=0.5)


def test_under_the_limit_and_standing_jitter_raise_nothing() -> None:
    assert events(drive(watcher(), 25.0, 5.0)) == []
    # A parked car whose box jitters by 3 px every frame: speed about 0, not 10 km/h.
    w = watcher()
    assert events(drive(w, 0.0, 5.0, jitter_px=3.0)) == []
    assert (w.speed_kmh(1) or 0) < 3.0


def test_lost_tracks_are_guesses_and_do_not_count() -> None:
    assert events(drive(watcher(), 80.0, 3.0, state=TrackState.LOST)) == []


def test_an_ended_track_is_forgotten_and_its_id_can_speed_again() -> None:
    w = watcher()
    assert len(events(drive(w, 60.0, 2.0))) == 1
    last = Track(1, "car", Box(0, 0, 1, 1), 0.9, TrackState.REMOVED, 0.0, 2.0)
    w.update(TrackedFrame(CAM, 2.1, [], [last]))
    assert w.speed_kmh(1) is None
    assert len(events(drive(w, 60.0, 2.0))) == 1  # a new object under the same id


def test_labels_limit_what_is_measured() -> None:
    assert events(drive(watcher(labels=["truck"]), 90.0, 3.0)) == []


def test_a_homography_measures_speed_on_ground_seen_at_an_angle() -> None:
    # A road 10 m wide and 40 m long seen in perspective: far end narrower, higher up.
    image = [(0.3, 0.2), (0.7, 0.2), (1.0, 1.0), (0.0, 1.0)]
    ground = [(0.0, 40.0), (10.0, 40.0), (10.0, 0.0), (0.0, 0.0)]
    h = Homography([(x * 1000, y * 500) for x, y in image], ground)
    for (ix, iy), (gx, gy) in zip(image, ground, strict=True):
        assert h.to_ground((ix * 1000, iy * 500)) == pytest.approx((gx, gy), abs=1e-6)
    # Walking the road's centre line from near to far, in image pixels, at 36 km/h (10 m/s).
    s = SpeedSettings.model_validate(
        {"limit_kmh": 30, "ground": {"image": image, "metres": ground}, "anchor": "center"}
    )
    w = SpeedWatcher(CAM, s, s.plane(*SIZE))
    inverse = np.linalg.inv(h.matrix)
    got = []
    for k in range(31):
        t = k / FPS
        x, y, z = inverse @ [5.0, 10.0 * t, 1.0]
        box = Box(x / z - 5, y / z - 5, 10, 10)
        got += w.update(
            TrackedFrame(CAM, t, [Track(7, "car", box, 0.9, TrackState.CONFIRMED, 0, t)])
        )
    assert [e.type for e in got] == [EventType.SPEEDING]
    assert got[0].attributes["speed_kmh"] == pytest.approx(36.0, abs=0.5)


def test_points_above_the_horizon_have_no_ground_position() -> None:
    # The road's edges meet at y = -166.7 px: the horizon.
    image = [(300.0, 100.0), (700.0, 100.0), (1000.0, 500.0), (0.0, 500.0)]
    h = Homography(image, [(0.0, 40.0), (10.0, 40.0), (10.0, 0.0), (0.0, 0.0)])
    far = h.to_ground((500.0, -100.0))
    assert far[1] > 100.0 and far[0] == pytest.approx(5.0)  # far away, but on the ground
    assert all(math.isinf(v) for v in h.to_ground((500.0, -300.0)))  # the sky


def test_a_scale_is_metres_per_pixel_from_a_reference() -> None:
    scale = UniformScale.from_reference((0.0, 0.0), (30.0, 40.0), 10.0)  # 50 px = 10 m
    assert scale.metres_per_pixel == pytest.approx(0.2)
    with pytest.raises(ValueError, match="different"):
        UniformScale.from_reference((1.0, 1.0), (1.0, 1.0), 10.0)


@pytest.mark.parametrize(
    ("analyzer", "problem"),
    [
        ("{kind: speed, limit_kmh: 30}", "exactly one of 'scale'"),
        (
            "{kind: speed, limit_kmh: 30, scale: {a: [0, 0], b: [1, 0], metres: 5},"
            " ground: {image: [[0, 0], [1, 0], [1, 1], [0, 1]],"
            " metres: [[0, 0], [1, 0], [1, 1], [0, 1]]}}",
            "exactly one of 'scale'",
        ),
        (
            "{kind: speed, limit_kmh: 30, ground: {image: [[0, 0], [0.5, 0], [1, 0], [0, 1]],"
            " metres: [[0, 0], [1, 0], [1, 1], [0, 1]]}}",
            "three of the four image points lie on one line",
        ),
        ("{kind: speed, limit_kmh: 0, scale: {a: [0, 0], b: [1, 0], metres: 5}}", "limit_kmh"),
        ("{kind: speed, limit_kmh: 30, scale: {a: [0, 0], b: [0, 0], metres: 5}}", "different"),
        ("{kind: sped, limit_kmh: 30}", "unknown kind 'sped'; use one of 'speed'"),
    ],
)
def test_a_bad_speed_section_is_one_clear_error_with_its_line(analyzer: str, problem: str) -> None:
    text = f"cameras:\n  - id: road\n    source: x.mp4\n    analyzers:\n      - {analyzer}\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert problem in str(err.value) and "line 5" in str(err.value)


def test_a_rule_can_alert_on_speeding_and_the_camera_builds_its_speed_analyzer() -> None:
    config = parse_config(
        "cameras:\n  - id: road\n    source: x.mp4\n    analyzers:\n"
        "      - {kind: speed, limit_kmh: 30, scale: {a: [0, 0], b: [1, 0], metres: 50}}\n"
        "rules:\n  - {name: too fast, camera: road, event: speeding, labels: [car]}\n"
    )
    built = build_analyzers(config.cameras[0], SIZE)
    assert [type(a).__name__ for a in built] == ["SpeedWatcher"]
    assert config.rules[0].event is EventType.SPEEDING


class Keep:
    """A sink that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_frame(self, _frame: object, result: FrameResult) -> None:
        self.events.extend(result.events)

    def close(self) -> None:
        pass


@pytest.mark.slow
def test_cars_in_the_real_car_park_clip_are_measured_and_the_limit_decides() -> None:
    """The bundled clip, seen from above: a car (~4.5 m) is ~140 px long, so the 768 px across
    are about 25 m of car park. Cars move at car-park speeds (10-18 km/h at this scale), so a
    5 km/h limit catches them and a 60 km/h limit none."""
    base = load_config(EXAMPLES / "car-park.yml")
    scale = {"a": [0.0, 0.5], "b": [1.0, 0.5], "metres": 25.0}
    results = {}
    for limit in (5.0, 60.0):
        cam = base.cameras[0].model_copy(
            update={
                "source": str(CAR_CLIP),
                "analyzers": [
                    SpeedSettings.model_validate(
                        {"limit_kmh": limit, "scale": scale, "anchor": "center"}
                    )
                ],
            }
        )
        config = base.model_copy(update={"cameras": [cam]})
        source = open_source(cam.id, str(CAR_CLIP))
        frames = source.frames()
        first = next(frames)
        pipeline = CameraPipeline(
            cam, config, detector_for_camera(config, cam), (first.width, first.height)
        )
        keep = Keep()
        run_analysis(itertools.chain([first], frames), pipeline, source.fps, [keep])
        source.close()
        results[limit] = [e for e in keep.events if e.type == EventType.SPEEDING]
    assert results[60.0] == []
    caught = results[5.0]
    assert caught, "no car in the clip went faster than 5 km/h"
    speeds = [e.attributes["speed_kmh"] for e in caught]
    assert all(5.0 < s < 40.0 for s in speeds), speeds  # car-park speeds, not noise
    assert len({e.track_id for e in caught}) == len(caught)  # once per track
