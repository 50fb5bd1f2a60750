"""The parameter types routes share, each with its bounds in the OpenAPI contract: a value
outside them is a 422 naming the parameter, never a database error.

- `RowId`: stored rows' ids are 32-bit integers on both engines (1 .. 2**31-1).
- `When`: ISO 8601 (UTC when no zone is given) or UNIX seconds (0 to the end of 9999), turned
  into an aware UTC time here; a time whose zone would carry it past year 1 or 9999 is the
  first or last moment there is (so no later conversion can overflow).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator, Field, WithJsonSchema

from vigil.store.queries import CURSOR_PATTERN, MAX_LIMIT, MAX_ROW_ID

LATEST_UNIX = 253402300799  # 9999-12-31T23:59:59Z
TIME_HELP = "ISO 8601 (UTC if no zone is given) or UNIX seconds"


def row_id(what: str) -> Any:
    return Path(ge=1, le=MAX_ROW_ID, description=f"the {what}'s id")


EventId = Annotated[int, row_id("event")]
TrackRowId = Annotated[int, row_id("track")]
AlertId = Annotated[int, row_id("alert")]
UserId = Annotated[int, row_id("user")]
HotlistId = Annotated[int, row_id("hotlist")]
EntryId = Annotated[int, row_id("hotlist entry")]


def _a_json_number(value: Any) -> Any:
    """A number as JSON spells one: `true` or "3" for an id or a latitude in a request body
    is a 422, not taken as 1 or 3."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


# For request-body fields: `Annotated[float, Field(...), JsonNumber]`.
JsonNumber = BeforeValidator(_a_json_number)
# A stored row named in a request body (bounds first, so that they are in the schema).
RowRef = Annotated[int, Field(ge=1, le=MAX_ROW_ID), JsonNumber]


def parse_when(value: Any) -> datetime:
    """A time from a query string: ISO 8601 or UNIX seconds, as aware UTC."""
    if isinstance(value, datetime):
        return _utc(value)
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            raise ValueError(f"not a time; use {TIME_HELP}") from None
    if not 0 <= seconds <= LATEST_UNIX:
        raise ValueError(f"UNIX seconds must be from 0 to {LATEST_UNIX} (the end of 9999)")
    return datetime.fromtimestamp(seconds, tz=UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00: past the last representable moment
        edge = datetime.max if moment.year > 1 else datetime.min
        return edge.replace(tzinfo=UTC)


_WHEN_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "number", "minimum": 0, "maximum": LATEST_UNIX},
    ],
    "description": TIME_HELP,
}
When = Annotated[datetime, BeforeValidator(parse_when), WithJsonSchema(_WHEN_SCHEMA)]
Since = Annotated[When | None, Query(description=f"from this time on; {TIME_HELP}")]
Until = Annotated[When | None, Query(description=f"up to this time; {TIME_HELP}")]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page, at most {MAX_LIMIT}")]
Cursor = Annotated[
    str | None,
    Query(max_length=40, pattern=CURSOR_PATTERN, description="the next_cursor of the last page"),
]
Name = Annotated[str | None, Query(min_length=1, max_length=100)]
