"""Vigil on an MQTT broker (aiomqtt): availability with a last will, object counts, events and
alerts as JSON, Home Assistant discovery, and alert acknowledgements coming in.

It runs in the `vigil serve` process (started and stopped by the app's lifespan:
`start_mqtt`). A broker that cannot be reached, or refuses the login, is one log line and a
health status (`health()`, shown by /api/health); Vigil keeps trying, waiting longer each
time, and meanwhile keeps what is to be sent in a bounded queue (one message per retained
topic; the oldest dropped, and counted, when full). On each connect the retained state and
the discovery are published again, and again whenever Home Assistant says it is online.

Every message sent is counted by kind: live in Prometheus (`vigil_mqtt_*`), and durably in
the audit log (`mqtt.sent` rows, every `count_every_s` and at each disconnect and stop), which
is where the transparency report reads what personal data left (plates, snapshot paths).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping
from itertools import count
from typing import TYPE_CHECKING, Any

import aiomqtt
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from vigil.bus import Bus, Subscription, Topic
from vigil.config import VigilConfig
from vigil.config.mqtt import MqttConfig
from vigil.integrations import mqtt_commands
from vigil.integrations.mqtt_ha import (
    HA_ONLINE,
    OFF,
    OFFLINE,
    ON,
    ONLINE,
    SENT_ACTION,
    STATE_KEY,
    Counts,
    MqttKind,
    Pending,
    Publish,
    Topics,
    alert_out,
    discovery,
    event_out,
)  # fmt: skip
from vigil.integrations.sentcount import SentCounts, iso
from vigil.integrations.wire import link_metrics
from vigil.logtext import escape

if TYPE_CHECKING:
    from vigil.api.deps import AppState

log = logging.getLogger(__name__)
ACTOR = "system:mqtt"
STEADY_S = 30.0  # a connection that lasted this long starts the next wait from the shortest


class MqttQueue:
    """What waits to be sent, oldest first, at most `size`: a retained topic keeps only its
    newest message."""

    def __init__(self, size: int) -> None:
        self.size, self.dropped = size, 0
        self._items: OrderedDict[Any, Publish] = OrderedDict()
        self._ready = asyncio.Event()
        self._seq = count()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Publish, *, first: bool = False) -> None:
        key = item.topic if item.retain else next(self._seq)
        if first and key in self._items:
            return
        self._items.pop(key, None)
        self._items[key] = item
        if first:
            self._items.move_to_end(key, last=False)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
            self.dropped += 1
        self._ready.set()

    async def get(self) -> Publish:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popitem(last=False)[1]


class MqttLink:
    """One broker, for the life of the app: `await start()`, `await stop()`."""

    def __init__(self, cfg: MqttConfig, state: AppState, *, clock: Any = time.time) -> None:
        self.cfg, self.state, self.clock = cfg, state, clock
        self.config: VigilConfig = state.config
        self.bus: Bus = state.bus
        self.topics = Topics(cfg)
        self.queue = MqttQueue(cfg.queue_size)
        self.counts, self.pending = Counts(), Pending()
        self.retained: dict[str, Publish] = {}  # the current state, sent again on connect
        self.sent_counts = SentCounts(clock)
        self.commands: Counter[str] = Counter()  # outcome of commands in
        self.failures = self.connects = 0
        self.connected = False
        self.status, self.since = "connecting", clock()
        self.error: str | None = None
        self._client: aiomqtt.Client | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sub: Subscription | None = None

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._sub = self.bus.subscribe([Topic.EVENT, Topic.ALERT, Topic.CAMERA], maxsize=4096)
        self._initial_state()
        for job in (self._connection(), self._follow(self._sub), self._count()):
            self._tasks.append(asyncio.create_task(job))

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        client = self._client
        if client is not None and self.connected:
            with contextlib.suppress(Exception):  # a clean stop says offline itself
                await asyncio.wait_for(
                    client.publish(self.topics.available, OFFLINE, qos=1, retain=True), 2
                )
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await asyncio.to_thread(self.record_counts)

    def health(self) -> dict[str, Any]:
        """Like a camera's: online or not, since when, and why not."""
        return {
            "kind": "mqtt",
            "server": self.cfg.server,
            "online": self.connected,
            "status": self.status,
            "error": self.error,
            "since": iso(self.since),
            "queue": len(self.queue),
        }

    def _set_status(self, status: str, error: str | None) -> bool:
        """Whether this is a change (a change is said in the log; a repeat is not)."""
        if (status, error) == (self.status, self.error):
            return False
        self.status, self.error, self.since = status, error, self.clock()
        return True

    # -- the connection --------------------------------------------------------------------

    def _client_for(self) -> aiomqtt.Client:
        user, password = self.cfg.login
        tls = None
        if self.cfg.tls:
            tls = aiomqtt.TLSParameters(
                ca_certs=str(self.cfg.ca) if self.cfg.ca else None, cert_reqs=ssl.CERT_REQUIRED
            )
        return aiomqtt.Client(
            self.cfg.host, self.cfg.port, username=user, password=password,
            identifier=self.cfg.client_id, keepalive=self.cfg.keepalive_s, tls_params=tls,
            will=aiomqtt.Will(self.topics.available, OFFLINE, qos=1, retain=True), timeout=10,
        )  # fmt: skip

    async def _connection(self) -> None:
        delay = self.cfg.reconnect_min_s
        while True:
            began, reason = time.monotonic(), None
            try:
                async with self._client_for() as client:
                    self._client = client
                    await self._session(client)
            except aiomqtt.MqttError as exc:
                reason = _reason(exc)
            finally:
                self._client = None
            was = self.connected
            self.connected = False
            self.failures += 1
            refused = _refused(reason or "")
            changed = self._set_status("refused" if refused else "unreachable", reason)
            if was:
                await asyncio.to_thread(self.record_counts)
            if time.monotonic() - began >= STEADY_S:
                delay = self.cfg.reconnect_min_s
            wait = delay * random.uniform(0.8, 1.0)
            fix = "check mqtt username and password" if refused else "check mqtt url"
            (log.warning if was or changed else log.debug)(
                "MQTT broker %s %s (%s; %s); trying again in %.1f s and on, %d message(s) "
                "waiting", self.cfg.server, "went away" if was else "cannot be used", reason,
                fix, wait, len(self.queue),
            )  # fmt: skip
            await asyncio.sleep(wait)
            delay = min(self.cfg.reconnect_max_s, delay * 2)

    async def _session(self, client: aiomqtt.Client) -> None:
        self.connected, self.connects = True, self.connects + 1
        self._set_status("online", None)
        log.warning("MQTT broker %s: connected", self.cfg.server)
        await client.subscribe(self.topics.ha_status, qos=1)
        if self.cfg.commands.user_map:
            await client.subscribe(self.topics.commands, qos=1)
        self._queue_everything()
        tasks = [asyncio.create_task(self._read(client)), asyncio.create_task(self._write(client))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
        for task in done:
            exc = task.exception()
            if exc is not None:
                raise exc
        raise aiomqtt.MqttError("the broker ended the connection")

    async def _write(self, client: aiomqtt.Client) -> None:
        while True:
            item = await self.queue.get()
            try:
                await client.publish(item.topic, item.payload, qos=1, retain=item.retain)
            except BaseException:
                self.queue.put(item, first=True)  # sent again on the next connection
                raise
            self.sent_counts.add((item.kind, *item.extra))

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = message.topic.value
            payload = message.payload if isinstance(message.payload, bytes) else b""
            if topic == self.topics.ha_status:
                if payload.strip() == HA_ONLINE.encode() and self.cfg.discovery:
                    self._queue_everything()  # Home Assistant restarted: tell it again
                continue
            if message.retain:  # a command kept at the broker would act at every connect
                continue
            answer = await mqtt_commands.handle(self, topic, payload)
            if answer is not None:
                self.queue.put(answer)

    # -- outbound --------------------------------------------------------------------------

    def _initial_state(self) -> None:
        statuses = self.state.cameras.statuses()
        for cam in self.config.cameras:
            status = statuses.get(cam.id)
            self._retain(
                self.topics.camera(cam.id, "online"), ON if status and status.online else OFF
            )
            self._retain(self.topics.camera(cam.id, "alert"), OFF)
            labels = (cam.objects or self.config.objects).labels
            for label in labels:
                self._retain(self.topics.count(cam.id, label), "0")
            for zone in cam.zones:
                for label in zone.labels or labels:
                    self._retain(self.topics.count(cam.id, label, zone.name), "0")

    def _retain(self, topic: str, payload: str, kind: MqttKind = MqttKind.STATE) -> None:
        item = Publish(topic, payload, True, kind)
        self.retained[topic] = item
        self.queue.put(item)

    def _queue_everything(self) -> None:
        self.queue.put(Publish(self.topics.available, ONLINE, True, MqttKind.STATE))
        if self.cfg.discovery:
            for item in discovery(self.config, self.cfg):
                self.queue.put(item)
        for item in self.retained.values():
            self.queue.put(item)

    async def _follow(self, sub: Subscription) -> None:
        async for message in sub:
            try:
                self.take(message)
            except Exception:  # one message Vigil cannot write must not stop the others
                log.exception("MQTT: a %s message could not be published", message.get("topic"))

    def take(self, message: Mapping[str, Any]) -> None:
        """What one bus message changes on the broker."""
        topic = message.get("topic")
        if topic == Topic.EVENT:
            for item in event_out(message, self.cfg, self.topics):
                if item.retain:
                    self.retained[item.topic] = item
                self.queue.put(item)
            for camera, label, zone in self.counts.update(message):
                n = self.counts.count(camera, label, zone)
                self._retain(self.topics.count(camera, label, zone), str(n))
        elif topic == Topic.ALERT:
            told = alert_out(message, self.cfg, self.topics)
            if told is not None:
                self.queue.put(told)
            changed = self.pending.update(message)
            if changed is not None:
                self._retain(self.topics.camera(changed, "alert"), self.pending.state(changed))
        elif topic == Topic.CAMERA and isinstance(message.get("camera"), str):
            online = ON if message.get("online") else OFF
            self._retain(self.topics.camera(message["camera"], "online"), online)

    # -- counting --------------------------------------------------------------------------

    async def _count(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.count_every_s)
            await asyncio.to_thread(self.record_counts)

    @property
    def sent(self) -> Counter[str]:
        """Messages published since start, by kind (Prometheus)."""
        return self.sent_counts.totals

    def record_counts(self) -> None:
        """Write the messages sent since the last row to the audit log (no row for none)."""

        def write(counts: dict[str, int], since: str, until: str) -> None:
            details = {"counts": counts, "from": since, "until": until}
            self.state.audit.append(ACTOR, SENT_ACTION, "mqtt", self.cfg.server, details=details)

        self.sent_counts.record(write, map(str, MqttKind), "MQTT")


def _reason(exc: BaseException) -> str:
    return escape(str(exc) or type(exc).__name__, 200)


def _refused(reason: str) -> bool:
    text = reason.lower()
    return "not authori" in text or "bad user name" in text or "password" in text


class MqttCollector(Collector):
    """The link's numbers at scrape time."""

    def __init__(self, link: MqttLink) -> None:
        self.link = link

    def collect(self) -> Iterator[Any]:
        link = self.link
        sent = CounterMetricFamily("vigil_mqtt_sent", "MQTT messages published", labels=["kind"])
        for kind in MqttKind:
            sent.add_metric([kind], link.sent.get(kind, 0))
        yield sent
        commands = CounterMetricFamily(
            "vigil_mqtt_commands", "MQTT commands received", labels=["outcome"]
        )
        for outcome in mqtt_commands.OUTCOMES:
            commands.add_metric([outcome], link.commands.get(outcome, 0))
        yield commands
        yield CounterMetricFamily(
            "vigil_mqtt_failures", "connections to the broker that failed or ended",
            value=link.failures,
        )  # fmt: skip
        yield from link_metrics("mqtt", "broker", link)


async def start_mqtt(state: AppState) -> MqttLink | None:
    """The link of the app's `mqtt:` section, started; None without one."""
    if state.config.mqtt is None:
        return None
    link = MqttLink(state.config.mqtt, state)
    state.registry.register(MqttCollector(link))
    state.extra[STATE_KEY] = link
    await link.start()
    return link
