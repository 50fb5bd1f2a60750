"""Health, Prometheus metrics and the API's own documentation.

`GET /healthz` is the only public route here: it answers "ok" and says nothing else (for a
load balancer). `GET /metrics` takes a session of a supervisor or admin, or
`Authorization: Bearer <token>` when the server was given a metrics token
(VIGIL_METRICS_TOKEN), which is what a Prometheus scraper uses.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

from vigil.api.deps import (
    AppState,
    CookieDep,
    Principal,
    StateDep,
    UserDep,
    require_user,
    session_from_cookie,
)
from vigil.api.pages import SWAGGER_KEY, SWAGGER_URL
from vigil.api.schemas import HealthOut, IntegrationHealthOut
from vigil.domain import Role
from vigil.integrations.mqtt_ha import STATE_KEY as MQTT_KEY
from vigil.integrations.webhooks import STATE_KEY as HOOKS_KEY

router = APIRouter(tags=["system"])


@router.get("/healthz", response_class=PlainTextResponse, include_in_schema=False)
def healthz() -> str:
    """Liveness only, for load balancers: no details without a session."""
    return "ok"


@router.get("/api/health", response_model=HealthOut, dependencies=[Depends(require_user)])
def health(user: UserDep, state: StateDep) -> HealthOut:
    """The database and the cameras you may see: online or not."""
    try:
        with state.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = True
    except Exception:  # noqa: BLE001 - any failure means the database is not usable
        database = False
    statuses = state.cameras.statuses()
    cameras = {
        c.id: bool(statuses[c.id].online) if c.id in statuses else False
        for c in state.config.cameras
        if user.sees(c.id)
    }
    online = sum(cameras.values())
    live = state.cameras.live
    links = {}  # the integrations with a link of their own (the broker's, for mqtt)
    if (mqtt := state.extra.get(MQTT_KEY)) is not None:
        links[MQTT_KEY] = IntegrationHealthOut.model_validate(mqtt.health())
    if (hooks := state.extra.get(HOOKS_KEY)) is not None:
        for hook in hooks.health():
            links[f"webhook:{hook['name']}"] = _webhook_link(hook)
    ok = database and (not live or online == len(cameras))
    ok = ok and all(link.online for link in links.values())
    return HealthOut(
        status="ok" if ok else "degraded",
        database=database,
        cameras_online=online,
        cameras_total=len(cameras),
        cameras=cameras,
        live=live,
        integrations=links,
    )


def _webhook_link(hook: dict[str, Any]) -> IntegrationHealthOut:
    """A webhook's health (vigil.integrations.webhooks) as a link: its receiver's address,
    failing while its last attempt failed (ok or idle: online)."""
    server = urlsplit(str(hook["url"])).netloc.rsplit("@", 1)[-1]  # never a user or password
    return IntegrationHealthOut(
        kind="webhook", server=server, online=hook["state"] != "failing", status=hook["state"],
        error=hook["last_error"], since=hook["last_delivered_at"] or "",
        queue=int(hook["under_way"]),
    )  # fmt: skip


def _metrics_allowed(request: Request, state: AppState, cookie: str | None) -> Principal | None:
    """The user reading the metrics; None for the scraper's token (it sees every camera)."""
    auth = request.headers.get("authorization", "")
    if state.metrics_token and auth.lower().startswith("bearer "):
        if secrets.compare_digest(auth[7:].strip().encode(), state.metrics_token.encode()):
            return None
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong metrics token")
    session = session_from_cookie(state, cookie)
    if session is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "metrics need a session (supervisor or admin) or Authorization: Bearer <token>",
        )
    if not Role(session.user.role).at_least(Role.SUPERVISOR):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "metrics need the supervisor role")
    return Principal.from_session(session)


@router.get("/metrics", response_class=PlainTextResponse, tags=["system"])
def metrics(
    request: Request,
    state: StateDep,
    cookie: CookieDep,
) -> Response:
    """Prometheus text format: cameras (online, frames, fps), events, alerts, logins."""
    user = _metrics_allowed(request, state, cookie)
    registry: Any = state.registry
    if user is not None and user.visible() is not None:
        registry = VisibleOnly(state.registry, user)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class VisibleOnly:
    """A registry's metrics without the series of cameras the user may not see (any series
    with a `camera` label: the ones there are today and the ones added later)."""

    def __init__(self, registry: CollectorRegistry, user: Principal) -> None:
        self.registry, self.user = registry, user

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            kept = [s for s in family.samples if self._sees(s.labels)]
            copy = Metric(family.name, family.documentation, family.type, family.unit)
            copy.samples = kept
            yield copy

    def _sees(self, labels: dict[str, str]) -> bool:
        camera = labels.get("camera")
        return camera is None or self.user.sees(camera)


class LiveCollector(Collector):
    """Reads the camera directory's health and counters at scrape time (nothing to keep in
    sync); with remote camera workers these are what their last report said."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def collect(self) -> Iterator[Any]:
        online = GaugeMetricFamily(
            "vigil_camera_online", "1 if the camera delivers frames", labels=["camera"]
        )
        fps = GaugeMetricFamily("vigil_camera_fps", "frames analysed per second", labels=["camera"])
        frames = CounterMetricFamily("vigil_camera_frames", "frames analysed", labels=["camera"])
        dropped = CounterMetricFamily(
            "vigil_camera_dropped_frames", "frames skipped, analysis behind", labels=["camera"]
        )
        restarts = CounterMetricFamily(
            "vigil_camera_restarts", "decoder restarts", labels=["camera"]
        )
        events = CounterMetricFamily(
            "vigil_events", "events stored since start", labels=["camera", "type"]
        )
        alerts = CounterMetricFamily("vigil_alerts", "alerts raised since start", labels=["camera"])
        counters = self.state.cameras.counters()
        for cam_id, st in sorted(self.state.cameras.statuses().items()):
            online.add_metric([cam_id], 1.0 if st.online else 0.0)
            fps.add_metric([cam_id], st.fps or 0.0)
            frames.add_metric([cam_id], st.frames)
            dropped.add_metric([cam_id], st.dropped)
            restarts.add_metric([cam_id], st.restarts)
            counted = counters.get(cam_id)
            if counted is not None:
                for kind, n in sorted(counted.events.items()):
                    events.add_metric([cam_id, kind], n)
                alerts.add_metric([cam_id], counted.alerts)
        yield from (online, fps, frames, dropped, restarts, events, alerts)


@router.get("/api/openapi.json", include_in_schema=False, dependencies=[Depends(require_user)])
def openapi(request: Request) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema


@router.get("/api/docs", include_in_schema=False, dependencies=[Depends(require_user)])
def docs(state: StateDep) -> HTMLResponse:
    """Swagger UI from this server (npm's swagger-ui-dist), never from a CDN."""
    if state.extra.get(SWAGGER_KEY) is None:
        return HTMLResponse(
            "<!DOCTYPE html><title>Vigil API</title><p>Swagger UI is not installed here "
            "(run <code>make setup</code>, which installs it with npm). The API is described "
            'by <a href="/api/openapi.json">/api/openapi.json</a> and docs/api.md.</p>',
            status_code=503,
        )
    page = get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="Vigil API",
        swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_URL}/favicon-32x32.png",
    )
    # The page's one inline script (it starts Swagger UI) is allowed by its hash, nothing else.
    inline = re.findall(rb"<script>(.*?)</script>", bytes(page.body), re.S)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(code).digest()).decode()}'" for code in inline
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self' {hashes}; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'"
    )
    return page
