"""Evidence locks: a camera's footage over a time range kept from deletion (the retention
tiers, the disk quota) until a supervisor unlocks it with a reason.

A lock is tied to an incident or an alert, or to neither (a supervisor's own lock). Every
alert that joins an incident locks its camera's footage around the alert's time in the same
transaction (vigil.incidents.incidents calls `alert_lock_row`): the camera's pre and post roll,
at least `MIN_WINDOW`. Unlocking fills the unlock columns of the row, which stays: who locked
and who unlocked, when and why, are kept. Two supervisors unlocking the same lock at once:
the database decides (a conditional UPDATE); one wins, the other gets Conflict (409).
Times in and out are UNIX times.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update

from vigil.config import CameraConfig
from vigil.errors import Conflict, Invalid, NotFound
from vigil.incidents.units import rowcount
from vigil.logtext import ONE_LINE
from vigil.recording.index import at, unix
from vigil.store.db import Store
from vigil.store.tables import AlertRow, EvidenceLockRow

MIN_WINDOW = (30.0, 60.0)  # seconds before and after an alert an automatic lock covers at least
MAX_LOCK_S = 31 * 86400.0  # one lock covers at most a month of one camera's footage
REASON_MIN, REASON_MAX = 3, 500
REASON_PATTERN = ONE_LINE  # three or more visible characters on one line
_REASON = re.compile(REASON_PATTERN)
Window = Callable[[str], tuple[float, float]]  # camera id -> (seconds before, seconds after)


def default_window(_camera_id: str) -> tuple[float, float]:
    return MIN_WINDOW


def camera_window(cameras: Iterable[CameraConfig]) -> Window:
    """Each camera's pre and post roll (recording:), at least MIN_WINDOW."""
    rolls = {c.id: (c.recording.pre_roll_s, c.recording.post_roll_s) for c in cameras}

    def window(camera_id: str) -> tuple[float, float]:
        pre, post = rolls.get(camera_id, MIN_WINDOW)
        return max(pre, MIN_WINDOW[0]), max(post, MIN_WINDOW[1])

    return window


@dataclass(frozen=True, slots=True)
class Lock:
    id: int
    camera_id: str
    start: float
    end: float
    incident_id: int | None
    alert_id: int | None
    reason: str
    locked_by: str
    locked_at: float
    unlocked_by: str | None = None
    unlocked_at: float | None = None
    unlock_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.unlocked_at is None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "camera": self.camera_id,
            "start": self.start,
            "end": self.end,
            "incident_id": self.incident_id,
            "alert_id": self.alert_id,
            "reason": self.reason,
            "locked_by": self.locked_by,
            "locked_at": self.locked_at,
            "active": self.active,
            "unlocked_by": self.unlocked_by,
            "unlocked_at": self.unlocked_at,
            "unlock_reason": self.unlock_reason,
        }


def lock_of(row: EvidenceLockRow) -> Lock:
    return Lock(
        id=row.id,
        camera_id=row.camera_id,
        start=unix(row.start),
        end=unix(row.end),
        incident_id=row.incident_id,
        alert_id=row.alert_id,
        reason=row.reason,
        locked_by=row.locked_by,
        locked_at=unix(row.locked_at),
        unlocked_by=row.unlocked_by,
        unlocked_at=unix(row.unlocked_at) if row.unlocked_at is not None else None,
        unlock_reason=row.unlock_reason,
    )


def reason_text(reason: str | None, what: str = "a lock") -> str:
    """A reason on one line (vigil.logtext.ONE_LINE), spaces and tabs around it trimmed."""
    text = reason or ""
    if len(text) > REASON_MAX or not _REASON.fullmatch(text):
        raise Invalid(
            f"{what} needs a reason of {REASON_MIN} to {REASON_MAX} characters on one line "
            "(a case number or why); it is kept with the lock"
        )
    return text.strip(" \t")


def holds(camera: Any, start: Any, end: Any) -> ColumnElement[bool]:
    """An active lock of `camera` overlaps [start, end]: values, or columns of a correlated
    EXISTS (retention deletes no segment an active lock holds)."""
    return and_(
        EvidenceLockRow.camera_id == camera,
        EvidenceLockRow.unlocked_at.is_(None),
        EvidenceLockRow.start <= end,
        EvidenceLockRow.end >= start,
    )


def alert_lock_row(
    alert: AlertRow, incident_id: int | None, actor: str, window: Window, now: datetime
) -> EvidenceLockRow:
    """The lock of an alert's footage (not yet added to a session)."""
    before, after = window(alert.camera_id)
    t = unix(alert.time)
    reason = f"alert {alert.id} ({alert.rule})"
    if incident_id is not None:
        reason = f"incident {incident_id}: {reason}"
    return EvidenceLockRow(
        camera_id=alert.camera_id, start=at(t - before), end=at(t + after),
        incident_id=incident_id, alert_id=alert.id, reason=reason[:REASON_MAX],
        locked_by=actor, locked_at=now,
    )  # fmt: skip


class Locks:
    """Evidence locks in one store (SQLite or PostgreSQL)."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock

    def lock(
        self,
        camera_id: str,
        start: float,
        end: float,
        actor: str,
        reason: str,
        *,
        incident_id: int | None = None,
        alert_id: int | None = None,
    ) -> Lock:
        text = reason_text(reason)
        if not end > start:
            raise Invalid("a lock's end must come after its start; swap them")
        if end - start > MAX_LOCK_S:
            raise Invalid(
                f"a lock covers at most {MAX_LOCK_S / 86400:g} days; lock a long time in parts"
            )
        row = EvidenceLockRow(
            camera_id=camera_id, start=at(start), end=at(end), incident_id=incident_id,
            alert_id=alert_id, reason=text, locked_by=actor, locked_at=at(self.clock()),
        )  # fmt: skip
        with self.store.session() as s, s.begin():
            s.add(row)
        return lock_of(row)

    def lock_alert(
        self,
        alert_id: int,
        actor: str,
        reason: str,
        window: Window = default_window,
        incident_id: int | None = None,
    ) -> Lock:
        """Lock an alert's camera around its time."""
        text = reason_text(reason)
        with self.store.session() as s, s.begin():
            alert = s.get(AlertRow, alert_id)
            if alert is None:
                raise NotFound(f"no alert {alert_id}")
            row = alert_lock_row(alert, incident_id, actor, window, at(self.clock()))
            row.reason = text
            s.add(row)
        return lock_of(row)

    def get(self, lock_id: int) -> Lock:
        with self.store.session() as s:
            row = s.get(EvidenceLockRow, lock_id)
        if row is None:
            raise NotFound(f"no evidence lock {lock_id}; GET /api/recordings/locks lists them")
        return lock_of(row)

    def unlock(self, lock_id: int, actor: str, reason: str) -> Lock:
        """Release a lock, once: a second unlock (or one racing it) is a Conflict."""
        text = reason_text(reason, "unlocking")
        self.get(lock_id)
        with self.store.session() as s, s.begin():
            done = s.execute(
                update(EvidenceLockRow)
                .where(EvidenceLockRow.id == lock_id, EvidenceLockRow.unlocked_at.is_(None))
                .values(unlocked_by=actor, unlocked_at=at(self.clock()), unlock_reason=text)
            )
        lock = self.get(lock_id)
        if rowcount(done) == 0:
            raise Conflict(
                f"evidence lock {lock_id} was already unlocked by {lock.unlocked_by}; "
                "reload the locks"
            )
        return lock

    def all(
        self,
        camera_ids: Iterable[str] | None = None,
        *,
        active: bool | None = None,
        start: float | None = None,
        end: float | None = None,
        limit: int = 500,
    ) -> list[Lock]:
        """Locks, newest first: of these cameras (None: all), active or not, over a range."""
        q = select(EvidenceLockRow)
        if camera_ids is not None:
            q = q.where(EvidenceLockRow.camera_id.in_(list(camera_ids)))
        if active is not None:
            gone = EvidenceLockRow.unlocked_at
            q = q.where(gone.is_(None) if active else gone.is_not(None))
        if start is not None:
            q = q.where(EvidenceLockRow.end >= at(start))
        if end is not None:
            q = q.where(EvidenceLockRow.start <= at(end))
        q = q.order_by(EvidenceLockRow.id.desc()).limit(limit)
        with self.store.session() as s:
            return [lock_of(r) for r in s.scalars(q)]

    def locked(self, camera_id: str, start: float, end: float) -> bool:
        """Whether an active lock covers any of [start, end] of the camera."""
        q = select(EvidenceLockRow.id).where(holds(camera_id, at(start), at(end))).limit(1)
        with self.store.session() as s:
            return s.scalar(q) is not None
