"""The FastAPI app: `create_app(settings)` puts the store, users, bus and camera directory
(see vigil.api.bootstrap) behind the routers, with one error format
(`{"detail": "<one clear sentence>"}`) for every 4xx."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from vigil import __version__
from vigil.api import (
    alerts,
    audit,
    auth,
    events,
    exports,
    field,
    fire,
    hotlists,
    incidents,
    ingest,
    pages,
    recordings,
    reports,
    system,
    units,
    users,
    vocabulary,
    watchlists,
    webhooks,
    ws,
)
from vigil.api import cameras as camera_routes
from vigil.api.auditing import (
    PURPOSE_HELP,
    PURPOSE_MAX,
    PURPOSE_MIN,
    record_refusal,
    status_of,
)
from vigil.api.bootstrap import Settings, build_state, record_first_start, record_service
from vigil.api.contract import document_errors
from vigil.api.guard import RequestGuard, default_hosts
from vigil.bus import Bus, LocalBus
from vigil.errors import VigilError
from vigil.integrations.mqtt import start_mqtt
from vigil.integrations.tak import start_tak
from vigil.integrations.webhooks import start_webhooks
from vigil.pipeline.directory import CameraDirectory, NoCameras
from vigil.rules.engine import AlertService
from vigil.store.db import Store, default_db_url
from vigil.store.queries import CURSOR_PATTERN
from vigil.store.users import USERNAME, USERNAME_RULE
from vigil.vision.plates.match import PATTERN_HELP as PLATE_HELP
from vigil.vision.plates.match import PATTERN_TYPED as PLATE_PATTERN

__all__ = ["Settings", "content_security_policy", "create_app", "describe_validation"]

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


def _where(loc: tuple[Any, ...]) -> str:
    kinds = {"query": "query parameter", "path": "path parameter", "header": "header"}
    if loc and loc[0] in kinds:
        return f"{kinds[loc[0]]} '{'.'.join(str(p) for p in loc[1:])}'"
    if loc and loc[0] == "body":
        return f"field '{'.'.join(str(p) for p in loc[1:])}'" if len(loc) > 1 else "the body"
    return ".".join(str(p) for p in loc) or "the request"


# What a value must look like, for each pattern in the schemas: said instead of the regex.
PATTERN_HINTS = {
    USERNAME.pattern: f"not allowed; {USERNAME_RULE}",
    CURSOR_PATTERN: "not valid; pass the next_cursor of the previous page",
    PLATE_PATTERN: f"not a plate pattern; use {PLATE_HELP}",
}


def describe_validation(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        msg = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        if loc[-1:] == ("limit",) and err.get("type") == "less_than_equal":
            msg = f"{msg}; fetch more with the next_cursor of each page"
        ctx = err.get("ctx") or {}
        if err.get("type") == "string_pattern_mismatch":
            msg = PATTERN_HINTS.get(str(ctx.get("pattern")), msg)
        if loc == ("query", "purpose"):  # missing, too long or not on one line
            msg = f"{PURPOSE_HELP} ({PURPOSE_MIN} to {PURPOSE_MAX} characters, on one line)"
        given = err.get("input")
        if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):  # e.g. review action
            loc = (*loc, str(ctx.get("discriminator", "")).strip("'"))
            msg = f"must be one of {ctx.get('expected_tags', '')}" if "tag" in ctx else "required"
            given = ctx.get("tag")
        shown = ""
        if given is not None and not isinstance(given, dict | list) and len(str(given)) <= 60:
            shown = f" (got {given!r})"
        problems.append(f"{_where(loc)}: {msg}{shown}")
    return "; ".join(problems) or "the request is not valid"


class SecurityHeaders:
    """Pure ASGI (not BaseHTTPMiddleware, which runs the app in a task of its own and turns an
    error raised while reading the body into an exception group): the headers every answer
    carries unless its route set its own."""

    def __init__(self, app: Any, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"content-security-policy", csp.encode()),
        ]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _error(code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code)


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path answers (Starlette names only the first)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and isinstance(route, Route | APIRoute):
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def _install_error_handlers(app: FastAPI) -> None:
    """Every refusal: one sentence as `detail`, and on the audit record when the route is
    audited (vigil.api.auditing.record_refusal)."""

    async def refused(request: Request, code: int, detail: str, **headers: str) -> Response:
        if 400 <= code < 500:
            await run_in_threadpool(record_refusal, request, code)
        return JSONResponse({"detail": detail}, status_code=code, headers=headers or None)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return await refused(request, 422, describe_validation(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            headers["Allow"] = _allowed_methods(request)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return await refused(request, exc.status_code, detail, **headers)

    async def user_error(request: Request, exc: Exception) -> Response:
        return await refused(request, status_of(exc), str(exc))

    async def internal(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RecursionError):  # JSON nested deeper than a parser goes
            return await refused(request, 400, "the request body is nested too deeply")
        log.error("internal error", exc_info=exc)
        return _error(500, "internal error; the server log has the details")

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(VigilError, user_error)
    app.add_exception_handler(pages.LoginRequired, pages.login_redirect)
    app.add_exception_handler(Exception, internal)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    bus: Bus | None = None,
    cameras: CameraDirectory | None = None,
    alert_service: AlertService | None = None,
) -> FastAPI:
    """The app. Without `cameras` it serves stored data only (cameras show as not live)."""
    own_store = store is None
    store = store or Store(settings.db_url or default_db_url(settings.data_dir))
    state = build_state(settings, store, bus or LocalBus(), cameras or NoCameras(), alert_service)
    record_first_start(state, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        record_service(state, "system.start")  # when the service ran is on the record
        await run_in_threadpool(state.bus.start)  # what other processes publish, from now on
        tak = await start_tak(state)  # a TAK server, if vigil.yml names one
        hooks = await start_webhooks(state)  # the webhooks vigil.yml names, if any
        mqtt = await start_mqtt(state)  # an MQTT broker, if vigil.yml names one
        if settings.on_started is not None:
            settings.on_started()
        yield
        if mqtt is not None:
            await mqtt.stop()  # says offline, and its last numbers go to the audit log
        if hooks is not None:
            await hooks.stop()  # pending deliveries stay stored, tried at the next start
        if tak is not None:
            await tak.stop()  # its last numbers go to the audit log before that closes
        record_service(state, "system.stop")
        state.audit.close()  # flushed, and the head anchored so a cut-off tail is detected
        state.bus.close()  # ends every open WebSocket's subscription
        if own_store:
            state.store.close()

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
    document_errors(app)
    app.add_middleware(
        SecurityHeaders, csp=content_security_policy(settings.config.map.tile_origin)
    )
    server = settings.config.server
    app.add_middleware(
        RequestGuard,
        allowed_hosts=server.allowed_hosts or default_hosts(settings.listen_host),
        max_body_bytes=server.max_body_bytes,
        uploads={ingest.UPLOAD_PATH: server.max_upload_bytes},
    )
    routers = [auth, camera_routes, events, alerts, hotlists, users, audit, reports, system]
    routers += [watchlists, units, incidents, field, vocabulary, ws, recordings, exports, ingest]
    routers += [webhooks, fire]
    for module in (*routers, pages):
        app.include_router(module.router)
    pages.mount_vendor(app)  # Leaflet from node_modules, before the general /static mount
    static = pages.WEB / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
