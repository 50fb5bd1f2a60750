"""The clients of bench/scale_events.py: logged-in WebSocket clients of the web app and a
core-NATS tap on the stream's subjects (each event's arrival time, by event id), on an event
loop in a thread of their own; and `Proc`, a child process that takes commands on stdin and
answers JSON lines on stdout (the simulated cameras, bench/scale_load.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latency import read_until

BENCH = Path(__file__).resolve().parent
PASSWORD = "scale-bench-password"
NATS_URL = os.environ.get("VIGIL_BENCH_NATS_URL", "nats://127.0.0.1:4222")
QUIET_S = 5.0  # a level has ended once nothing arrived for this long after the producer ended


@dataclass
class Arrivals:
    """What the clients saw: per client, (level, id, captured, published, arrived); the tap's
    arrival time per event id; WebSocket `dropped` counts."""

    clients: list[list[tuple[int, int, float, float, float]]]
    tap: dict[int, float] = field(default_factory=dict)
    dropped: int = 0

    def count(self, level: int) -> int:
        return min(sum(1 for a in c if a[0] == level) for c in self.clients)


async def ws_client(
    base: str, cookie: str, sink: list[Any], arrivals: Arrivals, ready: asyncio.Event
) -> None:
    from websockets.asyncio.client import connect

    url = base.replace("http://", "ws://") + "/api/ws"
    headers = {"Cookie": cookie, "Origin": base}
    async with connect(url, additional_headers=headers, max_size=None) as ws:
        async for raw in ws:
            now = time.time()
            m = json.loads(raw)
            if m["topic"] == "event":
                level = m["attributes"]["bench_level"]
                sink.append((level, m["id"], m["captured_at"], m["published_at"], now))
            elif m["topic"] == "dropped":
                arrivals.dropped += m["count"]
            elif m["topic"] == "hello":
                ready.set()


async def nats_tap(prefix: str, arrivals: Arrivals, ready: asyncio.Event) -> None:
    import nats

    nc = await nats.connect(NATS_URL)

    async def on(msg: Any) -> None:
        arrivals.tap[json.loads(msg.data)["id"]] = time.time()

    await nc.subscribe(f"{prefix}.event.>", cb=on)
    await nc.flush()
    ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await nc.close()


def login(base: str) -> str:
    import httpx

    with httpx.Client(base_url=base, timeout=10) as http:
        http.post("/api/login", json={"username": "admin", "password": PASSWORD}).raise_for_status()
        return f"vigil_session={http.cookies['vigil_session']}"


class Clients:
    """The WebSocket clients (and the NATS tap) on an event loop in a thread of their own."""

    def __init__(self, base: str, count: int, prefix: str | None) -> None:
        self.arrivals = Arrivals([[] for _ in range(count)])
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        cookies = [login(base) for _ in range(count)]
        self.tasks: list[asyncio.Task[None]] = []
        asyncio.run_coroutine_threadsafe(self._open(base, cookies, prefix), self.loop).result(30)

    async def _open(self, base: str, cookies: list[str], prefix: str | None) -> None:
        """Every client connected (its `hello` received) and the tap subscribed."""
        ready = [asyncio.Event() for _ in range(len(cookies) + (prefix is not None))]
        for cookie, sink, event in zip(cookies, self.arrivals.clients, ready, strict=False):
            self.tasks.append(
                asyncio.create_task(ws_client(base, cookie, sink, self.arrivals, event))
            )
        if prefix is not None:
            self.tasks.append(asyncio.create_task(nats_tap(prefix, self.arrivals, ready[-1])))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 20)

    async def _close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def wait_for(self, level: int, produced: int, limit_s: float) -> None:
        """Until every client has `produced` events of `level`, or nothing came for QUIET_S."""
        deadline, last, quiet_from = time.monotonic() + limit_s, -1, time.monotonic()
        while time.monotonic() < deadline:
            got = self.arrivals.count(level)
            if got >= produced:
                return
            if got != last:
                last, quiet_from = got, time.monotonic()
            elif time.monotonic() - quiet_from > QUIET_S:
                return
            for task in self.tasks:
                if task.done():
                    task.result()  # a client that failed says why
            time.sleep(0.1)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Proc:
    """A child process that takes commands on stdin and answers JSON lines on stdout."""

    args: list[str]
    marker: str | None = None
    proc: subprocess.Popen[str] | None = None

    def start(self) -> dict[str, Any] | None:
        env = {**os.environ, "VIGIL_ADMIN_PASSWORD": PASSWORD}
        self.proc = subprocess.Popen(
            [sys.executable, *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=BENCH.parent,
        )
        if self.marker is not None:
            read_until(self.proc, self.marker, 120)
            threading.Thread(target=self._drain_stderr, daemon=True).start()
        return None

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for _ in self.proc.stderr:
            pass

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        if command:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr and self.marker is None else ""
            raise SystemExit(f"{self.args[:2]} ended without answering: {err[-2000:]}")
        return dict(json.loads(line))

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        import signal

        if self.proc.stdin is not None:  # the command loop ends at "quit" / end of input
            with contextlib.suppress(OSError):
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
        if self.marker is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                return self.proc.wait(timeout=30)
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
