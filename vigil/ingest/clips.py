"""Ingested clips in the database: the clip's row, its camera's path, its tracks on the map."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from vigil.domain import ClipStatus
from vigil.errors import NotFound
from vigil.ingest.geotag import PathPoint
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import CameraPositionRow, ClipRow, TrackRow

MAX_PATH_POINTS = 5000  # points of a clip's path handed out at once (thinned evenly beyond)


class ClipNotFound(NotFound):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


class Clips:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self,
        camera_id: str,
        filename: str,
        created_by: str,
        *,
        path: str | None = None,
        size: int = 0,
        sha256: str | None = None,
        unit_id: int | None = None,
    ) -> ClipRow:
        row = ClipRow(
            camera_id=camera_id, filename=filename[:255], path=path, size=size, sha256=sha256,
            unit_id=unit_id, status=str(ClipStatus.QUEUED), frames=0, tracks=0, placed=0,
            created_by=created_by, created_at=_now(),
        )  # fmt: skip
        with self.store.session() as s, s.begin():
            s.add(row)
            s.flush()
            s.refresh(row)
        return row

    def update(self, clip_id: int, **values: Any) -> None:
        with self.store.session() as s, s.begin():
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise ClipNotFound(f"no clip {clip_id}")
            for name, value in values.items():
                setattr(row, name, value)

    def get(self, clip_id: int) -> ClipRow:
        with self.store.session() as s:
            row = s.get(ClipRow, clip_id)
        if row is None:
            raise ClipNotFound(f"no clip {clip_id}; GET /api/ingest lists them")
        return row

    def recent(self, limit: int = 50) -> list[ClipRow]:
        with self.store.session() as s:
            return list(s.scalars(select(ClipRow).order_by(ClipRow.id.desc()).limit(limit)))

    def add_path(
        self, clip_id: int | None, camera_id: str, origin: float, points: Sequence[PathPoint]
    ) -> None:
        if not points:
            return
        with self.store.session() as s, s.begin():
            s.add_all(
                CameraPositionRow(
                    camera_id=camera_id, clip_id=clip_id,
                    at=datetime.fromtimestamp(origin + p.media_time, UTC),
                    media_time=p.media_time, lat=p.lat, lon=p.lon, alt=p.alt,
                    heading=p.heading, footprint=p.footprint,
                )
                for p in points
            )  # fmt: skip

    def path(self, clip_id: int) -> list[CameraPositionRow]:
        with self.store.session() as s:
            rows = list(
                s.scalars(
                    select(CameraPositionRow)
                    .where(CameraPositionRow.clip_id == clip_id)
                    .order_by(CameraPositionRow.media_time)
                )
            )
        if len(rows) > MAX_PATH_POINTS:
            step = len(rows) / MAX_PATH_POINTS
            rows = [rows[int(i * step)] for i in range(MAX_PATH_POINTS)] + [rows[-1]]
        return rows

    def tracks(self, clip: ClipRow) -> list[TrackRow]:
        """The tracks its analysis stored: its camera's, over the clip's time."""
        if clip.start is None:
            return []
        start = as_utc(clip.start)
        end = start + timedelta(seconds=(clip.duration or 0.0) + 1.0)
        with self.store.session() as s:
            return list(
                s.scalars(
                    select(TrackRow)
                    .where(
                        TrackRow.camera_id == clip.camera_id,
                        TrackRow.first_seen >= start - timedelta(seconds=1),
                        TrackRow.first_seen <= end,
                    )
                    .order_by(TrackRow.first_seen)
                )
            )


def clip_record(row: ClipRow) -> dict[str, Any]:
    """The REST clip resource (GET /api/ingest/{id})."""
    return {
        "id": row.id,
        "camera": row.camera_id,
        "filename": row.filename,
        "size": row.size,
        "sha256": row.sha256,
        "unit_id": row.unit_id,
        "status": row.status,
        "telemetry": row.telemetry,
        "note": row.note,
        "error": row.error,
        "frames": row.frames,
        "tracks": row.tracks,
        "placed": row.placed,
        "start": as_utc(row.start).isoformat() if row.start else None,
        "duration": row.duration,
        "created_by": row.created_by,
        "created_at": as_utc(row.created_at).isoformat(),
        "finished_at": as_utc(row.finished_at).isoformat() if row.finished_at else None,
    }


def path_record(row: CameraPositionRow) -> dict[str, Any]:
    return {
        "t": round(row.media_time, 3),
        "lat": row.lat,
        "lon": row.lon,
        "alt": row.alt,
        "heading": None if row.heading is None else round(row.heading, 1),
        "footprint": row.footprint,
    }


def track_geo_record(row: TrackRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "track_id": row.track_id,
        "label": row.label,
        "lat": row.lat,
        "lon": row.lon,
        "trail": row.trail or [],
        "media_start": row.media_start,
        "media_end": row.media_end,
    }
