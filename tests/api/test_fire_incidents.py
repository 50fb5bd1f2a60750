"""An incident opened from a fire alert is where the fire is: at the fix two cameras'
bearings give (not at the camera that raised it), of type `fire` unless the operator says
otherwise; a fire alert without a fix is at its camera; an operator's own position wins.
The alerts come through the real path: stored fire events with bearings, the alert service
with the fire rule and its locator. A body whose id or place is no number is a 422."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.api.conftest import Env, as_user
from tests.fire_sightings import bearing_to
from vigil.domain import Box, Event, EventType, Role
from vigil.geo import haversine_m
from vigil.rules.engine import AlertService, RuleEngine
from vigil.store.alerts import Alerts
from vigil.store.tables import AlertRow

LOBBY = (52.0, 4.37)  # the lobby camera in tests/api/conftest.py
OTHER_TOWER = (52.0, 4.39)  # where the second sighting is made from (1.4 km east)
FIRE = (52.006, 4.38)  # the truth: about 0.9 km from each


def _sight(env: Env, camera: str, origin: tuple[float, float], n: int) -> list[AlertRow]:
    """A fire event of `camera` seeing FIRE from `origin`, stored and raised as the pipeline
    does; the alerts raised."""
    attributes = {
        "bearing_deg": round(bearing_to(origin, FIRE), 3),
        "bearing_sigma_deg": 0.6,
        "from_lat": origin[0],
        "from_lon": origin[1],
        "first_seen": 1.0,
        "area_fraction": 0.002,
    }
    box = Box(300, 200, 30, 40)
    event = Event(EventType.FIRE, camera, 5.0 + n, 500 + n, "fire", box, 0.8, attributes=attributes)
    [row] = env.store.save_results(camera, time.time() - 10.0, [], [event], [None])
    service = AlertService(Alerts(env.store), None, RuleEngine([]), data_dir=env.data_dir)
    return service.raise_for([(event, row)])


def _open(client: TestClient, alert_id: int, **body: object) -> dict[str, object]:
    r = client.post("/api/incidents", json={"alert_id": alert_id, **body})
    assert r.status_code == 201, r.text
    incident: dict[str, object] = r.json()
    return incident


def test_an_incident_from_a_located_fire_is_at_the_fix_and_of_type_fire(env: Env) -> None:
    operator = as_user(env, "op", Role.OPERATOR)
    [first] = _sight(env, "lobby", LOBBY, 0)
    [second] = _sight(env, "car-park", OTHER_TOWER, 1)
    fix = second.attributes["fix"] if second.attributes else None
    assert fix is not None and set(fix["cameras"]) == {"lobby", "car-park"}
    incident = _open(operator, second.id)
    assert incident["type"] == "fire" and incident["camera"] == "car-park"
    assert incident["title"] == "Fire seen from car-park"  # the camera has no name of its own
    where = (float(incident["lat"]), float(incident["lon"]))  # type: ignore[arg-type]
    assert where == (fix["lat"], fix["lon"])
    assert haversine_m(where, FIRE) < 1.0  # exact bearings: the crossing is the fire
    assert haversine_m(where, LOBBY) > 500
    # The first tower's alert took the fix too, once the second bearing crossed its own.
    lobby = _open(operator, first.id)
    assert lobby["type"] == "fire"
    assert haversine_m((float(lobby["lat"]), float(lobby["lon"])), FIRE) < 1.0  # type: ignore[arg-type]


def test_a_fire_alert_without_a_fix_is_at_its_camera_and_the_operator_may_say_otherwise(
    env: Env,
) -> None:
    operator = as_user(env, "op", Role.OPERATOR)
    [alone] = _sight(env, "lobby", LOBBY, 0)
    assert "fix" not in (alone.attributes or {})
    incident = _open(operator, alone.id)
    assert (incident["lat"], incident["lon"]) == LOBBY and incident["type"] == "fire"
    # The operator's type and position are kept.
    [second] = _sight(env, "car-park", OTHER_TOWER, 1)
    assert incident["title"] == "Fire seen from Lobby"
    mine = _open(operator, second.id, type="wildfire", lat=52.1, lon=4.4, title="Barn A")
    assert (mine["lat"], mine["lon"], mine["type"]) == (52.1, 4.4, "wildfire")
    assert mine["title"] == "Barn A"


def test_other_alerts_open_general_incidents_at_their_camera(env: Env) -> None:
    operator = as_user(env, "op", Role.OPERATOR)
    incident = _open(operator, env.ids["alerts"]["lobby"])
    assert (incident["lat"], incident["lon"], incident["type"]) == (*LOBBY, "general")


def test_an_id_or_a_place_that_is_no_number_is_a_clear_422(env: Env) -> None:
    operator = as_user(env, "op", Role.OPERATOR)
    for body, field in (
        ({"alert_id": 2**63}, "alert_id"),  # beyond any stored id (was a database overflow)
        ({"alert_id": True}, "alert_id"),  # not taken as alert 1
        ({"lat": "52", "lon": 4.3}, "lat"),
        ({"lat": 52.0, "lon": False}, "lon"),
    ):
        r = operator.post("/api/incidents", json=body)
        assert r.status_code == 422 and field in r.json()["detail"], (body, r.text)
    r = operator.post("/api/incidents", json={"lat": 52, "lon": 4})  # JSON integers are numbers
    assert r.status_code == 201 and (r.json()["lat"], r.json()["lon"]) == (52.0, 4.0)
