"""Faces through the whole pipeline on a real clip (the Hamilton clip, MIT, from
ageitgey/face_recognition; Lin-Manuel Miranda is in it): with a watchlist holding him, in force
now and geofenced around the camera, his track raises one candidate `face_match` alert; the
same list outside its daily window, or a camera outside its geofence, looks at no face at all
(the face detector is never run). Real models (YOLOv3-tiny, CenterFace, dlib), real store."""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import pytest
from sqlalchemy import select

from vigil.analyzers.faces import FaceWatcher
from vigil.config import VigilConfig
from vigil.domain import EventType
from vigil.pipeline.analyze import run_analysis
from vigil.pipeline.camera import CameraPipeline, FrameResult, detector_for_camera
from vigil.pipeline.sinks import face_blur
from vigil.pipeline.worker import CameraOutputs
from vigil.rules.engine import AlertService, RuleEngine
from vigil.sources import open_source
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.tables import AlertRow, EventRow
from vigil.store.watchlists import WatchlistIn, Watchlists
from vigil.vision.faces import MATCH_THRESHOLD, FaceEngine

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLIP = FIXTURES / "video" / "short_hamilton_clip.mp4"
ENROL = FIXTURES / "video" / "lin_manuel_miranda_enrol.jpg"
NOT_THERE = FIXTURES / "video" / "biden_enrol.jpg"  # enrolled, and not in the clip
STAGE = (40.7590, -73.9845)  # where the camera stands (lat, lon)
FAR = (40.7800, -73.9845)  # 2.3 km north


def camera(position: tuple[float, float]) -> dict[str, Any]:
    return {
        "id": "stage",
        "source": str(CLIP),
        "lat": position[0],
        "lon": position[1],
        "detect": {"fps": 10},
        "objects": {"labels": ["person"]},
        "analyzers": [{"kind": "faces", "every_s": 0.2}],
    }


def enrol(store: Store, photo: Path = ENROL, person: str = "Lin-Manuel Miranda", **kw: Any) -> None:
    now = datetime.now(UTC)
    spec = WatchlistIn(
        name="premiere",
        purpose="a court order names him for this venue (test)",
        legal_basis="test of Vigil's face matching",
        authorised_by="Judge J. Test",
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(hours=6),
        geofence={"centre": list(STAGE), "radius_m": 500},
        **kw,
    )
    lists = Watchlists(store)
    row = lists.create(spec, "ada", MATCH_THRESHOLD)
    entry = lists.add_entry(row.id, person, "test 1")
    image = cv2.imread(str(photo))
    face, embedding = FaceEngine().best(image)
    assert face is not None and embedding is not None, face
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    lists.add_template(entry.id, embedding, "tests/fixtures (MIT)", digest, None)


def analyse(tmp_path: Path, store: Store, position: tuple[float, float]) -> FaceWatcher:
    config = VigilConfig.model_validate({"cameras": [camera(position)]})
    cam = config.cameras[0]
    store.save_camera(cam.to_camera())
    source = open_source(cam.id, str(CLIP))
    frames = source.frames()
    first = next(frames)
    from vigil.analyzers.base import AnalyzerServices

    pipeline = CameraPipeline(
        cam, config, detector_for_camera(config, cam), (first.width, first.height),
        services=AnalyzerServices(store),
    )  # fmt: skip
    service = AlertService(Alerts(store), None, RuleEngine([]), data_dir=tmp_path)
    outputs = CameraOutputs(cam.id, store, tmp_path, None, service, redact=face_blur(cam))
    outputs.start_stream(datetime.now(UTC).timestamp() - first.timestamp)

    class Sink:
        def on_frame(self, frame: Any, result: FrameResult) -> None:
            outputs.handle(frame, result)

        def close(self) -> None:
            outputs.end_stream()

    def all_frames() -> Any:
        yield first
        yield from frames

    run_analysis(all_frames(), pipeline, source.fps, [Sink()])
    (watcher,) = [a for a in pipeline.analyzers if isinstance(a, FaceWatcher)]
    return watcher


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    yield s
    s.close()


def test_a_listed_person_raises_one_candidate_alert_for_his_track(
    tmp_path: Path, store: Store
) -> None:
    enrol(store)
    watcher = analyse(tmp_path, store, STAGE)
    assert watcher.calls > 0
    with store.session() as s:
        matches = list(
            s.scalars(select(EventRow).where(EventRow.type == str(EventType.FACE_MATCH)))
        )
        alerts = list(s.scalars(select(AlertRow)))
    assert len(matches) == 1, [m.attributes for m in matches]
    found = matches[0].attributes
    assert found["name"] == "Lin-Manuel Miranda" and found["watchlist"] == "premiere"
    assert found["votes"] >= 2 and found["distance"] <= MATCH_THRESHOLD
    assert matches[0].snapshot and (tmp_path / matches[0].snapshot).is_file()
    (alert,) = alerts
    assert (alert.rule, alert.status, alert.event_id) == (
        "watchlist:premiere",
        "candidate",
        matches[0].id,
    )


def test_outside_its_window_or_its_geofence_no_face_is_looked_at(
    tmp_path: Path, store: Store
) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    window = (later.strftime("%H:%M"), (later + timedelta(hours=1)).strftime("%H:%M"))
    enrol(store, window=window)
    assert analyse(tmp_path / "a", store, STAGE).calls == 0
    with store.session() as s:
        assert s.scalars(select(AlertRow)).first() is None
    Watchlists(store).delete(Watchlists(store).get("premiere").id)
    enrol(store)
    assert analyse(tmp_path / "b", store, FAR).calls == 0


def _vectors(value: Any) -> bool:
    """Whether a stored value could hold a face template: 128 float32 as bytes, or a list of
    64 or more numbers (JSON), at any depth."""
    if isinstance(value, bytes | bytearray | memoryview):
        return len(bytes(value)) >= 256
    if isinstance(value, list):
        numbers = sum(isinstance(v, float | int) for v in value)
        return numbers >= 64 or any(_vectors(v) for v in value)
    if isinstance(value, dict):
        return any(_vectors(v) for v in value.values())
    return False


def test_nothing_is_kept_of_people_who_match_no_one(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A clip full of people who are on no list: afterwards the database holds no face
    template but the one enrolled, and no picture in the data folder shows a face."""
    from sqlalchemy import inspect, text

    from vigil.vision.faces.detect import CenterFace

    caplog.set_level("DEBUG")
    enrol(store, NOT_THERE, "J. Biden")
    data = tmp_path / "data"
    watcher = analyse(data, store, STAGE)
    assert watcher.calls > 0  # faces were looked at ...
    with store.session() as s:
        assert s.scalars(select(EventRow).where(EventRow.type == "face_match")).first() is None
        assert s.scalars(select(AlertRow)).first() is None
    # ... and no table holds anything shaped like a face template, except the enrolled one.
    engine = store.engine
    suspicious = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')).mappings():
                for column, value in row.items():
                    if isinstance(value, str) and value[:1] in "[{":
                        with contextlib.suppress(ValueError):
                            value = json.loads(value)
                    if _vectors(value):
                        suspicious.append((table, column))
    assert suspicious == [("face_templates", "embedding")]  # one row: the enrolled person's
    pictures = [p for p in data.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    assert pictures, "the camera kept pictures of the people it tracked"
    detector = CenterFace(min_score=0.5)
    with_faces = [p for p in pictures if detector.detect(cv2.imread(str(p)))]
    assert with_faces == [], "faces kept in pictures of people who matched no one"
    assert not any(_vectors(r.args) for r in caplog.records if isinstance(r.args, tuple | list))
