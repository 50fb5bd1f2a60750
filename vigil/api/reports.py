"""Reports: the transparency report (admins and auditors; the request is audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from vigil.api.auditing import audited
from vigil.api.deps import Principal, StateDep, require_audit_reader, require_user
from vigil.api.params import When
from vigil.audit.report import transparency_report
from vigil.store.queries import as_utc

router = APIRouter(tags=["reports"], dependencies=[Depends(require_user)])
AuditReader = Annotated[Principal, Depends(require_audit_reader)]
DEFAULT_DAYS = 30


@router.get(
    "/api/reports/transparency",
    dependencies=[audited("reports.transparency", "report")],
)
async def get_transparency(
    user: AuditReader,
    state: StateDep,
    since: Annotated[
        When | None, Query(description=f"from (ISO 8601); default {DEFAULT_DAYS} days ago")
    ] = None,
    until: Annotated[When | None, Query(description="up to (ISO 8601); default now")] = None,
) -> dict[str, Any]:
    """Cameras active, searches by purpose category, data reads, alerts by type and outcome,
    exports, data purged and the audit chain's status, as JSON."""
    end = as_utc(until) if until else datetime.now(UTC)
    start = as_utc(since) if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise HTTPException(422, "since must be before until")
    report = await run_in_threadpool(transparency_report, state.store, state.data_dir, start, end)
    return report.to_json()
