"""Vigil on the real Mosquitto (127.0.0.1:1883), served in a thread: Home Assistant discovery
retained, valid and sent again when Home Assistant comes online; counts, events and alerts as
they reach the bus; an alert acknowledged over MQTT by a mapped operator (audited as them),
refused for anyone else; a broker that cannot be used is a log line and a health status."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from sqlalchemy import select

from tests.integrations.mqttbroker import (
    URL,
    locked_broker,
    need_mosquitto,
    unique,
    watching,
)
from tests.integrations.takyserver import wait_until
from tests.sources.conftest import free_port
from vigil.api.deps import AppState, state_of
from vigil.audit.report import transparency_report
from vigil.config import VigilConfig, parse_config
from vigil.domain import Alert, AlertStatus, EventType, Role
from vigil.errors import ConfigError
from vigil.integrations.mqtt import STATE_KEY, MqttLink
from vigil.server import VigilServer
from vigil.store.alerts import Alerts
from vigil.store.tables import AuditRow

PASSWORD = "mqtt-test-password-1"
TOKEN = "a-long-command-token-of-alice"
REQUIRED = {"name", "unique_id", "state_topic", "device", "availability"}


def config(prefix: str, ha: str, **mqtt: Any) -> VigilConfig:
    return VigilConfig.model_validate(
        {
            "cameras": [
                {
                    "id": "gate",
                    "name": "Main gate",
                    "source": "rtsp://10.0.0.9/gate",
                    "objects": {"labels": ["person", "car"]},
                    "zones": [{"name": "drive", "polygon": [[0, 0], [1, 0], [1, 1]]}],
                }
            ],
            "mqtt": {
                "url": URL,
                "topic_prefix": prefix,
                "discovery_prefix": ha,
                "reconnect_min_s": 0.2,
                "reconnect_max_s": 1.0,
                **mqtt,
            },
        }
    )


@contextlib.contextmanager
def vigil(cfg: VigilConfig, data_dir: Path) -> Iterator[tuple[AppState, MqttLink, str]]:
    """`vigil serve --no-cameras` in a thread, until the block ends."""
    said: list[str] = []
    server = VigilServer(cfg, "127.0.0.1", free_port(), data_dir, cameras=False, say=said.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: any("Vigil is running" in s for s in said), 30, "vigil serve started")
        state = state_of(server.server.config.app)
        yield state, state.extra[STATE_KEY], server.url
    finally:
        server.stop()
        thread.join(30)
        assert not thread.is_alive(), "vigil serve did not stop"


def test_discovery_is_retained_valid_and_sent_again_when_home_assistant_starts(
    tmp_path: Path,
) -> None:
    need_mosquitto()
    prefix, ha = unique("vt"), unique("ha")
    with vigil(config(prefix, ha), tmp_path) as (state, link, _):
        wait_until(lambda: link.connected and not len(link.queue), 20, "state published")
        # A client that comes later gets the retained discovery and state from the broker.
        with watching(f"{ha}/#", f"{prefix}/#") as ha_side:
            ha_side.wait_for(f"{prefix}/available", "online")
            configs = wait_until(
                lambda: [g for g in ha_side.messages(f"{ha}/") if g.topic.endswith("/config")],
                10, "discovery",
            )  # fmt: skip
            assert all(g.retain for g in configs)
            payloads = {g.topic: json.loads(g.payload) for g in configs}
            # online, alert, last event, 2 labels, 2 labels in the zone
            assert len(payloads) == 7, sorted(payloads)
            for topic, p in payloads.items():
                component = topic.split("/")[1]
                assert component in ("sensor", "binary_sensor"), topic
                assert p.keys() >= REQUIRED, (topic, p)
                assert "object_id" not in p
                assert p["default_entity_id"].startswith(f"{component}.")
                assert p["device"]["identifiers"] == [f"{prefix}_gate"]
                assert p["availability"] == [{"topic": f"{prefix}/available"}]
                assert p["state_topic"].startswith(f"{prefix}/gate/")
            assert len({p["unique_id"] for p in payloads.values()}) == 7
            # Every state topic the sensors name has its retained value.
            for p in payloads.values():
                if "count" in p["unique_id"] or "online" in p["unique_id"]:
                    assert ha_side.last(p["state_topic"]) in ("0", "OFF"), p["state_topic"]
            count_topic = f"{prefix}/gate/person"
            assert count_topic in {p["state_topic"] for p in payloads.values()}

            # Home Assistant restarts: it says online, and Vigil tells it again.
            ha_side.clear()
            ha_side.publish(f"{ha}/status", "online")
            wait_until(
                lambda: len([g for g in ha_side.messages(f"{ha}/") if "/config" in g.topic]) >= 7,
                10, "discovery sent again",
            )  # fmt: skip

            # Counts follow the events on the bus: a person appears, enters the zone, leaves.
            seen: dict[str, Any] = {"camera": "gate", "label": "person", "track_id": 7}
            state.bus.publish({"topic": "event", "id": 1, "type": "appear", **seen})
            ha_side.wait_for(count_topic, "1")
            state.bus.publish({"topic": "event", "id": 2, "type": "zone_enter", **seen,
                               "zone": "drive"})  # fmt: skip
            ha_side.wait_for(f"{prefix}/gate/drive/person", "1")
            state.bus.publish({"topic": "event", "id": 3, "type": "object", **seen})
            ha_side.wait_for(count_topic, "0")
            ha_side.wait_for(f"{prefix}/gate/drive/person", "0")
            last = json.loads(ha_side.wait_for(f"{prefix}/gate/last_event"))
            assert last["id"] == 3 and last["type"] == "object"
            events = [json.loads(g.payload) for g in ha_side.messages(f"{prefix}/events")]
            assert [e["id"] for e in events] == [1, 2, 3]


def test_no_face_data_and_no_plate_text_unless_configured(tmp_path: Path) -> None:
    need_mosquitto()
    prefix, ha = unique("vt"), unique("ha")
    started = datetime.now(UTC) - timedelta(seconds=1)
    with vigil(config(prefix, ha, discovery=False), tmp_path) as (state, link, _):
        wait_until(lambda: link.connected, 20, "connected")
        with watching(f"{prefix}/events", f"{prefix}/alerts") as side:
            plate = {"camera": "gate", "label": "car", "track_id": 3, "snapshot_url": "/x.jpg"}
            face = {"camera": "gate", "label": "person", "track_id": 4}
            state.bus.publish({"topic": "event", "id": 9, "type": EventType.FACE_MATCH, **face,
                               "attributes": {"person": "Someone"}})  # fmt: skip
            state.bus.publish({"topic": "event", "id": 10, "type": EventType.PLATE_READ,
                               **plate, "attributes": {"read": "AB123C"}})  # fmt: skip
            state.bus.publish({"topic": "alert", "id": 5, "type": EventType.FACE_MATCH,
                               "camera": "gate", "status": "candidate", "rule": "r",
                               "attributes": {"person": "Someone"}})  # fmt: skip
            state.bus.publish({"topic": "alert", "id": 6, "type": EventType.ZONE_ENTER,
                               "camera": "gate", "status": "candidate", "rule": "r"})  # fmt: skip
            side.wait_for(f"{prefix}/alerts")  # sent in order: what came before is there
            got = side.messages()
            assert [json.loads(g.payload)["id"] for g in got] == [10, 6]
            assert "AB123C" not in got[0].payload and "x.jpg" not in got[0].payload
            assert "Someone" not in "".join(g.payload for g in got)
            metrics = generate_latest(state.registry).decode()
            assert 'vigil_mqtt_sent_total{kind="event"} 1.0' in metrics, metrics
            assert "vigil_mqtt_connected 1.0" in metrics and "vigil_mqtt_queue_depth" in metrics
    # What went out is in the audit log (written at the stop), so the report counts it.
    report = transparency_report(state.store, tmp_path, started)
    assert report.mqtt_sent["event"] == 1 and report.mqtt_sent["alert"] == 1
    assert report.mqtt_sent["plate"] == 0 and report.mqtt_sent["snapshot"] == 0
    assert "## Published on MQTT" in report.to_markdown()


def test_plate_text_and_snapshot_path_go_out_only_when_configured(tmp_path: Path) -> None:
    need_mosquitto()
    prefix, ha = unique("vt"), unique("ha")
    send = {"plates": True, "snapshots": True}
    with vigil(config(prefix, ha, discovery=False, send=send), tmp_path) as (state, link, _):
        wait_until(lambda: link.connected, 20, "connected")
        with watching(f"{prefix}/events") as side:
            state.bus.publish({"topic": "event", "id": 11, "type": EventType.PLATE_READ,
                               "camera": "gate", "label": "car", "track_id": 3,
                               "snapshot_url": "/api/events/11/snapshot.jpg",
                               "attributes": {"read": "AB123C", "crop": "x"}})  # fmt: skip
            got = json.loads(side.wait_for(f"{prefix}/events"))
        assert got["plate"] == "AB123C" and got["snapshot_url"].endswith("/11/snapshot.jpg")
        assert "attributes" not in got and "crop" not in json.dumps(got)
        wait_until(lambda: link.sent["plate"] == 1 and link.sent["snapshot"] == 1, 5, "counted")


def test_acknowledge_over_mqtt_is_audited_as_the_mapped_operator(tmp_path: Path) -> None:
    need_mosquitto()
    prefix, ha = unique("vt"), unique("ha")
    users = {"ha-panel": {"vigil_user": "alice", "token": TOKEN},
             "ha-viewer": {"vigil_user": "victor", "token": TOKEN + "v"}}  # fmt: skip
    cfg = config(prefix, ha, discovery=False, commands={"user_map": users})
    with vigil(cfg, tmp_path) as (state, link, _):
        state.users.create("alice", PASSWORD, Role.OPERATOR)
        state.users.create("victor", PASSWORD, Role.VIEWER)
        alert = Alerts(state.store).create(
            Alert("gate entry", "gate", EventType.ZONE_ENTER, time.time(), "person")
        )
        wait_until(lambda: link.connected, 20, "connected")
        command = f"{prefix}/alerts/{alert.id}/acknowledge"
        with watching(f"{command}/result") as side:
            for who, token in (("ha-panel", "wrong-token-wrong"), ("ha-viewer", TOKEN + "v"),
                               ("nobody", TOKEN)):  # fmt: skip
                side.clear()
                side.publish(command, json.dumps({"user": who, "token": token}))
                answer = json.loads(side.wait_for(f"{command}/result"))
                assert answer["ok"] is False, (who, answer)
            side.clear()
            side.publish(command, "not json")
            assert "malformed" in json.loads(side.wait_for(f"{command}/result"))["error"]
            before = state.alerts.alerts.get(alert.id)
            assert before is not None and before.status == AlertStatus.CANDIDATE

            side.clear()
            side.publish(command, json.dumps({"user": "ha-panel", "token": TOKEN,
                                              "reason": "on my way"}))  # fmt: skip
            answer = json.loads(side.wait_for(f"{command}/result"))
            assert answer == {"ok": True, "alert": alert.id, "by": "alice"}
        row = state.alerts.alerts.get(alert.id)
        assert row is not None and row.status == AlertStatus.ACKNOWLEDGED
        assert row.reviewed_by == "alice"
        with state.store.session() as s:
            audit = s.execute(
                select(AuditRow.actor, AuditRow.action, AuditRow.details).where(
                    AuditRow.action.in_(["alerts.review", "mqtt.refused"])
                )
            ).all()
        assert ("alice", "alerts.review") in {(a, b) for a, b, _ in audit}
        assert sum(1 for _, b, _ in audit if b == "mqtt.refused") == 4
        assert link.commands["done"] == 1 and link.commands["refused"] == 3


def _health(base: str, state: AppState) -> dict[str, Any]:
    state.users.create("admin2", PASSWORD, Role.ADMIN)
    with httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/api/login", json={"username": "admin2", "password": PASSWORD})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = http.get("/api/health").json()
        return body


def test_an_unreachable_broker_is_one_line_and_a_health_status(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "vigil.integrations.mqtt")
    cfg = config(unique("vt"), unique("ha"), url=f"mqtt://127.0.0.1:{free_port()}")
    with vigil(cfg, tmp_path) as (state, link, base):
        wait_until(lambda: link.failures >= 3, 20, "three tries")
        assert link.status == "unreachable"
        body = _health(base, state)
    assert body["status"] == "degraded"
    mqtt = body["integrations"]["mqtt"]
    assert mqtt["online"] is False and mqtt["status"] == "unreachable" and mqtt["error"]
    lines = [r.getMessage() for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(lines) == 1, lines  # said once, not at every try
    assert "check mqtt url" in lines[0] and "Traceback" not in caplog.text


def test_wrong_credentials_are_a_refused_health_status(tmp_path: Path) -> None:
    need_mosquitto()
    with locked_broker(tmp_path, "vigil", "right-password") as port:
        url = f"mqtt://vigil:wrong-password@127.0.0.1:{port}"
        with vigil(config(unique("vt"), unique("ha"), url=url), tmp_path / "a") as (_, link, _):
            wait_until(lambda: link.status == "refused", 20, "refused")
            assert "wrong-password" not in str(link.health())
        url = f"mqtt://127.0.0.1:{port}"
        good = config(unique("vt"), unique("ha"), url=url, username="vigil",
                      password="right-password")  # fmt: skip
        with vigil(good, tmp_path / "b") as (_, link, _):
            wait_until(lambda: link.connected, 20, "connected with the right password")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:1883", "must look like mqtt://"),
        ("mqtt://127.0.0.1:port", "not a number"),
        ("mqtt://127.0.0.1:1883/topic", "scheme://"),
    ],
)
def test_a_bad_broker_url_is_a_config_error_naming_it(url: str, said: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(f"mqtt:\n  url: '{url}'\n")
    assert url in str(err.value) and said in str(err.value)
