"""Retention: delete what is older than its data class may be kept (config `retention:`).

Classes and what "older" means:

- snapshots: the picture files of tracks, events and alerts older than `snapshots` days; the
  rows keep everything else, their snapshot path becomes null. Files under `snapshots/` that
  no row refers to and that were last written more than `snapshots` days ago go too.
- events: event rows (by `time`) and track rows (by `last_seen`) older than `events` days.
  PostgreSQL drops whole day partitions of events and positions (vigil.store.partitions;
  rows counted, `partitions_dropped`), the boundary day row by row; SQLite deletes rows.
- plate_reads: `plate_read` events that raised no alert, older than `plate_reads` days (a read
  of a plate that is on no hotlist is kept for a short time only); their pictures go with them.
  A read that raised an alert is kept like other events (its alert keeps its own record).
- alerts: alerts older than `alerts` days, except candidates still awaiting review: a person
  must see every alert (human oversight), so an unreviewed candidate is kept (its picture too)
  until it is reviewed, and is counted as held.
- hotlists: a hotlist past its expiry is deleted with its entries, and an entry past its own
  expiry too (they stopped matching when they expired; the alerts they raised keep what they
  matched, as long as alerts are kept).
- watchlists: a watchlist past its `valid_until` is deleted with its entries and their face
  templates (it stopped matching then).
- positions: units' reported positions older than `positions` days (personal data: where a
  person was), and a unit's last position with them.
- recordings: recorded footage by its tiers (continuous `recordings` days, around events and
  alerts `event_recordings` days), each camera's disk quota, never what an evidence lock holds
  (vigil.recording.footage).
- audit: audit rows older than `audit` days (at least 183). The purge appends one `audit.purge`
  row that names the id and hash of the last purged row (`through_id`, `through_hash`), so
  `vigil audit verify` accepts a chain that starts after it (see verify.py). The same row
  records the counts of every class: the purge itself is audited.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, not_, or_, select, update
from sqlalchemy.orm import Session

from vigil.audit.log import AuditLog, utc_text
from vigil.audit.verify import PURGE_ACTION
from vigil.config import CameraConfig, RetentionConfig
from vigil.datadir import inside
from vigil.domain import DeliveryState, EventType
from vigil.incidents.units import purge_positions
from vigil.recording.footage import purge_footage
from vigil.store.db import Store
from vigil.store.hotlists import purge_expired as purge_hotlists
from vigil.store.partitions import drop_expired
from vigil.store.queries import as_utc
from vigil.store.tables import AlertRow, AuditRow, DeliveryRow, EventRow, TrackRow
from vigil.store.watchlists import purge_expired as purge_watchlists

log = logging.getLogger(__name__)
SYSTEM_ACTOR = "system:retention"
SNAPSHOT_DIR = "snapshots"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge deleted (or, with `dry_run`, would delete)."""

    dry_run: bool
    now: datetime
    events: int = 0
    plate_reads: int = 0
    tracks: int = 0
    alerts: int = 0
    alerts_held: int = 0  # candidates older than the limit, kept until reviewed
    snapshot_refs: int = 0  # rows kept whose snapshot path was cleared
    snapshot_files: int = 0
    audit_rows: int = 0
    audit_through_id: int | None = None
    hotlists: int = 0  # lists past their expiry, deleted with their entries
    hotlist_entries: int = 0
    watchlists: int = 0  # watchlists past valid_until, deleted with entries and templates
    face_templates: int = 0
    positions: int = 0  # units' reported positions
    recording_segments: int = 0  # footage past its tier (continuous, or around events)
    recording_quota: int = 0  # footage over its camera's quota, oldest first
    recording_bytes: int = 0  # bytes of footage freed
    recordings_held: int = 0  # footage past its tier kept by an evidence lock
    webhook_deliveries: int = 0  # delivered or dead deliveries as old as the events they carry
    partitions_dropped: int = 0  # PostgreSQL: whole days of events and positions (rows counted)

    @property
    def total(self) -> int:
        return (
            self.events
            + self.plate_reads
            + self.tracks
            + self.alerts
            + self.snapshot_refs
            + self.snapshot_files
            + self.audit_rows
            + self.hotlists
            + self.hotlist_entries
            + self.watchlists
            + self.face_templates
            + self.positions
            + self.recording_segments
            + self.recording_quota
            + self.webhook_deliveries
        )

    def counts(self) -> dict[str, int]:
        return {
            k: v
            for k, v in asdict(self).items()
            if isinstance(v, int) and not isinstance(v, bool) and k != "audit_through_id"
        }


@dataclass(frozen=True, slots=True)
class _Cutoffs:
    snapshots: datetime
    events: datetime
    alerts: datetime
    audit: datetime
    plate_reads: datetime
    positions: datetime
    now: datetime

    @classmethod
    def of(cls, retention: RetentionConfig, now: datetime) -> _Cutoffs:
        now = as_utc(now)
        return cls(
            now - timedelta(days=retention.snapshots),
            now - timedelta(days=retention.events),
            now - timedelta(days=retention.alerts),
            now - timedelta(days=retention.audit),
            now - timedelta(days=retention.plate_reads),
            now - timedelta(days=retention.positions),
            now,
        )


def _plate_read_expired(c: _Cutoffs) -> ColumnElement[bool]:
    """Plate reads past their days that raised no alert (newer than the events cut-off)."""
    alerted = select(AlertRow.event_id).where(AlertRow.event_id.is_not(None))
    return and_(
        EventRow.type == str(EventType.PLATE_READ),
        EventRow.time < c.plate_reads,
        EventRow.time >= c.events,  # older ones go with the events class
        EventRow.id.not_in(alerted),
    )


def _alert_expired(cut: datetime) -> ColumnElement[bool]:
    return and_(AlertRow.time < cut, AlertRow.status != "candidate")


def _surviving(model: Any, c: _Cutoffs) -> ColumnElement[bool]:
    """Rows that keep their snapshot after the purge."""
    if model is TrackRow:
        return TrackRow.last_seen >= max(c.events, c.snapshots)
    if model is EventRow:
        return EventRow.time >= max(c.events, c.snapshots)
    return or_(AlertRow.status == "candidate", AlertRow.time >= max(c.alerts, c.snapshots))


def _row_kept(model: Any, c: _Cutoffs) -> ColumnElement[bool]:
    """Rows the purge does not delete."""
    if model is TrackRow:
        return TrackRow.last_seen >= c.events
    if model is EventRow:
        return EventRow.time >= c.events
    return not_(_alert_expired(c.alerts))


def _snapshot_expired(model: Any, c: _Cutoffs) -> ColumnElement[bool]:
    if model is TrackRow:
        return TrackRow.last_seen < c.snapshots
    if model is EventRow:
        return EventRow.time < c.snapshots
    return _alert_expired(c.snapshots)


def _count(s: Session, model: Any, cond: ColumnElement[bool]) -> int:
    return int(s.scalar(select(func.count()).select_from(model).where(cond)) or 0)


def _referenced(s: Session, paths: Iterable[str], c: _Cutoffs) -> set[str]:
    """Which of `paths` rows that survive the purge still show."""
    paths = list(paths)
    found: set[str] = set()
    for i in range(0, len(paths), _CHUNK):
        chunk = paths[i : i + _CHUNK]
        for model in (TrackRow, EventRow, AlertRow):
            found.update(
                s.scalars(
                    select(model.snapshot).where(model.snapshot.in_(chunk), _surviving(model, c))
                )
            )
    return found


def _old_files(data_dir: Path, cut: datetime) -> dict[str, Path]:
    """Files under snapshots/ last written before `cut`, by their path relative to data_dir."""
    base = data_dir / SNAPSHOT_DIR
    found: dict[str, Path] = {}
    if not base.is_dir():
        return found
    limit = cut.timestamp()
    for folder, _dirs, files in os.walk(base):
        for name in files:
            path = Path(folder) / name
            try:
                if path.stat().st_mtime < limit:
                    found[path.relative_to(data_dir).as_posix()] = path
            except OSError:
                continue
    return found


def _drop_partitions(store: Store, c: _Cutoffs) -> tuple[dict[str, int], set[str]]:
    """PostgreSQL: whole days of events and positions past their cut-off, dropped in a short
    transaction of its own (dropping locks the table); their counts and pictures."""
    if store.engine.dialect.name != "postgresql":
        return {}, set()
    with store.session() as s, s.begin():
        done = drop_expired(s.connection(), c.now, events=c.events, positions=c.positions)
    counts = {"events": done.events, "positions": done.positions}
    return counts | {"partitions_dropped": done.partitions}, set(done.snapshots)


def _purge_data(
    store: Store, data_dir: Path, c: _Cutoffs, dry_run: bool, gone: set[str]
) -> dict[str, int]:
    """Delete (count) row by row; `gone` holds pictures of rows already dropped."""
    counts: dict[str, int] = {}
    with store.session() as s, s.begin():
        counts["events"] = _count(s, EventRow, EventRow.time < c.events)
        counts["plate_reads"] = _count(s, EventRow, _plate_read_expired(c))
        counts["tracks"] = _count(s, TrackRow, TrackRow.last_seen < c.events)
        counts["alerts"] = _count(s, AlertRow, _alert_expired(c.alerts))
        counts["alerts_held"] = _count(
            s, AlertRow, and_(AlertRow.time < c.alerts, AlertRow.status == "candidate")
        )
        gone.update(
            s.scalars(
                select(EventRow.snapshot).where(
                    _plate_read_expired(c), EventRow.snapshot.is_not(None)
                )
            )
        )
        refs = 0
        for model in (TrackRow, EventRow, AlertRow):
            gone.update(
                s.scalars(
                    select(model.snapshot).where(
                        not_(_surviving(model, c)), model.snapshot.is_not(None)
                    )
                )
            )
            shown = and_(_snapshot_expired(model, c), model.snapshot.is_not(None))
            refs += _count(s, model, and_(shown, _row_kept(model, c)))
            if not dry_run:
                s.execute(update(model).where(shown).values(snapshot=None))
        counts["snapshot_refs"] = refs
        counts["hotlists"], counts["hotlist_entries"] = purge_hotlists(s, c.now, dry_run=dry_run)
        counts["watchlists"], counts["face_templates"] = purge_watchlists(s, c.now, dry_run=dry_run)
        counts["positions"] = purge_positions(s, c.positions, dry_run=dry_run)
        # A delivery's body is the event or alert it carried (a plate's text where `send`
        # allows it): kept no longer than events are; one still to be sent waits.
        sent = and_(DeliveryRow.created_at < c.events, DeliveryRow.state != DeliveryState.PENDING)
        counts["webhook_deliveries"] = _count(s, DeliveryRow, sent)
        if not dry_run:
            s.execute(delete(DeliveryRow).where(sent))
        if not dry_run:
            s.execute(delete(EventRow).where(_plate_read_expired(c)))  # as counted above
            s.execute(delete(AlertRow).where(_alert_expired(c.alerts)))
            old_events = select(EventRow.id).where(EventRow.time < c.events)
            # alerts.event_id is no foreign key (partitions): let go of it as SET NULL did
            s.execute(
                update(AlertRow).where(AlertRow.event_id.in_(old_events)).values(event_id=None)
            )
            s.execute(delete(EventRow).where(EventRow.time < c.events))
            s.execute(delete(TrackRow).where(TrackRow.last_seen < c.events))
    with store.session() as s:
        files = {rel: p for rel in gone if (p := inside(data_dir, rel)) is not None}
        for rel, path in _old_files(data_dir, c.snapshots).items():
            files.setdefault(rel, path)
        keep = _referenced(s, files, c)
    doomed = [p for rel, p in files.items() if rel not in keep and p.is_file()]
    if not dry_run:
        for path in doomed:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("retention could not delete %s: %s", path, exc)
    counts["snapshot_files"] = len(doomed)
    return counts


def _audit_horizon(store: Store, cut: datetime) -> tuple[int, str, int] | None:
    """(id and hash of the last row to purge, rows up to it); None when none is due.

    Only a prefix of rows all older than `cut` is purged, so the chain stays one piece."""
    with store.session() as s:
        first_young = s.scalar(select(func.min(AuditRow.id)).where(AuditRow.at >= cut))
        if first_young is None:
            first_young = int(s.scalar(select(func.max(AuditRow.id))) or 0) + 1
        through = s.execute(
            select(AuditRow.id, AuditRow.hash)
            .where(AuditRow.id < first_young)
            .order_by(AuditRow.id.desc())
            .limit(1)
        ).first()
        if through is None:
            return None
        rows = _count(s, AuditRow, AuditRow.id <= through[0])
    return int(through[0]), str(through[1]), rows


def purge(
    store: Store,
    data_dir: Path,
    retention: RetentionConfig,
    audit: AuditLog,
    now: datetime | None = None,
    dry_run: bool = False,
    actor: str = SYSTEM_ACTOR,
    record_empty: bool = True,
    cameras: Sequence[CameraConfig] = (),
) -> PurgeReport:
    """Delete (or with `dry_run` only count) what is older than its class's limit at `now`.

    A real purge appends one `audit.purge` row (counts per class, the audit checkpoint);
    with `record_empty` False it writes none when nothing was due (the hourly job)."""
    now = now or datetime.now(UTC)
    c = _Cutoffs.of(retention, now)
    dropped, shots = ({}, set()) if dry_run else _drop_partitions(store, c)
    counts = _purge_data(store, data_dir, c, dry_run, shots)
    for key, rows in dropped.items():
        counts[key] = counts.get(key, 0) + rows
    counts |= purge_footage(store, data_dir, retention, cameras, c.now, dry_run)  # quotas
    horizon = _audit_horizon(store, c.audit)
    counts["audit_rows"] = horizon[2] if horizon else 0
    report = PurgeReport(
        dry_run=dry_run,
        now=now,
        audit_through_id=horizon[0] if horizon else None,
        **counts,
    )
    if dry_run or (report.total == 0 and not record_empty):
        return report
    details: dict[str, Any] = {
        "outcome": "ok",
        "counts": report.counts(),
        "days": retention.model_dump(),
        "now": utc_text(now),
    }
    if horizon:
        details["through_id"], details["through_hash"] = horizon[0], horizon[1]
    audit.append(actor, PURGE_ACTION, "retention", details=details)
    if horizon:  # after the checkpoint row is on the chain, so verify never sees a gap
        with store.session() as s, s.begin():
            s.execute(delete(AuditRow).where(AuditRow.id <= horizon[0]))
    return report


class RetentionJob:
    """Runs `purge` now and then every `interval` seconds in a thread, until `stop()`."""

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        retention: RetentionConfig,
        *,
        interval: float = 3600.0,
        clock: Callable[[], datetime] | None = None,
        cameras: Sequence[CameraConfig] = (),
    ) -> None:
        self.store, self.data_dir, self.retention = store, data_dir, retention
        self.cameras = cameras  # their recording quotas and pre/post roll
        self.interval = interval
        self.clock = clock or (lambda: datetime.now(UTC))
        self.audit = AuditLog(store, data_dir)
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vigil-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run_once(self) -> PurgeReport | None:
        try:
            report = purge(
                self.store,
                self.data_dir,
                self.retention,
                self.audit,
                self.clock(),
                record_empty=False,
                cameras=self.cameras,
            )
        except Exception:  # noqa: BLE001 - the server keeps running; the next run tries again
            log.exception("retention purge failed")
            return None
        finally:
            self.runs += 1
        if report.total:
            log.info("retention purge: %s", report.counts())
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
