"""Publish / subscribe for live messages (events, alerts, camera health, access changes).

Messages are small JSON-ready dicts with a `topic` (one of `Topic`). Publishers are pipeline
threads (or the event loop itself): `publish` never blocks. Subscribers are asyncio tasks
(the WebSocket hub): `subscribe` gives an async iterator over a bounded queue. A subscriber
that falls behind loses its oldest messages and, before the next one it gets, receives
`{"topic": "dropped", "count": n}` saying how many it lost.

Two implementations: `LocalBus` (one process) and `NatsBus` (NATS JetStream, across
processes and machines; chosen by `bus.url` in vigil.yml).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Protocol

Message = dict[str, Any]


class Topic(enum.StrEnum):
    """What a bus message is about."""

    EVENT = "event"  # an event was stored (the REST event resource)
    ALERT = "alert"  # an alert was raised or reviewed (the REST alert resource)
    CAMERA = "camera"  # a camera's health changed
    ACCESS = "access"  # a user's access changed (logout, disable, role, cameras): internal
    UNIT = "unit"  # a unit moved or changed status (the REST unit resource)
    INCIDENT = "incident"  # an incident was opened or took a step (the REST incident resource)
    VIEW = "view"  # where a moving camera is and the ground it sees (vigil.ingest.live)
    FIRE_FIX = "fire_fix"  # where cameras' fire bearings cross (vigil.rules.fire)


# What a live client may be sent; `access` stays inside Vigil.
CLIENT_TOPICS = (
    Topic.EVENT, Topic.ALERT, Topic.CAMERA, Topic.UNIT, Topic.INCIDENT, Topic.VIEW, Topic.FIRE_FIX,
)  # fmt: skip


def topic_of(message: Mapping[str, Any]) -> Topic:
    """The message's topic; ValueError naming the problem when it has none or an unknown one."""
    topic = message.get("topic")
    if isinstance(topic, str) and topic in Topic.__members__.values():
        return Topic(topic)
    known = ", ".join(Topic)
    raise ValueError(f"a bus message needs a 'topic' (one of {known}), got {topic!r}")


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def __anext__(self) -> Message: ...

    async def get(self, timeout: float | None = None) -> Message | None:
        """The next message; None after `timeout` seconds without one, or once closed."""

    @property
    def closed(self) -> bool: ...

    def close(self) -> None: ...


class Bus(Protocol):
    def publish(self, message: Mapping[str, Any]) -> None:
        """Send to every subscriber of message["topic"]; thread-safe, never blocks."""

    def subscribe(self, topics: Iterable[str] | None = None, *, maxsize: int = 256) -> Subscription:
        """Messages of `topics` (all when None) from now on; call from the event loop."""

    def start(self) -> None:
        """Begin delivering what other processes publish (and, under a durable consumer, what
        was published while this one was away); the subscribers that must see that subscribe
        first. A bus of one process has nothing to start."""

    def close(self) -> None: ...
