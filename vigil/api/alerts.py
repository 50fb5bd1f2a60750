"""Alerts: the queue operators work through, and their review (acknowledge / dismiss)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from vigil.api.auditing import AuditNote, audited, results
from vigil.api.deps import (
    Principal,
    StateDep,
    UserDep,
    check_camera_filter,
    require_operational,
    require_role,
    visible_row,
)
from vigil.api.events import snapshot_file
from vigil.api.params import AlertId, Cursor, Limit, Name, Since, Until
from vigil.api.schemas import AlertOut, AlertPage, ReviewIn
from vigil.domain import AlertStatus, Role
from vigil.rules.fire import without_unseen_fix
from vigil.store.queries import Filters, search_alerts
from vigil.store.records import alert_record
from vigil.store.tables import AlertRow

router = APIRouter(tags=["alerts"], dependencies=[Depends(require_operational)])
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
_ACTIONS = {"acknowledge": AlertStatus.ACKNOWLEDGED, "dismiss": AlertStatus.DISMISSED}


@router.get("/api/alerts", response_model=AlertPage)
def list_alerts(
    note: Annotated[AuditNote, audited("alerts.search", "alert")],
    user: UserDep,
    state: StateDep,
    status: Annotated[AlertStatus | None, Query()] = None,
    since: Since = None,
    until: Until = None,
    camera: Name = None,
    rule: Name = None,
    label: Name = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> AlertPage:
    """Alerts of the cameras you may see, newest first."""
    check_camera_filter(state, user, camera)
    filters = Filters(
        visible=user.visible(),
        camera=camera,
        since=since,
        until=until,
        label=label,
        status=status,
        rule=rule,
    )
    page = search_alerts(state.store, filters, limit, cursor)
    reviews = state.alerts.alerts.reviews_of([r.id for r in page.items])
    records = [without_unseen_fix(alert_record(r, reviews[r.id]), user.sees) for r in page.items]
    return AlertPage.model_validate(
        {"items": results(note, records), "next_cursor": page.next_cursor}
    )


@router.get(
    "/api/alerts/{alert_id}",
    response_model=AlertOut,
    dependencies=[audited("alerts.read", "alert")],
)
def get_alert(alert_id: AlertId, user: UserDep, state: StateDep) -> AlertOut:
    row = visible_row(state, user, AlertRow, alert_id, "alert")
    record = alert_record(row, state.alerts.alerts.reviews_of([row.id])[row.id])
    return AlertOut.model_validate(without_unseen_fix(record, user.sees))


@router.get(
    "/api/alerts/{alert_id}/snapshot.jpg",
    response_class=FileResponse,
    dependencies=[audited("alerts.snapshot", "alert")],
    responses={200: {"content": {"image/jpeg": {}}}},
)
def alert_snapshot(alert_id: AlertId, user: UserDep, state: StateDep) -> FileResponse:
    row = visible_row(state, user, AlertRow, alert_id, "alert")
    return snapshot_file(state, row.snapshot, f"alert {alert_id}")


@router.post(
    "/api/alerts/{alert_id}/review",
    response_model=AlertOut,
    responses={409: {"description": "already reviewed"}},
    dependencies=[audited("alerts.review", "alert")],
)
async def review_alert(
    alert_id: AlertId,
    body: ReviewIn,
    user: Operator,
    state: StateDep,
) -> AlertOut:
    """Acknowledge or dismiss a candidate alert (dismiss needs a reason); records who/when.
    A face match (`reviewers_needed` 2) stays a candidate after the first confirmation; a
    second person's acknowledges it; the same person twice is a 409."""
    await run_in_threadpool(visible_row, state, user, AlertRow, alert_id, "alert")
    row = await run_in_threadpool(
        state.alerts.review, alert_id, _ACTIONS[body.action], user.username, body.reason
    )
    reviews = state.alerts.alerts.reviews_of([row.id])[row.id]
    return AlertOut.model_validate(without_unseen_fix(alert_record(row, reviews), user.sees))
