"""Signed webhooks against a real HTTP receiver on 127.0.0.1 (tests/integrations/hookreceiver):
the signature verifies with the receiver's own hmac, a receiver failing three times gets the
event once, a 4xx is not retried, an answer lost on the way back is deduped by the key, and
addresses a request forgery aims at are refused, at config load and at delivery time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.integrations.hookreceiver import Receiver, verify
from vigil.audit.log import AuditLog
from vigil.audit.report import transparency_report
from vigil.bus import LocalBus
from vigil.config import VigilConfig
from vigil.config.webhooks import WebhookConfig
from vigil.domain import DeliveryState
from vigil.integrations.webhooks import Resolver, Webhooks, system_resolver
from vigil.store.db import Store
from vigil.store.deliveries import Deliveries
from vigil.store.tables import DeliveryRow

SECRET = "a webhook secret, long enough"
FAST = {"retry_base_s": 0.01, "retry_max_s": 0.05, "timeout_s": 5}


def event(n: int = 1, kind: str = "zone_enter", **extra: Any) -> dict[str, Any]:
    return {
        "topic": "event", "id": n, "camera": "lobby", "type": kind, "time": "2026-12-03T17:00:00",
        "label": "person", "zone": "table", "attributes": {"zone": "table"},
        "snapshot_url": f"/api/events/{n}/snapshot.jpg", "captured_at": 1.0,
        "published_at": time.time(), **extra,
    }  # fmt: skip


def hook(url: str, name: str = "ops", **kw: Any) -> WebhookConfig:
    base = {"name": name, "url": url, "secret": SECRET, "events": ["zone_enter", "plate_read"]}
    return WebhookConfig.model_validate({**base, "allow_private": True, **FAST, **kw})


@dataclass
class Running:
    hooks: Webhooks
    bus: LocalBus
    store: Store

    def rows(self) -> list[DeliveryRow]:
        return list(Deliveries(self.store).listed(None, None, 100))


@contextlib.asynccontextmanager
async def running(tmp_path: Path, *cfgs: WebhookConfig, resolve: Resolver = system_resolver
                  ) -> AsyncIterator[Running]:  # fmt: skip
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    hooks = Webhooks(list(cfgs), Deliveries(store), bus := LocalBus(),
                     audit=AuditLog(store, tmp_path), resolve=resolve)  # fmt: skip
    await hooks.start()
    try:
        yield Running(hooks, bus, store)
    finally:
        await hooks.stop()
        store.close()


async def until(condition: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.02)
    return value


def _settled(run: Running, n: int = 1) -> list[DeliveryRow] | None:
    rows = run.rows()
    done = [r for r in rows if r.state != DeliveryState.PENDING]
    return rows if len(rows) >= n and len(done) == len(rows) else None


def test_the_signature_verifies_with_an_independent_hmac_and_only_what_is_allowed_goes(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        with Receiver(SECRET.encode()) as rx:
            async with running(tmp_path, hook(rx.url)) as run:
                run.bus.publish(event(1))
                run.bus.publish(event(2, "plate_read", attributes={"read": "AB123C"}))
                run.bus.publish(event(3, "loiter"))  # not a type this webhook sends
                run.bus.publish(event(4, "face_match", attributes={"entry": 9}))
                await until(lambda: len(rx.accepted) == 2, "two deliveries accepted")
                # Counted once its answer is back, which may come after the receiver's count.
                await until(lambda: _settled(run, 2), "both deliveries settled")
                run.hooks.record_counts()
                report = transparency_report(run.store, tmp_path, since=_day_ago())
        assert len(rx.got) == 2 and all(g.signed for g in rx.got)
        first = rx.got[0]
        sig = first.headers["Vigil-Signature"]
        assert verify(SECRET.encode(), sig, first.body)
        assert not verify(SECRET.encode(), sig, first.body.replace(b"lobby", b"lobbx"))
        assert not verify(b"another secret entirely", sig, first.body)
        body = json.loads(first.body)
        assert body["id"] == first.headers["Vigil-Delivery"] and first.path == "/hook"
        assert first.headers["Vigil-Event"] == body["event"] == "event.zone_enter"
        assert body["data"]["id"] == 1 and "snapshot_url" not in body["data"]
        plate = json.loads(next(g.body for g in rx.got if b"plate_read" in g.body))
        assert plate["data"]["attributes"] == {} and b"AB123C" not in rx.got[1].body
        assert report.webhooks_sent == {"events": 2, "alerts": 0, "with_plate": 0,
                                        "with_snapshot": 0}  # fmt: skip
        assert "## Sent by webhook" in report.to_markdown()

    asyncio.run(main())


def test_plates_and_snapshots_only_when_configured_and_alerts_by_rule_without_reviewers(
    tmp_path: Path,
) -> None:
    alert = {
        "topic": "alert", "id": 7, "rule": "table entry", "camera": "lobby", "type": "plate_read",
        "status": "acknowledged", "reviewed_by": "olivia", "reason": "seen on camera",
        "reviews": [{"reviewer": "olivia"}], "attributes": {"read": "XY99Z"},
        "snapshot_url": "/api/alerts/7/snapshot.jpg",
    }  # fmt: skip

    async def main() -> None:
        with Receiver(SECRET.encode()) as rx:
            cfg = hook(rx.url, rules=["table entry"], send={"plates": True, "snapshots": True})
            async with running(tmp_path, cfg) as run:
                run.bus.publish(alert)
                run.bus.publish({**alert, "rule": "another rule"})
                run.bus.publish({**alert, "id": 8, "type": "face_match"})
                run.bus.publish(event(2, "plate_read", attributes={"read": "AB123C"}))
                await until(lambda: len(rx.accepted) == 2, "the alert and the event")
        bodies = {json.loads(b)["event"]: json.loads(b)["data"] for b in rx.accepted.values()}
        assert set(bodies) == {"alert.acknowledged", "event.plate_read"}
        told = bodies["alert.acknowledged"]
        assert told["attributes"] == {"read": "XY99Z"} and told["snapshot_url"]
        assert not {"reviewed_by", "reason", "reviews"} & set(told)
        assert b"olivia" not in b"".join(rx.accepted.values())
        assert bodies["event.plate_read"]["attributes"] == {"read": "AB123C"}

    asyncio.run(main())


def test_a_receiver_failing_three_times_gets_the_event_once(tmp_path: Path) -> None:
    async def main() -> None:
        with Receiver(SECRET.encode(), [503, 500, 429]) as rx:
            async with running(tmp_path, hook(rx.url, max_attempts=5)) as run:
                run.bus.publish(event(1))
                rows = await until(lambda: _settled(run), "the delivery settled")
        assert len(rx.got) == 4 and len(rx.accepted) == 1
        assert len({g.headers["Vigil-Delivery"] for g in rx.got}) == 1
        assert len({g.body for g in rx.got}) == 1  # the same bytes each time, signed anew
        (row,) = rows
        assert (row.state, row.attempts, row.last_status) == ("delivered", 4, 200)
        assert row.key == next(iter(rx.accepted)) and row.delivered_at is not None
        assert run.hooks.hooks["ops"].outcomes == {"failed": 3, "delivered": 1}

    asyncio.run(main())


def test_an_answer_lost_on_the_way_back_is_retried_and_deduped_by_the_key(tmp_path: Path) -> None:
    async def main() -> None:
        with Receiver(SECRET.encode()) as rx:
            rx.hold = True  # accepts the first request, then answers too late
            async with running(tmp_path, hook(rx.url, timeout_s=0.5)) as run:
                run.bus.publish(event(1))
                (row,) = await until(lambda: _settled(run), "the delivery settled")
        assert len(rx.got) >= 2 and len(rx.accepted) == 1  # more if a retry was slow too
        assert len({g.headers["Vigil-Delivery"] for g in rx.got}) == 1
        assert (row.state, row.attempts) == ("delivered", len(rx.got))

    asyncio.run(main())


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
def test_a_4xx_is_not_retried(tmp_path: Path, status: int) -> None:
    async def main() -> None:
        with Receiver(SECRET.encode(), [status] * 3) as rx:
            async with running(tmp_path, hook(rx.url, max_attempts=5)) as run:
                run.bus.publish(event(1))
                (row,) = await until(lambda: _settled(run), "the delivery settled")
                health = run.hooks.health()[0]
        assert len(rx.got) == 1
        assert (row.state, row.attempts, row.last_status) == ("dead", 1, status)
        assert row.last_error == f"the receiver answered {status} {HTTPStatus(status).phrase}"
        assert health["state"] == "failing" and health["dead"] == 1

    asyncio.run(main())


def test_408_is_retried(tmp_path: Path) -> None:
    async def main() -> None:
        with Receiver(SECRET.encode(), [408]) as rx:
            async with running(tmp_path, hook(rx.url)) as run:
                run.bus.publish(event(1))
                (row,) = await until(lambda: _settled(run), "the delivery settled")
        assert (row.state, row.attempts, len(rx.accepted)) == ("delivered", 2, 1)

    asyncio.run(main())


REFUSED_URLS = [
    ("http://169.254.10.1/hook", "link-local"),
    ("http://169.254.169.254/latest/meta-data", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://127.0.0.1:8080/hook", "allow_private"),
    ("http://10.1.2.3/hook", "allow_private"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("ftp://example.org/hook", "http"),
    ("http://user:pw@example.org/hook", "user name"),
]


@pytest.mark.parametrize(("url", "said"), REFUSED_URLS)
def test_urls_a_request_forgery_aims_at_are_refused_at_load(url: str, said: str) -> None:
    cfg = {"name": "x", "url": url, "secret": SECRET, "events": ["zone_enter"]}
    with pytest.raises(ValidationError, match=said):
        WebhookConfig.model_validate(cfg)


def test_config_mistakes_are_one_clear_line() -> None:
    base = {"name": "x", "url": "https://hooks.example.org/v", "events": ["zone_enter"]}
    mistakes: list[tuple[dict[str, Any], str]] = [
        ({}, "needs one of secret or secret_env"),
        ({"secret_env": "VIGIL_TEST_UNSET_HOOK_SECRET"}, "set the environment variable"),
        ({"secret": SECRET, "events": None}, "needs events"),
        ({"secret": SECRET, "events": ["face_match"]}, "never sent by webhook"),
        ({"secret": SECRET, "deny_networks": ["10.0.0.0/33"]}, "not a network"),
        ({"secret": SECRET, "url": "http://10.9.9.9/", "allow_private": True,
          "deny_networks": ["10.9.0.0/16"]}, "deny_networks"),
    ]  # fmt: skip
    for extra, said in mistakes:
        with pytest.raises(ValidationError, match=said):
            WebhookConfig.model_validate({**base, **extra})
    with pytest.raises(ValidationError, match="names no rule nope"):
        VigilConfig.model_validate({"webhooks": [{**base, "secret": SECRET, "rules": ["nope"]}]})
    assert WebhookConfig.model_validate({**base, "secret": SECRET}).url == base["url"]


def test_a_name_resolving_to_a_refused_address_is_refused_at_delivery(tmp_path: Path) -> None:
    """Through the system's resolver: `localhost` is loopback (refused without allow_private,
    refused by deny_networks with it); through a resolver that rebinds a name to the
    metadata address after its first answer (DNS rebinding): refused from then on."""
    answers = {"hooks.example.test": ["127.0.0.1"]}

    async def rebinding(host: str, port: int) -> list[str]:
        found = answers.get(host)
        return found if found is not None else await system_resolver(host, port)

    async def main() -> None:
        with Receiver(SECRET.encode()) as rx:
            port = rx.server.server_address[1]
            cfgs = [
                hook(f"http://localhost:{port}/hook", "plain", allow_private=False),
                hook(f"http://localhost:{port}/hook", "denied", deny_networks=["127.0.0.0/8"]),
                hook(f"http://hooks.example.test:{port}/hook", "rebound"),
            ]
            async with running(tmp_path, *cfgs, resolve=rebinding) as run:
                run.bus.publish(event(1))
                await until(lambda: _settled(run, 3), "three deliveries settled")
                answers["hooks.example.test"] = ["169.254.169.254"]
                run.bus.publish(event(2))
                rows = await until(lambda: _settled(run, 6), "six deliveries settled")
        by = {(r.webhook, r.object_id): r for r in rows}
        assert by[("rebound", 1)].state == "delivered"
        rebound = by[("rebound", 2)]
        assert (rebound.state, rebound.attempts, rebound.last_status) == ("dead", 1, None)
        assert "resolves to 169.254.169.254" in (rebound.last_error or "")
        for n in (1, 2):
            assert "loopback" in (by[("plain", n)].last_error or "")
            assert "deny_networks" in (by[("denied", n)].last_error or "")
        assert len(rx.got) == 1  # only the first, before the name was rebound

    asyncio.run(main())


def test_a_dead_receiver_never_holds_up_another(tmp_path: Path) -> None:
    async def main() -> None:
        with Receiver(SECRET.encode(), [503] * 1000) as sick, Receiver(SECRET.encode()) as ok:
            slow = hook(sick.url, "sick", max_attempts=50, retry_base_s=60, retry_max_s=60)
            async with running(tmp_path, slow, hook(ok.url, "ok")) as run:
                for n in range(20):
                    run.bus.publish(event(n + 1))
                await until(lambda: len(ok.accepted) == 20, "the healthy receiver has all")
                assert run.hooks.hooks["sick"].under_way == 20
                assert len(sick.got) == 20  # one attempt each so far, waiting to retry

    asyncio.run(main())


def _day_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=1)
