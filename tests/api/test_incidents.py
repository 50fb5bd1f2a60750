"""Units, incidents and the field API: the loop from an alert to an officer and back, each
step on the timeline and in the audit log; least privilege for the field role; bad input."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import Env, as_user
from vigil.domain import Role
from vigil.store.tables import AuditRow, IncidentStepRow, PositionRow

LOBBY = (52.0, 4.37)  # the lobby camera's position in tests/api/conftest.py


def _unit(admin: TestClient, callsign: str, user: str | None, kind: str = "foot") -> int:
    r = admin.post("/api/units", json={"callsign": callsign, "kind": kind, "user": user})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _at(lat: float, lon: float, **kw: Any) -> dict[str, Any]:
    return {"positions": [{"lat": lat, "lon": lon, "accuracy_m": 8, **kw}]}


def _officer(env: Env, admin: TestClient, name: str, callsign: str, where: tuple[float, float]):
    phone = as_user(env, name, Role.FIELD)
    unit = _unit(admin, callsign, name)
    r = phone.post("/api/field/positions", json=_at(*where))
    assert r.status_code == 200, r.text
    return phone, unit


def _north(metres: float) -> tuple[float, float]:
    return LOBBY[0] + metres / 111_195, LOBBY[1]


def test_alert_to_officer_and_back_with_every_step_on_the_record(env: Env) -> None:
    admin = as_user(env, "sup", Role.ADMIN)
    operator = as_user(env, "op", Role.OPERATOR)
    a_phone, a_unit = _officer(env, admin, "anna", "A-1", _north(150))
    b_phone, b_unit = _officer(env, admin, "ben", "B-2", _north(1200))
    alert_id = env.ids["alerts"]["lobby"]
    # The alert is old (T0, 2023) in the fixture: make it recent for "near me".
    from vigil.store.tables import AlertRow

    with env.store.session() as s, s.begin():
        s.get(AlertRow, alert_id).time = datetime.now(UTC)

    a_sees = a_phone.get("/api/field").json()
    b_sees = b_phone.get("/api/field").json()
    assert alert_id in [x["id"] for x in a_sees["alerts"]]
    assert alert_id not in [x["id"] for x in b_sees["alerts"]]
    assert "snapshot_url" not in a_sees["alerts"][0] and "attributes" not in a_sees["alerts"][0]
    assert {u["callsign"] for u in a_sees["colleagues"]} == {"B-2"}

    r = operator.post("/api/incidents", json={"alert_id": alert_id, "type": "fight"})
    assert r.status_code == 201, r.text
    incident = r.json()
    assert (incident["lat"], incident["lon"]) == LOBBY and incident["camera"] == "lobby"
    hints = operator.get(f"/api/incidents/{incident['id']}/suggestions").json()
    assert [h["unit"]["callsign"] for h in hints] == ["A-1", "B-2"]
    assert 140 < hints[0]["distance_m"] < 160 and hints[0]["eta_s"] > 100

    r = operator.post(f"/api/incidents/{incident['id']}/dispatch", json={"unit_id": a_unit})
    assert r.status_code == 200 and r.json()["state"] == "dispatched"
    again = operator.post(f"/api/incidents/{incident['id']}/dispatch", json={"unit_id": a_unit})
    assert again.status_code == 409 and "already dispatched" in again.json()["detail"]

    seen = a_phone.get("/api/field").json()
    assert seen["assigned"] == [incident["id"]]
    assert [c["id"] for c in seen["cameras"] if c["live"]] == ["lobby"]
    for action in ("accept", "on_scene", "resolved"):
        r = a_phone.post(f"/api/field/incidents/{incident['id']}/answer", json={"action": action})
        assert r.status_code == 200, r.text
    done = operator.get(f"/api/incidents/{incident['id']}").json()
    assert done["state"] == "resolved"
    steps = [(s["action"], s["actor"], s["state"]) for s in done["timeline"]]
    assert steps == [
        ("opened", "op", "open"),
        ("alert_added", "op", "open"),
        ("dispatched", "op", "dispatched"),
        ("accepted", "anna", "dispatched"),
        ("on_scene", "anna", "on_scene"),
        ("state", "anna", "resolved"),
    ]
    assert all(s["at"] for s in done["timeline"])
    units = {u["callsign"]: u["status"] for u in admin.get("/api/units").json()}
    assert units == {"A-1": "available", "B-2": "available"}  # released when resolved
    with env.store.session() as s:
        actions = set(s.scalars(select(AuditRow.action).where(AuditRow.actor.in_(["op", "anna"]))))
    assert {"incidents.open", "incidents.dispatch", "field.answer", "field.report"} <= actions


def test_a_field_user_sees_only_what_concerns_its_unit(env: Env) -> None:
    admin = as_user(env, "sup", Role.ADMIN)
    phone, unit = _officer(env, admin, "anna", "A-1", _north(100))
    for path in ("/api/events", "/api/alerts", "/api/cameras", "/api/units", "/api/incidents"):
        assert phone.get(path).status_code == 403, path
    assert phone.get(f"/api/units/{unit}/positions").status_code == 403
    r = phone.get("/api/field/cameras/lobby/live.jpg")
    assert r.status_code == 403 and "not tied to an incident" in r.json()["detail"]
    nobody = as_user(env, "carl", Role.FIELD)
    r = nobody.get("/api/field")
    assert r.status_code == 403 and "no unit is assigned" in r.json()["detail"]
    auditor = as_user(env, "aud", Role.AUDITOR)
    assert auditor.get("/api/field").status_code == 403
    # Another unit's incident: not the phone's to answer.
    other = _unit(admin, "C-3", None)
    admin.post(f"/api/units/{other}/positions", json=_at(*_north(10)))
    inc = admin.post("/api/incidents", json={"title": "Lost child", "lat": 52.0, "lon": 4.37})
    admin.post(f"/api/incidents/{inc.json()['id']}/dispatch", json={"unit_id": other})
    r = phone.post(f"/api/field/incidents/{inc.json()['id']}/answer", json={"action": "accept"})
    assert r.status_code == 404


def test_bad_positions_are_refused_whole_and_nothing_is_stored(env: Env) -> None:
    admin = as_user(env, "sup", Role.ADMIN)
    phone, unit = _officer(env, admin, "anna", "A-1", _north(100))
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    old = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    cases = [
        (_at(91, 4), "not on the Earth"),
        (_at(52, 181), "not on the Earth"),
        (_at(52, 4, time=future), "in the future"),
        (_at(52, 4, time=old), "older than positions are kept"),
        (_at(52, 4, accuracy_m=-1), "accuracy_m"),
        (_at(52, 4, heading=400), "heading"),
        ({"positions": [_at(52, 4)["positions"][0], {"lat": 95, "lon": 4}]}, "position 2"),
        ({"positions": []}, "positions"),
        ({"positions": [{"lat": "north", "lon": 4}]}, "lat"),
    ]
    with env.store.session() as s:
        before = s.scalar(select(func.count()).select_from(PositionRow))
    for body, says in cases:
        r = phone.post("/api/field/positions", json=body)
        assert r.status_code == 422, (body, r.text)
        assert says in r.json()["detail"], (body, r.json())
    with env.store.session() as s:
        assert s.scalar(select(func.count()).select_from(PositionRow)) == before
    r = phone.post(
        "/api/field/positions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_two_dispatchers_racing_for_one_unit_leave_one_dispatch(env: Env) -> None:
    admin = as_user(env, "sup", Role.ADMIN)
    unit = _unit(admin, "A-1", None)
    first = admin.post("/api/incidents", json={"title": "one", "lat": 52.0, "lon": 4.37}).json()
    second = admin.post("/api/incidents", json={"title": "two", "lat": 52.0, "lon": 4.37}).json()

    def send(incident: int) -> int:
        # No `with`: a TestClient's context runs the app's lifespan, whose end closes the
        # audit log and the bus under the other threads' requests.
        c = TestClient(env.app)
        c.cookies = admin.cookies
        c.headers.update(admin.headers)
        r = c.post(f"/api/incidents/{incident}/dispatch", json={"unit_id": unit})
        return r.status_code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(send, [first["id"], second["id"]] * 3))
    assert sorted(codes) == [200, 409, 409, 409, 409, 409]
    with env.store.session() as s:
        dispatched = s.scalar(
            select(func.count())
            .select_from(IncidentStepRow)
            .where(IncidentStepRow.action == "dispatched")
        )
    assert dispatched == 1


def test_a_checklist_must_be_done_before_an_incident_is_resolved(env: Env) -> None:
    admin = as_user(env, "sup", Role.SUPERVISOR)
    operator = as_user(env, "op", Role.OPERATOR)
    assert operator.put("/api/checklists/fire", json={"steps": ["x"]}).status_code == 403
    r = admin.put("/api/checklists/fire", json={"steps": ["Fire brigade called", "Area cleared"]})
    assert r.status_code == 200, r.text
    inc = operator.post("/api/incidents", json={"title": "Smoke", "type": "fire"}).json()
    assert [c["step"] for c in inc["checklist"]] == ["Fire brigade called", "Area cleared"]
    r = operator.post(f"/api/incidents/{inc['id']}/state", json={"state": "resolved"})
    assert r.status_code == 409 and "Area cleared" in r.json()["detail"]
    for step in (1, 2):
        assert operator.post(f"/api/incidents/{inc['id']}/checklist/{step}").status_code == 200
    assert operator.post(f"/api/incidents/{inc['id']}/checklist/1").status_code == 409
    r = operator.post(f"/api/incidents/{inc['id']}/state", json={"state": "resolved"})
    assert r.status_code == 200
    r = operator.post(f"/api/incidents/{inc['id']}/state", json={"state": "closed"})
    assert r.status_code == 422 and "needs a reason" in r.json()["detail"]
    r = operator.post(
        f"/api/incidents/{inc['id']}/state", json={"state": "closed", "reason": "all done"}
    )
    assert r.status_code == 200 and r.json()["state"] == "closed"
    r = operator.post(f"/api/incidents/{inc['id']}/notes", json={"text": "late"})
    assert r.status_code == 409


def test_unit_history_needs_a_supervisor_and_a_purpose_and_is_audited(env: Env) -> None:
    admin = as_user(env, "sup", Role.SUPERVISOR)
    phone, unit = _officer(env, admin, "anna", "A-1", _north(100))
    time.sleep(0.01)
    phone.post("/api/field/positions", json=_at(*_north(120)))
    viewer = as_user(env, "vic", Role.VIEWER)
    assert viewer.get(f"/api/units/{unit}/positions").status_code == 403
    r = admin.get(f"/api/units/{unit}/positions", params={"purpose": "case 77 review"})
    assert r.status_code == 200 and len(r.json()) == 2
    with env.store.session() as s:
        row = s.scalars(
            select(AuditRow).where(AuditRow.action == "units.history").order_by(AuditRow.id.desc())
        ).first()
    assert row is not None and row.purpose == "case 77 review" and row.actor == "sup"


def test_field_users_are_made_by_supervisors_and_land_on_the_field_app(env: Env) -> None:
    sup = as_user(env, "sup", Role.SUPERVISOR)
    r = sup.post(
        "/api/users",
        json={"username": "fiona", "password": "a long test password", "role": "field"},
    )
    assert r.status_code == 201, r.text
    phone = TestClient(env.app)
    from tests.api.conftest import login

    login(phone, "fiona", "a long test password")
    for page in ("/", "/search", "/plates", "/watchlists"):
        r = phone.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/field", page
    with phone.websocket_connect("/api/ws") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 4403
