"""KLV (MISB ST 0601) as a data stream inside a video container (MPEG-TS), read with PyAV.

A data packet's payload holds whole ST 0601 packets; its presentation time says when they
apply, on the same clock as the video. `t` is that time less the video's start, so a sample
lines up with the frame shown at the same moment. Live streams use `KlvStream`: packets are
fed as they are demuxed and looked up by a frame's media time.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import av
import av.container
import av.packet

from vigil.domain import Telemetry
from vigil.logtext import escape
from vigil.sources.telemetry.common import NoTelemetry, Problem, TelemetryError, log_problem
from vigil.sources.telemetry.klv import (
    UAS_LS_KEY,
    decode_packets,
    split_packets,
    to_telemetry,
)

_KLV_PREFIX = UAS_LS_KEY[:4]


def data_streams(container: av.container.InputContainer) -> list[av.stream.Stream]:
    return [s for s in container.streams if s.type == "data"]


def video_start(container: av.container.InputContainer) -> float:
    """The first video presentation time in seconds (0 without video)."""
    if not container.streams.video:
        return 0.0
    video = container.streams.video[0]
    if video.start_time is None or not video.time_base:
        return 0.0
    return float(video.start_time * video.time_base)


class KlvStream:
    """ST 0601 samples from a container's data packets, kept for lookup by media time.

    `add` takes one demuxed data packet; payloads that are not KLV (another data stream)
    are ignored. `media_times` are seconds on the container's clock; `at` answers with the
    nearest sample no more than `max_age` away, as Telemetry with its `t` set by the caller.
    """

    def __init__(
        self,
        where: str,
        *,
        keep: int = 256,
        on_problem: Problem = log_problem,
        every_problem: bool = True,
    ) -> None:
        self.where = where
        self.on_problem = on_problem
        self.samples: collections.deque[Telemetry] = collections.deque(maxlen=keep)
        self.count = 0  # samples decoded
        self.payloads = 0  # data packets that held KLV
        self.problems = 0
        self.every_problem = every_problem

    def add(self, packet: av.packet.Packet) -> list[Telemetry]:
        if not packet.size or packet.pts is None or packet.time_base is None:
            return []
        payload = bytes(packet)
        if not payload.startswith(_KLV_PREFIX):
            return []
        media_time = float(packet.pts * packet.time_base)
        self.payloads += 1
        if self.samples and media_time < self.samples[-1].t - 1.0:
            self.samples.clear()  # the clock went back (a looped or restarted stream)
        where = f"{self.where} at {media_time:.3f} s"
        packets = split_packets(payload, where, self._problem)
        added = []
        for decoded in decode_packets(packets, where, self._problem):
            sample = to_telemetry(decoded, media_time)
            self.samples.append(sample)
            added.append(sample)
            self.count += 1
        return added

    def _problem(self, message: str) -> None:
        """Every problem, or (a live stream, whose damage can last) the 1st, 10th, 100th..."""
        self.problems += 1
        n = self.problems
        if self.every_problem or n == 1:
            self.on_problem(message)
        elif str(n).rstrip("0") == "1":
            self.on_problem(f"{message} ({n} KLV problems so far)")

    def at(self, media_time: float, max_age: float) -> Telemetry | None:
        best = min(self.samples, key=lambda s: abs(s.t - media_time), default=None)
        if best is None or abs(best.t - media_time) > max_age:
            return None
        return best


def _starts_with_klv(container: av.container.InputContainer, stream: av.stream.Stream) -> bool:
    """Whether a data stream's first payload is KLV (a look at one packet, not the file)."""
    try:
        for packet in container.demux(stream):
            if packet.size:
                return bytes(packet).startswith(_KLV_PREFIX)
        return False
    finally:
        container.seek(0)


def read_klv_stream(path: str | Path, *, on_problem: Problem = log_problem) -> Iterator[Telemetry]:
    """The ST 0601 samples of a file's KLV data stream, `t` from the video's start."""
    path = Path(path)
    where = f"'{escape(path)}'"
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise TelemetryError(f"{where} is not a file PyAV can read ({exc})") from exc
    with contextlib.closing(container):
        streams = [s for s in data_streams(container) if _starts_with_klv(container, s)]
        if not streams:
            raise NoTelemetry(f"{where} has no KLV data stream")
        start = video_start(container)
        klv = KlvStream(where, keep=10**7, on_problem=on_problem)
        try:
            for packet in container.demux(*streams):
                klv.add(packet)
        except (av.FFmpegError, OSError, EOFError) as exc:
            on_problem(f"{where}: cannot be read past {klv.count} KLV samples ({exc})")
    if not klv.count:
        raise TelemetryError(
            f"{where} has a KLV data stream but no readable MISB ST 0601 packet in it "
            f"({klv.payloads} damaged); the video can be analysed without positions"
        )
    samples = sorted(klv.samples, key=lambda s: s.t)
    return iter([replace(s, t=round(s.t - start, 6)) for s in samples])
