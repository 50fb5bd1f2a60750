"""The fire analyzer: one event per fire once it persisted, merged across broken tracks,
told again only after it was out, masks, labels, sensitivity, bearings and its config."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from vigil.analyzers.base import TrackedFrame
from vigil.analyzers.fire import FireAnalyzer, FireWatchSettings
from vigil.config import CameraConfig, parse_config
from vigil.domain import Box, Event, EventType, Track, TrackState
from vigil.errors import ConfigError

SIZE = (400, 200)
FIRE_BOX = Box(100, 50, 40, 60)
FPS = 10.0


def camera(**extra: object) -> CameraConfig:
    return CameraConfig.model_validate({"id": "tower", "source": "tower.mp4", **extra})


def watch(cam: CameraConfig | None = None, **settings: object) -> FireAnalyzer:
    return FireWatchSettings.model_validate({"kind": "fire", **settings}).build(
        cam or camera(), SIZE
    )


def track(
    tid: int,
    box: Box,
    first: float,
    now: float,
    score: float = 0.8,
    label: str = "fire",
) -> Track:
    return Track(tid, label, box, score, TrackState.CONFIRMED, first, now)


def feed(w: FireAnalyzer, steps: Iterable[tuple[float, list[Track]]]) -> list[Event]:
    events: list[Event] = []
    for now, tracks in steps:
        events += w.update(TrackedFrame("tower", now, tracks))
    return events


def steady(
    start: float, end: float, box: Box = FIRE_BOX, tid: int = 1, **kw: object
) -> list[tuple[float, list[Track]]]:
    n = round((end - start) * FPS)
    return [(start + i / FPS, [track(tid, box, start, start + i / FPS, **kw)]) for i in range(n)]  # type: ignore[arg-type]


def test_a_steady_fire_is_told_once_when_it_has_persisted() -> None:
    events = feed(watch(), steady(2.0, 8.0))
    assert len(events) == 1
    e = events[0]
    assert e.type == EventType.FIRE and e.label == "fire"
    assert e.time == pytest.approx(3.0)  # seen from 2.0, normal needs 1 s
    assert e.start == pytest.approx(2.0) and e.attributes["first_seen"] == pytest.approx(2.0)
    assert e.box == FIRE_BOX and e.score == pytest.approx(0.8)
    assert e.attributes["area_fraction"] == pytest.approx(40 * 60 / (400 * 200), abs=1e-4)
    assert e.attributes["sensitivity"] == "normal"
    assert "bearing_deg" not in e.attributes  # the camera has no view: no bearing


def test_tongues_and_broken_tracks_of_one_fire_are_one_fire() -> None:
    steps = []
    for i in range(40):
        now = 1.0 + i / FPS
        tid = 1 + i // 7  # a new track every 0.7 s: the flame broke up and came back
        tongues = [track(tid, Box(100, 50, 30, 40), 1.0, now)]
        if i % 3 == 0:  # a second tongue beside it, flickering in and out
            tongues.append(track(100 + tid, Box(135, 40, 20, 30), now, now))
        steps.append((now, tongues if i % 9 else []))  # and a frame without any now and then
    events = feed(watch(), steps)
    assert len(events) == 1 and events[0].start == pytest.approx(1.0)


def test_a_fire_out_for_longer_than_the_hold_is_told_again() -> None:
    w = watch(hold_s=5.0)
    first = feed(w, steady(0.0, 3.0))
    again_soon = feed(w, steady(6.0, 9.0, tid=2))  # 3 s out: still the same fire
    back_later = feed(w, steady(20.0, 23.0, tid=3))  # 11 s out: a new fire
    assert len(first) == 1 and again_soon == [] and len(back_later) == 1
    assert back_later[0].start == pytest.approx(20.0)


def test_fires_far_apart_are_two_fires() -> None:
    steps = [
        (a[0], a[1] + b[1])
        for a, b in zip(
            steady(0.0, 3.0), steady(0.0, 3.0, box=Box(330, 140, 30, 30), tid=2), strict=True
        )
    ]
    events = feed(watch(), steps)
    assert len(events) == 2
    assert {e.track_id for e in events} == {1, 2}


def test_a_flicker_short_of_the_persistence_is_not_told() -> None:
    steps = []
    for k in range(10):  # 0.7 s seen, 0.8 s not, over and over: never a second in a row
        steps += steady(k * 1.5, k * 1.5 + 0.7, tid=k)
        steps += [(k * 1.5 + 0.7 + i / FPS, []) for i in range(8)]
    assert feed(watch(), steps) == []


def test_weak_sightings_do_not_count() -> None:
    assert feed(watch(), steady(0.0, 5.0, score=0.5)) == []  # normal wants 0.55
    assert len(feed(watch(sensitivity="high"), steady(0.0, 5.0, score=0.5))) == 1


@pytest.mark.parametrize(("sensitivity", "after"), [("high", 0.5), ("normal", 1.0), ("low", 3.0)])
def test_sensitivity_sets_the_persistence(sensitivity: str, after: float) -> None:
    events = feed(watch(sensitivity=sensitivity), steady(0.0, 5.0, score=0.9))
    assert len(events) == 1 and events[0].time == pytest.approx(after)


def test_smoke_takes_longer_and_labels_choose_what_is_watched() -> None:
    smoke = steady(0.0, 8.0, label="smoke")
    events = feed(watch(), smoke)
    assert [(e.type, e.time) for e in events] == [(EventType.SMOKE, pytest.approx(5.0))]
    assert feed(watch(labels=["fire"]), smoke) == []
    assert feed(watch(labels=["smoke"]), steady(0.0, 5.0)) == []


def test_a_masked_region_is_ignored() -> None:
    # The sun's corner: the box's centre (120, 80) of 400 x 200 lies in the mask.
    mask = [[0.2, 0.2], [0.4, 0.2], [0.4, 0.6], [0.2, 0.6]]
    assert feed(watch(masks=[mask]), steady(0.0, 5.0)) == []
    elsewhere = [[0.6, 0.2], [0.9, 0.2], [0.9, 0.6]]
    assert len(feed(watch(masks=[elsewhere]), steady(0.0, 5.0))) == 1


def test_a_camera_with_a_view_gives_the_bearing() -> None:
    cam = camera(lat=13.75, lon=100.5, view={"heading_deg": 90.0, "hfov_deg": 60.0})
    # The box's centre column (120 of 400) lies left of the image centre: north of east.
    events = feed(watch(cam), steady(0.0, 3.0))
    assert len(events) == 1
    attrs = events[0].attributes
    assert 60.0 < attrs["bearing_deg"] < 90.0
    assert attrs["from_lat"] == pytest.approx(13.75) and attrs["from_lon"] == pytest.approx(100.5)
    assert attrs["bearing_sigma_deg"] > 0


def test_vigil_yml_fire_analyzer_errors_are_config_errors() -> None:
    base = "cameras:\n  - id: t\n    source: t.mp4\n    detector: {kind: fire}\n    analyzers:\n"
    ok = parse_config(base + "      - {kind: fire, sensitivity: high, labels: [smoke]}\n")
    settings = ok.cameras[0].analyzers[0]
    assert isinstance(settings, FireWatchSettings) and settings.labels == ["smoke"]
    with pytest.raises(ConfigError, match="sensitivity"):
        parse_config(base + "      - {kind: fire, sensitivity: extreme}\n")
    with pytest.raises(ConfigError, match="polygon of at least 3 points"):
        parse_config(base + "      - {kind: fire, masks: [[[0.1, 0.1], [0.2, 0.2]]]}\n")
    with pytest.raises(ConfigError, match="labels"):
        parse_config(base + "      - {kind: fire, labels: [person]}\n")
