"""Per-camera costs of the demo cameras (vigil/assets/demo-server.yml: `lobby`, YOLOv3-tiny at
detect.fps 5 on the person clip; `car-park`, the class-free motion detector on the car clip):
CPU per camera-second by stage (decode, motion gate, detect, track, the rest of the
analysis, store writes), and per camera-hour the store transactions, rows, snapshot bytes,
bus messages and bytes, and the recording's bytes (the clip's own packets).

    .venv/bin/python bench/scale_costs.py            # 3 runs per camera, one JSON line

Each run feeds the clip once through the real pipeline (CameraPipeline) with a StoreSink on a
fresh PostgreSQL database (127.0.0.1:5432, dropped after) and an EventPublisher on the
in-process bus; every stage is timed (process CPU and wall seconds) by wrapping the real
object's method (the call itself is unchanged). Bus bytes are the JSON the NATS bus would
send for each message. Per hour = per clip pass x 3600 / the clip's seconds (the clip's
activity, looped, as in the demo). Stored rows: their mean size as stored (pg_column_size)
and the database's growth over the pass.
The peer for the speed is bench/pipeline.py (the same pipeline, gating off); its x-realtime
is not repeated here. Camera health reports add 1 message/s per camera (vigil/bus/remote.py
REPORT_S), not counted in `bus`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from probes import load_average, spread  # noqa: E402
from scale_probe import Database  # noqa: E402

from vigil.bus.local import LocalBus  # noqa: E402
from vigil.bus.remote import REPORT_S  # noqa: E402

STAGES = ("decode", "gate", "detect", "track", "analyze_rest", "store")


class CountingBus(LocalBus):
    """The in-process bus, also counting what it is given and its JSON bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.messages = 0
        self.bytes = 0

    def publish(self, message: Any) -> None:
        self.messages += 1
        self.bytes += len(json.dumps(dict(message), default=str).encode())
        super().publish(message)


class Clock:
    """Wall and process-CPU seconds per stage. The process runs one camera and nothing else,
    so the process's CPU during a stage (the detector's own threads included) is the stage's."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def timed(self, fn: Callable[..., Any], stage: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[stage] += time.perf_counter() - w
                self.cpu[stage] += time.process_time() - c

        return wrapper

    def frames(self, frames: Iterator[Any]) -> Iterator[Any]:
        while True:
            w, c = time.perf_counter(), time.process_time()
            try:
                frame = next(frames)
            except StopIteration:
                return
            self.wall["decode"] += time.perf_counter() - w
            self.cpu["decode"] += time.process_time() - c
            yield frame


def instrument(pipeline: Any, clock: Clock) -> None:
    """Each stage's real method, wrapped in the clock (the whole `process` as well)."""
    pipeline.gate.update = clock.timed(pipeline.gate.update, "gate")
    pipeline.detector.detect = clock.timed(pipeline.detector.detect, "detect")
    pipeline.tracker.update = clock.timed(pipeline.tracker.update, "track")
    pipeline.process = clock.timed(pipeline.process, "pipeline")


def one_pass(camera_id: str, db_url: str, data: Path) -> dict[str, Any]:
    from vigil.pipeline.analyze import run_analysis
    from vigil.pipeline.camera import CameraPipeline, detector_for_camera
    from vigil.pipeline.sinks import EventPublisher, StoreSink
    from vigil.server import demo_config
    from vigil.sources import open_source
    from vigil.store.db import Store

    config = demo_config()
    cam = next(c for c in config.cameras if c.id == camera_id)
    store = Store(db_url)
    store.save_camera(cam.to_camera())
    clock = Clock()
    writes = {"transactions": 0, "rows": 0}
    save_results = store.save_results

    def counted(cid: str, origin: float, tracks: Any, events: Any, *rest: Any) -> Any:
        writes["transactions"] += 1
        writes["rows"] += len(tracks) + len(events)
        return save_results(cid, origin, tracks, events, *rest)

    store.save_results = clock.timed(counted, "store")  # type: ignore[method-assign]
    bus, origin = CountingBus(), time.time()
    sink = StoreSink(store, data, cam.id, origin, event_snapshots=True)
    publisher = EventPublisher(bus)

    class Publishing:  # the live worker's order: store, then publish what was stored
        def on_frame(self, frame: Any, result: Any) -> None:
            publisher.publish(sink.save(frame, result), time.time())

        def close(self) -> None:
            sink.close()

    source = open_source(cam.id, cam.source)
    frames = clock.frames(iter(source.frames()))
    first = next(frames)
    pipeline = CameraPipeline(
        cam, config, detector_for_camera(config, cam), (first.width, first.height)
    )
    instrument(pipeline, clock)
    size0 = database_bytes(store)
    summary = run_analysis(itertools.chain([first], frames), pipeline, source.fps, [Publishing()])
    rows = row_bytes(store)
    rows["database_bytes_added"] = database_bytes(store) - size0
    store.close()
    for t in (clock.wall, clock.cpu):
        t["analyze_rest"] = t.pop("pipeline") - t["gate"] - t["detect"] - t["track"]
    shots = sum(p.stat().st_size for p in data.rglob("*.jpg"))
    return {
        "media_s": summary.media_seconds,
        "frames": summary.frames,
        "detector_calls": summary.detector_calls,
        "cpu_s": dict(clock.cpu),
        "stage_wall_s": dict(clock.wall),
        "wall_s": summary.wall_seconds,
        "writes": writes,
        "snapshot_bytes": shots,
        "bus": {"messages": bus.messages, "bytes": bus.bytes},
        "source_bytes": Path(cam.source).stat().st_size,
        "rows": rows,
    }


def database_bytes(store: Any) -> int:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())


def row_bytes(store: Any) -> dict[str, Any]:
    """Rows stored and their mean size as stored (pg_column_size: the tuple, no index)."""
    from sqlalchemy import text

    out: dict[str, Any] = {}
    with store.engine.connect() as conn:
        for table in ("events", "tracks"):
            n, size = conn.execute(
                text(f"SELECT count(*), coalesce(avg(pg_column_size(t.*)), 0) FROM {table} t")
            ).one()
            out[table] = {"rows": int(n), "mean_tuple_bytes": round(float(size), 1)}
    return out


def per_camera(camera_id: str, runs: int) -> dict[str, Any]:
    passes = []
    for _ in range(runs):
        with Database() as db, tempfile.TemporaryDirectory(prefix="vigil-costs-") as tmp:
            passes.append(one_pass(camera_id, db.url, Path(tmp)))
    last = passes[-1]
    media = last["media_s"]
    hour = 3600 / media
    ms_per_s = {
        s: spread([p["cpu_s"].get(s, 0.0) / p["media_s"] * 1000 for p in passes]) for s in STAGES
    }
    wall_ms_per_s = {
        s: spread([p["stage_wall_s"].get(s, 0.0) / p["media_s"] * 1000 for p in passes])
        for s in STAGES
    }
    total = [sum(p["cpu_s"].get(s, 0.0) for s in STAGES) / p["media_s"] for p in passes]
    return {
        "clip_seconds": round(media, 2),
        "frames_per_s": round(last["frames"] / media, 2),
        "detector_calls_per_s": round(last["detector_calls"] / media, 2),
        "cpu_ms_per_camera_second": ms_per_s,
        "wall_ms_per_camera_second": wall_ms_per_s,
        "cpu_cores_per_camera": spread(total, 3),
        "cameras_per_core": spread([1 / x for x in total], 1),
        "per_camera_hour": {
            "store_transactions": round(last["writes"]["transactions"] * hour),
            "store_rows": round(last["writes"]["rows"] * hour),
            "snapshot_bytes": round(last["snapshot_bytes"] * hour),
            "bus_messages": round(last["bus"]["messages"] * hour),
            "bus_bytes": round(last["bus"]["bytes"] * hour),
            "health_reports": round(3600 / REPORT_S),
            "recording_bytes": round(last["source_bytes"] * hour),
        },
        "recording_bytes_per_s": round(last["source_bytes"] / media),
        "stored_rows": last["rows"],
        "deterministic_counts": len({json.dumps(p["writes"]) for p in passes}) == 1,
        "wall_s": [round(p["wall_s"], 2) for p in passes],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="passes per camera (>= 3)")
    parser.add_argument("--cameras", nargs="+", default=["lobby", "car-park"])
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs must be at least 3: one run shows no spread")
    load0, t0 = load_average(), time.monotonic()
    result = {
        "bench": "scale_costs",
        "what": "per-camera costs of the demo cameras, one clip pass per run",
        "peer": "bench/pipeline.py (the same pipeline, motion gating off)",
        "runs": args.runs,
        "cameras": {c: per_camera(c, args.runs) for c in args.cameras},
        "load_average": {"start": load0, "end": load_average()},
        "seconds": round(time.monotonic() - t0, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
