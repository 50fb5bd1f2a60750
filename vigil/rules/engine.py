"""Alert rules v1: an event matching a configured rule raises a candidate alert.

`RuleEngine` is pure matching (events in, alerts out). `AlertService` stores the alerts (the
configured rules' and the hotlists' hits, see vigil/rules/hotlists.py), pushes them on the bus
and records reviews, so the pipeline and the API share one path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vigil.bus import Bus
from vigil.config import RuleConfig
from vigil.datadir import inside
from vigil.domain import Alert, AlertStatus, Event, EventType
from vigil.rules.fire import FireAlerts
from vigil.rules.hotlists import HotlistMatcher
from vigil.rules.watchlists import watchlist_alerts
from vigil.store.alerts import Alerts
from vigil.store.queries import as_utc
from vigil.store.records import alert_record
from vigil.store.tables import AlertRow, EventRow


def rule_matches(rule: RuleConfig, event: Event) -> bool:
    if str(event.type) != rule.event:
        return False
    if rule.camera is not None and event.camera_id != rule.camera:
        return False
    if rule.labels is not None and event.label not in rule.labels:
        return False
    attrs = event.attributes
    if rule.zone is not None and attrs.get("zone") != rule.zone:
        return False
    if rule.line is not None and attrs.get("line") != rule.line:
        return False
    return rule.direction is None or attrs.get("direction") == rule.direction


class RuleEngine:
    def __init__(self, rules: Sequence[RuleConfig]) -> None:
        self.rules = list(rules)

    def matching(self, event: Event) -> list[RuleConfig]:
        return [r for r in self.rules if rule_matches(r, event)]

    def alerts(self, event: Event, row: EventRow | None = None) -> list[Alert]:
        """The candidate alerts `event` raises; `row` links them to the stored event."""
        if not self.rules:
            return []
        when = as_utc(row.time).timestamp() if row is not None else event.time
        return [
            Alert(
                rule=rule.name,
                camera_id=event.camera_id,
                type=EventType(event.type),
                time=when,
                label=event.label,
                event_id=row.id if row is not None else None,
                snapshot=row.snapshot if row is not None else None,
            )
            for rule in self.matching(event)
        ]


class AlertService:
    """Raise (store + publish) and review alerts."""

    def __init__(
        self,
        alerts: Alerts,
        bus: Bus | None,
        engine: RuleEngine,
        hotlists: HotlistMatcher | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.alerts, self.bus, self.engine = alerts, bus, engine
        self.data_dir = data_dir  # where snapshots lie (a dismissed face match's is deleted)
        self.hotlists = hotlists if hotlists is not None else HotlistMatcher(alerts.store)
        self.fire = FireAlerts(alerts, bus, self._publish)  # fire and smoke: vigil/rules/fire.py

    def raise_for(self, saved: Iterable[tuple[Event, EventRow]]) -> list[AlertRow]:
        rows = []
        for event, event_row in saved:
            raised = [
                *self.engine.alerts(event, event_row),
                *self.hotlists.alerts(event, event_row),
                *watchlist_alerts(event, event_row),
                *self.fire.alerts(event, event_row),
            ]
            for alert in raised:
                row = self.alerts.create(alert)
                rows.append(row)
                self._publish(row)
        return rows

    def review(
        self, alert_id: int, action: AlertStatus | str, reviewer: str, reason: str | None
    ) -> AlertRow:
        before = self.alerts.get(alert_id)
        row = self.alerts.review(alert_id, action, reviewer, reason)
        if before is not None and before.snapshot and row.snapshot is None:
            self._forget(before.snapshot)  # a dismissed face match keeps no picture
        self._publish(row)
        return row

    def _forget(self, rel: str) -> None:
        if self.data_dir is None:
            return
        path = inside(self.data_dir, rel)
        if path is not None and path.is_file():
            path.unlink(missing_ok=True)

    def _publish(self, row: AlertRow) -> None:
        if self.bus is not None:
            reviews = self.alerts.reviews_of([row.id])[row.id]
            message: dict[str, Any] = {"topic": "alert", **alert_record(row, reviews)}
            self.bus.publish(message)
