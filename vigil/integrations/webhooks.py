"""Signed webhooks: events of chosen types, or the alerts of chosen rules, POSTed as JSON to
the receivers `webhooks:` in vigil.yml names (what is sent and how it is signed:
vigil.integrations.hookbody).

It runs in the `vigil serve` process (started and stopped by the app's lifespan:
`start_webhooks`), a subscriber of the bus. Each delivery is stored first (the delivery log,
vigil.store.deliveries) and then tried in a task of its own: a receiver that is slow or away
never holds up the bus, the other receivers or the server. An answer 2xx delivers it; 408,
429, 5xx, a timeout or a connection error is tried again after a wait that doubles each time
(from `retry_base_s`, with jitter, at most `retry_max_s`, or what Retry-After asks within
that); any other answer (4xx, 3xx: redirects are not followed) or `max_attempts` failures end
it in the dead-letter list (state `dead`), which an admin reads and retries through the API.
Every attempt carries the same `Vigil-Delivery` key, so a receiver that dedupes on it acts
once. Deliveries still pending when the server stopped are tried again when it starts.

Before each attempt the URL's host is resolved and every address checked
(vigil.integrations.netcheck); the request goes to the checked address, so a name rebound to
a metadata or link-local address is refused, not followed.

Numbers: live in Prometheus (`vigil_webhook_*`), and what went out, durably, in the audit log
(`webhooks.sent` rows every `COUNT_EVERY_S` and at stop), which the transparency report reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from vigil.bus import Bus, Subscription, Topic
from vigil.config.webhooks import WebhookConfig
from vigil.domain import DeliveryState
from vigil.errors import Conflict, NotFound
from vigil.integrations import hookbody
from vigil.integrations.hookmetrics import OUTCOMES, WebhookCollector
from vigil.integrations.netcheck import refusal
from vigil.integrations.sentcount import SentCounts, iso
from vigil.logtext import escape
from vigil.store.deliveries import Deliveries
from vigil.store.tables import DeliveryRow

if TYPE_CHECKING:
    from vigil.api.deps import AppState
    from vigil.audit.log import AuditLog

log = logging.getLogger(__name__)
ACTOR = "system:webhooks"
STATE_KEY = "webhooks"  # the running dispatcher in AppState.extra
COUNT_EVERY_S = 300.0
CONCURRENCY = 8  # attempts under way at once per receiver
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives `host` (an IP literal: itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Refused(Exception):
    """An attempt that will not be made again (the address, or the receiver's answer)."""


@dataclass
class Hook:
    """One configured receiver and how it is doing."""

    cfg: WebhookConfig
    client: httpx.AsyncClient
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))
    outcomes: Counter[str] = field(default_factory=Counter)
    under_way: int = 0
    last_ok: float | None = None
    last_error: str | None = None
    failing: bool = False

    def health(self) -> dict[str, Any]:
        """A camera-style status: ok, failing (the last attempt failed) or idle (none yet)."""
        state = "failing" if self.failing else ("ok" if self.last_ok else "idle")
        return {
            "name": self.cfg.name,
            "url": self.cfg.url,
            "state": state,
            "last_error": self.last_error,
            "last_delivered_at": iso(self.last_ok) if self.last_ok else None,
            "under_way": self.under_way,
            **{k: self.outcomes.get(k, 0) for k in OUTCOMES},
        }


class Webhooks:
    """Every webhook of vigil.yml, for the life of the app: `await start()`, `await stop()`."""

    def __init__(
        self,
        cfgs: list[WebhookConfig],
        deliveries: Deliveries,
        bus: Bus,
        *,
        audit: AuditLog | None = None,
        resolve: Resolver = system_resolver,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.deliveries, self.bus, self.audit = deliveries, bus, audit
        self.resolve, self.clock = resolve, clock
        self.hooks: dict[str, Hook] = {}
        for cfg in cfgs:
            timeout = httpx.Timeout(cfg.timeout_s)
            client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)
            self.hooks[cfg.name] = Hook(cfg, client)
        self.sent_counts = SentCounts(clock)
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._deliveries: set[asyncio.Task[None]] = set()

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._sub = self.bus.subscribe([Topic.EVENT, Topic.ALERT], maxsize=4096)
        self._tasks = [
            asyncio.create_task(self._follow(self._sub)),
            asyncio.create_task(self._count()),
        ]
        try:
            left = await asyncio.to_thread(self.deliveries.pending, 100_000)
        except Exception:  # the database is away: they wait for the next start
            log.exception("webhooks: the deliveries pending could not be read")
            return
        for row in left:
            hook = self.hooks.get(row.webhook)
            if hook is not None:  # a webhook since removed from vigil.yml: left pending
                self._launch(hook, row.id, row.key, row.event, row.body, row.attempts)

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        for task in [*self._tasks, *self._deliveries]:
            task.cancel()
        for task in [*self._tasks, *self._deliveries]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for hook in self.hooks.values():
            await hook.client.aclose()
        await asyncio.to_thread(self.record_counts)

    def health(self) -> list[dict[str, Any]]:
        return [hook.health() for hook in self.hooks.values()]

    # -- from the bus ----------------------------------------------------------------------

    async def _follow(self, sub: Subscription) -> None:
        async for message in sub:
            if message.get("topic") == "dropped":
                log.warning(
                    "webhooks: %s bus message(s) lost (Vigil fell behind)", message.get("count")
                )
                continue
            for hook in self.hooks.values():
                try:
                    await self.enqueue(hook, message)
                except Exception:  # one message or the database: the others go on
                    log.exception("webhooks: a %s message could not be queued for %s",
                                  message.get("topic"), hook.cfg.name)  # fmt: skip

    async def enqueue(self, hook: Hook, message: dict[str, Any]) -> int | None:
        """Store and start the delivery of `message` to `hook`, if it sends it; its id."""
        out = hookbody.outgoing(message, hook.cfg)
        if out is None:
            return None
        if hook.under_way >= hook.cfg.queue_size:
            hook.outcomes["dropped"] += 1
            return None
        key = self.deliveries.new_key()
        body = hookbody.body_of(key, hook.cfg, out)
        row = await asyncio.to_thread(
            self.deliveries.create, key, hook.cfg.name, out.event, out.object_id, body
        )
        self._launch(hook, row.id, key, out.event, body, 0, out)
        return row.id

    async def retry(self, delivery_id: int) -> DeliveryRow:
        """A dead delivery tried again, its attempts counted afresh, the same key (the API's
        retry action); NotFound, or Conflict when it is not dead or its webhook is gone."""
        row = await asyncio.to_thread(self.deliveries.get, delivery_id)
        if row is None:
            raise NotFound(f"no webhook delivery {delivery_id}")
        hook = self.hooks.get(row.webhook)
        if hook is None:
            raise Conflict(
                f"webhook '{escape(row.webhook, 64)}' is not in vigil.yml now; add it back "
                "and restart to retry its deliveries"
            )
        row = await asyncio.to_thread(self.deliveries.requeue, delivery_id)
        self._launch(hook, row.id, row.key, row.event, row.body, 0)
        return row

    def _launch(
        self, hook: Hook, row_id: int, key: str, event: str, body: str, attempts: int,
        out: hookbody.Outgoing | None = None,
    ) -> None:  # fmt: skip
        hook.under_way += 1
        task = asyncio.create_task(self._deliver(hook, row_id, key, event, body, attempts, out))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    # -- delivering ------------------------------------------------------------------------

    async def _deliver(
        self, hook: Hook, row_id: int, key: str, event: str, body: str, attempts: int,
        out: hookbody.Outgoing | None,
    ) -> None:  # fmt: skip
        cfg = hook.cfg
        try:
            while True:
                async with hook.gate:
                    status, error, wait, final = await self._attempt(
                        hook, key, event, body.encode()
                    )
                attempts += 1
                if error is None:
                    hook.outcomes["delivered"] += 1
                    hook.last_ok, hook.failing, hook.last_error = self.clock(), False, None
                    self._sent(event, out, body)
                    await self._save(row_id, DeliveryState.DELIVERED, status, None)
                    return
                hook.failing, hook.last_error = True, error
                if final or attempts >= cfg.max_attempts:
                    hook.outcomes["dead"] += 1
                    log.warning("webhook %s: delivery %s dead after %d attempt(s): %s",
                                cfg.name, key, attempts, error)  # fmt: skip
                    await self._save(row_id, DeliveryState.DEAD, status, error)
                    return
                hook.outcomes["failed"] += 1
                delay = wait if wait is not None else backoff(cfg, attempts)
                later = datetime.now(UTC) + timedelta(seconds=delay)
                await self._save(row_id, DeliveryState.PENDING, status, error, later)
                await asyncio.sleep(delay)
        finally:
            hook.under_way -= 1

    async def _save(
        self, row_id: int, state: DeliveryState, status: int | None, error: str | None,
        next_at: datetime | None = None,
    ) -> None:  # fmt: skip
        try:
            await asyncio.to_thread(
                self.deliveries.attempted, row_id, state, status=status, error=error,
                next_at=next_at,
            )  # fmt: skip
        except Exception:  # the database is away: the delivery goes on, its log lags
            log.exception("webhooks: delivery %d could not be logged", row_id)

    async def _attempt(
        self, hook: Hook, key: str, event: str, body: bytes
    ) -> tuple[int | None, str | None, float | None, bool]:
        """One POST: (status, error or None when delivered, the wait the receiver asked,
        whether the failure is final)."""
        cfg = hook.cfg
        try:
            url, host_header, sni = await self._target(cfg)
        except Refused as exc:
            return None, escape(str(exc), 300), None, True
        except OSError as exc:  # the name did not resolve: perhaps it will
            return (
                None,
                escape(f"{urlsplit(cfg.url).hostname} does not resolve ({exc})", 300),
                None,
                False,
            )
        stamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Vigil-Webhooks",
            "Host": host_header,
            hookbody.SIGNATURE: hookbody.sign(cfg.key, stamp, body),
            hookbody.DELIVERY: key,
            hookbody.EVENT: event,
        }
        extensions = {"sni_hostname": sni} if sni else None
        try:
            r = await hook.client.post(url, content=body, headers=headers, extensions=extensions)
        except httpx.TimeoutException:
            return None, f"no answer within {cfg.timeout_s:g} s", None, False
        except httpx.HTTPError as exc:
            return None, escape(f"{type(exc).__name__}: {exc}", 300), None, False
        if 200 <= r.status_code < 300:
            return r.status_code, None, None, False
        error = f"the receiver answered {r.status_code} {escape(r.reason_phrase, 60)}"
        if r.status_code in (408, 429) or r.status_code >= 500:
            return r.status_code, error, retry_after(r, cfg), False
        return r.status_code, error, None, True

    async def _target(self, cfg: WebhookConfig) -> tuple[str, str, str | None]:
        """The URL with its host replaced by a checked address; the Host header; the TLS
        server name. Refused when any address the host resolves to is refused."""
        parts = urlsplit(cfg.url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await self.resolve(host, port)
        if not addresses:
            raise OSError("no address")
        for address in addresses:
            why = refusal(address, allow_private=cfg.allow_private, deny=cfg.denied)
            if why is not None:
                raise Refused(f"{host} resolves to {address}: {why}")
        address = addresses[0]
        shown = f"[{address}]" if ":" in address else address
        netloc = f"{shown}:{parts.port}" if parts.port else shown
        url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = parts.netloc.rsplit("@", 1)[-1]
        return url, host_header, host if parts.scheme == "https" else None

    # -- counting --------------------------------------------------------------------------

    def _sent(self, event: str, out: hookbody.Outgoing | None, body: str) -> None:
        if out is None:  # resumed or retried: what it holds, read back from the body
            out = _outgoing_of(event, body)
        self.sent_counts.add("alerts" if event.startswith("alert.") else "events")
        self.sent_counts.add("with_plate", int(out.plate))
        self.sent_counts.add("with_snapshot", int(out.snapshot))

    async def _count(self) -> None:
        while True:
            await asyncio.sleep(COUNT_EVERY_S)
            await asyncio.to_thread(self.record_counts)

    def record_counts(self) -> None:
        """The deliveries made since the last row, into the audit log (no row for none)."""
        audit, names = self.audit, ",".join(self.hooks)

        def write(counts: dict[str, int], since: str, until: str) -> None:
            assert audit is not None
            details = {"counts": counts, "from": since, "until": until}
            audit.append(ACTOR, hookbody.SENT_ACTION, "webhook", names, details=details)

        self.sent_counts.record(
            write if audit is not None else None, hookbody.SENT_KINDS, "webhooks"
        )

    def collector(self) -> WebhookCollector:
        return WebhookCollector(self)


def backoff(cfg: WebhookConfig, attempts: int) -> float:
    """The wait after `attempts` failed attempts: doubling from retry_base_s, capped, with
    jitter (receivers that came back are not all hit at once)."""
    delay = min(cfg.retry_max_s, cfg.retry_base_s * 2 ** (attempts - 1))
    return delay * random.uniform(0.5, 1.0)


def retry_after(r: httpx.Response, cfg: WebhookConfig) -> float | None:
    """The receiver's Retry-After (seconds), within retry_max_s; None without one."""
    try:
        asked = float(r.headers.get("retry-after", ""))
    except ValueError:
        return None
    return min(max(asked, 0.0), cfg.retry_max_s)


def _outgoing_of(event: str, body: str) -> hookbody.Outgoing:
    data = json.loads(body).get("data") or {}
    plate = bool(data.get("attributes")) and data.get("type") == "plate_read"
    return hookbody.Outgoing(event, data.get("id"), data, plate, bool(data.get("snapshot_url")))


async def start_webhooks(state: AppState) -> Webhooks | None:
    """The webhooks of the app's `webhooks:` section, started; None without any."""
    if not state.config.webhooks:
        return None
    hooks = Webhooks(
        list(state.config.webhooks), Deliveries(state.store), state.bus, audit=state.audit
    )
    state.registry.register(hooks.collector())
    state.extra[STATE_KEY] = hooks
    await hooks.start()
    return hooks
