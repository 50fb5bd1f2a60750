"""What every route shares: the app's state, the logged-in user, role and camera checks."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie
from itsdangerous import BadSignature, URLSafeTimedSerializer
from prometheus_client import CollectorRegistry, Counter

from vigil.audit.lockout import LockoutPolicy, LoginGate
from vigil.audit.log import AuditLog
from vigil.bus import Bus
from vigil.config import CameraConfig, VigilConfig
from vigil.domain import Role
from vigil.incidents.incidents import Incidents
from vigil.incidents.units import Units
from vigil.pipeline.directory import CameraDirectory
from vigil.rules.engine import AlertService
from vigil.store.db import Store
from vigil.store.queries import get_row
from vigil.store.tables import AlertRow, CameraRow, EventRow, TrackRow
from vigil.store.users import LoginSession, Users

COOKIE = "vigil_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Documents the cookie in the OpenAPI; checking it is done below, by hand.
cookie_scheme = APIKeyCookie(name=COOKIE, auto_error=False)


@dataclass
class AppState:
    config: VigilConfig
    data_dir: Path
    store: Store
    users: Users
    alerts: AlertService
    bus: Bus
    cameras: CameraDirectory  # live health and pictures, from wherever the cameras run
    signer: URLSafeTimedSerializer
    session_seconds: float
    secure_cookies: bool
    login_failure_delay: float
    login_lockout: LockoutPolicy
    login_gate: LoginGate
    metrics_token: str | None
    registry: CollectorRegistry
    login_failures: Counter
    audit: AuditLog
    units: Units
    incidents: Incidents
    extra: dict[str, Any] = field(default_factory=dict)

    def camera(self, camera_id: str) -> CameraConfig | None:
        return next((c for c in self.config.cameras if c.id == camera_id), None)


@dataclass(frozen=True, slots=True)
class Principal:
    """The logged-in user of one request."""

    id: int
    username: str
    role: Role
    cameras: frozenset[str] | None  # None: every camera
    csrf: str
    token: str

    def can(self, role: Role) -> bool:
        return self.role.at_least(role)

    @property
    def can_see_operations(self) -> bool:
        """Cameras, live pictures, events, tracks, snapshots, alerts: not for an auditor."""
        return self.role.operational

    @property
    def can_manage_users(self) -> bool:
        return self.role.manages_users

    @property
    def can_read_audit(self) -> bool:
        """The audit log and transparency reports: admins and auditors."""
        return self.role.reads_audit

    def sees(self, camera_id: str) -> bool:
        if not self.can_see_operations:
            return False  # defence in depth: an auditor sees no camera anywhere
        return self.cameras is None or camera_id in self.cameras

    def visible(self) -> frozenset[str] | None:
        """The cameras this user may see (None: all, including ones no longer configured)."""
        return self.cameras if self.can_see_operations else frozenset()

    @classmethod
    def from_session(cls, session: LoginSession) -> Principal:
        user = session.user
        cams = frozenset(user.cameras) if user.cameras is not None else None
        return cls(user.id, user.username, Role(user.role), cams, session.csrf, session.token)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.vigil
    return state


def state_of(app: Any) -> AppState:
    state: AppState = app.state.vigil
    return state


def session_from_cookie(state: AppState, cookie: str | None) -> LoginSession | None:
    if not cookie:
        return None
    try:
        token = state.signer.loads(cookie, max_age=int(state.session_seconds))
    except BadSignature:  # also an expired signature
        return None
    if not isinstance(token, str):
        return None
    return state.users.session(token)


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "not logged in (or the session expired); log in with POST /api/login",
    )


StateDep = Annotated[AppState, Depends(get_state)]
CookieDep = Annotated[str | None, Depends(cookie_scheme)]


def require_user(request: Request, state: StateDep, cookie: CookieDep) -> Principal:
    """The logged-in user; unsafe methods must also carry the session's CSRF token."""
    session = session_from_cookie(state, cookie)
    if session is None:
        raise _unauthorized()
    principal = Principal.from_session(session)
    request.state.vigil_user = principal  # the actor of a refusal's audit row
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), principal.csrf.encode()):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"missing or wrong {CSRF_HEADER} header; send the csrf_token from GET /api/me",
            )
    return principal


UserDep = Annotated[Principal, Depends(require_user)]


def require_role(role: Role) -> Callable[..., Principal]:
    def check(user: UserDep) -> Principal:
        if not user.can(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {role} role or higher; you are {user.role}",
            )
        return user

    return check


def manager_of_every_camera(what: str) -> Callable[..., Principal]:
    """A supervisor or admin who sees every camera: lists that reach beyond one camera's
    view (hotlists, watchlists) are theirs to manage."""

    def check(user: Annotated[Principal, Depends(require_role(Role.SUPERVISOR))]) -> Principal:
        if user.cameras is not None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"{what} reach beyond the cameras you see: only a supervisor or admin who "
                f"sees every camera manages {what}",
            )
        return user

    return check


def require_operational(user: UserDep) -> Principal:
    """Cameras, pictures, events, tracks, snapshots and alerts: every role but the auditor."""
    if not user.can_see_operations:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"the {user.role} role cannot see cameras, pictures, events or alerts",
        )
    return user


def require_audit_reader(user: UserDep) -> Principal:
    """The audit log and transparency reports: admins and auditors."""
    if not user.can_read_audit:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this needs the admin or auditor role; you are {user.role}",
        )
    return user


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")


RowT = TypeVar("RowT", EventRow, TrackRow, AlertRow)


def visible_row(
    state: AppState, user: Principal, model: type[RowT], row_id: int, what: str
) -> RowT:
    """A stored row (event, track, alert) of a camera the user may see; 404 otherwise."""
    row = get_row(state.store, model, row_id)
    if row is None or not user.sees(row.camera_id):
        raise not_found(f"{what} {row_id}")
    return row


def visible_camera(state: AppState, user: Principal, camera_id: str) -> CameraConfig:
    """A configured camera the user may see; 404 otherwise (no hint that it exists)."""
    cam = state.camera(camera_id)
    if cam is None or not user.sees(camera_id):
        raise not_found(f"camera '{camera_id}'")
    return cam


def check_camera_filter(state: AppState, user: Principal, camera_id: str | None) -> None:
    """A `camera=` search filter must name a known camera (configured or stored) to see."""
    if camera_id is None:
        return
    if user.sees(camera_id):
        if state.camera(camera_id) is not None:
            return
        with state.store.session() as s:
            if s.get(CameraRow, camera_id) is not None:
                return
    raise not_found(f"camera '{camera_id}'")
