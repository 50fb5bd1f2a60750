"""Every route refuses anonymous requests, except an explicit public allow-list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import Env, login
from vigil.api import pages

PUBLIC = {"/login", "/api/login", "/healthz", "/api/keys"}  # keys: to verify an export
PUBLIC_PREFIXES = ("/static",)
# HTML pages answer anonymous browsers with a redirect to /login.
PAGES = {r.path for r in pages.router.routes if r.path != "/login"}  # type: ignore[attr-defined]
SAMPLE = {"camera_id": "lobby", "event_id": "1", "alert_id": "1", "user_id": "1"}
SAMPLE_DEFAULT = "1"


def flatten(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """Routes of the app, through included routers (FastAPI nests them in newer versions)."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from flatten(list(nested.routes))
        else:
            yield route


def fill(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE.get(m.group(1), SAMPLE_DEFAULT), path)


def http_routes(env: Env) -> list[tuple[str, str]]:
    out = []
    for route in flatten(env.app.routes):
        if isinstance(route, APIRoute | Route) and not isinstance(route, Mount):
            for method in sorted(route.methods or []):
                if method != "HEAD":
                    out.append((method, route.path))
    return out


def ws_routes(env: Env) -> list[str]:
    return [
        r.path for r in flatten(env.app.routes) if isinstance(r, APIWebSocketRoute | WebSocketRoute)
    ]


def test_the_walk_finds_the_routes_we_know(env: Env) -> None:
    paths = {p for _, p in http_routes(env)}
    for expected in (
        "/api/cameras",
        "/api/cameras/{camera_id}/live.jpg",
        "/api/cameras/{camera_id}/mjpeg",
        "/api/events",
        "/api/tracks",
        "/api/snapshots/{track_row_id}.jpg",
        "/api/alerts/{alert_id}/review",
        "/api/users/{user_id}",
        "/api/health",
        "/metrics",
        "/api/openapi.json",
    ):
        assert expected in paths
    assert ws_routes(env) == ["/api/ws"]


def test_every_route_but_the_public_ones_refuses_anonymous_requests(env: Env) -> None:
    client = TestClient(env.app)
    checked = 0
    for method, path in http_routes(env):
        if path in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        kwargs: dict[str, Any] = {"follow_redirects": False}
        if method in ("POST", "PATCH", "PUT"):
            kwargs["json"] = {}
        r = client.request(method, fill(path), **kwargs)
        if path in PAGES:
            assert r.status_code == 303, (method, path, r.status_code)
            assert r.headers["location"].startswith("/login")
        else:
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert "log" in r.json()["detail"] or "session" in r.json()["detail"]
            assert "traceback" not in r.text.lower()
        checked += 1
    assert checked >= 20


def test_every_websocket_refuses_anonymous_connections_with_4401(env: Env) -> None:
    client = TestClient(env.app)
    for path in ws_routes(env):
        with client.websocket_connect(path) as ws, pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401, path


def test_openapi_documents_the_api_behind_a_session(env: Env) -> None:
    client = TestClient(env.app)
    assert client.get("/api/openapi.json").status_code == 401
    login(client)
    spec = client.get("/api/openapi.json").json()
    documented = set(spec["paths"])
    walked = {p for _, p in http_routes(env)}
    assert documented <= walked
    assert {"/api/events", "/api/alerts/{alert_id}/review", "/api/login"} <= documented
    limit = next(
        p for p in spec["paths"]["/api/events"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 500
    assert "EventPage" in spec["components"]["schemas"]


def test_public_routes_say_nothing_private(env: Env) -> None:
    client = TestClient(env.app)
    r = client.get("/healthz")
    assert r.status_code == 200 and r.text == "ok"
    assert client.get("/static/vigil.css").status_code == 200
    assert client.get("/login").status_code == 200
    [key] = client.get("/api/keys").json()["keys"]  # the public half only
    assert set(key) == {"algorithm", "fingerprint", "public_key"}
    assert "PRIVATE" not in key["public_key"] and key["public_key"].startswith("-----BEGIN PUBLIC")
