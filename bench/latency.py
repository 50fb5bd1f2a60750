"""Live latency: from a frame's capture to its event arriving over the WebSocket.

    .venv/bin/python bench/latency.py                 # prints one JSON line (about 100 s)
    .venv/bin/python bench/latency.py --cameras 12 --events 600

Starts the real server (`vigil.server.serve`, exactly what `vigil serve` runs) in a child
process on a free port of 127.0.0.1, with a generated configuration: `--cameras` "live" car-park
cameras (the bundled `car-detection.mp4` in a loop at its real frame rate, class-free motion
detector, a counting line across the middle, a zone over the lower half, a line-cross alert
rule) and one lobby camera (the bundled person clip, YOLOv3-tiny at detect.fps 5 as in the
demo: its table zone with loitering and alert rule, plus a floor zone and two lines so that it
raises enough events to measure). It logs in over HTTP like a client, opens `/api/ws` with
the session cookie and collects `event` messages until `--events` have arrived (at most
`--timeout` seconds; fewer than 100 is a failure). Latency = arrival wall time - `captured_at`
(the UNIX time at which the frame that raised the event was decoded, i.e. captured); client
and server share a clock.

Peer, in the same run and for the same events: the time the server published the event on
its bus (after the pipeline, the database write and the event snapshot), stamped by the
bench's launcher into each event message as `bench_published_at` (the only change to the
server). The ratio websocket p95 / bus p95 says what the push to the client adds.

Also reported: the CPU used by the server and its decoder processes and by the whole machine
during the measurement, and each camera's frame rate and dropped frames (a camera that drops
frames is overloaded). The server is stopped with Ctrl-C (SIGINT) and must leave no process
and no /dev/shm segment behind.
"""

from __future__ import annotations

import argparse
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
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "vigil" / "assets"
PASSWORD = "latency-bench-password"
TARGET_P95_MS = 500.0
MIN_EVENTS = 100
CONTENDED_CORES = 0.25  # CPU of other programs during the run above which it is flagged
CLK_TCK = os.sysconf("SC_CLK_TCK")
HEALTH_KEYS = ("online", "fps", "frames", "dropped", "restarts")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the server side (child process) --------------------------------------------------------


def serve_stamped(config_path: Path, port: int, data: Path) -> None:
    """`vigil serve`, with each published event stamped with the time it was published."""
    from vigil import server
    from vigil.bus import LocalBus
    from vigil.config import load_config

    class StampingBus(LocalBus):
        def publish(self, message: Any) -> None:
            if message.get("topic") == "event":
                message = {**message, "bench_published_at": time.time()}
            super().publish(message)

    server.LocalBus = StampingBus  # type: ignore[misc]  # VigilServer builds its bus from this name
    config = server.resolve_sources(load_config(config_path), config_path.parent)
    server.serve(config, "127.0.0.1", port, data)


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


# -- measuring -------------------------------------------------------------------------------


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
    bus = [e["bench_published_at"] - e["captured_at"] for e in events]
    hop = [e["bench_arrived_at"] - e["bench_published_at"] for e in events]
    by_kind: dict[str, list[float]] = defaultdict(list)
    by_type: dict[str, list[float]] = defaultdict(list)
    for e, latency in zip(events, ws, strict=True):
        by_kind["yolo" if e["camera"] == "lobby" else "motion"].append(latency)
        by_type[e["type"]].append(latency)
    return {
        "websocket": stats(ws),
        "bus": stats(bus),
        "bus_to_websocket": stats(hop),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8, help="looping car-park cameras")
    parser.add_argument("--events", type=int, default=400, help="events to collect")
    parser.add_argument("--timeout", type=float, default=360.0, help="most seconds to collect")
    parser.add_argument("--serve", nargs=3, metavar=("CONFIG", "PORT", "DATA"), help="internal")
    args = parser.parse_args()
    if args.serve:
        serve_stamped(Path(args.serve[0]), int(args.serve[1]), Path(args.serve[2]))
        return
    if args.events < MIN_EVENTS:
        parser.error(f"--events must be at least {MIN_EVENTS}")

    with tempfile.TemporaryDirectory(prefix="vigil-latency-") as tmp:
        config_path = Path(tmp) / "latency.yml"
        config_path.write_text(json.dumps(bench_config(args.cameras), indent=1))  # JSON is YAML
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "VIGIL_ADMIN_PASSWORD": PASSWORD}
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(config_path), str(port), f"{tmp}/data"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        pids: set[int] = set()
        tail = ""
        try:
            read_until(proc, "Vigil is running at", 120)
            startup = time.monotonic() - t0
            say(f"server up in {startup:.1f} s with {args.cameras} motion cameras + 1 YOLO camera")
            cpu0, _ = tree_cpu(proc.pid)
            busy0, total0 = machine_cpu()
            own0 = sum(os.times()[:2])
            w0 = time.monotonic()
            events, elapsed = collect(base, args.events, args.timeout)
            window = time.monotonic() - w0
            cpu1, pids = tree_cpu(proc.pid)
            busy1, total1 = machine_cpu()
            own = (sum(os.times()[:2]) - own0) / window  # this client's own CPU
            import httpx

            with httpx.Client(base_url=base, timeout=10) as http:
                http.post("/api/login", json={"username": "admin", "password": PASSWORD})
                cams = http.get("/api/cameras").json()
            health = {c["id"]: {k: c["health"].get(k) for k in HEALTH_KEYS} for c in cams}
            proc.send_signal(signal.SIGINT)
            t_stop = time.monotonic()
            code = proc.wait(timeout=60)
            stop_s = time.monotonic() - t_stop
        finally:
            if proc.poll() is None:  # something failed above: stop it cleanly if it can
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stderr is not None:
                # Until EOF: also what the multiprocessing resource tracker says as it ends
                # after the server (it warns about leaked shared memory and semaphores).
                tail = proc.stderr.read()
                proc.stderr.close()
                if tail.strip():
                    say("server said: " + tail.strip()[-2000:])
        time.sleep(0.5)
        alive = [d for d in map(still_running, sorted(pids)) if d is not None]
        leaked = [line for line in tail.splitlines() if "leaked" in line]
        leftovers = vigil_segments(proc.pid)
    if len(events) < MIN_EVENTS:
        raise SystemExit(
            f"only {len(events)} events arrived in {elapsed:.0f} s (need {MIN_EVENTS}); "
            "add cameras with --cameras or allow more time with --timeout"
        )
    if any("bench_published_at" not in e for e in events):
        raise SystemExit(
            "event messages lack bench_published_at: vigil.server no longer builds its bus "
            "from the name LocalBus; update serve_stamped()"
        )
    summary = summarise(events)
    cores = os.cpu_count() or 1
    server_cores = (cpu1 - cpu0) / window
    busy = (busy1 - busy0) / (total1 - total0)
    others = max(0.0, busy * cores - server_cores - own)
    if others > CONTENDED_CORES:
        say(f"warning: other processes used {others:.2f} cores meanwhile; rerun on a quiet machine")
    p95 = summary["websocket"]["p95_ms"]
    types: dict[str, int] = defaultdict(int)
    for e in events:
        types[e["type"]] += 1
    result = {
        "bench": "latency",
        "what": "frame captured_at -> event message received on /api/ws",
        "peer": "bus publish: same events, captured_at -> published (pipeline, store, snapshot)",
        "cameras": {"motion": args.cameras, "yolo": 1},
        "events": len(events),
        "event_types": dict(sorted(types.items())),
        "events_per_s": round(len(events) / elapsed, 2),
        **summary,
        "ratio_p95_vs_peer": round(p95 / max(summary["bus"]["p95_ms"], 1e-3), 3),
        "target_p95_ms": TARGET_P95_MS,
        "p95_vs_target": round(p95 / TARGET_P95_MS, 3),
        "pass": p95 < TARGET_P95_MS,
        "cpu": {
            "cores": cores,
            "server_tree_cores": round(server_cores, 2),
            "bench_client_cores": round(own, 2),
            "machine_busy_fraction": round(busy, 3),
            "other_processes_cores": round(others, 2),
            # Other programs on this machine took CPU from the server: numbers are not clean.
            "contended": others > CONTENDED_CORES,
            "loadavg_1m": round(os.getloadavg()[0], 2),
        },
        "camera_health": health,
        "seconds": {
            "startup": round(startup, 1),
            "collect": round(elapsed, 1),
            "stop": round(stop_s, 1),
            "total": round(time.monotonic() - t0, 1),
        },
        "clean_shutdown": code == 0 and not alive and not leftovers and not leaked,
        "exit_code": code,
        "leftover_processes": alive,
        "leftover_shm": leftovers,
        "leak_warnings": leaked,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
