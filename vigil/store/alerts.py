"""Alerts in the database: raised as candidates by rules, then reviewed by a person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigil.domain import Alert, AlertStatus, EventType
from vigil.errors import Conflict, Invalid, NotFound
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import AlertReviewRow, AlertRow, EventRow

MAX_REASON = 2000
NEEDS_REASON = "dismissing an alert needs a reason; say why it needs no action"
NEEDS_TWO = (
    "a face match needs a reason for each decision: say what you compared (two people must "
    "confirm it before anyone acts)"
)


class AlertError(Invalid):
    """A review that cannot be made (no such alert, already reviewed, reason missing)."""


class AlertNotFound(AlertError, NotFound):
    pass


class AlertConflict(AlertError, Conflict):
    pass


class Alerts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, alert: Alert) -> AlertRow:
        row = AlertRow(
            rule=alert.rule,
            camera_id=alert.camera_id,
            event_id=alert.event_id,
            type=str(alert.type),
            time=datetime.fromtimestamp(alert.time, tz=UTC),
            label=alert.label,
            status=str(alert.status),
            snapshot=alert.snapshot,
            attributes=dict(alert.attributes) or None,
        )
        with self.store.session() as s, s.begin():
            s.add(row)
        return row

    def get(self, alert_id: int) -> AlertRow | None:
        with self.store.session() as s:
            return s.get(AlertRow, alert_id)

    def review(
        self, alert_id: int, action: AlertStatus | str, reviewer: str, reason: str | None = None
    ) -> AlertRow:
        """Acknowledge or dismiss a candidate alert; records who, when and why.

        Dismissing needs a reason: it is the decision that nothing is done about the alert. An
        alert whose type needs two reviewers (a face match) needs a reason for every decision
        and stays a candidate after the first confirmation: the second, by another person,
        acknowledges it. One dismissal ends it, and its picture is forgotten (the row keeps
        the decision, for the accuracy report).
        """
        status = AlertStatus(action)
        if status == AlertStatus.CANDIDATE:
            raise AlertError("a review acknowledges or dismisses an alert")
        reason = (reason or "").strip() or None
        if status == AlertStatus.DISMISSED and reason is None:
            raise AlertError(NEEDS_REASON)
        if reason is not None and len(reason) > MAX_REASON:
            raise AlertError(f"the reason is too long; keep it under {MAX_REASON} characters")
        try:
            with self.store.session() as s, s.begin():
                row = self._decide(s, alert_id, status, reviewer, reason)
        except IntegrityError:
            raise AlertConflict(
                f"you confirmed alert {alert_id} already; a second person must confirm it"
            ) from None
        return row

    def _decide(
        self, s: Session, alert_id: int, status: AlertStatus, reviewer: str, reason: str | None
    ) -> AlertRow:
        row = s.get(AlertRow, alert_id, with_for_update=True)
        if row is None:
            raise AlertNotFound(f"no alert {alert_id}")
        if row.status != AlertStatus.CANDIDATE:
            when = as_utc(row.reviewed_at).isoformat() if row.reviewed_at else "earlier"
            raise AlertConflict(
                f"alert {alert_id} was already {row.status} by {row.reviewed_by} at {when}"
            )
        needed = reviewers_needed(row.type)
        if needed > 1 and reason is None:
            raise AlertError(NEEDS_TWO)
        now = datetime.now(UTC)
        s.add(AlertReviewRow(alert_id=alert_id, reviewer=reviewer, action=str(status),
                             reason=reason, at=now))  # fmt: skip
        s.flush()  # a second decision by the same person breaks the unique constraint
        confirmed = s.scalar(
            select(func.count(AlertReviewRow.id)).where(
                AlertReviewRow.alert_id == alert_id,
                AlertReviewRow.action == str(AlertStatus.ACKNOWLEDGED),
            )
        )
        if status == AlertStatus.ACKNOWLEDGED and (confirmed or 0) < needed:
            return row  # still a candidate: a second person must confirm
        values: dict[str, object] = {
            "status": str(status), "reviewed_by": reviewer, "reviewed_at": now, "reason": reason,
        }  # fmt: skip
        if status == AlertStatus.DISMISSED and needed > 1:
            values["snapshot"] = None  # a dismissed match keeps no picture of the person
            if row.event_id is not None:
                s.execute(update(EventRow).where(EventRow.id == row.event_id).values(snapshot=None))
        done: CursorResult[Any] = s.execute(  # type: ignore[assignment]
            update(AlertRow)
            .where(AlertRow.id == alert_id, AlertRow.status == str(AlertStatus.CANDIDATE))
            .values(**values)
        )
        if done.rowcount != 1:  # another decision got there first
            raise AlertConflict(f"alert {alert_id} was reviewed meanwhile; reload it")
        s.refresh(row)
        return row

    def reviews_of(self, alert_ids: Sequence[int]) -> dict[int, list[AlertReviewRow]]:
        """Every decision recorded on these alerts, oldest first."""
        out: dict[int, list[AlertReviewRow]] = {i: [] for i in alert_ids}
        if not alert_ids:
            return out
        with self.store.session() as s:
            query = (
                select(AlertReviewRow)
                .where(AlertReviewRow.alert_id.in_(list(alert_ids)))
                .order_by(AlertReviewRow.at, AlertReviewRow.id)
            )
            for r in s.scalars(query):
                out[r.alert_id].append(r)
        return out


def reviewers_needed(alert_type: str) -> int:
    """How many different people must confirm an alert of this type (see EventInfo)."""
    try:
        return EventType(alert_type).info.reviewers
    except ValueError:
        return 1
