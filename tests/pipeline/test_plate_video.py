"""Licence plates through the whole pipeline: an MP4 of two drawn cars driving past (moving
and growing) goes file source -> `motion` detector -> tracker -> `plates` analyzer -> StoreSink
into a real SQLite store, once through the API `vigil analyze` uses and once through the
command itself. Each car's track gives one `plate_read` event, its plate voted over several
reads, with the best read's crop stored as its snapshot.

The cars are drawings (`tests.plate_pictures.car`), which no COCO model calls a car, so the
camera uses the `motion` detector (label "motion") and the analyzer reads "motion" tracks.
That detector keeps its own background model and sees every frame, so the pipeline skips its
MotionGate for it (`needs_every_frame`): the gate is not exercised here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import create_engine, text

from tests.plate_pictures import car
from vigil.config import CameraConfig, VigilConfig
from vigil.domain import EventType, Frame
from vigil.pipeline.analyze import run_analysis
from vigil.pipeline.camera import CameraPipeline, FrameResult, detector_for_camera
from vigil.pipeline.sinks import StoreSink
from vigil.sources import open_source
from vigil.store.db import Store, default_db_url

pytestmark = pytest.mark.slow

W, H, FPS = 960, 540, 10
FRAMES = 50  # 5 s
LEAD = 12  # frames of empty road first: the detector's background model learns the road
DRIVE = 15  # frames each car is in the picture
# (text drawn on the plate, the plate as read, first frame, lane): both Croatian formats.
CARS = [("ZG 1234 AB", "ZG1234AB", LEAD, 20), ("RK 755-AJ", "RK755AJ", LEAD + 21, 210)]
# A lost track ends after this long: the first car's track ends (and its plate is told) while
# the second car drives, the second's only at the end of the clip.
LOST_TIMEOUT = 1.0
EVERY_S, MAX_READS = 0.25, 6


def road() -> np.ndarray:
    """Light grey asphalt with a faint, smooth texture (it survives H.264 without flicker)."""
    rng = np.random.default_rng(7)
    noise = cv2.resize(
        rng.normal(0.0, 1.0, (H // 8, W // 8)).astype(np.float32),
        (W, H),
        interpolation=cv2.INTER_CUBIC,
    )
    grey = np.clip(170 + 6 * noise, 0, 255).astype(np.uint8)
    return cv2.merge([grey, grey, grey])


def paste(frame: np.ndarray, picture: np.ndarray, x: int, y: int) -> None:
    """`picture` onto `frame` with its top-left corner at (x, y), cut at the frame's edges."""
    h, w = picture.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = picture[y0 - y : y1 - y, x0 - x : x1 - x]


def frame_image(index: int, background: np.ndarray) -> np.ndarray:
    """Frame `index`: each car comes in at the left edge and drives right and a little down,
    growing from 0.7 to about 1.2 times its base size (it comes closer)."""
    image = background.copy()
    for drawn, _, first, lane in CARS:
        k = index - first
        if 0 <= k < DRIVE:
            paste(image, car(drawn, 0.7 + 0.035 * k), -150 + 40 * k, lane + 4 * k)
    return image


def write_clip(path: Path) -> None:
    background = road()
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for i in range(FRAMES):
            image = frame_image(i, background)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "two-cars.mp4"
    write_clip(path)
    return path


def config_for(clip: Path) -> dict[str, Any]:
    """vigil.yml (as a dict) with one camera: motion detector, plates read on its tracks."""
    return {
        "tracker": {"lost_timeout": LOST_TIMEOUT},
        "cameras": [
            {
                "id": "road",
                "source": str(clip),
                "detector": {"kind": "motion"},
                "objects": {"labels": ["motion"]},
                "analyzers": [
                    {
                        "kind": "plates",
                        "labels": ["motion"],
                        "every_s": EVERY_S,
                        "max_reads": MAX_READS,
                    }
                ],
            }
        ],
    }


def stored(data: Path) -> tuple[list[int], list[dict[str, Any]]]:
    """The stored tracks' ids (in the order they began) and the plate_read events."""
    engine = create_engine(default_db_url(data))
    try:
        with engine.connect() as conn:
            tracks = [
                r.track_id
                for r in conn.execute(text("SELECT track_id FROM tracks ORDER BY media_start"))
            ]
            reads = [
                {
                    "track_id": r.track_id,
                    "plate": r.plate,
                    "snapshot": r.snapshot,
                    "attributes": (
                        json.loads(r.attributes) if isinstance(r.attributes, str) else r.attributes
                    ),
                }
                for r in conn.execute(
                    text(
                        "SELECT track_id, plate, snapshot, attributes FROM events "
                        "WHERE type = 'plate_read' ORDER BY id"
                    )
                )
            ]
    finally:
        engine.dispose()
    return tracks, reads


def check_one_voted_read_per_car(data: Path) -> dict[int, dict[str, Any]]:
    tracks, reads = stored(data)
    assert len(tracks) == len(CARS), tracks  # one track per car, kept all the way across
    assert sorted(r["track_id"] for r in reads) == sorted(tracks), reads  # one read per track
    by_track = {r["track_id"]: r for r in reads}
    for track_id, (_, plate, _, _) in zip(tracks, CARS, strict=True):
        read = by_track[track_id]
        assert read["plate"] == plate, read
        attributes = read["attributes"]
        assert attributes["plate"] == plate and attributes["region"] == "HR"
        # Voted over several reads as the car drove and grew, never more than configured.
        assert 2 <= attributes["reads"] <= MAX_READS, attributes
        assert 2 <= attributes["agreeing"] <= attributes["reads"]
        assert 0 < attributes["plate_confidence"] <= 1
        assert read["snapshot"], read
        shot = cv2.imread(str(data / read["snapshot"]))
        assert shot is not None and shot.shape[1] > shot.shape[0]  # the plate, wider than tall
    return by_track


class ToldOn:
    """A sink that notes, for each plate_read, whether a frame or the end of the clip told it."""

    def __init__(self) -> None:
        self.told: dict[int, bool] = {}  # track id -> told while frames still came

    def on_frame(self, frame: Frame | None, result: FrameResult) -> None:
        for ev in result.events:
            if ev.type == EventType.PLATE_READ and ev.track_id is not None:
                assert ev.track_id not in self.told, f"a second plate_read for {ev.track_id}"
                self.told[ev.track_id] = frame is not None

    def close(self) -> None:
        pass


def test_each_car_is_one_voted_plate_read_in_the_store(clip: Path, tmp_path: Path) -> None:
    """The path `vigil analyze` takes: source, detector, pipeline, StoreSink into SQLite."""
    config = VigilConfig.model_validate(config_for(clip))
    camera: CameraConfig = config.cameras[0]
    source = open_source(camera.id, str(clip))
    pipeline = CameraPipeline(camera, config, detector_for_camera(config, camera), (W, H))
    store = Store(default_db_url(tmp_path))
    store.save_camera(camera.to_camera())
    told = ToldOn()
    try:
        summary = run_analysis(
            source.frames(),
            pipeline,
            source.fps,
            [StoreSink(store, tmp_path, camera.id, time.time()), told],
        )
    finally:
        source.close()
        store.close()
    assert summary.frames == FRAMES
    assert summary.tracks_by_label == {"motion": len(CARS)}
    assert summary.events_by_type[str(EventType.PLATE_READ)] == len(CARS)
    by_track = check_one_voted_read_per_car(tmp_path)
    first, second = sorted(by_track)
    # The first car's read was told when its track ended, while the second car drove; the
    # second's when the clip ended.
    assert told.told == {first: True, second: False}


def test_vigil_analyze_stores_the_same_reads(clip: Path, tmp_path: Path) -> None:
    """The command itself, with the camera's analyzers from its --config."""
    cfg = tmp_path / "vigil.yml"
    cfg.write_text(json.dumps(config_for(clip), indent=2), encoding="utf-8")  # JSON is YAML
    data = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", "analyze", str(clip), "--config", str(cfg)]
        + ["--data", str(data), "--events", str(tmp_path / "events.jsonl")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "events: plate_read" in proc.stdout
    check_one_voted_read_per_car(data)
    lines = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    plates = [e["plate"] for e in map(json.loads, lines) if e["type"] == "plate_read"]
    assert plates == [plate for _, plate, _, _ in CARS]
