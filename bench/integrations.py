"""Integrations at the end of the bus: how many events a second each sink passes on, and the
latency it adds over the WebSocket feed (the peer) in the same run.

    .venv/bin/python bench/integrations.py                  # 3 rounds, one JSON line
    .venv/bin/python bench/integrations.py --rounds 5 --events 2000 --rate 200
    .venv/bin/python bench/integrations.py --sinks websocket,mqtt    # only those sinks

One `vigil serve --no-cameras` (VigilServer in a thread of this process, a temporary data
directory, SQLite) with an `mqtt:` section on the real Mosquitto at --broker (default
127.0.0.1:1883, a topic prefix of the run's own). Events (the REST event resource) are published
onto the server's bus from a thread of this process; each sink receives them where a user of
it would:

- `websocket` (the peer): an admin's /api/ws (what the live page reads);
- `mqtt`: a subscriber of `<prefix>/events` on the same broker (what Home Assistant reads);
- `webhooks`: an HTTP receiver on 127.0.0.1 (tests/integrations/hookreceiver.py: a
  ThreadingHTTPServer that verifies each signature with hmac and dedupes on Vigil-Delivery)
  that a `webhooks:` entry of the server POSTs every event to (each delivery stored, then
  POSTed, then its outcome stored: the delivery log's cost is in the number).

Per round two phases: `latency` (--events at --rate a second, evenly spaced; latency = arrival
- the moment the event was handed to the bus, matched by event id; client and server share a
clock) and `throughput` (the same number as fast as the sinks take them, the publisher held
back while more than --window are on their way to the slowest sink; events/s = events / (last
arrival - first publish)). The result: per sink the median over rounds of p50/p95 and
events/s (and each round's values), the MQTT p50/p95 minus the WebSocket's (`added_ms`), and
messages lost. Nothing here was tuned on its own numbers.

Each sink is one function (`*_sink`) returning a `Sink`; another integration adds its own and
puts it in `SINKS`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-integrations-password"


@dataclass
class Sink:
    """Where events arrive: id -> arrival time (time.time())."""

    name: str
    arrivals: dict[int, float] = field(default_factory=dict)
    close: Callable[[], None] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arrived(self, ident: int) -> None:
        now = time.time()
        with self.lock:
            self.arrivals.setdefault(ident, now)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()


@dataclass
class Run:
    base: str  # http://127.0.0.1:port
    state: Any  # the app's AppState
    broker: tuple[str, int]
    prefix: str
    hook_port: int = 0  # where the webhooks sink listens


def websocket_sink(run: Run) -> Sink:
    """The peer: an admin's live WebSocket."""
    import httpx
    from websockets.sync.client import connect

    with httpx.Client(base_url=run.base, timeout=10) as http:
        r = http.post("/api/login", json={"username": "benchadmin", "password": PASSWORD})
        r.raise_for_status()
        cookie = f"vigil_session={http.cookies['vigil_session']}"
    ws = connect(
        run.base.replace("http://", "ws://") + "/api/ws",
        additional_headers={"Cookie": cookie, "Origin": run.base},
        max_size=None,
    )
    assert json.loads(ws.recv(timeout=10))["topic"] == "hello"
    sink = Sink("websocket")

    def read() -> None:
        with contextlib.suppress(Exception):  # the socket closed at the end
            for raw in ws:
                message = json.loads(raw)
                if message.get("topic") == "event":
                    sink.arrived(int(message["id"]))

    threading.Thread(target=read, daemon=True).start()
    sink.close = ws.close
    return sink


def mqtt_sink(run: Run) -> Sink:
    """A subscriber of `<prefix>/events` on the broker Vigil publishes to."""
    import paho.mqtt.client as paho

    sink = Sink("mqtt")
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex}")
    client.on_message = lambda _c, _u, msg: sink.arrived(int(json.loads(msg.payload)["id"]))
    subscribed = threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(*run.broker, keepalive=30)
    client.loop_start()
    client.subscribe(f"{run.prefix}/events", qos=1)
    assert subscribed.wait(10), "could not subscribe to the broker"

    def close() -> None:
        client.loop_stop()
        client.disconnect()

    sink.close = close
    return sink


HOOK_SECRET = "bench-integrations-webhook-secret"


def webhooks_sink(run: Run) -> Sink:
    """A receiver of the run's webhook that checks every signature and dedupes on the key."""
    from tests.integrations.hookreceiver import Receiver

    sink = Sink("webhooks")

    def accepted(body: bytes) -> None:
        sink.arrived(int(json.loads(body)["data"]["id"]))

    rx = Receiver(HOOK_SECRET.encode(), port=run.hook_port, on_accept=accepted)
    rx.__enter__()
    sink.close = lambda: rx.__exit__(None, None, None)
    return sink


SINKS: list[Callable[[Run], Sink]] = [websocket_sink, mqtt_sink, webhooks_sink]


@contextlib.contextmanager
def serving(broker: tuple[str, int], prefix: str, hooks: bool = True) -> Iterator[Run]:
    from tests.integrations.takyserver import wait_until
    from tests.sources.conftest import free_port
    from vigil.api.deps import state_of
    from vigil.config import VigilConfig
    from vigil.domain import Role
    from vigil.server import VigilServer

    hook_port = free_port()
    config = VigilConfig.model_validate(
        {
            "cameras": [{"id": "gate", "source": "rtsp://10.0.0.9/gate"}],
            "mqtt": {
                "url": f"mqtt://{broker[0]}:{broker[1]}",
                "topic_prefix": prefix,
                "discovery": False,
                "queue_size": 100_000,
            },
            "webhooks": [
                {
                    "name": "bench", "url": f"http://127.0.0.1:{hook_port}/hook",
                    "secret": HOOK_SECRET, "events": ["line_cross"], "allow_private": True,
                    "queue_size": 100_000,
                }
            ],
        }
    )  # fmt: skip
    if not hooks:  # no webhooks sink: no deliveries for the server to make either
        config = config.model_copy(update={"webhooks": []})
    said: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as data:
        server = VigilServer(
            config, "127.0.0.1", free_port(), Path(data), cameras=False, say=said.append
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_until(lambda: any("Vigil is running" in s for s in said), 60, "server")
            state = state_of(server.server.config.app)
            state.users.create("benchadmin", PASSWORD, Role.ADMIN)
            link = state.extra["mqtt"]
            wait_until(lambda: link.connected, 20, "Vigil connected to the broker")
            yield Run(server.url.rstrip("/"), state, broker, prefix, hook_port)
        finally:
            server.stop()
            thread.join(30)


def event(ident: int) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "topic": "event", "id": ident, "camera": "gate", "type": "line_cross", "time": now,
        "media_time": 0.0, "track_id": ident, "label": "car", "score": 0.9,
        "box": [0.1, 0.1, 0.2, 0.2], "zone": None, "line": "middle", "direction": "in",
        "attributes": {"direction": "in"}, "snapshot_url": None,
    }  # fmt: skip


def phase(
    run: Run, sinks: list[Sink], first: int, n: int, rate: float | None, window: int
) -> dict[int, float]:
    """Publish events first..first+n-1 (at `rate` a second, or flow-controlled by `window`);
    wait for them at every sink; the moment each was handed to the bus."""
    sent: dict[int, float] = {}
    start = time.monotonic()
    for i in range(n):
        if rate is not None:
            ahead = start + i / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        else:
            while i - min(s.count() for s in sinks) > window:
                time.sleep(0.0005)
        message = event(first + i)
        sent[first + i] = time.time()
        run.state.bus.publish(message)
    counts, still = [-1], time.monotonic()
    while any(s.count() < n for s in sinks) and time.monotonic() - still < 10:
        now = [s.count() for s in sinks]
        if now != counts:  # some still arriving; 10 s without any: the rest are lost
            counts, still = now, time.monotonic()
        time.sleep(0.01)
    return sent


def measure(sink: Sink, sent: dict[int, float]) -> dict[str, Any]:
    lat = sorted(sink.arrivals[i] - t for i, t in sent.items() if i in sink.arrivals)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000, 2)

    span = max(sink.arrivals[i] for i in sent if i in sink.arrivals) - min(sent.values())
    return {
        "p50_ms": pct(50), "p95_ms": pct(95), "max_ms": round(lat[-1] * 1000, 2),
        "events_per_s": round(len(lat) / span, 1), "lost": len(sent) - len(lat),
    }  # fmt: skip


def one_round(run: Run, sinks: list[Sink], first: int, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rate in (("latency", args.rate), ("throughput", None)):
        for s in sinks:
            s.reset()
        sent = phase(run, sinks, first, args.events, rate, args.window)
        first += args.events
        out[name] = {s.name: measure(s, sent) for s in sinks}
    return out


def median(rounds: list[dict[str, Any]], phase_name: str, sink: str, key: str) -> float:
    return round(statistics.median(r[phase_name][sink][key] for r in rounds), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="latency phase, events/s")
    parser.add_argument("--window", type=int, default=400, help="throughput: in flight")
    parser.add_argument("--broker", default="127.0.0.1:1883")
    names = [make.__name__.removesuffix("_sink") for make in SINKS]
    parser.add_argument(
        "--sinks", default=",".join(names), help=f"which of {','.join(names)} (websocket first)"
    )
    args = parser.parse_args()
    host, port = args.broker.rsplit(":", 1)
    broker = (host, int(port))
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    rounds: list[dict[str, Any]] = []
    wanted = args.sinks.split(",")
    with serving(broker, prefix, hooks="webhooks" in wanted) as run:
        sinks = [make(run) for make in SINKS if make.__name__.removesuffix("_sink") in wanted]
        try:
            for r in range(args.rounds):
                rounds.append(one_round(run, sinks, 1 + r * 2 * args.events, args))
                print(f"round {r + 1}: {json.dumps(rounds[-1])}", file=sys.stderr)
        finally:
            for s in sinks:
                s.close()
    summary: dict[str, Any] = {}
    for s in sinks:
        summary[s.name] = {
            "p50_ms": median(rounds, "latency", s.name, "p50_ms"),
            "p95_ms": median(rounds, "latency", s.name, "p95_ms"),
            "events_per_s": median(rounds, "throughput", s.name, "events_per_s"),
            "lost": sum(r[p][s.name]["lost"] for r in rounds for p in ("latency", "throughput")),
        }
    for s in sinks:
        if s.name != "websocket":
            summary[s.name]["added_p50_ms"] = round(
                summary[s.name]["p50_ms"] - summary["websocket"]["p50_ms"], 2
            )
            summary[s.name]["added_p95_ms"] = round(
                summary[s.name]["p95_ms"] - summary["websocket"]["p95_ms"], 2
            )
    print(json.dumps({
        "bench": "integrations", "rounds": args.rounds, "events": args.events,
        "rate": args.rate, "summary": summary, "per_round": rounds,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
