"""What bench/scale_events.py measures a run with: a fresh PostgreSQL database per run
(dropped after), CPU per part of the event path sampled twice a second, and the plain
nats-py baseline (publish -> subscribe, no Vigil code) at the same offered rates."""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import subprocess
import threading
import time
import uuid
from typing import Any

from latency import CLK_TCK, tree_cpu
from probes import summary, waits

PG_ADMIN = os.environ.get("VIGIL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SAMPLE_S = 0.5


class Database:
    """A database of the run's own on the PostgreSQL server; `url` for SQLAlchemy."""

    def __init__(self) -> None:
        self.name = f"vigil_scale_{uuid.uuid4().hex[:10]}"
        base = PG_ADMIN.rsplit("/", 1)[0]
        self.url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{self.name}"

    def __enter__(self) -> Database:
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *_exc: object) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql)

    def backends(self) -> list[int]:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,)
            ).fetchall()
        return [int(r[0]) for r in rows]


def nats_pids() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "nats-server":
                        found.append(int(entry))
            except OSError:
                continue
    return found


def pid_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (float(fields[11]) + float(fields[12])) / CLK_TCK


def _waited(pid: int) -> dict[int, float]:
    """Per thread (threads come and go: each is counted from its own start)."""
    try:
        return {int(tid): w for tid, w in waits(pid).items()}
    except OSError:  # the process has ended
        return {}


class CpuSampler:
    """CPU seconds so far of each part, sampled every SAMPLE_S in a thread of its own."""

    def __init__(
        self,
        web: subprocess.Popen[str] | None,
        producer: subprocess.Popen[str] | None,
        db: Database,
        nats: list[int],
    ) -> None:
        self.web, self.producer, self.db, self.nats = web, producer, db, nats
        self.times: list[float] = []
        self.samples: list[dict[str, dict[int, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> dict[str, dict[int, float]]:
        parts: dict[str, dict[int, float]] = {
            "web_process": {self.web.pid: tree_cpu(self.web.pid)[0]} if self.web else {},
            "producer_process": (
                {self.producer.pid: tree_cpu(self.producer.pid)[0]} if self.producer else {}
            ),
            "postgres_backends": {p: pid_cpu(p) for p in self.db.backends()},
            "nats_server": {p: pid_cpu(p) for p in self.nats},
            "bench_clients": {os.getpid(): sum(os.times()[:2])},
        }
        # Threads runnable but without a CPU (schedstat): the machine's contention, as
        # opposed to waiting for the database or the network.
        for name, proc in (("web", self.web), ("producer", self.producer)):
            if proc is not None:
                parts[f"{name}_threads_waiting_for_cpu"] = _waited(proc.pid)
        return parts

    def _run(self) -> None:
        while not self._stop.is_set():
            sample = self._sample()
            self.times.append(time.time())
            self.samples.append(sample)
            self._stop.wait(SAMPLE_S)

    def cores(self, t0: float, t1: float) -> dict[str, float]:
        """Cores each part used (threads waiting, for the waiting parts) between the samples
        nearest t0 and t1."""
        a = max(0, bisect.bisect_left(self.times, t0) - 1)
        b = min(len(self.times) - 1, bisect.bisect_left(self.times, t1))
        if b <= a:
            return {}
        span = self.times[b] - self.times[a]
        out = {}
        for part, now in self.samples[b].items():
            before = self.samples[a].get(part, {})
            used = sum(v - before.get(pid, 0.0) for pid, v in now.items())
            out[part] = round(used / span, 2)
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def event_like(seq: int, rate: int) -> bytes:
    """About the size of an event message on the bus (the REST event resource)."""
    body = {
        "topic": "event",
        "id": seq,
        "camera": "sim-00001",
        "type": "zone_enter",
        "time": "2026-01-01T00:00:00+00:00",
        "media_time": 1.0,
        "track_id": seq,
        "label": "person",
        "score": 0.8,
        "box": [100.0, 80.0, 40.0, 90.0],
        "start": None,
        "end": None,
        "zone": "bench",
        "line": None,
        "direction": None,
        "attributes": {"zone": "bench", "bench_level": rate, "bench_seq": seq},
        "snapshot_url": None,
        "captured_at": time.time(),
        "published_at": time.time(),
    }
    return json.dumps(body).encode()


async def _raw_level(url: str, rate: int, seconds: float) -> dict[str, Any]:
    import nats

    pub, sub = await nats.connect(url), await nats.connect(url)
    subject = f"vigilscaleraw.{uuid.uuid4().hex[:8]}"
    lat: list[float] = []

    async def on(msg: Any) -> None:
        lat.append(time.time() - json.loads(msg.data)["published_at"])

    await sub.subscribe(subject, cb=on)
    await sub.flush()
    t0, tick, sent = time.time(), 0.01, 0
    total = int(rate * seconds)
    while sent < total:
        due = t0 + sent / rate
        if due > time.time():
            await asyncio.sleep(due - time.time())
        for _ in range(max(1, int(rate * tick))):
            if sent < total:
                await pub.publish(subject, event_like(sent, rate))
                sent += 1
    await pub.flush()
    ended = time.time()
    for _ in range(100):  # at most 10 s for the rest to arrive
        if len(lat) >= total:
            break
        await asyncio.sleep(0.1)
    await pub.close()
    await sub.close()
    return {
        "offered_per_s": rate,
        "received": len(lat),
        "sustained_per_s": round(len(lat) / max(1e-9, ended - t0), 1),
        "latency": summary(lat),
    }


def raw_nats(url: str, rates: list[int], seconds: float) -> list[dict[str, Any]]:
    """The plain baseline: nats-py publish -> core subscribe of event-sized JSON, one
    process, no database and no web app."""
    return [asyncio.run(_raw_level(url, r, seconds)) for r in rates]
