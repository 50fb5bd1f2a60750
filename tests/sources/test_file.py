"""FileSource on the real demo clip, and on files that are missing, not video, or damaged."""

from __future__ import annotations

import logging
import random
import shutil
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sources.conftest import CAR_CLIP, wait_until
from vigil.errors import SourceError
from vigil.sources import FileSource, Source

CAR_FRAMES = 377
CAR_SHAPE = (432, 768, 3)


def test_reads_every_frame_of_the_demo_clip() -> None:
    source = FileSource("gate", CAR_CLIP)
    assert isinstance(source, Source)
    assert source.fps == pytest.approx(12.5)
    assert source.total_frames == CAR_FRAMES

    frames = list(source.frames())

    assert len(frames) == CAR_FRAMES
    assert [f.index for f in frames] == list(range(CAR_FRAMES))
    assert all(f.camera_id == "gate" for f in frames)
    first = frames[0]
    assert first.image.shape == CAR_SHAPE and first.image.dtype == np.uint8
    assert first.image.flags["C_CONTIGUOUS"]
    times = np.array([f.timestamp for f in frames])
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx((CAR_FRAMES - 1) / 12.5, abs=0.01)
    assert all(f.wallclock > 1.6e9 for f in frames)
    health = source.health()
    assert health.online and health.error is None and health.last_frame_time is not None


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist; check the path") as err:
        FileSource("gate", tmp_path / "nope.mp4")
    assert "nope.mp4" in str(err.value)


def test_a_text_file_is_not_a_video(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    with pytest.raises(SourceError, match="is not a video file") as err:
        FileSource("gate", fake)
    assert "notes.mp4" in str(err.value)


def test_an_empty_file_is_not_a_video(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="is not a video file"):
        FileSource("gate", empty)


def test_a_folder_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a folder"):
        FileSource("gate", tmp_path)


def test_an_audio_file_has_no_video_stream(tmp_path: Path) -> None:
    sound = tmp_path / "beep.wav"
    with wave.open(str(sound), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x01" * 8000)
    with pytest.raises(SourceError, match="has no video stream"):
        FileSource("gate", sound)


def test_a_truncated_file_ends_cleanly_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = CAR_CLIP.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.3)])

    source = FileSource("gate", cut)
    with caplog.at_level(logging.WARNING, logger="vigil.sources"):
        frames = list(source.frames())

    assert 0 < len(frames) < CAR_FRAMES
    assert all(f.image.shape == CAR_SHAPE for f in frames)
    assert np.all(np.diff([f.timestamp for f in frames]) > 0)
    health = source.health()
    assert health.error is not None and "cut.mp4" in health.error
    assert any("cut.mp4" in r.getMessage() for r in caplog.records)


def test_garbage_in_the_middle_is_skipped(tmp_path: Path) -> None:
    data = bytearray(CAR_CLIP.read_bytes())
    rng = random.Random(7)
    start = len(data) // 3
    data[start : start + 100_000] = bytes(rng.randrange(256) for _ in range(100_000))
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))

    frames = list(FileSource("gate", damaged).frames())

    # Frames after the damage are still read: one bad stretch does not end the file.
    assert frames[-1].timestamp > 20.0
    assert all(f.image.shape == CAR_SHAPE for f in frames)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    keep=st.floats(min_value=0.0, max_value=1.0),
    garble_at=st.floats(min_value=0.0, max_value=1.0),
    garble_len=st.integers(min_value=0, max_value=5000),
)
def test_any_damage_gives_a_source_error_or_a_clean_end(
    tmp_path_factory: pytest.TempPathFactory, keep: float, garble_at: float, garble_len: int
) -> None:
    whole = CAR_CLIP.read_bytes()
    data = bytearray(whole[: int(len(whole) * keep)])
    at = int(len(data) * garble_at)
    data[at : at + garble_len] = random.Random(garble_len).randbytes(
        len(data[at : at + garble_len])
    )
    path = tmp_path_factory.mktemp("damaged") / "clip.mp4"
    path.write_bytes(bytes(data))
    try:
        source = FileSource("gate", path)
    except SourceError:
        return
    count = 0
    for frame in source.frames():
        assert frame.image.shape == CAR_SHAPE
        count += 1
    assert count <= CAR_FRAMES + 5


def test_loop_keeps_index_and_timestamp_increasing() -> None:
    source = FileSource("gate", CAR_CLIP, loop=True)
    assert source.total_frames is None  # it never ends
    frames = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == CAR_FRAMES + 20:
            break
    assert [f.index for f in frames] == list(range(CAR_FRAMES + 20))
    times = np.diff([f.timestamp for f in frames])
    assert np.all(times > 0)
    # Across the loop the step is one frame interval, as anywhere else.
    assert times[CAR_FRAMES - 1] == pytest.approx(1 / 12.5, abs=1e-6)
    assert np.array_equal(frames[0].image, frames[CAR_FRAMES].image)


def test_realtime_paces_frames_to_their_timestamps() -> None:
    source = FileSource("gate", CAR_CLIP, realtime=True)
    started = time.monotonic()
    for frame in source.frames():
        if frame.index == 6:
            break
    elapsed = time.monotonic() - started
    assert 6 / 12.5 - 0.05 <= elapsed < 6 / 12.5 + 0.5


def test_close_from_another_thread_ends_a_realtime_read() -> None:
    source = FileSource("gate", CAR_CLIP, realtime=True, loop=True)
    seen: list[int] = []
    reader = threading.Thread(target=lambda: seen.extend(f.index for f in source.frames()))
    reader.start()
    wait_until(lambda: len(seen) >= 3, 20, "frames from the realtime read")
    closed_at = time.monotonic()
    source.close()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert time.monotonic() - closed_at < 1.0
    assert seen and not source.health().online


def test_a_file_deleted_after_opening_fails_clearly(tmp_path: Path) -> None:
    # frames() opens the path again, so a file removed meanwhile must fail clearly.
    moving = tmp_path / "moving.mp4"
    shutil.copy(CAR_CLIP, moving)
    source = FileSource("gate", moving)
    moving.unlink()
    with pytest.raises(SourceError, match="does not exist"):
        next(iter(source.frames()))
