"""Timestamps for recorded packets: one increasing media clock per connection, whatever the
camera sends, and the UNIX time of every packet.

Cameras send odd timestamps: missing ones, a DTS that repeats or steps back a tick, a clock
that jumps (a camera's restart, a file played in a loop starting over at 0). `Timeline.place`
keeps the decode timestamps strictly increasing: a repeat or a step back of less than half a
frame is nudged forward a tick; a step back of more, or forward by more than `JUMP_S`, is a new
clock, joined on one frame after the last packet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av

JUMP_S = 10.0  # a DTS this far ahead of the last one is a new clock, not a pause
DRIFT_S = 2.0  # a live camera's media clock this far from the wall clock is re-anchored


@dataclass(slots=True)
class Placed:
    """A packet with where it goes: `dts`/`pts` on the connection's increasing clock (input
    time base), `t` its UNIX time, `media` seconds since the connection's first packet."""

    packet: av.Packet
    dts: int
    pts: int
    duration: int
    t: float
    media: float
    key: bool


class Timeline:
    """One connection's clock. `live`: the stream is a camera (its UNIX times follow the
    wall clock); otherwise a recording, whose UNIX times follow its media time from the
    first packet on."""

    def __init__(
        self,
        time_base: Fraction,
        fps: float | None,
        *,
        live: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tb = time_base
        self._tb = float(time_base)  # per packet: float arithmetic, not Fraction's
        self.live = live
        self.clock = clock
        rate = fps if fps and fps > 0 else 25.0
        self.frame = max(1, round(1 / (rate * float(time_base))))  # one frame, in ticks
        self.jump = round(JUMP_S / float(time_base))
        # DTS only go forward (B-frames reorder PTS, not DTS): a step back by half a frame or
        # more is a new clock; less is jitter, nudged forward by a tick.
        self.back = max(1, self.frame // 2)
        self._shift = 0
        self._first: int | None = None
        self._last_dts: int | None = None
        self._last_dur = self.frame
        self._origin = 0.0
        self._last_t = float("-inf")
        self._rejoin = False

    def rejoin(self) -> None:
        """The next packet continues one frame after the last (a file's loop starts over)."""
        self._rejoin = True

    def place(self, packet: av.Packet) -> Placed:
        raw = packet.dts if packet.dts is not None else packet.pts
        last = self._last_dts
        if raw is None:
            raw = (last - self._shift + self._last_dur) if last is not None else 0
        dts = raw + self._shift
        if last is not None:
            step = dts - last
            if self._rejoin or step > self.jump or step <= -self.back:
                self._shift = last + self._last_dur - raw
                dts = last + self._last_dur
            elif step <= 0:
                dts = last + 1
        self._rejoin = False
        pts = packet.pts + self._shift if packet.pts is not None else dts
        pts = max(pts, dts)
        duration = packet.duration if packet.duration and packet.duration > 0 else self.frame
        self._last_dts, self._last_dur = dts, duration
        if self._first is None:
            self._first = dts
            self._origin = self.clock()
        media = (dts - self._first) * self._tb
        t = self._origin + media
        if self.live and abs(t - self.clock()) > DRIFT_S:
            self._origin = self.clock() - media  # the camera's clock ran off: follow the wall
            t = self._origin + media
        t = max(t, self._last_t)
        self._last_t = t
        return Placed(packet, dts, pts, duration, t, media, bool(packet.is_keyframe))

    def seconds(self, ticks: int) -> float:
        return ticks * self._tb
