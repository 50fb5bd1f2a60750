"""Live latency: from a frame's capture to its event arriving at a WebSocket client, with the
bus in one process (the peer) and on NATS between a camera worker and a web app.

    .venv/bin/python bench/latency.py                 # 3 rounds x 2 modes, one JSON line
    .venv/bin/python bench/latency.py --rounds 5 --events 300 --cameras 12

Modes, in the same run and alternating round by round (so both see the same machine load):

- `in-process` (the peer): `vigil serve` runs the cameras and the web app in one process; the
  bus is the in-process LocalBus. This is what a single-machine installation runs.
- `nats`: `vigil worker` runs the cameras and publishes over the NATS server on
  127.0.0.1:4222 (JetStream, a stream of the run's own), `vigil serve --no-cameras` runs the
  web app and reads the stream; two processes sharing the SQLite database in one data
  directory. This is the scale-out path.

Each server is the real command (`python -m vigil ...`) on a free port with a temporary data
directory and a generated configuration: `--cameras` "live" car-park cameras (the bundled
`car-detection.mp4` in a loop at its real frame rate, class-free motion detector, a counting
line across the middle, a zone over the lower half, a line-cross alert rule) and one lobby
camera (the bundled person clip, YOLOv3-tiny at detect.fps 5, the demo's table zone with
loitering, a floor zone and two lines). The client logs in over HTTP, opens `/api/ws` with the
session cookie and collects `event` messages until `--events` arrived. Latency = arrival wall
time - `captured_at` (the UNIX time at which the decoder handed over the frame that raised
the event); client and servers share a clock. Breakdown (not a peer): `published_at`, when the
camera's worker thread handed the event to its bus, splits it into analysis + storage before
the bus and the bus + push after it.

The result: per mode the median over rounds of p50 and p95 (and each round's values), and the
ratio NATS p95 / in-process p95 (median of the per-round ratios). Target: NATS p95 < 1.5 x
in-process p95 and < 500 ms. Also reported: CPU of the servers' process trees and of the
whole machine (`contended` when other programs took more than 0.25 core), frame drops, and
that each server stopped cleanly on SIGINT with no process or /dev/shm segment left.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "vigil" / "assets"
PASSWORD = "latency-bench-password"
NATS_URL = os.environ.get("VIGIL_BENCH_NATS_URL", "nats://127.0.0.1:4222")
TARGET_P95_MS = 500.0
TARGET_RATIO = 1.5
MIN_EVENTS = 100
CONTENDED_CORES = 0.25  # CPU of other programs during the run above which it is flagged
CLK_TCK = os.sysconf("SC_CLK_TCK")
HEALTH_KEYS = ("online", "fps", "frames", "dropped", "restarts")
MODES = ("in-process", "nats")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_config(motion_cameras: int) -> dict[str, Any]:
    car, person = ASSETS / "car-detection.mp4", ASSETS / "one-by-one-person-detection.mp4"
    cameras: list[dict[str, Any]] = [
        {
            "id": f"park-{i + 1}",
            "source": str(car),
            "loop": True,
            "detector": {"kind": "motion"},
            "objects": {"labels": ["motion"], "min_score": 0.5, "min_area": 0.01},
            "lines": [
                {
                    "name": "middle",
                    "a": [0.0, 0.5],
                    "b": [1.0, 0.5],
                    "in_side": "left",
                    "anchor": "center",
                }
            ],
            "zones": [
                {
                    "name": "lower",
                    "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]],
                    "anchor": "center",
                }
            ],
        }
        for i in range(motion_cameras)
    ]
    cameras.append(
        {
            "id": "lobby",
            "source": str(person),
            "loop": True,
            "detect": {"fps": 5, "still_recheck": 1},
            "objects": {"labels": ["person"], "min_score": 0.4},
            "zones": [
                {
                    "name": "table",
                    "polygon": [[0.4, 0.72], [0.8, 0.72], [0.8, 1.0], [0.4, 1.0]],
                    "loiter_seconds": 8,
                    "labels": ["person"],
                },
                {"name": "floor", "polygon": [[0, 0.55], [1, 0.55], [1, 1], [0, 1]]},
            ],
            "lines": [
                {"name": "left", "a": [0.3, 0.5], "b": [0.3, 1.0]},
                {"name": "right", "a": [0.75, 0.5], "b": [0.75, 1.0]},
            ],
        }
    )
    rules = [
        {"name": "car park entry", "event": "line_cross", "line": "middle", "direction": "in"},
        {"name": "person loitering", "camera": "lobby", "event": "loiter", "zone": "table"},
    ]
    return {"cameras": cameras, "rules": rules}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [float(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def tree_cpu(root: int) -> tuple[float, set[int]]:
    """CPU seconds used so far by `root` and its live descendants, and their pids."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (float(fields[11]) + float(fields[12])) / CLK_TCK
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, pp in parents.items() if pp == pid and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(cpu.get(p, 0.0) for p in tree), tree


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            line = proc.stderr.readline()
            seen += line
            if marker in line:
                return seen
        if proc.poll() is not None:
            break
    raise SystemExit(f"the server did not start in {timeout:g} s; it said:\n{seen}")


def stats(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)

    def pct(p: float) -> float:  # nearest rank
        return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))]

    return {
        "n": len(ordered),
        "p50_ms": round(pct(50) * 1000, 1),
        "p95_ms": round(pct(95) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def collect(base: str, want: int, timeout: float) -> tuple[list[dict[str, Any]], float]:
    """Log in, open the WebSocket and gather `want` events; each with its arrival time."""
    import httpx
    from websockets.sync.client import connect

    with httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/api/login", json={"username": "admin", "password": PASSWORD})
        r.raise_for_status()
        cookie = f"vigil_session={http.cookies['vigil_session']}"
    events: list[dict[str, Any]] = []
    ws_url = base.replace("http://", "ws://") + "/api/ws"
    headers = {"Cookie": cookie, "Origin": base}
    with connect(ws_url, additional_headers=headers, max_size=None) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["topic"] == "hello", hello
        started = time.monotonic()
        last_note = started
        while len(events) < want:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                break
            try:
                raw = ws.recv(timeout=left)
            except TimeoutError:
                break
            arrived = time.time()
            message = json.loads(raw)
            if message["topic"] == "dropped":
                raise SystemExit(f"the WebSocket dropped {message['count']} messages")
            if message["topic"] == "event":
                message["bench_arrived_at"] = arrived
                events.append(message)
            if time.monotonic() - last_note >= 10:
                last_note = time.monotonic()
                say(f"  {len(events)} events after {last_note - started:.0f} s")
        elapsed = time.monotonic() - started
    return events, elapsed


def summarise(events: list[dict[str, Any]]) -> dict[str, Any]:
    ws = [e["bench_arrived_at"] - e["captured_at"] for e in events]
    before_bus = [e["published_at"] - e["captured_at"] for e in events]
    after_bus = [e["bench_arrived_at"] - e["published_at"] for e in events]
    by_kind: dict[str, list[float]] = defaultdict(list)
    by_type: dict[str, list[float]] = defaultdict(list)
    for e, latency in zip(events, ws, strict=True):
        by_kind["yolo" if e["camera"] == "lobby" else "motion"].append(latency)
        by_type[e["type"]].append(latency)
    return {
        "websocket": stats(ws),
        "capture_to_bus": stats(before_bus),
        "bus_to_websocket": stats(after_bus),
        "by_camera_kind": {k: stats(v) for k, v in sorted(by_kind.items())},
        "by_event_type": {k: stats(v) for k, v in sorted(by_type.items())},
    }


def still_running(pid: int) -> str | None:
    """'pid name' of a process that still runs (a zombie only waits to be reaped: not one)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            head, rest = f.read().rsplit(")", 1)
    except OSError:
        return None
    if rest.split()[0] in ("Z", "X"):
        return None
    return f"{pid} {head.split('(', 1)[1]}"


def vigil_segments(pid: int) -> list[str]:
    return sorted(n for n in os.listdir("/dev/shm") if n.startswith(f"vigil-{pid}-"))


@dataclass
class Server:
    """One `python -m vigil ...` child process."""

    args: list[str]
    marker: str
    proc: subprocess.Popen[str] | None = None
    tail: str = ""
    pids: set[int] = field(default_factory=set)

    def start(self) -> None:
        env = {**os.environ, "VIGIL_ADMIN_PASSWORD": PASSWORD}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", *self.args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        read_until(self.proc, self.marker, 120)

    def stop(self) -> tuple[int | None, float]:
        """SIGINT, then wait; (exit code, seconds it took)."""
        assert self.proc is not None
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None:
            # Until EOF: also what the multiprocessing resource tracker says as it ends
            # after the server (it warns about leaked shared memory and semaphores).
            self.tail = self.proc.stderr.read()
            self.proc.stderr.close()
        return self.proc.returncode, time.monotonic() - started


def write_config(tmp: Path, cameras: int, mode: str, prefix: str) -> Path:
    config = bench_config(cameras)
    if mode == "nats":
        config["bus"] = {"url": NATS_URL, "prefix": prefix}
    path = tmp / f"{mode}.yml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    return path


def servers_for(mode: str, config: Path, data: Path, port: int) -> list[Server]:
    common = ["--config", str(config), "--data", str(data)]
    web = ["serve", *common, "--port", str(port)]
    if mode == "in-process":
        return [Server(web, "Vigil is running at")]
    return [
        Server([*web, "--no-cameras"], "Vigil is running at"),
        Server(["worker", *common], "camera worker is running"),
    ]


def camera_health(base: str) -> dict[str, Any]:
    import httpx

    with httpx.Client(base_url=base, timeout=10) as http:
        http.post("/api/login", json={"username": "admin", "password": PASSWORD})
        cams = http.get("/api/cameras").json()
    return {c["id"]: {k: c["health"].get(k) for k in HEALTH_KEYS} for c in cams}


def one_round(mode: str, cameras: int, events: int, timeout: float) -> dict[str, Any]:
    prefix = f"vigilbench{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="vigil-latency-") as tmp:
        config = write_config(Path(tmp), cameras, mode, prefix)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        servers = servers_for(mode, config, Path(tmp) / "data", port)
        try:
            for server in servers:
                server.start()
            roots = [s.proc.pid for s in servers if s.proc is not None]
            cpu0 = sum(tree_cpu(pid)[0] for pid in roots)
            busy0, total0 = machine_cpu()
            own0, w0 = sum(os.times()[:2]), time.monotonic()
            got, elapsed = collect(base, events, timeout)
            window = time.monotonic() - w0
            trees = [tree_cpu(pid) for pid in roots]
            busy1, total1 = machine_cpu()
            own = (sum(os.times()[:2]) - own0) / window
            health = camera_health(base)
        finally:
            stops = [server.stop() for server in reversed(servers)]
            if mode == "nats":
                delete_stream(prefix)
    time.sleep(0.5)
    pids = set().union(*(t[1] for t in trees))
    alive = [d for d in map(still_running, sorted(pids)) if d is not None]
    leftovers = [seg for pid in roots for seg in vigil_segments(pid)]
    leaked = [line for s in servers for line in s.tail.splitlines() if "leaked" in line]
    server_cores = (sum(t[0] for t in trees) - cpu0) / window
    cores = os.cpu_count() or 1
    busy = (busy1 - busy0) / (total1 - total0)
    others = max(0.0, busy * cores - server_cores - own)
    return {
        "mode": mode,
        "events": len(got),
        "events_per_s": round(len(got) / elapsed, 2),
        "summary": summarise(got),
        "cpu": {
            "servers_cores": round(server_cores, 2),
            "client_cores": round(own, 2),
            "other_processes_cores": round(others, 2),
            "contended": others > CONTENDED_CORES,
        },
        "dropped_frames": sum(h.get("dropped") or 0 for h in health.values()),
        "frames": sum(h.get("frames") or 0 for h in health.values()),
        "clean_shutdown": all(code == 0 for code, _ in stops)
        and not alive
        and not leftovers
        and not leaked,
        "stop_seconds": round(max(s for _, s in stops), 1),
    }


def delete_stream(prefix: str) -> None:
    import nats

    async def run() -> None:
        nc = await nats.connect(NATS_URL)
        try:
            await nc.jetstream().delete_stream(prefix.upper())
        finally:
            await nc.close()

    try:
        asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - the run's numbers stand; say what was left
        say(f"warning: could not delete the bench's NATS stream {prefix.upper()}: {exc}")


def median_of(rounds: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r["summary"]["websocket"][key] for r in rounds), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8, help="looping car-park cameras")
    parser.add_argument("--events", type=int, default=200, help="events per round and mode")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both modes (>= 3)")
    parser.add_argument("--timeout", type=float, default=300.0, help="most seconds to collect")
    args = parser.parse_args()
    if args.events < MIN_EVENTS:
        parser.error(f"--events must be at least {MIN_EVENTS}")
    if args.rounds < 3:
        parser.error("--rounds must be at least 3: one round shows no spread")
    t0 = time.monotonic()
    rounds: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    for n in range(args.rounds):
        for mode in MODES if n % 2 == 0 else reversed(MODES):
            say(f"round {n + 1}/{args.rounds}: {mode}")
            result = one_round(mode, args.cameras, args.events, args.timeout)
            if result["events"] < MIN_EVENTS:
                raise SystemExit(f"only {result['events']} events arrived in {mode}; see above")
            rounds[mode].append(result)
    ratios = [
        nats["summary"]["websocket"]["p95_ms"] / max(local["summary"]["websocket"]["p95_ms"], 0.1)
        for local, nats in zip(rounds["in-process"], rounds["nats"], strict=True)
    ]
    p95 = {m: median_of(rounds[m], "p95_ms") for m in MODES}
    ratio = round(statistics.median(ratios), 3)
    result = {
        "bench": "latency",
        "what": "frame captured_at -> event message received on /api/ws",
        "peer": "in-process: the same cameras and events with the bus inside one process",
        "cameras": {"motion": args.cameras, "yolo": 1},
        "rounds": args.rounds,
        "events_per_round": args.events,
        "p50_ms": {m: median_of(rounds[m], "p50_ms") for m in MODES},
        "p95_ms": p95,
        "ratio_p95_nats_vs_in_process": ratio,
        "ratio_per_round": [round(r, 3) for r in ratios],
        "target": {"ratio": TARGET_RATIO, "p95_ms": TARGET_P95_MS},
        "pass": ratio < TARGET_RATIO and p95["nats"] < TARGET_P95_MS,
        "contended": any(r["cpu"]["contended"] for rs in rounds.values() for r in rs),
        "clean_shutdown": all(r["clean_shutdown"] for rs in rounds.values() for r in rs),
        "runs": rounds,
        "seconds": round(time.monotonic() - t0, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
