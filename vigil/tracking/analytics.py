"""Analyzers: tracks in, events out. Zone enter / leave, loitering, line crossing.

Each analyzer keeps its per-track state inside and has one verb, `update(tracks, time)`.
Only tracks matched in this update (state CONFIRMED) move an analyzer: a lost track's box
is a guess, and a guess must not cross a line. A jitter guard (`min_frames`) asks for that
many consecutive observations on the new side before anything counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from vigil.domain import Event, EventType, Line, Point, Track, TrackState, Zone


def _wants(labels: frozenset[str] | None, track: Track) -> bool:
    return labels is None or track.label in labels


@dataclass
class _Streak:
    """A settled boolean/side value that changes only after `min_frames` agreeing observations."""

    settled: object = None
    candidate: object = None
    count: int = 0
    last_settled_point: Point | None = None
    first_candidate_point: Point | None = None

    def observe(self, value: object, point: Point, min_frames: int) -> bool:
        """Returns True when the settled value changed to `value` on this observation."""
        if value == self.settled:
            self.candidate, self.count = None, 0
            self.last_settled_point = point
            return False
        if value != self.candidate:
            self.candidate, self.count, self.first_candidate_point = value, 0, point
        self.count += 1
        if self.count >= min_frames:
            self.settled, self.candidate, self.count = value, None, 0
            self.last_settled_point = point
            return True
        return False


@dataclass
class _Visit:
    streak: _Streak = field(default_factory=_Streak)
    entered_at: float | None = None
    loitered: bool = False


class ZoneWatcher:
    """zone_enter, zone_leave and loiter events for one zone."""

    def __init__(self, camera_id: str, zone: Zone, min_frames: int = 2) -> None:
        self.camera_id, self.zone, self.min_frames = camera_id, zone, min_frames
        self._contour = np.array(zone.polygon, np.float32).reshape(-1, 1, 2)
        self._visits: dict[int, _Visit] = {}

    def contains(self, point: Point) -> bool:
        return cv2.pointPolygonTest(self._contour, (float(point[0]), float(point[1])), False) >= 0

    def _event(
        self,
        kind: EventType,
        track: Track,
        time: float,
        start: float | None = None,
        **extra: object,
    ) -> Event:
        return Event(
            kind,
            self.camera_id,
            time,
            track.id,
            track.label,
            track.box,
            track.score,
            start=start,
            end=None if start is None else time,
            attributes={"zone": self.zone.name, **extra},
        )

    def update(self, tracks: Iterable[Track], time: float) -> list[Event]:
        events: list[Event] = []
        for track in tracks:
            if track.state != TrackState.CONFIRMED or not _wants(self.zone.labels, track):
                continue
            visit = self._visits.setdefault(track.id, _Visit(_Streak(settled=False)))
            point = track.box.anchor(self.zone.anchor)
            if visit.streak.observe(self.contains(point), point, self.min_frames):
                if visit.streak.settled:
                    visit.entered_at, visit.loitered = time, False
                    events.append(self._event(EventType.ZONE_ENTER, track, time))
                else:
                    events.append(self._leave(track, visit, time))
            entered = visit.entered_at
            loiter = self.zone.loiter_seconds
            if (
                visit.streak.settled
                and not visit.loitered
                and loiter is not None
                and entered is not None
            ) and time - entered >= loiter:
                visit.loitered = True
                seconds = round(time - entered, 1)
                events.append(self._event(EventType.LOITER, track, time, entered, seconds=seconds))
        return events

    def _leave(self, track: Track, visit: _Visit, time: float) -> Event:
        start = visit.entered_at if visit.entered_at is not None else time
        visit.entered_at = None
        return self._event(EventType.ZONE_LEAVE, track, time, start)

    def end(self, track: Track) -> list[Event]:
        """The track ended: if it was inside, it left when it was last seen."""
        visit = self._visits.pop(track.id, None)
        if visit is None or not visit.streak.settled:
            return []
        return [self._leave(track, visit, track.last_seen)]


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
    """line_cross events, with direction, for one line; keeps the counts per direction."""

    def __init__(self, camera_id: str, line: Line, min_frames: int = 2) -> None:
        self.camera_id, self.line, self.min_frames = camera_id, line, min_frames
        self.counts: dict[str, int] = {"in": 0, "out": 0}
        self._streaks: dict[int, _Streak] = {}

    def side(self, point: Point) -> str | None:
        """'left' or 'right' of the line looking from a to b (image y points down); None on it."""
        c = _cross(self.line.a, self.line.b, point)
        return None if c == 0 else ("left" if c < 0 else "right")

    def update(self, tracks: Iterable[Track], time: float) -> list[Event]:
        events: list[Event] = []
        for track in tracks:
            if track.state != TrackState.CONFIRMED or not _wants(self.line.labels, track):
                continue
            point = track.box.anchor(self.line.anchor)
            side = self.side(point)
            if side is None:
                continue
            streak = self._streaks.setdefault(track.id, _Streak())
            before = streak.settled
            crossed_from = streak.last_settled_point
            if streak.observe(side, point, self.min_frames) and before is not None:
                # Count only paths through the segment, not around its ends.
                start = crossed_from or point
                end = streak.first_candidate_point or point
                if segments_intersect(start, end, self.line.a, self.line.b):
                    direction = "in" if side == self.line.in_side else "out"
                    self.counts[direction] += 1
                    events.append(
                        Event(
                            EventType.LINE_CROSS,
                            self.camera_id,
                            time,
                            track.id,
                            track.label,
                            track.box,
                            track.score,
                            attributes={"line": self.line.name, "direction": direction},
                        )
                    )
        return events

    def end(self, track: Track) -> list[Event]:
        self._streaks.pop(track.id, None)
        return []


class Analytics:
    """Every analyzer of one camera behind one call."""

    def __init__(
        self, camera_id: str, zones: Sequence[Zone], lines: Sequence[Line], min_frames: int = 2
    ) -> None:
        self.zones = [ZoneWatcher(camera_id, z, min_frames) for z in zones]
        self.lines = [LineCounter(camera_id, ln, min_frames) for ln in lines]

    def update(self, tracks: Sequence[Track], ended: Sequence[Track], time: float) -> list[Event]:
        events: list[Event] = []
        analyzers: list[ZoneWatcher | LineCounter] = [*self.zones, *self.lines]
        for analyzer in analyzers:
            events.extend(analyzer.update(tracks, time))
            for track in ended:
                events.extend(analyzer.end(track))
        return events
