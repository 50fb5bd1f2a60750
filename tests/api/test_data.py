"""Events, tracks, alerts and snapshots over REST; bad requests get a clear 4xx."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import T0, Env, login


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    login(client)
    return client


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC).isoformat()


def test_events_filters_and_shape(admin: TestClient) -> None:
    page = admin.get("/api/events").json()
    assert len(page["items"]) == 6 and page["next_cursor"] is None
    times = [e["time"] for e in page["items"]]
    assert times == sorted(times, reverse=True)
    zone = admin.get("/api/events", params={"zone": "table", "camera": "lobby"}).json()["items"]
    assert [(e["type"], e["zone"], e["camera"]) for e in zone] == [("zone_enter", "table", "lobby")]
    picture, _, follows = zone[0]["snapshot_url"].partition("?")
    assert picture == f"/api/events/{zone[0]['id']}/snapshot.jpg" and "search=" in follows
    crossing = admin.get("/api/events", params={"type": "line_cross", "label": "car"}).json()
    assert [(e["line"], e["direction"]) for e in crossing["items"]] == [("middle", "in")]
    window = admin.get("/api/events", params={"since": iso(11.5), "until": iso(15)}).json()
    assert {e["type"] for e in window["items"]} == {"line_cross"}
    unix = admin.get("/api/events", params={"since": T0 + 19, "until": T0 + 21}).json()
    assert {e["type"] for e in unix["items"]} == {"object"}
    event = admin.get(f"/api/events/{zone[0]['id']}").json()
    assert event == {**zone[0], "snapshot_url": picture}


def test_cursor_paging(admin: TestClient) -> None:
    first = admin.get("/api/events", params={"limit": 4}).json()
    assert len(first["items"]) == 4 and first["next_cursor"]
    second = admin.get("/api/events", params={"limit": 4, "cursor": first["next_cursor"]}).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert len(set(ids)) == 6


def test_tracks_and_snapshots(admin: TestClient, env: Env) -> None:
    tracks = admin.get("/api/tracks").json()["items"]
    assert {t["camera"] for t in tracks} == {"lobby", "car-park"}
    lobby = next(t for t in tracks if t["camera"] == "lobby")
    assert (lobby["label"], lobby["duration"]) == ("person", 10.0)
    r = admin.get(lobby["snapshot_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content[:2] == b"\xff\xd8"
    in_zone = admin.get("/api/tracks", params={"zone": "table"}).json()["items"]
    assert len(in_zone) == 2
    event = env.ids["events"]["lobby"][0]
    assert admin.get(f"/api/events/{event}/snapshot.jpg").content[:2] == b"\xff\xd8"
    no_shot = env.ids["events"]["lobby"][1]  # the line crossing has no snapshot
    r = admin.get(f"/api/events/{no_shot}/snapshot.jpg")
    assert r.status_code == 404 and r.json()["detail"] == f"no snapshot for event {no_shot}"
    (env.data_dir / "snapshots/lobby/e1.jpg").unlink()
    r = admin.get(f"/api/events/{event}/snapshot.jpg")
    assert r.status_code == 404 and "the file is gone" in r.json()["detail"]


def test_alerts_list_and_filter(admin: TestClient, env: Env) -> None:
    alerts = admin.get("/api/alerts").json()["items"]
    assert len(alerts) == 2 and {a["status"] for a in alerts} == {"candidate"}
    lobby = env.ids["alerts"]["lobby"]
    admin.post(f"/api/alerts/{lobby}/review", json={"action": "acknowledge"})
    candidates = admin.get("/api/alerts", params={"status": "candidate"}).json()["items"]
    assert [a["camera"] for a in candidates] == ["car-park"]
    by_rule = admin.get("/api/alerts", params={"rule": "table entry", "camera": "lobby"}).json()
    assert [a["status"] for a in by_rule["items"]] == ["acknowledged"]
    shot = admin.get(f"/api/alerts/{lobby}/snapshot.jpg")
    assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    ("path", "code", "detail"),
    [
        (
            "/api/events?limit=501",
            422,
            "query parameter 'limit': Input should be less than or equal to 500",
        ),
        ("/api/events?limit=100000", 422, "next_cursor"),
        ("/api/events?limit=0", 422, "query parameter 'limit'"),
        ("/api/events?limit=abc", 422, "query parameter 'limit': Input should be a valid integer"),
        ("/api/tracks?limit=1000", 422, "less than or equal to 500"),
        ("/api/alerts?limit=9999", 422, "less than or equal to 500"),
        ("/api/events?since=yesterday", 422, "query parameter 'since'"),
        ("/api/events?type=explosion", 422, "query parameter 'type'"),
        ("/api/alerts?status=maybe", 422, "query parameter 'status'"),
        ("/api/events?cursor=not-a-cursor", 422, "query parameter 'cursor': not valid; pass"),
        (
            "/api/events?since=2024-01-02T00:00:00Z&until=2024-01-01T00:00:00Z",
            422,
            "since is after until",
        ),
        ("/api/events?camera=nope", 404, "no camera 'nope'"),
        ("/api/cameras/nope", 404, "no camera 'nope'"),
        ("/api/cameras/nope/live.jpg", 404, "no camera 'nope'"),
        ("/api/events/999999", 404, "no event 999999"),
        ("/api/events/abc", 422, "path parameter 'event_id': Input should be a valid integer"),
        ("/api/tracks/999999", 404, "no track 999999"),
        ("/api/snapshots/999999.jpg", 404, "no track 999999"),
        ("/api/snapshots/x.jpg", 422, "path parameter 'track_row_id'"),
        ("/api/alerts/-1", 422, "path parameter 'alert_id'"),
        ("/api/events/" + "9" * 30, 422, "less than or equal to 2147483647"),
        ("/api/users/18446744073709551616", 422, "path parameter 'user_id'"),
        (
            "/api/events?cursor=" + "9" * 18 + "." + "9" * 12,
            200,  # a well-formed cursor is a position, however far out
            "",
        ),
        ("/api/events?since=0001-01-01T00:00:00%2B05:00", 200, ""),
        ("/api/events?until=9999-12-31T23:00:00-05:00", 200, ""),
        ("/api/events?since=1e400", 422, "query parameter 'since'"),
        ("/api/tracks?cursor=-" + "9" * 18 + ".0", 200, ""),
        ("/api/users/77", 404, "no user 77"),
        ("/api/cameras/lobby/mjpeg?fps=1000", 422, "query parameter 'fps'"),
    ],
)
def test_bad_requests_get_a_clear_4xx(admin: TestClient, path: str, code: int, detail: str) -> None:
    r = admin.get(path)
    assert r.status_code == code, r.text
    if code >= 400:
        assert detail in r.json()["detail"]


def test_bad_bodies_get_a_clear_4xx_never_a_500(admin: TestClient, env: Env) -> None:
    alert = env.ids["alerts"]["lobby"]
    for body in (None, [], "x", {"action": 3}, {"action": "dismiss", "reason": "x" * 3000}):
        r = admin.post(f"/api/alerts/{alert}/review", json=body)
        assert r.status_code == 422, (body, r.text)
        assert isinstance(r.json()["detail"], str) and r.json()["detail"]
    r = admin.post(
        f"/api/alerts/{alert}/review",
        content=b"\xff\xfe",
        headers={"content-type": "application/json"},
    )
    assert 400 <= r.status_code < 500
    r = admin.post("/api/users", json={"username": "x" * 100, "password": "long enough pass"})
    assert r.status_code == 422 and "field 'username'" in r.json()["detail"]
    r = admin.post("/api/users", json={"username": "bad name!", "password": "long enough pass"})
    assert r.status_code == 422 and "not allowed" in r.json()["detail"]
    r = admin.patch("/api/users/1", json={"role": "emperor"})
    assert r.status_code == 422 and "field 'role'" in r.json()["detail"]
    r = admin.patch("/api/users/1", json={"colour": "red"})
    assert r.status_code == 422 and "field 'colour'" in r.json()["detail"]
    # JSON may spell a lone UTF-16 surrogate; no database or log can hold one.
    for raw in (
        b'{"username": "eve\\ud800", "password": "long enough pass"}',
        b'{"username": "eve", "password": "long enough pass\\udfff"}',
    ):
        r = admin.post("/api/users", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422 and "lone surrogate" in r.json()["detail"], r.text
    r = admin.post(
        f"/api/alerts/{alert}/review",
        content=b'{"action": "dismiss", "reason": "\\ud83d"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and "lone surrogate" in r.json()["detail"]
    assert admin.post(  # a pair is one character, and fine
        f"/api/alerts/{alert}/review",
        content=b'{"action": "dismiss", "reason": "false alarm \\ud83d\\ude00"}',
        headers={"content-type": "application/json"},
    ).status_code in (200, 409)


def test_cameras_without_a_live_runner(admin: TestClient) -> None:
    cams = admin.get("/api/cameras").json()
    lobby = next(c for c in cams if c["id"] == "lobby")
    assert (lobby["lat"], lobby["lon"]) == (52.0, 4.37)
    assert lobby["zones"][0]["name"] == "table" and lobby["zones"][0]["loiter_seconds"] == 8
    assert lobby["health"]["online"] is False
    assert "does not run the camera pipelines" in lobby["health"]["error"]
    assert lobby["source"] == "rtsp://user:***@10.0.0.5/lobby"  # admins only, no password
    car = next(c for c in cams if c["id"] == "car-park")
    assert car["lines"][0]["name"] == "middle"
    r = admin.get("/api/cameras/lobby/live.jpg")
    assert r.status_code == 503 and "live" in r.json()["detail"]
    health = admin.get("/api/health").json()
    assert health["database"] is True and health["live"] is False
