"""What auditing costs: events-search throughput through the HTTP API with and without the
audit row, in the same run, on the same database.

    .venv/bin/python bench/audit.py            # one JSON line; about half a minute
    .venv/bin/python bench/audit.py --events 50000 --requests 400

Builds a SQLite database in a temporary directory with `--events` events on 4 cameras, starts
the app in-process (FastAPI TestClient, no network), logs in as admin and runs `--requests`
searches `GET /api/events?purpose=...&limit=100` (alternating cameras). "without" is the same
app with `AuditLog.append` replaced by a no-op; the two modes are interleaved in rounds so
machine noise hits both. ratio = with / without (target >= 0.9). Afterwards the chain verifies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from vigil.api import Settings, create_app
from vigil.audit.log import AuditLog
from vigil.audit.verify import verify_chain
from vigil.config import VigilConfig
from vigil.domain import Box, Event, EventType
from vigil.store.db import Store

CAMERAS = ["cam-a", "cam-b", "cam-c", "cam-d"]


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
    ap.add_argument("--requests", type=int, default=200, help="per mode per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        store = Store(f"sqlite:///{data / 'vigil.db'}")
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
        rates: dict[str, list[float]] = {"with": [], "without": []}
        with TestClient(app) as client:
            r = client.post(
                "/api/login", json={"username": "admin", "password": "bench-admin-password"}
            )
            assert r.status_code == 200
            _run(client, 20)  # warm up
            for _ in range(args.rounds):
                for mode in ("without", "with"):
                    audit.append = silent if mode == "without" else real  # type: ignore[method-assign]
                    rates[mode].append(_run(client, args.requests))
            audit.append = real  # type: ignore[method-assign]
        verdict = verify_chain(store, data)
        store.close()
    with_rps = statistics.median(rates["with"])
    without_rps = statistics.median(rates["without"])
    print(
        json.dumps(
            {
                "bench": "audit",
                "data": f"SQLite (WAL), {args.events} events on 4 cameras; "
                "GET /api/events?limit=100&camera=... via TestClient",
                "requests_per_mode": args.requests * args.rounds,
                "searches_per_s_with_audit": round(with_rps, 1),
                "searches_per_s_without_audit": round(without_rps, 1),
                "ratio": round(with_rps / without_rps, 3),
                "target": 0.9,
                "rounds": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
                "audit_rows": verdict.rows,
                "chain_ok": verdict.ok,
            }
        )
    )


if __name__ == "__main__":
    main()
