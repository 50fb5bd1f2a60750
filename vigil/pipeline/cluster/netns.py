"""A Ray cluster of several nodes on ONE machine, for tests and benchmarks (root only).

Ray binds every interface, so each node runs in a network namespace of its own that sees
only its loopback and a veth joined to a bridge in the host's namespace:

    host:  bridge 10.213.X.1 ── relays to 127.0.0.1:5432 (PostgreSQL), :4222 (NATS)
    node 0 (head): 10.213.X.2      node 1: 10.213.X.3      ...

PostgreSQL and NATS listen on the host's 127.0.0.1 only; a small TCP relay in this process
(`TcpRelay`) forwards the bridge address's ports to them, so the nodes reach the real
servers. Losing a node is `kill_node(i)`: every process in its namespace SIGKILLed at once,
as when a machine loses power. `close()` (or the with-block's end) kills every node, stops
the relays and removes the namespaces and the bridge, also after a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

RAY_PORT = 6379
NODE_START_TIMEOUT_S = 120.0
# The head notices a silent node within about period x threshold (Ray's defaults: 15 s).
HEALTH_ENV = {"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "4"}


def ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _free_subnet() -> int:
    used = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
    for _ in range(100):
        x = secrets.randbelow(250) + 2
        if f"10.213.{x}." not in used:
            return x
    raise RuntimeError("no free 10.213.X.0/24 subnet for the test cluster")


class TcpRelay:
    """Forwards connections to (listen_host, port) on to (target_host, target_port)."""

    def __init__(self, listen_host: str, port: int, target_host: str, target_port: int) -> None:
        self.listen, self.target = (listen_host, port), (target_host, target_port)
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10) or self._server is None:
            raise RuntimeError(f"the relay on {listen_host}:{port} did not start")

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        with contextlib.suppress(OSError):
            self._server = self.loop.run_until_complete(
                asyncio.start_server(self._relay, *self.listen)
            )
        ready.set()
        if self._server is not None:
            self.loop.run_forever()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def close(self) -> None:
        def shut() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.stop()

        self.loop.call_soon_threadsafe(shut)
        self._thread.join(10)


class LocalCluster:
    """`nodes` Ray nodes of `cpus` logical CPUs each, node 0 the head. See the module."""

    def __init__(self, nodes: int = 2, cpus: float = 2.0, relay: tuple[int, ...] = (5432, 4222)):
        self.tag = secrets.token_hex(3)
        self.token = secrets.token_hex(32)
        self.subnet = _free_subnet()
        self.host_ip = f"10.213.{self.subnet}.1"
        self.bridge = f"vg{self.tag}b"
        self.namespaces = [f"vg{self.tag}n{i}" for i in range(nodes)]
        self.ips = [f"10.213.{self.subnet}.{i + 2}" for i in range(nodes)]
        self.cpus, self.relay_ports = cpus, relay
        self.relays: list[TcpRelay] = []
        self.tmp = Path(tempfile.mkdtemp(prefix=f"vg{self.tag}-"))
        self.head_address = f"{self.ips[0]}:{RAY_PORT}"
        self._made: list[str] = []

    def __enter__(self) -> LocalCluster:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        self._made.append("bridge")
        ip("addr", "add", f"{self.host_ip}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for i, ns in enumerate(self.namespaces):
            ip("netns", "add", ns)
            self._made.append(ns)
            host_end, node_end = f"vg{self.tag}h{i}", f"vg{self.tag}p{i}"
            ip("link", "add", host_end, "type", "veth", "peer", "name", node_end)
            ip("link", "set", node_end, "netns", ns)
            ip("link", "set", host_end, "master", self.bridge, "up")
            ip("-n", ns, "addr", "add", f"{self.ips[i]}/24", "dev", node_end)
            ip("-n", ns, "link", "set", node_end, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        self.relays = [TcpRelay(self.host_ip, p, "127.0.0.1", p) for p in self.relay_ports]
        for i in range(len(self.namespaces)):
            self.start_node(i)

    def env(self) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)
        path = f"{bin_dir}:{os.environ.get('PATH', '')}"
        # The cluster's own token: its nodes and drivers authenticate to each other with it.
        auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}
        return {**os.environ, **HEALTH_ENV, **auth, "PATH": path, "RAY_USAGE_STATS_ENABLED": "0"}

    def start_node(self, i: int) -> None:
        """Start node `i` (the head first); returns once it has joined."""
        ray = str(Path(sys.executable).parent / "ray")
        store = str(96 * 1024 * 1024)
        common = ["--node-ip-address", self.ips[i], "--num-cpus", f"{self.cpus:g}",
                  "--object-store-memory", store, "--disable-usage-stats"]  # fmt: skip
        if i == 0:
            argv = [ray, "start", "--head", "--port", str(RAY_PORT), "--include-dashboard=false",
                    "--temp-dir", str(self.tmp / "ray"), *common]  # fmt: skip
        else:
            argv = [ray, "start", "--address", self.head_address, *common]
        done = self.run(i, argv, timeout=NODE_START_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"ray start on node {i} failed: {done.stderr[-2000:]}")
        self.wait_nodes(i + 1)

    def wait_nodes(self, count: int, timeout: float = NODE_START_TIMEOUT_S) -> None:
        # The head's own address, not "auto" (a file under /tmp/ray that every cluster on
        # this machine shares).
        probe = f"import ray; ray.init(address='{self.head_address}', logging_level='ERROR'); " \
                "print(sum(1 for n in ray.nodes() if n['Alive']))"  # fmt: skip
        deadline = time.monotonic() + timeout
        said = ""
        while time.monotonic() < deadline:
            try:
                done = self.run(0, [sys.executable, "-c", probe], timeout=60)
            except subprocess.TimeoutExpired:
                said = "the probe did not answer in 60 s"
                continue
            lines = done.stdout.strip().splitlines()
            if done.returncode == 0 and lines and int(lines[-1]) >= count:
                return
            said = done.stderr[-1000:]
            time.sleep(0.5)
        raise RuntimeError(f"{count} Ray nodes did not come up: {said}")

    def run(self, i: int, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.namespaces[i], *argv],
            capture_output=True, text=True, timeout=timeout, env=self.env(),
        )  # fmt: skip

    def popen(
        self, i: int, argv: list[str], env: dict[str, str] | None = None, **options: Any
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["ip", "netns", "exec", self.namespaces[i], *argv], text=True,
            env={**self.env(), **(env or {})}, **options,
        )  # fmt: skip

    def pids(self, i: int) -> list[int]:
        out = subprocess.run(["ip", "netns", "pids", self.namespaces[i]],
                             capture_output=True, text=True).stdout  # fmt: skip
        return [int(p) for p in out.split()]

    def kill_node(self, i: int) -> float:
        """SIGKILL every process of node `i`; returns the UNIX time it was done."""
        for _ in range(5):  # a process may fork while we kill
            pids = self.pids(i)
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        return time.time()

    def close(self) -> None:
        for i, ns in enumerate(self.namespaces):
            if ns in self._made:
                self.kill_node(i)
        for relay in self.relays:
            relay.close()
        self.relays = []
        for ns in self.namespaces:
            if ns in self._made:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        if "bridge" in self._made:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, timeout=30)
        self._made = []
        shutil.rmtree(self.tmp, ignore_errors=True)
