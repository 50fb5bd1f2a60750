"""The recorder on real video: a file remuxed whole, events mode around triggers, and the
RTSP test camera stopped and started again mid-recording (two runs of segments, one gap)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from tests.conftest import PERSON_CLIP
from tests.sources.conftest import RtspServer, rtsp_server, rtsp_tools, wait_until  # noqa: F401
from vigil.config.camera import RecordingConfig
from vigil.domain import RecordingMode, Segment, SegmentState
from vigil.errors import Conflict
from vigil.recording.index import Recordings
from vigil.recording.recorder import Recorder
from vigil.recording.segment import inspect, sha256_of
from vigil.store.db import Store

T0 = 1_800_000_000.0  # the clock the tests give the recorder (a file's times follow it)


def decoded_frames(path: Path) -> int:
    """Frames PyAV decodes from a segment (a damaged tail ends the count, not the test)."""
    n = 0
    with av.open(str(path)) as container:
        try:
            for _ in container.decode(container.streams.video[0]):
                n += 1
        except av.FFmpegError:
            pass
    return n


def source_facts(path: Path) -> tuple[int, str]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return sum(1 for p in c.demux(stream) if p.size), stream.codec_context.name


def everything(rec: Recordings, camera: str) -> list[Segment]:
    return rec.segments(camera, 0, 4e9)


def fixed_clock() -> Callable[[], float]:
    return lambda: T0


def test_a_file_remuxed_keeps_every_frame_and_its_codec(store: Store, tmp_path: Path) -> None:
    rec = Recordings(store)
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=10)
    recorder = Recorder("lobby", str(PERSON_CLIP), tmp_path, rec, config, clock=fixed_clock())
    stats = recorder.run()
    frames, codec = source_facts(PERSON_CLIP)
    segments = everything(rec, "lobby")
    assert len(segments) >= 10 and stats.segments == len(segments)
    assert abs(sum(s.frames for s in segments) - frames) <= frames * 0.02
    assert all(s.state == SegmentState.CLOSED and s.codec == codec for s in segments)
    for s in segments:
        path = tmp_path / s.path
        assert s.path.startswith("recordings/lobby/") and path.is_file()
        assert s.sha256 == sha256_of(path) and s.size == path.stat().st_size
        facts = inspect(path)
        assert facts.frames == s.frames and facts.codec == codec
        assert s.end is not None and s.end - s.start == pytest.approx(facts.duration, abs=0.01)
        assert 9.0 <= s.end - s.start <= 11.0 or s is segments[-1]
    # One after the other, no gap, times following the media from the clock's start.
    assert segments[0].start == pytest.approx(T0)
    for a, b in zip(segments, segments[1:], strict=False):
        assert a.end == pytest.approx(b.start, abs=1e-3)
    assert rec.gaps("lobby", 0, 4e9) == []
    assert decoded_frames(tmp_path / segments[1].path) == segments[1].frames


def test_a_looping_file_at_real_time_keeps_increasing(tmp_path: Path) -> None:
    """A demo camera (a file in a loop, paced): timestamps go on across the loop's restart."""
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    short = tmp_path / "short.mp4"
    _cut_clip(PERSON_CLIP, short, seconds=2.0)
    rec = Recordings(store)
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=60)
    recorder = Recorder(
        "loop", str(short), tmp_path, rec, config, loop=True, realtime=True, for_s=4.5
    )
    recorder.run()
    [segment] = everything(rec, "loop")
    assert segment.frames >= 40  # two loops and more of a 2 s, 10 fps clip
    assert segment.end is not None and segment.end - segment.start == pytest.approx(4.5, abs=0.2)
    with av.open(str(tmp_path / segment.path)) as c:
        times = [f.time for f in c.decode(c.streams.video[0])]
    assert len(times) == segment.frames
    assert all(b > a for a, b in zip(times, times[1:], strict=False)), "time went back"
    store.close()


def _cut_clip(src: Path, dst: Path, seconds: float) -> None:
    """The first `seconds` of a clip, its own packets (so the test loops a short file)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        o = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue
            if packet.pts is not None and float(packet.pts * stream.time_base) >= seconds:
                break
            packet.stream = o
            out.mux(packet)


def test_events_mode_writes_only_around_triggers(store: Store, tmp_path: Path) -> None:
    rec = Recordings(store)
    config = RecordingConfig(
        mode=RecordingMode.EVENTS, segment_s=60, pre_roll_s=5.0, post_roll_s=10.0
    )
    recorder = Recorder("lobby", str(PERSON_CLIP), tmp_path, rec, config, clock=fixed_clock())
    recorder.trigger(T0 + 30.0)
    recorder.trigger(T0 + 100.0)
    recorder.trigger(T0 + 104.0)  # extends the second window: one segment, to 114 s
    recorder.run()
    segments = everything(rec, "lobby")
    assert [round(s.start - T0) for s in segments] == [25, 95]  # a keyframe a second
    for s, until in zip(segments, (40.0, 114.0), strict=True):
        assert s.start - T0 <= until - 15 and s.end is not None
        assert until <= s.end - T0 <= until + 0.5
        assert s.state == SegmentState.CLOSED and s.frames == decoded_frames(tmp_path / s.path)
    assert rec.gaps("lobby", 0, 4e9) == [], "not recording in events mode is not a gap"


def test_events_mode_with_no_trigger_writes_nothing(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    rec = Recordings(store)
    config = RecordingConfig(mode=RecordingMode.EVENTS)
    Recorder("lobby", str(PERSON_CLIP), tmp_path, rec, config, clock=fixed_clock()).run()
    assert everything(rec, "lobby") == [] and rec.gaps("lobby", 0, 4e9) == []
    assert not list(tmp_path.rglob("*.mp4"))
    store.close()


def test_a_camera_that_drops_and_returns(
    rtsp_server: RtspServer,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two runs of segments, the gap between them with its reason (and no password)."""
    caplog.set_level(logging.WARNING)
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    rec = Recordings(store)
    url = rtsp_server.url.replace("rtsp://", "rtsp://viewer:s3cret@")
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=2)
    recorder = Recorder(
        "gate", url, tmp_path, rec, config, backoff_initial=0.2, backoff_max=0.5,
        read_timeout=2.0, connect_timeout=2.0,
    )  # fmt: skip
    recorder.start()
    try:
        wait_until(lambda: recorder.stats.segments >= 1, 30, "a first closed segment")
        rtsp_server.kill()
        wait_until(lambda: recorder.stats.gaps == 1, 30, "the recorder to see the drop")
        before = recorder.stats.frames
        rtsp_server.start()
        wait_until(
            lambda: recorder.stats.frames > before + 20, 30, "frames again after the restart"
        )
    finally:
        recorder.stop()
    segments = everything(rec, "gate")
    [gap] = rec.gaps("gate", 0, 4e9)
    first = [s for s in segments if s.start < gap.start]
    second = [s for s in segments if s.start >= gap.start]
    assert first and second
    assert gap.end is not None and gap.reason and "s3cret" not in gap.reason
    assert first[-1].end is not None and first[-1].end <= gap.start + 0.5
    assert gap.end == pytest.approx(second[0].start, abs=1e-3)
    for s in (first[0], first[-1], second[-1]):
        assert s.state == SegmentState.CLOSED and s.codec == "h264"
        assert s.frames > 0 and decoded_frames(tmp_path / s.path) == s.frames
        assert s.sha256 == sha256_of(tmp_path / s.path)
    assert "s3cret" not in caplog.text
    # Wall-clock times follow the media: the probe's burst of packets at each connection (a
    # second or two) is not squeezed into the moment it came out of the demuxer (packets'
    # jitter on a loaded machine may move them by some tens of milliseconds).
    for s in segments:
        assert s.end is not None
        assert s.end - s.start == pytest.approx(inspect(tmp_path / s.path).duration, abs=0.3)
    assert recorder.stats.gaps == 1
    store.close()


def test_recorders_run_in_threads_and_stop_cleanly(tmp_path: Path) -> None:
    """start()/stop() from another thread: the open segment is closed, with its hash."""
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    rec = Recordings(store)
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=60)
    recorder = Recorder("hall", str(PERSON_CLIP), tmp_path, rec, config, realtime=True)
    recorder.start()
    wait_until(lambda: recorder.stats.frames >= 5, 30, "frames written")
    recorder.stop()
    assert not recorder.running
    [segment] = everything(rec, "hall")
    assert segment.state == SegmentState.CLOSED
    assert segment.sha256 == sha256_of(tmp_path / segment.path)
    assert decoded_frames(tmp_path / segment.path) == segment.frames >= 5
    store.close()


def test_a_second_recorder_of_the_same_camera_is_refused(tmp_path: Path) -> None:
    """It would mark the first one's open segment cut: one recorder per camera and data dir."""
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    rec = Recordings(store)
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=60)
    first = Recorder("hall", str(PERSON_CLIP), tmp_path, rec, config, realtime=True)
    first.start()
    try:
        wait_until(lambda: first.stats.frames >= 1, 30, "the first recorder writing")
        second = Recorder("hall", str(PERSON_CLIP), tmp_path, rec, config)
        with pytest.raises(Conflict, match="being recorded into"):
            second.run()
        assert len(rec.open_segments("hall")) == 1, "the first one's segment is left alone"
        other = Recorder("porch", str(PERSON_CLIP), tmp_path, rec, config, for_s=1.0)
        assert other.run().segments == 1  # another camera records meanwhile
    finally:
        first.stop()
    assert rec.get(rec.segments("hall", 0, 4e9)[0].id).state == SegmentState.CLOSED
    store.close()


def test_the_index_going_away_is_a_gap_and_recording_resumes(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL refuses connections for a while: the recorder keeps its files, says why,
    and once the database is back marks its unindexed segment cut, records the gap and goes
    on."""
    import sqlalchemy

    from tests.conftest import PG_ADMIN_URL

    name = pg_url.rsplit("/", 1)[1]
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    store = Store(pg_url)
    rec = Recordings(store)
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=2)
    recorder = Recorder(
        "hall", str(PERSON_CLIP), tmp_path, rec, config, realtime=True, loop=True,
        backoff_initial=0.2, backoff_max=0.5,
    )  # fmt: skip
    recorder.start()
    try:
        wait_until(lambda: recorder.stats.segments >= 1, 30, "a first segment")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )
        wait_until(lambda: "index" in (recorder.stats.error or ""), 30, "the loss seen")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        resumed = recorder.stats.segments
        wait_until(lambda: recorder.stats.segments >= resumed + 2, 30, "segments again")
    finally:
        recorder.stop()
        admin.dispose()
    assert recorder.running is False and rec.open_segments("hall") == []
    segments = everything(rec, "hall")
    gaps = rec.gaps("hall", 0, 4e9)
    assert [g.end is not None for g in gaps] == [True] * len(gaps) and gaps
    assert any("recording index cannot be written" in g.reason for g in gaps)
    assert SegmentState.CUT in {s.state for s in segments}  # the one it could not close
    for s in segments:
        assert s.sha256 == sha256_of(tmp_path / s.path), s
        assert s.frames == inspect(tmp_path / s.path).frames
    store.close()


def test_record_source_records_a_clip_into_the_index(tmp_path: Path) -> None:
    from tests.conftest import CAR_CLIP
    from vigil.recording.service import record_source

    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    recorder = record_source("car-park", str(CAR_CLIP), tmp_path, store, for_s=5.0)
    [segment] = everything(Recordings(store), "car-park")
    assert recorder.stats.segments == 1 and segment.frames == recorder.stats.frames
    assert segment.end is not None and segment.end - segment.start >= 5.0
    assert decoded_frames(tmp_path / segment.path) == segment.frames
    store.close()


def test_an_http_source_is_recorded_whole_and_a_missing_one_is_a_clear_error(
    tmp_path: Path,
) -> None:
    """A recording served over HTTP (known duration): read to its end, every frame kept."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from tests.conftest import CAR_CLIP
    from vigil.errors import SourceError

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(CAR_CLIP.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    rec = Recordings(store)
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=10)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        Recorder("web", f"{base}/{CAR_CLIP.name}", tmp_path, rec, config).run()
        missing = Recorder("gone", f"{base}/missing.mp4", tmp_path, rec, config, give_up_after=0.5)
        with pytest.raises(SourceError, match="404"):
            missing.run()
    finally:
        server.shutdown()
        server.server_close()
    frames, codec = source_facts(CAR_CLIP)
    segments = everything(rec, "web")
    assert sum(s.frames for s in segments) == frames and {s.codec for s in segments} == {codec}
    assert rec.gaps("web", 0, 4e9) == [] and rec.cameras() == ["web"]
    store.close()
