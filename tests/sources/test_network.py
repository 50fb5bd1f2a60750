"""NetworkSource against a real RTSP server that the tests kill, pause and restart."""

from __future__ import annotations

import functools
import signal
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from tests.sources.conftest import CAR_CLIP, RtspServer, free_port, wait_until
from vigil.domain import Frame
from vigil.errors import SourceError
from vigil.sources import NetworkSource, Source
from vigil.sources.network import redact


class Reader:
    """Iterates a source's frames() on a thread, as a camera pipeline would."""

    def __init__(self, source: NetworkSource) -> None:
        self.source = source
        self.frames: list[Frame] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for frame in self.source.frames():
                self.frames.append(frame)
        except BaseException as exc:  # handed to the test thread to assert on
            self.error = exc

    def count(self) -> int:
        return len(self.frames)

    def close_and_join(self, within: float) -> float:
        started = time.monotonic()
        self.source.close()
        self.thread.join(timeout=within)
        assert not self.thread.is_alive(), f"frames() still running {within} s after close()"
        return time.monotonic() - started


def _stalled(reader: Reader, quiet: float = 0.3) -> bool:
    """No new frame for `quiet` seconds (the stream has stopped, the read blocks)."""
    before = reader.count()
    time.sleep(quiet)
    return reader.count() == before


def fast_source(
    url: str,
    *,
    read_timeout: float = 3.0,
    backoff_initial: float = 0.2,
    backoff_max: float = 1.0,
    give_up_after: float | None = None,
) -> NetworkSource:
    """Short timeouts and back-off, so the tests see reconnects within seconds."""
    return NetworkSource(
        "gate",
        url,
        connect_timeout=3.0,
        read_timeout=read_timeout,
        backoff_initial=backoff_initial,
        backoff_max=backoff_max,
        give_up_after=give_up_after,
    )


@pytest.mark.timeout(60)
def test_reconnects_after_the_camera_restarts(rtsp_server: RtspServer) -> None:
    source = fast_source(rtsp_server.url)
    assert isinstance(source, Source)
    reader = Reader(source)
    wait_until(lambda: reader.count() >= 10, 20, "the first frames")
    assert source.health().online
    assert source.fps == pytest.approx(15)
    assert reader.frames[0].image.shape == (240, 320, 3)

    rtsp_server.kill()
    wait_until(lambda: not source.health().online, 15, "health to report offline")
    down = source.health()
    assert down.offline_since is not None and down.offline_since <= time.time()
    assert down.error and "127.0.0.1" in down.error
    before = reader.count()

    rtsp_server.start()
    wait_until(lambda: reader.count() >= before + 10, 25, "frames after the restart")
    assert source.health().online and source.health().offline_since is None

    indexes = [f.index for f in reader.frames]
    times = [f.timestamp for f in reader.frames]
    assert np.all(np.diff(indexes) > 0) and np.all(np.diff(times) > 0)
    assert reader.frames[-1].image.shape == (240, 320, 3)
    assert reader.close_and_join(within=5) < 3
    assert reader.error is None


@pytest.mark.timeout(60)
def test_close_ends_frames_promptly_while_the_stream_is_stalled(rtsp_server: RtspServer) -> None:
    # read_timeout is long on purpose: close() must not have to wait for it.
    source = fast_source(rtsp_server.url, read_timeout=20.0)
    reader = Reader(source)
    wait_until(lambda: reader.count() >= 5, 20, "the first frames")
    rtsp_server.signal(signal.SIGSTOP)  # the server keeps the socket open but sends nothing
    wait_until(lambda: _stalled(reader), 20, "frames to stop coming")
    assert reader.close_and_join(within=5) < 1.0
    assert reader.error is None


@pytest.mark.timeout(60)
def test_a_stalled_stream_times_out_and_recovers(rtsp_server: RtspServer) -> None:
    source = fast_source(rtsp_server.url, read_timeout=1.0)
    reader = Reader(source)
    wait_until(lambda: reader.count() >= 5, 20, "the first frames")
    rtsp_server.signal(signal.SIGSTOP)  # connected, but nothing arrives any more
    wait_until(lambda: not source.health().online, 10, "the read timeout")
    assert "no answer for 1 s" in (source.health().error or "")
    before = reader.count()
    rtsp_server.signal(signal.SIGCONT)
    wait_until(lambda: reader.count() >= before + 5, 20, "frames after the stall")
    assert source.health().online
    reader.close_and_join(within=5)
    assert reader.error is None


@pytest.mark.timeout(60)
def test_an_unreachable_camera_gives_up_with_a_clear_error() -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/nothing-here"
    source = fast_source(url, give_up_after=2.0)
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        for _ in source.frames():
            pytest.fail("no frame can come from a port nobody listens on")
    elapsed = time.monotonic() - started
    message = str(err.value)
    assert url in message and "'gate'" in message and "check the URL" in message
    assert "Connection refused" in message
    assert 1.5 < elapsed < 10
    health = source.health()
    assert not health.online and health.offline_since is not None and health.error


@pytest.mark.timeout(60)
def test_a_wrong_path_on_a_live_server_gives_up_naming_it(rtsp_server: RtspServer) -> None:
    url = f"rtsp://127.0.0.1:{rtsp_server.port}/wrong"
    source = fast_source(url, give_up_after=1.0)
    with pytest.raises(SourceError, match="Not Found") as err:
        next(iter(source.frames()))
    assert url in str(err.value)


@pytest.mark.timeout(30)
def test_close_while_reconnecting_is_prompt() -> None:
    source = fast_source(f"rtsp://127.0.0.1:{free_port()}/x", backoff_initial=5.0, backoff_max=5.0)
    reader = Reader(source)
    wait_until(lambda: source.health().error is not None, 10, "the first failed attempt")
    assert reader.close_and_join(within=3) < 1.0
    assert reader.error is None and reader.frames == []


def test_frames_after_close_returns_at_once() -> None:
    source = fast_source("rtsp://127.0.0.1:9/x")
    source.close()
    assert list(source.frames()) == []


def test_passwords_stay_out_of_messages() -> None:
    assert redact("rtsp://admin:s3cret@10.0.0.5:554/live") == "rtsp://admin:***@10.0.0.5:554/live"
    assert redact("rtsp://10.0.0.5/live") == "rtsp://10.0.0.5/live"


@pytest.mark.timeout(30)
def test_give_up_message_hides_the_password() -> None:
    url = f"rtsp://admin:s3cret@127.0.0.1:{free_port()}/x"
    with pytest.raises(SourceError) as err:
        next(iter(fast_source(url, give_up_after=0.5).frames()))
    assert "s3cret" not in str(err.value) and "admin:***@127.0.0.1" in str(err.value)


@pytest.mark.parametrize("option", ["connect_timeout", "read_timeout", "backoff_initial"])
def test_nonsense_settings_are_rejected(option: str) -> None:
    with pytest.raises(SourceError, match=option):
        settings: dict[str, Any] = {option: 0.0}
        NetworkSource("gate", "rtsp://127.0.0.1/x", **settings)


@pytest.fixture
def http_assets() -> Iterator[str]:
    """The demo clips over plain HTTP on 127.0.0.1, as a recording server would serve them."""
    handler = functools.partial(QuietHandler, directory=str(CAR_CLIP.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test output is no place for an access log


@pytest.mark.timeout(60)
def test_a_recording_over_http_is_read_whole_and_ends(http_assets: str) -> None:
    source = fast_source(f"{http_assets}/{CAR_CLIP.name}")
    frames = []
    for frame in source.frames():
        frames.append(frame)
        time.sleep(0.002)  # a consumer slower than decoding: a recording must not drop frames
    assert [f.index for f in frames] == list(range(377))
    assert source.dropped_frames == 0
    # Media time, as for a file, not the time it took to download.
    assert frames[-1].timestamp == pytest.approx(376 / 12.5, abs=0.01)
