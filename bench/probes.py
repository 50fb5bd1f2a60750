"""What the benchmarks measure a run with: nearest-rank percentiles and spreads over runs,
and the CPU a run used and waited for (the server's process tree, this process, the others on
the machine; threads runnable but without a CPU from /proc/<pid>/task/*/schedstat; the
machine's CPU pressure from /proc/pressure/cpu). Used by bench/field.py."""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

from latency import machine_cpu, tree_cpu


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pct(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p * len(ordered) / 100) - 1))]


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    out: dict[str, Any] = {"n": len(ordered)}
    for p in (50, 95, 99):
        out[f"p{p}_ms"] = round(pct(ordered, p) * 1000, 1)
    out["max_ms"] = round(ordered[-1] * 1000, 1)
    out["mean_ms"] = round(statistics.fmean(ordered) * 1000, 1)
    return out


def spread(values: list[float], digits: int = 1) -> dict[str, float] | None:
    """The median of per-run values with the lowest and highest; None without values."""
    if not values:
        return None
    middle, low, high = statistics.median(values), min(values), max(values)
    return {"median": round(middle, digits), "min": round(low, digits), "max": round(high, digits)}


def waits(pid: int) -> dict[str, float]:
    """Seconds each thread of `pid` spent runnable but waiting for a CPU (schedstat)."""
    out: dict[str, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            out[tid] = float(f.read().split()[1]) / 1e9
    return out


def pressure() -> float:
    """Seconds some task of the machine waited for a CPU (PSI "some"; 0 without PSI)."""
    try:
        with open("/proc/pressure/cpu") as f:
            return float(f.readline().rsplit("total=", 1)[1]) / 1e6
    except OSError:
        return 0.0


@dataclass
class Snapshot:
    """Counters read before and after a run's reports."""

    at: float
    server_cpu: float
    client_cpu: float
    machine: tuple[float, float]  # busy, total jiffies
    server_waits: dict[str, float]
    client_waits: dict[str, float]
    pressure: float

    @classmethod
    def now(cls, pid: int) -> Snapshot:
        cpu, me = tree_cpu(pid)[0], sum(os.times()[:2])
        machine = machine_cpu()
        return cls(time.monotonic(), cpu, me, machine, waits(pid), waits(os.getpid()), pressure())


def usage(a: Snapshot, b: Snapshot, listener_cpu: float) -> dict[str, dict[str, float]]:
    """Cores used by the server, this client (phones and listener) and other programs; threads
    waiting for a CPU on average (server process, phones) and the machine's CPU pressure."""
    window = b.at - a.at
    server, client = (
        (b.server_cpu - a.server_cpu) / window,
        (b.client_cpu - a.client_cpu + listener_cpu) / window,
    )
    machine = (b.machine[0] - a.machine[0]) / (b.machine[1] - a.machine[1]) * (os.cpu_count() or 1)

    def waiting(x: dict[str, float], y: dict[str, float]) -> float:
        return round(sum(y[t] - x[t] for t in x.keys() & y.keys()) / window, 3)

    cores = {
        "server": server,
        "bench_client": client,
        "others": max(0.0, machine - server - client),
        "machine": machine,
    }
    return {
        "cpu_cores": {k: round(v, 2) for k, v in cores.items()},
        "contention": {
            "server_threads_waiting_for_cpu": waiting(a.server_waits, b.server_waits),
            "phones_waiting_for_cpu": waiting(a.client_waits, b.client_waits),
            "machine_cpu_pressure": round((b.pressure - a.pressure) / window, 3),
        },
    }
