"""The Ray runner: a configuration's cameras as Ray actors across a cluster's nodes.

    runner = ClusterRunner(config, store, db_url, data_dir)   # joins runner.address
    runner.start()        # each camera placed (placement.py) and started (host.py)
    runner.status()       # camera id -> CameraStatus, from the actors' reports
    runner.stop()         # every camera stopped cleanly: last tracks stored, segments closed

Each camera actor asks for `runner.camera_cpus` (a fraction of a CPU is fine) and, on a node
that has one, `runner.camera_gpus`. It does what `vigil worker` does for that camera, so its
events and health reach the web app over NATS (`bus.url`, required) and its rows land in the
database at `db_url`, which every node must reach (PostgreSQL; a SQLite file only when all
nodes share one machine). The data directory (snapshots, recordings) and file sources must
be the same paths on every node (a shared file system); network cameras need only be
reachable from every node.

What travels, per camera: nothing of its frames (the decoder process and the analysis share
a ring on the camera's node); to the driver, a report of about 0.5 kB every WATCH_S
(supervisor.py); over NATS and into the database what `vigil worker` sends. With the pool, a
picture scaled to the model's input per detection (416 px wide: 0.29 MB for a 16:9 frame).
With `runner.pool` the detector pool (pool.py) detects for the cameras that use the
configuration's main detector; the others detect on their own node.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from vigil.config import VigilConfig
from vigil.errors import VigilError
from vigil.pipeline.cluster.placement import Placement
from vigil.pipeline.cluster.pool import DetectorServer, PoolDetector
from vigil.pipeline.cluster.supervisor import (
    ClusterSupervisor,
    Recovery,
    Slot,
    Watch,
    cause_of,
)
from vigil.pipeline.health import CameraStatus, status_from_json
from vigil.pipeline.live import LiveSettings
from vigil.store.db import Store

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 20.0  # for every camera actor to store its last tracks and close its segment
POOL_START_S = 120.0  # for the pool's first actor to load its model
CONNECT_TIMEOUT_S = 5.0  # for the Ray head to accept a connection
OBJECT_STORE_BYTES = 128 * 1024 * 1024  # a local cluster's object store: only small things travel


def connect(address: str | None) -> bool:
    """Join the Ray cluster at `address` (None: start a local one); True when this call
    connected (so this runner disconnects at stop)."""
    try:
        import ray
    except ImportError:
        raise VigilError(
            "runner.kind ray needs Ray: pip install 'vigil[cluster]' (or set runner.kind: "
            "in-process)"
        ) from None
    if ray.is_initialized():
        return False
    if address is not None and address != "auto":
        check_reachable(address)  # Ray itself retries for minutes before it says anything
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address is None:
        options["object_store_memory"] = OBJECT_STORE_BYTES
        log.warning(
            "runner.address is not set: starting a one-machine Ray cluster here, which listens "
            "on every interface; for a real cluster start `ray start --head` and set its address"
        )
    # ray.init sets its own SIGTERM handler (exit 15 at once); the server's own ends the
    # cameras cleanly first: it is put back.
    on_term = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(address=address, **options)
        if on_term is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, on_term)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise VigilError(
            f"cannot join the Ray cluster at {address} ({first}); start it with `ray start "
            "--head` there, or check runner.address / --ray-address"
        ) from None
    return True


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """A VigilError unless something accepts TCP connections at `address` (host:port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise VigilError(f"Ray address '{address}' must be host:port (e.g. 10.0.0.5:6379)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise VigilError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it with "
            "`ray start --head` there, or check runner.address / --ray-address"
        ) from None


def absolute_db_url(url: str) -> str:
    """A SQLite file named relative to this process's folder, made absolute: the actors run
    in folders of their own."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    db = parsed.database
    if (
        parsed.get_backend_name() != "sqlite"
        or not db
        or db == ":memory:"
        or Path(db).is_absolute()
    ):
        return url
    return parsed.set(database=str(Path(db).resolve())).render_as_string(hide_password=False)


def live_nodes() -> dict[str, float]:
    """Ray's live nodes: node id -> CPUs it offers."""
    import ray

    return {
        n["NodeID"]: float(n.get("Resources", {}).get("CPU", 0.0))
        for n in ray.nodes()
        if n.get("Alive")
    }


def node_has_gpu(node_id: str) -> bool:
    import ray

    return any(
        n["NodeID"] == node_id and n.get("Resources", {}).get("GPU", 0) > 0 for n in ray.nodes()
    )


class ClusterRunner:
    """All configured cameras on a Ray cluster. start() once, stop() once (idempotent)."""

    def __init__(
        self,
        config: VigilConfig,
        store: Store,
        db_url: str,
        data_dir: Path,
        *,
        live: LiveSettings | None = None,
    ) -> None:
        if config.bus.url is None:
            raise VigilError(
                "runner.kind ray: the cameras' events and health reach the web app over NATS; "
                "set bus.url in vigil.yml (e.g. nats://10.0.0.5:4222)"
            )
        self.config, self.db_url, self.live = config, absolute_db_url(db_url), live
        self.data_dir = data_dir.resolve()
        for cam in config.cameras:
            store.save_camera(cam.to_camera())  # before any actor: they only add rows
        self.placement = Placement(config.runner.camera_cpus)
        self.slots = {cam.id: Slot(cam.id) for cam in config.cameras}
        self.watch = Watch(spawn=self._spawn, nodes=live_nodes)
        self.supervisor = ClusterSupervisor(self.slots, self.placement, self.watch)
        self.pool: list[Any] = []
        self._labels: list[str] = []
        self._connected = False
        self._started = self._stopped = False

    @property
    def recoveries(self) -> list[Recovery]:
        return list(self.watch.recoveries)

    def start(self) -> None:
        if self._started:
            raise VigilError("the cluster runner was already started; create a new one")
        self._started = True
        self._connected = connect(self.config.runner.address)
        self._start_pool()
        self.supervisor.check()  # every camera placed and started now, not a round later
        self.supervisor.start()

    def _start_pool(self) -> None:
        import ray

        cfg = self.config.runner.pool
        if cfg is None:
            return
        size = max((c.detect.size for c in self.config.cameras), default=416)
        server = ray.remote(DetectorServer).options(
            num_cpus=cfg.cpus, num_gpus=cfg.gpus, max_concurrency=cfg.batch * 4 + 4
        )
        self.pool = [
            server.remote(self.config.detector, size, cfg.batch, cfg.batch_wait_ms)
            for _ in range(cfg.size)
        ]
        try:
            self._labels = ray.get(self.pool[0].labels.remote(), timeout=POOL_START_S)
        except (ray.exceptions.RayError, TimeoutError) as exc:
            raise VigilError(
                f"runner.pool: the detector pool did not start ({cause_of(exc)}); the pool "
                "serves a detector without a background model (not kind: motion), check the "
                "detector: section, or remove runner.pool"
            ) from None

    def _pool_detector(self, camera_id: str) -> PoolDetector | None:
        cam = self.config.camera(camera_id)
        if not self.pool or cam.detector is not None:
            return None  # a camera with its own detector section detects on its own node
        index = [c.id for c in self.config.cameras].index(camera_id)
        return PoolDetector(self.pool, self._labels, cam.detect.size, index)

    def _spawn(self, camera_id: str, node_id: str) -> Any:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from vigil.pipeline.cluster.host import CameraHost

        rc = self.config.runner
        gpus = rc.camera_gpus if rc.camera_gpus and node_has_gpu(node_id) else 0
        actor: Any = (
            ray.remote(CameraHost)
            .options(
                num_cpus=rc.camera_cpus,
                num_gpus=gpus,
                max_restarts=0,
                max_concurrency=2,  # a report while start() or stop() runs
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
            )
            .remote(
                self.config,
                camera_id,
                self.db_url,
                str(self.data_dir),
                self._pool_detector(camera_id),
                self.live,
            )
        )
        actor.start.remote()
        return actor

    def status(self) -> dict[str, CameraStatus]:
        out = {}
        with self.supervisor.lock:
            for camera_id, slot in self.slots.items():
                if slot.report is not None:
                    out[camera_id] = status_from_json(slot.report["status"])
                else:
                    why = slot.lost_why or "starting on the cluster"
                    out[camera_id] = CameraStatus(
                        camera_id, False, time.time(), None, why, None, 0, 0, 0, None, None
                    )
        return out

    def reports(self) -> dict[str, dict[str, Any]]:
        """Each camera's last report, with the node it runs on."""
        with self.supervisor.lock:
            return {
                cid: {**(s.report or {}), "node": s.node_id, "generation": s.generation}
                for cid, s in self.slots.items()
            }

    def stop(self) -> None:
        """Stop every camera actor (their last tracks stored, segments closed), then the pool."""
        if self._stopped or not self._started:
            return
        self._stopped = True
        import ray

        self.supervisor.stop()
        actors = [s.actor for s in self.slots.values() if s.actor is not None]
        refs = [a.stop.remote() for a in actors]
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=STOP_TIMEOUT_S)
        for actor in [*actors, *self.pool]:
            with contextlib.suppress(Exception):
                ray.kill(actor, no_restart=True)
        if self._connected:
            ray.shutdown()
