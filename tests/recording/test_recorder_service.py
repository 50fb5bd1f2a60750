"""Recorders in the running server: next to the live pipeline of each camera whose
recording is on, triggered by its events in events mode, stopped cleanly with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.test_live import FAST, car_camera, wait_for
from vigil.bus import LocalBus
from vigil.config import VigilConfig
from vigil.domain import SegmentState
from vigil.recording.index import Recordings
from vigil.recording.segment import sha256_of
from vigil.store.db import Store
from vigil.store.queries import Filters, as_utc, search_events
from vigil.worker import CameraService, alert_service


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'v.db'}")
    yield s
    s.close()


def service(store: Store, data: Path, *cameras: dict[str, Any]) -> CameraService:
    config = VigilConfig.model_validate({"cameras": list(cameras)})
    bus = LocalBus()
    return CameraService(config, store, bus, data, alert_service(config, store, bus, data), FAST)


def test_a_recording_camera_records_beside_its_pipeline(store: Store, tmp_path: Path) -> None:
    recorded = car_camera("gate", recording={"mode": "continuous", "segment_s": 2})
    plain = car_camera("yard")
    cameras = service(store, tmp_path, recorded, plain)
    assert list(cameras.recorders.recorders) == ["gate"]
    rec = Recordings(store)
    cameras.start()
    try:
        wait_for(lambda: cameras.recorders.recorders["gate"].stats.segments >= 1, 60,
                 "a closed segment")  # fmt: skip
    finally:
        cameras.stop()
    recorder = cameras.recorders.recorders["gate"]
    assert not recorder.running
    segments = rec.segments("gate", 0, 4e9)
    assert segments and all(s.state == SegmentState.CLOSED for s in segments)
    assert all(s.sha256 == sha256_of(tmp_path / s.path) for s in segments)
    assert rec.cameras() == ["gate"] and rec.open_segments() == []


def test_events_mode_is_triggered_by_the_cameras_events(store: Store, tmp_path: Path) -> None:
    camera = car_camera(
        "gate", recording={"mode": "events", "segment_s": 60, "pre_roll_s": 2, "post_roll_s": 3}
    )
    cameras = service(store, tmp_path, camera)
    rec = Recordings(store)
    cameras.start()
    try:
        first = wait_for(
            lambda: search_events(store, Filters(camera="gate"), limit=1).items, 60, "an event"
        )
        wait_for(lambda: rec.segments("gate", 0, 4e9), 30, "a segment around it")
    finally:
        cameras.stop()
    segments = rec.segments("gate", 0, 4e9)
    assert segments and all(s.state == SegmentState.CLOSED for s in segments)
    assert rec.gaps("gate", 0, 4e9) == []
    # The first event's moment is in the footage, with its pre-roll (both readers of the
    # clip follow the wall clock).
    at = as_utc(first[0].time).timestamp()
    start, end = segments[0].start, segments[0].end
    assert end is not None and start < at <= end
