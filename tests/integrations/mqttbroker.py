"""The MQTT side of the tests: a watcher on the real Mosquitto (127.0.0.1:1883) that keeps
every message it gets, and a private Mosquitto with a password file (wrong credentials)."""

from __future__ import annotations

import contextlib
import getpass
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho

from tests.conftest import need
from tests.integrations.takyserver import wait_until
from tests.sources.conftest import free_port

HOST, PORT = "127.0.0.1", 1883
URL = f"mqtt://{HOST}:{PORT}"


def need_mosquitto() -> None:
    """The broker on 127.0.0.1:1883; under CI=true its absence fails."""
    try:
        socket.create_connection((HOST, PORT), timeout=2).close()
        up = True
    except OSError:
        up = False
    need(up, f"no MQTT broker on {HOST}:{PORT}; install and start mosquitto")


def unique(what: str) -> str:
    """A topic prefix no other test (or run) uses."""
    return f"{what}{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Got:
    topic: str
    payload: str
    retain: bool


class Watcher:
    """A client subscribed to `topics` that keeps what arrives, in order."""

    def __init__(self, *topics: str, port: int = PORT) -> None:
        self.got: list[Got] = []
        self._lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=unique("watch"))
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect(HOST, port, keepalive=30)
        self.client.loop_start()
        self.client.subscribe([(t, 1) for t in topics])
        assert subscribed.wait(10), "the watcher could not subscribe"

    def _on_message(self, _client: object, _userdata: object, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.got.append(Got(msg.topic, msg.payload.decode("utf-8", "replace"), msg.retain))

    def messages(self, prefix: str = "") -> list[Got]:
        with self._lock:
            return [g for g in self.got if g.topic.startswith(prefix)]

    def last(self, topic: str) -> str | None:
        found = [g.payload for g in self.messages() if g.topic == topic]
        return found[-1] if found else None

    def wait_for(self, topic: str, payload: str | None = None, timeout: float = 20) -> str:
        """The topic's newest payload, once there is one (equal to `payload`, if given)."""

        def arrived() -> bool:
            value = self.last(topic)
            return value is not None and (payload is None or value == payload)

        wait_until(arrived, timeout, f"{topic} = {payload!r}")
        return self.last(topic) or ""

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def clear(self) -> None:
        with self._lock:
            self.got.clear()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@contextlib.contextmanager
def watching(*topics: str, port: int = PORT) -> Iterator[Watcher]:
    watcher = Watcher(*topics, port=port)
    try:
        yield watcher
    finally:
        watcher.close()


@contextlib.contextmanager
def locked_broker(tmp: Path, user: str, password: str) -> Iterator[int]:
    """A private Mosquitto on a free port that takes only `user` with `password`."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    need(Path(binary).is_file(), "mosquitto is missing; install the mosquitto package")
    passwords = tmp / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), user, password],
        check=True,
        capture_output=True,
    )
    port = free_port()
    conf = tmp / "mosquitto.conf"
    # As root Mosquitto would become the `mosquitto` user, who cannot read pytest's tmp_path.
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        f"user {getpass.getuser()}\n"
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the private mosquitto did not start"
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
