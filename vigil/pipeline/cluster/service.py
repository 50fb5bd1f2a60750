"""The cameras of `vigil serve` / `vigil worker` when `runner.kind` is ray: the cluster
runner, and the directory the web app asks (the camera actors serve it over NATS, as
`vigil worker` processes do), with the start/stop of vigil.worker.CameraService."""

from __future__ import annotations

from pathlib import Path

from vigil.bus import Bus
from vigil.bus.nats import NatsBus
from vigil.bus.remote import RemoteDirectory
from vigil.config import VigilConfig
from vigil.errors import VigilError
from vigil.pipeline.cluster.runner import ClusterRunner
from vigil.pipeline.live import LiveSettings
from vigil.store.db import Store


class ClusterService:
    def __init__(
        self,
        config: VigilConfig,
        store: Store,
        bus: Bus,
        db_url: str,
        data_dir: Path,
        live: LiveSettings | None = None,
    ) -> None:
        self.runner = ClusterRunner(config, store, db_url, data_dir, live=live)
        if not isinstance(bus, NatsBus):  # the runner checked bus.url already
            raise VigilError("runner.kind ray needs bus.url (NATS); set it in vigil.yml")
        self.directory = RemoteDirectory(bus)

    def start(self) -> None:
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()
        self.directory.close()
