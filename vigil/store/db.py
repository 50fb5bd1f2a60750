"""Opening the database (migrated to the latest schema) and writing/reading analysis results."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vigil.domain import Camera, Event, Track
from vigil.errors import VigilError
from vigil.store.partitions import ensure_partitions
from vigil.store.spatial import install_postgis, warn_without_postgis
from vigil.store.tables import CameraRow, EventRow, TrackRow


class StoreError(VigilError):
    """The database cannot be opened or written."""


def default_db_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'vigil.db').resolve()}"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _ground(trail: list[list[float]] | None) -> dict[str, Any]:
    """A track's ground columns: its last placed point and its trail."""
    if not trail:
        return {}
    return {"lat": trail[-1][1], "lon": trail[-1][2], "trail": trail}


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers (the API) work while the pipeline writes.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("vigil.store") / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Store:
    """The database behind Vigil. Writes are batched per call and committed atomically."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = create_engine(url, future=True)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(
                f"database URL '{url}' is not usable ({exc}); "
                "use e.g. sqlite:///vigil-data/vigil.db "
                "or postgresql+psycopg://user@host/db"
            ) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            db_path = self.engine.url.database
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        try:
            migrate(self.engine)
        except (OperationalError, DatabaseError) as exc:
            reason = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
            raise StoreError(
                f"cannot open the database {self.engine.url.render_as_string(hide_password=True)} "
                f"({reason}); check that it is a Vigil database, reachable and writable"
            ) from None
        self.postgis = self._maintain()
        # Sessions carry whether PostGIS answers spatial queries (vigil.store.spatial).
        self._session = sessionmaker(
            self.engine, expire_on_commit=False, info={"postgis": self.postgis}
        )
        self._held: Connection | None = None

    def _maintain(self) -> bool:
        """PostgreSQL: the coming days' partitions, PostGIS's columns where the server has
        it (whether it does is the result). SQLite: nothing to do."""
        if self.engine.dialect.name != "postgresql":
            return False
        with self.engine.begin() as conn:
            ensure_partitions(conn, datetime.now(UTC))
            postgis = install_postgis(conn)
            if not postgis:
                warn_without_postgis(conn)
        return postgis

    def session(self) -> Session:
        return self._session()

    @contextmanager
    def held_connection(self) -> Iterator[Connection]:
        """One autocommit connection kept open for single-statement writes on a hot path (the
        audit log's appends). Not thread-safe: the caller serialises its use. A statement that
        fails closes it (the next use opens a fresh one)."""
        if self._held is None:
            self._held = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        conn = self._held
        try:
            yield conn
            conn.commit()  # ends SQLAlchemy's bookkeeping; the database committed already
        except BaseException:
            self._held = None
            conn.close()
            raise

    def sync(self) -> None:
        """Make every commit so far durable. SQLite: fsync the write-ahead log. PostgreSQL:
        commit, with synchronous commit, a transaction that writes one WAL record (a logical
        message, no table touched); the server flushes the WAL up to it, so every earlier
        commit made with synchronous_commit off is on disk too."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                conn.execute(
                    text(
                        "SELECT set_config('synchronous_commit', 'on', true), "
                        "pg_logical_emit_message(true, 'vigil', 'sync')"
                    )
                )
            return
        if self.engine.dialect.name != "sqlite":
            return
        db_path = self.engine.url.database
        if not db_path or db_path == ":memory:":
            return
        try:
            fd = os.open(f"{db_path}-wal", os.O_RDONLY)
        except FileNotFoundError:  # checkpointed and removed: everything is in the main file
            fd = os.open(db_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None
        self.engine.dispose()

    def save_camera(self, camera: Camera) -> None:
        with self.session() as s, s.begin():
            row = s.get(CameraRow, camera.id)
            if row is None:
                row = CameraRow(id=camera.id, created_at=datetime.now(UTC))
                s.add(row)
            row.name, row.source, row.lat, row.lon = (
                camera.name,
                camera.source,
                camera.lat,
                camera.lon,
            )

    def save_results(
        self,
        camera_id: str,
        origin: float,
        tracks: Sequence[tuple[Track, str | None]],
        events: Sequence[Event],
        event_snapshots: Sequence[str | None] | None = None,
        trails: Mapping[int, list[list[float]]] | None = None,
    ) -> list[EventRow]:
        """Store ended tracks (with snapshot paths) and events in one transaction.

        `origin` is the UNIX time of media time 0, so media seconds become wall-clock times.
        `event_snapshots`, when given, holds one snapshot path (or None) per event.
        `trails`: a track id's ground points [[media seconds, lat, lon], ...] where its camera
        placed it (an event's own place is its attributes' lat and lon).
        Returns the new event rows (with their ids), in the order of `events`.
        """
        shots = list(event_snapshots) if event_snapshots is not None else [None] * len(events)
        if len(shots) != len(events):
            raise ValueError("event_snapshots must have one entry per event")
        rows: list[EventRow] = []
        with self.session() as s, s.begin():
            for track, snapshot in tracks:
                s.add(
                    TrackRow(
                        camera_id=camera_id,
                        track_id=track.id,
                        label=track.label,
                        first_seen=_utc(origin + track.first_seen),
                        last_seen=_utc(origin + track.last_seen),
                        media_start=track.first_seen,
                        media_end=track.last_seen,
                        score=track.score,
                        box=track.box.as_list(),
                        snapshot=snapshot,
                        **_ground(trails.get(track.id) if trails else None),
                    )
                )
            for ev, shot in zip(events, shots, strict=True):
                zone, line = ev.attributes.get("zone"), ev.attributes.get("line")
                plate = ev.attributes.get("plate")
                row = EventRow(
                    camera_id=camera_id,
                    type=str(ev.type),
                    time=_utc(origin + ev.time),
                    media_time=ev.time,
                    track_id=ev.track_id,
                    label=ev.label,
                    score=ev.score,
                    box=ev.box.as_list() if ev.box else None,
                    start=ev.start,
                    end=ev.end,
                    attributes=dict(ev.attributes),
                    zone=str(zone) if zone is not None else None,
                    line=str(line) if line is not None else None,
                    plate=str(plate)[:16] if plate else None,
                    snapshot=shot,
                    lat=_number(ev.attributes.get("lat")),
                    lon=_number(ev.attributes.get("lon")),
                )
                s.add(row)
                rows.append(row)
            s.flush()
        return rows

    def count_events(self, camera_id: str | None = None, type: str | None = None) -> int:
        query = select(func.count()).select_from(EventRow)
        if camera_id:
            query = query.where(EventRow.camera_id == camera_id)
        if type:
            query = query.where(EventRow.type == type)
        with self.session() as s:
            return int(s.scalar(query) or 0)

    def tracks(self, camera_id: str | None = None) -> list[TrackRow]:
        query = select(TrackRow).order_by(TrackRow.first_seen)
        if camera_id:
            query = query.where(TrackRow.camera_id == camera_id)
        with self.session() as s:
            return list(s.scalars(query))
