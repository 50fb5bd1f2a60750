"""The audit log, read back: its rows (newest first, filtered, paged) and the chain's status.

For admins and auditors. Reading the audit log is itself audited (`audit.read`,
`audit.verify`): who looked at whose traces is on the record too.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy import select

from vigil.api.auditing import audited
from vigil.api.deps import AppState, StateDep, require_audit_reader
from vigil.api.params import When
from vigil.api.schemas import Model
from vigil.audit.log import AuditEntry
from vigil.audit.verify import verify_chain
from vigil.store.queries import as_utc
from vigil.store.tables import AuditRow

router = APIRouter(tags=["audit"], dependencies=[Depends(require_audit_reader)])
MAX_AUDIT_LIMIT = 500
_ROW = re.compile(r"audit rows? (\d+)")


class AuditRowOut(Model):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    purpose: str | None
    client: str | None
    outcome: str | None = Field(description="ok, started, error or the HTTP status of a refusal")
    details: dict[str, Any]
    hash: str


class AuditPage(Model):
    items: list[AuditRowOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page")


class ChainOut(Model):
    ok: bool
    rows: int
    first_id: int
    head_id: int
    head_hash: str
    anchors: int
    problem: str | None = Field(description="the first problem found, in words; null when ok")
    broken_at: int | None = Field(description="the audit row the first problem is at")


def _out(entry: AuditEntry) -> AuditRowOut:
    outcome = entry.details.get("outcome")
    return AuditRowOut(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        purpose=entry.purpose,
        client=entry.client,
        outcome=str(outcome) if outcome is not None else None,
        details=entry.details,
        hash=entry.hash,
    )


def _search(
    state: AppState,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: int | None,
) -> AuditPage:
    query = select(AuditRow)
    if actor:
        query = query.where(AuditRow.actor == actor)
    if action:
        query = query.where(AuditRow.action.startswith(action, autoescape=True))
    if since is not None:
        query = query.where(AuditRow.at >= as_utc(since))
    if until is not None:
        query = query.where(AuditRow.at < as_utc(until))
    if cursor is not None:
        query = query.where(AuditRow.id < cursor)
    query = query.order_by(AuditRow.id.desc()).limit(limit + 1)
    with state.store.session() as s:
        rows = [AuditEntry.of(r) for r in s.scalars(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[_out(r) for r in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


@router.get(
    "/api/audit",
    response_model=AuditPage,
    dependencies=[audited("audit.read", "audit")],
)
async def list_audit(
    state: StateDep,
    actor: Annotated[str | None, Query(max_length=100, description="exactly this actor")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="actions starting with this, e.g. events.")
    ] = None,
    since: Annotated[When | None, Query(description="from this time on (ISO 8601)")] = None,
    until: Annotated[When | None, Query(description="before this time (ISO 8601)")] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_AUDIT_LIMIT, description=f"rows per page, ≤ {MAX_AUDIT_LIMIT}")
    ] = 100,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,18}$", description="next_cursor of a page")
    ] = None,
) -> AuditPage:
    """Audit rows, newest first: who did what to which object, why, from where, the outcome."""
    return await run_in_threadpool(
        _search, state, actor, action, since, until, limit, int(cursor) if cursor else None
    )


@router.get(
    "/api/audit/verify",
    response_model=ChainOut,
    dependencies=[audited("audit.verify", "audit")],
)
async def verify_audit(state: StateDep) -> ChainOut:
    """Walk the whole hash chain (and the anchor file): ok, or the first problem found."""
    verdict = await run_in_threadpool(verify_chain, state.store, state.data_dir)
    found = _ROW.search(verdict.problem or "")
    return ChainOut(
        **verdict.to_json(),
        broken_at=int(found.group(1)) if found and not verdict.ok else None,
    )
