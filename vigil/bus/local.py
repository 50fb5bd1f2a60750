"""The in-process bus: every subscriber of this process gets its own bounded queue.

It is the bus of a single `vigil serve` / `vigil demo`, and the local fan-out of the NATS
bus (vigil.bus.nats), which hands each message from the server to its LocalBus.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from vigil.bus.base import Message, topic_of


class LocalSubscription:
    """One subscriber's bounded queue, filled from any thread, read on its event loop."""

    def __init__(
        self,
        bus: LocalBus,
        topics: frozenset[str] | None,
        maxsize: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.topics = topics
        self.maxsize = maxsize
        self.dropped_total = 0
        self._bus = bus
        self._loop = loop
        self._lock = threading.Lock()
        self._queue: deque[Message] = deque()
        self._dropped = 0  # since the last delivered message
        self._ready = asyncio.Event()
        self._closed = False

    def wants(self, topic: str) -> bool:
        return self.topics is None or topic in self.topics

    def offer(self, message: Message) -> None:
        """Called by the bus from any thread."""
        with self._lock:
            if self._closed:
                return
            if len(self._queue) >= self.maxsize:
                self._queue.popleft()
                self._dropped += 1
                self.dropped_total += 1
            self._queue.append(message)
        self._wake()

    def _wake(self) -> None:
        try:
            if _running_loop() is self._loop:
                self._ready.set()
            else:
                self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # the subscriber's loop has closed: nobody will read this
            self.close()

    def _take(self) -> Message | None:
        with self._lock:
            if self._dropped:
                count, self._dropped = self._dropped, 0
                return {"topic": "dropped", "count": count}
            if self._queue:
                return self._queue.popleft()
            self._ready.clear()
            return None

    @property
    def closed(self) -> bool:
        return self._closed

    async def get(self, timeout: float | None = None) -> Message | None:
        """The next message; None after `timeout` seconds without one, or once closed."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            message = self._take()
            if message is not None:
                return message
            if self._closed:
                return None
            if deadline is None:
                await self._ready.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._ready.wait(), remaining)
            except TimeoutError:
                return None

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        message = await self.get()
        if message is None:
            raise StopAsyncIteration
        return message

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._bus._remove(self)
        with contextlib.suppress(RuntimeError):
            if _running_loop() is self._loop:
                self._ready.set()
            else:
                self._loop.call_soon_threadsafe(self._ready.set)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class LocalBus:
    """The in-process Bus."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[LocalSubscription] = []
        self.published = 0

    def publish(self, message: Mapping[str, Any]) -> None:
        topic = topic_of(message)
        with self._lock:
            self.published += 1
            targets = [s for s in self._subscribers if s.wants(topic)]
        for sub in targets:
            # Each subscriber gets its own copy: one must not see another's changes.
            sub.offer(dict(message))

    def subscribe(
        self, topics: Iterable[str] | None = None, *, maxsize: int = 256
    ) -> LocalSubscription:
        loop = asyncio.get_running_loop()
        sub = LocalSubscription(self, frozenset(topics) if topics else None, maxsize, loop)
        with self._lock:
            self._subscribers.append(sub)
        return sub

    def start(self) -> None:
        """Nothing comes from elsewhere: every message is published in this process."""

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def _remove(self, sub: LocalSubscription) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._subscribers.remove(sub)

    def close(self) -> None:
        with self._lock:
            subs = list(self._subscribers)
        for sub in subs:
            sub.close()
