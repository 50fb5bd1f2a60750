"""Events and positions partitioned by day on PostgreSQL: migration 0012 keeps every row (and
its downgrade too), rows land in their day's partition (strays in DEFAULT move when the day's
partition is made), and the retention purge drops whole days yet reports the same counts and
leaves the same rows as SQLite's row deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import IN_CI, engine_url
from vigil.audit.log import AuditLog
from vigil.audit.retention import purge
from vigil.audit.verify import PURGE_ACTION
from vigil.config import RetentionConfig
from vigil.domain import Camera, Event, EventType
from vigil.store.db import Store
from vigil.store.partitions import PARTITIONED, ensure_partitions, partition_name, partitions
from vigil.store.tables import AlertRow, AuditRow, EventRow, PositionRow, UnitRow

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
OLD = NOW - timedelta(days=500)
EVENT_AGES = [1, 2, 5, 40, 41, 45, 100]  # days; three events each, at these ages
POSITION_AGES = [1, 10, 20]


def _migrate(engine: Engine, target: str, *, down: bool = False) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("vigil.store") / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)


def _rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _relkind(engine: Engine, table: str) -> str:
    return str(_rows(engine, "SELECT relkind FROM pg_class WHERE relname = :t", t=table)[0][0])


EVENTS = "SELECT id, camera_id, type, time, lat, lon, attributes::text FROM events ORDER BY id"
POSITIONS = "SELECT id, unit_id, at, lat, lon, source FROM unit_positions ORDER BY id"


def _fill_0011(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO cameras (id, name, source, created_at) VALUES ('c', 'C', 'c', :t)"),
            {"t": NOW},
        )
        for i, at in enumerate([OLD, OLD + DAY, NOW - 3 * DAY, NOW]):
            conn.execute(
                text(
                    "INSERT INTO events (camera_id, type, time, media_time, attributes, lat, lon)"
                    " VALUES ('c', 'object', :t, 0, :a, :lat, 0.1)"
                ),
                {"t": at, "a": f'{{"n": {i}}}', "lat": 51.0 + i if i != 2 else None},
            )
        conn.execute(
            text(
                "INSERT INTO alerts (rule, camera_id, event_id, type, time, status) "
                "SELECT 'r', 'c', id, 'object', time, 'candidate' FROM events"
            )
        )
        conn.execute(
            text(
                "INSERT INTO units (callsign, kind, status, created_at, changed_at) "
                "VALUES ('A1', 'car', 'available', :t, :t)"
            ),
            {"t": NOW},
        )
        for at in (OLD, NOW - DAY, NOW):
            conn.execute(
                text(
                    "INSERT INTO unit_positions (unit_id, at, lat, lon, source, received_at) "
                    "SELECT id, :t, 51.5, -0.1, 'app', :t FROM units"
                ),
                {"t": at},
            )


def test_0012_partitions_events_and_positions_keeping_every_row(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        _migrate(engine, "0011")
        _fill_0011(engine)
        events, positions = _rows(engine, EVENTS), _rows(engine, POSITIONS)
        alerts = _rows(engine, "SELECT id, event_id FROM alerts ORDER BY id")
        _migrate(engine, "head")
        assert (_relkind(engine, "events"), _relkind(engine, "unit_positions")) == ("p", "p")
        assert _rows(engine, EVENTS) == events and _rows(engine, POSITIONS) == positions
        assert _rows(engine, "SELECT id, event_id FROM alerts ORDER BY id") == alerts
        # each row sits in its UTC day's partition; the days of old data got theirs
        placed = _rows(engine, "SELECT tableoid::regclass::text, time FROM events")
        assert all(part == partition_name("events", t.astimezone(UTC).date()) for part, t in placed)
        # ids continue from the same sequence; the located rows have a geometry (PostGIS)
        with engine.begin() as conn:
            new = conn.execute(
                text(
                    "INSERT INTO events (camera_id, type, time, media_time, attributes) "
                    "VALUES ('c', 'object', :t, 0, '{}') RETURNING id"
                ),
                {"t": NOW},
            ).scalar()
        assert new == max(e[0] for e in events) + 1
        postgis = _rows(engine, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")
        if postgis == [(1,)] or IN_CI:  # CI has PostGIS (.ci/run)
            assert _rows(engine, "SELECT count(geom) FROM events") == [(3,)]

        _migrate(engine, "0011", down=True)
        assert (_relkind(engine, "events"), _relkind(engine, "unit_positions")) == ("r", "r")
        assert _rows(engine, EVENTS)[:-1] == events and _rows(engine, POSITIONS) == positions
        left = "SELECT count(*) FROM pg_class WHERE relname ~ '^(events|unit_positions)_p[0-9]{8}$'"
        assert _rows(engine, left) == [(0,)]
        with pytest.raises(IntegrityError), engine.begin() as conn:  # the foreign key is back
            conn.execute(text("UPDATE alerts SET event_id = 999999 WHERE id = 1"))
        _migrate(engine, "head")
        assert _rows(engine, EVENTS)[:-1] == events
    finally:
        engine.dispose()


def test_the_days_partition_takes_its_rows_from_default(pg_url: str) -> None:
    store = Store(pg_url)
    try:
        store.save_camera(Camera("c", "C", "c.mp4"))
        ev = Event(EventType.OBJECT, "c", 0.0, 1, "person")
        store.save_results("c", OLD.timestamp(), [], [ev, ev])
        where = "SELECT tableoid::regclass::text FROM events"
        assert _rows(store.engine, where) == [("events_default",)] * 2
        with store.engine.begin() as conn:
            made = ensure_partitions(conn, NOW, days=[OLD.date()])
        assert [p.name for p in made] == [partition_name(t, OLD.date()) for t in PARTITIONED]
        assert _rows(store.engine, where) == [(made[0].name,)] * 2
        with store.engine.begin() as conn:  # again: nothing to do
            assert ensure_partitions(conn, NOW, days=[OLD.date()]) == []
    finally:
        store.close()


def _fill_ages(store: Store, data: Path) -> dict[str, int]:
    """Events of several ages (three per day), one picture on a 100-day-old event, alerts on
    a dropped and on a kept event, a unit's positions of several ages."""
    store.save_camera(Camera("cam", "Cam", "cam.mp4"))
    ids: dict[str, int] = {}
    for age in EVENT_AGES:
        noon = NOW - age * DAY
        shot = f"snapshots/cam/{age}.jpg" if age == 100 else None
        evs = [Event(EventType.OBJECT, "cam", float(i), i, "person") for i in range(3)]
        rows = store.save_results("cam", noon.timestamp(), [], evs, [shot, None, None])
        ids[str(age)] = rows[0].id
    cut = NOW - 30 * DAY  # the boundary day: one older than the cut, one younger
    for name, at in (("older", cut - timedelta(hours=1)), ("younger", cut + timedelta(hours=1))):
        ev = Event(EventType.OBJECT, "cam", 0.0, 9, "person")
        ids[name] = store.save_results("cam", at.timestamp(), [], [ev])[0].id
    (data / "snapshots/cam").mkdir(parents=True)
    (data / "snapshots/cam/100.jpg").write_bytes(b"jpeg")
    with store.session() as s, s.begin():
        for key in ("100", "5"):
            s.add(
                AlertRow(
                    rule="r", camera_id="cam", event_id=ids[key], type="object", time=NOW,
                    status="acknowledged",
                )
            )  # fmt: skip
        unit = UnitRow(
            callsign="A1", kind="car", status="available", created_at=NOW, changed_at=NOW
        )
        s.add(unit)
        s.flush()
        for age in POSITION_AGES:
            at = NOW - age * DAY
            s.add(
                PositionRow(
                    unit_id=unit.id, at=at, lat=51.5, lon=-0.1, source="app", received_at=at
                )
            )
    if store.engine.dialect.name == "postgresql":  # the days of the data get their partitions
        days = {(NOW - a * DAY).date() for a in [*EVENT_AGES, *POSITION_AGES, 30]}
        with store.engine.begin() as conn:
            ensure_partitions(conn, NOW, days=days)
    return ids


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_retention_drops_old_days_and_reports_what_went(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = engine_url(engine, request)
    store = Store(url)
    try:
        ids = _fill_ages(store, tmp_path)
        days = RetentionConfig(events=30, snapshots=30, plate_reads=30, positions=7)
        dry = purge(store, tmp_path, days, AuditLog(store, tmp_path), NOW, dry_run=True)
        report = purge(store, tmp_path, days, AuditLog(store, tmp_path), NOW)
        # days 40, 41, 45, 100 (3 each) and the boundary day's older one; positions 10, 20
        assert (report.events, report.positions, report.snapshot_files) == (13, 2, 1)
        assert (dry.events, dry.positions, dry.partitions_dropped) == (13, 2, 0)
        # events: the days 40, 41, 45, 100; positions: every day made here older than 7 days
        # (10, 20, 30, 40, 41, 45, 100: both tables get every day's partition)
        assert report.partitions_dropped == (4 + 7 if engine == "postgresql" else 0)
        with store.session() as s:
            kept = set(s.scalars(select(EventRow.id)))
            alerts = {a: e for a, e in s.execute(select(AlertRow.id, AlertRow.event_id))}
            purged = s.scalars(select(AuditRow).where(AuditRow.action == PURGE_ACTION)).one()
            left = sorted(s.scalars(select(PositionRow.at)))
        assert len(kept) == 3 * 3 + 1 and ids["younger"] in kept and ids["older"] not in kept
        assert sorted(alerts.values(), key=str) == [ids["5"], None]  # the dropped one let go
        assert purged.details["counts"]["events"] == 13
        assert purged.details["counts"]["partitions_dropped"] == report.partitions_dropped
        assert [a.astimezone(UTC) for a in left] == [NOW - DAY]
        assert not (tmp_path / "snapshots/cam/100.jpg").exists()
        if engine == "postgresql":
            with store.engine.connect() as conn:
                days_left = {p.day for p in partitions(conn, "events")}
            assert (NOW - 100 * DAY).date() not in days_left
            assert (NOW - 30 * DAY).date() in days_left  # the boundary day: rows deleted
    finally:
        store.close()
