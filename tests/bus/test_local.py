"""The in-process bus: thread-safe publish, async subscribe, topics, bounded queues."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from vigil.bus import LocalBus


def test_publish_from_threads_reaches_async_subscriber_in_order_per_thread() -> None:
    async def main() -> list[dict]:
        bus = LocalBus()
        sub = bus.subscribe(maxsize=1000)

        def publisher(n: int) -> None:
            for i in range(100):
                bus.publish({"topic": "event", "thread": n, "i": i})

        threads = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        got = []
        while len(got) < 400:
            message = await sub.get(timeout=5)
            assert message is not None, f"only {len(got)} of 400 messages arrived"
            got.append(message)
        for t in threads:
            t.join()
        sub.close()
        return got

    got = asyncio.run(main())
    for n in range(4):
        assert [m["i"] for m in got if m["thread"] == n] == list(range(100))


def test_topics_filter_and_each_subscriber_gets_its_own_copy() -> None:
    async def main() -> None:
        bus = LocalBus()
        alerts = bus.subscribe(["alert"])
        everything = bus.subscribe()
        bus.publish({"topic": "event", "n": 1})
        bus.publish({"topic": "alert", "n": 2})
        first = await everything.get(timeout=1)
        assert first == {"topic": "event", "n": 1}
        first["n"] = 99  # changing one subscriber's copy must not show in another's
        assert await everything.get(timeout=1) == {"topic": "alert", "n": 2}
        assert await alerts.get(timeout=1) == {"topic": "alert", "n": 2}
        assert await alerts.get(timeout=0.05) is None

    asyncio.run(main())


def test_slow_subscriber_loses_oldest_and_is_told_how_many() -> None:
    async def main() -> None:
        bus = LocalBus()
        sub = bus.subscribe(maxsize=3)
        for i in range(10):
            bus.publish({"topic": "event", "i": i})
        assert await sub.get(timeout=1) == {"topic": "dropped", "count": 7}
        assert [(await sub.get(timeout=1))["i"] for _ in range(3)] == [7, 8, 9]  # type: ignore[index]
        assert sub.dropped_total == 7
        assert await sub.get(timeout=0.05) is None

    asyncio.run(main())


def test_publish_never_blocks_even_when_nobody_reads() -> None:
    async def main() -> None:
        bus = LocalBus()
        bus.subscribe(maxsize=2)
        started = time.perf_counter()
        for i in range(20_000):
            bus.publish({"topic": "event", "i": i})
        assert time.perf_counter() - started < 2.0

    asyncio.run(main())


def test_async_iteration_ends_when_closed_and_bus_forgets_subscriber() -> None:
    async def main() -> None:
        bus = LocalBus()
        sub = bus.subscribe()
        bus.publish({"topic": "camera", "camera": "a"})
        received = []

        async def read() -> None:
            async for message in sub:
                received.append(message)

        task = asyncio.create_task(read())
        await asyncio.sleep(0.05)
        bus.close()
        await asyncio.wait_for(task, 2)
        assert received == [{"topic": "camera", "camera": "a"}]
        assert bus.subscribers == 0
        bus.publish({"topic": "camera"})  # nobody listens: fine

    asyncio.run(main())


def test_message_without_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="topic"):
        LocalBus().publish({"camera": "x"})


def test_subscriber_whose_loop_closed_is_dropped_not_an_error() -> None:
    bus = LocalBus()

    async def subscribe_only() -> None:
        bus.subscribe()

    asyncio.run(subscribe_only())  # the loop closes with the subscription still registered
    bus.publish({"topic": "event"})  # must not raise from a pipeline thread
    assert bus.subscribers == 0
