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
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from vigil.store.db import Store
from vigil.store.tables import AuditRow

log = logging.getLogger(__name__)
GENESIS = "0" * 64
ANCHOR_FILE = "audit-anchors.log"
ANCHOR_EVERY = 100  # appends between two anchors
_PG_LOCK_KEY = 0x56494731  # "VIG1": pg_advisory_xact_lock key of the audit chain
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_RETRIES = 20


def utc_text(at: datetime) -> str:
    """The one timestamp format hashed: UTC, microseconds, Z."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime(_TIME_FORMAT)


def canonical(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_content(row: AuditRow) -> dict[str, Any]:
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


def row_hash(row: AuditRow) -> str:
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
        at = row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at
        return cls(
            row.id,
            at,
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


class AuditLog:
    """Appends to the chain of one database; anchors its head in `data_dir` (if given)."""

    _locks: dict[str, threading.Lock] = {}
    _locks_guard = threading.Lock()

    def __init__(
        self,
        store: Store,
        data_dir: Path | None = None,
        *,
        anchor_every: int = ANCHOR_EVERY,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.anchor_path = data_dir / ANCHOR_FILE if data_dir is not None else None
        self.anchor_every = anchor_every
        self.clock = clock or (lambda: datetime.now(UTC))
        with self._locks_guard:
            self._lock = self._locks.setdefault(store.url, threading.Lock())
        self._since_anchor = 0

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
        for _ in range(_RETRIES):
            try:
                # Core, not the ORM unit of work: an append sits on every audited request.
                with self._lock, self.store.engine.begin() as conn:
                    row = self._append(
                        conn, actor, action, object_type, object_id, purpose, client, details
                    )
                    entry = AuditEntry.of(row)
                break
            except IntegrityError:  # another process took the same id first: go again
                continue
        else:
            raise RuntimeError("could not append to the audit log (too much contention)")
        self._since_anchor += 1
        if self.anchor_path is not None and self._since_anchor >= self.anchor_every:
            self.anchor()
        return entry

    def _append(
        self,
        s: Connection,
        actor: str,
        action: str,
        object_type: str | None,
        object_id: str | int | None,
        purpose: str | None,
        client: str | None,
        details: dict[str, Any] | None,
    ) -> AuditRow:
        if s.dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        head = s.execute(
            select(AuditRow.id, AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)
        ).first()
        row = AuditRow(
            id=(head[0] + 1) if head else 1,
            at=self.clock(),
            actor=actor[:100],
            action=action[:64],
            object_type=object_type,
            object_id=str(object_id)[:100] if object_id is not None else None,
            purpose=purpose[:200] if purpose is not None else None,
            client=client[:100] if client is not None else None,
            details=json.loads(canonical(details or {})),  # plain JSON, as stored and read back
            prev_hash=head[1] if head else GENESIS,
        )
        # Round the time to what the database keeps (microseconds) before hashing.
        row.at = row.at.astimezone(UTC)
        row.hash = row_hash(row)
        s.execute(
            insert(AuditRow).values(
                {c.key: getattr(row, c.key) for c in AuditRow.__table__.columns}
            )
        )
        return row

    def head(self) -> tuple[int, int, str]:
        """(id of the newest row, number of rows, its hash); (0, 0, GENESIS) when empty."""
        with self.store.session() as s:
            last = s.execute(
                select(AuditRow.id, AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)
            ).first()
            count = int(s.scalar(select(func.count()).select_from(AuditRow)) or 0)
        return (last[0], count, last[1]) if last else (0, 0, GENESIS)

    def anchor(self) -> dict[str, Any] | None:
        """Append the head to the anchor file (nothing when there is no data dir)."""
        self._since_anchor = 0
        if self.anchor_path is None:
            return None
        head_id, count, head_hash = self.head()
        if head_id == 0:
            return None
        record = {"at": utc_text(self.clock()), "id": head_id, "count": count, "hash": head_hash}
        self.anchor_path.parent.mkdir(parents=True, exist_ok=True)
        with self.anchor_path.open("a", encoding="utf-8") as fh:
            fh.write(canonical(record) + "\n")
        return record


def read_anchors(path: Path) -> list[dict[str, Any]]:
    """The anchors written so far (a malformed line is reported by verify, not skipped)."""
    if not path.is_file():
        return []
    anchors = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            anchors.append({"line": n, "id": int(rec["id"]), "hash": str(rec["hash"]), **rec})
        except (ValueError, KeyError, TypeError):
            anchors.append({"line": n, "id": -1, "hash": "", "malformed": True})
    return anchors
