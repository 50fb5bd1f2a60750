"""The Ray runner's side of bench/scale.py: (a) cameras per node, (c) two-node failover.

    sudo .venv/bin/python bench/scale_ray.py a      # one JSON line; or c; or both: a c
    (bench/scale.py imports cameras_per_node() and failover() from here)

Root only: the Ray nodes run in network namespaces (vigil.pipeline.cluster.netns), joined
by a bridge to this machine's PostgreSQL and NATS (VIGIL_BENCH_PG_URL, VIGIL_BENCH_NATS_URL;
their defaults are the standard ports on 127.0.0.1). A fresh database and NATS prefix per
part, removed afterwards.

(a) The demo's cameras (the bundled lobby clip with YOLOv3-tiny at detect.fps 5, and the car
park clip with the motion detector), repeated: 1, 2, 3, 4, 6, 8, 12 of them, until one no
longer keeps real time (a camera keeps it when it analyses at least REAL_TIME of its clip's
frame rate over `seconds`; a step that misses is run once more and fails when both miss,
because other work on a shared machine takes CPU at times: the figure is what the node does
when left to itself). Peer, same run: the in-process runner (`vigil worker`'s camera
service) against the Ray runner on a one-node cluster of the same machine. Both store into
PostgreSQL and publish on NATS. Recording is off: this is the analysis's capacity.

(c) A two-node cluster; `cameras` demo cameras (recording on), half on each node by
placement; the worker node is SIGKILLed whole; the time until each of its cameras analyses
frames again on the head, `repeats` times (a fresh runner each time, the node started again
in between). Peer, same run: the cold start of the same cameras (runner start to every
camera analysing). Nothing here is tuned on this data: the bound and timings are the
runner's constants.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

PG_ADMIN = os.environ.get(
    "VIGIL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NATS = os.environ.get("VIGIL_BENCH_NATS_URL", "nats://127.0.0.1:4222")
LADDER = (1, 2, 3, 4, 6, 8, 12)
REAL_TIME = 0.9  # share of the clip's frame rate a camera must analyse
READY_S = 240.0


@contextlib.contextmanager
def fresh_db() -> Iterator[str]:
    import sqlalchemy

    admin = sqlalchemy.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"vigil_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def delete_stream(prefix: str) -> None:
    import asyncio

    import nats

    async def run() -> None:
        nc = await nats.connect(NATS, connect_timeout=3, max_reconnect_attempts=0)
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(prefix.upper())
        await nc.close()

    asyncio.run(run())


def demo_yaml(n: int, bus_url: str, prefix: str, runner: dict[str, Any], record: bool) -> str:
    """`n` copies of the demo's cameras (alternately lobby and car park), as a vigil.yml."""
    from importlib import resources

    from vigil.server import DEMO_CONFIG

    assets = Path(str(resources.files("vigil") / "assets"))
    demo = yaml.safe_load((assets / DEMO_CONFIG).read_text())
    cams = []
    for i in range(n):
        cam = dict(demo["cameras"][i % 2])
        cam["id"] = f"{cam['id']}-{i}"
        cam["source"] = str(assets / cam["source"])
        cam["recording"] = {"mode": "continuous", "segment_s": 2} if record else {"mode": "off"}
        cams.append(cam)
    out = {"cameras": cams, "bus": {"url": bus_url, "prefix": prefix}, "runner": runner}
    return yaml.safe_dump(out)


def source_fps(camera_id: str) -> float:
    return 10.0 if camera_id.startswith("lobby") else 12.5  # the clips' frame rates


def held(first: dict[str, dict[str, Any]], last: dict[str, dict[str, Any]], seconds: float
         ) -> dict[str, Any]:  # fmt: skip
    """Per camera, the share of its clip's frames analysed between two statuses."""
    shares = {
        cid: (last[cid]["frames"] - first[cid]["frames"]) / seconds / source_fps(cid)
        for cid in last
    }
    worst = min(shares.values())
    return {"worst_share": round(worst, 3), "real_time": worst >= REAL_TIME,
            "mean_share": round(statistics.mean(shares.values()), 3)}  # fmt: skip


def in_process(n: int, seconds: float) -> dict[str, Any]:
    from vigil.bus import open_bus
    from vigil.config import parse_config
    from vigil.store.db import Store
    from vigil.worker import CameraService, alert_service

    prefix = f"vb{uuid.uuid4().hex[:10]}"
    with fresh_db() as db, tempfile.TemporaryDirectory() as data:
        config = parse_config(demo_yaml(n, NATS, prefix, {"kind": "in-process"}, False))
        store, bus = Store(db), open_bus(config.bus)
        service = CameraService(config, store, bus, Path(data), alert_service(
            config, store, bus, Path(data)))  # fmt: skip
        try:
            service.start()
            statuses = lambda: {c: s.to_json() for c, s in service.runner.status().items()}  # noqa: E731
            wait(lambda: all(s["frames"] > 0 for s in statuses().values()), "cameras to start")
            time.sleep(2.0)  # past the first model loads
            first, t0 = statuses(), time.monotonic()
            time.sleep(seconds)
            result = held(first, statuses(), time.monotonic() - t0)
        finally:
            service.stop()
            bus.close()
            store.close()
            delete_stream(prefix)
    return {"cameras": n, **result}


def wait(probe: Any, what: str, timeout: float = READY_S) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Drill:
    """vigil.pipeline.cluster.drill on the head node of `cluster`."""

    def __init__(self, cluster: Any, yml: Path, db: str, data: Path) -> None:
        via = db.replace("@127.0.0.1:", f"@{cluster.host_ip}:")
        argv = [sys.executable, "-m", "vigil.pipeline.cluster.drill", str(yml), via, str(data)]
        self.started = time.time()
        self.proc = cluster.popen(0, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, key: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                message: dict[str, Any] = json.loads(line)
                if key in message:
                    return message
                if "timeout" in message:
                    raise RuntimeError(f"the drill timed out: {message['timeout']}")
        raise RuntimeError(f"the drill ended before {key!r} (exit {self.proc.wait()})")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self.send("stop")
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def on_ray(cluster: Any, n: int, seconds: float) -> dict[str, Any]:
    prefix = f"vb{uuid.uuid4().hex[:10]}"
    runner = {"kind": "ray", "address": cluster.head_address, "camera_cpus": 0.125}
    with fresh_db() as db, tempfile.TemporaryDirectory() as data:
        yml = Path(data) / "vigil.yml"
        yml.write_text(demo_yaml(n, f"nats://{cluster.host_ip}:4222", prefix, runner, False))
        drill = Drill(cluster, yml, db, Path(data) / "data")
        try:
            drill.read("ready")
            time.sleep(2.0)
            drill.send("report")
            first = drill.read("report")
            time.sleep(seconds)
            drill.send("report")
            last = drill.read("report")
        finally:
            drill.stop()
            delete_stream(prefix)
    took = last["at"] - first["at"]
    statuses = [{c: r["status"] for c, r in m["report"].items()} for m in (first, last)]
    cores = sum(r.get("cores") or 0.0 for r in last["report"].values())
    rss = [r.get("rss_bytes", 0) / 1e6 for r in last["report"].values()]
    return {"cameras": n, **held(statuses[0], statuses[1], took), "cores_used": round(cores, 2),
            "rss_mb_per_camera": round(statistics.mean(rss), 1)}  # fmt: skip


def attempt(run: Any, *args: Any) -> dict[str, Any]:
    """One step's result, or what went wrong in it (no number made up)."""
    try:
        result: dict[str, Any] = run(*args)
    except Exception as exc:  # noqa: BLE001 - reported in the JSON, the bench goes on
        return {"failed": f"{type(exc).__name__}: {exc}"[:500], "real_time": False}
    return result


def ladder(run: Any, steps: tuple[int, ...]) -> dict[str, Any]:
    rows = []
    for n in steps:
        row = {"cameras": n, **attempt(run, n)}
        if not row["real_time"]:  # once more: other work on this machine may have taken it
            again = {"cameras": n, **attempt(run, n)}
            row = {**again, "first_try": row} if again["real_time"] else {**row, "again": again}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        if not row["real_time"]:
            break
    kept = [r["cameras"] for r in rows if r["real_time"]]
    return {"cameras_at_real_time": max(kept, default=0), "steps": rows}


def ray_ladder(seconds: float, steps: tuple[int, ...]) -> dict[str, Any]:
    """The Ray runner's ladder on a one-node cluster that is up only for it (an idle Ray
    node's daemons would load the in-process runner's ladder)."""
    from vigil.pipeline.cluster.netns import LocalCluster

    with LocalCluster(nodes=1, cpus=2.0) as cluster:
        return ladder(lambda n: on_ray(cluster, n, seconds), steps)


def cameras_per_node(
    seconds: float = 20.0, steps: tuple[int, ...] = LADDER, rounds: int = 2
) -> dict[str, Any]:
    """(a): see the module's docstring. `rounds` times each, the runners taking turns."""

    here, ray = [], []
    for _ in range(rounds):
        here.append(ladder(lambda n: in_process(n, seconds), steps))
        ray.append(attempt(ray_ladder, seconds, steps))
    a = [r["cameras_at_real_time"] for r in here]
    b = [r.get("cameras_at_real_time", 0) for r in ray]
    ratio = statistics.median(b) / statistics.median(a) if statistics.median(a) else None
    return {"seconds_per_step": seconds, "real_time_share": REAL_TIME, "rounds": rounds,
            "cpu_count": os.cpu_count(), "load_average_1m": os.getloadavg()[0],
            "in_process": {"cameras_at_real_time": a, "rounds": here},
            "ray": {"cameras_at_real_time": b, "rounds": ray}, "peer": "in_process",
            "ratio_ray_to_in_process": round(ratio, 3) if ratio is not None else None}  # fmt: skip


def failover(repeats: int = 3, cameras: int = 4) -> dict[str, Any]:
    """(c): see the module's docstring."""
    from vigil.pipeline.cluster.netns import LocalCluster

    runs = []
    with LocalCluster(nodes=2, cpus=2.0) as cluster:
        for i in range(repeats):
            if i:
                cluster.start_node(1)  # back, empty, for the next drill to place cameras on
            runs.append(attempt(one_failover, cluster, cameras))
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    done = [r for r in runs if "failed" not in r]
    if not done:
        return {"failed": "no drill finished", "runs": runs}
    since = [r["since_kill_s"] for r in done]
    cold = [r["cold_start_s"] for r in done]
    ratio = statistics.median(since) / statistics.median(cold)
    return {
        "repeats": repeats, "cameras": cameras, "runs": runs,
        "recovery_s": {"median": statistics.median(since), "min": min(since), "max": max(since)},
        "cold_start_s": {"median": statistics.median(cold), "min": min(cold), "max": max(cold)},
        "peer": "cold start of the same cameras",
        "ratio_recovery_to_cold_start": round(ratio, 3),
    }  # fmt: skip


def one_failover(cluster: Any, cameras: int) -> dict[str, Any]:
    prefix = f"vb{uuid.uuid4().hex[:10]}"
    runner = {"kind": "ray", "address": cluster.head_address, "camera_cpus": 0.5}
    with fresh_db() as db, tempfile.TemporaryDirectory() as data:
        yml = Path(data) / "vigil.yml"
        yml.write_text(demo_yaml(cameras, f"nats://{cluster.host_ip}:4222", prefix, runner, True))
        drill = Drill(cluster, yml, db, Path(data) / "data")
        try:
            placed = drill.read("ready")["ready"]
            cold = time.time() - drill.started
            time.sleep(3.0)
            killed = cluster.kill_node(1)
            drill.send(f"lost {cluster.ips[1]} {killed}")
            told = drill.read("recovered")
            back = told["recovered"]
        finally:
            drill.stop()
            delete_stream(prefix)
    moved = sum(1 for node in placed.values() if node == cluster.ips[1])
    return {"moved": moved, "since_kill_s": max(r["since_kill"] for r in back),
            "noticed_after_s": round(max(r["lost_at"] for r in back) - killed, 3),
            "why": sorted({r["why"] for r in back}), "cold_start_s": round(cold, 3),
            "bound_s": told["bound_s"], "within_bound": told["within_bound"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("parts", nargs="*", default=["a", "c"], choices=["a", "c"])
    parser.add_argument("--seconds", type=float, default=20.0, help="(a) per ladder step")
    parser.add_argument("--rounds", type=int, default=2, help="(a) ladders per runner")
    parser.add_argument("--repeats", type=int, default=3, help="(c) kills")
    parser.add_argument("--cameras", type=int, default=4, help="(c) cameras in the cluster")
    args = parser.parse_args()
    out: dict[str, Any] = {"bench": "scale_ray"}
    if "a" in args.parts:
        out["a_cameras_per_node"] = cameras_per_node(args.seconds, rounds=args.rounds)
    if "c" in args.parts:
        out["c_failover"] = failover(args.repeats, args.cameras)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
