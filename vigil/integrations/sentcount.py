"""How many messages an integration link sent, for the audit log and for Prometheus.

Every link (TAK, MQTT, webhooks) counts what it sends by kind and writes the counts since its
last row to the audit log every so often (and when it stops), so the transparency report can
say how much personal data left the system. The counting is the same for all: it lives here.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

log = logging.getLogger(__name__)

# Writes one audit row: the counts by kind, the window's start and end (ISO-8601 UTC).
RowWriter = Callable[[dict[str, int], str, str], None]


def iso(stamp: float) -> str:
    """A UNIX time as ISO-8601 UTC."""
    return datetime.fromtimestamp(stamp, UTC).isoformat()


class SentCounts:
    """Counts by kind: since start (`totals`, for Prometheus) and since the last audit row
    (written by `record`). Safe to use from the link's loop and a worker thread at once."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.totals: Counter[str] = Counter()
        self._pending: Counter[str] = Counter()  # not yet in the audit log
        self._since = clock()
        self._lock = threading.Lock()

    def add(self, kinds: Iterable[str] | str, n: int = 1) -> None:
        with self._lock:
            for kind in (kinds,) if isinstance(kinds, str) else kinds:
                self.totals[kind] += n
                self._pending[kind] += n

    def record(self, write: RowWriter | None, kinds: Iterable[str], link: str) -> None:
        """Write the counts since the last row (every one of `kinds`, zeros included) with
        `write`; no row when nothing was sent. Without a writer (no audit log) they are let
        go. When the write fails (the database is away) they are kept for the next row."""
        with self._lock:
            counts, self._pending = self._pending, Counter()
            since, self._since = self._since, self.clock()
            until = self._since
        if write is None or not sum(counts.values()):
            return
        try:
            write({str(k): counts.get(str(k), 0) for k in kinds}, iso(since), iso(until))
        except Exception:
            with self._lock:
                self._pending.update(counts)
                self._since = since
            log.exception("%s: the numbers of messages sent could not be written; kept", link)
