"""The live side of the API: camera health, live pictures, MJPEG, metrics, the WebSocket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import PASSWORD, Env, login, make_settings
from tests.pipeline.test_live import FAST, car_camera, wait_for
from vigil.api import create_app
from vigil.bus import LocalBus
from vigil.config import VigilConfig
from vigil.domain import Role
from vigil.pipeline.directory import LocalDirectory
from vigil.pipeline.live import LiveRunner
from vigil.store.db import Store


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[TestClient, LiveRunner, Any]]:
    config = VigilConfig.model_validate(
        {"cameras": [car_camera(lat=52.0, lon=4.3), car_camera("other")]}
    )
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    bus = LocalBus()
    runner = LiveRunner(config, store, bus, tmp_path, settings=FAST)
    settings = make_settings(tmp_path)
    settings.config = config
    app = create_app(settings, store=store, bus=bus, cameras=LocalDirectory(runner))
    runner.start()
    try:
        with TestClient(app) as client:
            login(client)
            wait_for(lambda: runner.status()["car-park"].frames >= 3, 20, "frames from the camera")
            yield client, runner, app
    finally:
        runner.stop()
        store.close()


def test_cameras_show_health_and_live_pictures(live: tuple[TestClient, LiveRunner, Any]) -> None:
    client, _runner, _app = live
    cam = client.get("/api/cameras/car-park").json()
    assert cam["health"]["online"] is True and cam["health"]["error"] is None
    assert (cam["width"], cam["height"]) == (768, 432) and cam["lat"] == 52.0
    assert cam["health"]["last_frame_time"] is not None and cam["health"]["fps"] > 0
    for boxes in ("0", "1"):
        r = client.get("/api/cameras/car-park/live.jpg", params={"boxes": boxes})
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (432, 768, 3)
        assert r.headers["cache-control"] == "no-store"
    tracks = client.get("/api/cameras/car-park/live.json").json()
    assert (tracks["width"], tracks["height"]) == (768, 432) and "middle" in tracks["counts"]
    health = client.get("/api/health").json()
    assert health["live"] is True and health["cameras_total"] == 2


def test_mjpeg_streams_successive_jpegs(live: tuple[TestClient, LiveRunner, Any]) -> None:
    client, _runner, _app = live
    with client.stream("GET", "/api/cameras/car-park/mjpeg", params={"fps": 10}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("multipart/x-mixed-replace")
        buf = b""
        for chunk in r.iter_bytes():
            buf += chunk
            if buf.count(b"--vigilframe") >= 3:
                break
    parts = [p for p in buf.split(b"--vigilframe") if p.strip()]
    assert len(parts) >= 2
    body = parts[0].split(b"\r\n\r\n", 1)[1]
    assert body[:2] == b"\xff\xd8"


def test_metrics_need_a_supervisor_session_or_the_token(
    live: tuple[TestClient, LiveRunner, Any],
) -> None:
    client, _runner, app = live
    text = client.get("/metrics").text
    assert 'vigil_camera_online{camera="car-park"} 1.0' in text
    assert 'vigil_camera_frames_total{camera="car-park"}' in text
    anonymous = TestClient(app)
    assert anonymous.get("/metrics").status_code == 401
    app.state.vigil.metrics_token = "scrape-token-123"
    r = anonymous.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
    assert r.status_code == 200 and "vigil_camera_fps" in r.text
    r = anonymous.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_websocket_pushes_health_and_messages_of_visible_cameras_only(
    live: tuple[TestClient, LiveRunner, Any],
) -> None:
    client, _runner, app = live
    state = app.state.vigil
    state.users.create("liz", PASSWORD, Role.VIEWER, ["other"])
    liz = TestClient(app)
    login(liz, "liz", PASSWORD)
    with client.websocket_connect("/api/ws") as admin_ws, liz.websocket_connect("/api/ws") as ws:
        hello = ws.receive_json()
        assert hello["topic"] == "hello" and hello["user"]["username"] == "liz"
        assert [c["camera"] for c in hello["cameras"]] == ["other"]
        admin_hello = admin_ws.receive_json()
        assert {c["camera"] for c in admin_hello["cameras"]} == {"car-park", "other"}
        assert any(c["online"] for c in admin_hello["cameras"])
        state.bus.publish({"topic": "event", "camera": "car-park", "type": "line_cross", "id": 1})
        state.bus.publish({"topic": "alert", "camera": "other", "rule": "r", "id": 2})
        got = ws.receive_json()
        assert (got["topic"], got["camera"]) == ("alert", "other")  # car-park was filtered out
        first, second = admin_ws.receive_json(), admin_ws.receive_json()
        assert {(first["topic"], first["camera"]), (second["topic"], second["camera"])} == {
            ("event", "car-park"),
            ("alert", "other"),
        }


def test_websocket_refuses_other_sites_and_ends_with_the_session(env: Env) -> None:
    client = TestClient(env.app)
    login(client)
    with (
        client.websocket_connect("/api/ws", headers={"Origin": "https://evil.example"}) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 4403
    with client.websocket_connect("/api/ws", headers={"Origin": "http://testserver"}) as ws:
        assert ws.receive_json()["topic"] == "hello"
    import vigil.api.ws as hub

    hub_recheck, hub.RECHECK_S = hub.RECHECK_S, 0.2
    try:
        with client.websocket_connect("/api/ws") as ws:
            assert ws.receive_json()["topic"] == "hello"
            client.post("/api/logout")
            started = time.monotonic()
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4401 and time.monotonic() - started < 5
    finally:
        hub.RECHECK_S = hub_recheck


def test_mjpeg_stream_ends_when_the_session_does(
    live: tuple[TestClient, LiveRunner, Any],
) -> None:
    _client, _runner, app = live
    app.state.vigil.users.create("mo", PASSWORD, Role.VIEWER)
    mo = TestClient(app)
    login(mo, "mo", PASSWORD)
    other = TestClient(app)
    login(other, "mo", PASSWORD)
    frames = 0
    with mo.stream("GET", "/api/cameras/car-park/mjpeg", params={"fps": 10}) as r:
        assert r.status_code == 200
        revoked_at = None
        for chunk in r.iter_bytes():
            frames += chunk.count(b"--vigilframe")
            if revoked_at is None and frames >= 2:
                # The same user's other session logs out: this one goes on; then this one.
                assert other.post("/api/logout").status_code == 204
                assert mo.post("/api/logout").status_code == 204
                revoked_at = time.monotonic()
            assert revoked_at is None or time.monotonic() - revoked_at < 3, "still streaming"
    assert revoked_at is not None and time.monotonic() - revoked_at < 2


def test_metrics_show_a_camera_limited_user_only_its_cameras(
    live: tuple[TestClient, LiveRunner, Any],
) -> None:
    """Before: a supervisor limited to one camera read every camera's series."""
    _client, _runner, app = live
    app.state.vigil.users.create("sam", PASSWORD, Role.SUPERVISOR, ["other"])
    sam = TestClient(app)
    login(sam, "sam", PASSWORD)
    text = sam.get("/metrics").text
    assert 'camera="other"' in text and 'camera="car-park"' not in text
    assert "vigil_login_failures" in text  # series of no camera stay
    app.state.vigil.metrics_token = "scrape-token-456"
    scraper = TestClient(app).get("/metrics", headers={"Authorization": "Bearer scrape-token-456"})
    assert 'camera="car-park"' in scraper.text and 'camera="other"' in scraper.text
