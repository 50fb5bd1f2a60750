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

Refusals are recorded in one place, `record_refusal`, which the app's error handlers call for
every 4xx: a request to an audited route that was refused before its audit dependency ran (no
session: actor `anonymous`; a wrong CSRF token; the role; a missing purpose or a bad
parameter) gets the same row as one refused inside the route, with the status as outcome.
tests/audit/test_route_audit.py walks every route and fails on one that writes no row.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from vigil.api.deps import AppState, Principal, StateDep, UserDep, get_state
from vigil.errors import Conflict, Invalid, NotFound, VigilError
from vigil.logtext import ONE_LINE
from vigil.store.queries import QueryError

ANONYMOUS = "anonymous"

PURPOSE_MIN, PURPOSE_MAX = 3, 200
PURPOSE_HELP = "state a purpose (case number or reason) with ?purpose=..."
AUDIT_DOWN = (
    "the audit log cannot be written, so nothing is shown until it can; "
    "check that the database is reachable and writable"
)
log = logging.getLogger(__name__)
_PURPOSE_HELP = (
    f"why: a case number or reason, {PURPOSE_MIN} to {PURPOSE_MAX} characters (kept in the "
    "audit log)"
)
PURPOSE_PATTERN = ONE_LINE  # one line of three or more visible characters (see logtext)
_PURPOSE = re.compile(PURPOSE_PATTERN)
PurposeQ = Annotated[
    str | None,
    Query(max_length=PURPOSE_MAX, pattern=PURPOSE_PATTERN, description=_PURPOSE_HELP),
]
RequiredPurposeQ = Annotated[
    str,
    Query(
        max_length=PURPOSE_MAX,
        pattern=PURPOSE_PATTERN,
        description=f"{_PURPOSE_HELP}; required: a search states why",
    ),
]


SEARCH_PATTERN = r"^[0-9a-f]{12}$"
SearchQ = Annotated[
    str | None,
    Query(
        pattern=SEARCH_PATTERN,
        description="the search this request follows from (its results' snapshot_url carry it)",
    ),
]


@dataclass
class AuditNote:
    """What a route adds to its audit row. A search has a reference of its own (`search`):
    the pictures of its results are fetched with it and with its purpose (`follow`), so the
    audit log shows them under the search, for the reason the search was made."""

    details: dict[str, Any] = field(default_factory=dict)
    object_id: str | None = None
    search: str | None = None
    purpose: str | None = None

    def follow(self, url: str | None) -> str | None:
        if url is None or self.search is None:
            return url
        given = {"search": self.search, **({"purpose": self.purpose} if self.purpose else {})}
        return f"{url}?{urlencode(given)}"


def results(note: AuditNote, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A search's results, their snapshot_url carrying the search (see `AuditNote`)."""
    return [{**r, "snapshot_url": note.follow(r.get("snapshot_url"))} for r in records]


def client_of(request: HTTPConnection) -> str | None:
    return request.client.host if request.client else None


def check_purpose(purpose: str | None) -> str:
    text = purpose or ""
    if len(text) > PURPOSE_MAX or not _PURPOSE.fullmatch(text):
        raise HTTPException(400, f"{PURPOSE_HELP} ({PURPOSE_MIN} to {PURPOSE_MAX} characters)")
    return text.strip(" \t")


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
    hidden = ("purpose", "cursor", "search")  # kept in columns and details of their own
    return {k: v for k, v in request.query_params.items() if k not in hidden}


def audited(
    action: str,
    object_type: str | None = None,
    *,
    purpose_required: bool = False,
    at_start: bool = False,
) -> Any:
    """The dependency that writes the audit row of a request: after the route, with its
    outcome; or, with `at_start` (streams that last long), as soon as the route is entered."""

    def stated_purpose(purpose: PurposeQ = None) -> str | None:
        return purpose.strip(" \t") if purpose else None

    def required_purpose(purpose: RequiredPurposeQ) -> str:
        return check_purpose(purpose)

    purpose = Depends(required_purpose if purpose_required else stated_purpose)
    searches = action.endswith(".search")
    spec = (action, object_type)

    async def audit(
        request: Request,
        user: UserDep,
        state: StateDep,
        stated: str | None = purpose,
        search: SearchQ = None,
    ) -> AsyncIterator[AuditNote]:
        note = AuditNote(purpose=stated)
        if searches:
            note.search = secrets.token_hex(6)
            note.details["search"] = note.search
        elif search is not None:
            note.details["in_search"] = search
        request.state.vigil_audited = True  # refusals from here on are this row's outcome
        if at_start:
            await run_in_threadpool(
                _write_row, state, user.username, spec, request, "started", stated, note
            )
            yield note
            return
        outcome: str = "ok"
        try:
            yield note
        except Exception as exc:
            outcome = str(status_of(exc))
            raise
        finally:
            await run_in_threadpool(
                _write_row, state, user.username, spec, request, outcome, stated, note
            )

    audit.vigil_audit = spec  # type: ignore[attr-defined]
    return Depends(audit, scope="function")


def status_of(exc: BaseException) -> int:
    """The HTTP status the app's error handlers give an exception (see vigil.api.app)."""
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    if isinstance(exc, RequestValidationError):
        return 422
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, QueryError | Invalid):
        return 422
    if isinstance(exc, VigilError | RecursionError):
        return 400
    return 500


def _audit_spec(route: Any) -> tuple[str, str | None] | None:
    """(action, object type) of a route that has an `audited(...)` dependency."""
    dependant = getattr(route, "dependant", None)
    pending = list(dependant.dependencies) if dependant is not None else []
    while pending:
        dep = pending.pop()
        spec = getattr(dep.call, "vigil_audit", None)
        if spec is not None:
            return spec
        pending.extend(dep.dependencies)
    return None


def _write_row(
    state: AppState,
    actor: str,
    spec: tuple[str, str | None],
    request: Request,
    outcome: str,
    purpose: str | None,
    note: AuditNote | None = None,
) -> None:
    """One audited request's row: who, what (and the first path parameter), why, the query
    and the outcome, with what the route added (`note`)."""
    params = dict(request.path_params)
    first = str(next(iter(params.values()))) if params else None
    details: dict[str, Any] = {"outcome": outcome, "method": request.method}
    if query := _query(request):
        details["query"] = query
    if note is not None:
        details.update(note.details)
    object_id = (note.object_id if note is not None else None) or first
    record(
        state,
        actor,
        spec[0],
        spec[1],
        object_id,
        request=request,
        purpose=purpose,
        details=details,
    )


def record_refusal(request: Request, code: int) -> None:
    """The audit row of a refused request to an audited route, unless its own audit
    dependency already wrote one; a failure to write it is logged (the refusal stands)."""
    if getattr(request.state, "vigil_audited", False):
        return
    spec = _audit_spec(request.scope.get("route"))
    if spec is None:
        return
    request.state.vigil_audited = True
    user: Principal | None = getattr(request.state, "vigil_user", None)
    purpose = (request.query_params.get("purpose") or "").strip(" \t")
    with suppress(HTTPException):  # logged by `record`; the client gets the refusal it earned
        _write_row(
            get_state(request),
            user.username if user is not None else ANONYMOUS,
            spec,
            request,
            str(code),
            purpose if _PURPOSE.fullmatch(purpose) else None,
        )
