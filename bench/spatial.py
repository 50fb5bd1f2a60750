"""PostgreSQL at scale: spatial queries and retention by partitions, each against its peer in
the same run (vigil.store.spatial, vigil.store.partitions).

    .venv/bin/python bench/spatial.py                      # one JSON line
    .venv/bin/python bench/spatial.py --units 10000,100000 --rows 1000000 --rounds 3

(a) `units_within`: N units scattered over a 40 x 40 km city, `--queries` questions "units within
R m of a point" (R = 500 m and 2 km) per round, answered by PostGIS (GiST on the generated
geometry), by the portable path on the same PostgreSQL (lat/lon box in SQL, haversine in
Python) and on SQLite; the peer is what `suggest` did before: read every unit and measure each
(on SQLite). Per engine the median over rounds of the per-query p50/p95 (ms), and each round.
Every engine's answers are checked equal.

(b) retention: `--rows` events over 20 days (one camera, generated in SQL), retention 10 days:
the real `purge()` on the day-partitioned table (drops 10 partitions, deletes the boundary
day's rows) against the same purge on the same table rebuilt unpartitioned (the same columns
and indexes; DELETE of about half the rows), each followed by the VACUUM that a DELETE leaves
to do (dropped partitions leave none): seconds of purge + vacuum per round, the ratio, and the
disk the table holds afterwards (a DELETE's space is reused, not returned).

(c) writes: `--write-events` events through `Store.save_results` in batches of 50 (half placed
on the map) into the events table as 0012 makes it (partitioned by day, geometry, GiST) against
the table as it was (one table, no geometry): events a second, median of rounds, the ratio.

(d) migrate: migration 0012's time on `--rows` events written at 0011 (the upgrade's downtime).

Needs the PostgreSQL at VIGIL_TEST_PG_URL (default postgres@127.0.0.1:5432, trust) with PostGIS.
Fresh databases per round, dropped at the end. Nothing was tuned on these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402
from alembic import command  # noqa: E402
from alembic.config import Config as AlembicConfig  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from vigil.audit.log import AuditLog  # noqa: E402
from vigil.audit.retention import purge  # noqa: E402
from vigil.config import RetentionConfig  # noqa: E402
from vigil.domain import Event, EventType  # noqa: E402
from vigil.geo import haversine_m  # noqa: E402
from vigil.store import spatial  # noqa: E402
from vigil.store.db import Store  # noqa: E402
from vigil.store.partitions import ensure_partitions, rebuild  # noqa: E402
from vigil.store.tables import UnitRow  # noqa: E402

ADMIN = os.environ.get("VIGIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CITY = (51.5007, -0.1246)
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


@contextmanager
def pg_database() -> Iterator[str]:
    admin = sqlalchemy.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    name = f"vigil_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def fill_units(store: Store, n: int, seed: int) -> None:
    rng = random.Random(seed)
    rows = [
        {
            "callsign": f"U{i:06d}", "kind": "car", "status": "available",
            "lat": CITY[0] + rng.uniform(-0.18, 0.18), "lon": CITY[1] + rng.uniform(-0.29, 0.29),
            "position_at": NOW, "created_at": NOW, "changed_at": NOW,
        }
        for i in range(n)
    ]  # fmt: skip
    with store.engine.begin() as conn:
        for i in range(0, n, 5000):
            conn.execute(insert(UnitRow), rows[i : i + 5000])
        if store.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE units"))


def read_all(store: Store, lat: float, lon: float, r: float) -> list[int]:
    """The peer: every unit read and measured (what suggest did before)."""
    with store.session() as s:
        units = list(s.scalars(select(UnitRow)))
    return sorted(
        u.id
        for u in units
        if u.lat is not None and u.lon is not None and haversine_m((lat, lon), (u.lat, u.lon)) <= r
    )


def timed(ask: Callable[[float, float, float], list[int]], questions: list[Any]) -> dict[str, Any]:
    times, answers = [], []
    for lat, lon, r in questions:
        t = time.perf_counter()
        answers.append(ask(lat, lon, r))
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    return {"p50_ms": round(statistics.median(times), 3), "p95_ms": round(p95, 3), "_a": answers}


def via(store: Store, postgis: bool | None) -> Callable[[float, float, float], list[int]]:
    def ask(lat: float, lon: float, r: float) -> list[int]:
        with store.session() as s:
            return sorted(n.row.id for n in spatial.units_within(s, lat, lon, r, postgis=postgis))

    return ask


def spatial_round(n: int, queries: int, seed: int, tmp: Path) -> dict[str, Any]:
    rng = random.Random(seed + 1)
    questions = [
        (CITY[0] + rng.uniform(-0.15, 0.15), CITY[1] + rng.uniform(-0.25, 0.25), r)
        for r in (500.0, 2000.0)
        for _ in range(queries // 2)
    ]
    lite = Store(f"sqlite:///{tmp / f'units-{n}-{seed}.db'}")
    with pg_database() as url:
        pg = Store(url)
        try:
            for store in (lite, pg):
                fill_units(store, n, seed)
            out: dict[str, Any] = {
                "postgis": timed(via(pg, True), questions),
                "postgresql_portable": timed(via(pg, False), questions),
                "sqlite": timed(via(lite, None), questions),
                # every 10th question only: the peer reads all N units each time
                "peer_read_all_sqlite": timed(
                    lambda a, o, r: read_all(lite, a, o, r), questions[::10]
                ),
            }
        finally:
            pg.close()
            lite.close()
    answers = {k: v.pop("_a") for k, v in out.items()}
    peer, first = answers.pop("peer_read_all_sqlite"), answers["postgis"]
    out["answers_equal"] = all(a == first for a in answers.values()) and peer == first[::10]
    out["mean_hits"] = round(statistics.mean(len(a) for a in first), 1)
    return out


def fill_events(url: str, rows: int) -> None:
    engine = sqlalchemy.create_engine(url)
    start = NOW - timedelta(days=20)
    step = 20 * 86400 / rows
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO cameras (id, name, source, created_at) VALUES ('c', 'C', 'c', :t)"),
            {"t": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO events (camera_id, type, time, media_time, attributes, lat, lon) "
                "SELECT 'c', 'object', :start + i * make_interval(secs => :step), 0, '{}', "
                "51.5 + (i % 1000) * 1e-5, -0.1 FROM generate_series(0, :n - 1) AS i"
            ),
            {"start": start, "step": step, "n": rows},
        )
        conn.execute(text("ANALYZE events"))
    engine.dispose()


def purge_seconds(
    url: str, partitioned: bool, rows: int, tmp: Path
) -> tuple[dict[str, float], int]:
    """The retention purge's time on `rows` events, partitioned by day or as one table (the
    peer: rebuilt unpartitioned, same columns and indexes, so the purge deletes rows)."""
    store = Store(url)
    with store.engine.begin() as conn:
        if partitioned:
            days = {(NOW - timedelta(days=d)).date() for d in range(22)}
            ensure_partitions(conn, NOW, days=days)
        else:
            rebuild(conn, "events", partitioned=False, now=NOW)
    fill_events(url, rows)
    t = time.perf_counter()
    report = purge(store, tmp, RetentionConfig(events=10), AuditLog(store, tmp), NOW)
    seconds = time.perf_counter() - t
    store.close()
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        t = time.perf_counter()
        conn.execute(text("VACUUM events"))  # what a DELETE leaves for later
        vacuum = time.perf_counter() - t
        size = int(conn.execute(text(SIZE)).scalar() or 0)
    engine.dispose()
    return {"purge_s": seconds, "vacuum_s": vacuum, "mib_after": size / 2**20}, report.events


# The disk the events table and its indexes hold, partitions included.
SIZE = (
    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' "
    "AND (c.relname = 'events' OR c.relname ~ '^events_(p[0-9]{8}|default)$')"
)


def retention_round(rows: int, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, partitioned in (("drop_partitions", True), ("peer_delete_rows", False)):
        with pg_database() as url:
            took, removed = purge_seconds(url, partitioned, rows, tmp)
        out[name] = {k: round(v, 3) for k, v in took.items()} | {"events_removed": removed}
        out[name]["s"] = round(took["purge_s"] + took["vacuum_s"], 3)
    out["ratio_delete_over_drop"] = round(
        out["peer_delete_rows"]["s"] / out["drop_partitions"]["s"], 1
    )
    return out


def write_rate(url: str, layout: str, events: int, batch: int) -> float:
    """Events a second that `Store.save_results` writes in batches of `batch` (half of them
    placed on the map), on `layout`: "head" (partitioned by day, geometry and GiST) or "0011"
    (the peer: one table, no geometry; the events table as it was before migration 0012)."""
    store = Store(url)
    with store.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO cameras (id, name, source, created_at) VALUES ('c', 'C', 'c', :t)"),
            {"t": NOW},
        )
        if layout == "0011":
            conn.execute(text("ALTER TABLE events DROP COLUMN geom"))
            rebuild(conn, "events", partitioned=False, now=NOW)
    origin = time.time()
    evs = [
        Event(EventType.OBJECT, "c", i * 0.01, i, "person",
              attributes={"lat": 51.5 + i * 1e-6, "lon": -0.1} if i % 2 else {})
        for i in range(events)
    ]  # fmt: skip
    t = time.perf_counter()
    for i in range(0, events, batch):
        store.save_results("c", origin, [], evs[i : i + batch])
    seconds = time.perf_counter() - t
    store.close()
    return events / seconds


def write_round(events: int, batch: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layout in ("head", "0011"):
        with pg_database() as url:
            out[layout] = round(write_rate(url, layout, events, batch), 1)
    out["ratio_head_over_0011"] = round(out["head"] / out["0011"], 3)
    return out


def median_of(rounds: list[dict[str, Any]], *path: str) -> float:
    values = []
    for r in rounds:
        v: Any = r
        for p in path:
            v = v[p]
        values.append(float(v))
    return round(statistics.median(values), 3)


def units_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in (int(x) for x in args.units.split(",")):
        rounds = [spatial_round(n, args.queries, seed, tmp) for seed in range(args.rounds)]
        summary: dict[str, Any] = {
            k: {m: median_of(rounds, k, m) for m in ("p50_ms", "p95_ms")}
            for k in ("postgis", "postgresql_portable", "sqlite", "peer_read_all_sqlite")
        }
        summary["ratio_peer_over_postgis_p50"] = round(
            summary["peer_read_all_sqlite"]["p50_ms"] / summary["postgis"]["p50_ms"], 1
        )
        summary["answers_equal"] = all(r["answers_equal"] for r in rounds)
        summary["rounds"] = rounds
        out[str(n)] = summary
    return out


def retention_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    rounds = [retention_round(args.rows, tmp) for _ in range(args.retention_rounds)]
    return {
        "rows": args.rows,
        "drop_partitions_s": median_of(rounds, "drop_partitions", "s"),
        "peer_delete_rows_s": median_of(rounds, "peer_delete_rows", "s"),
        "ratio_delete_over_drop": median_of(rounds, "ratio_delete_over_drop"),
        "mib_after_drop": median_of(rounds, "drop_partitions", "mib_after"),
        "mib_after_delete": median_of(rounds, "peer_delete_rows", "mib_after"),
        "rounds": rounds,
    }


def writes_part(args: argparse.Namespace, _tmp: Path) -> dict[str, Any]:
    rounds = [write_round(args.write_events, 50) for _ in range(args.rounds)]
    return {
        "events": args.write_events,
        "batch": 50,
        "head": median_of(rounds, "head"),
        "peer_0011": median_of(rounds, "0011"),
        "ratio_head_over_0011": median_of(rounds, "ratio_head_over_0011"),
        "rounds": rounds,
    }


def migrate_part(args: argparse.Namespace, _tmp: Path) -> dict[str, Any]:
    """How long migration 0012 takes on `--rows` events made at 0011 (the copy into day
    partitions, the geometry, the indexes): the downtime of the upgrade."""
    out = []
    for _ in range(args.retention_rounds):
        with pg_database() as url:
            engine = sqlalchemy.create_engine(url)
            cfg = AlembicConfig()
            where = str(resources.files("vigil.store") / "migrations")
            cfg.set_main_option("script_location", where)
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "0011")
            fill_events(url, args.rows)
            t = time.perf_counter()
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "0012")
            out.append(round(time.perf_counter() - t, 2))
            engine.dispose()
    return {"rows": args.rows, "upgrade_s": statistics.median(out), "rounds": out}


PARTS = {
    "units": units_part,
    "retention": retention_part,
    "writes": writes_part,
    "migrate": migrate_part,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--units", default="10000,100000", help="unit counts, comma-separated")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rows", type=int, default=1_000_000, help="events for the retention part")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--retention-rounds", type=int, default=1)
    ap.add_argument("--write-events", type=int, default=20_000, help="events for the write part")
    ap.add_argument("--parts", default=",".join(PARTS), help="which parts to run")
    args = ap.parse_args()
    result: dict[str, Any] = {"bench": "spatial"}
    with tempfile.TemporaryDirectory() as d:
        for part in args.parts.split(","):
            result[part] = PARTS[part](args, Path(d))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
