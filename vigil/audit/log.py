"""The audit log: append-only rows, each holding SHA-256(prev_hash + canonical JSON of itself).

Appends are serialised so the chain never forks: a process-wide lock, a PostgreSQL advisory
transaction lock, and the primary key (the writer assigns id = head + 1, so two writers that
raced on the same head cannot both commit; the loser retries on the new head).

The head (id, count, hash) is written now and then to an append-only anchor file in the data
directory (`audit-anchors.log`), so that cutting rows off the end of the chain is detected.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import AuditRow

log = logging.getLogger(__name__)
GENESIS = "0" * 64
ANCHOR_FILE = "audit-anchors.log"
ANCHOR_EVERY = 100  # appends between two anchors
# How an anchor appears in the server's log output. The tab is what makes it unforgeable
# there: every piece of user text reaches the log escaped (vigil.logtext), and escaped text
# holds no tab, so no login name or search can write a line that reads as an anchor.
ANCHOR_MARK = "audit anchor\t"
_PG_LOCK_KEY = 0x56494731  # "VIG1": pg_advisory_xact_lock key of the audit chain
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_RETRIES = 20


def utc_text(at: datetime) -> str:
    """The one timestamp format hashed: UTC, microseconds, Z."""
    return as_utc(at).strftime(_TIME_FORMAT)


def canonical(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _Hashable(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def object_type(self) -> str | None: ...
    @property
    def object_id(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def client(self) -> str | None: ...
    @property
    def details(self) -> dict[str, Any]: ...
    @property
    def prev_hash(self) -> str: ...


def row_content(row: _Hashable) -> dict[str, Any]:
    """What the hash covers: everything but id and hash (order is covered by prev_hash)."""
    return {
        "at": utc_text(row.at),
        "actor": row.actor,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "purpose": row.purpose,
        "client": row.client,
        "details": row.details or {},
    }


def row_hash(row: _Hashable) -> str:
    """SHA-256 of the previous row's hash and this row's canonical content (an `AuditRow`
    read from the database or an `AuditEntry`)."""
    data = (row.prev_hash + canonical(row_content(row))).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def cli_actor() -> str:
    """Who runs a CLI command: the OS user (`cli:alice`)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    purpose: str | None
    client: str | None
    details: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = GENESIS

    @classmethod
    def of(cls, row: AuditRow) -> AuditEntry:
        return cls(
            row.id,
            as_utc(row.at),
            row.actor,
            row.action,
            row.object_type,
            row.object_id,
            row.purpose,
            row.client,
            dict(row.details or {}),
            row.prev_hash,
            row.hash,
        )


Durability = Literal["batched", "each_row"]
_TABLE = cast(Table, AuditRow.__table__)
_HEAD = select(_TABLE.c.id, _TABLE.c.hash).order_by(_TABLE.c.id.desc()).limit(1)
_INSERT = insert(_TABLE)
# The chain's lock, and whether this transaction's commit waits for the disk (asynchronous
# ones are flushed by `AuditLog.sync` or the WAL writer).
_PG_BEGIN = text("SELECT pg_advisory_xact_lock(:k), set_config('synchronous_commit', :sc, true)")
_COLUMNS = (
    "id", "at", "actor", "action", "object_type", "object_id", "purpose", "client", "details",
    "prev_hash", "hash",
)  # fmt: skip
# The same in one autocommitted statement, with the insert (the head is already known).
_PG_APPEND = text(
    "WITH chain AS (SELECT pg_advisory_xact_lock(:k), "
    "set_config('synchronous_commit', :sc, true)) "
    f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) "
    "SELECT CAST(:id AS INTEGER), CAST(:at AS TIMESTAMPTZ), :actor, :action, :object_type, "
    ":object_id, :purpose, :client, CAST(:details AS JSON), :prev_hash, :hash FROM chain"
)


def _values(entry: AuditEntry) -> dict[str, Any]:
    return {c: getattr(entry, c) for c in _COLUMNS}


class AuditLog:
    """Appends to the chain of one database; anchors its head in `data_dir` (if given).

    `durability` says when a committed row reaches the disk. "each_row": before `append`
    returns (one fsync per row on SQLite, a synchronous commit on PostgreSQL). "batched"
    (the server's default, like auditd's incremental flush or PostgreSQL's asynchronous
    commit): every row is committed before `append` returns, so it survives a crash of Vigil,
    and a background flush makes it durable within `sync_interval` seconds (PostgreSQL: within
    3 x wal_writer_delay, 0.6 s by default), so a power cut loses at most that much of the
    tail. Anchors are only ever written after a flush, so they never name rows that a power
    cut could take back.
    """

    _locks: dict[str, threading.Lock] = {}
    _locks_guard = threading.Lock()
    # The head (id, hash) each store's chain had after this process's last append, so an
    # append needs no SELECT. If another process appended since, the INSERT of id + 1 fails on
    # the primary key and the append reads the head again; if rows were removed, the gap is
    # what `vigil audit verify` reports.
    _heads: weakref.WeakKeyDictionary[Store, tuple[int, str]] = weakref.WeakKeyDictionary()

    def __init__(
        self,
        store: Store,
        data_dir: Path | None = None,
        *,
        anchor_every: int = ANCHOR_EVERY,
        clock: Callable[[], datetime] | None = None,
        durability: Durability = "each_row",
        sync_interval: float = 1.0,
        witness: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.anchor_path = data_dir / ANCHOR_FILE if data_dir is not None else None
        self.anchor_every = anchor_every
        self.clock = clock or (lambda: datetime.now(UTC))
        self.durability: Durability = durability
        self.sync_interval = sync_interval
        self.witness = witness  # also told each anchor (the server's log: kept elsewhere)
        with self._locks_guard:
            self._lock = self._locks.setdefault(store.url, threading.Lock())
        self._since_anchor = 0
        self._postgres = store.engine.dialect.name == "postgresql"
        self._dirty = threading.Event()  # rows committed but perhaps not yet on disk
        self._closing = threading.Event()
        self._flusher: threading.Thread | None = None
        self.last_sync = time.monotonic()

    def append(
        self,
        actor: str,
        action: str,
        object_type: str | None = None,
        object_id: str | int | None = None,
        *,
        purpose: str | None = None,
        client: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Add one row at the head of the chain; returns it (with id and hash)."""
        batched = self.durability == "batched"
        store = self.store
        for _ in range(_RETRIES):
            with self._lock:
                head = self._heads.get(store)
                try:
                    entry = self._append(
                        head,
                        actor,
                        action,
                        object_type,
                        object_id,
                        purpose,
                        client,
                        details,
                        asynchronous=batched,
                    )
                except IntegrityError:  # another process took the same id first: go again
                    self._heads.pop(store, None)
                    continue
                except DBAPIError as exc:
                    self._heads.pop(store, None)
                    if exc.connection_invalidated:  # the kept connection was dropped: again
                        continue
                    raise
                except BaseException:
                    self._heads.pop(store, None)
                    raise
                self._heads[store] = (entry.id, entry.hash)
                break
        else:
            raise RuntimeError("could not append to the audit log (too much contention)")
        if batched:
            self._dirty.set()
            self._start_flusher()
        else:
            self.sync()
        self._since_anchor += 1
        if self.anchor_path is not None and self._since_anchor >= self.anchor_every:
            self.anchor()
        return entry

    def _append(
        self,
        head: tuple[int, str] | None,
        actor: str,
        action: str,
        object_type: str | None,
        object_id: str | int | None,
        purpose: str | None,
        client: str | None,
        details: dict[str, Any] | None,
        *,
        asynchronous: bool,
    ) -> AuditEntry:
        """Insert the next row: in one statement (one round trip) when the head is known,
        else in a transaction that locks the chain and reads the head first."""

        def entry_after(prev: tuple[int, str] | None) -> AuditEntry:
            entry = AuditEntry(
                id=(prev[0] + 1) if prev else 1,
                # The database keeps microseconds; the hash covers the same UTC text.
                at=self.clock().astimezone(UTC),
                actor=actor[:100],
                action=action[:64],
                object_type=object_type,
                object_id=str(object_id)[:100] if object_id is not None else None,
                purpose=purpose[:200] if purpose is not None else None,
                client=client[:100] if client is not None else None,
                details=json.loads(canonical(details or {})),  # plain JSON, as read back
                prev_hash=prev[1] if prev else GENESIS,
            )
            return replace(entry, hash=row_hash(entry))

        commit = "off" if asynchronous else "on"  # this transaction only
        if head is not None:
            entry = entry_after(head)
            # The store's autocommit connection, kept open (no pool checkout per row).
            with self.store.held_connection() as conn:
                if self._postgres:
                    values = {**_values(entry), "details": canonical(entry.details)}
                    conn.execute(_PG_APPEND, {**values, "k": _PG_LOCK_KEY, "sc": commit})
                else:
                    conn.execute(_INSERT, _values(entry))
            return entry
        with self.store.engine.begin() as conn:
            if self._postgres:
                conn.execute(_PG_BEGIN, {"k": _PG_LOCK_KEY, "sc": commit})
            found = conn.execute(_HEAD).first()
            entry = entry_after((found[0], found[1]) if found else None)
            conn.execute(_INSERT, _values(entry))
        return entry

    def sync(self) -> None:
        """Make every row appended so far durable."""
        self._dirty.clear()
        self.store.sync()
        self.last_sync = time.monotonic()

    def _start_flusher(self) -> None:
        if self._flusher is not None or self._closing.is_set():
            return
        with self._locks_guard:
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="vigil-audit-flush", daemon=True
                )
                self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._closing.is_set():
            if not self._dirty.wait(timeout=1.0):
                continue
            self._closing.wait(self.sync_interval)  # gather what comes within the interval
            try:
                self.sync()
            except (OSError, SQLAlchemyError) as exc:  # disk or database gone: say so, go on
                log.error("cannot flush the audit log to disk: %s", str(exc).splitlines()[0])

    def close(self) -> None:
        """Stop the background flush, flush, and anchor the head (the server's shutdown).
        Appending afterwards still works (the flush starts again)."""
        self._closing.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5.0)
        self._flusher = None
        self._closing.clear()
        self.sync()
        self.anchor()

    def head(self) -> tuple[int, int, str]:
        """(id of the newest row, number of rows, its hash); (0, 0, GENESIS) when empty."""
        with self.store.session() as s:
            last = s.execute(
                select(AuditRow.id, AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)
            ).first()
            count = int(s.scalar(select(func.count()).select_from(AuditRow)) or 0)
        return (last[0], count, last[1]) if last else (0, 0, GENESIS)

    def anchor(self) -> dict[str, Any] | None:
        """Append the head to the anchor file (nothing when there is no data dir). The rows
        are flushed first and the anchor line is flushed too, so an anchor never names a row
        that is not on disk and a written anchor is not lost."""
        self._since_anchor = 0
        if self.anchor_path is None:
            return None
        head_id, count, head_hash = self.head()
        self.sync()
        if head_id == 0:
            return None
        record = {"at": utc_text(self.clock()), "id": head_id, "count": count, "hash": head_hash}
        self.anchor_path.parent.mkdir(parents=True, exist_ok=True)
        with self.anchor_path.open("a", encoding="utf-8") as fh:
            fh.write(canonical(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if self.witness is not None:
            self.witness(ANCHOR_MARK + canonical(record))
        return record


def read_anchors(path: Path, *, log_export: bool = False) -> list[dict[str, Any]]:
    """The anchors written so far (a malformed line is reported by verify, not skipped).

    With `log_export`, `path` is any text with the server's log lines in it (journal, syslog,
    docker logs): only lines holding "audit anchor<TAB>{...}" count, whatever comes before."""
    if not path.is_file():
        return []
    anchors = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if log_export:
            if ANCHOR_MARK not in line:
                continue
            line = line.split(ANCHOR_MARK, 1)[1]
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            anchors.append({"line": n, "id": int(rec["id"]), "hash": str(rec["hash"]), **rec})
        except (ValueError, KeyError, TypeError):
            anchors.append({"line": n, "id": -1, "hash": "", "malformed": True})
    return anchors
