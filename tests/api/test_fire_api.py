"""GET /api/fire: the recent fire and smoke bearings of the cameras a user sees and the fixes
they make (only fixes whose every camera the user sees), audited; bad parameters are 422s.
Events are stored and raised by the app's own AlertService (its locator), as a pipeline does."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import Env, as_user, login
from vigil.api.deps import Principal
from vigil.api.ws import _visible
from vigil.domain import Box, Event, EventType, Role
from vigil.geo import haversine_m
from vigil.geo.earth import LocalFrame
from vigil.rules.fire import without_unseen_fix
from vigil.store.tables import AuditRow

FIRE = (52.05, 4.40)
# Where each of the app's two cameras stood when it saw the fire: (bearing from it, km).
SEEN_FROM = {"lobby": (200.0, 9.0), "car-park": (290.0, 12.0)}


def _from(camera: str) -> tuple[float, float]:
    bearing, km = SEEN_FROM[camera]
    b = math.radians(bearing)
    lat, lon, _ = LocalFrame(*FIRE, 0.0).to_geodetic(
        np.array([math.sin(b), math.cos(b), 0.0]) * km * 1000
    )
    return (lat, lon)


def _sighting(camera: str, at: float, **extra: float) -> Event:
    lat, lon = _from(camera)
    east, north, _ = LocalFrame(lat, lon, 0.0).to_enu(*FIRE, 0.0)
    attrs = {
        "bearing_deg": math.degrees(math.atan2(east, north)) % 360.0,
        "bearing_sigma_deg": 0.8,
        "from_lat": lat,
        "from_lon": lon,
        **extra,
    }
    return Event(EventType.FIRE, camera, at, 1, "fire", Box(10, 10, 5, 9), 0.8, attributes=attrs)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _store(env: Env, events: list[Event], ago_s: float) -> list[int]:
    """Events stored as seen `ago_s` seconds ago (their media time from there), raised by
    the app's alert service; their ids."""
    origin = time.time() - ago_s
    state = env.app.state.vigil
    ids = []
    for ev in events:
        (row,) = env.store.save_results(ev.camera_id, origin, [], [ev])
        state.alerts.raise_for([(ev, row)])
        ids.append(row.id)
    return ids


@pytest.fixture
def fires(env: Env) -> list[int]:
    """An old sighting (an hour ago) and the two cameras' recent ones (a drone's with its
    ground point), 40 s apart."""
    old = _store(env, [_sighting("lobby", 0.0)], 3600.0)
    recent = [_sighting("lobby", 0.0), _sighting("car-park", 40.0, ground_lat=52.0, ground_lon=4.4)]
    return old + _store(env, recent, 100.0)


def test_bearings_and_the_fix_of_the_window(env: Env, client: TestClient, fires: list[int]) -> None:
    login(client)
    got = client.get("/api/fire").json()
    old, lobby, park = fires
    assert [b["event_id"] for b in got["bearings"]] == [park, lobby]  # newest first; not old
    first = got["bearings"][1]
    assert set(first) == {
        "event_id", "camera", "label", "time", "from_lat", "from_lon", "bearing_deg",
        "bearing_sigma_deg",
    }  # fmt: skip
    assert (first["camera"], first["label"]) == ("lobby", "fire")
    assert got["bearings"][0]["ground_lat"] == 52.0 and got["bearings"][0]["ground_lon"] == 4.4
    (fix,) = got["fixes"]
    assert fix["cameras"] == ["car-park", "lobby"] and sorted(fix["event_ids"]) == [lobby, park]
    assert haversine_m((fix["lat"], fix["lon"]), FIRE) < 2.0
    assert fix["label"] == "fire" and fix["time"] == got["bearings"][0]["time"]
    assert fix["ranges_m"] == [pytest.approx(12_000, rel=1e-3), pytest.approx(9_000, rel=1e-3)]
    # The fix is the one the locator put into the alert.
    alerts = client.get("/api/alerts", params={"rule": "fire watch"}).json()["items"]
    stored = next(a for a in alerts if a["event_id"] == park)["attributes"]["fix"]
    assert {k: stored[k] for k in fix if k != "time"} == {k: fix[k] for k in fix if k != "time"}
    assert _when(stored["time"]) == _when(fix["time"])
    # A longer look back finds the old sighting too (it crosses nothing: no other fix).
    longer = client.get("/api/fire", params={"since_s": 7200}).json()
    assert [b["event_id"] for b in longer["bearings"]] == [park, lobby, old]
    assert len(longer["fixes"]) == 1


def test_a_user_sees_only_their_cameras_bearings_and_no_fix_made_with_others(
    env: Env, fires: list[int]
) -> None:
    lobby_only = as_user(env, "lou", Role.VIEWER, ["lobby"])
    got = lobby_only.get("/api/fire").json()
    assert [b["camera"] for b in got["bearings"]] == ["lobby"] and got["fixes"] == []
    # Nor through the alerts: a fire alert of their camera keeps its bearing, not the fix.
    alerts = lobby_only.get("/api/alerts", params={"rule": "fire watch"}).json()["items"]
    assert alerts and all(a["camera"] == "lobby" for a in alerts)
    assert all("fix" not in a["attributes"] and "bearing_deg" in a["attributes"] for a in alerts)
    for a in alerts:
        one = lobby_only.get(f"/api/alerts/{a['id']}").json()
        assert "fix" not in one["attributes"]
    assert any("fix" in a["attributes"] for a in as_user(env, "all", Role.VIEWER).get(
        "/api/alerts", params={"rule": "fire watch"}).json()["items"])  # fmt: skip
    auditor = as_user(env, "audrey", Role.AUDITOR)
    refused = auditor.get("/api/fire")
    assert refused.status_code == 403 and "cannot see cameras" in refused.json()["detail"]


def test_reads_are_audited(env: Env, client: TestClient, fires: list[int]) -> None:
    login(client)
    assert client.get("/api/fire", params={"since_s": 900}).status_code == 200
    with env.store.session() as s:
        row = s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).one()
    assert (row.actor, row.action, row.object_type) == ("admin", "fire.read", "event")
    assert row.details["query"] == {"since_s": "900"} and row.details["outcome"] == "ok"


@pytest.mark.parametrize("since_s", ["0", "-5", "soon", str(8 * 24 * 3600), "nan"])
def test_a_bad_look_back_is_a_422_naming_it(env: Env, client: TestClient, since_s: str) -> None:
    login(client)
    r = client.get("/api/fire", params={"since_s": since_s})
    assert r.status_code == 422
    assert "since_s" in r.json()["detail"]


def _principal(cameras: frozenset[str] | None) -> Principal:
    return Principal(1, "u", Role.VIEWER, cameras, "csrf", "token")


def test_a_live_fix_reaches_only_who_sees_all_its_cameras() -> None:
    fix: dict[str, Any] = {"topic": "fire_fix", "cameras": ["lobby", "car-park"], "lat": 1.0}
    assert _visible(_principal(None), fix)
    assert _visible(_principal(frozenset({"lobby", "car-park", "x"})), fix)
    assert not _visible(_principal(frozenset({"lobby"})), fix)
    # A fire alert on the live socket: its fix (made with car-park) goes only to who sees both.
    alert = {"topic": "alert", "camera": "lobby", "attributes": {"bearing_deg": 1.0, "fix": fix}}
    lobby = _principal(frozenset({"lobby"}))
    assert _visible(lobby, alert)
    assert without_unseen_fix(alert, lobby.sees)["attributes"] == {"bearing_deg": 1.0}
    assert without_unseen_fix(alert, _principal(None).sees) == alert
