"""Events and units' positions partitioned by day on PostgreSQL (SQLite: plain tables).

Why daily: retention is set in days (`retention.events`, 90 by default; `retention.positions`,
7) and the job runs hourly. With one partition per UTC day, every partition wholly older than
the cut-off is dropped in one statement (no dead rows, no vacuum), and only the boundary day is
deleted row by row: at most one day's rows, 1/90 of the events at the defaults. The number of
partitions is about the number of days kept (PostgreSQL plans a few hundred to a few thousand
partitions well; a site keeping events for many years would want coarser partitions).

Rows whose day has no partition (an ingested clip filmed last year, a clock far off) land in
the table's DEFAULT partition; when a day's partition is created later its rows move over.
Partitions are made `AHEAD_DAYS` ahead by `ensure_partitions`: at migration, when a store opens
and on every retention run, so the day's partition exists before its first row.

A partitioned table's primary key must hold the partition key: it is (id, time) for events and
(id, at) for positions; ids still come from one sequence each, so `id` stays unique. A foreign
key cannot point at `events.id` alone any more: `alerts.event_id` is a plain column on both
engines (migration 0012), and the retention purge clears it where an event goes, as the
dropped `ON DELETE SET NULL` did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

# The partitioned tables and their partition key (a timestamptz column), in one place.
PARTITIONED: dict[str, str] = {"events": "time", "unit_positions": "at"}
AHEAD_DAYS = 7
_LOCK = 0x56494731  # the advisory lock that serialises partition maintenance ("VIG1")
_NAME = re.compile(r"^(?P<table>[a-z_]+)_p(?P<day>\d{8})$")


@dataclass(frozen=True, slots=True)
class Partition:
    table: str
    name: str
    day: date

    @property
    def start(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=1)


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def default_name(table: str) -> str:
    return f"{table}_default"


def is_partition_name(name: str) -> bool:
    """Whether a table name is one of the partitions made here (for schema comparisons)."""
    m = _NAME.match(name)
    return bool(m and m["table"] in PARTITIONED) or name in {default_name(t) for t in PARTITIONED}


def is_partitioned(conn: Connection, table: str) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE relname = :t AND relkind IN ('r', 'p')"),
        {"t": table},
    ).scalar()
    return kind == "p"


def partitions(conn: Connection, table: str) -> list[Partition]:
    """The day partitions of `table`, oldest first (not its DEFAULT partition)."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t"
        ),
        {"t": table},
    ).scalars()
    found = []
    for name in names:
        m = _NAME.match(name)
        if m and m["table"] == table:
            found.append(Partition(table, name, datetime.strptime(m["day"], "%Y%m%d").date()))
    return sorted(found, key=lambda p: p.day)


def _columns(conn: Connection, table: str) -> str:
    """The table's stored columns (not generated ones), quoted, in order."""
    names = conn.execute(
        text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
            "AND table_schema = current_schema() AND is_generated = 'NEVER' "
            "ORDER BY ordinal_position"
        ),
        {"t": table},
    ).scalars()
    return ", ".join(f'"{n}"' for n in names)


def create_partition(conn: Connection, table: str, day: date) -> Partition:
    """Create the day's partition, moving that day's rows out of the DEFAULT partition."""
    part = Partition(table, partition_name(table, day), day)
    key, default = PARTITIONED[table], default_name(table)
    bounds = {"a": part.start, "b": part.end}
    where = f'"{key}" >= :a AND "{key}" < :b'
    strays = conn.execute(text(f'SELECT 1 FROM "{default}" WHERE {where} LIMIT 1'), bounds).first()
    cols = _columns(conn, table) if strays else ""
    if strays:
        conn.execute(
            text(
                f'CREATE TEMP TABLE _vigil_moving AS SELECT {cols} FROM "{default}" WHERE {where}'
            ),
            bounds,
        )
        conn.execute(text(f'DELETE FROM "{default}" WHERE {where}'), bounds)
    conn.execute(
        text(
            f'CREATE TABLE "{part.name}" PARTITION OF "{table}" '
            f"FOR VALUES FROM ('{part.start.isoformat()}') TO ('{part.end.isoformat()}')"
        )
    )
    if strays:
        conn.execute(text(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _vigil_moving'))
        conn.execute(text("DROP TABLE _vigil_moving"))
    return part


def ensure_partitions(
    conn: Connection, now: datetime, days: Iterable[date] = (), ahead: int = AHEAD_DAYS
) -> list[Partition]:
    """Create the missing day partitions from yesterday to `ahead` days after `now` (and for
    `days`), on each partitioned table; returns the new ones. No-op on SQLite."""
    if conn.dialect.name != "postgresql":
        return []
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    today = now.astimezone(UTC).date()
    wanted = {today + timedelta(days=d) for d in range(-1, ahead + 1)} | set(days)
    made = []
    for table in PARTITIONED:
        if not is_partitioned(conn, table):
            continue
        have = {p.day for p in partitions(conn, table)}
        for day in sorted(wanted - have):
            made.append(create_partition(conn, table, day))
    return made


def expired_partitions(conn: Connection, table: str, cutoff: datetime) -> list[Partition]:
    """Partitions of `table` whose every row is older than `cutoff` (their day ended by it)."""
    if not is_partitioned(conn, table):
        return []
    return [p for p in partitions(conn, table) if p.end <= cutoff]


def count_rows(conn: Connection, parts: Iterable[Partition]) -> int:
    return sum(
        int(conn.execute(text(f'SELECT count(*) FROM "{p.name}"')).scalar() or 0) for p in parts
    )


def drop_partitions(conn: Connection, parts: Iterable[Partition]) -> int:
    """Drop whole partitions; returns how many rows they held."""
    rows = 0
    for p in parts:
        rows += count_rows(conn, [p])
        conn.execute(text(f'DROP TABLE "{p.name}"'))
    return rows


@dataclass(frozen=True, slots=True)
class Dropped:
    """What `drop_expired` removed: rows per table, partitions, the events' pictures."""

    events: int = 0
    positions: int = 0
    partitions: int = 0
    snapshots: frozenset[str] = frozenset()


def drop_expired(
    conn: Connection, now: datetime, *, events: datetime, positions: datetime
) -> Dropped:
    """The retention step on PostgreSQL: make the coming days' partitions, then drop those of
    events older than `events` and of positions older than `positions`, counting their rows
    first; alerts let go of the dropped events (as the old ON DELETE SET NULL did)."""
    ensure_partitions(conn, now)
    old_events = expired_partitions(conn, "events", events)
    old_positions = expired_partitions(conn, "unit_positions", positions)
    shots: set[str] = set()
    rows = 0
    for p in old_events:  # one pass over each: its rows, id range and pictures
        n, lo, hi, pics = conn.execute(
            text(
                "SELECT count(*), min(id), max(id), array_agg(snapshot) FILTER "
                f'(WHERE snapshot IS NOT NULL) FROM "{p.name}"'
            )
        ).one()
        rows += int(n)
        shots.update(pics or ())
        if n:
            conn.execute(
                text(
                    "UPDATE alerts SET event_id = NULL WHERE event_id BETWEEN :lo AND :hi "
                    f'AND event_id IN (SELECT id FROM "{p.name}")'
                ),
                {"lo": lo, "hi": hi},
            )
        conn.execute(text(f'DROP TABLE "{p.name}"'))
    return Dropped(
        rows,
        drop_partitions(conn, old_positions),
        len(old_events) + len(old_positions),
        frozenset(shots),
    )


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For schema comparisons (Alembic's include_object): leave out what PostgreSQL holds
    beyond the declared tables: the partitions themselves and PostGIS's objects."""
    from vigil.store.spatial import is_postgis_object

    if type_ == "table" and name and is_partition_name(name):
        return False
    return not (reflected and compare_to is None and is_postgis_object(type_, name))


def _definitions(conn: Connection, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The table's index definitions (not its primary key) and foreign keys (name, def)."""
    indexes = conn.execute(
        text(
            "SELECT i.indexdef FROM pg_indexes i WHERE i.tablename = :t "
            "AND i.schemaname = current_schema() AND i.indexname <> :pk"
        ),
        {"t": table, "pk": f"{table}_pkey"},
    ).scalars()
    fks = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'"
        ),
        {"t": table},
    )
    return list(indexes), [(str(n), str(d)) for n, d in fks]


def _index_names(conn: Connection, table: str) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE tablename = :t "
                "AND schemaname = current_schema() AND indexname <> :pk"
            ),
            {"t": table, "pk": f"{table}_pkey"},
        ).scalars()
    )


def _retarget(indexdef: str, old: str, new: str) -> str:
    """An index definition read from `old`, made for table `new` (same name)."""
    return re.sub(rf" ON (ONLY )?(\S+\.)?{old} USING ", f' ON "{new}" USING ', indexdef, count=1)


def rebuild(conn: Connection, table: str, *, partitioned: bool, now: datetime) -> None:
    """Rebuild `table` as a day-partitioned table (or back into a plain one), keeping every
    row, its id sequence, indexes and outgoing foreign keys. Foreign keys pointing AT the
    table must be gone first (a partitioned table cannot be referenced by `id` alone)."""
    key, old = PARTITIONED[table], f"{table}_old"
    indexes, fks = _definitions(conn, table)
    seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
    conn.execute(text(f'ALTER TABLE "{table}" RENAME TO "{old}"'))
    conn.execute(text(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{table}_pkey" TO "{old}_pkey"'))
    for name in _index_names(conn, old):
        conn.execute(text(f'DROP INDEX "{name}"'))
    if seq:
        conn.execute(text(f"ALTER SEQUENCE {seq} OWNED BY NONE"))
    how = f' PARTITION BY RANGE ("{key}")' if partitioned else ""
    conn.execute(
        text(
            f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
            f"INCLUDING GENERATED){how}"
        )
    )
    # 64-bit ids on the partitioned tables (they grow without bound); 32 again on the way back
    width = "bigint" if partitioned else "integer"
    conn.execute(text(f'ALTER TABLE "{table}" ALTER COLUMN "id" TYPE {width}'))
    if seq:
        conn.execute(text(f"ALTER SEQUENCE {seq} AS {width}"))
    pk = f'"id", "{key}"' if partitioned else '"id"'
    conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ({pk})'))
    if partitioned:
        conn.execute(text(f'CREATE TABLE "{default_name(table)}" PARTITION OF "{table}" DEFAULT'))
        days = conn.execute(
            text(f'SELECT DISTINCT CAST(timezone(\'UTC\', "{key}") AS date) FROM "{old}"')
        ).scalars()
        have = {p.day for p in partitions(conn, table)}
        for day in sorted(set(days) - have):
            create_partition(conn, table, day)
    cols = _columns(conn, table)
    conn.execute(text(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM "{old}"'))
    for indexdef in indexes:
        conn.execute(text(_retarget(indexdef, table, table)))
    for name, definition in fks:
        conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))
    conn.execute(text(f'DROP TABLE "{old}"'))
    if seq:
        conn.execute(text(f'ALTER SEQUENCE {seq} OWNED BY "{table}"."id"'))
    if partitioned:
        ensure_partitions(conn, now)
