"""vigil.store.spatial gives the same answers on SQLite, on PostgreSQL with PostGIS and on
PostgreSQL without it, and those answers are the brute-force ones (haversine, in_polygon);
PostGIS's GiST indexes serve the queries; a server without PostGIS degrades with one clear
warning and gains the columns once PostGIS can be installed."""

from __future__ import annotations

import logging
import random
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text

from tests.conftest import PG_ADMIN_URL, need
from vigil.domain import Camera, Event, EventType, UnitKind, UnitStatus
from vigil.geo import haversine_m, in_polygon
from vigil.store import spatial
from vigil.store.db import Store
from vigil.store.tables import AlertRow, UnitRow

CENTRE = (51.5007, -0.1246)  # Westminster
T0 = datetime(2026, 12, 1, tzinfo=UTC)
FENCE = [(51.49, -0.14), (51.49, -0.11), (51.51, -0.105), (51.515, -0.13)]
QUESTIONS = [(51.5007, -0.1246, 500.0), (51.51, -0.09, 2500.0), (51.45, -0.2, 8000.0)]


def _scatter(rng: random.Random, n: int, spread: float) -> list[tuple[float, float]]:
    return [
        (CENTRE[0] + rng.uniform(-spread, spread), CENTRE[1] + rng.uniform(-spread, spread))
        for _ in range(n)
    ]


def _fill(store: Store) -> None:
    """The same units, cameras and events in every store (a seeded draw), and a few places
    that try the edges: across the antimeridian, by a pole, without a position."""
    rng = random.Random(18)
    units = _scatter(rng, 400, 0.15) + [(-16.5, 179.999), (-16.5, -179.999), (89.99, 10.0)]
    kinds, statuses = list(UnitKind), list(UnitStatus)
    with store.session() as s, s.begin():
        for i, (lat, lon) in enumerate(units):
            s.add(_unit(f"U{i:03d}", kinds[i % len(kinds)], statuses[i % 3], lat, lon))
        s.add(_unit("NOWHERE", UnitKind.CAR, UnitStatus.AVAILABLE, None, None))
    for i, (lat, lon) in enumerate(_scatter(rng, 60, 0.05)):
        store.save_camera(Camera(f"cam{i:02d}", f"Cam {i}", "x.mp4", lat, lon))
    store.save_camera(Camera("unplaced", "Unplaced", "x.mp4", None, None))
    places = _scatter(rng, 200, 0.1)
    events = [
        Event(
            EventType.OBJECT, "cam00", float(i * 600), i, "person", attributes={"lat": a, "lon": o}
        )
        for i, (a, o) in enumerate(places)
    ]
    store.save_results("cam00", T0.timestamp(), [], events)


def _unit(callsign: str, kind: str, status: str, lat: float | None, lon: float | None) -> UnitRow:
    return UnitRow(
        callsign=callsign, kind=str(kind), status=str(status), lat=lat, lon=lon,
        position_at=T0 if lat is not None else None, created_at=T0, changed_at=T0,
    )  # fmt: skip


def _new_db(template: str = "template1", owner: str | None = None) -> str:
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"vigil_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            own = f' OWNER "{owner}"' if owner else ""
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE {template}{own}')
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        need(False, f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc})")
    finally:
        admin.dispose()
    return name


def _admin(sql: str) -> None:
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(sql)
    admin.dispose()


def _url(name: str, user: str = "postgres") -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return base.replace("postgres@", f"{user}@", 1) + f"/{name}"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Store]]:
    """One filled SQLite store and one filled PostgreSQL store for the module."""
    lite = Store(f"sqlite:///{tmp_path_factory.mktemp('spatial') / 'v.db'}")
    name = _new_db()
    pg = Store(_url(name))
    try:
        for store in (lite, pg):
            _fill(store)
        yield {"sqlite": lite, "postgresql": pg}
    finally:
        lite.close()
        pg.close()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ENGINES = [("sqlite", None), ("postgresql", None), ("postgresql", False)]
IDS = ["sqlite", "postgis", "postgresql-portable"]


def _truth_units(store: Store, lat: float, lon: float, r: float) -> list[str]:
    with store.session() as s:
        rows = s.query(UnitRow).all()
    near = [
        (haversine_m((lat, lon), (u.lat, u.lon)), u.id, u.callsign)
        for u in rows
        if u.lat is not None and u.lon is not None
    ]
    return [c for d, _i, c in sorted(near) if d <= r]


def _need_postgis(store: Store) -> None:
    need(store.postgis, "PostGIS is not installed (apt-get install postgresql-N-postgis-3)")


def test_postgresql_has_postgis_here(stores: dict[str, Store]) -> None:
    """The PostgreSQL of these machines and of CI has PostGIS (.ci/run installs it)."""
    _need_postgis(stores["postgresql"])
    assert stores["postgresql"].postgis is True
    assert stores["sqlite"].postgis is False


@pytest.mark.parametrize(("engine", "postgis"), ENGINES, ids=IDS)
@pytest.mark.parametrize(("lat", "lon", "radius"), QUESTIONS)
def test_units_within_radius_are_the_brute_force_answer(
    stores: dict[str, Store], engine: str, postgis: bool | None, lat: float, lon: float,
    radius: float,
) -> None:  # fmt: skip
    store = stores[engine]
    with store.session() as s:
        found = spatial.units_within(s, lat, lon, radius, postgis=postgis)
    truth = _truth_units(store, lat, lon, radius)
    assert truth, "the question should have answers"
    assert [n.row.callsign for n in found] == truth
    assert all(n.metres <= radius for n in found)


@pytest.mark.parametrize(("engine", "postgis"), ENGINES, ids=IDS)
def test_filters_edges_and_nearest(
    stores: dict[str, Store], engine: str, postgis: bool | None
) -> None:
    store = stores[engine]
    with store.session() as s:
        avail = spatial.units_within(
            s, *CENTRE, 3000, status=UnitStatus.AVAILABLE, kind=UnitKind.CAR, postgis=postgis
        )
        across = spatial.units_within(s, -16.5, 179.9995, 500, postgis=postgis)
        pole = spatial.units_within(s, 89.999, -170.0, 2000, postgis=postgis)
        nearest = spatial.nearest_units(s, -16.5, 179.0, 3, postgis=postgis)
    assert avail and {(n.row.status, n.row.kind) for n in avail} == {("available", "car")}
    assert {n.row.callsign for n in across} == {"U400", "U401"}  # both sides of 180°
    assert [n.row.callsign for n in pole] == ["U402"]
    # The two by the antimeridian (~107 km away), then the next nearest of all.
    assert [n.row.callsign for n in nearest][:2] == ["U400", "U401"]
    london = _truth_units(store, -16.5, 179.0, 2e7)
    assert [n.row.callsign for n in nearest] == london[:3]


@pytest.mark.parametrize(("engine", "postgis"), ENGINES, ids=IDS)
def test_cameras_in_a_polygon_and_a_circle(
    stores: dict[str, Store], engine: str, postgis: bool | None
) -> None:
    store = stores[engine]
    with store.session() as s:
        poly = [c.id for c in spatial.cameras_in(s, {"polygon": FENCE}, postgis=postgis)]
        circle = spatial.cameras_in(
            s, {"centre": list(CENTRE), "radius_m": 1500.0}, postgis=postgis
        )
        every = [(c.id, c.lat, c.lon) for c in s.query(spatial.CameraRow).all()]
    placed = [(i, a, o) for i, a, o in every if a is not None and o is not None]
    assert poly == sorted(i for i, a, o in placed if in_polygon((a, o), FENCE))
    assert 0 < len(poly) < len(placed)
    assert [c.id for c in circle] == sorted(
        i for i, a, o in placed if haversine_m(CENTRE, (a, o)) <= 1500.0
    )


@pytest.mark.parametrize(("engine", "postgis"), ENGINES, ids=IDS)
def test_events_within_radius_and_time(
    stores: dict[str, Store], engine: str, postgis: bool | None
) -> None:
    store = stores[engine]
    since, until = T0 + timedelta(hours=3), T0 + timedelta(hours=20)
    with store.session() as s:
        found = spatial.events_within(s, *CENTRE, 4000, since=since, until=until, postgis=postgis)
        few = spatial.events_within(s, *CENTRE, 4000, limit=5, postgis=postgis)
        rows = s.query(spatial.EventRow).all()
    truth = sorted(
        (r for r in rows if r.lat is not None and r.lon is not None
         and haversine_m(CENTRE, (r.lat, r.lon)) <= 4000
         and since <= r.time.astimezone(UTC) < until),
        key=lambda r: r.time, reverse=True,
    )  # fmt: skip
    assert [n.row.track_id for n in found] == [r.track_id for r in truth]
    assert len(truth) > 5 and len(few) == 5
    assert few[0].row.time >= found[0].row.time


def test_engines_agree_on_distances(stores: dict[str, Store]) -> None:
    answers = []
    for engine, postgis in ENGINES:
        with stores[engine].session() as s:
            near = spatial.units_within(s, *CENTRE, 5000, postgis=postgis)
        answers.append([(n.row.callsign, round(n.metres, 6)) for n in near])
    assert answers[0] == answers[1] == answers[2]


def test_postgis_queries_use_the_gist_indexes(stores: dict[str, Store]) -> None:
    store = stores["postgresql"]
    _need_postgis(store)
    asks = {
        "ix_units_geom": spatial.near_query(UnitRow, *CENTRE, 500, True),
        "ix_cameras_geom": spatial.near_query(spatial.CameraRow, *CENTRE, 500, True),
        "ix_events_geom": spatial.near_query(spatial.EventRow, *CENTRE, 500, True),
    }
    with store.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # small tables: make the plan show it
        for index, query in asks.items():
            sql = str(query.compile(store.engine, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
            # a partition's index is named after the partition (events_default_geom_idx)
            assert re.search(rf"Index Scan (using|on) ({index}|\w+_geom_idx)", plan), plan


@pytest.fixture
def plain_role() -> Iterator[str]:
    """A login role that may not create extensions (PostGIS is not a trusted extension)."""
    role = f"vigil_plain_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER')
    try:
        yield role
    finally:
        _admin(f'DROP ROLE IF EXISTS "{role}"')


def test_without_postgis_the_store_degrades_then_gains_it(
    plain_role: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    name = _new_db("template0", owner=plain_role)  # a database without PostGIS
    try:
        with caplog.at_level(logging.WARNING, logger="vigil.store.spatial"):
            store = Store(_url(name, plain_role))
        try:
            assert store.postgis is False
            warned = [r.getMessage() for r in caplog.records if "PostGIS" in r.getMessage()]
            assert any("install the package postgresql-" in m and "-postgis-3" in m for m in warned)
            _fill(store)
            with store.session() as s:
                found = spatial.units_within(s, *CENTRE, 2500)
            assert [n.row.callsign for n in found] == _truth_units(store, *CENTRE, 2500)
        finally:
            store.close()
        admin = Store(_url(name))  # a superuser opens it: PostGIS and its columns arrive
        try:
            _need_postgis(admin)
            assert admin.postgis is True
            with admin.session() as s:
                again = spatial.units_within(s, *CENTRE, 2500)
                located = s.execute(text("SELECT count(geom) FROM units")).scalar()
            assert [n.row.callsign for n in again] == [n.row.callsign for n in found]
            assert located == 403
        finally:
            admin.close()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_units_near_an_alert_where_it_happened(stores: dict[str, Store], engine: str) -> None:
    """At its event's ground point, else at its camera; no place, no answer."""
    store = stores[engine]
    with store.session() as s, s.begin():
        event = s.query(spatial.EventRow).filter_by(track_id=0).one()
        camera = s.get(spatial.CameraRow, "cam05")
        assert camera is not None and camera.lat is not None and camera.lon is not None
        alerts = [
            AlertRow(rule="r", camera_id=cam, event_id=ev, type="object", time=T0,
                     status="candidate")
            for cam, ev in (("cam00", event.id), ("cam05", None), ("unplaced", None))
        ]  # fmt: skip
        s.add_all(alerts)
        s.flush()
        ids = [a.id for a in alerts]
        assert event.lat is not None and event.lon is not None
        where = [(event.lat, event.lon), (camera.lat, camera.lon)]
    with store.session() as s:
        for alert_id, (lat, lon) in zip(ids, where, strict=False):
            near = spatial.units_near_alert(s, alert_id, 1500.0)
            assert near, "the question should have answers"
            assert [n.row.callsign for n in near] == _truth_units(store, lat, lon, 1500.0)
        assert spatial.units_near_alert(s, ids[2], 1500.0) is None
        assert spatial.units_near_alert(s, 10**9, 1500.0) is None
