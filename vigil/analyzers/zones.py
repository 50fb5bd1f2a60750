"""Zones: zone_enter, zone_leave and loiter events for one polygon of a camera's image."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from vigil.analyzers.base import Streak, TrackedFrame, matched, track_event
from vigil.domain import Event, EventType, Point, Track, Zone


@dataclass
class _Visit:
    streak: Streak = field(default_factory=Streak)
    entered_at: float | None = None
    loitered: bool = False


class ZoneWatcher:
    """Enter and leave (after `min_frames` agreeing observations), and loiter: still inside
    `loiter_seconds` after entering. A track that ends inside leaves when it was last seen."""

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
        end = None if start is None else time
        return track_event(
            kind, self.camera_id, time, track, start=start, end=end, zone=self.zone.name, **extra
        )

    def update(self, step: TrackedFrame) -> list[Event]:
        events: list[Event] = []
        for track in matched(step, self.zone.labels):
            events.extend(self._observe(track, step.time))
        for track in step.ended:
            events.extend(self._end(track))
        return events

    def _observe(self, track: Track, time: float) -> list[Event]:
        events: list[Event] = []
        visit = self._visits.setdefault(track.id, _Visit(Streak(settled=False)))
        point = track.box.anchor(self.zone.anchor)
        if visit.streak.observe(self.contains(point), point, self.min_frames):
            if visit.streak.settled:
                visit.entered_at, visit.loitered = time, False
                events.append(self._event(EventType.ZONE_ENTER, track, time))
            else:
                events.append(self._leave(track, visit, time))
        entered, loiter = visit.entered_at, self.zone.loiter_seconds
        if (
            visit.streak.settled
            and not visit.loitered
            and loiter is not None
            and entered is not None
            and time - entered >= loiter
        ):
            visit.loitered = True
            seconds = round(time - entered, 1)
            events.append(self._event(EventType.LOITER, track, time, entered, seconds=seconds))
        return events

    def _leave(self, track: Track, visit: _Visit, time: float) -> Event:
        start = visit.entered_at if visit.entered_at is not None else time
        visit.entered_at = None
        return self._event(EventType.ZONE_LEAVE, track, time, start)

    def _end(self, track: Track) -> list[Event]:
        """The track ended: if it was inside, it left when it was last seen."""
        visit = self._visits.pop(track.id, None)
        if visit is None or not visit.streak.settled:
            return []
        return [self._leave(track, visit, track.last_seen)]
