"""One camera on a Ray node: `CameraHost` is the body of a camera actor.

It runs the same parts `vigil worker` runs (vigil.worker.CameraService: the live runner with
its decoder process and shared-memory ring, the recorder, the alert rules, the directory
served over NATS), for one camera. Frames never leave the node: the decoder process and the
analysis share the ring on this machine; what leaves is what `vigil worker` sends (events
and health over the bus, rows into the database) and the actor's small report.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

from vigil.bus import Bus, open_bus
from vigil.config import VigilConfig
from vigil.pipeline.live import LiveSettings
from vigil.store.db import Store
from vigil.vision.base import Detector

COST_WINDOW_S = 10.0  # the per-frame cost is measured over about this much recent time
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except OSError:
        return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


class CostMeter:
    """CPU seconds this process and its children (decoder processes) use per wall second,
    and per analysed frame, over the last `COST_WINDOW_S`."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float, int]] = deque()
        self._gone = 0.0  # CPU time of children that have ended (a restarted decoder)
        self._seen: dict[int, float] = {}

    def _cpu_now(self) -> float:
        pids = [p.pid for p in multiprocessing.active_children() if p.pid is not None]
        children = {pid: cpu_seconds(pid) for pid in pids}
        for pid, used in self._seen.items():
            if pid not in children:
                self._gone += used
        self._seen = children
        return time.process_time() + self._gone + sum(self._seen.values())

    def sample(self, frames: int) -> tuple[float | None, float | None]:
        """(cores used, CPU seconds per frame) since the oldest kept sample; None at first."""
        now, cpu = time.monotonic(), self._cpu_now()
        self._samples.append((now, cpu, frames))
        while len(self._samples) > 2 and now - self._samples[1][0] >= COST_WINDOW_S:
            self._samples.popleft()
        t0, c0, f0 = self._samples[0]
        if now - t0 < 0.5:
            return None, None
        cores = (cpu - c0) / (now - t0)
        per_frame = (cpu - c0) / (frames - f0) if frames > f0 else None
        return cores, per_frame


class CameraHost:
    """A camera actor's body (wrapped by ray.remote in vigil.pipeline.cluster.supervisor)."""

    def __init__(
        self,
        config: VigilConfig,
        camera_id: str,
        db_url: str,
        data_dir: str,
        detector: Detector | None = None,
        live: LiveSettings | None = None,
    ) -> None:
        from vigil.worker import CameraService, alert_service  # the parts vigil worker runs

        camera = config.camera(camera_id)
        self.camera_id = camera_id
        self.started_at = time.time()
        one = config.model_copy(update={"cameras": [camera]})
        self.store = Store(db_url)
        self.bus: Bus | None = None
        folder = Path(data_dir)
        try:
            self.bus = bus = open_bus(config.bus)  # NATS: the runner checked bus.url
            alerts = alert_service(one, self.store, bus, folder)
            self.service = CameraService(one, self.store, bus, folder, alerts, live)
            if detector is not None:  # the detector pool's proxy instead of a model here
                self.service.runner.workers[camera_id].analysis.use_detector(detector)
        except BaseException:
            self.close()
            raise
        self.meter = CostMeter()

    def start(self) -> str:
        """Start the camera; returns the node's IP (where it runs)."""
        self.service.start()
        import ray

        return str(ray.util.get_node_ip_address())

    def report(self) -> dict[str, Any]:
        """The camera's health (CameraStatus JSON), its counters and its measured cost."""
        worker = self.service.runner.workers[self.camera_id]
        status = worker.health.status()
        cores, per_frame = self.meter.sample(status.frames)
        counters = worker.counters()
        return {
            "status": status.to_json(),
            "events": dict(counters.events),
            "cores": cores,
            "cpu_per_frame": per_frame,
            "started_at": self.started_at,
            # the actor's process and its decoder's: what one camera holds on its node
            "rss_bytes": rss_bytes(os.getpid())
            + sum(rss_bytes(p.pid) for p in multiprocessing.active_children() if p.pid),
            "pid": os.getpid(),
        }

    def stop(self) -> None:
        """Stop the camera: its last tracks stored and published, its segment closed."""
        self.service.stop()
        self.close()

    def close(self) -> None:
        if self.bus is not None:
            self.bus.close()
            self.bus = None
        self.store.close()
