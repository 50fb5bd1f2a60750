"""The plate analyzer: a plate photo moved and scaled across frames gives one `plate_read` per
vehicle track (voted text, best crop), not one per frame; a parked car is not read again and
again; plates too small are not read. Real OCR models; the frames are drawn."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.plate_pictures import car
from vigil.analyzers.base import TrackedFrame
from vigil.analyzers.plates import PlateSettings, PlateWatcher, vote
from vigil.config import CameraConfig
from vigil.domain import Box, EventType, Frame, Track, TrackState
from vigil.pipeline.camera import FrameResult
from vigil.pipeline.sinks import StoreSink
from vigil.store.db import Store
from vigil.store.tables import EventRow
from vigil.vision.plates import PlateCandidate, PlateReader

W, H = 960, 540


def scene(cars: list[tuple[str, float, int, int]]) -> tuple[np.ndarray, list[Box]]:
    frame = np.full((H, W, 3), 110, np.uint8)
    boxes = []
    for text, scale, x, y in cars:
        img = car(text, scale)
        h, w = img.shape[:2]
        frame[y : y + h, x : x + w] = img
        boxes.append(Box(x, y, w, h))
    return frame, boxes


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


def watcher(reader: PlateReader, **kw: object) -> PlateWatcher:
    settings = PlateSettings.model_validate({"kind": "plates", "every_s": 0.2, **kw})
    return PlateWatcher("gate", settings, reader)


def run(w: PlateWatcher, frames: list[tuple[np.ndarray, list[Box]]], fps: float = 10.0) -> list:
    events = []
    for i, (image, boxes) in enumerate(frames):
        t = i / fps
        tracks = [
            Track(n + 1, "car", box, 0.9, TrackState.CONFIRMED, 0.0, t)
            for n, box in enumerate(boxes)
        ]
        events += w.update(TrackedFrame("gate", t, tracks, (), Frame("gate", i, t, image)))
    last = len(frames) / fps
    ended = [
        Track(n + 1, "car", Box(0, 0, 1, 1), 0.9, TrackState.REMOVED, 0.0, last)
        for n in range(len(frames[-1][1]))
    ]
    events += w.update(TrackedFrame("gate", last, [], ended, None))
    return events


def test_one_voted_read_per_vehicle_as_it_comes_closer(reader: PlateReader) -> None:
    # Two cars drive towards the camera (moving and growing) for 2 s at 10 frames a second.
    frames = [
        scene(
            [("RK 755-AJ", 0.9 + 0.03 * i, 40 + 4 * i, 60 + 3 * i), ("ZG 1234 AB", 1.0, 560, 200)]
        )
        for i in range(20)
    ]
    events = run(watcher(reader, max_reads=5), frames)
    assert [e.type for e in events] == [EventType.PLATE_READ] * 2
    by_track = {e.track_id: e for e in events}
    moving, parked = by_track[1], by_track[2]
    assert moving.attributes["plate"] == "RK755AJ" and moving.attributes["region"] == "HR"
    assert 2 <= moving.attributes["reads"] <= 5  # read again as it moved, never more than 5
    assert parked.attributes["plate"] == "ZG1234AB"
    assert parked.attributes["reads"] == 1  # a parked car is read once
    assert 0 < moving.attributes["plate_confidence"] <= 1
    assert moving.picture is not None and moving.picture.shape[0] < moving.picture.shape[1]
    assert moving.start == 0.0 and moving.end is not None


def test_plates_too_small_are_not_read(reader: PlateReader) -> None:
    frames = [scene([("RK 755-AJ", 0.9, 40, 60)]) for _ in range(3)]
    assert run(watcher(reader, min_plate_px=80), frames) == []
    assert len(run(watcher(reader), frames)) == 1


def test_other_labels_and_lost_tracks_are_not_read(reader: PlateReader) -> None:
    image, boxes = scene([("RK 755-AJ", 1.0, 40, 60)])
    w = watcher(reader)
    person = Track(1, "person", boxes[0], 0.9, TrackState.CONFIRMED, 0.0, 0.0)
    lost = Track(2, "car", boxes[0], 0.9, TrackState.LOST, 0.0, 0.0)
    step = TrackedFrame("gate", 0.0, [person, lost], (), Frame("gate", 0, 0.0, image))
    assert w.update(step) == [] and w.update(TrackedFrame("gate", 1.0, [], [person, lost])) == []


def test_the_vote_goes_by_length_then_position() -> None:
    def c(text: str, confidence: float) -> PlateCandidate:
        return PlateCandidate(text, confidence, (0, 0, 1, 1), None, text)

    reads = [c("RK755AJ", 0.9), c("RK755AI", 0.5), c("RK7S5AJ", 0.6), c("RK755A", 0.95)]
    text, share, agreeing = vote(reads)
    assert text == "RK755AJ" and agreeing == 1 and 0 < share < 1


def test_the_analyzer_is_configured_per_camera() -> None:
    cam = CameraConfig.model_validate(
        {"id": "gate", "source": "x.mp4", "analyzers": [{"kind": "plates", "regions": ["HR"]}]}
    )
    assert isinstance(cam.analyzers[0], PlateSettings)
    with pytest.raises(ValueError, match="unknown plate region"):
        cam.analyzers[0].model_copy(update={"regions": ["XX"]}).build(cam, (W, H))


def test_a_plate_read_is_stored_with_its_own_picture(reader: PlateReader, tmp_path: Path) -> None:
    """Told when its track has ended, the event keeps the best read's crop: that is stored as
    its snapshot (not a crop of the frame it was told on, where the car is gone)."""
    frames = [scene([("RK 755-AJ", 1.0, 40, 60)]) for _ in range(3)]
    (event,) = run(watcher(reader), frames)
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    store.save_camera(CameraConfig(id="gate", source="x.mp4").to_camera())
    sink = StoreSink(store, tmp_path, "gate", 1_700_000_000.0)
    result = FrameResult(3, 0.3, False, [], [], [], [], [event])
    ((_, stored),) = sink.save(None, result)
    assert isinstance(stored, EventRow) and stored.snapshot
    assert stored.attributes["plate"] == "RK755AJ"
    shot = cv2.imread(str(tmp_path / stored.snapshot))
    store.close()
    assert shot is not None and shot.shape[:2] == event.picture.shape[:2]
    assert event.box is not None and event.box.w > 100  # the car where its plate read best
