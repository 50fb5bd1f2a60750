"""Logging in and out. Sessions live in the database; the browser holds a signed, HttpOnly,
SameSite=Strict cookie with the session token, and every unsafe request also carries the
session's CSRF token in a header (a cross-site form cannot set headers)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import stat
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError

from vigil.api.auditing import AuditNote, audited, client_of, record
from vigil.api.deps import COOKIE, AppState, StateDep, UserDep
from vigil.api.liveaccess import access_changed
from vigil.api.schemas import LoginIn, MeOut, PasswordChange, UserOut, permissions
from vigil.audit.lockout import FAILED, REFUSED, SUCCEEDED, Refusal, login_refusal
from vigil.domain import Role
from vigil.store.records import user_record
from vigil.store.tables import UserRow
from vigil.store.users import LoginSession

log = logging.getLogger(__name__)
router = APIRouter(tags=["auth"])
SECRET_FILE = "secret.key"


def load_secret(data_dir: Path) -> str:
    """The cookie-signing key, made on first start and kept (owner-only) in the data dir."""
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret + "\n")
    return secret


def _me(session: LoginSession) -> MeOut:
    user = UserOut.model_validate(user_record(session.user))
    return MeOut(
        user=user,
        csrf_token=session.csrf,
        expires_at=session.expires_at,
        permissions=permissions(Role(session.user.role)),
    )


def _same_origin(request: Request) -> bool:
    """A browser's Origin header, when present, must name this server (no cross-site login)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def _read_login(request: Request) -> tuple[LoginIn | None, bool, str | None]:
    """The credentials from a JSON body or an HTML form; (None, ...) when malformed."""
    is_form = request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )
    data: Any
    try:
        if is_form:
            form = await request.form()
            data = {k: form.get(k) for k in ("username", "password")}
            next_url = str(form.get("next") or "") or None
        else:
            data = await request.json()
            next_url = None
        return LoginIn.model_validate(data), is_form, next_url
    except (ValueError, ValidationError, RecursionError):
        return None, is_form, None


def _too_many(refusal: Refusal) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        refusal.message(),
        headers={"Retry-After": str(round(refusal.retry_after_s))},
    )


def check_login(
    state: AppState,
    request: Request,
    username: str,
    password: str,
    client: str | None,
    *,
    via: str | None = None,
) -> UserRow | Refusal | None:
    """The lockout check, the password check and the failure's audit row, done while the
    account's and the address's login gate is held (so the limit holds under any
    concurrency, across processes too). The user; a Refusal (locked); None (wrong)."""
    details = {"via": via} if via else None
    gates = [f"account:{username}"] + ([f"client:{client}"] if client else [])
    with state.login_gate.hold(*gates):
        refusal = login_refusal(
            state.store, state.login_lockout, username, client, state.audit.clock()
        )
        if refusal is not None:
            reason = {"reason": refusal.reason, **(details or {})}
            record(state, username, REFUSED, "user", request=request, details=reason)
            return refusal
        user = state.users.authenticate(username, password)
        if user is None:
            state.login_failures.inc()
            log.warning("failed login for %s from %s", username, client or "?")
            record(state, username, FAILED, "user", request=request, details=details)
        return user


def _set_cookie(response: Response, state: AppState, session: LoginSession) -> None:
    response.set_cookie(
        COOKIE,
        state.signer.dumps(session.token),
        max_age=int(state.session_seconds),
        httponly=True,
        samesite="strict",
        secure=state.secure_cookies,
        path="/",
    )


_LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginIn.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    # A form missing a field is answered like a wrong password (303).
                    "type": "object",
                    "properties": {
                        "username": {"type": "string"},
                        "password": {"type": "string"},
                        "next": {"type": "string", "description": "path to go to after login"},
                    },
                }
            },
        },
    }
}


@router.post(
    "/api/login",
    response_model=MeOut,
    openapi_extra=_LOGIN_BODY,
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "too many failed logins for the account or from the address"},
        303: {"description": "form"},
    },
)
async def login(request: Request, state: StateDep) -> Response:
    """Log in with JSON or an HTML form; sets the session cookie, returns the CSRF token.

    A form post is answered with a redirect (to `next`, or back to /login on failure)."""
    if not _same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site login refused")
    creds, is_form, next_url = await _read_login(request)
    if creds is None:
        if is_form:
            return RedirectResponse("/login?failed=1", status.HTTP_303_SEE_OTHER)
        raise HTTPException(
            422,
            'send {"username": ..., "password": ...} as JSON or as a form',
        )
    tried, client = creds.username[:64], client_of(request)
    outcome = await run_in_threadpool(check_login, state, request, tried, creds.password, client)
    if isinstance(outcome, Refusal):  # locked: the password was not even checked
        await asyncio.sleep(state.login_failure_delay)
        if is_form:
            where = f"/login?locked=1&next={quote(safe_next(next_url))}"
            return RedirectResponse(where, status.HTTP_303_SEE_OTHER)
        raise _too_many(outcome)
    if outcome is None:
        # Every failure costs the same time: guessing is slow, and timing tells nothing.
        await asyncio.sleep(state.login_failure_delay)
        if is_form:
            where = f"/login?failed=1&next={quote(safe_next(next_url))}"
            return RedirectResponse(where, status.HTTP_303_SEE_OTHER)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    user = outcome
    lifetime = timedelta(seconds=state.session_seconds)
    session = await run_in_threadpool(state.users.open_session, user, lifetime)
    await run_in_threadpool(
        record, state, user.username, SUCCEEDED, "user", user.id, request=request
    )
    response: Response
    if is_form:
        response = RedirectResponse(safe_next(next_url), status.HTTP_303_SEE_OTHER)
    else:
        response = JSONResponse(_me(session).model_dump(mode="json"))
    _set_cookie(response, state, session)
    return response


@router.post(
    "/api/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[audited("auth.logout", "user")],
)
def logout(
    response: Response,
    user: UserDep,
    state: StateDep,
) -> None:
    """End this session (the cookie stops working everywhere)."""
    state.users.close_session(user.token)
    access_changed(state, user.id)  # this session's live feeds close now, not at their next check
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


@router.get("/api/me", response_model=MeOut)
def me(user: UserDep, state: StateDep) -> MeOut:
    """Who is logged in, what they may do, and the CSRF token for unsafe requests."""
    session = state.users.session(user.token)
    if session is None:  # logged out between the check and here
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the session ended; log in again")
    return _me(session)


@router.post(
    "/api/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={429: {"description": "too many wrong current passwords or failed logins"}},
)
async def change_password(
    body: PasswordChange,
    note: Annotated[AuditNote, audited("users.password", "user")],
    user: UserDep,
    state: StateDep,
    request: Request,
) -> None:
    """Change your own password; every session of yours ends (log in again). A wrong current
    password counts as a failed login of the account (the same lockout holds)."""
    note.object_id = str(user.id)
    outcome = await run_in_threadpool(
        lambda: check_login(
            state, request, user.username, body.current, client_of(request), via="password"
        )
    )
    if isinstance(outcome, Refusal):
        await asyncio.sleep(state.login_failure_delay)
        raise _too_many(outcome)
    if outcome is None:
        await asyncio.sleep(state.login_failure_delay)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the current password is wrong")
    await run_in_threadpool(lambda: state.users.update(user.id, password=body.new))
    access_changed(state, user.id)
