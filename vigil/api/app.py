"""The FastAPI app: `create_app(settings)` wires the store, users, bus and live runner into
the routers, with one error format (`{"detail": "<one clear sentence>"}`) for every 4xx."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeTimedSerializer
from prometheus_client import CollectorRegistry, Counter

from vigil import __version__
from vigil.api import alerts, audit, auth, cameras, events, pages, reports, system, users, ws
from vigil.api.deps import AppState
from vigil.audit.lockout import LockoutPolicy
from vigil.audit.log import AuditLog
from vigil.bus import Bus, LocalBus
from vigil.config import VigilConfig
from vigil.errors import VigilError
from vigil.pipeline.live import LiveRunner
from vigil.rules.engine import AlertService, RuleEngine
from vigil.store.alerts import AlertConflict, AlertError, AlertNotFound, Alerts
from vigil.store.db import Store, default_db_url
from vigil.store.queries import QueryError
from vigil.store.users import UserConflict, UserError, UserNotFound, Users

log = logging.getLogger(__name__)


def content_security_policy(tile_origin: str | None = None) -> str:
    """Scripts, styles, pictures and sockets from this server only; map tiles from the
    configured tile server, if any (`map.tiles`)."""
    tiles = f" {tile_origin}" if tile_origin else ""
    return (
        f"default-src 'self'; img-src 'self' data: blob:{tiles}; "
        "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )


def _print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Settings:
    """How the server runs. Secrets (admin password, metrics token) may come from the
    environment: VIGIL_ADMIN_PASSWORD, VIGIL_METRICS_TOKEN."""

    config: VigilConfig
    data_dir: Path
    db_url: str | None = None
    secure_cookies: bool = False  # set behind HTTPS; plain http://127.0.0.1 needs False
    session_hours: float = 12.0
    login_failure_delay: float = 1.0  # seconds every failed login waits
    login_lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    admin_password: str | None = None
    metrics_token: str | None = None
    announce: Callable[[str], None] = _print_to_stderr  # tells the generated admin password
    password_hasher: PasswordHasher | None = None  # argon2id defaults when None

    @classmethod
    def from_env(cls, config: VigilConfig, data_dir: Path, **kw: Any) -> Settings:
        kw.setdefault("admin_password", os.environ.get("VIGIL_ADMIN_PASSWORD") or None)
        kw.setdefault("metrics_token", os.environ.get("VIGIL_METRICS_TOKEN") or None)
        return cls(config=config, data_dir=data_dir, **kw)


def _where(loc: tuple[Any, ...]) -> str:
    kinds = {"query": "query parameter", "path": "path parameter", "header": "header"}
    if loc and loc[0] in kinds:
        return f"{kinds[loc[0]]} '{'.'.join(str(p) for p in loc[1:])}'"
    if loc and loc[0] == "body":
        return f"field '{'.'.join(str(p) for p in loc[1:])}'" if len(loc) > 1 else "the body"
    return ".".join(str(p) for p in loc) or "the request"


def describe_validation(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        msg = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        if loc[-1:] == ("limit",) and err.get("type") == "less_than_equal":
            msg = f"{msg}; fetch more with the next_cursor of each page"
        given = err.get("input")
        shown = ""
        if given is not None and not isinstance(given, dict | list) and len(str(given)) <= 60:
            shown = f" (got {given!r})"
        problems.append(f"{_where(loc)}: {msg}{shown}")
    return "; ".join(problems) or "the request is not valid"


def _error(code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code)


def _install_error_handlers(app: FastAPI) -> None:
    async def validation(_r: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _error(422, describe_validation(exc))

    async def user_error(_r: Request, exc: Exception) -> Response:
        code = status.HTTP_400_BAD_REQUEST
        if isinstance(exc, AlertNotFound | UserNotFound):
            code = status.HTTP_404_NOT_FOUND
        elif isinstance(exc, AlertConflict | UserConflict):
            code = status.HTTP_409_CONFLICT
        elif isinstance(exc, QueryError | AlertError | UserError):
            code = 422
        return _error(code, str(exc))

    async def internal(_r: Request, exc: Exception) -> Response:
        log.error("internal error", exc_info=exc)
        return _error(500, "internal error; the server log has the details")

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(VigilError, user_error)
    app.add_exception_handler(pages.LoginRequired, pages.login_redirect)
    app.add_exception_handler(Exception, internal)


SYSTEM_ACTOR = "system"


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    bus: Bus | None = None,
    runner: LiveRunner | None = None,
    alert_service: AlertService | None = None,
) -> FastAPI:
    """The app. Without `runner` it serves stored data only (cameras show as not live)."""
    own_store = store is None
    store = store or Store(settings.db_url or default_db_url(settings.data_dir))
    bus = bus or LocalBus()
    user_repo = Users(store, settings.password_hasher)
    first_start = user_repo.count() == 0
    generated = user_repo.ensure_admin(settings.admin_password)
    if generated is not None:
        settings.announce(
            f"Created the first user: admin, password {generated}\n"
            "It is shown only this once; change it after logging in (the Password button)."
        )
    for cam in settings.config.cameras:
        store.save_camera(cam.to_camera())
    registry = CollectorRegistry(auto_describe=True)
    state = AppState(
        config=settings.config,
        data_dir=settings.data_dir,
        store=store,
        users=user_repo,
        alerts=alert_service or AlertService(Alerts(store), bus, RuleEngine(settings.config.rules)),
        bus=bus,
        runner=runner,
        signer=URLSafeTimedSerializer(auth.load_secret(settings.data_dir), salt="vigil-session"),
        session_seconds=settings.session_hours * 3600.0,
        secure_cookies=settings.secure_cookies,
        login_failure_delay=settings.login_failure_delay,
        login_lockout=settings.login_lockout,
        metrics_token=settings.metrics_token,
        registry=registry,
        login_failures=Counter("vigil_login_failures", "failed login attempts", registry=registry),
        audit=AuditLog(
            store,
            settings.data_dir,
            durability=settings.config.audit.durability,
            sync_interval=settings.config.audit.sync_interval_s,
            witness=settings.announce if settings.config.audit.anchors_to_log else None,
        ),
    )
    registry.register(system.LiveCollector(state))
    if first_start:
        state.audit.append(
            SYSTEM_ACTOR,
            "users.create",
            "user",
            "admin",
            details={
                "role": "admin",
                "password": "generated, shown once" if generated else "given by the operator",
            },
        )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # When the service ran is on the record: an auditor sees the gaps.
        state.audit.append(
            SYSTEM_ACTOR,
            "system.start",
            details={
                "version": __version__,
                "cameras": [c.id for c in settings.config.cameras],
                "live": runner is not None,
            },
        )
        yield
        state.audit.append(SYSTEM_ACTOR, "system.stop")
        state.audit.close()  # flushed, and the head anchored so a cut-off tail is detected
        bus.close()  # ends every open WebSocket's subscription
        if own_store:
            store.close()

    app = FastAPI(
        title="Vigil",
        version=__version__,
        description="Open, accountable video analytics. Every route needs a session cookie "
        "(POST /api/login) except /login, /api/login and /healthz; POST, PATCH and DELETE "
        "also need the X-CSRF-Token header (its value comes from /api/me).",
        openapi_url=None,  # served behind a session at /api/openapi.json
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.vigil = state
    _install_error_handlers(app)

    csp = content_security_policy(settings.config.map.tile_origin)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", csp)  # unless the route set one
        return response

    for module in (auth, cameras, events, alerts, users, audit, reports, system, ws, pages):
        app.include_router(module.router)
    pages.mount_vendor(app)  # Leaflet from node_modules, before the general /static mount
    static = pages.WEB / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
