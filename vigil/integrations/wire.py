"""The wire to a TAK server: the connection (through pytak: TCP, or TLS with Vigil's client
certificate and the server's CA) and the queue of what waits to be sent."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from vigil.config.integrations import TakConfig
from vigil.integrations.cot import Outgoing

PASSWORD_ENV = "VIGIL_TAK_CERT_PASSWORD"  # the password of a .p12 or an encrypted key


def _pytak() -> Any:
    """pytak, imported without its import-time noise (a warning about aiohttp, which Vigil
    does not use, and the asyncio logger turned up to INFO)."""
    asyncio_log = logging.getLogger("asyncio")
    level = asyncio_log.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pytak
    asyncio_log.setLevel(level)
    return pytak


async def open_connection(cfg: TakConfig) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the TAK server through pytak (TLS: the client certificate and the
    server's CA from vigil.yml)."""
    settings: dict[str, str] = {"COT_URL": cfg.url}
    if cfg.tls:
        settings["PYTAK_TLS_CLIENT_CERT"] = str(cfg.cert)
        settings["PYTAK_TLS_CLIENT_CAFILE"] = str(cfg.ca)
        if cfg.key is not None:
            settings["PYTAK_TLS_CLIENT_KEY"] = str(cfg.key)
        if os.environ.get(PASSWORD_ENV):
            settings["PYTAK_TLS_CLIENT_PASSWORD"] = os.environ[PASSWORD_ENV]
        if not cfg.verify_hostname:
            settings["PYTAK_TLS_DONT_CHECK_HOSTNAME"] = "1"
    pytak = _pytak()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pytak warns of verify_hostname: false; vigil.yml says it
        reader, writer = await asyncio.wait_for(
            pytak.protocol_factory(settings), cfg.connect_timeout_s
        )
    sock = writer.get_extra_info("socket")
    if sock is not None:  # a server that vanished without closing is noticed in the end
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    return reader, writer


class OutQueue:
    """What waits to be sent: one message per uid, oldest first, at most `size`."""

    def __init__(self, size: int) -> None:
        self.size, self.dropped = size, 0
        self._items: OrderedDict[str, Outgoing] = OrderedDict()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Outgoing, *, first: bool = False) -> None:
        if first and item.uid in self._items:
            return  # a newer message for the same object is already waiting
        self._items.pop(item.uid, None)
        self._items[item.uid] = item
        if first:
            self._items.move_to_end(item.uid, last=False)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
            self.dropped += 1
        self._ready.set()

    async def get(self) -> Outgoing:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popitem(last=False)[1]


def link_metrics(kind: str, server: str, link: Any) -> Iterator[Any]:
    """What every integration link (TAK, MQTT) tells Prometheus of its queue and connection:
    `vigil_<kind>_dropped`, `_queue_depth` and `_connected`. `link` has `queue` (with
    `dropped` and a length) and `connected`."""
    yield CounterMetricFamily(
        f"vigil_{kind}_dropped", "messages dropped from a full queue", value=link.queue.dropped
    )
    yield GaugeMetricFamily(
        f"vigil_{kind}_queue_depth", "messages waiting to be sent", value=len(link.queue)
    )
    yield GaugeMetricFamily(
        f"vigil_{kind}_connected", f"1 while connected to the {server}", value=link.connected
    )
