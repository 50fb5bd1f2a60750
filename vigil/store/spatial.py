"""Where things are: units, cameras, events and positions near a point or inside a geofence.

One API on both engines; the engine is chosen inside:

- PostgreSQL with PostGIS: each located table has a generated `geom geometry(Point, 4326)`
  column (from its lat/lon, so every writer stays as it is) with a GiST index; a query asks for
  `geom && <bounding box>` (the index) and `ST_DWithin` on the sphere, or `ST_Covers` for a
  polygon.
- SQLite, or PostgreSQL without PostGIS: the same bounding box on the plain lat/lon columns in
  SQL (an index on units' lat/lon), then the exact test in Python.

Either way the last word is Python's (`vigil.geo.haversine_m`, `in_polygon`), so both engines
give the same answer to the same question; PostGIS only decides how few rows reach it.

A PostgreSQL server without PostGIS still works (the portable path, one warning when the store
opens naming the package to install); once PostGIS is installed, the next start adds the
columns and indexes (`install_postgis`, also run by migration 0012).

Geofences are not stored as geometry: they are few and small (a watchlist's JSON); the query
"what lies in this geofence" is indexed on the things, not on the fence.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, and_, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from vigil.geo import EARTH_RADIUS_M, haversine_m, in_polygon
from vigil.store.tables import AlertRow, CameraRow, EventRow, PositionRow, UnitRow

log = logging.getLogger(__name__)

# The tables that carry a point, in one place: each gets `geom` and a GiST index on PostGIS.
LOCATED: dict[str, Any] = {
    "cameras": CameraRow,
    "units": UnitRow,
    "events": EventRow,
    "unit_positions": PositionRow,
}
GEOM = "geom"
HALF_EARTH_M = math.pi * EARTH_RADIUS_M  # no two points are further apart
_SLACK = 1.000001  # SQL keeps a hair more; the exact test in Python decides
Row = TypeVar("Row")


def geom_index(table: str) -> str:
    return f"ix_{table}_geom"


def is_postgis_object(type_: str, name: str | None) -> bool:
    """What install_postgis adds (and the extension's own table), for schema comparisons."""
    if type_ == "table":
        return name == "spatial_ref_sys"
    if type_ == "column":
        return name == GEOM
    return type_ == "index" and name in {geom_index(t) for t in LOCATED}


def postgis_package(conn: Connection) -> str:
    """The Debian package that brings PostGIS to this server's major version."""
    num = int(conn.execute(text("SHOW server_version_num")).scalar() or 0)
    return f"postgresql-{num // 10000}-postgis-3"


def install_postgis(conn: Connection) -> bool:
    """Create the extension where the server has it, then the geometry columns and GiST
    indexes that are missing; False (and nothing changed) where PostGIS is not available or
    this role may not set it up."""
    if conn.dialect.name != "postgresql":
        return False
    have = conn.execute(
        text("SELECT installed_version FROM pg_available_extensions WHERE name = 'postgis'")
    ).first()
    if have is None:
        return False
    try:
        with conn.begin_nested():
            if have[0] is None:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            _add_geometry(conn)
    except DBAPIError as exc:  # e.g. not a superuser: the portable path serves
        log.warning("cannot set up PostGIS (%s)", str(exc.orig).splitlines()[0])
        return False
    return True


def _add_geometry(conn: Connection) -> None:
    for table in LOCATED:
        column = conn.execute(
            text(
                "SELECT 1 FROM information_schema.columns WHERE table_name = :t "
                "AND column_name = :c AND table_schema = current_schema()"
            ),
            {"t": table, "c": GEOM},
        ).first()
        if column is None:
            conn.execute(
                text(
                    f'ALTER TABLE "{table}" ADD COLUMN {GEOM} geometry(Point, 4326) '
                    "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
                )
            )
        index = conn.execute(
            text("SELECT 1 FROM pg_class WHERE relname = :i"), {"i": geom_index(table)}
        ).first()
        if index is None:  # checked first: CREATE INDEX would lock out writers even to find it
            conn.execute(
                text(f'CREATE INDEX "{geom_index(table)}" ON "{table}" USING gist ({GEOM})')
            )


def warn_without_postgis(conn: Connection) -> None:
    log.warning(
        "PostgreSQL has no PostGIS: spatial queries take the portable path (a bounding box in "
        "SQL, distances in Python); install the package %s on the database server for "
        "GiST-indexed queries (Vigil adds its columns at the next start)",
        postgis_package(conn),
    )


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude box that holds every point within some metres of a centre."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def around(cls, lat: float, lon: float, radius_m: float) -> Box:
        dlat = math.degrees(radius_m / EARTH_RADIUS_M)
        south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
        if north >= 90.0 or south <= -90.0 or dlat >= 90.0:
            return cls(south, -180.0, north, 180.0)  # a pole inside: every longitude
        dlon = math.degrees(
            math.asin(min(1.0, math.sin(math.radians(dlat)) / math.cos(math.radians(lat))))
        )
        if lon - dlon < -180.0 or lon + dlon > 180.0 or dlon >= 90.0:
            return cls(south, -180.0, north, 180.0)  # across the antimeridian: simply all
        return cls(south, lon - dlon, north, lon + dlon)

    @classmethod
    def of(cls, points: Sequence[tuple[float, float]]) -> Box:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        return cls(min(lats), min(lons), max(lats), max(lons))


@dataclass(frozen=True, slots=True)
class Near(Generic[Row]):
    """A row and how far it is from the point asked about, in metres."""

    row: Row
    metres: float


def _uses_postgis(s: Session, postgis: bool | None) -> bool:
    if postgis is not None:
        return postgis
    return bool(s.info.get("postgis"))


def _in_box(model: Any, box: Box, postgis: bool) -> ColumnElement[bool]:
    table = model.__tablename__
    if postgis:
        return text(
            f"{table}.{GEOM} && ST_MakeEnvelope({box.west!r}, {box.south!r}, "
            f"{box.east!r}, {box.north!r}, 4326)"
        )  # type: ignore[return-value]
    return and_(
        model.lat.is_not(None),
        model.lon.is_not(None),
        model.lat.between(box.south, box.north),
        model.lon.between(box.west, box.east),
    )


def _dwithin(model: Any, lat: float, lon: float, radius_m: float) -> ColumnElement[bool]:
    return text(
        f"ST_DWithin({model.__tablename__}.{GEOM}::geography, "
        f"ST_SetSRID(ST_MakePoint({float(lon)!r}, {float(lat)!r}), 4326)::geography, "
        f"{float(radius_m) * _SLACK!r}, false)"
    )  # type: ignore[return-value]


def near_query(model: Any, lat: float, lon: float, radius_m: float, postgis: bool) -> Select[Any]:
    """Rows of `model` that may lie within `radius_m` of (lat, lon): a superset."""
    query = select(model).where(_in_box(model, Box.around(lat, lon, radius_m * _SLACK), postgis))
    if postgis:
        query = query.where(_dwithin(model, lat, lon, radius_m))
    return query


def _exact(
    rows: Iterator[Any], lat: float, lon: float, radius_m: float, limit: int | None = None
) -> list[Near[Any]]:
    found = []
    for row in rows:
        metres = haversine_m((lat, lon), (row.lat, row.lon))
        if metres <= radius_m:
            found.append(Near(row, metres))
            if limit is not None and len(found) >= limit:
                break
    return found


def units_within(
    s: Session,
    lat: float,
    lon: float,
    radius_m: float,
    *,
    status: str | None = None,
    kind: str | None = None,
    postgis: bool | None = None,
) -> list[Near[UnitRow]]:
    """Units whose last position lies within `radius_m` of (lat, lon), nearest first."""
    query = near_query(UnitRow, lat, lon, radius_m, _uses_postgis(s, postgis))
    if status is not None:
        query = query.where(UnitRow.status == str(status))
    if kind is not None:
        query = query.where(UnitRow.kind == str(kind))
    found = _exact(iter(s.scalars(query)), lat, lon, radius_m)
    return sorted(found, key=lambda n: (n.metres, n.row.id))


def nearest_units(
    s: Session,
    lat: float,
    lon: float,
    limit: int,
    *,
    status: str | None = None,
    kind: str | None = None,
    postgis: bool | None = None,
) -> list[Near[UnitRow]]:
    """The `limit` units nearest to (lat, lon): within 1 km, else 2, 4, ... (each step an
    indexed query) until enough are found or the circle holds the whole Earth."""
    radius = 1000.0
    while True:
        found = units_within(s, lat, lon, radius, status=status, kind=kind, postgis=postgis)
        if len(found) >= limit or radius >= HALF_EARTH_M:
            return found[:limit]
        radius = min(radius * 4, HALF_EARTH_M)


def cameras_in(
    s: Session, geofence: Mapping[str, Any], *, postgis: bool | None = None
) -> list[CameraRow]:
    """Cameras standing inside a geofence: {polygon: [[lat, lon], ...]} or
    {centre: [lat, lon], radius_m: R} (a watchlist's `geofence`), by id."""
    use = _uses_postgis(s, postgis)
    if "polygon" not in geofence:
        lat, lon = (float(v) for v in geofence["centre"])
        query = near_query(CameraRow, lat, lon, float(geofence["radius_m"]), use)
        hits = _exact(iter(s.scalars(query)), lat, lon, float(geofence["radius_m"]))
        return sorted((n.row for n in hits), key=lambda r: r.id)
    ring = [(float(p[0]), float(p[1])) for p in geofence["polygon"]]
    query = select(CameraRow).where(_in_box(CameraRow, Box.of(ring), use))
    if use:
        wkt = ", ".join(f"{lo!r} {la!r}" for la, lo in [*ring, ring[0]])
        query = query.where(
            text(f"ST_Covers(ST_GeomFromText('POLYGON(({wkt}))', 4326), cameras.{GEOM})")
        )
    rows = [
        r
        for r in s.scalars(query)
        if r.lat is not None and r.lon is not None and in_polygon((r.lat, r.lon), ring)
    ]
    return sorted(rows, key=lambda r: r.id)


def events_within(
    s: Session,
    lat: float,
    lon: float,
    radius_m: float,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
    postgis: bool | None = None,
) -> list[Near[EventRow]]:
    """Events placed within `radius_m` of (lat, lon) in [since, until), newest first."""
    query = near_query(EventRow, lat, lon, radius_m, _uses_postgis(s, postgis))
    if since is not None:
        query = query.where(EventRow.time >= since)
    if until is not None:
        query = query.where(EventRow.time < until)
    query = query.order_by(EventRow.time.desc(), EventRow.id.desc())
    return _exact(
        iter(s.scalars(query.execution_options(yield_per=500))), lat, lon, radius_m, limit
    )


def positions_within(
    s: Session,
    lat: float,
    lon: float,
    radius_m: float,
    *,
    since: datetime,
    until: datetime,
    postgis: bool | None = None,
) -> list[Near[PositionRow]]:
    """Units' reported positions within `radius_m` of (lat, lon) in [since, until), oldest
    first (who was near a place at a time)."""
    query = near_query(PositionRow, lat, lon, radius_m, _uses_postgis(s, postgis))
    query = query.where(PositionRow.at >= since, PositionRow.at < until)
    rows = s.scalars(query.order_by(PositionRow.at, PositionRow.id))
    return _exact(iter(rows), lat, lon, radius_m)


def alert_place(s: Session, alert: AlertRow) -> tuple[float, float] | None:
    """Where an alert happened: its event's ground point where its camera placed it, else
    where its camera stands; None when neither is known."""
    if alert.event_id is not None:
        ev = s.get(EventRow, alert.event_id)
        if ev is not None and ev.lat is not None and ev.lon is not None:
            return ev.lat, ev.lon
    cam = s.get(CameraRow, alert.camera_id)
    if cam is not None and cam.lat is not None and cam.lon is not None:
        return cam.lat, cam.lon
    return None


def units_near_alert(
    s: Session, alert_id: int, radius_m: float, *, status: str | None = None
) -> list[Near[UnitRow]] | None:
    """Units within `radius_m` of where an alert happened, nearest first; None when the
    alert (or where it happened) is not known."""
    alert = s.get(AlertRow, alert_id)
    place = alert_place(s, alert) if alert is not None else None
    if place is None:
        return None
    return units_within(s, place[0], place[1], radius_m, status=status)
