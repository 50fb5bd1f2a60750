"""POST /api/ingest: a clip streamed to disk, size-limited, checked to be a video by name and
content, analysed in the background (GET /api/ingest/{id}), audited with its purpose; a
refused upload leaves nothing on disk."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import CONFIG, Env, _fill, as_user, login, make_settings
from vigil.api import create_app
from vigil.config import VigilConfig
from vigil.domain import Role
from vigil.store.db import Store
from vigil.store.tables import AuditRow

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telemetry"
WALK = FIXTURES / "max-heromode_gpmf.mp4"  # 124 kB
KARMA = FIXTURES / "karma_4s.mp4"  # 83 kB
LIMIT = 100_000  # bytes: the walk is over it, karma under it
WALK_START = (33.12677, -117.3273436)  # its first GPS fix


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    settings = make_settings(tmp_path)
    settings.config = VigilConfig.model_validate({**CONFIG, "server": {"max_upload_bytes": LIMIT}})
    app = create_app(settings, store=store)
    ids = _fill(store, tmp_path)
    yield Env(app, store, tmp_path, ids)
    store.close()


def _leftovers(env: Env) -> list[Path]:
    folder = env.data_dir / "clips"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _wait_done(client: TestClient, clip_id: int, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/api/ingest/{clip_id}").json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def _audit(env: Env, action: str) -> list[AuditRow]:
    with env.store.session() as s:
        return list(s.scalars(select(AuditRow).where(AuditRow.action == action)))


def test_a_good_clip_is_stored_analysed_and_placed(env: Env) -> None:
    client = TestClient(env.app)
    login(client)
    unit = env.app.state.vigil.units.create("EAGLE-2", "drone")
    r = client.post(
        "/api/ingest",
        params={
            "filename": "drone.mp4",
            "purpose": "case 2026/15",
            "ground_alt": 0,
            "unit": "EAGLE-2",
        },
        content=KARMA.read_bytes(),
        headers={"Content-Type": "video/mp4"},
    )
    assert r.status_code == 202, r.text
    clip = r.json()
    assert clip["size"] == KARMA.stat().st_size and clip["status"] in ("queued", "running", "done")
    done = _wait_done(client, clip["id"])
    assert done["status"] == "done", done
    assert done["telemetry"] == "gpmf" and done["frames"] == 120
    path = done["path"]
    assert len(path) == 120  # a point a frame
    assert abs(path[0]["lat"] - 33.12537) < 1e-4 and abs(path[0]["lon"] + 117.33106) < 1e-4
    assert path[-1]["t"] > 3.5
    # Stored under the data directory by its id, the name as given kept apart.
    assert [p.name for p in _leftovers(env)] == [f"{clip['id']}.mp4"]
    rows = _audit(env, "clips.upload")
    assert len(rows) == 1 and rows[0].purpose == "case 2026/15"
    assert rows[0].details["sha256"] == done["sha256"] and rows[0].actor == "admin"
    assert _audit(env, "clips.read")
    # The unit's history holds the clip's GPS, a position a second.
    assert done["unit_id"] == unit.id
    positions = client.get(f"/api/units/{unit.id}/positions").json()
    assert 3 <= len(positions) <= 5 and {p["source"] for p in positions} == {"clip"}
    listed = client.get("/api/ingest").json()["items"]
    assert [c["id"] for c in listed] == [clip["id"]]


def test_a_text_file_named_mp4_is_refused_and_nothing_is_kept(env: Env) -> None:
    client = TestClient(env.app)
    login(client)
    r = client.post(
        "/api/ingest",
        params={"filename": "notes.mp4"},
        content=b"these are my notes, not a video\n" * 100,
    )
    assert r.status_code == 422, r.text
    assert "notes.mp4" in r.json()["detail"] and "not a video" in r.json()["detail"]
    assert _leftovers(env) == []
    r = client.post("/api/ingest", params={"filename": "notes.txt"}, content=KARMA.read_bytes())
    assert r.status_code == 415 and "not named as a video" in r.json()["detail"]
    assert _leftovers(env) == []
    r = client.post("/api/ingest", params={"filename": "empty.mp4"}, content=b"")
    assert r.status_code == 422 and _leftovers(env) == []
    refused = _audit(env, "clips.upload")
    assert [row.details["outcome"] for row in refused] == ["422", "415", "422"]


def test_an_oversized_clip_is_refused_and_nothing_is_kept(env: Env) -> None:
    client = TestClient(env.app)
    login(client)
    # Declared too large: refused before anything is read.
    r = client.post("/api/ingest", params={"filename": "walk.mp4"}, content=WALK.read_bytes())
    assert r.status_code == 413 and "server.max_upload_bytes" in r.json()["detail"]
    assert _leftovers(env) == []

    def chunks() -> Iterator[bytes]:  # no Content-Length: cut off while it streams
        data = WALK.read_bytes()
        for i in range(0, len(data), 16_384):
            yield data[i : i + 16_384]

    r = client.post("/api/ingest", params={"filename": "walk.mp4"}, content=chunks())
    assert r.status_code == 413, r.text
    assert _leftovers(env) == []


def test_an_upload_needs_an_operator_and_a_purpose(env: Env) -> None:
    anonymous = TestClient(env.app)
    r = anonymous.post("/api/ingest", params={"filename": "a.mp4", "purpose": "x case"},
                       content=KARMA.read_bytes())  # fmt: skip
    assert r.status_code == 401
    viewer = as_user(env, "vera", Role.VIEWER)
    r = viewer.post("/api/ingest", params={"filename": "a.mp4"}, content=KARMA.read_bytes())
    assert r.status_code == 403
    admin = TestClient(env.app)
    login(admin)
    admin.event_hooks["request"] = []  # no purpose stated
    r = admin.post("/api/ingest", params={"filename": "a.mp4"}, content=KARMA.read_bytes())
    assert r.status_code == 422 and "purpose" in r.text
    assert _leftovers(env) == []
    assert [row.details["outcome"] for row in _audit(env, "clips.upload")] == ["401", "403", "422"]
