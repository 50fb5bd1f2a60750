"""The bundled demo served in its own process with an `mqtt:` section, on the real Mosquitto:
the lobby's person count changes as the clip plays, and when the process is killed (SIGKILL,
no goodbye) the broker's last will says Vigil is offline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import read_until
from tests.integrations.mqttbroker import URL, need_mosquitto, unique, watching
from tests.integrations.takyserver import wait_until
from tests.sources.conftest import free_port

CODE = """
from pathlib import Path
from vigil.config import MqttConfig
from vigil.server import demo_config, serve
mqtt = MqttConfig(url={url!r}, topic_prefix={prefix!r}, discovery_prefix={ha!r})
serve(demo_config().model_copy(update={{"mqtt": mqtt}}), "127.0.0.1", {port}, Path({data!r}))
"""


def test_counts_follow_the_demo_clip_and_the_last_will_says_offline(tmp_path: Path) -> None:
    need_mosquitto()
    prefix, ha = unique("vt"), unique("ha")
    code = CODE.format(url=URL, prefix=prefix, ha=ha, port=free_port(), data=str(tmp_path))
    with watching(f"{prefix}/#", f"{ha}/#") as side:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "VIGIL_ADMIN_PASSWORD": "mqtt-live-test-password"},
        )
        try:
            read_until(proc, "Vigil is running at", 90)
            assert proc.stderr is not None
            stream = proc.stderr
            threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()
            side.wait_for(f"{prefix}/available", "online", 30)
            side.wait_for(f"{prefix}/lobby/online", "ON", 60)
            discovery = [g for g in side.messages(f"{ha}/") if g.topic.endswith("/config")]
            assert any(json.loads(g.payload)["state_topic"] == f"{prefix}/lobby/person"
                       for g in discovery)  # fmt: skip
            # A person walks into view, and out again: the count goes up and back.
            counts = f"{prefix}/lobby/person"
            wait_until(lambda: int(side.last(counts) or 0) > 0, 90, "a person counted")
            wait_until(lambda: side.last(counts) == "0", 90, "the person gone again")
            events = [json.loads(g.payload) for g in side.messages(f"{prefix}/events")]
            assert {e["camera"] for e in events} >= {"lobby"}
            assert all("attributes" not in e for e in events)

            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            side.wait_for(f"{prefix}/available", "offline", 30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
