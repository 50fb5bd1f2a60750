"""The capacity model of docs/scaling.md: arithmetic on measured per-camera costs
(bench/scale_costs.py's JSON line) under stated assumptions, for 100, 10,000 and 1,000,000
cameras. No measurement of its own.

    .venv/bin/python bench/scale_costs.py > costs.json
    .venv/bin/python bench/scale_model.py costs.json          # one JSON line
    .venv/bin/python bench/scale_model.py costs.json --camera car-park --active 0.3

Every assumption is an argument with its default printed in the output (`assumptions`).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

SIZES = (100, 10_000, 1_000_000)
DAY_S = 86_400


def per_camera(costs: dict[str, Any], camera: str) -> dict[str, float]:
    """The measured figures of one demo camera, per camera-second."""
    c = costs["cameras"][camera]
    hour = c["per_camera_hour"]
    cpu = c["cpu_ms_per_camera_second"]
    rows = c.get("stored_rows", {})
    ev, tr = rows.get("events", {}), rows.get("tracks", {})
    n = ev.get("rows", 0) + tr.get("rows", 0)
    tuple_bytes = (
        (
            ev.get("rows", 0) * ev.get("mean_tuple_bytes", 0)
            + tr.get("rows", 0) * tr.get("mean_tuple_bytes", 0)
        )
        / n
        if n
        else 0.0
    )
    return {
        "active_cores": c["cpu_cores_per_camera"]["median"],
        # A quiet gated camera pays decode and gate; one whose detector sees every frame (the
        # motion detector) pays the same quiet or not.
        "quiet_cores": (
            (cpu["decode"]["median"] + cpu["gate"]["median"]) / 1000
            if c["detector_calls_per_s"] < c["frames_per_s"]
            else c["cpu_cores_per_camera"]["median"]
        ),
        "transactions": hour["store_transactions"] / 3600,
        "rows": hour["store_rows"] / 3600,
        "row_tuple_bytes": tuple_bytes,
        "snapshot_bytes": hour["snapshot_bytes"] / 3600,
        "bus_messages": hour["bus_messages"] / 3600,
        "bus_bytes": hour["bus_bytes"] / 3600,
        "health_reports": hour["health_reports"] / 3600,
        "recording_bytes": c["recording_bytes_per_s"],
    }


def model(unit: dict[str, float], a: argparse.Namespace, cameras: int) -> dict[str, Any]:
    active = cameras * a.active
    quiet = cameras - active
    cores = (active * unit["active_cores"] + quiet * unit["quiet_cores"]) * a.runner_overhead
    nodes = math.ceil(cores / (a.node_cores * a.node_use))
    tx = active * unit["transactions"]
    rows = active * unit["rows"]
    stream = active * unit["bus_messages"]
    record = cameras * a.recorded * unit["recording_bytes"]
    return {
        "cameras": cameras,
        "cores": round(cores, 1),
        "nodes": nodes,
        "db_transactions_per_s": round(tx, 1),
        "db_rows_per_s": round(rows, 1),
        "db_row_bytes_kept": round(rows * unit["row_tuple_bytes"] * DAY_S * a.event_days),
        "stream_messages_per_s": round(stream, 1),
        "stream_bytes_per_s": round(active * unit["bus_bytes"]),
        "health_reports_per_s": round(cameras * unit["health_reports"]),
        "stream_max_messages_for_max_age": math.ceil(stream * a.stream_age_s),
        "nats_subjects": cameras * a.subjects_per_camera,
        "recording_bytes_per_s": round(record),
        "recording_bytes_kept": round(record * DAY_S * a.recording_days),
        "snapshot_bytes_kept": round(active * unit["snapshot_bytes"] * DAY_S * a.snapshot_days),
        "websocket_events_per_s_per_client": round(stream, 1),
        # CPU of the event path at that rate, from bench/scale_events.py's CPU per event.
        "event_path_cores": {
            "workers_store_and_publish": round(stream * a.worker_ms_per_event / 1000, 2),
            "postgres_backends": round(stream * a.postgres_ms_per_event / 1000, 2),
            "nats_server": round(stream * a.nats_ms_per_event / 1000, 2),
            "web_process_per_2_clients": round(stream * a.web_ms_per_event / 1000, 2),
        },
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("costs", help="bench/scale_costs.py's JSON line (a file)")
    p.add_argument("--camera", default="lobby", help="which demo camera a city camera is like")
    p.add_argument(
        "--active",
        type=float,
        default=0.5,
        help="share of cameras seeing activity like the clip (the rest: quiet)",
    )
    p.add_argument("--recorded", type=float, default=1.0, help="share recorded continuously")
    p.add_argument(
        "--runner-overhead",
        type=float,
        default=1.5,
        help="live runner's cost / the stages' (bench/scale_live.py: lobby 1.50, car park 1.46)",
    )
    p.add_argument("--node-cores", type=int, default=2, help="cores per node (these: 2)")
    p.add_argument("--node-use", type=float, default=0.75, help="share of a node's cores used")
    p.add_argument("--event-days", type=int, default=90, help="retention.events default")
    p.add_argument("--snapshot-days", type=int, default=30, help="retention.snapshots default")
    p.add_argument("--recording-days", type=int, default=7, help="retention.recordings default")
    p.add_argument("--stream-age-s", type=float, default=3600, help="bus.max_age_s default")
    p.add_argument(
        "--subjects-per-camera",
        type=int,
        default=6,
        help="event, alert, camera, status, rpc.picture, rpc.tracks",
    )
    # CPU per event on the event path, medians of bench/scale_events.py at 1,000 events/s
    # (2 events a transaction, 2 WebSocket clients; docs/benchmarks.md).
    p.add_argument("--worker-ms-per-event", type=float, default=0.75)
    p.add_argument("--postgres-ms-per-event", type=float, default=0.2)
    p.add_argument("--nats-ms-per-event", type=float, default=0.1)
    p.add_argument("--web-ms-per-event", type=float, default=0.2)
    return p


def main() -> None:
    args = parser().parse_args()
    with open(args.costs) as f:
        costs = json.loads(f.read().strip().splitlines()[-1])
    unit = per_camera(costs, args.camera)
    out = {
        "model": "capacity",
        "assumptions": {k: v for k, v in vars(args).items() if k != "costs"},
        "per_camera_second": {k: round(v, 5) for k, v in unit.items()},
        "sizes": [model(unit, args, n) for n in SIZES],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
