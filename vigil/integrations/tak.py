"""Vigil on a TAK server: a client connection (pytak; TCP, or TLS with a client certificate)
that sends Cursor-on-Target for what changes on the bus (units, incidents, alerts) and, before
they go stale, again for the units, cameras and incidents under way; and that turns the
positions TAK users report into Vigil units.

It runs in the `vigil serve` process (started and stopped by the app's lifespan:
`start_tak`). When the server goes away it reconnects by itself, waiting longer each time
(`reconnect_min_s` up to `reconnect_max_s`), and meanwhile keeps what is to be sent in a
bounded queue: one message per object (a newer one replaces the older), the oldest dropped
and counted when it is full. On each connect everything current is sent again.

Every message sent is counted by kind: live in Prometheus (`vigil_tak_*`), durably in the
audit log (`tak.sent` rows, every `count_every_s` and at each disconnect and stop), which is
where the transparency report reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select

from vigil.bus import Bus, Subscription, Topic
from vigil.config import VigilConfig
from vigil.config.integrations import TakConfig
from vigil.errors import VigilError
from vigil.incidents.incidents import Incidents
from vigil.incidents.units import Units, unit_record
from vigil.integrations import cot
from vigil.integrations.cot import CotKind, CotRejected, Outgoing, TakPosition
from vigil.integrations.sentcount import SentCounts
from vigil.integrations.wire import OutQueue, link_metrics, open_connection
from vigil.logtext import escape
from vigil.store.tables import PositionRow

if TYPE_CHECKING:
    from vigil.api.deps import AppState
    from vigil.audit.log import AuditLog

log = logging.getLogger(__name__)
ACTOR = "system:tak"
MAX_REJECTIONS_LOGGED = 20  # a minute; past that they are counted, and said once
MAX_EVENT = 1 << 16  # bytes of one event (asyncio's stream limit, pytak's connection)
STATE_KEY = "tak"  # the running link in AppState.extra
STEADY_S = 30.0  # a connection that lasted this long starts the next wait from the shortest


class TakLink:
    """One TAK server, for the life of the app: `await start()`, `await stop()`."""

    def __init__(
        self,
        cfg: TakConfig,
        config: VigilConfig,
        *,
        units: Units,
        incidents: Incidents,
        bus: Bus,
        audit: AuditLog | None = None,
        clock: Any = time.time,
    ) -> None:
        self.cfg, self.config, self.clock = cfg, config, clock
        self.units, self.incidents, self.bus, self.audit = units, incidents, bus, audit
        self.queue = OutQueue(cfg.queue_size)
        self.sent_counts = SentCounts(clock)  # record_counts runs in a worker thread
        self.received = self.ignored = self.connects = 0
        self.rejected: Counter[str] = Counter()
        self.connected = False
        self._logged: list[float] = []
        self._unlogged = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._sub: Subscription | None = None

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._sub = self.bus.subscribe([Topic.UNIT, Topic.INCIDENT, Topic.ALERT], maxsize=1024)
        for job in (self._connection(), self._follow(self._sub), self._refresh(), self._count()):
            self._tasks.append(asyncio.create_task(job))

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await asyncio.to_thread(self.record_counts)

    # -- the connection --------------------------------------------------------------------

    async def _connection(self) -> None:
        delay = self.cfg.reconnect_min_s
        while True:
            try:
                reader, writer = await open_connection(self.cfg)
            except Exception as exc:  # noqa: BLE001 - refused, timed out, TLS: try again later
                wait = self._jitter(delay)
                log.warning(
                    "TAK server %s cannot be reached (%s); trying again in %.1f s, %d "
                    "message(s) waiting", self.cfg.server, _reason(exc), wait, len(self.queue),
                )  # fmt: skip
                await asyncio.sleep(wait)
                delay = min(self.cfg.reconnect_max_s, delay * 2)
                continue
            began = time.monotonic()
            self.connected, self.connects = True, self.connects + 1
            log.warning("TAK server %s: connected", self.cfg.server)
            why = await self._session(reader, writer)
            self.connected = False
            await asyncio.to_thread(self.record_counts)
            if time.monotonic() - began >= STEADY_S:
                delay = self.cfg.reconnect_min_s
            wait = self._jitter(delay)
            log.warning(
                "TAK server %s went away (%s); reconnecting in %.1f s, %d message(s) waiting",
                self.cfg.server, why, wait, len(self.queue),
            )  # fmt: skip
            await asyncio.sleep(wait)
            delay = min(self.cfg.reconnect_max_s, delay * 2)

    @staticmethod
    def _jitter(delay: float) -> float:
        return delay * random.uniform(0.8, 1.0)  # servers restarted at once are not all hit at once

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        """Send and read until the connection ends; why it ended."""
        await self._queue_everything()
        tasks = [asyncio.create_task(self._read(reader)), asyncio.create_task(self._write(writer))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)
        for task in done:
            with contextlib.suppress(asyncio.CancelledError):
                exc = task.exception()
                if exc is not None:
                    return _reason(exc)
        return "the connection ended"

    async def _write(self, writer: asyncio.StreamWriter) -> None:
        while True:
            item = await self.queue.get()
            try:
                writer.write(item.xml)
                await writer.drain()
            except BaseException:
                self.queue.put(item, first=True)  # sent again on the next connection
                raise
            self.sent_counts.add(item.kind)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        skipping = False  # inside an oversized event: up to its end it is thrown away
        while True:
            try:
                data = await reader.readuntil(b"</event>")
            except asyncio.IncompleteReadError:
                raise ConnectionError("the server closed the connection") from None
            except asyncio.LimitOverrunError as exc:
                await reader.readexactly(exc.consumed)
                if not skipping:
                    self.received += 1
                    self._reject(CotRejected("size", f"an event longer than {MAX_EVENT} bytes"))
                skipping = True
                continue
            if skipping:
                skipping = False
                continue
            await self.handle(data)

    # -- inbound ---------------------------------------------------------------------------

    async def handle(self, data: bytes) -> TakPosition | None:
        """One event from the server: a TAK user's position becomes (or moves) a unit."""
        self.received += 1
        now = self.clock()
        try:
            found = cot.position_of(
                cot.read_event(data),
                own_prefix=self.cfg.uid_prefix,
                now=now,
                max_skew_s=self.config.field.max_clock_skew_s,
                oldest=now - self.config.retention.positions * 86400,
            )
            if found is None:
                self.ignored += 1
                return None
            await asyncio.to_thread(self._store, found)
        except CotRejected as rejected:
            self._reject(rejected)
            return None
        except Exception:  # the database is away: this position is lost, the link stays
            log.exception("TAK: a position from %s could not be stored", self.cfg.server)
            return None
        return found

    def _store(self, found: TakPosition) -> None:
        row = self.units.of_tak(found.uid)
        try:
            if row is None:
                row = self.units.create(found.callsign, found.kind, tak_uid=found.uid)
            elif row.callsign != found.callsign:
                with contextlib.suppress(VigilError):  # taken: it keeps the callsign it had
                    row = self.units.update(row.id, callsign=found.callsign)
            self.units.report(row.id, [found.position], "tak")
        except VigilError as exc:
            raise CotRejected("unit", f"uid '{escape(found.uid, 60)}': {exc}") from None

    def _reject(self, rejected: CotRejected) -> None:
        self.rejected[rejected.reason] += 1
        now = time.monotonic()
        self._logged = [t for t in self._logged if now - t < 60]
        if len(self._logged) >= MAX_REJECTIONS_LOGGED:
            self._unlogged += 1
            return
        self._logged.append(now)
        more = f" ({self._unlogged} more refused without a log line)" if self._unlogged else ""
        self._unlogged = 0
        log.warning("TAK server %s: refused an event: %s%s", self.cfg.server, rejected, more)

    # -- outbound --------------------------------------------------------------------------

    async def _follow(self, sub: Subscription) -> None:
        async for message in sub:
            if message.get("topic") == "dropped":  # fell behind: send the whole picture
                await self._queue_everything()
                continue
            try:
                item = await asyncio.to_thread(self.encode, message)
            except Exception:  # one message Vigil cannot write must not stop the others
                log.exception("TAK: a %s message could not be written as CoT", message.get("topic"))
                continue
            if item is not None:
                self.queue.put(item)

    def encode(self, message: Mapping[str, Any]) -> Outgoing | None:
        """The CoT of one bus message, if it is something to send."""
        topic, send, now = message.get("topic"), self.cfg.send, self.clock()
        if topic == Topic.UNIT and send.units:
            return cot.unit_event(message, self.cfg, now, self._speed(message))
        if topic == Topic.INCIDENT and send.incidents:
            return cot.incident_event(message, self.cfg, now)
        if topic == Topic.ALERT and send.alerts:
            cam = next((c for c in self.config.cameras if c.id == message.get("camera")), None)
            shown = self.config.field.recent_hours * 3600
            return cot.alert_event(message, cam, self.cfg, now, shown)
        return None

    def _speed(self, unit: Mapping[str, Any]) -> float | None:
        """The speed of the unit's newest position (the unit resource has none)."""
        where = unit.get("position") or {}
        if where.get("heading") is None or unit.get("tak_uid"):
            return None
        with self.units.store.session() as s:
            return s.scalar(
                select(PositionRow.speed_mps)
                .where(PositionRow.unit_id == unit["id"])
                .order_by(PositionRow.at.desc())
                .limit(1)
            )

    def everything(self) -> list[Outgoing]:
        """Units, cameras and incidents under way as they are now."""
        found: list[Outgoing | None] = []
        now, send = self.clock(), self.cfg.send
        if send.units:
            for row in self.units.all():
                record = unit_record(row)
                found.append(cot.unit_event(record, self.cfg, now, self._speed(record)))
        if send.cameras:
            found += [cot.camera_event(c, self.cfg, now) for c in self.config.cameras]
        if send.incidents:
            for incident in self.incidents.recent(cot.UNDER_WAY, 1000):
                found.append(cot.incident_event(self.incidents.record(incident), self.cfg, now))
        return [item for item in found if item is not None]

    async def _queue_everything(self) -> None:
        try:
            items = await asyncio.to_thread(self.everything)
        except Exception:  # the database is away: the next refresh tries again
            log.exception("TAK: units, cameras and incidents could not be read to send")
            return
        for item in items:
            self.queue.put(item)

    async def _refresh(self) -> None:
        """Send everything again before it goes stale on TAK maps."""
        while True:
            await asyncio.sleep(self.cfg.stale_s / 2)
            if self.connected:
                await self._queue_everything()

    # -- counting --------------------------------------------------------------------------

    async def _count(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.count_every_s)
            await asyncio.to_thread(self.record_counts)

    @property
    def sent(self) -> Counter[str]:
        """Messages sent since start, by kind (Prometheus)."""
        return self.sent_counts.totals

    def record_counts(self) -> None:
        """Write the messages sent since the last row to the audit log (no row for none)."""
        audit = self.audit

        def write(counts: dict[str, int], since: str, until: str) -> None:
            assert audit is not None
            details = {"counts": counts, "from": since, "until": until}
            audit.append(ACTOR, cot.SENT_ACTION, "tak", self.cfg.server, details=details)

        self.sent_counts.record(write if audit is not None else None, map(str, CotKind), "TAK")

    def collector(self) -> Collector:
        return TakCollector(self)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return escape(text, 200)


class TakCollector(Collector):
    """The link's numbers at scrape time."""

    def __init__(self, link: TakLink) -> None:
        self.link = link

    def collect(self) -> Iterator[Any]:
        link = self.link
        sent = CounterMetricFamily(
            "vigil_tak_sent", "CoT messages sent to the TAK server", labels=["kind"]
        )
        for kind in CotKind:
            sent.add_metric([kind], link.sent.get(kind, 0))
        rejected = CounterMetricFamily(
            "vigil_tak_rejected", "CoT events from the TAK server refused", labels=["reason"]
        )
        for reason in cot.REJECT_REASONS:
            rejected.add_metric([reason], link.rejected.get(reason, 0))
        yield sent
        yield rejected
        yield CounterMetricFamily(
            "vigil_tak_received", "CoT events read from the TAK server", value=link.received
        )
        yield from link_metrics("tak", "TAK server", link)


async def start_tak(state: AppState) -> TakLink | None:
    """The link of the app's `tak:` section, started; None without one."""
    if state.config.tak is None:
        return None
    link = TakLink(
        state.config.tak, state.config, units=state.units, incidents=state.incidents,
        bus=state.bus, audit=state.audit,
    )  # fmt: skip
    state.registry.register(link.collector())
    state.extra[STATE_KEY] = link
    await link.start()
    return link
