"""The bus on the real NATS server (JetStream): across processes' buses, per-topic subjects,
bounded retention, a restarted reader replays what it missed, clear errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import NATS_URL
from vigil.bus.nats import NatsBus, camera_token
from vigil.config import BusConfig
from vigil.errors import VigilError


def config(prefix: str, **kw: Any) -> BusConfig:
    return BusConfig(url=NATS_URL, prefix=prefix, **kw)


async def drain(sub: Any, quiet: float = 1.0) -> list[dict[str, Any]]:
    got = []
    while (message := await sub.get(timeout=quiet)) is not None:
        got.append(message)
    return got


def test_messages_cross_from_one_bus_to_another(nats_prefix: str) -> None:
    async def main() -> list[dict[str, Any]]:
        reader = NatsBus(config(nats_prefix), consumer="web-test")
        writer = NatsBus(config(nats_prefix))
        try:
            sub = reader.subscribe(["event", "camera"])
            reader.start()
            writer.publish({"topic": "event", "camera": "lobby", "n": 1})
            writer.publish({"topic": "alert", "camera": "lobby", "n": 2})  # not subscribed
            writer.publish({"topic": "camera", "camera": "gate.2", "online": True})
            return [await sub.get(timeout=5), await sub.get(timeout=5)]
        finally:
            writer.close()
            reader.close()

    first, second = asyncio.run(main())
    assert first == {"topic": "event", "camera": "lobby", "n": 1}
    assert second == {"topic": "camera", "camera": "gate.2", "online": True}


def test_subjects_name_the_topic_and_the_camera(nats_prefix: str) -> None:
    bus = NatsBus(config(nats_prefix))
    try:
        assert bus.subject("event", "lobby") == f"{nats_prefix}.event.lobby"
        assert bus.subject("alert", "gate.2") == f"{nats_prefix}.alert.gate%2E2"
        assert bus.subject("access") == f"{nats_prefix}.access.%"
        assert camera_token("a%b") == "a%25b"
    finally:
        bus.close()


def test_a_reader_that_restarts_replays_what_it_missed(nats_prefix: str) -> None:
    async def main() -> tuple[list[Any], list[Any]]:
        reader = NatsBus(config(nats_prefix), consumer="web-a")
        sub = reader.subscribe()
        reader.start()
        writer = NatsBus(config(nats_prefix))
        writer.publish({"topic": "event", "camera": "c", "i": 0})
        before = await drain(sub)
        reader.close()  # the web process stops
        for i in range(1, 6):
            writer.publish({"topic": "event", "camera": "c", "i": i})
        writer.close()
        again = NatsBus(config(nats_prefix), consumer="web-a")  # ... and comes back
        sub = again.subscribe()
        again.start()
        missed = await drain(sub)
        again.close()
        return before, missed

    before, missed = asyncio.run(main())
    assert [m["i"] for m in before] == [0]
    assert [m["i"] for m in missed] == [1, 2, 3, 4, 5]


def test_a_new_reader_starts_from_now_and_the_stream_is_bounded(nats_prefix: str) -> None:
    async def main() -> list[Any]:
        writer = NatsBus(config(nats_prefix, max_messages=100))
        for i in range(150):
            writer.publish({"topic": "event", "camera": "c", "i": i})
        await asyncio.sleep(0.5)
        info = writer.call(writer._nc.jetstream().stream_info(nats_prefix.upper()), 5)  # type: ignore[union-attr]
        assert info.state.messages == 100  # the oldest 50 were dropped
        reader = NatsBus(config(nats_prefix, max_messages=100), consumer="fresh")
        sub = reader.subscribe()
        reader.start()
        writer.publish({"topic": "event", "camera": "c", "i": "new"})
        got = await drain(sub)
        reader.close()
        writer.close()
        return got

    assert [m["i"] for m in asyncio.run(main())] == ["new"]


def test_an_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(VigilError) as err:
        NatsBus(BusConfig(url="nats://user:secret@127.0.0.1:1", connect_timeout_s=1))
    text = str(err.value)
    assert "cannot reach the NATS server at nats://127.0.0.1:1" in text
    assert "bus.url" in text and "secret" not in text


def test_publish_checks_the_topic_and_never_blocks_after_close(nats_prefix: str) -> None:
    bus = NatsBus(config(nats_prefix))
    with pytest.raises(ValueError, match="topic"):
        bus.publish({"camera": "x"})
    bus.close()
    bus.publish({"topic": "event"})  # a pipeline thread after shutdown: nothing happens
    bus.close()
