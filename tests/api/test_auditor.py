"""The auditor role: reads the audit log and transparency reports, sees no camera, picture,
event, track, snapshot or alert (403, the WebSocket 4403); operational roles cannot read the
audit log; admins can do both. Reading the audit log is audited too."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import PASSWORD, Env, as_user, login
from tests.api.test_routes import fill, http_routes
from vigil.domain import Role
from vigil.store.tables import AuditRow

AUDIT_ROUTES = ("/api/audit", "/api/audit/verify", "/api/reports/transparency")
# What an auditor may use besides the audit routes: its own session, and nothing with data.
AUDITOR_ALLOWED = {
    ("GET", "/api/me"),
    ("POST", "/api/me/password"),
    ("POST", "/api/login"),
    ("POST", "/api/logout"),
    ("GET", "/api/health"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/api/vocabulary"),  # the names of event types, statuses and roles: no data
    ("GET", "/healthz"),
    ("GET", "/api/keys"),  # public: the key to verify an export's signature with
    ("GET", "/login"),
    ("GET", "/"),  # a redirect to /audit
    ("GET", "/search"),  # a redirect to /audit
    ("GET", "/plates"),  # a redirect to /audit
    ("GET", "/watchlists"),  # a redirect to /audit
    ("GET", "/playback"),  # a redirect to /audit
    ("GET", "/audit"),
    *(("GET", p) for p in AUDIT_ROUTES),
}


def _operational_paths(env: Env) -> list[str]:
    ev = env.ids["events"]["lobby"][0]
    tr, al = env.ids["tracks"]["lobby"], env.ids["alerts"]["lobby"]
    return [
        "/api/cameras",
        "/api/cameras/lobby",
        "/api/cameras/lobby/live.jpg",
        "/api/cameras/lobby/live.json",
        "/api/cameras/lobby/mjpeg",
        "/api/events",
        f"/api/events/{ev}",
        f"/api/events/{ev}/snapshot.jpg",
        "/api/tracks",
        f"/api/tracks/{tr}",
        f"/api/snapshots/{tr}.jpg",
        "/api/alerts",
        f"/api/alerts/{al}",
        f"/api/alerts/{al}/snapshot.jpg",
    ]


def test_an_auditor_sees_no_camera_picture_event_or_alert(env: Env) -> None:
    auditor = as_user(env, "audrey", Role.AUDITOR)
    for path in _operational_paths(env):
        r = auditor.get(path)
        assert r.status_code == 403, (path, r.status_code)
        assert "auditor role cannot see" in r.json()["detail"], path
        assert r.headers["content-type"].startswith("application/json"), path
    al = env.ids["alerts"]["lobby"]
    r = auditor.post(f"/api/alerts/{al}/review", json={"action": "acknowledge"})
    assert r.status_code == 403
    assert auditor.get("/api/users").status_code == 403
    assert auditor.get("/metrics").status_code == 403
    health = auditor.get("/api/health").json()
    assert health["cameras"] == {} and health["cameras_total"] == 0
    perms = auditor.get("/api/me").json()["permissions"]
    assert perms == {
        "review_alerts": False,
        "manage_users": False,
        "metrics": False,
        "operations": False,
        "read_audit": True,
    }


def test_every_route_but_the_allowed_ones_refuses_an_auditor(env: Env) -> None:
    auditor = as_user(env, "audrey", Role.AUDITOR)
    walked = 0
    for method, path in http_routes(env):
        if (method, path) in AUDITOR_ALLOWED or path.startswith("/static"):
            continue
        kwargs: dict[str, Any] = {"follow_redirects": False}
        if method in ("POST", "PATCH", "PUT"):
            kwargs["json"] = {}
        r = auditor.request(method, fill(path), **kwargs)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        walked += 1
    assert walked >= 15


def test_the_websocket_closes_4403_for_an_auditor(env: Env) -> None:
    auditor = as_user(env, "audrey", Role.AUDITOR)
    with auditor.websocket_connect("/api/ws") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 4403


def test_pages_send_an_auditor_to_the_audit_log(env: Env) -> None:
    auditor = as_user(env, "audrey", Role.AUDITOR)
    for path in ("/", "/search"):
        r = auditor.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/audit", path
    page = auditor.get("/audit")
    assert page.status_code == 200 and "/static/js/audit.js" in page.text
    assert 'href="/audit"' in page.text and 'href="/search"' not in page.text
    assert "live.js" not in page.text and "mjpeg" not in page.text
    viewer = as_user(env, "vic", Role.VIEWER)
    denied = viewer.get("/audit")
    assert denied.status_code == 403 and "admins and auditors" in denied.text
    assert 'href="/audit"' not in viewer.get("/").text


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.SUPERVISOR])
def test_operational_roles_cannot_read_the_audit_log(env: Env, role: Role) -> None:
    user = as_user(env, f"user-{role}", role)
    for path in AUDIT_ROUTES:
        r = user.get(path)
        assert r.status_code == 403, (role, path)
        assert "admin or auditor" in r.json()["detail"]
    assert user.get("/api/events").status_code == 200
    assert user.get("/api/me").json()["permissions"]["read_audit"] is False


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_admins_and_auditors_read_the_log_the_chain_and_the_report(env: Env, role: Role) -> None:
    if role is Role.ADMIN:
        client = TestClient(env.app)
        login(client)
        name = "admin"
    else:
        client = as_user(env, "audrey", Role.AUDITOR)
        name = "audrey"
    client.get("/api/me")
    for path in AUDIT_ROUTES:
        assert client.get(path).status_code == 200, path
    chain = client.get("/api/audit/verify").json()
    assert chain["ok"] is True and chain["problem"] is None and chain["broken_at"] is None
    assert chain["rows"] >= 3 and len(chain["head_hash"]) == 64
    page = client.get("/api/audit", params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    ids = [i["id"] for i in page["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    older = client.get("/api/audit", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert all(i["id"] < ids[-1] for i in older["items"])
    reads = client.get("/api/audit", params={"actor": name, "action": "audit."}).json()["items"]
    assert reads and {i["action"] for i in reads} <= {"audit.read", "audit.verify"}
    assert reads[0]["outcome"] == "ok" and reads[0]["actor"] == name
    report = client.get("/api/reports/transparency").json()
    assert report["audit"]["ok"] is True
    if role is Role.ADMIN:  # the admin still sees everything operational
        assert client.get("/api/events").status_code == 200
        assert client.get("/api/cameras").status_code == 200


def test_audit_filters_and_limits(env: Env) -> None:
    auditor = as_user(env, "audrey", Role.AUDITOR)
    assert auditor.get("/api/audit", params={"limit": 501}).status_code == 422
    assert auditor.get("/api/audit", params={"cursor": "abc"}).status_code == 422
    assert auditor.get("/api/audit", params={"limit": 500}).status_code == 200
    logins = auditor.get("/api/audit", params={"action": "auth."}).json()["items"]
    assert logins and all(i["action"].startswith("auth.") for i in logins)
    # No literal LIKE wildcards: "_" and "%" match only themselves.
    assert auditor.get("/api/audit", params={"action": "%"}).json()["items"] == []
    future = auditor.get("/api/audit", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert future["items"] == [] and future["next_cursor"] is None
    past = auditor.get("/api/audit", params={"until": "2000-01-01T00:00:00Z"}).json()
    assert past["items"] == []


def test_a_changed_row_shows_as_broken_at_that_row(env: Env) -> None:
    auditor = as_user(env, "audrey", Role.AUDITOR)
    auditor.get("/api/audit")
    with env.store.session() as s, s.begin():
        first = s.scalars(select(AuditRow.id).order_by(AuditRow.id).limit(1)).one()
        s.execute(update(AuditRow).where(AuditRow.id == first).values(actor="someone else"))
    chain = auditor.get("/api/audit/verify").json()
    assert chain["ok"] is False and chain["broken_at"] == first
    assert f"audit row {first} was modified" in chain["problem"]


def test_admins_create_auditors_supervisors_cannot(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    body = {"username": "aud2", "password": PASSWORD, "role": "auditor"}
    r = admin.post("/api/users", json=body)
    assert r.status_code == 201 and r.json()["role"] == "auditor"
    boss = as_user(env, "sue", Role.SUPERVISOR)
    r = boss.post("/api/users", json={**body, "username": "aud3"})
    assert r.status_code == 403 and "only an admin" in r.json()["detail"]
    viewer_id = env.add_user("vic", Role.VIEWER)
    r = boss.patch(f"/api/users/{viewer_id}", json={"role": "auditor"})
    assert r.status_code == 403
    users = admin.get("/api/users").json()
    auditor_id = next(u["id"] for u in users if u["username"] == "aud2")
    assert boss.patch(f"/api/users/{auditor_id}", json={"disabled": True}).status_code == 403
    aud = TestClient(env.app)
    r = aud.post("/api/login", json={"username": "aud2", "password": PASSWORD})
    assert r.status_code == 200
    assert aud.get("/api/audit").status_code == 200
