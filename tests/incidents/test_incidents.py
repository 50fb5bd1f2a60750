"""The incident workflow and unit positions on both engines: every step in order with who and
why, the races decided by the database, nothing stored from a refused report, positions
purged by the retention job. The clock is the test's."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from vigil.domain import (
    INCIDENT_NEXT,
    Alert,
    AlertStatus,
    Camera,
    EventType,
    IncidentState,
    Position,
    UnitStatus,
)
from vigil.errors import Conflict, Invalid, NotFound
from vigil.incidents.incidents import Incidents
from vigil.incidents.units import Units
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.tables import AssignmentRow, PositionRow, UnitRow

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def parts(store: Store, clock: Clock) -> tuple[Units, Incidents]:
    units = Units(store, clock=clock)
    return units, Incidents(store, units, clock=clock)


def _placed(units: Units, callsign: str, lat: float, lon: float, kind: str = "foot") -> int:
    row = units.create(callsign, kind)
    units.report(row.id, [Position(lat, lon, units.clock())], "api")
    return row.id


def test_every_state_lists_only_real_next_steps() -> None:
    for state, nexts in INCIDENT_NEXT.items():
        assert state not in nexts
        for other in IncidentState:
            assert state.may_become(other) == (other in nexts)
    assert INCIDENT_NEXT[IncidentState.CLOSED] == frozenset()


def test_decline_returns_the_incident_to_open_and_the_unit_to_available(
    parts: tuple[Units, Incidents],
) -> None:
    units, incidents = parts
    a = _placed(units, "A-1", 52.0, 4.0)
    inc = incidents.open("Alarm", "op", lat=52.0, lon=4.0)
    incidents.dispatch(inc.id, a, "op")
    assert units.get(a).status == UnitStatus.DISPATCHED
    row = incidents.respond(inc.id, a, "decline", "anna", "flat tyre")
    assert row.state == IncidentState.OPEN
    assert units.get(a).status == UnitStatus.AVAILABLE
    with pytest.raises(Conflict, match="not dispatched"):
        incidents.respond(inc.id, a, "accept", "anna")
    incidents.dispatch(inc.id, a, "op", "again")  # sent again after a decline: allowed
    steps = [(s.action, s.text) for s in incidents.steps(inc.id)]
    assert steps == [("opened", None), ("dispatched", None), ("declined", "flat tyre"),
                     ("dispatched", "again")]  # fmt: skip


def test_wrong_steps_are_refused_with_the_way_forward(parts: tuple[Units, Incidents]) -> None:
    units, incidents = parts
    inc = incidents.open("Noise", "op")
    with pytest.raises(Conflict, match="sending a unit"):
        incidents.advance(inc.id, IncidentState.DISPATCHED, "op")
    with pytest.raises(Conflict, match="cannot become on_scene from there"):
        incidents.advance(inc.id, IncidentState.ON_SCENE, "op")
    with pytest.raises(Invalid, match="needs a reason"):
        incidents.advance(inc.id, IncidentState.CLOSED, "op")
    incidents.advance(inc.id, IncidentState.CLOSED, "op", "false alarm")
    off = units.create("C-3", "car", status=UnitStatus.OFF_DUTY)
    inc2 = incidents.open("Theft", "op", lat=52.0, lon=4.0)
    with pytest.raises(Conflict, match="off duty"):
        incidents.dispatch(inc2.id, off.id, "op")
    with pytest.raises(Conflict, match="closed"):
        incidents.dispatch(inc.id, off.id, "op")
    with pytest.raises(NotFound):
        incidents.dispatch(inc2.id, 999, "op")
    assert units.get(off.id).status == UnitStatus.OFF_DUTY  # a refused dispatch changes nothing


def test_nearest_available_units_by_eta(parts: tuple[Units, Incidents]) -> None:
    units, incidents = parts
    foot = _placed(units, "FOOT", 52.001, 4.0)  # ~111 m
    car = _placed(units, "CAR", 52.005, 4.0, "car")  # ~556 m, but six times as fast
    busy = _placed(units, "BUSY", 52.0, 4.0)
    units.create("NOWHERE", "foot")  # no position: cannot be suggested
    inc = incidents.open("Fight", "op", lat=52.0, lon=4.0)
    other = incidents.open("Other", "op", lat=52.0, lon=4.0)
    incidents.dispatch(other.id, busy, "op")
    got = incidents.suggest(inc.id)
    assert [s.unit.id for s in got] == [car, foot]
    assert 100 < got[1].distance_m < 120 and got[0].eta_s < got[1].eta_s


def test_no_unit_is_sent_on_a_face_match_two_people_have_not_confirmed(
    store: Store, parts: tuple[Units, Incidents]
) -> None:
    units, incidents = parts
    store.save_camera(Camera("gate", "Gate", "x"))
    alerts = Alerts(store)
    match = alerts.create(Alert("derby", "gate", EventType.FACE_MATCH, NOW, "person"))
    a = _placed(units, "A-1", 52.0, 4.0)
    inc = incidents.open("Listed person at the gate", "op", alert_id=match.id)
    with pytest.raises(Conflict, match="2 people have not confirmed"):
        incidents.dispatch(inc.id, a, "op")
    alerts.review(match.id, AlertStatus.ACKNOWLEDGED, "ann", "same scar")
    with pytest.raises(Conflict):
        incidents.dispatch(inc.id, a, "op")
    alerts.review(match.id, AlertStatus.ACKNOWLEDGED, "bob", "same face")
    assert incidents.dispatch(inc.id, a, "op").state == IncidentState.DISPATCHED
    with pytest.raises(Conflict, match="already in incident"):
        incidents.open("again", "op", alert_id=match.id)


def test_racing_dispatchers_one_unit_one_winner(parts: tuple[Units, Incidents]) -> None:
    units, incidents = parts
    unit = _placed(units, "A-1", 52.0, 4.0)
    targets = [incidents.open(f"incident {i}", "op").id for i in range(6)]

    def send(incident: int) -> str:
        try:
            incidents.dispatch(incident, unit, "op")
            return "sent"
        except Conflict:
            return "refused"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(send, targets))
    assert sorted(results) == ["refused"] * 5 + ["sent"]
    with units.store.session() as s:
        active = s.scalar(select(func.count()).select_from(AssignmentRow))
    assert active == 1


def test_positions_move_the_unit_forward_only_and_are_purged(
    store: Store, parts: tuple[Units, Incidents], clock: Clock
) -> None:
    units, _ = parts
    unit = units.create("A-1", "foot").id
    units.report(unit, [Position(52.0, 4.0, NOW - 10)], "app")
    # A queued batch from while the phone was offline arrives late: older than the last fix.
    units.report(unit, [Position(51.0, 3.0, NOW - 100), Position(51.5, 3.5, NOW - 50)], "app")
    row = units.get(unit)
    assert (row.lat, row.lon) == (52.0, 4.0)
    history = units.history(unit, datetime.fromtimestamp(NOW - 1000, UTC))
    assert [p.lat for p in history] == [51.0, 51.5, 52.0]
    with pytest.raises(Invalid, match="position 2: its time is 3600 s in the future"):
        units.report(unit, [Position(52.0, 4.0, NOW), Position(52.0, 4.0, NOW + 3600)], "app")
    with pytest.raises(Invalid, match="lat must be a finite number"):
        units.report(unit, [Position(float("nan"), 4.0, NOW)], "app")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(PositionRow)) == 3
    clock.now = NOW + 8 * 86400
    cut = datetime.fromtimestamp(clock.now - 7 * 86400, UTC)
    assert units.purge(cut, dry_run=True) == 3
    assert units.purge(cut) == 3
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(PositionRow)) == 0
        kept: Any = s.get(UnitRow, unit)
    assert kept.lat is None and kept.position_at is None  # the last position went with them


def test_a_callsign_or_user_taken_is_a_conflict(parts: tuple[Units, Incidents]) -> None:
    units, _ = parts
    units.create("A-1", "foot")
    with pytest.raises(Conflict, match="taken"):
        units.create("A-1", "car")
    with pytest.raises(NotFound, match="no user"):
        units.create("A-2", "car", username="ghost")
    assert [u.callsign for u in units.all()] == ["A-1"]
