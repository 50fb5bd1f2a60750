"""The bus: live messages between the parts of Vigil (see vigil.bus.base for the protocol).

`LocalBus` inside one process; `NatsBus` (vigil.bus.nats) across processes and machines;
`open_bus(config)` picks the one vigil.yml's `bus:` section names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.bus.base import CLIENT_TOPICS, Bus, Message, Subscription, Topic, topic_of
from vigil.bus.local import LocalBus, LocalSubscription

if TYPE_CHECKING:
    from vigil.config import BusConfig

__all__ = [
    "CLIENT_TOPICS",
    "Bus",
    "LocalBus",
    "LocalSubscription",
    "Message",
    "Subscription",
    "Topic",
    "open_bus",
    "topic_of",
]


def open_bus(config: BusConfig, *, consumer: str | None = None) -> Bus:
    """The in-process bus, or a connected NATS bus when `config.url` is set. `consumer`:
    the durable name under which this process reads the stream (None: it only publishes)."""
    if config.url is None:
        return LocalBus()
    from vigil.bus.nats import NatsBus

    return NatsBus(config, consumer=consumer)
