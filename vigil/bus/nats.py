"""The bus on NATS JetStream: live messages between processes and machines.

Subjects are `<prefix>.<topic>.<camera>` (`vigil.event.lobby`, `vigil.alert.car-park`; `%`
for a message of no camera; a `.` in a camera id is written `%2E`). One JetStream stream
(`<PREFIX>`, over `<prefix>.<topic>.>` of every topic) keeps them for `bus.max_age_s` /
`bus.max_messages`, so a process that reads under a durable consumer name and restarts gets
what it missed. `publish` never blocks: messages go to a sender task on the bus's own event
loop (a thread); what a process reads from the stream goes to its subscribers through a
`LocalBus`, its own messages included.

The connection (and its loop) also serves the camera directory over NATS request / reply
(vigil.bus.remote): `request`, `serve` and `subscribe_core` are for that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from vigil.bus.base import Message, Topic, topic_of
from vigil.bus.local import LocalBus, LocalSubscription
from vigil.config import BusConfig
from vigil.errors import VigilError

log = logging.getLogger(__name__)
T = TypeVar("T")
SEND_QUEUE = 10_000  # messages waiting for the server before the oldest are dropped
NO_CAMERA = "%"


def camera_token(camera: object) -> str:
    """A camera id as one subject token (NATS tokens cannot hold '.')."""
    if camera is None:
        return NO_CAMERA
    return str(camera).replace("%", "%25").replace(".", "%2E")


def _where(url: str) -> str:
    """The server's address without any credentials in the URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 4222}"


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class NatsBus:
    """A Bus on a NATS server with JetStream. Connects in the constructor (VigilError when
    the server cannot be reached); `close()` once (idempotent)."""

    def __init__(self, config: BusConfig, *, consumer: str | None = None) -> None:
        if config.url is None:
            raise VigilError("the NATS bus needs bus.url in vigil.yml (nats://host:4222)")
        self.config = config
        self.consumer = consumer
        self.local = LocalBus()
        self.dropped = 0  # messages lost because the server could not take them
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vigil-nats")
        self._thread.daemon = True
        self._thread.start()
        self._closed = False
        self._reading = False
        self._queue: asyncio.Queue[tuple[str, bytes]] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._nc: Client | None = None
        try:
            self.call(self._start(), timeout=config.connect_timeout_s + 10)
        except BaseException:
            self.close()
            raise

    # -- the Bus protocol -----------------------------------------------------------------

    def subject(self, topic: Topic, camera: object = None) -> str:
        return f"{self.config.prefix}.{topic}.{camera_token(camera)}"

    def publish(self, message: Mapping[str, Any]) -> None:
        topic = topic_of(message)
        data = json.dumps(dict(message), default=str).encode()
        item = (self.subject(topic, message.get("camera")), data)
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop has stopped: the bus is closing
            self._loop.call_soon_threadsafe(self._enqueue, item)

    def subscribe(
        self, topics: Iterable[str] | None = None, *, maxsize: int = 256
    ) -> LocalSubscription:
        return self.local.subscribe(topics, maxsize=maxsize)

    def start(self) -> None:
        """Begin reading the stream (under the consumer name; nothing without one). Call it
        once the subscribers that must also see what was missed meanwhile have subscribed."""
        if self.consumer is not None and not self._reading:
            self._reading = True
            self.call(self._consume(), timeout=self.config.connect_timeout_s + 10)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.local.close()
        if self._loop.is_running():
            with contextlib.suppress(Exception):
                self.call(self._stop(), timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._loop.is_running():
            self._loop.close()

    # -- for the camera directory over NATS --------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The bus's own event loop (a thread of its own)."""
        return self._loop

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run a coroutine on the bus's loop from another thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def request(self, subject: str, payload: Mapping[str, Any], timeout: float) -> Msg | None:
        """A NATS request; None when nobody answers in time."""
        assert self._nc is not None
        try:
            return await self._nc.request(subject, json.dumps(payload).encode(), timeout=timeout)
        except (TimeoutError, NatsError):
            return None

    async def subscribe_core(self, subject: str, handler: Callable[[Msg], Awaitable[None]]) -> None:
        """Plain (not JetStream) messages of `subject`, each to `handler` on the bus's loop."""
        assert self._nc is not None
        await self._nc.subscribe(subject, cb=handler)

    async def publish_core(
        self, subject: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        assert self._nc is not None
        await self._nc.publish(subject, data, headers=headers)

    def deliver_locally(self, message: Message) -> None:
        """Hand a message to this process's subscribers only (not to the server)."""
        self.local.publish(message)

    # -- on the loop ----------------------------------------------------------------------------

    async def _start(self) -> None:
        url = self.config.url
        assert url is not None
        self._queue = asyncio.Queue(SEND_QUEUE)
        wait = 0.5
        try:
            # A few tries at the start (then a clear error); once connected, a server that
            # goes away is waited for, forever.
            self._nc = await asyncio.wait_for(
                nats.connect(
                    url,
                    connect_timeout=self.config.connect_timeout_s,
                    max_reconnect_attempts=max(1, int(self.config.connect_timeout_s / wait)),
                    reconnect_time_wait=wait,
                    error_cb=self._on_error,
                    name="vigil",
                ),
                self.config.connect_timeout_s * 2 + 1,
            )
        except Exception as exc:  # noqa: BLE001 - nats-py raises several kinds here
            raise VigilError(
                f"cannot reach the NATS server at {_where(url)} ({_reason(exc)}); "
                "start it (nats-server -js) or correct bus.url in vigil.yml"
            ) from None
        self._nc.options["max_reconnect_attempts"] = -1
        await self._ensure_stream()
        self._sender = self._loop.create_task(self._send_forever())

    async def _ensure_stream(self) -> None:
        assert self._nc is not None
        js = self._nc.jetstream()
        stream = StreamConfig(
            name=self.config.stream,
            subjects=[f"{self.config.prefix}.{t}.>" for t in Topic],
            max_age=self.config.max_age_s,
            max_msgs=self.config.max_messages,
            discard=DiscardPolicy.OLD,
        )
        try:
            try:
                await js.update_stream(stream)
            except NotFoundError:
                await js.add_stream(stream)
        except BadRequestError as exc:
            raise VigilError(
                f"the NATS server at {_where(self.config.url or '')} refused the stream "
                f"'{self.config.stream}' ({exc.description}); choose another bus.prefix"
            ) from None
        except Exception as exc:  # noqa: BLE001 - no JetStream on that server, most likely
            raise VigilError(
                f"the NATS server at {_where(self.config.url or '')} has no JetStream "
                f"({exc or type(exc).__name__}); start it with -js (JetStream on)"
            ) from None

    async def _consume(self) -> None:
        """Read the stream under the durable consumer name: from now on the first time, from
        where it stopped after a restart (within the stream's retention)."""
        assert self._nc is not None and self.consumer is not None
        js = self._nc.jetstream()
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.NEW,
            ack_policy=AckPolicy.EXPLICIT,
            inactive_threshold=self.config.max_age_s,  # forgotten when its process is gone
        )
        await js.subscribe(
            f"{self.config.prefix}.>",
            durable=self.consumer,
            stream=self.config.stream,
            config=config,
            cb=self._on_stream_message,
            manual_ack=True,
        )

    async def _on_stream_message(self, msg: Msg) -> None:
        try:
            message = json.loads(msg.data)
            topic_of(message)
        except ValueError:
            log.warning("bus: a message on %s is not a Vigil message; ignored", msg.subject)
        else:
            self.local.publish(message)
        await msg.ack()

    def _enqueue(self, item: tuple[str, bytes]) -> None:
        assert self._queue is not None
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)

    async def _send_forever(self) -> None:
        assert self._queue is not None and self._nc is not None
        while True:
            subject, data = await self._queue.get()
            try:
                await self._nc.publish(subject, data)
            except NatsError as exc:
                self.dropped += 1
                log.warning("bus: a message to %s was lost (%s)", subject, exc)

    async def _on_error(self, exc: Exception) -> None:
        if self._nc is not None:  # not while the first connection is being tried
            log.warning("bus: NATS connection problem: %s", _reason(exc))

    async def _stop(self) -> None:
        if self._nc is None:
            return
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        with contextlib.suppress(Exception):
            await self._flush_queue()
        with contextlib.suppress(Exception):
            await self._nc.drain()
        with contextlib.suppress(Exception):
            await self._nc.close()
        for task in asyncio.all_tasks(self._loop):
            if task is not asyncio.current_task():
                task.cancel()

    async def _flush_queue(self) -> None:
        """Send what is still waiting (a worker's last tracks at shutdown)."""
        assert self._queue is not None and self._nc is not None
        while not self._queue.empty():
            subject, data = self._queue.get_nowait()
            await self._nc.publish(subject, data)
        await self._nc.flush(timeout=2)
