"""A camera's own ONVIF events (PullPoint): motion and tampering as Vigil events.

One `OnvifEvents` per camera with an `onvif:` section, on a thread of its own with its own
event loop: it subscribes (CreatePullPointSubscription), pulls messages (PullMessages, a long
poll), renews the subscription before it ends (Renew) and unsubscribes at stop. When the
camera cannot be reached or refuses, it says so in one log line and tries again, waiting
longer each time (`reconnect_min_s` up to `reconnect_max_s`); it never stops by itself.

Each message whose topic is motion or tampering and whose state turned true becomes a
`Notice` handed to `on_notice` (the camera worker stores it as a `camera_motion` or
`camera_tamper` event and wakes the detector). A state that stays true is told once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from vigil.config.onvif import OnvifConfig
from vigil.domain import EventType
from vigil.integrations.onvif import explain
from vigil.logtext import escape

log = logging.getLogger(__name__)
PULLPOINT_NS = "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription"
MAX_SKEW_S = 300.0  # a camera clock further off than this: the time it was read is used
STEADY_S = 30.0  # a session that lasted this long starts the next wait from the shortest

# Topics (namespace prefixes dropped) and what they are. A prefix match: the ONVIF topic
# tree has vendor leaves under these (GlobalSceneChange/ImagingService, .../AnalyticsService).
MOTION_TOPICS = (
    "VideoSource/MotionAlarm",
    "RuleEngine/CellMotionDetector/Motion",
    "RuleEngine/MotionRegionDetector/Motion",
    "VideoAnalytics/Motion",
)
TAMPER_TOPICS = (
    "VideoSource/GlobalSceneChange",
    "VideoSource/ImageTooDark",
    "VideoSource/ImageTooBright",
    "VideoSource/ImageTooBlurry",
    "RuleEngine/TamperDetector",
)
STATE_NAMES = ("State", "IsMotion", "IsTamper", "IsGlobalSceneChange", "IsTooDark",
               "IsTooBright", "IsTooBlurry", "Value")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Notice:
    """A motion or tamper message from the camera that turned its state on."""

    kind: EventType
    topic: str  # without namespace prefixes: RuleEngine/CellMotionDetector/Motion
    source: Mapping[str, str]  # the message's Source items (VideoSourceConfigurationToken...)
    at: float  # UNIX time the camera gives (its UtcTime), else when it was read

    def attributes(self) -> dict[str, Any]:
        out: dict[str, Any] = {"via": "onvif", "onvif_topic": self.topic}
        if self.source:
            out["onvif_source"] = dict(self.source)
        return out


def plain_topic(topic: str) -> str:
    """The topic without namespace prefixes: 'tns1:RuleEngine/tnsaxis:CellMotionDetector/Motion'
    -> 'RuleEngine/CellMotionDetector/Motion'."""
    return "/".join(part.split(":", 1)[-1] for part in topic.strip().split("/") if part)


def kind_of(topic: str) -> EventType | None:
    for prefixes, kind in ((MOTION_TOPICS, EventType.CAMERA_MOTION),
                           (TAMPER_TOPICS, EventType.CAMERA_TAMPER)):  # fmt: skip
        if any(topic == p or topic.startswith(p + "/") for p in prefixes):
            return kind
    return None


def _items(part: Any) -> dict[str, str]:
    """Name -> Value of a Source / Data / Key part, parsed by zeep or left as XML."""
    out: dict[str, str] = {}
    if part is None:
        return out
    if hasattr(part, "iter") and hasattr(part, "tag"):  # an lxml element
        for item in part.iter("{*}SimpleItem"):
            out[str(item.get("Name"))] = str(item.get("Value"))
        return out
    for item in getattr(part, "SimpleItem", None) or []:
        out[str(getattr(item, "Name", ""))] = str(getattr(item, "Value", ""))
    return out


def _message_parts(message: Any) -> tuple[dict[str, str], dict[str, str], Any, str | None]:
    """(source, data, UtcTime, PropertyOperation) of a NotificationMessage's tt:Message."""
    body = getattr(getattr(message, "Message", None), "_value_1", None)
    if body is None:
        return {}, {}, None, None
    if hasattr(body, "tag"):  # lxml: <tt:Message UtcTime=...><tt:Source>...</tt:Message>
        parts = {str(child.tag).rsplit("}", 1)[-1]: child for child in body}
        return (_items(parts.get("Source")), _items(parts.get("Data")),
                body.get("UtcTime"), body.get("PropertyOperation"))  # fmt: skip
    return (_items(getattr(body, "Source", None)), _items(getattr(body, "Data", None)),
            getattr(body, "UtcTime", None), getattr(body, "PropertyOperation", None))  # fmt: skip


def _state(data: Mapping[str, str]) -> bool | None:
    for name in STATE_NAMES:
        if name in data:
            return data[name].strip().lower() in ("true", "1")
    for value in data.values():  # a vendor's own name for the boolean
        if value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    return None


def _stamp(value: Any, now: float) -> float:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()
    return now


@dataclass
class OnvifStatus:
    """The subscription's health, like a camera's: state and the reason when not subscribed."""

    state: str = "starting"  # starting | subscribed | failing | stopped
    reason: str | None = None
    since: float = field(default_factory=time.time)


class OnvifEvents:
    """One camera's PullPoint subscription, for the life of its worker: start(), stop()."""

    def __init__(
        self, camera_id: str, cfg: OnvifConfig, on_notice: Callable[[Notice], None]
    ) -> None:
        self.camera_id, self.cfg, self.on_notice = camera_id, cfg, on_notice
        self.status = OnvifStatus()
        self.messages = self.failures = self.connects = 0
        self.notices: Counter[str] = Counter()
        self._states: dict[tuple[str, tuple[tuple[str, str], ...]], bool] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, name=f"vigil-onvif-{camera_id}")
        self._ready = threading.Event()
        LIVE.add(self)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        if self._thread.is_alive():
            self._thread.join(10)
        self._set("stopped")

    def _main(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._task = loop.create_task(self.run())
            self._ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            self._ready.set()
            loop.close()

    def _set(self, state: str, reason: str | None = None) -> None:
        if (state, reason) != (self.status.state, self.status.reason):
            self.status = OnvifStatus(state, reason)

    # -- the subscription ------------------------------------------------------------------

    async def run(self) -> None:
        """Subscribe and pull until cancelled; after a failure try again with back-off."""
        delay = self.cfg.reconnect_min_s
        while True:
            began = time.monotonic()
            try:
                await self._session()
                why = "the subscription ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - said in one line, then tried again
                why = str(explain(exc, self.cfg.address, self.cfg.user))
            self.failures += 1
            if time.monotonic() - began >= STEADY_S:
                delay = self.cfg.reconnect_min_s
            wait = delay * random.uniform(0.8, 1.0)
            self._set("failing", why)
            log.warning(
                "camera '%s': ONVIF events: %s; trying again in %.1f s",
                self.camera_id, escape(why, 300), wait,
            )  # fmt: skip
            await asyncio.sleep(wait)
            delay = min(self.cfg.reconnect_max_s, delay * 2)

    async def _session(self) -> None:
        from onvif import ONVIFCamera
        from onvif.util import normalize_url

        cfg = self.cfg
        cam = ONVIFCamera(cfg.host, cfg.port, cfg.user or "", cfg.password() or "")
        subscription: Any = None
        try:
            await cam.update_xaddrs()
            events = await cam.create_events_service()
            answer = await events.CreatePullPointSubscription(
                {"InitialTerminationTime": _duration(cfg.subscription_s)}
            )
            cam.xaddrs[PULLPOINT_NS] = normalize_url(answer.SubscriptionReference.Address._value_1)
            subscription = await cam.create_subscription_service("PullPointSubscription")
            pullpoint = await cam.create_pullpoint_service()
            self.connects += 1
            self._set("subscribed")
            log.warning("camera '%s': ONVIF events of %s subscribed", self.camera_id, cfg.address)
            await self._pull(pullpoint, subscription)
        finally:
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(subscription.Unsubscribe(), 3)
            with contextlib.suppress(Exception):
                await cam.close()

    async def _pull(self, pullpoint: Any, subscription: Any) -> None:
        cfg = self.cfg
        renew_at = time.monotonic() + cfg.subscription_s / 2
        while True:
            if time.monotonic() >= renew_at:
                await subscription.Renew(_duration(cfg.subscription_s))
                renew_at = time.monotonic() + cfg.subscription_s / 2
            answer = await pullpoint.PullMessages(
                {"Timeout": dt.timedelta(seconds=cfg.pull_timeout_s), "MessageLimit": 100}
            )
            for message in getattr(answer, "NotificationMessage", None) or []:
                self.handle(message)

    def handle(self, message: Any) -> Notice | None:
        """One NotificationMessage: a Notice (handed on) if it turned motion or tamper on."""
        self.messages += 1
        topic = plain_topic(str(getattr(getattr(message, "Topic", None), "_value_1", "") or ""))
        kind = kind_of(topic)
        if kind is None:
            return None
        source, data, utc, _operation = _message_parts(message)
        state = _state(data)
        key = (topic, tuple(sorted(source.items())))
        was, self._states[key] = self._states.get(key, False), bool(state)
        if not state or was:  # off, or still on: told when it turned on
            return None
        now = time.time()
        at = _stamp(utc, now)
        notice = Notice(kind, topic, source, at if abs(at - now) <= MAX_SKEW_S else now)
        self.notices[str(kind)] += 1
        try:
            self.on_notice(notice)
        except Exception:  # noqa: BLE001 - the database is away: this one is lost, not the rest
            log.exception("camera '%s': an ONVIF %s event could not be stored", self.camera_id,
                          kind)  # fmt: skip
        return notice


def _duration(seconds: float) -> str:
    return f"PT{int(seconds)}S"


LIVE: weakref.WeakSet[OnvifEvents] = weakref.WeakSet()  # every subscriber, for the metrics


class OnvifCollector(Collector):
    """Every ONVIF subscriber's numbers at scrape time (`vigil_onvif_*`, by camera)."""

    def collect(self) -> Iterator[Any]:
        messages = CounterMetricFamily(
            "vigil_onvif_messages", "ONVIF event messages pulled", labels=["camera"]
        )
        notices = CounterMetricFamily(
            "vigil_onvif_events", "ONVIF messages made Vigil events", labels=["camera", "type"]
        )
        failures = CounterMetricFamily(
            "vigil_onvif_failures", "ONVIF subscriptions that failed or ended", labels=["camera"]
        )
        up = GaugeMetricFamily(
            "vigil_onvif_subscribed", "1 while subscribed to the camera's events", labels=["camera"]
        )
        for sub in list(LIVE):
            cam = sub.camera_id
            messages.add_metric([cam], sub.messages)
            failures.add_metric([cam], sub.failures)
            up.add_metric([cam], float(sub.status.state == "subscribed"))
            for kind in (EventType.CAMERA_MOTION, EventType.CAMERA_TAMPER):
                notices.add_metric([cam, str(kind)], sub.notices.get(str(kind), 0))
        yield from (messages, notices, failures, up)
