"""Real video through the real pipeline and CLI: the acceptance numbers of the foundation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import CAR_CLIP, EXAMPLES, PERSON_CLIP

pytestmark = pytest.mark.slow


def vigil(
    *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def person_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("person")
    proc = vigil(
        "analyze",
        str(PERSON_CLIP),
        "--config",
        str(EXAMPLES / "demo.yml"),
        "--events",
        str(out / "events.jsonl"),
        "--annotate",
        str(out / "annotated.mp4"),
        "--data",
        str(out / "data"),
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return {"out": out, "proc": proc, "events": events}


def test_six_people_visit_the_room(person_run: dict) -> None:
    objects = [e for e in person_run["events"] if e["type"] == "object"]
    long_people = [e for e in objects if e["label"] == "person" and e["end"] - e["start"] > 2.0]
    assert len(long_people) == 6, long_people
    for e in long_people:
        assert set(e) >= {"type", "camera", "track_id", "label", "start", "end", "score", "box"}
        assert len(e["box"]) == 4 and e["camera"] == "lobby"
    # One visit each: the visits do not overlap in time (one person at a time in this clip).
    spans = sorted((e["start"], e["end"]) for e in long_people)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_each_object_is_announced_once_when_its_track_is_confirmed(person_run: dict) -> None:
    """`appear` comes while the person is still there (at confirmation, a few detections in),
    not when the track ends like `object`; exactly one per track, before its other events."""
    events = person_run["events"]
    appear = {e["track_id"]: (i, e) for i, e in enumerate(events) if e["type"] == "appear"}
    objects = {e["track_id"]: (i, e) for i, e in enumerate(events) if e["type"] == "object"}
    assert sorted(appear) == sorted(objects)  # every track, once
    assert len(appear) == sum(1 for e in events if e["type"] == "appear")
    for track_id, (i, obj) in objects.items():
        j, ev = appear[track_id]
        assert j < i and obj["start"] <= ev["time"] <= obj["start"] + 2.0, (ev, obj)
        assert ev["label"] == obj["label"] and len(ev["box"]) == 4
        later = [e for e in events if e.get("track_id") == track_id and e["type"] != "appear"]
        assert all(e["time"] >= ev["time"] for e in later)
    # The people who stay longer than 2 s are announced at least 2 s before they leave.
    long = [o for _, o in objects.values() if o["end"] - o["start"] > 2.0]
    assert len(long) == 6
    assert all(appear[o["track_id"]][1]["time"] < o["end"] - 2.0 for o in long)


def test_motion_gating_keeps_the_detector_mostly_asleep(person_run: dict) -> None:
    stdout = person_run["proc"].stdout
    line = next(ln for ln in stdout.splitlines() if "detector calls" in ln)
    fraction = int(line.split("(")[1].split("%")[0])
    assert fraction <= 35, line
    assert "frames decoded" in stdout and "1394" in stdout


def test_zone_and_loiter_events(person_run: dict) -> None:
    kinds = [e["type"] for e in person_run["events"]]
    assert kinds.count("zone_enter") >= 5 and kinds.count("zone_enter") == kinds.count("zone_leave")
    loiters = [e for e in person_run["events"] if e["type"] == "loiter"]
    assert loiters and all(e["zone"] == "table" and e["seconds"] >= 8 for e in loiters)


def test_annotated_video_and_database(person_run: dict) -> None:
    out: Path = person_run["out"]
    with av.open(str(out / "annotated.mp4")) as c:
        frames = sum(1 for _ in c.decode(video=0))
    assert frames == 1394
    engine = create_engine(f"sqlite:///{out / 'data' / 'vigil.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("select label, snapshot from tracks")).all()
        n_events = conn.execute(text("select count(*) from events")).scalar()
    engine.dispose()
    assert len(rows) == sum(1 for e in person_run["events"] if e["type"] == "object")
    assert n_events == len(person_run["events"])
    for _label, snapshot in rows:
        jpeg = (out / "data" / snapshot).read_bytes()
        assert jpeg[:2] == b"\xff\xd8"


def test_cars_crossing_the_car_park_line(tmp_path: Path) -> None:
    proc = vigil(
        "analyze",
        str(CAR_CLIP),
        "--config",
        str(EXAMPLES / "car-park.yml"),
        "--events",
        str(tmp_path / "events.jsonl"),
        "--data",
        str(tmp_path / "data"),
    )
    assert proc.returncode == 0, proc.stderr
    crossings = [
        json.loads(line)
        for line in (tmp_path / "events.jsonl").read_text().splitlines()
        if json.loads(line)["type"] == "line_cross"
    ]
    # Counted by eye: two cars drive up the image (in), two drive down (out).
    directions = sorted(e["direction"] for e in crossings)
    assert directions == ["in", "in", "out", "out"], crossings
