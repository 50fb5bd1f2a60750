"""Searching events, tracks and alerts: filters, newest first, keyset pagination.

The same statements run on SQLite and PostgreSQL. Pages are cut by a cursor (the time and id
of the last row shown), not an offset, so a page stays correct while new rows arrive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from vigil.errors import VigilError
from vigil.store.db import Store
from vigil.store.tables import AlertRow, EventRow, TrackRow

MAX_LIMIT = 500
MAX_ROW_ID = 2**31 - 1  # stored rows' ids are 32-bit integers on both engines
Row = TypeVar("Row", EventRow, TrackRow, AlertRow)


class QueryError(VigilError):
    """A search the user asked for cannot be run as given (bad cursor, limit, time range)."""


def as_utc(value: datetime) -> datetime:
    """Times without a zone are UTC (SQLite hands them back that way)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Page(Generic[Row]):
    items: list[Row]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Filters:
    """What to search for. `visible` limits the cameras (a user's permission); None: all."""

    visible: frozenset[str] | None = None
    camera: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    label: str | None = None
    type: str | None = None
    zone: str | None = None
    line: str | None = None
    plate_like: str | None = None  # events only: a SQL LIKE pattern on the read plate
    status: str | None = None  # alerts only
    rule: str | None = None  # alerts only


# A cursor is the position after the last row shown: "<UTC microseconds since 1970>.<row id>".
# Every string of this form is a position (times and ids beyond the stored ones are clamped),
# so a well-formed cursor is never refused.
CURSOR_PATTERN = r"^-?[0-9]{1,18}\.[0-9]{1,12}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def encode_cursor(time: datetime, row_id: int) -> str:
    return f"{(as_utc(time) - _EPOCH) // timedelta(microseconds=1)}.{row_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise QueryError(
            f"cursor '{cursor[:40]}' is not valid; pass the next_cursor of the previous page"
        )
    micros, row_id = (int(part) for part in cursor.split("."))
    lowest, highest = ((edge - _EPOCH) // timedelta(microseconds=1) for edge in (_FIRST, _LAST))
    at = _EPOCH + timedelta(microseconds=min(max(micros, lowest), highest))
    return at, min(row_id, MAX_ROW_ID + 1)


def _check(filters: Filters, limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT} (got {limit}); use the cursor")
    if filters.since and filters.until and as_utc(filters.since) > as_utc(filters.until):
        raise QueryError("since is after until; swap them")


def _common(
    query: Select[Any],
    filters: Filters,
    camera_col: InstrumentedAttribute[str],
    label_col: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
) -> Select[Any]:
    if filters.visible is not None:
        query = query.where(camera_col.in_(sorted(filters.visible)))
    if filters.camera is not None:
        query = query.where(camera_col == filters.camera)
    if filters.label is not None:
        query = query.where(label_col == filters.label)
    return query


def _page(
    store: Store,
    query: Select[Any],
    time_col: InstrumentedAttribute[datetime],
    id_col: InstrumentedAttribute[int],
    limit: int,
    cursor: str | None,
) -> Page[Any]:
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(or_(time_col < at, and_(time_col == at, id_col < row_id)))
    query = query.order_by(time_col.desc(), id_col.desc()).limit(limit + 1)
    with store.session() as s:
        rows = list(s.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    token = encode_cursor(getattr(last, time_col.key), last.id) if more and last else None
    return Page(rows, token)


def _time_range(
    query: Select[Any],
    filters: Filters,
    start: InstrumentedAttribute[datetime],
    end: InstrumentedAttribute[datetime],
) -> Select[Any]:
    """Rows whose [start, end] overlaps [since, until]."""
    if filters.since is not None:
        query = query.where(end >= as_utc(filters.since))
    if filters.until is not None:
        query = query.where(start <= as_utc(filters.until))
    return query


def search_events(
    store: Store, filters: Filters, limit: int = 100, cursor: str | None = None
) -> Page[EventRow]:
    _check(filters, limit)
    query = _common(select(EventRow), filters, EventRow.camera_id, EventRow.label)
    query = _time_range(query, filters, EventRow.time, EventRow.time)
    if filters.type is not None:
        query = query.where(EventRow.type == filters.type)
    if filters.zone is not None:
        query = query.where(EventRow.zone == filters.zone)
    if filters.line is not None:
        query = query.where(EventRow.line == filters.line)
    if filters.plate_like is not None:
        query = query.where(EventRow.plate.like(filters.plate_like))
    return _page(store, query, EventRow.time, EventRow.id, limit, cursor)


def search_tracks(
    store: Store, filters: Filters, limit: int = 100, cursor: str | None = None
) -> Page[TrackRow]:
    """Tracks overlapping the time range; `zone` / `line` / `type`: tracks with such an event."""
    _check(filters, limit)
    query = _common(select(TrackRow), filters, TrackRow.camera_id, TrackRow.label)
    query = _time_range(query, filters, TrackRow.first_seen, TrackRow.last_seen)
    conditions: list[ColumnElement[bool]] = []
    if filters.zone is not None:
        conditions.append(EventRow.zone == filters.zone)
    if filters.line is not None:
        conditions.append(EventRow.line == filters.line)
    if filters.type is not None:
        conditions.append(EventRow.type == filters.type)
    if conditions:
        # Track ids restart with the pipeline, so an event belongs to the track with its id on
        # its camera whose lifetime contains the event's time.
        query = query.where(
            exists().where(
                EventRow.camera_id == TrackRow.camera_id,
                EventRow.track_id == TrackRow.track_id,
                EventRow.time >= TrackRow.first_seen,
                EventRow.time <= TrackRow.last_seen,
                *conditions,
            )
        )
    return _page(store, query, TrackRow.first_seen, TrackRow.id, limit, cursor)


def search_alerts(
    store: Store, filters: Filters, limit: int = 100, cursor: str | None = None
) -> Page[AlertRow]:
    _check(filters, limit)
    query = _common(select(AlertRow), filters, AlertRow.camera_id, AlertRow.label)
    query = _time_range(query, filters, AlertRow.time, AlertRow.time)
    if filters.type is not None:
        query = query.where(AlertRow.type == filters.type)
    if filters.status is not None:
        query = query.where(AlertRow.status == filters.status)
    if filters.rule is not None:
        query = query.where(AlertRow.rule == filters.rule)
    return _page(store, query, AlertRow.time, AlertRow.id, limit, cursor)


def get_row(store: Store, table: type[Row], row_id: int) -> Row | None:
    with store.session() as s:
        return s.get(table, row_id)
