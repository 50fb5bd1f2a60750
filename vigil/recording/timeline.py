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
DRIFT_S = 2.0  # a live camera's media clock this far behind the wall clock is re-anchored


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


# A live connection's first packets come out of the demuxer at once (what it read while
# probing the stream): held until one arrives live, to anchor the wall clock on that one.
HOLD_S = 5.0
HOLD_PACKETS = 300


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
        monotonic: Callable[[], float] = time.monotonic,
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
        self.monotonic = monotonic
        self._frame_s = 1 / rate
        self._held: list[Placed] | None = [] if live else None
        self._arrived: float | None = None

    def rejoin(self) -> None:
        """The next packet continues one frame after the last (a file's loop starts over)."""
        self._rejoin = True

    def arrive(self, packet: av.Packet) -> list[Placed]:
        """`place` for packets as they come: a live connection's first packets are held
        until one arrives live (a third of a frame or more after the one before), then all
        are given times back from its arrival."""
        placed = self.place(packet)
        if self._held is None:
            return [placed]
        now = self.monotonic()
        live = self._arrived is not None and now - self._arrived >= self._frame_s / 3
        self._arrived = now
        self._held.append(placed)
        if not live and len(self._held) < HOLD_PACKETS and placed.media < HOLD_S:
            return []
        held, self._held = self._held, None
        self._origin = self.clock() - placed.media
        self._last_t = float("-inf")
        for p in held:
            p.t = max(self._origin + p.media, self._last_t)
            self._last_t = p.t
        return held

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
        if self.live:
            # A live packet is from now or a moment ago, never from the future (a burst after
            # a stall runs its media clock ahead); a camera clock slower than the wall's, or a
            # long stall, is followed too.
            now = self.clock()
            if t > now or t < now - DRIFT_S:
                self._origin = now - media
                t = now
        t = max(t, self._last_t)
        self._last_t = t
        return Placed(packet, dts, pts, duration, t, media, bool(packet.is_keyframe))

    def seconds(self, ticks: int) -> float:
        return ticks * self._tb
