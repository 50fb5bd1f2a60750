"""Auditing routes: one dependency, `audited(...)`, on every route that touches personal data.

    @router.get("/api/events", dependencies=[audited("events.search", "event",
                                                     purpose_required=True)])

`audited` returns a FastAPI `Depends` whose exit code runs before the response is sent
(`scope="function"`): the row is committed first, and when it cannot be written the client
gets 503 instead of the data, so nothing is shown that the log does not hold.

It records who (the session's user), what (action, object type and the first path parameter),
why (`?purpose=`, required where `purpose_required`), when, from where (client address), the
query and the outcome (`ok` or the HTTP status of a refusal). A route that wants to add details
(e.g. which fields of a user changed) takes `note: AuditNoteDep` and fills `note.details`.
tests/audit/test_route_audit.py walks every route and fails on one that writes no row.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import HTTPConnection

from vigil.api.deps import AppState, Principal, StateDep, UserDep

PURPOSE_MIN, PURPOSE_MAX = 3, 200
PURPOSE_HELP = "state a purpose (case number or reason) with ?purpose=..."
AUDIT_DOWN = (
    "the audit log cannot be written, so nothing is shown until it can; "
    "check that the database is reachable and writable"
)
log = logging.getLogger(__name__)
PurposeQ = Annotated[
    str | None,
    Query(
        max_length=PURPOSE_MAX * 2,
        description=f"why: a case number or reason, {PURPOSE_MIN} to {PURPOSE_MAX} characters "
        "(kept in the audit log); required by searches",
    ),
]


@dataclass
class AuditNote:
    """What a route adds to its audit row."""

    details: dict[str, Any] = field(default_factory=dict)
    object_id: str | None = None


def client_of(request: HTTPConnection) -> str | None:
    return request.client.host if request.client else None


def check_purpose(purpose: str | None) -> str:
    text = (purpose or "").strip()
    if not PURPOSE_MIN <= len(text) <= PURPOSE_MAX:
        raise HTTPException(400, f"{PURPOSE_HELP} ({PURPOSE_MIN} to {PURPOSE_MAX} characters)")
    return text


def record(
    state: AppState,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    *,
    request: HTTPConnection | None = None,
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one row from a route that cannot use `audited` (login); 503 when it fails."""
    try:
        state.audit.append(
            actor,
            action,
            object_type,
            object_id,
            purpose=purpose,
            client=client_of(request) if request is not None else None,
            details=details,
        )
    except (SQLAlchemyError, OSError, RuntimeError) as exc:
        log.error("audit row for %s by %s not written: %s", action, actor, exc)
        raise HTTPException(503, AUDIT_DOWN) from None


def _query(request: Request) -> dict[str, Any]:
    return {k: v for k, v in request.query_params.items() if k not in ("purpose", "cursor")}


def audited(
    action: str,
    object_type: str | None = None,
    *,
    purpose_required: bool = False,
    at_start: bool = False,
) -> Any:
    """The dependency that writes the audit row of a request: after the route, with its
    outcome; or, with `at_start` (streams that last long), as soon as the route is entered."""

    async def audit(
        request: Request,
        user: UserDep,
        state: StateDep,
        purpose: PurposeQ = None,
    ) -> AsyncIterator[AuditNote]:
        stated = check_purpose(purpose) if purpose_required else (purpose or None)
        note = AuditNote()
        if at_start:
            await run_in_threadpool(_write, state, user, request, note, "started", stated)
            yield note
            return
        outcome: str = "ok"
        try:
            yield note
        except HTTPException as exc:
            outcome = str(exc.status_code)
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            await run_in_threadpool(_write, state, user, request, note, outcome, stated)

    def _write(
        state: AppState,
        user: Principal,
        request: Request,
        note: AuditNote,
        outcome: str,
        purpose: str | None,
    ) -> None:
        params = dict(request.path_params)
        object_id = note.object_id or (str(next(iter(params.values()))) if params else None)
        details: dict[str, Any] = {"outcome": outcome, "method": request.method}
        if query := _query(request):
            details["query"] = query
        details.update(note.details)
        record(
            state,
            user.username,
            action,
            object_type,
            object_id,
            request=request,
            purpose=purpose,
            details=details,
        )

    return Depends(audit, scope="function")
