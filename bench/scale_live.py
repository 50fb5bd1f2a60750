"""What one demo camera costs in the live runner, all of it: `vigil worker` with that one
camera (decoder process, shared-memory ring, paced to real time, event snapshots, health
reports over NATS; recording off), its whole process tree's CPU over a window. Set against
bench/scale_costs.py's per-stage figures, the difference is the live runner's own cost.

    .venv/bin/python bench/scale_live.py                 # 3 runs per camera, one JSON line
    .venv/bin/python bench/scale_live.py --seconds 30 --warmup 15

PostgreSQL (a fresh database per run) and NATS (a stream of the run's own) on 127.0.0.1.
The first `--warmup` seconds (model load, the first frames) are left out of the window.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from latency import Server, delete_stream, tree_cpu  # noqa: E402
from probes import load_average, spread  # noqa: E402
from scale_clients import NATS_URL  # noqa: E402
from scale_probe import Database  # noqa: E402


def worker_config(camera_id: str, prefix: str) -> dict[str, Any]:
    """The demo's camera as `vigil demo` runs it, recording off, on the run's NATS stream."""
    from vigil.server import demo_config

    cam = next(c for c in demo_config().cameras if c.id == camera_id)
    body = cam.model_dump(mode="json", exclude_none=True, exclude={"recording"})
    return {"bus": {"url": NATS_URL, "prefix": prefix}, "cameras": [body]}


def one_run(camera_id: str, warmup: float, seconds: float) -> float:
    """Cores the worker's process tree used per second of the window."""
    prefix = f"vigilscalelive{uuid.uuid4().hex[:8]}"
    with Database() as db, tempfile.TemporaryDirectory(prefix="vigil-live-") as tmp:
        config = Path(tmp) / "worker.yml"
        config.write_text(yaml.safe_dump(worker_config(camera_id, prefix)))
        args = ["worker", "--config", str(config), "--data", f"{tmp}/data", "--db", db.url]
        worker = Server(args, "camera worker is running")
        try:
            worker.start()
            assert worker.proc is not None
            time.sleep(warmup)  # a benchmark's settling time, not a test's wait
            cpu0, t0 = tree_cpu(worker.proc.pid)[0], time.monotonic()
            time.sleep(seconds)
            cpu1, t1 = tree_cpu(worker.proc.pid)[0], time.monotonic()
        finally:
            worker.stop()
            delete_stream(prefix)
    return (cpu1 - cpu0) / (t1 - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="the measured window")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--cameras", nargs="+", default=["lobby", "car-park"])
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs must be at least 3: one run shows no spread")
    load0, started = load_average(), time.monotonic()
    cameras = {}
    for cam in args.cameras:
        runs = [one_run(cam, args.warmup, args.seconds) for _ in range(args.runs)]
        cameras[cam] = {
            "cores": spread(runs, 3),
            "runs": [round(r, 3) for r in runs],
        }
    print(
        json.dumps(
            {
                "bench": "scale_live",
                "what": "CPU of `vigil worker` with one demo camera (process tree), recording off",
                "peer": "bench/scale_costs.py's per-stage CPU of the same camera",
                "cameras": cameras,
                "window_s": args.seconds,
                "load_average": {"start": load0, "end": load_average()},
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
