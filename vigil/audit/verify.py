"""Walking the chain: the first row that was modified, deleted, inserted or reordered.

Rows are read in id order. Each row's hash must be SHA-256(prev_hash + its content); each
row's prev_hash must be the hash of the row before it. The oldest row must be row 1 with the
genesis prev_hash, or follow a retention checkpoint (an `audit.purge` row that names the id and
hash of the last purged row). Anchors in `audit-anchors.log` must still be on the chain, and
the chain must reach the newest anchor (otherwise its tail was cut off).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vigil.audit.log import ANCHOR_FILE, GENESIS, read_anchors, row_hash
from vigil.store.db import Store
from vigil.store.tables import AuditRow

PURGE_ACTION = "audit.purge"
_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    rows: int
    first_id: int
    head_id: int
    head_hash: str
    problem: str | None = None
    anchors: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "first_id": self.first_id,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "anchors": self.anchors,
            "problem": self.problem,
        }


def _rows(store: Store) -> Any:
    last = 0
    while True:
        with store.session() as s:
            batch = list(
                s.scalars(
                    select(AuditRow).where(AuditRow.id > last).order_by(AuditRow.id).limit(_BATCH)
                )
            )
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def verify_chain(
    store: Store, data_dir: Path | None = None, anchors_from: Path | None = None
) -> Verdict:
    """Check the whole chain, and the anchors: those of `anchors_from` (a copy of the anchor
    file, or a log export holding the server's "audit anchor" lines) when given, else those in
    `data_dir`."""
    checkpoints: dict[int, str] = {}  # last purged id -> its hash
    hashes: dict[int, str] = {}
    prev: AuditRow | None = None
    first: AuditRow | None = None
    count = 0
    problem: str | None = None
    for row in _rows(store):
        count += 1
        if first is None:
            first = row
        if row_hash(row) != row.hash:
            problem = f"audit row {row.id} was modified (hash mismatch)"
            break
        if prev is not None and row.prev_hash != prev.hash:
            if row.id != prev.id + 1:
                gap = f"{prev.id + 1}" if row.id == prev.id + 2 else f"{prev.id + 1}-{row.id - 1}"
                problem = (
                    f"audit row {gap} is missing or rows were reordered: "
                    f"prev_hash of row {row.id} does not match row {prev.id}"
                )
            else:
                problem = (
                    f"audit row {row.id} was inserted or rows were reordered: "
                    f"prev_hash of row {row.id} does not match row {prev.id}"
                )
            break
        if prev is not None and row.id <= prev.id:  # cannot happen with ORDER BY; kept honest
            problem = f"audit row {row.id} is out of order"
            break
        if row.action == PURGE_ACTION and row.details:
            through = row.details.get("through_id")
            if isinstance(through, int):
                checkpoints[through] = str(row.details.get("through_hash", ""))
        hashes[row.id] = row.hash
        prev = row
    if problem is None and first is not None:
        problem = _check_start(first, checkpoints)
    source = anchors_from or (data_dir / ANCHOR_FILE if data_dir is not None else None)
    anchors = read_anchors(source, log_export=anchors_from is not None) if source else []
    if problem is None and source is not None:
        problem = _check_anchors(anchors, hashes, first.id if first else 1, prev, source.name)
    return Verdict(
        ok=problem is None,
        rows=count,
        first_id=first.id if first else 0,
        head_id=prev.id if prev else 0,
        head_hash=prev.hash if prev else GENESIS,
        problem=problem,
        anchors=len(anchors),
    )


def _check_start(first: AuditRow, checkpoints: dict[int, str]) -> str | None:
    if first.id == 1:
        if first.prev_hash != GENESIS:
            return "audit row 1 was modified or rows were inserted before it (prev_hash of row 1)"
        return None
    expected = checkpoints.get(first.id - 1)
    if expected is None:
        return (
            f"audit rows 1-{first.id - 1} are missing (no retention checkpoint covers them); "
            f"the chain starts at row {first.id}"
        )
    if expected != first.prev_hash:
        return (
            f"audit row {first.id - 1} is missing or rows were reordered: prev_hash of row "
            f"{first.id} does not match the retention checkpoint"
        )
    return None


def _check_anchors(
    anchors: list[dict[str, Any]],
    hashes: dict[int, str],
    first_id: int,
    head: AuditRow | None,
    name: str,
) -> str | None:
    head_id = head.id if head else 0
    for a in anchors:
        if a.get("malformed"):
            return f"{name} line {a['line']} is malformed (the anchors were edited)"
        if a["id"] > head_id:
            return (
                f"the audit log was truncated: the anchor of {a.get('at', '?')} "
                f"({name} line {a['line']}) records row {a['id']}, "
                f"but the chain ends at row {head_id}"
            )
        if a["id"] >= first_id and hashes.get(a["id"]) != a["hash"]:
            return (
                f"audit row {a['id']} does not match its anchor ({name} line {a['line']}): "
                "the chain was rewritten"
            )
    return None
