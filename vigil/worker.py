"""`vigil worker`: a configuration's cameras without the web app, publishing over NATS; and the
parts `vigil serve` shares with it (the camera service, the alert service)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vigil import __version__
from vigil.api.bootstrap import SYSTEM_ACTOR
from vigil.audit.log import AuditLog
from vigil.bus import Bus, open_bus
from vigil.bus.nats import NatsBus
from vigil.bus.remote import DirectoryServer
from vigil.config import VigilConfig
from vigil.datadir import private_data_dir
from vigil.errors import VigilError
from vigil.logtext import configure_logging
from vigil.pipeline.directory import LocalDirectory
from vigil.pipeline.live import LiveRunner, LiveSettings
from vigil.recording.service import CameraRecorders
from vigil.rules.engine import AlertService, RuleEngine
from vigil.signals import stop_on_signals
from vigil.store.alerts import Alerts
from vigil.store.db import Store, default_db_url

if TYPE_CHECKING:
    from vigil.pipeline.cluster.service import ClusterService


def say_line(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def alert_service(config: VigilConfig, store: Store, bus: Bus, data_dir: Path) -> AlertService:
    """The rules, hotlists and watchlists raising alerts into `store` and onto `bus`."""
    return AlertService(Alerts(store), bus, RuleEngine(config.rules), data_dir=data_dir)


class CameraService:
    """A configuration's cameras (the live runner) and, on a NATS bus, their directory served
    to web apps in other processes."""

    def __init__(
        self,
        config: VigilConfig,
        store: Store,
        bus: Bus,
        data_dir: Path,
        alerts: AlertService,
        live: LiveSettings | None = None,
    ) -> None:
        self.runner = LiveRunner(config, store, bus, data_dir, alerts=alerts, settings=live)
        # Cameras with `recording.mode` on: a recorder thread next to each live pipeline, its
        # events mode triggered by the camera's stored events.
        self.recorders = CameraRecorders(config, store, data_dir)
        for camera_id, worker in self.runner.workers.items():
            trigger = self.recorders.trigger_for(camera_id)
            if trigger is not None:
                worker.outputs.event_listeners.append(trigger)
        self.directory = LocalDirectory(self.runner)
        self.server = DirectoryServer(bus, self.directory) if isinstance(bus, NatsBus) else None

    def start(self) -> None:
        self.runner.start()
        self.recorders.start()
        if self.server is not None:
            self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.recorders.request_stop()  # they end meanwhile
        self.runner.stop()  # their last tracks are stored and published
        self.recorders.stop()  # each current segment closed cleanly


def camera_service(
    config: VigilConfig,
    store: Store,
    bus: Bus,
    data_dir: Path,
    alerts: AlertService,
    db_url: str,
    live: LiveSettings | None = None,
) -> CameraService | ClusterService:
    """The configuration's cameras as `runner.kind` says: here, or on a Ray cluster."""
    if config.runner.kind == "ray":
        from vigil.pipeline.cluster.service import ClusterService

        return ClusterService(config, store, bus, db_url, data_dir, live)
    return CameraService(config, store, bus, data_dir, alerts, live)


class WorkerProcess:
    """`vigil worker`: the cameras only, publishing over NATS; a web app elsewhere shows them."""

    def __init__(
        self,
        config: VigilConfig,
        data_dir: Path,
        db_url: str | None = None,
        *,
        say: Callable[[str], None] = say_line,
        live: LiveSettings | None = None,
    ) -> None:
        if config.bus.url is None:
            raise VigilError(
                "vigil worker publishes over NATS: set bus.url in vigil.yml (e.g. "
                "nats://127.0.0.1:4222) and start `vigil serve --no-cameras` with the same file"
            )
        if not config.cameras:
            raise VigilError("the configuration has no cameras; add some under cameras:")
        self.say = say
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.cameras: CameraService | ClusterService | None = None
        self.audit: AuditLog | None = None
        self._started = False
        try:
            private_data_dir(data_dir, say)
            db_url = db_url or default_db_url(data_dir)
            self.store = Store(db_url)
            self.audit = AuditLog(
                self.store,
                data_dir,
                durability=config.audit.durability,
                sync_interval=config.audit.sync_interval_s,
                witness=say if config.audit.anchors_to_log else None,
            )
            self.bus = open_bus(config.bus)
            alerts = alert_service(config, self.store, self.bus, data_dir)
            self.cameras = camera_service(
                config, self.store, self.bus, data_dir, alerts, db_url, live
            )
        except BaseException:
            self.close()
            raise
        self.ids = [c.id for c in config.cameras]
        self.names = ", ".join(self.ids)
        self.where = config.bus.url
        self._stop = threading.Event()

    def run(self) -> None:
        assert self.cameras is not None
        configure_logging()
        try:
            with stop_on_signals(self._stop):
                self._record("system.start")  # when the cameras ran is on the record
                self._started = True
                self.cameras.start()
                self.say(f"Vigil camera worker is running {self.names} (Ctrl-C stops it)")
                while not self._stop.wait(0.5):
                    pass
        finally:
            self.close()

    def stop(self) -> None:
        self._stop.set()

    def _record(self, action: str) -> None:
        if self.audit is None:
            return
        details = {"process": "camera worker", "version": __version__, "cameras": self.ids}
        self.audit.append(SYSTEM_ACTOR, action, details=details if action.endswith("start") else {})

    def close(self) -> None:
        if self.cameras is not None:
            self.cameras.stop()
            self.cameras = None
            if self._started:
                self._record("system.stop")
        if self.audit is not None:
            self.audit.close()  # flushed, and the head anchored
        if self.bus is not None:
            self.bus.close()
        if self.store is not None:
            self.store.close()


def run_worker(
    config: VigilConfig, data_dir: Path = Path("vigil-data"), db_url: str | None = None
) -> None:
    """Run the configuration's cameras, publishing over NATS, until Ctrl-C or SIGTERM."""
    WorkerProcess(config, data_dir, db_url).run()
