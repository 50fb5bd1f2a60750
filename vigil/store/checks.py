"""Checks shared by the lists a person answers for (hotlists, watchlists): names, one-line
texts (a legal basis, a reason, a purpose), expiry dates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from vigil.errors import Invalid
from vigil.logtext import ONE_LINE, escape

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,99}$")
NAME_RULE = "1 to 100 letters, digits, spaces or _ . : - (starting with a letter or digit)"
_ONE_LINE = re.compile(ONE_LINE)


class ListError(Invalid):
    """A list cannot be created or changed as asked."""


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ListError(f"'{escape(name, 100)}' is not a list name; use {NAME_RULE}")
    return name


def check_line(text: str, what: str, limit: int) -> str:
    """One line of at least three visible characters (the grammar of a purpose)."""
    if len(text) > limit or not _ONE_LINE.fullmatch(text):
        raise ListError(
            f"{what} must be one line of 3 to {limit} characters, without control characters"
        )
    return text.strip(" \t")


def parse_expiry(text: str, what: str = "expiry") -> datetime:
    """ISO 8601: a date (the list is valid through that day, UTC) or a date and time (UTC
    unless it says otherwise)."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC) + timedelta(days=1)
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ListError(
            f"{what} '{escape(value, 40)}' is not a date; use ISO 8601, e.g. 2027-03-31 or "
            "2027-03-31T18:00:00+01:00"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
