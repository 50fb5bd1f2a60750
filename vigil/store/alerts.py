"""Alerts in the database: raised as candidates by rules, then reviewed by a person."""

from __future__ import annotations

from datetime import UTC, datetime

from vigil.domain import Alert, AlertStatus
from vigil.errors import Conflict, Invalid, NotFound
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import AlertRow

MAX_REASON = 2000
NEEDS_REASON = "dismissing an alert needs a reason; say why it needs no action"


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

        Dismissing needs a reason: it is the decision that nothing is done about the alert.
        """
        status = AlertStatus(action)
        if status == AlertStatus.CANDIDATE:
            raise AlertError("a review acknowledges or dismisses an alert")
        reason = (reason or "").strip() or None
        if status == AlertStatus.DISMISSED and reason is None:
            raise AlertError(NEEDS_REASON)
        if reason is not None and len(reason) > MAX_REASON:
            raise AlertError(f"the reason is too long; keep it under {MAX_REASON} characters")
        with self.store.session() as s, s.begin():
            row = s.get(AlertRow, alert_id, with_for_update=True)
            if row is None:
                raise AlertNotFound(f"no alert {alert_id}")
            if row.status != AlertStatus.CANDIDATE:
                when = as_utc(row.reviewed_at).isoformat() if row.reviewed_at else "earlier"
                raise AlertConflict(
                    f"alert {alert_id} was already {row.status} by {row.reviewed_by} at {when}"
                )
            row.status = str(status)
            row.reviewed_by = reviewer
            row.reviewed_at = datetime.now(UTC)
            row.reason = reason
        return row
