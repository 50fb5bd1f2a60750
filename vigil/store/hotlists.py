"""Hotlists in the database: lists of plates to alert on, and their entries.

A hotlist has an owner (who answers for it), a legal basis (why it may exist), an expiry (when
it stops matching, unless renewed) and a tolerance (how far a read may be from an entry and
still be a hit, in `vigil.vision.plates.match.distance` units). Its entries are plates or
partial-plate patterns (`AB?12*`), each with a reason, a source and an optional expiry of its
own. Entries come in from CSV files with a header line, columns in any order:

    plate,reason,source,expiry,pattern
    ZG1234AB,stolen vehicle,police report 2026/114,2027-03-31,
    ,witness: partial plate,incident 77,,ZG12??A*

Every line is checked before anything is written; one bad line refuses the whole file with its
line number, and nothing stored changes. Who changes what is audited by the callers (API, CLI).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigil.errors import Conflict, NotFound
from vigil.logtext import escape
from vigil.store.checks import NAME, NAME_RULE, ListError, check_line, check_name, parse_expiry
from vigil.store.db import Store
from vigil.store.named import by_ref, with_counts
from vigil.store.queries import as_utc
from vigil.store.tables import HotlistEntryRow, HotlistRow
from vigil.vision.plates.formats import normalise
from vigil.vision.plates.match import TOLERANCE, cleaned_pattern, pattern

MAX_TOLERANCE = 1.5
MAX_REASON = 500
MAX_SOURCE = 200
MAX_ENTRIES = 500_000
COLUMNS = ("plate", "reason", "source", "expiry", "pattern")


class HotlistError(ListError):
    """A hotlist cannot be created or changed as asked (a bad line, a taken name ...)."""


class HotlistNotFound(HotlistError, NotFound):
    pass


class HotlistConflict(HotlistError, Conflict):
    pass


@dataclass(frozen=True, slots=True)
class EntryIn:
    """One checked entry, as it will be stored."""

    plate: str | None
    pattern: str | None
    reason: str
    source: str | None
    expires_at: datetime | None

    @property
    def key(self) -> tuple[str | None, str | None]:
        return self.plate, self.pattern


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: int
    updated: int
    removed: int
    total: int  # entries on the list after the import


def _entry(row: dict[str, str], now: datetime) -> EntryIn:
    plate_text, pattern_text = row.get("plate", "").strip(), row.get("pattern", "").strip()
    if not plate_text and not pattern_text:
        raise HotlistError("a plate or a pattern is needed")
    plate = normalise(plate_text) or None
    if plate_text and (plate is None or not 2 <= len(plate) <= 16):
        raise HotlistError(f"plate '{escape(plate_text, 30)}' needs 2 to 16 letters or digits")
    cleaned = None
    if pattern_text:
        try:
            pattern(pattern_text)
        except ValueError as exc:
            raise HotlistError(str(exc)) from None
        cleaned = cleaned_pattern(pattern_text)
    expires = None
    if row.get("expiry", "").strip():
        expires = parse_expiry(row["expiry"])
        if expires <= now:
            raise HotlistError(f"expiry {row['expiry'].strip()} has passed")
    source = row.get("source", "").strip() or None
    if source is not None and (len(source) > MAX_SOURCE or not source.isprintable()):
        raise HotlistError(f"source must be one line of at most {MAX_SOURCE} characters")
    reason = check_line(row.get("reason", ""), "reason", MAX_REASON)
    return EntryIn(plate, cleaned, reason, source, expires)


def parse_csv(text: str, now: datetime | None = None) -> list[EntryIn]:
    """Every entry of a hotlist CSV file, checked (the first bad line raises, naming it)."""
    now = now or datetime.now(UTC)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    unknown = [h for h in header if h not in COLUMNS]
    if not header or unknown or "reason" not in header or not {"plate", "pattern"} & set(header):
        raise HotlistError(
            "a hotlist CSV needs a header line with the columns reason and plate (or pattern); "
            f"known columns: {', '.join(COLUMNS)}"
            + (f"; unknown: {escape(', '.join(unknown), 80)}" if unknown else "")
        )
    reader.fieldnames = header
    entries: dict[tuple[str | None, str | None], EntryIn] = {}
    try:
        for row in reader:
            if None in row:
                raise HotlistError(f"line {reader.line_num}: more fields than the header has")
            values = {k: v or "" for k, v in row.items()}
            if not any(v.strip() for v in values.values()):
                continue
            try:
                entry = _entry(values, now)
            except ListError as exc:
                raise HotlistError(f"line {reader.line_num}: {exc}") from None
            entries[entry.key] = entry  # a plate listed twice: the later line stands
            if len(entries) > MAX_ENTRIES:
                raise HotlistError(f"a hotlist holds at most {MAX_ENTRIES} entries")
    except csv.Error as exc:
        raise HotlistError(f"line {reader.line_num}: not CSV ({exc})") from None
    return list(entries.values())


class Hotlists:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self,
        name: str,
        owner: str,
        legal_basis: str,
        expires_at: datetime,
        tolerance: float = TOLERANCE,
    ) -> HotlistRow:
        now = datetime.now(UTC)
        if as_utc(expires_at) <= now:
            raise HotlistError("the expiry has passed; a hotlist must expire in the future")
        if not 0.0 <= tolerance <= MAX_TOLERANCE:
            raise HotlistError(f"tolerance must be between 0 and {MAX_TOLERANCE}")
        row = HotlistRow(
            name=check_name(name),
            owner=owner,
            legal_basis=check_line(legal_basis, "the legal basis", 500),
            expires_at=as_utc(expires_at),
            tolerance=tolerance,
            created_at=now,
            changed_at=now,
        )
        try:
            with self.store.session() as s, s.begin():
                s.add(row)
        except IntegrityError:
            raise HotlistConflict(f"a hotlist named '{name}' exists already") from None
        return row

    def all(self) -> list[tuple[HotlistRow, int]]:
        """Every hotlist with its number of entries, by name."""
        return with_counts(self.store, HotlistRow, HotlistEntryRow.hotlist_id)

    def get(self, ref: int | str) -> HotlistRow:
        """A hotlist by id or by name."""
        return by_ref(self.store, HotlistRow, ref, "hotlist", HotlistNotFound)

    def entries(self, hotlist_id: int) -> list[HotlistEntryRow]:
        with self.store.session() as s:
            query = select(HotlistEntryRow).where(HotlistEntryRow.hotlist_id == hotlist_id)
            return list(s.scalars(query.order_by(HotlistEntryRow.plate, HotlistEntryRow.id)))

    def find_entry(self, hotlist_id: int, text: str) -> HotlistEntryRow:
        """The entry for a plate (normalised) or a pattern (as listed)."""
        plate = normalise(text)
        cleaned = cleaned_pattern(text)
        with self.store.session() as s:
            row = s.scalar(
                select(HotlistEntryRow).where(
                    HotlistEntryRow.hotlist_id == hotlist_id,
                    or_(HotlistEntryRow.plate == plate, HotlistEntryRow.pattern == cleaned),
                )
            )
        if row is None:
            raise HotlistNotFound(f"'{escape(text, 30)}' is not on this hotlist")
        return row

    def update(
        self,
        hotlist_id: int,
        *,
        legal_basis: str | None = None,
        expires_at: datetime | None = None,
        tolerance: float | None = None,
    ) -> HotlistRow:
        """Renew a list (a later expiry), restate its legal basis or change its tolerance."""
        now = datetime.now(UTC)
        with self.store.session() as s, s.begin():
            row = s.get(HotlistRow, hotlist_id, with_for_update=True)
            if row is None:
                raise HotlistNotFound(f"no hotlist {hotlist_id}")
            if legal_basis is not None:
                row.legal_basis = check_line(legal_basis, "the legal basis", 500)
            if expires_at is not None:
                if as_utc(expires_at) <= now:
                    raise HotlistError("the expiry has passed; renew a list into the future")
                row.expires_at = as_utc(expires_at)
            if tolerance is not None:
                if not 0.0 <= tolerance <= MAX_TOLERANCE:
                    raise HotlistError(f"tolerance must be between 0 and {MAX_TOLERANCE}")
                row.tolerance = tolerance
            row.changed_at = now
        return row

    def load(self, hotlist_id: int, entries: Sequence[EntryIn], *, replace: bool) -> ImportReport:
        """Add `entries` (an entry for a plate already listed replaces it), or with `replace`
        make them the list's only entries. One transaction: all of it or nothing."""
        now = datetime.now(UTC)
        with self.store.session() as s, s.begin():
            listed = s.get(HotlistRow, hotlist_id, with_for_update=True)
            if listed is None:
                raise HotlistNotFound(f"no hotlist {hotlist_id}")
            where = HotlistEntryRow.hotlist_id == hotlist_id
            old = {(r.plate, r.pattern): r for r in s.scalars(select(HotlistEntryRow).where(where))}
            new = {e.key for e in entries}
            if replace:
                s.execute(delete(HotlistEntryRow).where(where))
            else:
                for key in new & set(old):
                    s.delete(old[key])
            s.flush()
            s.add_all(
                HotlistEntryRow(hotlist_id=hotlist_id, created_at=now, **_fields(e))
                for e in entries
            )
            listed.changed_at = now
            s.flush()
            total = s.scalar(select(func.count(HotlistEntryRow.id)).where(where)) or 0
        return ImportReport(
            added=len(new - set(old)),
            updated=len(new & set(old)),
            removed=len(set(old) - new) if replace else 0,
            total=total,
        )

    def remove_entry(self, hotlist_id: int, entry_id: int) -> HotlistEntryRow:
        with self.store.session() as s, s.begin():
            row = s.get(HotlistEntryRow, entry_id)
            if row is None or row.hotlist_id != hotlist_id:
                raise HotlistNotFound(f"hotlist {hotlist_id} has no entry {entry_id}")
            s.delete(row)
            listed = s.get(HotlistRow, hotlist_id)
            if listed is not None:
                listed.changed_at = datetime.now(UTC)
        return row

    def delete(self, hotlist_id: int) -> HotlistRow:
        """A list and all of its entries (alerts it raised keep what they matched)."""
        with self.store.session() as s, s.begin():
            row = s.get(HotlistRow, hotlist_id)
            if row is None:
                raise HotlistNotFound(f"no hotlist {hotlist_id}")
            s.execute(delete(HotlistEntryRow).where(HotlistEntryRow.hotlist_id == hotlist_id))
            s.delete(row)
        return row

    def purge_expired(self, now: datetime) -> tuple[int, int]:
        """Delete expired entries and expired lists (with their entries): (lists, entries).
        The retention job does the same in its own transaction (see vigil/audit/retention)."""
        with self.store.session() as s, s.begin():
            return purge_expired(s, now, dry_run=False)


def expired_lists(now: datetime) -> ColumnElement[bool]:
    return HotlistRow.expires_at <= now


def expired_entries(now: datetime) -> ColumnElement[bool]:
    """Entries past their own expiry, and every entry of an expired list."""
    return or_(
        HotlistEntryRow.hotlist_id.in_(select(HotlistRow.id).where(expired_lists(now))),
        and_(HotlistEntryRow.expires_at.is_not(None), HotlistEntryRow.expires_at <= now),
    )


def purge_expired(s: Session, now: datetime, *, dry_run: bool) -> tuple[int, int]:
    """(expired lists, expired entries) in session `s`, deleted unless `dry_run`."""
    lists = int(s.scalar(select(func.count(HotlistRow.id)).where(expired_lists(now))) or 0)
    entries = int(s.scalar(select(func.count(HotlistEntryRow.id)).where(expired_entries(now))) or 0)
    if not dry_run:
        s.execute(delete(HotlistEntryRow).where(expired_entries(now)))
        s.execute(delete(HotlistRow).where(expired_lists(now)))
    return lists, entries


def _fields(entry: EntryIn) -> dict[str, object]:
    return {
        "plate": entry.plate,
        "pattern": entry.pattern,
        "reason": entry.reason,
        "source": entry.source,
        "expires_at": entry.expires_at,
    }


__all__ = [
    "COLUMNS",
    "NAME",
    "NAME_RULE",
    "EntryIn",
    "HotlistError",
    "Hotlists",
    "parse_csv",
]
