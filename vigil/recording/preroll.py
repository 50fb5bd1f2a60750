"""Events mode: the last seconds of a camera's packets, kept in memory whole groups of
pictures at a time, so a recording that starts at an event can begin before it."""

from __future__ import annotations

import queue
from collections import deque

from vigil.recording.timeline import Placed

# Events reach the recorder a little after their frame was seen (the analysis, the store):
# the buffer reaches this much further back than the pre-roll.
LATENCY_S = 3.0


class PreRoll:
    """Packets from the newest keyframe at least `keep_s` before the newest packet on."""

    def __init__(self, pre_roll_s: float) -> None:
        self.keep_s = pre_roll_s + LATENCY_S
        self._gops: deque[list[Placed]] = deque()

    def add(self, placed: Placed) -> None:
        if placed.key:
            self._gops.append([placed])
        elif self._gops:
            self._gops[-1].append(placed)
        else:
            return  # nothing decodes before the first keyframe: not worth keeping
        self._drop_before(placed.t - self.keep_s)

    def take(self, since: float) -> list[Placed]:
        """Everything from the newest keyframe at or before `since` (or the oldest kept)
        on; the buffer is empty afterwards."""
        self._drop_before(since)
        packets = [p for gop in self._gops for p in gop]
        self._gops.clear()
        return packets

    def clear(self) -> None:
        self._gops.clear()

    def __len__(self) -> int:
        return sum(len(g) for g in self._gops)

    def _drop_before(self, t: float) -> None:
        # The oldest group goes once the next one still starts at or before `t`.
        while len(self._gops) >= 2 and self._gops[1][0].t <= t:
            self._gops.popleft()


class Triggers:
    """Events mode: the windows of footage wanted, from `pre_roll_s` before each trigger to
    `post_roll_s` after it. `put` from any thread; `wanted` from the recorder's."""

    def __init__(self, pre_roll_s: float, post_roll_s: float) -> None:
        self.pre_roll_s, self.post_roll_s = pre_roll_s, post_roll_s
        self._queue: queue.SimpleQueue[float] = queue.SimpleQueue()
        self._windows: list[tuple[float, float]] = []

    def put(self, at: float) -> None:
        self._queue.put(at)

    def wanted(self, t: float) -> float | None:
        """The earliest start of a window that holds UNIX time `t`, or None: not wanted."""
        while not self._queue.empty():
            at = self._queue.get_nowait()
            self._windows.append((at - self.pre_roll_s, at + self.post_roll_s))
        # Past windows go (a trigger arrives late by up to LATENCY_S: keep that much more).
        self._windows = [w for w in self._windows if w[1] >= t - self.pre_roll_s - LATENCY_S]
        starts = [start for start, end in self._windows if start <= t <= end]
        return min(starts) if starts else None
