"""An app with stored events, tracks (with snapshot files) and alerts on two cameras, and
helpers to log in as users of each role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from vigil.api import Settings, create_app
from vigil.config import VigilConfig
from vigil.domain import Alert, Box, Event, EventType, Role, Track, TrackState
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.users import Users

ADMIN_PASSWORD = "admin-password-for-tests"
PASSWORD = "a long test password"
FAST_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
T0 = 1_700_000_000.0
TEST_PURPOSE = "test case 1"

CONFIG = {
    "cameras": [
        {
            "id": "lobby",
            "name": "Lobby",
            "source": "rtsp://user:secret@10.0.0.5/lobby",
            "lat": 52.0,
            "lon": 4.37,
            "zones": [
                {
                    "name": "table",
                    "polygon": [[0.4, 0.7], [0.8, 0.7], [0.8, 1.0]],
                    "loiter_seconds": 8,
                }
            ],
        },
        {
            "id": "car-park",
            "source": "car.mp4",
            "lines": [{"name": "middle", "a": [0, 0.5], "b": [1, 0.5]}],
        },
    ],
    "rules": [{"name": "table entry", "camera": "lobby", "event": "zone_enter", "zone": "table"}],
}


@dataclass
class Env:
    app: FastAPI
    store: Store
    data_dir: Path
    ids: dict[str, Any]

    @property
    def users(self) -> Users:
        users: Users = self.app.state.vigil.users
        return users

    def add_user(self, name: str, role: Role, cameras: list[str] | None = None) -> int:
        return self.users.create(name, PASSWORD, role, cameras).id


def _jpeg(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))
    assert ok
    path.write_bytes(buf.tobytes())
    return path.as_posix()


def _fill(store: Store, data_dir: Path) -> dict[str, Any]:
    ids: dict[str, Any] = {"events": {}, "tracks": {}, "alerts": {}}
    alerts = Alerts(store)
    for cam in ("lobby", "car-park"):
        label = "person" if cam == "lobby" else "car"
        rel = f"snapshots/{cam}/t1.jpg"
        _jpeg(data_dir / rel)
        track = Track(1, label, Box(1, 2, 3, 4), 0.9, TrackState.REMOVED, 10.0, 20.0)
        events = [
            Event(EventType.ZONE_ENTER, cam, 11.0, 1, label, attributes={"zone": "table"}),
            Event(
                EventType.LINE_CROSS,
                cam,
                12.0,
                1,
                label,
                attributes={"line": "middle", "direction": "in"},
            ),
            Event(EventType.OBJECT, cam, 20.0, 1, label, Box(1, 2, 3, 4), 0.9, 10.0, 20.0),
        ]
        shot = f"snapshots/{cam}/e1.jpg"
        _jpeg(data_dir / shot)
        rows = store.save_results(cam, T0, [(track, rel)], events, [shot, None, rel])
        ids["events"][cam] = [r.id for r in rows]
        with store.session() as s:
            from sqlalchemy import select

            from vigil.store.tables import TrackRow

            ids["tracks"][cam] = s.scalars(
                select(TrackRow.id).where(TrackRow.camera_id == cam)
            ).one()
        alert = alerts.create(
            Alert("table entry", cam, EventType.ZONE_ENTER, T0 + 11, label, rows[0].id, shot)
        )
        ids["alerts"][cam] = alert.id
    return ids


def make_settings(data_dir: Path, **kw: Any) -> Settings:
    kw.setdefault("admin_password", ADMIN_PASSWORD)
    kw.setdefault("login_failure_delay", 0.05)
    kw.setdefault("password_hasher", FAST_HASH)
    return Settings(config=VigilConfig.model_validate(CONFIG), data_dir=data_dir, **kw)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    app = create_app(make_settings(tmp_path), store=store)
    ids = _fill(store, tmp_path)
    yield Env(app, store, tmp_path, ids)
    store.close()


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    with TestClient(env.app) as c:
        yield c


def login(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    """Log the client in; returns the CSRF token (also set as the client's default header)."""
    r = client.post("/api/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    # Searches need a stated purpose (it goes into the audit log); tests state this one.
    # tests/audit/test_purpose.py checks what happens without it.
    client.event_hooks["request"] = [*client.event_hooks["request"], _state_purpose]
    return token


def _state_purpose(request: httpx.Request) -> None:
    if "purpose" not in request.url.params:
        request.url = request.url.copy_merge_params({"purpose": TEST_PURPOSE})


def as_user(env: Env, name: str, role: Role, cameras: list[str] | None = None) -> TestClient:
    env.add_user(name, role, cameras)
    c = TestClient(env.app)
    login(c, name, PASSWORD)
    return c
