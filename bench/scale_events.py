"""Part (b) of bench/scale.py: the event path at load. Synthetic events from N simulated
cameras are stored in PostgreSQL and published, and arrive at logged-in WebSocket clients of
the real web app; sustained rate and latency at offered 1k, 5k and 10k events/s.

    .venv/bin/python bench/scale_events.py                       # 3 rounds, one JSON line
    .venv/bin/python bench/scale_events.py --rates 200 --seconds 2 --rounds 1   # a quick look

Modes, in the same run, alternating round by round:

- `nats` (the scale-out path): the simulated cameras (bench/scale_load.py, a process of its
  own: `Store.save_results` then `EventPublisher.publish`, what a camera worker does) publish
  on a NatsBus (JetStream on 127.0.0.1:4222, a stream of the run's own); `vigil serve
  --no-cameras` reads the stream and pushes to its /api/ws clients.
- `in-process` (the peer): the same simulated cameras as threads inside the web server's
  process on the in-process bus: what one `vigil serve` machine runs.

Each mode and round gets a fresh PostgreSQL database (127.0.0.1:5432, dropped after). Times
per event (client and servers share the clock): `captured_at` (the tick the event was due),
`published_at` (after its transaction, handed to the bus), the arrival at a core-NATS tap
on the stream's subjects (nats mode) and at each WebSocket client. Stages: `store` (due ->
published: transaction plus the producer's backlog), `nats` (published -> tap), `web` (tap
-> WebSocket: JetStream, the web app's consumer, its fan-out and the socket). CPU per part
(web process, producer, PostgreSQL backends of the run's database, nats-server, this
client) over each level; the machine's load average at each level.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from latency import free_port  # noqa: E402
from probes import load_average, spread, summary  # noqa: E402
from scale_clients import NATS_URL, Arrivals, Clients, Proc  # noqa: E402
from scale_load import add_cameras  # noqa: E402
from scale_probe import CpuSampler, Database, nats_pids  # noqa: E402

from vigil.store.db import Store  # noqa: E402

MODES = ("nats", "in-process")
SATURATED = {"delivered": 0.99, "rate": 0.95, "p95_ms": 1000.0}  # below / above: saturated


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def processes(
    mode: str, db: str, data: Path, port: int, prefix: str, cameras: int, threads: int
) -> tuple[Proc, Proc | None]:
    """(the web server, the producer; None where the web server runs the cameras itself)."""
    load = str(BENCH / "scale_load.py")
    if mode == "in-process":
        args = [
            load,
            "--serve-local",
            "--db",
            db,
            "--data",
            str(data),
            "--port",
            str(port),
            "--cameras",
            str(cameras),
            "--threads",
            str(threads),
        ]
        return Proc(args, "Vigil is running at"), None
    config = data.parent / "scale.yml"
    config.write_text(json.dumps({"bus": {"url": NATS_URL, "prefix": prefix}}))
    web = Proc(
        [
            "-m",
            "vigil",
            "serve",
            "--no-cameras",
            "--config",
            str(config),
            "--db",
            db,
            "--data",
            str(data),
            "--port",
            str(port),
        ],
        "Vigil is running at",
    )
    producer = Proc(
        [
            load,
            "--db",
            db,
            "--bus-url",
            NATS_URL,
            "--prefix",
            prefix,
            "--cameras",
            str(cameras),
            "--threads",
            str(threads),
        ]
    )
    return web, producer


def level_result(
    produced: dict[str, Any], arrivals: Arrivals, cpu: dict[str, float], clients: int
) -> dict[str, Any]:
    rate, t0 = produced["rate"], produced["started_at"]
    seen = [[a for a in c if a[0] == rate] for c in arrivals.clients]
    first = seen[0]
    last = max((a[4] for c in seen for a in c), default=t0 + 1)
    received = min(len(c) for c in seen)
    e2e = [a[4] - a[2] for c in seen for a in c]
    stages: dict[str, list[float]] = {
        "store": [a[3] - a[2] for a in first],
        "publish_to_websocket": [a[4] - a[3] for c in seen for a in c],
    }
    if arrivals.tap:
        tapped = [(a, arrivals.tap[a[1]]) for a in first if a[1] in arrivals.tap]
        stages["nats"] = [t - a[3] for a, t in tapped]
        stages["web"] = [a[4] - t for a, t in tapped]
    return {
        "offered_per_s": rate,
        "produced": produced,
        "received_per_client": received,
        "delivered": round(received / max(1, produced["events"]), 4),
        "sustained_per_s": round(received / max(1e-9, last - t0), 1),
        "websocket_dropped": arrivals.dropped,
        "end_to_end": summary(e2e),
        "stages": {k: summary(v) for k, v in stages.items()},
        "cpu_cores": cpu,
        "load_average": load_average(),
        "clients": clients,
    }


def one_mode(mode: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    prefix = f"vigilscale{uuid.uuid4().hex[:8]}"
    with Database() as db, tempfile.TemporaryDirectory(prefix="vigil-scale-") as tmp:
        store = Store(db.url)
        add_cameras(store, args.cameras)
        store.close()
        port = free_port()
        web, producer = processes(
            mode, db.url, Path(tmp) / "data", port, prefix, args.cameras, args.threads
        )
        clients: Clients | None = None
        sampler: CpuSampler | None = None
        try:
            web.start()
            loader = producer or web
            if producer is not None:
                producer.start()
            loader.ask("")  # its "ready" line
            clients = Clients(
                f"http://127.0.0.1:{port}", args.clients, prefix if mode == "nats" else None
            )
            sampler = CpuSampler(web.proc, producer.proc if producer else None, db, nats_pids())
            results = []
            for rate in args.rates:
                say(f"  {mode}: {rate} events/s for {args.seconds:g} s")
                produced = loader.ask(f"level {rate} {args.seconds}")
                clients.wait_for(rate, produced["events"], args.seconds * 6 + 30)
                cpu = sampler.cores(produced["started_at"], time.time())
                results.append(level_result(produced, clients.arrivals, cpu, args.clients))
            return results
        finally:
            if sampler is not None:
                sampler.close()
            if clients is not None:
                clients.close()
            for p in (producer, web):
                if p is not None:
                    p.stop()
            if mode == "nats":
                from latency import delete_stream

                delete_stream(prefix)


def saturation(levels: list[dict[str, Any]]) -> dict[str, Any]:
    """The first level that is not kept up with, and the slowest stage there."""
    for lv in levels:
        p95 = lv["end_to_end"].get("p95_ms", float("inf"))
        if (
            lv["delivered"] < SATURATED["delivered"]
            or lv["sustained_per_s"] < SATURATED["rate"] * lv["offered_per_s"]
            or p95 > SATURATED["p95_ms"]
        ):
            stages = {
                k: v.get("p95_ms", 0)
                for k, v in lv["stages"].items()
                if k != "publish_to_websocket"
            }
            return {
                "saturated_at_per_s": lv["offered_per_s"],
                "slowest_stage_p95": max(stages, key=lambda k: stages[k]),
                "busiest_part": max(
                    (k for k in lv["cpu_cores"] if not k.endswith("waiting_for_cpu")),
                    key=lambda k: lv["cpu_cores"][k],
                ),
            }
    return {"saturated_at_per_s": None}


def aggregate(rounds: list[dict[str, list[dict[str, Any]]]], rates: list[int]) -> dict[str, Any]:
    """Per mode and rate: the median over rounds (with the spread) of the sustained rate and
    the end-to-end p95; the ratio nats / in-process p95 per round."""
    out: dict[str, Any] = {}
    for mode in MODES:
        per_rate = {}
        for i, rate in enumerate(rates):
            levels = [r[mode][i] for r in rounds]
            per_rate[str(rate)] = {
                "sustained_per_s": spread([lv["sustained_per_s"] for lv in levels]),
                "p95_ms": spread([lv["end_to_end"].get("p95_ms", 0.0) for lv in levels]),
                "p50_ms": spread([lv["end_to_end"].get("p50_ms", 0.0) for lv in levels]),
                "delivered": spread([lv["delivered"] for lv in levels], 3),
                "stage_p95_ms": {
                    k: spread([lv["stages"][k].get("p95_ms", 0.0) for lv in levels])
                    for k in levels[0]["stages"]
                },
                "cpu_cores": {
                    k: spread([lv["cpu_cores"].get(k, 0.0) for lv in levels], 2)
                    for k in levels[0]["cpu_cores"]
                },
            }
        out[mode] = {
            "per_rate": per_rate,
            "saturation_per_round": [saturation(r[mode]) for r in rounds],
        }
    out["ratio_p95_nats_vs_in_process"] = {
        str(rate): spread(
            [
                r["nats"][i]["end_to_end"].get("p95_ms", 0.0)
                / max(0.1, r["in-process"][i]["end_to_end"].get("p95_ms", 0.0))
                for r in rounds
            ],
            2,
        )
        for i, rate in enumerate(rates)
    }
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    from scale_probe import raw_nats

    t0, load0 = time.monotonic(), load_average()
    rounds: list[dict[str, list[dict[str, Any]]]] = []
    raw: list[list[dict[str, Any]]] = []
    for n in range(args.rounds):
        say(f"round {n + 1}/{args.rounds}")
        this: dict[str, list[dict[str, Any]]] = {}
        for mode in MODES if n % 2 == 0 else tuple(reversed(MODES)):
            this[mode] = one_mode(mode, args)
        raw.append(raw_nats(NATS_URL, args.rates, min(args.seconds, 3.0)))
        rounds.append(this)
    return {
        "bench": "scale_events",
        "what": "synthetic events: stored in PostgreSQL, published, received on /api/ws",
        "peer": "in-process: the same simulated cameras inside the web process, in-process bus",
        "baseline": "nats-py publish -> core subscribe, no Vigil code (raw_nats)",
        "cameras": args.cameras,
        "producer_threads": args.threads,
        "clients": args.clients,
        "seconds_per_level": args.seconds,
        "rounds": args.rounds,
        "rates": args.rates,
        "saturated_when": SATURATED,
        **aggregate(rounds, args.rates),
        "raw_nats": {
            str(r): {
                "sustained_per_s": spread([x[i]["sustained_per_s"] for x in raw]),
                "p95_ms": spread([x[i]["latency"].get("p95_ms", 0.0) for x in raw]),
            }
            for i, r in enumerate(args.rates)
        },
        "load_average": {"start": load0, "end": load_average()},
        "cpu_count": os.cpu_count(),
        "runs": rounds,
        "seconds": round(time.monotonic() - t0, 1),
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", type=int, nargs="+", default=[1000, 5000, 10000])
    p.add_argument("--seconds", type=float, default=8.0, help="seconds of load per level")
    p.add_argument("--cameras", type=int, default=100, help="simulated cameras")
    p.add_argument("--threads", type=int, default=10, help="producer threads")
    p.add_argument("--clients", type=int, default=2, help="logged-in WebSocket clients")
    p.add_argument("--rounds", type=int, default=3)
    return p


def main() -> None:
    args = parser().parse_args()
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
