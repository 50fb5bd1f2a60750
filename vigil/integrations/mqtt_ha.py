"""What Vigil publishes on MQTT: the topics, the payloads of events and alerts (only what the
`mqtt.send` settings allow: never a face picture, template or whom a face matched), the
object counts per camera and zone, and Home Assistant's discovery messages.

Topics (P: `topic_prefix`), Frigate's names where the meaning is the same:
- `P/available` online / offline (retained; the broker says offline as Vigil's last will)
- `P/events`, `P/alerts` one JSON per event stored / alert raised or reviewed
- `P/<camera>/<label>` objects of a label in view (retained), `P/<camera>/<zone>/<label>` in a zone
- `P/<camera>/online` ON / OFF, `P/<camera>/alert` ON while an alert waits for review,
  `P/<camera>/last_event` JSON of the newest event (all retained)
- in: `P/alerts/<id>/acknowledge`; out: `P/alerts/<id>/acknowledge/result`
"""

from __future__ import annotations

import enum
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from vigil import __version__
from vigil.config import CameraConfig, VigilConfig
from vigil.config.mqtt import MqttConfig
from vigil.domain import AlertStatus, EventType
from vigil.integrations.cot import alert_shared

STATE_KEY = "mqtt"  # the running link in AppState.extra
SENT_ACTION = "mqtt.sent"  # audit rows: the messages published in a period, by kind
ONLINE, OFFLINE = "online", "offline"
ON, OFF = "ON", "OFF"
HA_ONLINE = "online"  # what Home Assistant says on <discovery_prefix>/status when it starts
ACKNOWLEDGE = "acknowledge"
NEVER_SENT = frozenset({EventType.FACE_MATCH})  # face data stays in Vigil


class MqttKind(enum.StrEnum):
    """What a published message is (counted in Prometheus and the audit log)."""

    STATE = "state"  # availability, counts, camera online, alert pending
    DISCOVERY = "discovery"
    EVENT = "event"
    ALERT = "alert"
    PLATE = "plate"  # a plate text went out (also counted as its event or alert)
    SNAPSHOT = "snapshot"  # a snapshot's path went out
    RESULT = "result"  # the answer to a command


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    payload: str
    retain: bool
    kind: MqttKind
    extra: tuple[MqttKind, ...] = ()  # plate / snapshot: personal data inside it


def slug(text: str) -> str:
    """A topic level / object id of Home Assistant from a name: [A-Za-z0-9_-]."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:64] or "_"


class Topics:
    def __init__(self, cfg: MqttConfig) -> None:
        self.p, self.ha = cfg.topic_prefix, cfg.discovery_prefix

    @property
    def available(self) -> str:
        return f"{self.p}/available"

    @property
    def events(self) -> str:
        return f"{self.p}/events"

    @property
    def alerts(self) -> str:
        return f"{self.p}/alerts"

    @property
    def ha_status(self) -> str:
        return f"{self.ha}/status"

    @property
    def commands(self) -> str:
        return f"{self.p}/alerts/+/{ACKNOWLEDGE}"

    def count(self, camera: str, label: str, zone: str | None = None) -> str:
        where = f"{slug(camera)}/{slug(zone)}" if zone else slug(camera)
        return f"{self.p}/{where}/{slug(label)}"

    def camera(self, camera: str, what: str) -> str:
        return f"{self.p}/{slug(camera)}/{what}"

    def result(self, alert_id: str) -> str:
        return f"{self.p}/alerts/{alert_id}/{ACKNOWLEDGE}/result"


def _dump(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), default=str)


EVENT_KEYS: tuple[str, ...] = ("id", "camera", "type", "time", "media_time", "track_id")
EVENT_KEYS += ("label", "score", "box", "zone", "line", "direction")


def event_out(event: Mapping[str, Any], cfg: MqttConfig, topics: Topics) -> list[Publish]:
    """The messages of one stored event: on `P/events` and its camera's last event."""
    if event.get("type") in NEVER_SENT:
        return []
    out = {k: event.get(k) for k in EVENT_KEYS}
    extra: list[MqttKind] = []
    read = (event.get("attributes") or {}).get("read")
    if cfg.send.plates and event.get("type") == EventType.PLATE_READ and isinstance(read, str):
        out["plate"] = read
        extra.append(MqttKind.PLATE)
    if cfg.send.snapshots and event.get("snapshot_url"):
        out["snapshot_url"] = event["snapshot_url"]
        extra.append(MqttKind.SNAPSHOT)
    text = _dump(out)
    return [
        Publish(topics.events, text, False, MqttKind.EVENT, tuple(extra)),
        Publish(topics.camera(str(event.get("camera")), "last_event"), text, True, MqttKind.STATE),
    ]


ALERT_KEYS: tuple[str, ...] = ("id", "rule", "camera", "event_id", "type", "time", "label")
ALERT_KEYS += ("status", "reviewers_needed")


def alert_out(alert: Mapping[str, Any], cfg: MqttConfig, topics: Topics) -> Publish | None:
    """An alert (raised or reviewed); a face match only once two people confirmed it, and
    never whom it matched (no attributes but a plate's text, if configured)."""
    if alert_shared(alert) is None:
        return None
    out = {k: alert.get(k) for k in ALERT_KEYS}
    extra: list[MqttKind] = []
    read = (alert.get("attributes") or {}).get("read")
    if cfg.send.plates and alert.get("type") == EventType.PLATE_READ and isinstance(read, str):
        out["plate"] = read
        extra.append(MqttKind.PLATE)
    if cfg.send.snapshots and alert.get("snapshot_url"):
        out["snapshot_url"] = alert["snapshot_url"]
        extra.append(MqttKind.SNAPSHOT)
    return Publish(topics.alerts, _dump(out), False, MqttKind.ALERT, tuple(extra))


class Counts:
    """Objects in view per camera and label, and per zone, from the events: a track counts
    from its `appear` to its `object` (track ended), in a zone from enter to leave."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str, str | None], set[Any]] = defaultdict(set)

    def update(self, event: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
        """The (camera, label, zone) whose count this event changed."""
        kind, camera, label = event.get("type"), event.get("camera"), event.get("label")
        track, zone = event.get("track_id"), event.get("zone")
        if not isinstance(camera, str) or not isinstance(label, str) or track is None:
            return []
        if kind == EventType.APPEAR:
            return self._change((camera, label, None), track, add=True)
        if kind == EventType.ZONE_ENTER and isinstance(zone, str):
            return self._change((camera, label, zone), track, add=True)
        if kind == EventType.ZONE_LEAVE and isinstance(zone, str):
            return self._change((camera, label, zone), track, add=False)
        if kind == EventType.OBJECT:  # ended: out of view and out of every zone
            keys = [k for k, v in self.seen.items() if k[:2] == (camera, label) and track in v]
            return [c for k in keys for c in self._change(k, track, add=False)]
        return []

    def _change(
        self, key: tuple[str, str, str | None], track: Any, *, add: bool
    ) -> list[tuple[str, str, str | None]]:
        tracks = self.seen[key]
        if (track in tracks) == add:
            return []
        (tracks.add if add else tracks.discard)(track)
        return [key]

    def count(self, camera: str, label: str, zone: str | None = None) -> int:
        return len(self.seen.get((camera, label, zone), ()))


class Pending:
    """Per camera: the alerts waiting for a review (the alert binary_sensor)."""

    def __init__(self) -> None:
        self.open: dict[str, set[Any]] = defaultdict(set)

    def update(self, alert: Mapping[str, Any]) -> str | None:
        """The camera whose state changed, if it did."""
        camera, ident = alert.get("camera"), alert.get("id")
        if not isinstance(camera, str):
            return None
        before = bool(self.open[camera])
        if alert.get("status") == AlertStatus.CANDIDATE:
            self.open[camera].add(ident)
        else:
            self.open[camera].discard(ident)
        return camera if bool(self.open[camera]) != before else None

    def state(self, camera: str) -> str:
        return ON if self.open.get(camera) else OFF


def _labels(config: VigilConfig, cam: CameraConfig) -> list[str]:
    return list((cam.objects or config.objects).labels)


def discovery(config: VigilConfig, cfg: MqttConfig) -> Iterator[Publish]:
    """Home Assistant MQTT discovery: per camera one device with its online and alert
    binary_sensors, its last event sensor, and a count sensor per label and per zone."""
    topics = Topics(cfg)
    node = slug(cfg.topic_prefix)
    for cam in config.cameras:
        device = {
            "identifiers": [f"{node}_{slug(cam.id)}"],
            "name": cam.name or cam.id,
            "manufacturer": "Vigil",
            "model": "Camera",
            "sw_version": __version__,
        }
        base = {"device": device, "availability": [{"topic": topics.available}]}
        base["availability_mode"] = "all"
        yield from _entity(cfg, base, cam.id, "binary_sensor", "online", {
            "name": "Online", "state_topic": topics.camera(cam.id, "online"),
            "device_class": "connectivity", "payload_on": ON, "payload_off": OFF,
        })  # fmt: skip
        yield from _entity(cfg, base, cam.id, "binary_sensor", "alert", {
            "name": "Alert", "state_topic": topics.camera(cam.id, "alert"),
            "device_class": "problem", "payload_on": ON, "payload_off": OFF,
        })  # fmt: skip
        yield from _entity(cfg, base, cam.id, "sensor", "last_event", {
            "name": "Last event", "state_topic": topics.camera(cam.id, "last_event"),
            "value_template": "{{ value_json.type }}",
            "json_attributes_topic": topics.camera(cam.id, "last_event"),
        })  # fmt: skip
        for label in _labels(config, cam):
            yield from _count_entity(cfg, base, cam.id, label, None)
        for zone in cam.zones:
            for label in zone.labels or _labels(config, cam):
                yield from _count_entity(cfg, base, cam.id, label, zone.name)


def _count_entity(
    cfg: MqttConfig, base: dict[str, Any], camera: str, label: str, zone: str | None
) -> Iterator[Publish]:
    what = f"{zone}_{label}_count" if zone else f"{label}_count"
    name = f"{zone} {label} count" if zone else f"{label.capitalize()} count"
    yield from _entity(cfg, base, camera, "sensor", what, {
        "name": name, "state_topic": Topics(cfg).count(camera, label, zone),
        "state_class": "measurement", "unit_of_measurement": "objects",
    })  # fmt: skip


def _entity(
    cfg: MqttConfig,
    base: dict[str, Any],
    camera: str,
    component: str,
    what: str,
    fields: dict[str, Any],
) -> Iterator[Publish]:
    object_id = slug(f"{camera}_{what}")
    unique = f"{slug(cfg.topic_prefix)}_{object_id}"
    payload = {**fields, **base, "unique_id": unique}
    payload["default_entity_id"] = f"{component}.{unique}"  # what replaced object_id
    topic = f"{cfg.discovery_prefix}/{component}/{slug(cfg.topic_prefix)}/{object_id}/config"
    yield Publish(topic, _dump(payload), True, MqttKind.DISCOVERY)
