"""Stored rows as plain JSON-ready dicts: the one shape the REST API and the live push share.

Times are ISO 8601 in UTC. `snapshot_url` is the API path of the row's JPEG, or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from vigil.store.alerts import reviewers_needed
from vigil.store.queries import as_utc
from vigil.store.tables import AlertReviewRow, AlertRow, EventRow, TrackRow, UserRow


def iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def event_record(row: EventRow) -> dict[str, Any]:
    attributes = dict(row.attributes or {})
    return {
        "id": row.id,
        "camera": row.camera_id,
        "type": row.type,
        "time": iso(row.time),
        "media_time": row.media_time,
        "track_id": row.track_id,
        "label": row.label,
        "score": row.score,
        "box": row.box,
        "start": row.start,
        "end": row.end,
        "zone": row.zone,
        "line": row.line,
        "direction": attributes.get("direction"),
        "attributes": attributes,
        "snapshot_url": f"/api/events/{row.id}/snapshot.jpg" if row.snapshot else None,
    }


def track_record(row: TrackRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "camera": row.camera_id,
        "track_id": row.track_id,
        "label": row.label,
        "first_seen": iso(row.first_seen),
        "last_seen": iso(row.last_seen),
        "duration": round(row.media_end - row.media_start, 3),
        "score": row.score,
        "box": row.box,
        "snapshot_url": f"/api/snapshots/{row.id}.jpg" if row.snapshot else None,
        "lat": row.lat,
        "lon": row.lon,
    }


def alert_record(row: AlertRow, reviews: Sequence[AlertReviewRow] = ()) -> dict[str, Any]:
    """`reviews`: the decisions recorded on it (a face match shows its first confirmation)."""
    return {
        "id": row.id,
        "rule": row.rule,
        "camera": row.camera_id,
        "event_id": row.event_id,
        "type": row.type,
        "time": iso(row.time),
        "label": row.label,
        "status": row.status,
        "reviewed_by": row.reviewed_by,
        "reviewed_at": iso(row.reviewed_at),
        "reason": row.reason,
        "attributes": dict(row.attributes or {}),
        "reviewers_needed": reviewers_needed(row.type),
        "reviews": [
            {"reviewer": r.reviewer, "action": r.action, "reason": r.reason, "at": iso(r.at)}
            for r in reviews
        ],
        "snapshot_url": f"/api/alerts/{row.id}/snapshot.jpg" if row.snapshot else None,
    }


def user_record(row: UserRow) -> dict[str, Any]:
    """Never the password hash."""
    return {
        "id": row.id,
        "username": row.username,
        "role": row.role,
        "cameras": list(row.cameras) if row.cameras is not None else None,
        "created_at": iso(row.created_at),
        "disabled": row.disabled,
    }
