"""Video and KLV together: karma.mp4's video with ST 0601 packets in an MPEG-TS, read from a
file, over UDP (live) and over HTTP on 127.0.0.1; each frame's telemetry is its own."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Container, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.sources.conftest import free_port
from tests.sources.klv_build import st0601_packet
from vigil.domain import Frame
from vigil.sources import FileSource, NetworkSource
from vigil.sources.telemetry import TelemetryError, read_telemetry

KARMA = Path(__file__).parents[1] / "fixtures" / "telemetry" / "karma_4s.mp4"
T0 = 1_700_000_000.0  # the KLV clock (UNIX seconds) at the first frame
FPS = Fraction(30000, 1001)


def frame_number_lat(n: int) -> float:
    """The latitude the packets use to say which frame they belong to."""
    return 10.0 + n * 1e-4


def _klv(n: int) -> bytes:
    return st0601_packet(
        T0 + float(n / FPS),
        {13: frame_number_lat(n), 14: 20.0, 15: 150.0, 5: 90.0, 6: -2.0, 7: 1.0, 19: -40.0},
    )


def make_ts(path: Path, *, broken: Container[int] = ()) -> int:
    """karma's first 4 s re-encoded (a keyframe every 15 frames, so a receiver joining late
    starts soon) with one KLV packet per frame at the frame's time; frames in `broken` get a
    packet with a wrong checksum. Returns the number of frames."""
    inp = av.open(str(KARMA))
    out = av.open(str(path), "w", format="mpegts")
    video = out.add_stream("libx264", rate=FPS)
    video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
    video.options = {"g": "15", "bf": "0", "preset": "veryfast"}
    data = out.add_data_stream(codec_name="klv")
    n = 0
    for frame in inp.decode(inp.streams.video[0]):
        image = frame.reformat(width=320, height=180, format="yuv420p")
        image.pts, image.time_base = n, 1 / FPS
        out.mux(video.encode(image))
        payload = _klv(n)
        if n in broken:
            payload = payload[:-1] + bytes([payload[-1] ^ 0xFF])
        packet = av.Packet(payload)
        packet.stream = data
        packet.time_base = Fraction(1, 90000)
        packet.pts = packet.dts = round(n / FPS * 90000)
        out.mux(packet)
        n += 1
    out.mux(video.encode())
    out.close()
    inp.close()
    return n


@pytest.fixture(scope="module")
def ts_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("ts") / "karma_klv.ts"
    return path, make_ts(path)


def _digest(image: np.ndarray) -> str:
    return hashlib.sha1(image.tobytes()).hexdigest()


@pytest.fixture(scope="module")
def reference(ts_file: tuple[Path, int]) -> dict[str, int]:
    """Each decoded picture of the TS, by its hash: which frame number it is."""
    path, _ = ts_file
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        start, base = stream.start_time or 0, stream.time_base or Fraction(1, 90000)
        return {
            _digest(f.to_ndarray(format="bgr24")): round(float(((f.pts or 0) - start) * base * FPS))
            for f in c.decode(stream)
        }


def _frame_number(frame: Frame) -> int:
    assert frame.telemetry is not None and frame.telemetry.lat is not None
    return round((frame.telemetry.lat - 10.0) / 1e-4)


def test_a_ts_file_s_frames_each_carry_their_own_packet(ts_file: tuple[Path, int]) -> None:
    path, count = ts_file
    frames = list(FileSource("drone", path).frames())
    assert len(frames) == count
    for frame in frames:
        assert frame.telemetry is not None and frame.telemetry.source == "klv"
        assert frame.telemetry.t == frame.timestamp
        assert _frame_number(frame) == frame.index
        # The packet's own clock agrees with the frame's time within half a frame.
        wall = frame.telemetry.wallclock
        assert wall is not None and abs(wall - T0 - frame.timestamp) < 0.5 / float(FPS)


def test_read_telemetry_gives_the_ts_file_s_samples(ts_file: tuple[Path, int]) -> None:
    path, count = ts_file
    samples = list(read_telemetry(path))
    assert len(samples) == count
    for n, s in enumerate(samples):
        assert s.t == pytest.approx(float(n / FPS), abs=1e-3)
        assert s.lat == pytest.approx(frame_number_lat(n), abs=1e-7)
        assert s.heading == pytest.approx(90.0, abs=0.01)
        assert s.sensor_elevation == pytest.approx(-40.0, abs=1e-6)


def test_a_bad_packet_in_the_stream_is_reported_and_its_frame_interpolated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "broken.ts"
    make_ts(path, broken={40})
    with caplog.at_level("WARNING"):
        frames = list(FileSource("drone", path).frames())
    bad = [r.getMessage() for r in caplog.records if "bad checksum" in r.getMessage()]
    assert len(bad) == 1 and f"at {float(40 / FPS):.3f} s" in bad[0]
    assert len(list(read_telemetry(path, on_problem=lambda _m: None))) == len(frames) - 1
    # Frame 40 lost its packet: it gets the position between its neighbours', no gap.
    assert all(_frame_number(f) == f.index for f in frames)


def test_a_stream_of_only_bad_packets_is_an_error_and_the_video_still_plays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "all_bad.ts"
    count = make_ts(path, broken=range(10_000))
    with pytest.raises(TelemetryError, match="KLV data stream but no readable") as err:
        read_telemetry(path, on_problem=lambda _m: None)
    assert "\n" not in str(err.value)
    with caplog.at_level("WARNING"):
        frames = list(FileSource("drone", path).frames())
    assert len(frames) == count and all(f.telemetry is None for f in frames)
    assert any("without positions" in r.getMessage() for r in caplog.records)
    assert len(caplog.records) <= 2  # a summary, not one warning per packet


# -- live: over UDP and HTTP on 127.0.0.1 ---------------------------------------------------


@contextlib.contextmanager
def udp_sender(data: bytes, port: int, seconds_per_loop: float) -> Iterator[None]:
    """Send the TS to 127.0.0.1:port in 1316-byte datagrams (7 TS packets), at about the
    video's pace, over and over, as a drone's downlink does."""
    stop = threading.Event()
    chunks = [data[i : i + 1316] for i in range(0, len(data), 1316)]
    pause = seconds_per_loop / len(chunks)

    def run() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while not stop.is_set():
                for chunk in chunks:
                    sock.sendto(chunk, ("127.0.0.1", port))
                    if stop.wait(pause):  # pacing the sender, not waiting for a result
                        return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _collect(source: NetworkSource, reference: dict[str, int], want: int) -> list[tuple]:
    """(frame, its frame number by picture) for frames whose picture is a known one."""
    matched = []
    deadline = time.monotonic() + 60
    for frame in source.frames():
        number = reference.get(_digest(frame.image))
        if number is not None:
            matched.append((frame, number))
        if len(matched) >= want or time.monotonic() > deadline:
            break
    source.close()
    return matched


def test_live_udp_frames_carry_telemetry_within_one_frame(
    ts_file: tuple[Path, int], reference: dict[str, int]
) -> None:
    path, count = ts_file
    port = free_port()
    source = NetworkSource(
        "drone",
        f"udp://127.0.0.1:{port}?fifo_size=1000000&overrun_nonfatal=1",
        connect_timeout=20,
        read_timeout=10,
    )
    with udp_sender(path.read_bytes(), port, count / float(FPS)):
        matched = _collect(source, reference, want=90)
    assert len(matched) >= 90, f"only {len(matched)} frames came through intact"
    offsets = [_frame_number(frame) - number for frame, number in matched]
    assert all(abs(o) <= 1 for o in offsets), offsets
    assert offsets.count(0) >= 0.9 * len(offsets)
    for frame, _ in matched:
        assert frame.telemetry is not None and frame.telemetry.t == frame.timestamp


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_http_ts_frames_carry_their_own_telemetry(
    ts_file: tuple[Path, int], reference: dict[str, int]
) -> None:
    path, count = ts_file
    handler = functools.partial(_Quiet, directory=str(path.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
        matched = _collect(NetworkSource("drone", url, give_up_after=20), reference, count)
    finally:
        server.shutdown()
        server.server_close()
    assert len(matched) == count
    assert all(_frame_number(frame) == number for frame, number in matched)
