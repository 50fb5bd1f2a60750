"""The live runner: every configured camera analysed as it happens.

Per camera, a decoder PROCESS (vigil.pipeline.decoder) writes frames into a shared-memory
ring and sends only slot numbers; a `CameraWorker` thread here (vigil.pipeline.worker) takes
the newest frame in place and runs the camera's parts: analysis, storage with snapshots,
alerts, the bus, the live view and health. A decoder that ends is started again with
back-off; stop() ends them all and removes every shared-memory segment.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
from pathlib import Path

from vigil.bus import Bus
from vigil.config import VigilConfig
from vigil.errors import VigilError
from vigil.pipeline.health import CameraStatus
from vigil.pipeline.worker import CameraWorker, LiveSettings
from vigil.rules.engine import AlertService
from vigil.store.db import Store

__all__ = ["CameraWorker", "LiveRunner", "LiveSettings"]


class LiveRunner:
    """All configured cameras, live. start() once, stop() once (idempotent)."""

    def __init__(
        self,
        config: VigilConfig,
        store: Store,
        bus: Bus | None,
        data_dir: Path,
        *,
        alerts: AlertService | None = None,
        settings: LiveSettings | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or LiveSettings()
        ctx = multiprocessing.get_context("spawn")
        # Segment names: unique per runner, so a runner never touches another's memory.
        prefix = f"vigil-{os.getpid()}-{secrets.token_hex(3)}"
        self.ring_prefix = prefix
        self.workers = {
            cam.id: CameraWorker(
                cam, config, store, bus, data_dir, alerts, self.settings, ctx, f"{prefix}-{i}"
            )
            for i, cam in enumerate(config.cameras)
        }
        for cam in config.cameras:
            store.save_camera(cam.to_camera())
        self._started = False
        self._stopped = False

    def start(self) -> None:
        if self._started:
            raise VigilError("the live runner was already started; create a new one")
        self._started = True
        for worker in self.workers.values():
            worker.start()

    def stop(self) -> None:
        """Stop every camera: their last tracks are stored, processes joined, memory freed."""
        if self._stopped:
            return
        self._stopped = True
        for worker in self.workers.values():
            worker.stopping.set()  # all at once: each may take a while to wind down
        for worker in self.workers.values():
            worker.stop()

    def status(self) -> dict[str, CameraStatus]:
        return {cam_id: w.health.status() for cam_id, w in self.workers.items()}

    def worker(self, camera_id: str) -> CameraWorker | None:
        return self.workers.get(camera_id)

    def __enter__(self) -> LiveRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
