"""Login, logout, sessions, CSRF, the first admin, the signing secret."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, Env, login, make_settings
from vigil.api import create_app
from vigil.domain import Role
from vigil.store.db import Store


def test_login_sets_a_strict_httponly_signed_cookie_and_returns_the_csrf_token(
    client: TestClient,
) -> None:
    r = client.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["user"]["username"] == "admin" and body["user"]["role"] == "admin"
    assert "password_hash" not in body["user"] and len(body["csrf_token"]) >= 32
    assert body["permissions"] == {
        "review_alerts": True,
        "manage_users": True,
        "metrics": True,
        "operations": True,
        "read_audit": True,
    }
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("vigil_session=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=43200"):
        assert attribute.lower() in cookie.lower()
    me = client.get("/api/me").json()
    assert me["user"]["username"] == "admin" and me["csrf_token"] == body["csrf_token"]


def test_wrong_password_and_unknown_user_get_the_same_slow_answer_and_are_counted(
    client: TestClient, env: Env
) -> None:
    answers = []
    for username in ("admin", "nobody"):
        started = time.perf_counter()
        r = client.post("/api/login", json={"username": username, "password": "wrong-password"})
        answers.append((r.status_code, r.json()["detail"]))
        assert time.perf_counter() - started >= 0.05  # the configured failure delay
        assert "set-cookie" not in r.headers
    assert answers == [(401, "wrong username or password")] * 2
    assert env.app.state.vigil.login_failures._value.get() == 2
    login(client)
    metrics = client.get("/metrics").text
    assert "vigil_login_failures_total 2.0" in metrics


def test_malformed_login_is_a_clear_4xx(client: TestClient) -> None:
    r = client.post(
        "/api/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "username" in r.json()["detail"]
    r = client.post("/api/login", json={"username": "admin"})
    assert r.status_code == 422


def test_form_login_redirects_to_next_but_never_off_site(client: TestClient) -> None:
    form = {"username": "admin", "password": ADMIN_PASSWORD, "next": "/events?x=1"}
    r = client.post("/api/login", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/events?x=1"
    assert "vigil_session=" in r.headers["set-cookie"]
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        r = client.post("/api/login", data={**form, "next": evil}, follow_redirects=False)
        assert r.headers["location"] == "/"
    bad = {"username": "admin", "password": "nope-nope-nope", "next": "/x"}
    r = client.post("/api/login", data=bad, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?failed=1")


def test_cross_site_login_is_refused(client: TestClient) -> None:
    r = client.post(
        "/api/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    ok = client.post(
        "/api/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"Origin": "http://testserver"},
    )
    assert ok.status_code == 200


def test_unsafe_requests_need_the_sessions_csrf_token(client: TestClient, env: Env) -> None:
    token = login(client)
    alert = env.ids["alerts"]["lobby"]
    body = {"action": "acknowledge"}
    del client.headers["X-CSRF-Token"]
    r = client.post(f"/api/alerts/{alert}/review", json=body)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    r = client.post(
        f"/api/alerts/{alert}/review", json=body, headers={"X-CSRF-Token": token[:-1] + "x"}
    )
    assert r.status_code == 403
    # Another session's token does not work for this one.
    other = TestClient(env.app)
    other_token = login(other)
    r = client.post(f"/api/alerts/{alert}/review", json=body, headers={"X-CSRF-Token": other_token})
    assert r.status_code == 403
    r = client.post(f"/api/alerts/{alert}/review", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"


def test_logout_ends_the_session_even_for_a_copied_cookie(client: TestClient, env: Env) -> None:
    login(client)
    cookie = client.cookies.get("vigil_session")
    assert client.post("/api/logout", headers={"X-CSRF-Token": ""}).status_code == 403
    r = client.post("/api/logout")
    assert r.status_code == 204
    assert client.get("/api/me").status_code == 401
    replay = TestClient(env.app, cookies={"vigil_session": cookie})  # type: ignore[dict-item]
    assert replay.get("/api/me").status_code == 401


def test_tampered_or_foreign_cookies_are_refused(client: TestClient) -> None:
    login(client)
    cookie = client.cookies.get("vigil_session") or ""
    client.cookies.set("vigil_session", cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    r = client.get("/api/events")
    assert r.status_code == 401 and "log in" in r.json()["detail"]
    client.cookies.set("vigil_session", "garbage")
    assert client.get("/api/cameras").status_code == 401


def test_disabled_user_loses_access_at_once(client: TestClient, env: Env) -> None:
    uid = env.add_user("vera", Role.VIEWER)
    vera = TestClient(env.app)
    login(vera, "vera", PASSWORD)
    assert vera.get("/api/events").status_code == 200
    login(client)
    assert client.patch(f"/api/users/{uid}", json={"disabled": True}).status_code == 200
    assert vera.get("/api/events").status_code == 401
    r = vera.post("/api/login", json={"username": "vera", "password": PASSWORD})
    assert r.status_code == 401


def test_change_own_password(client: TestClient, env: Env) -> None:
    env.add_user("olga", Role.OPERATOR)
    login(client, "olga", PASSWORD)
    r = client.post("/api/me/password", json={"current": "wrong", "new": "another long one"})
    assert r.status_code == 403
    r = client.post("/api/me/password", json={"current": PASSWORD, "new": "short"})
    assert r.status_code == 422 and "field 'new'" in r.json()["detail"]
    r = client.post("/api/me/password", json={"current": PASSWORD, "new": "another long one"})
    assert r.status_code == 204
    assert client.get("/api/me").status_code == 401  # sessions end with the old password
    login(client, "olga", "another long one")


def test_first_start_creates_admin_with_a_random_password_shown_once(tmp_path: Path) -> None:
    said: list[str] = []
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    app = create_app(
        make_settings(tmp_path, admin_password=None, announce=said.append), store=store
    )
    assert len(said) == 1 and "admin" in said[0]
    password = said[0].split("password ")[1].split()[0]
    with TestClient(app) as c:
        login(c, "admin", password)
        cookie = c.cookies.get("vigil_session")
    key = tmp_path / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # A restart: no new admin, no password shown, the same key, so sessions survive.
    again = create_app(
        make_settings(tmp_path, admin_password=None, announce=said.append), store=store
    )
    assert [line for line in said if not line.startswith("audit anchor\t")] == said[:1]
    with TestClient(again, cookies={"vigil_session": cookie}) as c:  # type: ignore[dict-item]
        assert c.get("/api/me").json()["user"]["username"] == "admin"
    store.close()


def test_login_page_is_public_and_pages_redirect_to_it(client: TestClient) -> None:
    r = client.get("/login?next=/events")
    assert r.status_code == 200 and 'action="/api/login"' in r.text
    assert 'value="/events"' in r.text
    assert "Content-Security-Policy" in r.headers and r.headers["X-Frame-Options"] == "DENY"
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/"
    login(client)
    r = client.get("/")
    assert r.status_code == 200 and "admin" in r.text
