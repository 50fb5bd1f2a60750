"""`vigil record` as a user runs it: killed mid-segment (the cut file still plays and the next
start says so), stopped with Ctrl-C (the segment closed cleanly), and bad inputs (one clear
line, exit 2, nothing stored)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from tests.conftest import PERSON_CLIP, read_until
from tests.recording.test_recorder import decoded_frames
from tests.sources.conftest import free_port, wait_until
from tests.test_cli import assert_clear_error, vigil
from vigil.config.camera import RecordingConfig
from vigil.domain import RecordingMode, SegmentState
from vigil.recording.cut import CUT_REASON
from vigil.recording.index import Recordings
from vigil.recording.recorder import Recorder
from vigil.recording.segment import inspect, sha256_of
from vigil.store.db import Store
from vigil.store.tables import AuditRow


def record_in_background(data: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "vigil", "record", str(PERSON_CLIP), "--camera", "desk"]
    argv += ["--data", str(data), "--realtime", "--loop", "--segment", "60", *extra]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def open_segment_with(rec: Recordings, data: Path, frames: int) -> bool:
    """True once the camera's open segment holds `frames` complete frames on disk."""
    open_now = rec.open_segments("desk")
    return bool(open_now) and inspect(data / open_now[0].path).frames >= frames


def wait_for_db(data: Path, proc: subprocess.Popen[str]) -> Store:
    """The store, once `vigil record` has opened (and migrated) it and started recording."""
    read_until(proc, "recording camera", 60)
    return Store(f"sqlite:///{data / 'vigil.db'}")


def test_killed_mid_segment_the_cut_file_plays_and_the_next_start_marks_it(data: Path) -> None:
    proc = record_in_background(data)
    try:
        store = wait_for_db(data, proc)
        rec = Recordings(store)
        wait_until(lambda: open_segment_with(rec, data, 25), 60, "a segment with frames")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    [cut] = rec.open_segments("desk")
    path = data / cut.path
    kept = decoded_frames(path)
    assert kept >= 20, "the cut file decodes up to its last fragment"
    # The next start (a recorder for the same camera) marks it cut, with a gap from its end.
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=60)
    recorder = Recorder("desk", str(PERSON_CLIP), data, rec, config, for_s=2.0)
    recorder.run()
    marked = rec.get(cut.id)
    assert marked.state == SegmentState.CUT
    assert marked.frames == inspect(path).frames and abs(marked.frames - kept) <= 1
    assert marked.sha256 == sha256_of(path) and marked.size == path.stat().st_size
    assert marked.end is not None and marked.end > marked.start
    [gap] = rec.gaps("desk", 0, 4e9)
    [new] = [s for s in rec.segments("desk", 0, 4e9) if s.id != cut.id]
    assert gap.reason == CUT_REASON
    assert gap.start == pytest.approx(marked.end, abs=1e-3)
    assert gap.end == pytest.approx(new.start, abs=1e-3)
    assert rec.open_segments("desk") == []
    store.close()


def test_ctrl_c_closes_the_segment_cleanly(data: Path) -> None:
    proc = record_in_background(data)
    try:
        store = wait_for_db(data, proc)
        rec = Recordings(store)
        wait_until(lambda: open_segment_with(rec, data, 10), 60, "a segment with frames")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "1 segment" in err
    [segment] = rec.segments("desk", 0, 4e9)
    assert segment.state == SegmentState.CLOSED and segment.frames >= 10
    path = data / segment.path
    assert segment.sha256 == sha256_of(path) and decoded_frames(path) == segment.frames
    with store.session() as s:
        actions = [r.action for r in s.query(AuditRow).order_by(AuditRow.id)]
    assert actions[-2:] == ["recording.start", "recording.stop"]
    assert oct(os.stat(data).st_mode & 0o777) == "0o700"
    store.close()


def test_for_seconds_records_that_long(data: Path) -> None:
    proc = vigil("record", str(PERSON_CLIP), "--camera", "desk", "--data", str(data),
                 "--for", "12")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 segments" in proc.stderr, proc.stderr
    store = Store(f"sqlite:///{data / 'vigil.db'}")
    segments = Recordings(store).segments("desk", 0, 4e9)
    assert sum(s.frames for s in segments) == pytest.approx(120, abs=2)
    store.close()


def _not_video(tmp_path: Path) -> str:
    path = tmp_path / "notes.mp4"
    path.write_text("not a video\n")
    return str(path)


@pytest.mark.parametrize(
    ("source", "extra", "needle"),
    [
        ("missing.mp4", [], "does not exist"),
        ("{tmp}", [], "is a folder"),
        ("{notvideo}", [], "not a video file"),
        ("ftp://example.org/x.mp4", [], "unsupported source scheme"),
        ("rtsp://viewer:s3cret@127.0.0.1:{port}/cam", ["--max-wait", "0.5"], "cannot record"),
        (str(PERSON_CLIP), ["--for", "0"], "--for"),
        (str(PERSON_CLIP), ["--for", "nan"], "--for"),
        (str(PERSON_CLIP), ["--camera", "../up"], "not a camera id"),
        (str(PERSON_CLIP), ["--segment", "1"], "--segment 1: input should be greater than"),
    ],
)
def test_bad_inputs_give_one_clear_line_and_store_nothing(
    tmp_path: Path, source: str, extra: list[str], needle: str
) -> None:
    data = tmp_path / "data"
    source = source.format(tmp=tmp_path, notvideo=_not_video(tmp_path), port=free_port())
    argv = ["record", source, "--camera", "desk", "--data", str(data), *extra]
    line = assert_clear_error(vigil(*argv), needle)
    assert "s3cret" not in line
    if (data / "vigil.db").exists():
        store = Store(f"sqlite:///{data / 'vigil.db'}")
        rec = Recordings(store)
        assert rec.cameras() == [] and rec.gaps("desk", 0, 4e9) == []
        store.close()
    assert not (data / "recordings").exists() or not any((data / "recordings").rglob("*.mp4"))


def test_a_file_with_no_video_is_refused(tmp_path: Path) -> None:
    audio = tmp_path / "sound.m4a"
    with av.open(str(audio), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    proc = vigil("record", str(audio), "--camera", "desk", "--data", str(tmp_path / "d"))
    assert_clear_error(proc, "no video stream")


def test_a_camera_being_recorded_already_is_refused(data: Path) -> None:
    store = Store(f"sqlite:///{data / 'vigil.db'}")
    rec = Recordings(store)
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=60)
    running = Recorder("desk", str(PERSON_CLIP), data, rec, config, realtime=True)
    running.start()
    try:
        wait_until(lambda: running.stats.frames >= 1, 30, "a recorder writing")
        proc = vigil("record", str(PERSON_CLIP), "--camera", "desk", "--data", str(data))
        assert_clear_error(proc, "is being recorded into", "already")
        assert len(rec.open_segments("desk")) == 1
    finally:
        running.stop()
    assert [s.state for s in rec.segments("desk", 0, 4e9)] == [SegmentState.CLOSED]
    store.close()


def test_video_that_mp4_cannot_hold_is_refused_and_nothing_is_indexed(tmp_path: Path) -> None:
    import numpy as np

    raw = tmp_path / "raw.mkv"
    with av.open(str(raw), "w") as out:
        stream = out.add_stream("rawvideo", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), "rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = tmp_path / "data"
    proc = vigil("record", str(raw), "--camera", "raw", "--data", str(data))
    assert_clear_error(proc, "rawvideo video cannot be stored in MP4 without re-encoding")
    store = Store(f"sqlite:///{data / 'vigil.db'}")
    assert Recordings(store).cameras() == [] and Recordings(store).open_segments() == []
    assert not list(data.rglob("*.mp4"))
    store.close()
