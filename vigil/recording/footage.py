"""Retention of recorded footage: the tiers, the per-camera disk quota, the evidence locks.

- Continuous footage: a closed or cut segment that ended more than `retention.recordings` days
  ago goes.
- Footage around an event or an alert (within the camera's pre-roll before it, post-roll
  after it) stays until it ended more than `retention.event_recordings` days ago (at least as
  long as continuous footage). An event purged before then no longer holds its footage.
- A camera's quota (`recording.quota_mb`, MB = 10^6 bytes): while its segments take more, the
  oldest ones go first, whatever their tier.
- Footage an active evidence lock overlaps never goes (it is counted as held), nor does a
  segment still being written.

Rows go first, then files. A crash between the two leaves files no row names (disk, not a
lie), never a row that names a missing file (the index would promise footage that is gone).
The files doomed are written to a journal (`recordings/.purge-journal-<pid>`, one per process:
the server's job and `vigil retention run` may overlap) before their rows are deleted; the
next run unlinks what an interrupted run left in any journal whose row is gone.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from vigil.config import CameraConfig, RecordingConfig, RetentionConfig
from vigil.datadir import inside
from vigil.domain import SegmentState
from vigil.recording.index import at, unix
from vigil.recording.locks import holds
from vigil.store.db import Store
from vigil.store.tables import AlertRow, EventRow, SegmentRow

log = logging.getLogger(__name__)
RECORDINGS_DIR = "recordings"
JOURNAL = f"{RECORDINGS_DIR}/.purge-journal"  # + "-<pid>"
MB = 1_000_000
_CHUNK = 500
_DEFAULT = RecordingConfig()


@dataclass(frozen=True, slots=True)
class Doomed:
    id: int
    path: str
    size: int


def _locked() -> Any:
    return (
        exists()
        .where(holds(SegmentRow.camera_id, SegmentRow.start, SegmentRow.end))
        .label("locked")
    )


def _times(s: Session, camera: str, lo: float, hi: float) -> list[float]:
    """Sorted UNIX times of the camera's events and alerts in [lo, hi]."""
    found: list[float] = []
    for model in (EventRow, AlertRow):
        q = select(model.time).where(
            model.camera_id == camera, model.time >= at(lo), model.time <= at(hi)
        )
        found.extend(unix(t) for t in s.scalars(q))
    return sorted(found)


def _by_age(
    s: Session, camera: str, roll: RecordingConfig, days: RetentionConfig, now: datetime
) -> tuple[list[Doomed], int]:
    """The camera's segments past their tier (and not locked), and how many a lock holds."""
    cut = now - timedelta(days=days.recordings)
    cut_events = min(cut, now - timedelta(days=days.event_recordings))
    rows = list(
        s.execute(
            select(SegmentRow.id, SegmentRow.path, SegmentRow.size, SegmentRow.start,
                   SegmentRow.end, _locked())
            .where(SegmentRow.camera_id == camera, SegmentRow.state != SegmentState.OPEN,
                   SegmentRow.end.is_not(None), SegmentRow.end < cut)
            .order_by(SegmentRow.start)
        )
    )  # fmt: skip
    young = [r for r in rows if unix(r.end) >= cut_events.timestamp()]
    times: list[float] = []
    if young:
        lo = min(unix(r.start) for r in young) - roll.post_roll_s
        times = _times(s, camera, lo, cut.timestamp() + roll.pre_roll_s)
    doomed, held = [], 0
    for r in rows:
        if unix(r.end) >= cut_events.timestamp():  # the event tier: kept while one is near
            i = bisect.bisect_left(times, unix(r.start) - roll.post_roll_s)
            if i < len(times) and times[i] <= unix(r.end) + roll.pre_roll_s:
                continue
        if r.locked:
            held += 1
        else:
            doomed.append(Doomed(r.id, r.path, r.size))
    return doomed, held


def _over_quota(s: Session, camera: str, quota_mb: float, going: Iterable[Doomed]) -> list[Doomed]:
    """The camera's oldest unlocked segments to delete so that it fits its quota."""
    gone = {d.id for d in going}
    total = int(
        s.scalar(select(func.sum(SegmentRow.size)).where(SegmentRow.camera_id == camera)) or 0
    )
    total -= sum(d.size for d in going)
    excess = total - int(quota_mb * MB)
    found: list[Doomed] = []
    if excess <= 0:
        return found
    q = (
        select(SegmentRow.id, SegmentRow.path, SegmentRow.size, _locked())
        .where(SegmentRow.camera_id == camera, SegmentRow.state != SegmentState.OPEN)
        .order_by(SegmentRow.start, SegmentRow.id)
        .execution_options(yield_per=_CHUNK)
    )
    for r in s.execute(q):
        if excess <= 0:
            break
        if r.locked or r.id in gone:
            continue
        found.append(Doomed(r.id, r.path, r.size))
        excess -= r.size
    return found


def _unlink(data_dir: Path, paths: Iterable[str]) -> None:
    for rel in paths:
        path = inside(data_dir, rel)
        if path is None:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("retention could not delete %s: %s", path, exc)
            continue
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # the day's folder, once empty


def _finish_journals(store: Store, data_dir: Path) -> None:
    """Unlink what interrupted purges left: files in their journals whose row is gone."""
    folder = (data_dir / JOURNAL).parent
    for journal in sorted(folder.glob(f"{Path(JOURNAL).name}*")) if folder.is_dir() else []:
        _finish_journal(store, data_dir, journal)


def _finish_journal(store: Store, data_dir: Path, journal: Path) -> None:
    try:
        text = journal.read_text(encoding="utf-8")
    except FileNotFoundError:
        return  # another process finished it
    paths = [p for p in text.splitlines() if p]
    with store.session() as s:
        kept: set[str] = set()
        for i in range(0, len(paths), _CHUNK):
            chunk = paths[i : i + _CHUNK]
            kept.update(s.scalars(select(SegmentRow.path).where(SegmentRow.path.in_(chunk))))
    _unlink(data_dir, [p for p in paths if p not in kept])
    journal.unlink(missing_ok=True)


def _delete(store: Store, data_dir: Path, doomed: Sequence[Doomed]) -> tuple[int, int]:
    """Journal, rows (unless a lock came meanwhile), then files: (segments, bytes) deleted."""
    if not doomed:
        return 0, 0
    journal = data_dir / f"{JOURNAL}-{os.getpid()}"
    journal.parent.mkdir(parents=True, exist_ok=True)
    with journal.open("w", encoding="utf-8") as f:
        f.write("\n".join(d.path for d in doomed) + "\n")
        f.flush()
        os.fsync(f.fileno())
    sizes = {d.id: d.size for d in doomed}
    deleted: list[tuple[int, str]] = []
    with store.session() as s, s.begin():
        for i in range(0, len(doomed), _CHUNK):
            ids = [d.id for d in doomed[i : i + _CHUNK]]
            free = ~exists().where(holds(SegmentRow.camera_id, SegmentRow.start, SegmentRow.end))
            done = s.execute(
                delete(SegmentRow)
                .where(SegmentRow.id.in_(ids), SegmentRow.state != SegmentState.OPEN, free)
                .returning(SegmentRow.id, SegmentRow.path)
            )
            deleted.extend((int(r.id), str(r.path)) for r in done)
    _unlink(data_dir, [p for _, p in deleted])
    journal.unlink(missing_ok=True)
    return len(deleted), sum(sizes[i] for i, _ in deleted)


def purge_footage(
    store: Store,
    data_dir: Path,
    days: RetentionConfig,
    cameras: Sequence[CameraConfig],
    now: datetime,
    dry_run: bool = False,
) -> dict[str, int]:
    """Delete (or with `dry_run` count) footage past its tier or over its camera's quota."""
    if not dry_run:
        _finish_journals(store, data_dir)
    configs = {c.id: c.recording for c in cameras}
    aged: list[Doomed] = []
    quota: list[Doomed] = []
    held = 0
    with store.session() as s:
        found = sorted(s.scalars(select(SegmentRow.camera_id).distinct()))
        for camera in found:
            roll = configs.get(camera, _DEFAULT)
            doomed, locked = _by_age(s, camera, roll, days, now)
            aged += doomed
            held += locked
            if roll.quota_mb is not None:
                quota += _over_quota(s, camera, roll.quota_mb, doomed)
    counts = {"recording_segments": len(aged), "recording_quota": len(quota)}
    counts["recordings_held"] = held
    if dry_run:
        counts["recording_bytes"] = sum(d.size for d in aged + quota)
        return counts
    counts["recording_segments"], age_bytes = _delete(store, data_dir, aged)
    counts["recording_quota"], quota_bytes = _delete(store, data_dir, quota)
    counts["recording_bytes"] = age_bytes + quota_bytes
    return counts
