"""Roles decide what a user may do; per-camera lists decide what they may see."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Env, as_user, login
from vigil.domain import Role


def test_viewer_reads_but_cannot_review_alerts_or_manage_users(env: Env) -> None:
    viewer = as_user(env, "vic", Role.VIEWER)
    alert = env.ids["alerts"]["lobby"]
    assert viewer.get("/api/alerts").status_code == 200
    assert viewer.get("/api/events").status_code == 200
    r = viewer.post(f"/api/alerts/{alert}/review", json={"action": "acknowledge"})
    assert r.status_code == 403 and "operator role" in r.json()["detail"]
    assert viewer.get("/api/users").status_code == 403
    new = {"username": "mallory", "password": "a long password", "role": "admin"}
    assert viewer.post("/api/users", json=new).status_code == 403
    assert viewer.patch("/api/users/1", json={"role": "viewer"}).status_code == 403
    assert viewer.get("/metrics").status_code == 403
    perms = viewer.get("/api/me").json()["permissions"]
    assert perms == {
        "review_alerts": False,
        "manage_users": False,
        "metrics": False,
        "operations": True,
        "read_audit": False,
    }
    assert env.store.count_events() == 6  # nothing changed
    assert viewer.get(f"/api/alerts/{alert}").json()["status"] == "candidate"


def test_operator_reviews_alerts_and_the_review_records_who_when_why(env: Env) -> None:
    operator = as_user(env, "olga", Role.OPERATOR)
    alert = env.ids["alerts"]["lobby"]
    r = operator.post(f"/api/alerts/{alert}/review", json={"action": "dismiss"})
    assert r.status_code == 422 and "needs a reason" in r.json()["detail"]
    r = operator.post(
        f"/api/alerts/{alert}/review", json={"action": "dismiss", "reason": "staff member"}
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["reviewed_by"], body["reason"]) == (
        "dismissed",
        "olga",
        "staff member",
    )
    assert body["reviewed_at"] is not None
    again = operator.post(f"/api/alerts/{alert}/review", json={"action": "acknowledge"})
    assert again.status_code == 409 and "already dismissed by olga" in again.json()["detail"]
    assert (
        operator.post("/api/alerts/9999/review", json={"action": "acknowledge"}).status_code == 404
    )
    r = operator.post(f"/api/alerts/{alert}/review", json={"action": "approve"})
    assert r.status_code == 422 and "field 'action'" in r.json()["detail"]
    assert operator.get("/api/users").status_code == 403


def test_supervisor_manages_operators_and_viewers_only(env: Env) -> None:
    boss = as_user(env, "sue", Role.SUPERVISOR)
    r = boss.post(
        "/api/users", json={"username": "otto", "password": "a long password", "role": "operator"}
    )
    assert r.status_code == 201 and r.json()["role"] == "operator"
    otto = r.json()["id"]
    r = boss.post(
        "/api/users", json={"username": "eve", "password": "a long password", "role": "admin"}
    )
    assert r.status_code == 403 and "only an admin" in r.json()["detail"]
    assert boss.patch(f"/api/users/{otto}", json={"role": "supervisor"}).status_code == 403
    assert boss.patch(f"/api/users/{otto}", json={"cameras": ["lobby"]}).json()["cameras"] == [
        "lobby"
    ]
    admin_id = env.users.by_name("admin").id  # type: ignore[union-attr]
    assert boss.patch(f"/api/users/{admin_id}", json={"disabled": True}).status_code == 403
    names = {u["username"] for u in boss.get("/api/users").json()}
    assert {"admin", "sue", "otto"} <= names
    assert all("password" not in k for u in boss.get("/api/users").json() for k in u)


def test_admin_manages_everyone_but_cannot_remove_the_last_admin(
    client: TestClient, env: Env
) -> None:
    login(client)
    r = client.post(
        "/api/users",
        json={"username": "ann", "password": "a long password", "role": "admin", "cameras": None},
    )
    assert r.status_code == 201
    dup = client.post("/api/users", json={"username": "ann", "password": "a long password"})
    assert dup.status_code == 409 and "taken" in dup.json()["detail"]
    bad = client.post(
        "/api/users",
        json={"username": "zed", "password": "a long password", "cameras": ["nowhere"]},
    )
    assert bad.status_code == 404 and "unknown camera(s) nowhere" in bad.json()["detail"]
    weak = client.post("/api/users", json={"username": "zed", "password": "short"})
    assert weak.status_code == 422 and "field 'password'" in weak.json()["detail"]
    ann = r.json()["id"]
    assert client.patch(f"/api/users/{ann}", json={"role": "viewer"}).json()["role"] == "viewer"
    me = client.get("/api/me").json()["user"]["id"]
    r = client.patch(f"/api/users/{me}", json={"role": "viewer"})
    assert r.status_code == 409 and "last active admin" in r.json()["detail"]
    assert client.patch("/api/users/4242", json={"disabled": True}).status_code == 404


def test_per_camera_visibility_hides_other_cameras_everywhere(env: Env) -> None:
    lobby_only = as_user(env, "liz", Role.OPERATOR, ["lobby"])
    cams = lobby_only.get("/api/cameras").json()
    assert [c["id"] for c in cams] == ["lobby"]
    for path in ("/api/events", "/api/tracks", "/api/alerts"):
        items = lobby_only.get(path).json()["items"]
        assert items and {i["camera"] for i in items} == {"lobby"}, path
    hidden_event = env.ids["events"]["car-park"][0]
    hidden_track = env.ids["tracks"]["car-park"]
    hidden_alert = env.ids["alerts"]["car-park"]
    for path in (
        "/api/cameras/car-park",
        "/api/cameras/car-park/live.jpg",
        "/api/cameras/car-park/mjpeg",
        f"/api/events/{hidden_event}",
        f"/api/events/{hidden_event}/snapshot.jpg",
        f"/api/tracks/{hidden_track}",
        f"/api/snapshots/{hidden_track}.jpg",
        f"/api/alerts/{hidden_alert}",
        f"/api/alerts/{hidden_alert}/snapshot.jpg",
        "/api/events?camera=car-park",
        "/api/tracks?camera=car-park",
        "/api/alerts?camera=car-park",
    ):
        r = lobby_only.get(path)
        assert r.status_code == 404, path
        assert "no " in r.json()["detail"], path
    r = lobby_only.post(f"/api/alerts/{hidden_alert}/review", json={"action": "acknowledge"})
    assert r.status_code == 404
    assert lobby_only.get("/api/health").json()["cameras"] == {"lobby": False}
    # The same requests work for a user who sees every camera.
    everyone = as_user(env, "all", Role.VIEWER)
    assert everyone.get(f"/api/events/{hidden_event}").status_code == 200
    assert len(everyone.get("/api/cameras").json()) == 2


def test_a_camera_limited_manager_cannot_take_over_a_user_who_sees_more(env: Env) -> None:
    """Before: a supervisor limited to `lobby` could set the password and role of a viewer who
    sees every camera (200), log in as them and read car-park events."""
    boss = as_user(env, "lobby-sue", Role.SUPERVISOR, ["lobby"])
    wide = env.add_user("wendy", Role.VIEWER)  # every camera
    both = env.add_user("bob", Role.VIEWER, ["lobby", "car-park"])
    narrow = env.add_user("nina", Role.VIEWER, ["lobby"])
    for target in (wide, both):
        for change in (
            {"password": "taken over by sue"},
            {"role": "operator"},
            {"disabled": True},
            {"unlock": True},
            {"cameras": ["lobby"]},
        ):
            r = boss.patch(f"/api/users/{target}", json=change)
            assert r.status_code == 403, (target, change, r.text)
            assert "sees cameras you do not" in r.json()["detail"]
    assert (
        TestClient(env.app)
        .post("/api/login", json={"username": "wendy", "password": "taken over by sue"})
        .status_code
        == 401
    )
    # Within the manager's own cameras, managing works as before.
    r = boss.patch(f"/api/users/{narrow}", json={"password": "a new long password"})
    assert r.status_code == 200
    assert boss.patch(f"/api/users/{narrow}", json={"cameras": ["car-park"]}).status_code == 403
    # Nor does it see them: their camera lists would name cameras it may not see.
    listed = {u["username"] for u in boss.get("/api/users").json()}
    assert listed == {"lobby-sue", "nina"}
    assert boss.get(f"/api/users/{wide}").status_code == 404
    assert boss.get(f"/api/users/{narrow}").status_code == 200
