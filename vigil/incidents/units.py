"""Units in the field and the positions they report.

A unit has a callsign, a kind, a status and at most one user who carries it (their phone
reports its position). Positions arrive from the field app, from TAK clients and from the API;
each is checked (coordinates on the Earth, not from the future, not older than what is kept)
before anything is stored, and a batch with one bad position is refused whole, naming it.
Positions are personal data: they are kept `retention.positions` days and every read of the
history is audited by the caller (the API, the CLI).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigil.bus import Bus, Topic
from vigil.domain import Position, UnitKind, UnitStatus
from vigil.errors import Conflict, Invalid, NotFound
from vigil.logtext import escape
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import CameraPositionRow, PositionRow, UnitRow, UserRow

CALLSIGN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-/]{0,31}$")
CALLSIGN_RULE = "1 to 32 letters, digits, spaces or _ . - / (starting with a letter or digit)"
SOURCES = ("app", "tak", "api", "clip")  # where a position came from (clip: its GPS)
MAX_BATCH = 500  # positions in one report (a phone's offline queue)
MAX_ACCURACY_M = 100_000.0


class UnitError(Invalid):
    """A unit cannot be created, changed or placed as asked."""


class UnitNotFound(UnitError, NotFound):
    pass


class UnitConflict(UnitError, Conflict):
    pass


def check_callsign(callsign: str) -> str:
    if not CALLSIGN.fullmatch(callsign):
        raise UnitError(f"'{escape(callsign, 40)}' is not a callsign; use {CALLSIGN_RULE}")
    return callsign


def _finite(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise UnitError(f"{what} must be a finite number (got {escape(str(value), 30)})")
    return float(value)


def check_position(
    p: Position, *, now: float, max_skew_s: float, oldest: float, label: str = "position"
) -> Position:
    """`p` with heading in [0, 360), or UnitError saying what is wrong with it."""
    lat, lon = _finite(p.lat, f"{label}: lat"), _finite(p.lon, f"{label}: lon")
    stamp = _finite(p.time, f"{label}: time")
    assert lat is not None and lon is not None and stamp is not None
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        raise UnitError(
            f"{label}: ({lat:g}, {lon:g}) is not on the Earth; latitude is -90..90 and "
            "longitude -180..180 degrees (WGS 84)"
        )
    if stamp > now + max_skew_s:
        ahead = stamp - now
        raise UnitError(
            f"{label}: its time is {ahead:.0f} s in the future; check the device's clock "
            f"(up to {max_skew_s:g} s ahead is accepted)"
        )
    if stamp < oldest:
        raise UnitError(f"{label}: it is older than positions are kept (retention.positions)")
    accuracy = _finite(p.accuracy_m, f"{label}: accuracy_m")
    if accuracy is not None and not 0 <= accuracy <= MAX_ACCURACY_M:
        raise UnitError(f"{label}: accuracy_m must be 0 to {MAX_ACCURACY_M:g} metres")
    heading = _finite(p.heading, f"{label}: heading")
    if heading is not None:
        if not 0 <= heading <= 360:
            raise UnitError(f"{label}: heading must be 0 to 360 degrees from north")
        heading %= 360.0
    speed = _finite(p.speed_mps, f"{label}: speed_mps")
    if speed is not None and not 0 <= speed <= 1000:
        raise UnitError(f"{label}: speed_mps must be 0 to 1000")
    return replace(p, lat=lat, lon=lon, time=stamp, accuracy_m=accuracy, heading=heading)


_UNSET: Any = object()


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (a CursorResult's; typed loosely by SQLAlchemy)."""
    return int(getattr(result, "rowcount", 0) or 0)


class Units:
    """Create, change and place units; publish each change on the bus (topic `unit`)."""

    def __init__(
        self,
        store: Store,
        bus: Bus | None = None,
        *,
        retention_days: float = 7,
        max_skew_s: float = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.bus, self.clock = store, bus, clock
        self.retention_days, self.max_skew_s = retention_days, max_skew_s

    # -- reading -----------------------------------------------------------------------------

    def all(self) -> list[UnitRow]:
        with self.store.session() as s:
            return list(s.scalars(select(UnitRow).order_by(UnitRow.callsign)))

    def get(self, unit_id: int) -> UnitRow:
        with self.store.session() as s:
            row = s.get(UnitRow, unit_id)
        if row is None:
            raise UnitNotFound(f"no unit {unit_id}; `vigil units list` shows them")
        return row

    def find(self, ref: str) -> UnitRow:
        """A unit by callsign or id (the CLI's way of naming one)."""
        with self.store.session() as s:
            row = s.scalar(select(UnitRow).where(UnitRow.callsign == ref))
            if row is None and ref.isdigit():
                row = s.get(UnitRow, int(ref))
        if row is None:
            raise UnitNotFound(f"no unit '{escape(ref, 40)}'; `vigil units list` shows them")
        return row

    def of_user(self, username: str) -> UnitRow | None:
        with self.store.session() as s:
            return s.scalar(select(UnitRow).where(UnitRow.username == username))

    def of_tak(self, uid: str) -> UnitRow | None:
        with self.store.session() as s:
            return s.scalar(select(UnitRow).where(UnitRow.tak_uid == uid))

    def history(
        self, unit_id: int, since: datetime, until: datetime | None = None, limit: int = 5000
    ) -> list[PositionRow]:
        self.get(unit_id)
        q = select(PositionRow).where(PositionRow.unit_id == unit_id, PositionRow.at >= since)
        if until is not None:
            q = q.where(PositionRow.at <= until)
        with self.store.session() as s:
            return list(s.scalars(q.order_by(PositionRow.at).limit(limit)))

    def trails(self, since: datetime, per_unit: int = 300) -> dict[int, list[PositionRow]]:
        """Each unit's positions since `since`, oldest first (the live map's trails)."""
        with self.store.session() as s:
            rows = s.scalars(
                select(PositionRow).where(PositionRow.at >= since).order_by(PositionRow.at)
            )
            out: dict[int, list[PositionRow]] = {}
            for row in rows:
                out.setdefault(row.unit_id, []).append(row)
        return {k: v[-per_unit:] for k, v in out.items()}

    # -- changing ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _check_user(self, s: Any, username: str | None) -> None:
        if (
            username is not None
            and s.scalar(select(UserRow.id).where(UserRow.username == username)) is None
        ):
            raise UnitNotFound(f"no user '{escape(username, 64)}'; `vigil users list` shows them")

    def create(
        self,
        callsign: str,
        kind: UnitKind | str,
        *,
        username: str | None = None,
        tak_uid: str | None = None,
        status: UnitStatus = UnitStatus.AVAILABLE,
    ) -> UnitRow:
        check_callsign(callsign)
        now = self._now()
        row = UnitRow(
            callsign=callsign, kind=str(UnitKind(kind)), status=str(status), username=username,
            tak_uid=tak_uid, created_at=now, changed_at=now,
        )  # fmt: skip
        try:
            with self.store.session() as s, s.begin():
                self._check_user(s, username)
                s.add(row)
        except IntegrityError:
            raise self._taken(callsign, username) from None
        self._publish(row)
        return row

    def _taken(self, callsign: str | None, username: str | None) -> UnitConflict:
        with self.store.session() as s:
            if callsign and s.scalar(select(UnitRow.id).where(UnitRow.callsign == callsign)):
                return UnitConflict(f"callsign '{callsign}' is taken; choose another")
        who = escape(username or "", 64)
        return UnitConflict(f"user '{who}' already carries a unit; unassign it first")

    def update(
        self,
        unit_id: int,
        *,
        callsign: str | None = None,
        kind: UnitKind | str | None = None,
        status: UnitStatus | str | None = None,
        username: str | None = _UNSET,
    ) -> UnitRow:
        """Change what is given; `username=None` unassigns the unit."""
        values: dict[str, Any] = {}
        if callsign is not None:
            values["callsign"] = check_callsign(callsign)
        if kind is not None:
            values["kind"] = str(UnitKind(kind))
        if status is not None:
            values["status"] = str(UnitStatus(status))
        if username is not _UNSET:
            values["username"] = username
        try:
            with self.store.session() as s, s.begin():
                row = s.get(UnitRow, unit_id)
                if row is None:
                    raise UnitNotFound(f"no unit {unit_id}; `vigil units list` shows them")
                if username is not _UNSET:
                    self._check_user(s, username)
                for key, value in values.items():
                    setattr(row, key, value)
                row.changed_at = self._now()
        except IntegrityError:
            raise self._taken(callsign, username if username is not _UNSET else None) from None
        self._publish(row)
        return row

    def claim(self, unit_id: int, status: UnitStatus, *, only_from: UnitStatus | None) -> bool:
        """Set the status in one statement, only if it is `only_from` now (None: any): how
        two dispatchers racing for one unit end with one winner."""
        q = update(UnitRow).where(UnitRow.id == unit_id)
        if only_from is not None:
            q = q.where(UnitRow.status == str(only_from))
        with self.store.session() as s, s.begin():
            done = rowcount(s.execute(q.values(status=str(status), changed_at=self._now())))
        return bool(done)

    def report(
        self, unit_id: int, positions: Sequence[Position], source: str
    ) -> tuple[UnitRow, int]:
        """Store positions (all or none) and move the unit to the newest; returns the unit and
        how many were stored."""
        if source not in SOURCES:
            raise UnitError(f"a position's source is one of {', '.join(SOURCES)}")
        if not positions:
            raise UnitError("no position given")
        if len(positions) > MAX_BATCH:
            raise UnitError(f"at most {MAX_BATCH} positions per report; send the rest after")
        now = self.clock()
        oldest = now - self.retention_days * 86400
        many = len(positions) > 1
        checked = [
            check_position(
                p, now=now, max_skew_s=self.max_skew_s, oldest=oldest,
                label=f"position {i + 1}" if many else "position",
            )
            for i, p in enumerate(positions)
        ]  # fmt: skip
        received = datetime.fromtimestamp(now, UTC)
        newest = max(checked, key=lambda p: p.time)
        with self.store.session() as s, s.begin():
            row = s.get(UnitRow, unit_id)
            if row is None:
                raise UnitNotFound(f"no unit {unit_id}; `vigil units list` shows them")
            s.add_all(
                PositionRow(
                    unit_id=unit_id, at=datetime.fromtimestamp(p.time, UTC), lat=p.lat,
                    lon=p.lon, accuracy_m=p.accuracy_m, heading=p.heading,
                    speed_mps=p.speed_mps, source=source, received_at=received,
                )
                for p in checked
            )  # fmt: skip
            when = datetime.fromtimestamp(newest.time, UTC)
            if row.position_at is None or as_utc(row.position_at) <= when:
                row.lat, row.lon = newest.lat, newest.lon
                row.accuracy_m, row.heading = newest.accuracy_m, newest.heading
                row.position_at, row.position_source = when, source
        self._publish(row)
        return row, len(checked)

    def delete(self, unit_id: int) -> None:
        with self.store.session() as s, s.begin():
            row = s.get(UnitRow, unit_id)
            if row is None:
                raise UnitNotFound(f"no unit {unit_id}; `vigil units list` shows them")
            s.delete(row)

    def purge(self, before: datetime, *, dry_run: bool = False) -> int:
        """Delete positions measured before `before` (see `purge_positions`)."""
        with self.store.session() as s, s.begin():
            return purge_positions(s, before, dry_run=dry_run)

    def _publish(self, row: UnitRow) -> None:
        if self.bus is not None:
            self.bus.publish({"topic": str(Topic.UNIT), **unit_record(row)})


def purge_positions(s: Session, before: datetime, *, dry_run: bool = False) -> int:
    """Delete positions measured before `before`, and a unit's last position with them, and
    moving cameras' paths (the retention job, `retention.positions`)."""
    expired = PositionRow.at < before
    # A moving camera's path (a body camera's is its wearer's) is kept as long (vigil.ingest).
    path_expired = CameraPositionRow.at < before
    if dry_run:
        return sum(
            int(s.scalar(select(func.count()).select_from(m).where(cond)) or 0)
            for m, cond in ((PositionRow, expired), (CameraPositionRow, path_expired))
        )
    done = rowcount(s.execute(delete(PositionRow).where(expired)))
    done += rowcount(s.execute(delete(CameraPositionRow).where(path_expired)))
    s.execute(
        update(UnitRow)
        .where(UnitRow.position_at < before)
        .values(lat=None, lon=None, accuracy_m=None, heading=None, position_at=None)
    )
    return done


def unit_record(row: UnitRow) -> dict[str, Any]:
    """The REST unit resource (and the live `unit` message)."""
    position = None
    if row.lat is not None and row.lon is not None and row.position_at is not None:
        position = {
            "lat": row.lat, "lon": row.lon, "accuracy_m": row.accuracy_m,
            "heading": row.heading, "time": as_utc(row.position_at).isoformat(),
            "source": row.position_source,
        }  # fmt: skip
    return {
        "id": row.id,
        "callsign": row.callsign,
        "kind": row.kind,
        "status": row.status,
        "user": row.username,
        "tak_uid": row.tak_uid,
        "position": position,
    }
