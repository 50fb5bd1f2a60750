"""Where and when a watchlist applies, and the face templates in force on a camera now.

A watchlist is in force from `valid_from` until `valid_until`, and, when it has a daily
window, only inside it (in the list's own time zone; a window may cross midnight, e.g. 22:00
to 04:00). It covers a camera it names, or a camera whose position lies inside its geofence (a
polygon, or a circle: "within 500 m of the stadium"); a camera without a position is never
inside a geofence. Off by default: no watchlist, no face processing at all.

`WatchlistDirectory.in_force(camera, at)` answers the faces analyzer on every frame: which
templates it must compare with, or none (then it looks at no face). The lists are read from the
database again when one changes (one small query, at most every `check_s` seconds).
"""

from __future__ import annotations

import threading
import time as clock
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select

from vigil.domain import Alert, Event, EventType
from vigil.geo import haversine_m, in_polygon
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import EventRow, WatchlistRow
from vigil.store.watchlists import Watchlists, embedding_of

RULE_PREFIX = "watchlist:"  # a face-match alert's rule: watchlist:<list name>


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_force(row: WatchlistRow, at: datetime) -> bool:
    at = as_utc(at)
    if not as_utc(row.valid_from) <= at < as_utc(row.valid_until):
        return False
    if row.window_start is None or row.window_end is None:
        return True
    local = at.astimezone(ZoneInfo(row.timezone)).time()
    start, end = _hhmm(row.window_start), _hhmm(row.window_end)
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # the window crosses midnight


@dataclass(frozen=True, slots=True)
class Place:
    """A camera as a watchlist sees it: its id and where it stands (if known)."""

    camera_id: str
    lat: float | None = None
    lon: float | None = None


def covers(row: WatchlistRow, place: Place) -> bool:
    if row.cameras and place.camera_id in row.cameras:
        return True
    fence: dict[str, Any] | None = row.geofence
    if not fence or place.lat is None or place.lon is None:
        return False
    here = (place.lat, place.lon)
    if "polygon" in fence:
        return in_polygon(here, [(p[0], p[1]) for p in fence["polygon"]])
    centre = fence["centre"]
    return haversine_m(here, (centre[0], centre[1])) <= float(fence["radius_m"])


@dataclass(frozen=True, slots=True)
class Template:
    """One enrolled face of a listed person, with its list's name and threshold."""

    watchlist_id: int
    watchlist: str
    threshold: float
    entry_id: int
    name: str
    reference: str | None
    template_id: int
    embedding: np.ndarray


class WatchlistDirectory:
    def __init__(self, store: Store, check_s: float = 2.0) -> None:
        self.store, self.check_s = store, check_s
        self._lists: list[WatchlistRow] = []
        self._templates: dict[int, list[Template]] = {}
        self._version: tuple[int, datetime | None] | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def in_force(self, place: Place, at: datetime) -> list[Template]:
        """The templates to compare faces on this camera with now; [] means: look at none."""
        self._refresh()
        out: list[Template] = []
        for row in self._lists:
            if in_force(row, at) and covers(row, place):
                out.extend(self._templates.get(row.id, ()))
        return out

    def _refresh(self) -> None:
        with self._lock:
            now = clock.monotonic()
            if now - self._checked < self.check_s:
                return
            self._checked = now
            with self.store.session() as s:
                count, changed = s.execute(
                    select(func.count(WatchlistRow.id), func.max(WatchlistRow.changed_at))
                ).one()
                version = (int(count), as_utc(changed) if changed is not None else None)
                if version == self._version:
                    return
                lists = list(s.scalars(select(WatchlistRow)))
            by_list: dict[int, list[Template]] = {}
            names = {r.id: r for r in lists}
            for entry, t in Watchlists(self.store).templates(list(names)):
                listed = names[entry.watchlist_id]
                by_list.setdefault(listed.id, []).append(
                    Template(
                        listed.id,
                        listed.name,
                        listed.threshold,
                        entry.id,
                        entry.name,
                        entry.reference,
                        t.id,
                        embedding_of(t.embedding),
                    )  # fmt: skip
                )
            self._lists, self._templates, self._version = lists, by_list, version


def watchlist_alerts(event: Event, row: EventRow | None = None) -> list[Alert]:
    """The candidate alert a face match raises (one per match event: the analyzer gives one
    per person track). Two people must confirm it (EventInfo.reviewers)."""
    if event.type != EventType.FACE_MATCH:
        return []
    attrs = dict(event.attributes)
    when = as_utc(row.time).timestamp() if row is not None else event.time
    return [
        Alert(
            rule=f"{RULE_PREFIX}{attrs.get('watchlist')}",
            camera_id=event.camera_id,
            type=EventType.FACE_MATCH,
            time=when,
            label=event.label,
            event_id=row.id if row is not None else None,
            snapshot=row.snapshot if row is not None else None,
            attributes=attrs,
        )
    ]
