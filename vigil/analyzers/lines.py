"""Counting lines: line_cross events with their direction, and the counts per direction."""

from __future__ import annotations

from collections.abc import Mapping

from vigil.analyzers.base import Streak, TrackedFrame, matched, track_event
from vigil.domain import Event, EventType, Line, Point, Track


def _cross(a: Point, b: Point, p: Point) -> float:
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether segment p1-p2 meets segment q1-q2 (touching counts)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True

    def on(a: Point, b: Point, c: Point, d: float) -> bool:
        return (
            d == 0
            and min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
            and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])
        )

    return on(q1, q2, p1, d1) or on(q1, q2, p2, d2) or on(p1, p2, q1, d3) or on(p1, p2, q2, d4)


class LineCounter:
    """line_cross events, with direction, for one line; keeps the counts per direction.

    A crossing counts after `min_frames` observations on the new side, and only for a path
    through the segment, not around its ends."""

    def __init__(self, camera_id: str, line: Line, min_frames: int = 2) -> None:
        self.camera_id, self.line, self.min_frames = camera_id, line, min_frames
        self._counts: dict[str, int] = {"in": 0, "out": 0}
        self._streaks: dict[int, Streak] = {}

    @property
    def name(self) -> str:
        return self.line.name

    @property
    def counts(self) -> Mapping[str, int]:
        return self._counts

    def side(self, point: Point) -> str | None:
        """'left' or 'right' of the line looking from a to b (image y points down); None on it."""
        c = _cross(self.line.a, self.line.b, point)
        return None if c == 0 else ("left" if c < 0 else "right")

    def update(self, step: TrackedFrame) -> list[Event]:
        events = [self._observe(track, step.time) for track in matched(step, self.line.labels)]
        for track in step.ended:
            self._streaks.pop(track.id, None)
        return [e for e in events if e is not None]

    def _observe(self, track: Track, time: float) -> Event | None:
        point = track.box.anchor(self.line.anchor)
        side = self.side(point)
        if side is None:
            return None
        streak = self._streaks.setdefault(track.id, Streak())
        before, crossed_from = streak.settled, streak.last_settled_point
        if not streak.observe(side, point, self.min_frames) or before is None:
            return None
        start = crossed_from or point
        end = streak.first_candidate_point or point
        if not segments_intersect(start, end, self.line.a, self.line.b):
            return None
        direction = "in" if side == self.line.in_side else "out"
        self._counts[direction] += 1
        return track_event(
            EventType.LINE_CROSS,
            self.camera_id,
            time,
            track,
            line=self.line.name,
            direction=direction,
        )
