"""The fire watch demo (`vigil demo --fire`, vigil/assets/demo-fire.yml) end to end on real
video: each tower plays the bundled house-fire clip through the product's pipeline (the fire
detector and analyzer, vigil.vision.fire.video.watch_video) until its first fire event, which
is stored and raised as the live runner does (StoreSink, the alert service's fire rule and
locator); the second tower's alert carries a fix whose 95 % circle holds the point the demo's
views look at.
The clip is small and credited."""

from __future__ import annotations

import time
from pathlib import Path

from vigil.config import CameraConfig, VigilConfig
from vigil.domain import Event, EventType
from vigil.geo import haversine_m
from vigil.pipeline.sinks import StoreSink
from vigil.rules.engine import AlertService, RuleEngine
from vigil.server import FIRE_DEMO_CONFIG, demo_config
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.tables import AlertRow
from vigil.vision.fire.video import watch_video

FIRE = (52.00000, 4.37000)  # where demo-fire.yml's towers look at the flame from
FIRST_S = 10.0  # the clip's flame is told within this much of its start


def _first_fire(
    camera: CameraConfig, config: VigilConfig, store: Store, data: Path
) -> list[AlertRow]:
    """The camera's clip through its pipeline up to its first fire event, stored and raised."""
    sink = StoreSink(store, data, camera.id, time.time() - FIRST_S)
    service = AlertService(Alerts(store), None, RuleEngine(config.rules), data_dir=data)
    for step in watch_video(camera.source, camera, config):
        assert step.frame.timestamp < FIRST_S, f"no fire event on {camera.id} in {FIRST_S} s"
        fires = [e for e in step.result.events if e.type == EventType.FIRE]
        if fires:
            result = step.result
            saved = sink.save(step.frame, result)
            fired = [(e, row) for e, row in saved if isinstance(e, Event) and e in fires]
            return service.raise_for(fired)
    raise AssertionError(f"the clip of {camera.id} ended without a fire event")


def test_the_fire_demo_is_two_towers_on_a_small_credited_clip() -> None:
    config = demo_config(FIRE_DEMO_CONFIG)
    assert [c.id for c in config.cameras] == ["north-tower", "east-tower"]
    for cam in config.cameras:
        clip = Path(cam.source)
        assert cam.loop and clip.is_file() and clip.stat().st_size < 600_000
        assert cam.view is not None and cam.detector is not None and cam.detector.kind == "fire"
        assert [a.kind for a in cam.analyzers] == ["fire"]
        credits = (clip.parent / "CREDITS.md").read_text(encoding="utf-8")
        assert f"`{clip.name}`" in credits and "CC0" in credits


def test_the_towers_see_the_house_fire_and_their_bearings_cross_where_it_is(
    tmp_path: Path,
) -> None:
    config = demo_config(FIRE_DEMO_CONFIG)
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    for cam in config.cameras:
        store.save_camera(cam.to_camera())
    try:
        north, east = (_first_fire(cam, config, store, tmp_path) for cam in config.cameras)
    finally:
        store.close()
    assert [a.rule for a in north] == [a.rule for a in east] == ["fire watch"]
    attrs = east[0].attributes or {}
    assert abs(attrs["bearing_deg"] - 279.2) < 1.0  # from the east tower towards the fire
    fix = attrs["fix"]
    assert set(fix["cameras"]) == {"north-tower", "east-tower"}
    # The views were set from where the detector puts the clip's flame: a change of the
    # detector that moves its box moves the fix, within its circle.
    error_m = haversine_m((fix["lat"], fix["lon"]), FIRE)
    assert error_m < fix["uncertainty_m"] < 100.0, (error_m, fix)
