"""Vigil as a server: the live runner and the web app (uvicorn) in one process; or, on a
NATS bus, the cameras (`vigil worker`, vigil/worker.py) and the web app (`vigil serve
--no-cameras`) apart.

    from pathlib import Path
    from vigil.server import demo_config, serve
    serve(demo_config(), "127.0.0.1", 8080, Path("vigil-data"))   # until Ctrl-C

`serve` binds the port first (a port in use is a VigilError, before anything starts), then
starts the cameras and the app; Ctrl-C or SIGTERM stops the app, then every camera (their
last tracks are stored, decoder processes joined, shared memory freed).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import uvicorn

from vigil.api.app import Settings, create_app
from vigil.api.guard import host_of, is_loopback
from vigil.api.ws import MAX_CLIENT_MESSAGE
from vigil.audit.retention import RetentionJob
from vigil.bus import Bus, open_bus
from vigil.bus.nats import NatsBus
from vigil.bus.remote import RemoteDirectory
from vigil.config import VigilConfig, load_config
from vigil.datadir import private_data_dir
from vigil.errors import VigilError
from vigil.logtext import configure_logging
from vigil.pipeline.directory import CameraDirectory, NoCameras
from vigil.pipeline.live import LiveSettings
from vigil.store.db import Store, default_db_url
from vigil.worker import CameraService, alert_service, camera_service, run_worker, say_line

if TYPE_CHECKING:
    from vigil.pipeline.cluster.service import ClusterService

DEMO_CONFIG = "demo-server.yml"
FIRE_DEMO_CONFIG = "demo-fire.yml"  # `vigil demo --fire`: two towers watching a house fire


def resolve_sources(config: VigilConfig, base: Path) -> VigilConfig:
    """Relative file sources made absolute against `base` (URLs stay as they are)."""
    cameras = []
    for cam in config.cameras:
        source = cam.source
        scheme = urlsplit(source).scheme
        if len(scheme) <= 1 and not Path(source).is_absolute():  # a plain path (or C:\...)
            source = str((base / source).resolve())
        cameras.append(cam.model_copy(update={"source": source}))
    return config.model_copy(update={"cameras": cameras})


def demo_config(name: str = DEMO_CONFIG) -> VigilConfig:
    """The bundled demo: two looping cameras on a map, a zone, a line and two alert rules
    (or, with FIRE_DEMO_CONFIG, the fire watch demo)."""
    assets = Path(str(resources.files("vigil") / "assets"))
    return resolve_sources(load_config(assets / name), assets)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or a VigilError that says what to change."""
    if not 0 < port < 65536:
        raise VigilError(f"port {port} is not a TCP port; choose one from 1 to 65535 with --port")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise VigilError(f"cannot listen on host '{host}' ({exc.strerror}); check --host") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise VigilError(
                f"port {port} on {host} is in use; choose another with --port"
            ) from None
        if exc.errno == errno.EACCES:
            raise VigilError(
                f"no permission to listen on port {port} on {host}; choose a port above 1023"
            ) from None
        raise VigilError(
            f"cannot listen on {host}:{port} ({exc.strerror}); check --host and --port"
        ) from None
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the server like Ctrl-C does, so the cameras are stopped cleanly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exposure_warnings(host: str, config: VigilConfig, secure_cookies: bool) -> list[str]:
    """What to tell an operator whose server can be reached from other machines."""
    if is_loopback(host_of(host)):
        return []
    said = []
    if not (secure_cookies or config.server.secure_cookies):
        said.append(
            f"listening on {host}, beyond this machine, with plain-HTTP session cookies: put "
            "HTTPS in front (a reverse proxy) and set server.secure_cookies: true"
        )
    if not config.server.allowed_hosts:
        said.append(
            "server.allowed_hosts is not set: only loopback names, the listening address and "
            "this machine's own names are served; list the names clients use"
        )
    return said


def web_consumer(data_dir: Path, port: int) -> str:
    """The durable name under which a web process reads the bus: the same after a restart
    (so it replays what it missed), different for every web process of an installation."""
    where = f"{socket.gethostname()}:{data_dir.resolve()}:{port}"
    return "web-" + hashlib.sha256(where.encode()).hexdigest()[:12]


class VigilServer:
    """The parts of a running server; `run()` blocks until stopped (Ctrl-C or `stop()`).

    With `cameras` (the default) it runs the configuration's cameras as well as the web app;
    without, only the web app, which hears of the cameras from `vigil worker` processes over
    the bus (`bus.url`), or of none."""

    def __init__(
        self,
        config: VigilConfig,
        host: str,
        port: int,
        data_dir: Path,
        db_url: str | None = None,
        *,
        cameras: bool = True,
        say: Callable[[str], None] = say_line,
        live: LiveSettings | None = None,
        retention_interval: float = 3600.0,
        **settings: Any,
    ) -> None:
        self.host, self.say = host, say
        self.socket = bind(host, port)
        self.port = int(self.socket.getsockname()[1])
        self.url = url_for(host, self.port)
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.cameras: CameraService | ClusterService | None = None
        self.directory: CameraDirectory = NoCameras()
        self.retention: RetentionJob | None = None
        try:
            private_data_dir(data_dir, say)
            db_url = db_url or default_db_url(data_dir)
            self.store = Store(db_url)
            self.retention = RetentionJob(
                self.store,
                data_dir,
                config.retention,
                interval=retention_interval,
                cameras=config.cameras,
            )
            self.bus = open_bus(config.bus, consumer=web_consumer(data_dir, self.port))
            alerts = alert_service(config, self.store, self.bus, data_dir)
            if cameras:
                self.cameras = camera_service(
                    config, self.store, self.bus, data_dir, alerts, db_url, live
                )
                self.directory = self.cameras.directory
            elif isinstance(self.bus, NatsBus):
                self.directory = RemoteDirectory(self.bus)
            app_settings = Settings.from_env(
                config,
                data_dir,
                db_url=db_url,
                announce=say,
                listen_host=host,
                on_started=lambda: say(f"Vigil is running at {self.url} (Ctrl-C stops it)"),
                **settings,
            )
            for warning in exposure_warnings(host, config, app_settings.secure_cookies):
                say(f"warning: {warning}")
            app = create_app(
                app_settings,
                store=self.store,
                bus=self.bus,
                cameras=self.directory,
                alert_service=alerts,
            )
        except BaseException:
            self.close()
            raise
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                lifespan="on",
                timeout_graceful_shutdown=3,
                proxy_headers=False,
                ws_max_size=MAX_CLIENT_MESSAGE,
            )
        )

    def run(self) -> None:
        configure_logging()
        try:
            # Ctrl-C is how a server ends, also while it is still starting.
            with _sigterm_as_interrupt(), contextlib.suppress(KeyboardInterrupt):
                if self.cameras is not None:
                    self.cameras.start()
                if self.retention is not None:  # the purge job: now, then hourly
                    self.retention.start()
                self.server.run(sockets=[self.socket])  # says it is running once it serves
        finally:
            self.close()

    def stop(self) -> None:
        """Ask a running server to end (from another thread); run() then returns."""
        self.server.should_exit = True

    def close(self) -> None:
        if self.retention is not None:
            self.retention.stop()
        if self.cameras is not None:
            self.cameras.stop()
        if isinstance(self.directory, RemoteDirectory):
            self.directory.close()
        if self.bus is not None:
            self.bus.close()
        if self.store is not None:
            self.store.close()
        self.socket.close()


def serve(
    config: VigilConfig,
    host: str = "127.0.0.1",
    port: int = 8080,
    data_dir: Path = Path("vigil-data"),
    db_url: str | None = None,
    **options: Any,
) -> None:
    """Run Vigil (cameras + web app) until Ctrl-C or SIGTERM. Raises VigilError for a port in
    use, a database that cannot be opened or a camera model that cannot be loaded."""
    VigilServer(config, host, port, data_dir, db_url, **options).run()


__all__ = ["VigilServer", "demo_config", "resolve_sources", "run_worker", "serve"]
