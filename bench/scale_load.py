"""The simulated cameras of bench/scale_events.py: synthetic events at an offered rate, each
stored and published by the real code a camera worker runs (`Store.save_results`, then
`EventPublisher.publish` onto the bus: the worker's order).

    python bench/scale_load.py --db URL --bus-url nats://127.0.0.1:4222 --prefix P --cameras 200

reads commands on stdin, one a line: `level RATE SECONDS` runs one load level and answers one
JSON line on stdout; `quit` ends it. `serve_local` (used by scale_events.py for the in-process
peer) runs the same simulated cameras inside a web server process, on its in-process bus.

The load is open-loop: the cameras are split among `--threads` threads; every `tick` seconds
each camera due an event (rate x tick / cameras, fractions carried) stores its events of that
tick in one transaction and publishes them. `captured_at` is when the tick was due, so a
producer that falls behind shows its backlog in the latency instead of lowering the offer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vigil.bus import Bus  # noqa: E402
from vigil.domain import Box, Camera, Event, EventType  # noqa: E402
from vigil.pipeline.sinks import EventPublisher  # noqa: E402
from vigil.store.db import Store  # noqa: E402

ZONE = "bench"
TICK_S = 0.2
LATE_S = 1.0  # a level's load still sent this long after its end; later ticks are shed


def camera_ids(count: int) -> list[str]:
    return [f"sim-{i:05d}" for i in range(count)]


def add_cameras(store: Store, count: int) -> None:
    for cid in camera_ids(count):
        store.save_camera(Camera(id=cid, name=cid, source="synthetic"))


def synthetic_event(camera: str, seq: int, rate: int, media_time: float) -> Event:
    """A zone entry like the pipeline raises (box, score, zone), tagged for the bench."""
    return Event(
        type=EventType.ZONE_ENTER,
        camera_id=camera,
        time=media_time,
        track_id=seq,
        label="person",
        box=Box(100.0 + seq % 300, 80.0, 40.0, 90.0),
        score=0.8,
        attributes={"zone": ZONE, "bench_level": rate, "bench_seq": seq},
    )


@dataclass
class ThreadStats:
    events: int = 0
    transactions: int = 0
    save_s: list[float] = field(default_factory=list)
    publish_s: float = 0.0
    behind_s: float = 0.0  # the largest lag behind the schedule at a tick's start
    skipped_ticks: int = 0  # ticks left out: the level's time was over before their turn


def run_thread(
    store: Store, bus: Bus, cameras: list[str], rate: float, seconds: float, t0: float, level: int
) -> ThreadStats:
    """This thread's cameras at `rate` events/s (their share of `level`) for `seconds`."""
    stats = ThreadStats()
    publisher = EventPublisher(bus)
    per_camera = rate * TICK_S / len(cameras)
    owed = [0.0] * len(cameras)
    seq = 0
    ticks = round(seconds / TICK_S)
    for tick in range(ticks):
        due = t0 + tick * TICK_S
        now = time.time()
        if now < due:
            time.sleep(due - now)
        elif now > t0 + seconds + LATE_S:  # saturated: what is not sent by now is shed
            stats.skipped_ticks = ticks - tick
            break
        stats.behind_s = max(stats.behind_s, time.time() - due)
        for i, camera in enumerate(cameras):
            owed[i] += per_camera
            count = int(owed[i])
            if count == 0:
                continue
            owed[i] -= count
            events = []
            for _ in range(count):
                events.append(synthetic_event(camera, seq, level, tick * TICK_S))
                seq += 1
            started = time.perf_counter()
            rows = store.save_results(camera, t0, [], events)
            saved = time.perf_counter()
            publisher.publish(list(zip(events, rows, strict=True)), due)
            stats.publish_s += time.perf_counter() - saved
            stats.save_s.append(saved - started)
            stats.events += count
            stats.transactions += 1
    return stats


def run_level(
    store: Store, bus: Bus, cameras: list[str], threads: int, rate: int, seconds: float
) -> dict[str, Any]:
    """One load level: every thread's share of `rate`, from a common start a moment ahead."""
    groups = [cameras[i::threads] for i in range(threads) if cameras[i::threads]]
    t0 = time.time() + 0.3
    results: list[ThreadStats] = [ThreadStats() for _ in groups]

    def work(n: int) -> None:
        results[n] = run_thread(
            store, bus, groups[n], rate * len(groups[n]) / len(cameras), seconds, t0, rate
        )

    workers = [threading.Thread(target=work, args=(n,)) for n in range(len(groups))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    ended = time.time()
    saves = sorted(s for r in results for s in r.save_s)
    events = sum(r.events for r in results)
    return {
        "rate": rate,
        "started_at": t0,
        "ended_at": ended,
        "events": events,
        "transactions": sum(r.transactions for r in results),
        "produced_per_s": round(events / (ended - t0), 1),
        "shed_fraction": round(
            sum(r.skipped_ticks for r in results) / (len(results) * round(seconds / TICK_S)), 3
        ),
        "save_ms_mean": round(sum(saves) / max(1, len(saves)) * 1000, 2),
        "save_ms_p95": round(saves[int(0.95 * (len(saves) - 1))] * 1000, 2) if saves else None,
        "save_busy_fraction": round(sum(saves) / (ended - t0) / len(groups), 3),
        "publish_us_per_event": round(sum(r.publish_s for r in results) / max(1, events) * 1e6, 1),
        "behind_schedule_max_s": round(max(r.behind_s for r in results), 3),
        "bus_dropped": int(getattr(bus, "dropped", 0)),
    }


def command_loop(store: Store, bus: Bus, cameras: list[str], threads: int) -> None:
    """`level RATE SECONDS` -> one JSON line; `quit` (or end of input) ends."""
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "level":
            result = run_level(store, bus, cameras, threads, int(words[1]), float(words[2]))
            print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--bus-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    from vigil.bus.nats import NatsBus
    from vigil.config import BusConfig

    store = Store(args.db)
    bus = NatsBus(BusConfig(url=args.bus_url, prefix=args.prefix))
    try:
        command_loop(store, bus, camera_ids(args.cameras), args.threads)
    finally:
        bus.close()
        store.close()


def serve_local(argv: list[str]) -> None:
    """The in-process peer: `vigil serve`'s web app (VigilServer, no cameras, the in-process
    bus) with the simulated cameras as threads of the same process, as a single-machine
    installation runs its cameras; commands on stdin as in main()."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    from vigil.config import VigilConfig
    from vigil.server import VigilServer

    server = VigilServer(
        VigilConfig(), "127.0.0.1", args.port, Path(args.data), args.db, cameras=False
    )
    assert server.store is not None and server.bus is not None
    store, bus = server.store, server.bus
    loop = threading.Thread(
        target=command_loop,
        args=(store, bus, camera_ids(args.cameras), args.threads),
        daemon=True,
    )
    loop.start()
    server.run()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-local"]:
        serve_local(sys.argv[2:])
    else:
        main()
