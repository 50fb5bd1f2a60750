"""Before any route: request bodies are capped (413, nothing parsed past the limit), lists in
bodies are bounded, deep JSON is a 400, and only the expected Host names are served (DNS
rebinding), the WebSocket included; a server reachable beyond this machine says what to set."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import Env, login
from vigil.api.guard import default_hosts, host_of
from vigil.config import parse_config
from vigil.domain import Role
from vigil.errors import ConfigError
from vigil.server import exposure_warnings

MB = 1024 * 1024


def test_a_10_mb_login_body_is_refused_before_it_is_read(client: TestClient) -> None:
    """Before: the public login read and parsed a 10 MB JSON body in full."""
    body = b'{"username": "admin", "password": "' + b"x" * (10 * MB) + b'"}'
    r = client.post("/api/login", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "larger than 1048576 bytes" in r.json()["detail"]


def test_a_body_that_grows_past_the_limit_while_streaming_is_cut_off(env: Env) -> None:
    """No Content-Length (chunked): the limit is counted as the body arrives."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "admin", "password": "'
        for _ in range(20):
            yield b"x" * (MB // 4)
        yield b'"}'

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post(
                "/api/login", content=chunks(), headers={"Content-Type": "application/json"}
            )

    r = asyncio.run(main())
    assert r.status_code == 413 and "server.max_body_bytes" in r.json()["detail"]


def test_lists_in_bodies_are_bounded(client: TestClient, env: Env) -> None:
    """Before: an admin PATCH stored a 1,000,000-entry camera list (and a 9 MB audit row)."""
    login(client)
    target = env.add_user("vic", Role.VIEWER)
    many = {"cameras": [f"c{i}" for i in range(2000)]}
    r = client.patch(f"/api/users/{target}", json=many)
    assert r.status_code == 422 and "at most 1000" in r.json()["detail"]
    r = client.patch(f"/api/users/{target}", json={"cameras": ["x" * 65]})
    assert r.status_code == 422


@pytest.mark.parametrize("path", ["/api/login", "/api/users"])
def test_json_nested_100000_deep_is_a_clear_400(client: TestClient, path: str) -> None:
    login(client)
    body = b"[" * 100_000 + b"]" * 100_000
    r = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert isinstance(r.json()["detail"], str)


def test_only_the_expected_host_names_are_served(env: Env) -> None:
    """A rebinding page sends its own name as Host: refused, WebSocket too."""
    evil = TestClient(env.app, base_url="http://attacker.example")
    r = evil.post("/api/login", json={"username": "admin", "password": "x"})
    assert r.status_code == 400 and "server.allowed_hosts" in r.json()["detail"]
    assert evil.get("/healthz").status_code == 400
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        evil.websocket_connect("/api/ws", headers={"host": "attacker.example"}) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4400
    assert TestClient(env.app, base_url="http://127.0.0.1:8080").get("/healthz").text == "ok"
    assert TestClient(env.app, base_url="http://localhost").get("/healthz").status_code == 200


def test_host_names_come_from_the_config_or_safe_defaults() -> None:
    assert host_of("[::1]:8080") == "::1" and host_of("Vigil.Example:443") == "vigil.example"
    defaults = default_hosts("127.0.0.1")
    assert {"localhost", "127.0.0.1", "::1"} <= set(defaults)
    assert "10.0.0.5" in default_hosts("10.0.0.5")
    config = parse_config("server: {allowed_hosts: [vigil.example.org], secure_cookies: true}")
    assert config.server.allowed_hosts == ["vigil.example.org"] and config.server.secure_cookies
    with pytest.raises(ConfigError, match="not a host name"):
        parse_config("server: {allowed_hosts: ['https://vigil.example.org/']}")


def test_listening_beyond_loopback_without_tls_or_hosts_says_what_to_set() -> None:
    plain = parse_config("")
    assert exposure_warnings("127.0.0.1", plain, False) == []
    said = exposure_warnings("0.0.0.0", plain, False)
    assert any("server.secure_cookies: true" in w for w in said)
    assert any("server.allowed_hosts" in w for w in said)
    set_up = parse_config("server: {allowed_hosts: [vigil.example.org], secure_cookies: true}")
    assert exposure_warnings("0.0.0.0", set_up, False) == []


def test_the_secure_cookie_setting_reaches_the_cookie(env: Env) -> None:
    from tests.api.conftest import make_settings
    from vigil.api import create_app

    settings = make_settings(env.data_dir)
    settings.config = parse_config("server: {secure_cookies: true}")
    app = create_app(settings, store=env.store)
    r = TestClient(app).post(
        "/api/login", json={"username": "admin", "password": "admin-password-for-tests"}
    )
    assert r.status_code == 200 and "secure" in r.headers["set-cookie"].lower()
