"""What auditing costs: events-search throughput through the HTTP API with and without the
audit row, in the same run, on the same database.

    .venv/bin/python bench/audit.py              # SQLite; one JSON line; about a minute
    .venv/bin/python bench/audit.py --postgres   # a temporary database on VIGIL_BENCH_PG_URL
    .venv/bin/python bench/audit.py --events 50000 --requests 400

Builds a database (SQLite in a temporary directory, or a temporary PostgreSQL database that is
dropped afterwards) with `--events` events on 4 cameras, starts the app in-process (FastAPI
TestClient, no network), logs in as admin and runs `--requests` searches
`GET /api/events?purpose=...&limit=100` (alternating cameras) in each mode:

- "without": the same app with `AuditLog.append` replaced by a no-op (the peer);
- "batched": the default durability (row committed before the answer, flushed within 1 s);
- "each_row": every row flushed to disk before the answer.

The modes are interleaved in rounds so machine noise hits all of them, and each ratio is the
median over rounds of that round's pair: ratio = batched / without (target >= 0.9),
ratio_each_row = each_row / without. Afterwards the chain verifies.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from vigil.api import Settings, create_app
from vigil.audit.log import AuditLog, Durability
from vigil.audit.verify import verify_chain
from vigil.config import VigilConfig
from vigil.domain import Box, Event, EventType
from vigil.store.db import Store

CAMERAS = ["cam-a", "cam-b", "cam-c", "cam-d"]
MODES = ("without", "batched", "each_row")
PG_ADMIN_URL = os.environ.get(
    "VIGIL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def _database(postgres: bool, data: Path) -> Iterator[str]:
    if not postgres:
        yield f"sqlite:///{data / 'vigil.db'}"
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"vigil_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _fill(store: Store, n: int) -> None:
    per = n // len(CAMERAS)
    for cam in CAMERAS:
        for start in range(0, per, 5000):
            events = [
                Event(EventType.OBJECT, cam, float(i), i, "person", Box(1, 2, 3, 4), 0.9, i, i + 1)
                for i in range(start, min(per, start + 5000))
            ]
            store.save_results(cam, 1_700_000_000.0, [], events)


def _run(client: TestClient, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        r = client.get(
            "/api/events",
            params={"purpose": "bench case 1", "camera": CAMERAS[i % 4], "limit": 100},
        )
        assert r.status_code == 200, r.text
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--requests", type=int, default=150, help="per mode per round")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _database(args.postgres, Path(tmp)) as url:
        data = Path(tmp)
        store = Store(url)
        config = VigilConfig.model_validate(
            {"cameras": [{"id": c, "source": "x.mp4"} for c in CAMERAS]}
        )
        settings = Settings(
            config=config,
            data_dir=data,
            admin_password="bench-admin-password",
            password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        )
        app = create_app(settings, store=store)
        _fill(store, args.events)
        audit: AuditLog = app.state.vigil.audit
        real = audit.append
        silent: Any = lambda *a, **k: None  # noqa: E731
        rates: dict[str, list[float]] = {m: [] for m in MODES}
        with TestClient(app) as client:
            r = client.post(
                "/api/login", json={"username": "admin", "password": "bench-admin-password"}
            )
            assert r.status_code == 200
            _run(client, 20)  # warm up
            for _ in range(args.rounds):
                for mode in MODES:
                    audit.append = silent if mode == "without" else real  # type: ignore[method-assign]
                    if mode != "without":
                        audit.durability = cast(Durability, mode)
                    rates[mode].append(_run(client, args.requests))
            audit.append = real  # type: ignore[method-assign]
        verdict = verify_chain(store, data)
        store.close()
    median = {m: statistics.median(v) for m, v in rates.items()}

    def paired(mode: str) -> float:
        return statistics.median(a / b for a, b in zip(rates[mode], rates["without"], strict=True))

    print(
        json.dumps(
            {
                "bench": "audit",
                "data": f"{'PostgreSQL' if args.postgres else 'SQLite (WAL)'}, {args.events} "
                "events on 4 cameras; GET /api/events?limit=100&camera=... via TestClient",
                "requests_per_mode": args.requests * args.rounds,
                "searches_per_s_batched": round(median["batched"], 1),
                "searches_per_s_each_row": round(median["each_row"], 1),
                "searches_per_s_without_audit": round(median["without"], 1),
                "ratio": round(paired("batched"), 3),
                "ratio_each_row": round(paired("each_row"), 3),
                "target": 0.9,
                "rounds": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
                "audit_rows": verdict.rows,
                "chain_ok": verdict.ok,
            }
        )
    )


if __name__ == "__main__":
    main()
