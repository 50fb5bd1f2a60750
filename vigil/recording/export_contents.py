"""What an export holds besides the clips: the events and alerts of its cameras in its range
(with their snapshots), and the audit rows about that footage."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeGuard

import cv2
import numpy as np
from sqlalchemy import or_, select

from vigil.audit.log import utc_text
from vigil.datadir import inside
from vigil.recording.index import at, unix
from vigil.recording.stitch import Mark
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.records import alert_record, event_record
from vigil.store.tables import AlertReviewRow, AlertRow, AuditRow, EventRow, SegmentRow

# Audit actions about recorded footage: playback, export, evidence locks.
FOOTAGE_ACTIONS = ("recordings.", "recording.", "playback.", "exports.", "locks.", "evidence.")
Redactor = Callable[[np.ndarray], np.ndarray]


@dataclass
class Contents:
    events: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    marks: dict[str, list[Mark]]  # per camera: the events as chapters
    snapshots: int


def event_title(rec: dict[str, Any]) -> str:
    """A chapter's title: what happened, in a few words a player can show."""
    what = [str(rec["type"])]
    if rec.get("label"):
        what.append(str(rec["label"]))
    for key in ("zone", "line", "direction"):
        if rec.get(key):
            what.append(f"{key} {rec[key]}")
    plate = (rec.get("attributes") or {}).get("plate")
    if plate:
        what.append(f"plate {plate}")
    return f"{' '.join(what)} (event {rec['id']}, {rec['time']})"


def _copy_picture(src: Path, dst: Path, redact: Redactor | None) -> bool:
    """A stored JPEG into the export: as is, or with its faces blurred (re-encoded)."""
    if redact is None:
        shutil.copyfile(src, dst)
        return True
    image = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if image is None:
        return False
    ok, buf = cv2.imencode(".jpg", redact(image), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if ok:
        dst.write_bytes(buf.tobytes())
    return bool(ok)


def _snapshot(
    data_dir: Path, rel: str | None, out: Path, name: str, redact: Redactor | None
) -> str | None:
    """Copy one stored snapshot into out/snapshots/NAME; its path in the export, or None."""
    src = inside(data_dir, rel) if rel else None
    if src is None or not src.is_file():
        return None
    (out / "snapshots").mkdir(exist_ok=True)
    if not _copy_picture(src, out / "snapshots" / name, redact):
        return None
    return f"snapshots/{name}"


def collect(
    store: Store,
    data_dir: Path,
    cameras: Sequence[str],
    start: float,
    end: float,
    out: Path,
    redact: Redactor | None,
) -> Contents:
    """The events and alerts of `cameras` in [start, end], their snapshots copied to `out`."""
    lo, hi = at(start), at(end)
    with store.session() as s:
        events = list(s.scalars(
            select(EventRow)
            .where(EventRow.camera_id.in_(list(cameras)), EventRow.time.between(lo, hi))
            .order_by(EventRow.time, EventRow.id)
        ))  # fmt: skip
        alerts = list(s.scalars(
            select(AlertRow)
            .where(AlertRow.camera_id.in_(list(cameras)), AlertRow.time.between(lo, hi))
            .order_by(AlertRow.time, AlertRow.id)
        ))  # fmt: skip
        reviews = list(s.scalars(
            select(AlertReviewRow)
            .where(AlertReviewRow.alert_id.in_([a.id for a in alerts]))
            .order_by(AlertReviewRow.at)
        ))  # fmt: skip
    marks: dict[str, list[Mark]] = {c: [] for c in cameras}
    shots = 0
    event_recs = []
    for row in events:
        rec = event_record(row)
        del rec["snapshot_url"]
        rec["snapshot"] = _snapshot(data_dir, row.snapshot, out, f"event-{row.id}.jpg", redact)
        shots += rec["snapshot"] is not None
        marks[row.camera_id].append(Mark(unix(row.time), event_title(rec)))
        event_recs.append(rec)
    alert_recs = []
    for arow in alerts:
        rec = alert_record(arow, [r for r in reviews if r.alert_id == arow.id])
        del rec["snapshot_url"]
        rec["snapshot"] = _snapshot(data_dir, arow.snapshot, out, f"alert-{arow.id}.jpg", redact)
        shots += rec["snapshot"] is not None
        alert_recs.append(rec)
    return Contents(event_recs, alert_recs, marks, shots)


def _concerns(
    row: AuditRow, cameras: set[str], start: float, end: float, segments: dict[str, SegmentRow]
) -> bool:
    """Whether an audit row is about footage of these cameras overlapping [start, end]: one
    that names a camera and a range (a timeline, a lock, an export), or a segment played. A
    row that states no range counts when it names one of the cameras."""
    details = row.details or {}
    if row.object_type == "segment":
        seg = segments.get(row.object_id or "")
        if seg is None:
            return False
        seg_end = unix(seg.end) if seg.end is not None else end
        return seg.camera_id in cameras and unix(seg.start) <= end and seg_end >= start
    given = details.get("query")
    query: dict[str, Any] = given if isinstance(given, dict) else {}
    named = {row.object_id, details.get("camera"), query.get("camera")}
    listed = details.get("cameras")
    if isinstance(listed, list):
        named.update(str(c) for c in listed)
    if not named & cameras:
        return False
    lo = _time_of(_first(details, query, ("from", "start")))
    hi = _time_of(_first(details, query, ("to", "end")))
    return (lo is None or lo <= end) and (hi is None or hi >= start)


def _first(details: dict[str, Any], query: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for place in (details, query):
        for key in keys:
            if place.get(key) is not None:
                return place[key]
    return None


def _time_of(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        return as_utc(datetime.fromisoformat(str(value))).timestamp()
    except ValueError:
        return None


def _int(value: str | None) -> TypeGuard[str]:
    return value is not None and value.isdigit() and len(value) < 12


def footage_audit(store: Store, cameras: Sequence[str], start: float, end: float) -> list[Any]:
    """The audit rows of playback, export and locks of this footage, oldest first, as stored
    (with their hashes: whoever holds the chain can check each one is in it)."""
    wanted = or_(*(AuditRow.action.startswith(p) for p in FOOTAGE_ACTIONS))
    with store.session() as s:
        rows = list(s.scalars(select(AuditRow).where(wanted).order_by(AuditRow.id)))
    ids = {int(r.object_id) for r in rows if r.object_type == "segment" and _int(r.object_id)}
    segments: dict[str, SegmentRow] = {}
    if ids:
        with store.session() as s:
            found = s.scalars(select(SegmentRow).where(SegmentRow.id.in_(ids)))
            segments = {str(seg.id): seg for seg in found}
    chosen = [r for r in rows if _concerns(r, set(cameras), start, end, segments)]
    return [
        {
            "id": r.id, "at": utc_text(r.at), "actor": r.actor, "action": r.action,
            "object_type": r.object_type, "object_id": r.object_id, "purpose": r.purpose,
            "client": r.client, "details": r.details or {}, "prev_hash": r.prev_hash,
            "hash": r.hash,
        }
        for r in chosen
    ]  # fmt: skip
