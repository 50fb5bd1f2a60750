"""The transparency report: what the system was used for in a period, from the audit log and
the stored data, in numbers a member of the public can read (Markdown) or a tool can (JSON).

It shows no personal data: counts, camera ids, purpose categories (never the purpose texts),
alert types and the audit chain's status.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vigil.audit.verify import PURGE_ACTION, verify_chain
from vigil.domain import AlertStatus
from vigil.integrations.cot import SENT_ACTION, CotKind
from vigil.integrations.hookbody import SENT_ACTION as HOOKS_SENT
from vigil.integrations.hookbody import SENT_KINDS as HOOKS_KINDS
from vigil.integrations.mqtt_ha import SENT_ACTION as MQTT_SENT
from vigil.integrations.mqtt_ha import MqttKind
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import (
    AlertRow,
    AuditRow,
    CameraRow,
    EventRow,
    HotlistRow,
    TrackRow,
    WatchlistRow,
)

CASE_NUMBER = re.compile(r"(?i)\b(case|incident|ref)\s*[-:/#]?\s*\d|#\s*\d+|\b\d+[-/]\d+\b")
READ_PREFIXES = ("events.", "tracks.", "alerts.read", "alerts.snapshot", "live.")
EXPORT_ACTION = "exports.create"  # vigil.recording.export: one row per export made
ACCESS_ACTIONS = {
    "auth.login": "successful logins",
    "auth.login_failed": "failed logins",
    "auth.login_refused": "logins refused (too many failures)",
    "system.start": "service starts",
    "system.stop": "service stops",
}


def purpose_category(purpose: str | None) -> str:
    """'case number' for a case reference (CASE-123, #123, 2026/0042), else the first word
    lower-cased; '(none)' without a purpose."""
    text = (purpose or "").strip()
    if not text:
        return "(none)"
    if CASE_NUMBER.search(text):
        return "case number"
    word = re.split(r"[\s,.;:]+", text, maxsplit=1)[0].lower()
    return word[:40] or "(none)"


def _review_column(status: AlertStatus) -> str:
    return "open" if status is AlertStatus.CANDIDATE else str(status)


# Alerts per type: how many were raised, then how many stand at each review status.
ALERT_COLUMNS: tuple[str, ...] = ("raised", *(_review_column(s) for s in AlertStatus))


@dataclass
class TransparencyReport:
    since: datetime
    until: datetime
    cameras_registered: list[str]
    cameras_active: list[str]  # with events or tracks in the period
    searches_by_purpose: dict[str, int]
    searches_by_kind: dict[str, int]
    data_reads: dict[str, int]  # audited reads of events, tracks, alerts, live views
    alerts: dict[str, dict[str, int]]  # alert type -> ALERT_COLUMNS -> count
    purged: dict[str, int]
    purge_runs: int
    audit: dict[str, Any]  # chain status: ok, rows, head id and hash, problem
    exports: int = 0  # evidence exports made
    exports_unblurred: int = 0  # of which with faces not blurred (each with its reason)
    access: dict[str, int] = field(default_factory=dict)  # logins by outcome, service starts
    # Watchlists and hotlists in force at some time in the period (names; no one on them).
    lists: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Cursor-on-Target messages sent to TAK servers, per kind (unit, camera, incident, alert).
    tak_sent: dict[str, int] = field(default_factory=lambda: {str(k): 0 for k in CotKind})
    # MQTT messages published, per kind (plate: with a plate's text, snapshot: a snapshot path).
    mqtt_sent: dict[str, int] = field(default_factory=lambda: {str(k): 0 for k in MqttKind})
    # Webhook deliveries made: events, alerts, and how many held a plate read or snapshot link.
    webhooks_sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HOOKS_KINDS, 0))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        data["alert_columns"] = list(ALERT_COLUMNS)
        return data

    def to_markdown(self) -> str:
        day = "%Y-%m-%d %H:%M UTC"
        chain = "verified" if self.audit["ok"] else f"BROKEN: {self.audit['problem']}"
        lines = [
            "# Vigil transparency report",
            "",
            f"Period: {self.since.strftime(day)} to {self.until.strftime(day)}",
            "",
            "## Cameras",
            "",
            f"- registered: {len(self.cameras_registered)} "
            f"({', '.join(self.cameras_registered) or 'none'})",
            f"- active in the period: {len(self.cameras_active)} "
            f"({', '.join(self.cameras_active) or 'none'})",
            "",
            "## Searches by purpose",
            "",
            *_table(("purpose category", "searches"), self.searches_by_purpose),
            "",
            *_table(("search", "count"), self.searches_by_kind),
            "",
            "## Reads of stored data",
            "",
            *_table(("action", "count"), self.data_reads),
            "",
            "## Logins and service",
            "",
            *_table(("what", "count"), self.access),
            "",
            "## Alerts",
            "",
            "| type | " + " | ".join(ALERT_COLUMNS).replace("open", "awaiting review") + " |",
            "|---|" + "---:|" * len(ALERT_COLUMNS),
            *(
                f"| {t} | " + " | ".join(str(c.get(k, 0)) for k in ALERT_COLUMNS) + " |"
                for t, c in sorted(self.alerts.items())
            ),
            "",
            "Face matches (`face_match`) count as acknowledged only once two different people "
            "confirmed them.",
            "",
            "## Watchlists and hotlists in force",
            "",
            *(
                f"- {kind}: {len(names)} ({', '.join(names) or 'none'})"
                for kind, names in sorted(self.lists.items())
            ),
            "",
            "## Sent to TAK servers (Cursor-on-Target)",
            "",
            "| kind | messages |",
            "|---|---:|",
            *(f"| {kind} | {n} |" for kind, n in self.tak_sent.items()),
            "",
            "Only what a field unit may see: no pictures, no biometric data.",
            "",
            "## Sent by webhook",
            "",
            "| kind | deliveries |",
            "|---|---:|",
            *(f"| {kind} | {n} |" for kind, n in self.webhooks_sent.items()),
            "",
            "Never face data; plate reads and snapshot links only where configured.",
            "",
            "## Published on MQTT",
            "",
            "| kind | messages |",
            "|---|---:|",
            *(f"| {kind} | {n} |" for kind, n in self.mqtt_sent.items()),
            "",
            "Never face data; plate texts and snapshot paths only where configured.",
            "",
            "## Exports",
            "",
            f"{self.exports} evidence export(s) made, {self.exports_unblurred} of them with "
            "faces not blurred (each with a stated reason, in the audit log).",
            "",
            "## Data purged (retention)",
            "",
            f"{self.purge_runs} purge run(s) in the period.",
            "",
            *_table(("data class", "deleted"), self.purged),
            "",
            "## Audit log",
            "",
            f"- chain: {chain}",
            f"- rows: {self.audit['rows']} (ids {self.audit['first_id']}-{self.audit['head_id']})",
            f"- head hash: `{self.audit['head_hash']}`",
        ]
        if self.notes:
            lines += ["", "## Notes", "", *(f"- {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"

    def render(self, fmt: str) -> str:
        if fmt == "json":
            return json.dumps(self.to_json(), indent=2, sort_keys=True)
        return self.to_markdown()


def _table(header: tuple[str, str], counts: dict[str, int]) -> list[str]:
    if not counts:
        return ["none"]
    return [
        f"| {header[0]} | {header[1]} |",
        "|---|---:|",
        *(f"| {k} | {v} |" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
    ]


def transparency_report(
    store: Store, data_dir: Path | None, since: datetime, until: datetime | None = None
) -> TransparencyReport:
    """Build the report for [since, until) (until: now)."""
    since, until = as_utc(since), as_utc(until or datetime.now(UTC))
    searches: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    reads: Counter[str] = Counter()
    purged: Counter[str] = Counter()
    access: Counter[str] = Counter()
    runs = exports = unblurred = 0
    tak: Counter[str] = Counter()
    mqtt: Counter[str] = Counter()
    hooks: Counter[str] = Counter()
    with store.session() as s:
        rows = s.execute(
            select(AuditRow.action, AuditRow.purpose, AuditRow.details).where(
                AuditRow.at >= since, AuditRow.at < until
            )
        )
        for action, purpose, details in rows:
            if action.endswith(".search"):
                searches[purpose_category(purpose)] += 1
                kinds[action] += 1
            elif action.startswith(READ_PREFIXES):
                reads[action] += 1
            elif action in ACCESS_ACTIONS:
                access[ACCESS_ACTIONS[action]] += 1
            elif action == PURGE_ACTION:
                runs += 1
                for k, v in ((details or {}).get("counts") or {}).items():
                    if isinstance(v, int) and k != "alerts_held":
                        purged[k] += v
            elif action == EXPORT_ACTION and (details or {}).get("outcome") == "ok":
                exports += 1
                unblurred += (details or {}).get("redacted") is False
            elif action == SENT_ACTION:
                for k, v in ((details or {}).get("counts") or {}).items():
                    if isinstance(v, int) and k in CotKind.__members__.values():
                        tak[k] += v
            elif action == MQTT_SENT:
                for k, v in ((details or {}).get("counts") or {}).items():
                    if isinstance(v, int) and k in MqttKind.__members__.values():
                        mqtt[k] += v
            elif action == HOOKS_SENT:
                for k, v in ((details or {}).get("counts") or {}).items():
                    if isinstance(v, int) and k in HOOKS_KINDS:
                        hooks[k] += v
        registered = sorted(s.scalars(select(CameraRow.id)))
        in_period = (EventRow.time >= since, EventRow.time < until)
        active = set(s.scalars(select(EventRow.camera_id).where(*in_period)))
        active.update(
            s.scalars(
                select(TrackRow.camera_id).where(
                    TrackRow.last_seen >= since, TrackRow.first_seen < until
                )
            )
        )
        alerts: dict[str, dict[str, int]] = {}
        for typ, status, n in s.execute(
            select(AlertRow.type, AlertRow.status, func.count())
            .where(AlertRow.time >= since, AlertRow.time < until)
            .group_by(AlertRow.type, AlertRow.status)
        ):
            c = alerts.setdefault(typ, dict.fromkeys(ALERT_COLUMNS, 0))
            c["raised"] += n
            c[_review_column(AlertStatus(status))] += n
        lists = {
            "watchlists": sorted(
                s.scalars(
                    select(WatchlistRow.name).where(
                        WatchlistRow.valid_from < until, WatchlistRow.valid_until > since
                    )
                )
            ),
            "hotlists": sorted(
                s.scalars(
                    select(HotlistRow.name).where(
                        HotlistRow.created_at < until, HotlistRow.expires_at > since
                    )
                )
            ),
        }
    verdict = verify_chain(store, data_dir)
    return TransparencyReport(
        since=since,
        until=until,
        cameras_registered=registered,
        cameras_active=sorted(active),
        searches_by_purpose=dict(searches),
        searches_by_kind=dict(kinds),
        data_reads=dict(reads),
        alerts=alerts,
        purged=dict(purged),
        purge_runs=runs,
        audit=verdict.to_json(),
        exports=exports,
        exports_unblurred=unblurred,
        access=dict(access),
        lists=lists,
        tak_sent={str(k): tak.get(k, 0) for k in CotKind},
        mqtt_sent={str(k): mqtt.get(k, 0) for k in MqttKind},
        webhooks_sent={k: hooks.get(k, 0) for k in HOOKS_KINDS},
        notes=[
            "alerts and events deleted by retention before this report are not counted",
            "lists deleted (expired and purged, or deleted by hand) before this report are not "
            "listed",
        ],
    )
