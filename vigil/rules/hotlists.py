"""Hotlist matching: a plate read that is (nearly) a listed plate raises an alert.

`HotlistMatcher.alerts(event, row)` compares a `plate_read` with every entry of every hotlist
in force at the time of the read (neither the list nor the entry expired): a plate entry is a
hit when `distance(read, plate)` is within the list's tolerance (OCR confusions such as O/0 or
B/8 cost little, another character a whole step); a pattern entry (`AB?12*`) is a hit when the
read fits it, confusions forgiven. Each list a read hits gives one alert, for its nearest
entry, carrying the read, the list and the entry; its picture is the read's crop.

The entries are held in memory, indexed by their confusion-class text (`canonical`) and that
text with one character left out, so a read is compared with the few entries it could match,
not with the whole list. The index is rebuilt when a list changes (any process may change one:
each read asks the database for the lists' last change, one small query).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from vigil.domain import Alert, Event, EventType
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import EventRow, HotlistEntryRow, HotlistRow
from vigil.vision.plates.formats import normalise
from vigil.vision.plates.match import canonical, canonical_pattern, distance

RULE_PREFIX = "hotlist:"  # an alert's rule: hotlist:<list name>


@dataclass(frozen=True, slots=True)
class Listed:
    """One entry in force, with what its list says."""

    entry_id: int
    hotlist_id: int
    hotlist: str
    tolerance: float
    plate: str | None
    pattern: str | None
    compiled: re.Pattern[str] | None
    reason: str
    source: str | None
    expires: datetime  # the entry's expiry or its list's, whichever is first


@dataclass(frozen=True, slots=True)
class Hit:
    listed: Listed
    read: str
    distance: float

    def attributes(self) -> dict[str, Any]:
        e = self.listed
        return {
            "read": self.read,
            "hotlist": e.hotlist,
            "hotlist_id": e.hotlist_id,
            "entry": {
                "id": e.entry_id,
                "plate": e.plate,
                "pattern": e.pattern,
                "reason": e.reason,
                "source": e.source,
            },
            "distance": round(self.distance, 3),
        }


def _without_one(text: str) -> set[str]:
    return {text[:i] + text[i + 1 :] for i in range(len(text))}


class HotlistIndex:
    """The entries in force, looked up by a read's confusion-class text."""

    def __init__(self, entries: list[Listed]) -> None:
        self.exact: dict[str, list[Listed]] = defaultdict(list)
        self.shortened: dict[str, list[Listed]] = defaultdict(list)
        self.patterns = [e for e in entries if e.compiled is not None]
        for e in entries:
            if e.plate is None:
                continue
            key = canonical(e.plate)
            self.exact[key].append(e)
            for short in _without_one(key):
                self.shortened[short].append(e)

    def hits(self, read: str, when: datetime) -> list[Hit]:
        """The nearest hit of each hotlist (nearest first)."""
        text = normalise(read)
        key = canonical(text)
        near: dict[int, Listed] = {}
        for short in (key, *_without_one(key)):
            for e in (*self.exact.get(short, ()), *self.shortened.get(short, ())):
                near[e.entry_id] = e
        best: dict[int, Hit] = {}
        for e in near.values():
            if e.expires <= when or e.plate is None:
                continue
            d = distance(text, e.plate)
            if d <= e.tolerance and (e.hotlist_id not in best or d < best[e.hotlist_id].distance):
                best[e.hotlist_id] = Hit(e, text, d)
        for e in self.patterns:
            if e.expires > when and e.hotlist_id not in best and e.compiled.fullmatch(key):  # type: ignore[union-attr]
                best[e.hotlist_id] = Hit(e, text, 0.0)
        return sorted(best.values(), key=lambda h: (h.distance, h.listed.hotlist))


class HotlistMatcher:
    """Hotlist alerts for plate reads, from the lists in the database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index = HotlistIndex([])
        self._version: tuple[int, datetime | None] | None = None
        self._lock = threading.Lock()

    def index(self) -> HotlistIndex:
        with self.store.session() as s:
            count, changed = s.execute(
                select(func.count(HotlistRow.id), func.max(HotlistRow.changed_at))
            ).one()
        version = (int(count), as_utc(changed) if changed is not None else None)
        with self._lock:
            if version != self._version:
                self._index, self._version = HotlistIndex(self._load()), version
            return self._index

    def _load(self) -> list[Listed]:
        with self.store.session() as s:
            rows = s.execute(
                select(HotlistEntryRow, HotlistRow).join(
                    HotlistRow, HotlistRow.id == HotlistEntryRow.hotlist_id
                )
            ).all()
        out = []
        for entry, hotlist in rows:
            ends = as_utc(hotlist.expires_at)
            if entry.expires_at is not None:
                ends = min(ends, as_utc(entry.expires_at))
            out.append(
                Listed(
                    entry_id=entry.id,
                    hotlist_id=hotlist.id,
                    hotlist=hotlist.name,
                    tolerance=hotlist.tolerance,
                    plate=entry.plate,
                    pattern=entry.pattern,
                    compiled=canonical_pattern(entry.pattern) if entry.pattern else None,
                    reason=entry.reason,
                    source=entry.source,
                    expires=ends,
                )
            )
        return out

    def alerts(self, event: Event, row: EventRow | None = None) -> list[Alert]:
        read = event.attributes.get("plate")
        if event.type != EventType.PLATE_READ or not isinstance(read, str) or not read:
            return []
        when = as_utc(row.time) if row is not None else datetime.fromtimestamp(event.time, UTC)
        return [
            Alert(
                rule=f"{RULE_PREFIX}{hit.listed.hotlist}",
                camera_id=event.camera_id,
                type=EventType.PLATE_READ,
                time=when.timestamp(),
                label=event.label,
                event_id=row.id if row is not None else None,
                snapshot=row.snapshot if row is not None else None,
                attributes=hit.attributes(),
            )
            for hit in self.index().hits(read, when)
        ]
