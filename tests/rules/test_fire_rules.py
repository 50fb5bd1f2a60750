"""The fire alert rule and the locator: towers' fire events stored (both engines), alerts
raised by the real AlertService, fixes crossed from their bearings and published on the bus."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vigil.bus import LocalBus
from vigil.config.camera import CameraConfig
from vigil.domain import Box, Camera, Event, EventType, Frame, Telemetry
from vigil.geo import fire_bearing, haversine_m
from vigil.geo.earth import LocalFrame
from vigil.rules.engine import AlertService, RuleEngine
from vigil.rules.fire import (
    FIRE_RULE,
    LOCATE_WINDOW_S,
    fix_of,
    fixes_of,
    recent_bearings,
    same_fire,
)
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.tables import AlertRow, EventRow

FIRE = (43.70, 7.25)
OTHER_FIRE = (43.66, 7.31)
SIZE = (640, 360)
T0 = 1_750_000_000.0
# Towers: (id, bearing from the fire, km away).
TOWERS = {"north": (0.0, 18.0), "east": (95.0, 22.0), "south-west": (220.0, 12.0)}


def _place(bearing: float, km: float) -> tuple[float, float]:
    b = math.radians(bearing)
    lat, lon, _ = LocalFrame(*FIRE, 0.0).to_geodetic(
        np.array([math.sin(b), math.cos(b), 0.0]) * km * 1000
    )
    return (lat, lon)


def _azimuth(frm: tuple[float, float], to: tuple[float, float]) -> float:
    east, north, _ = LocalFrame(*frm, 0.0).to_enu(*to, 0.0)
    return math.degrees(math.atan2(east, north)) % 360.0


def tower(name: str, towards: tuple[float, float] = FIRE) -> CameraConfig:
    """A watch camera panned straight at `towards` (a box in the image centre sees it)."""
    lat, lon = _place(*TOWERS[name])
    heading = _azimuth((lat, lon), towards)
    return CameraConfig(
        id=name,
        source=f"{name}.mp4",
        lat=lat,
        lon=lon,
        view={"heading_deg": heading, "hfov_deg": 50.0, "bearing_sigma_deg": 0.5},
    )


def sighting(camera: CameraConfig, at: float, kind: EventType = EventType.FIRE) -> Event:
    box = Box(316, 200, 8, 30)  # centred: the bearing of the tower's pan
    attrs = {**fire_bearing(camera, None, box, SIZE), "first_seen": at - 3.0}
    return Event(kind, camera.id, at, 1, str(kind), box, 0.9, attributes=attrs)


class Watch:
    """A store with the towers' cameras, the alert service and a bus."""

    def __init__(self, store: Store, bus: LocalBus | None = None) -> None:
        self.store, self.bus = store, bus
        for name in TOWERS:
            store.save_camera(Camera(name, name, f"{name}.mp4"))
        store.save_camera(Camera("plain", "plain", "plain.mp4"))
        self.service = AlertService(Alerts(store), bus, RuleEngine([]))

    def see(self, event: Event) -> tuple[EventRow, list[AlertRow]]:
        (row,) = self.store.save_results(event.camera_id, T0, [], [event])
        return row, self.service.raise_for([(event, row)])

    def alert(self, alert_id: int) -> AlertRow:
        row = self.service.alerts.get(alert_id)
        assert row is not None
        return row


def _sqlite(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'vigil.db'}")


def test_two_towers_fix_the_fire_alerts_and_bus_carry_it(store: Store) -> None:
    north, east = tower("north"), tower("east")

    async def main() -> tuple[Watch, list[Any], list[Any], list[AlertRow]]:
        bus = LocalBus()
        fixes, alerts = bus.subscribe(["fire_fix"]), bus.subscribe(["alert"])
        watch = Watch(store, bus)
        _, first = watch.see(sighting(north, 100.0))
        row, second = watch.see(sighting(east, 160.0))
        got = [await fixes.get(timeout=2)]
        told = [await alerts.get(timeout=2) for _ in range(3)]
        assert await fixes.get(timeout=0.05) is None  # one fix, when the second came
        return watch, got, told, [*first, *second]

    watch, (fix,), told, (a, b) = asyncio.run(main())
    assert (a.rule, a.type, a.camera_id, b.camera_id) == (FIRE_RULE, "fire", "north", "east")
    assert "fix" not in (a.attributes or {})  # as raised: one bearing crosses nothing
    held = (b.attributes or {})["fix"]
    assert held["cameras"] == ["east", "north"] and held["label"] == "fire"
    assert held["event_ids"] == [b.event_id, a.event_id]
    assert held["time"].endswith("+00:00") and held["time"].startswith("2025-06-15T15:")
    assert haversine_m((held["lat"], held["lon"]), FIRE) < 5.0
    assert 0 < held["uncertainty_m"] < 1000  # 0.5 deg at 18-22 km, crossing at 85 deg
    assert fix == {"topic": "fire_fix", **held}
    # The first tower's alert took the fix too, and was sent again with it.
    assert (watch.alert(a.id).attributes or {})["fix"] == held
    assert sorted(m["id"] for m in told) == sorted([a.id, a.id, b.id])
    assert any(m["id"] == a.id and "fix" in m["attributes"] for m in told)
    assert fix_of(watch.alert(b.id)) == (held["lat"], held["lon"])
    # One reviewer acknowledges it: nobody's rights are at stake.
    done = watch.service.review(b.id, "acknowledged", "ranger", None)
    assert done.status == "acknowledged" and done.reviewed_by == "ranger"
    # The API's recomputation from stored bearings gives the same fix.
    rows = recent_bearings(store, done.time.replace(year=2000), done.time.replace(year=2100))
    assert fixes_of(rows) == [held]


def test_a_third_tower_joins_by_least_squares_and_a_line_elsewhere_stays_out(
    tmp_path: Path,
) -> None:
    watch = Watch(_sqlite(tmp_path))
    watch.see(sighting(tower("north"), 10.0))
    _, (two,) = watch.see(sighting(tower("east"), 20.0))
    _, (three,) = watch.see(sighting(tower("south-west"), 30.0))
    pair, joint = (two.attributes or {})["fix"], (three.attributes or {})["fix"]
    assert joint["cameras"] == ["east", "north", "south-west"]
    assert joint["uncertainty_m"] < pair["uncertainty_m"]
    assert haversine_m((joint["lat"], joint["lon"]), FIRE) < 5.0
    # The south-west tower also sees another fire. Its line crosses the others' at ghost
    # points, but those lines are the first fire's (three agree on it): no fix.
    _, (elsewhere,) = watch.see(sighting(tower("south-west", OTHER_FIRE), 40.0))
    assert "fix" not in (elsewhere.attributes or {})
    watch.store.close()


def test_one_open_alert_per_fire_and_camera(tmp_path: Path) -> None:
    watch = Watch(_sqlite(tmp_path))
    north = tower("north")
    _, (first,) = watch.see(sighting(north, 10.0))
    assert watch.see(sighting(north, 70.0))[1] == []  # the same fire, still open
    assert watch.see(sighting(north, 80.0, EventType.SMOKE))[1] == []  # its smoke too
    watch.service.review(first.id, "acknowledged", "ranger", None)
    assert watch.see(sighting(north, 90.0))[1] == []  # acknowledged: being dealt with
    _, (other,) = watch.see(sighting(tower("north", OTHER_FIRE), 95.0))  # another direction
    assert other.id != first.id
    watch.service.review(other.id, "dismissed", "ranger", "a farmer burning stubble")
    _, again = watch.see(sighting(tower("north", OTHER_FIRE), 120.0))
    assert len(again) == 1  # the dismissed one holds nothing back
    watch.store.close()


def test_a_camera_without_a_view_alerts_once_and_gives_no_fix(tmp_path: Path) -> None:
    watch = Watch(_sqlite(tmp_path))
    plain = CameraConfig(id="plain", source="plain.mp4")
    ev = sighting(plain, 10.0)
    assert ev.attributes == {"first_seen": 7.0}
    row, (alert,) = watch.see(ev)
    assert alert.type == "fire" and "fix" not in (alert.attributes or {})
    assert fix_of(alert) is None
    assert watch.see(sighting(plain, 20.0))[1] == []  # no bearing: one at a time
    assert recent_bearings(watch.store, row.time.replace(year=2000), row.time) == []
    # Other events raise no fire alert: only fire and smoke (the fire analyzer's) do.
    other = Event(EventType.APPEAR, "plain", 30.0, 2, "person", Box(0, 0, 5, 5), 0.9)
    assert watch.see(other)[1] == []
    watch.store.close()


def test_bearings_older_than_the_window_make_no_fix(tmp_path: Path) -> None:
    watch = Watch(_sqlite(tmp_path))
    watch.see(sighting(tower("north"), 10.0))
    _, (late,) = watch.see(sighting(tower("east"), 10.0 + LOCATE_WINDOW_S + 1))
    assert "fix" not in (late.attributes or {})
    _, (soon,) = watch.see(sighting(tower("south-west"), 10.0 + LOCATE_WINDOW_S + 30))
    assert (soon.attributes or {})["fix"]["cameras"] == ["east", "south-west"]
    watch.store.close()


def test_fix_of_a_drones_ground_point_and_of_other_alerts() -> None:
    ground = AlertRow(type="smoke", attributes={"ground_lat": 43.1, "ground_lon": 7.2})
    assert fix_of(ground) == (43.1, 7.2)
    both = AlertRow(type="fire", attributes={"ground_lat": 1.0, "ground_lon": 2.0,
                                             "fix": {"lat": 43.2, "lon": 7.3}})  # fmt: skip
    assert fix_of(both) == (43.2, 7.3)
    assert fix_of(AlertRow(type="zone_enter", attributes={"fix": {"lat": 1, "lon": 2}})) is None
    assert fix_of(AlertRow(type="fire", attributes=None)) is None


def test_repeated_sightings_count_once_and_make_one_fix(tmp_path: Path) -> None:
    watch = Watch(_sqlite(tmp_path))
    north, east = tower("north"), tower("east")
    _, (first,) = watch.see(sighting(north, 10.0))
    _, (pair,) = watch.see(sighting(east, 20.0))
    rows = [watch.see(sighting(cam, at))[0] for cam, at in ((north, 30.0), (east, 40.0))]
    single = (pair.attributes or {})["fix"]
    newest = recent_bearings(watch.store, rows[0].time.replace(year=2000), rows[-1].time)
    assert len(newest) == 4
    (fix,) = fixes_of(newest)  # one fire: the newest fix, of the newest sightings
    assert fix["event_ids"] == [rows[1].id, rows[0].id]
    # The same two towers again: a camera's repeated line shares its pan's error, so the
    # fix is no better known than the first pair's.
    assert fix["uncertainty_m"] == pytest.approx(single["uncertainty_m"], rel=0.01)
    watch.store.close()


def test_a_drone_fixes_a_fire_from_two_places_of_its_flight(tmp_path: Path) -> None:
    """One moving camera's sightings from places kilometres apart cross like two towers'
    (its telemetry gives each bearing); the second is the same fire: no second alert."""
    watch = Watch(_sqlite(tmp_path))
    watch.store.save_camera(Camera("drone", "drone", "drone.mp4"))
    drone = CameraConfig(id="drone", source="drone.mp4", mount={"hfov": 60.0})
    raised = []
    for at, (bearing, km) in ((10.0, (300.0, 6.0)), (70.0, (20.0, 7.0))):
        lat, lon = _place(bearing, km)
        t = Telemetry(at, lat=lat, lon=lon, alt=900.0, heading=_azimuth((lat, lon), FIRE),
                      pitch=0.0, sensor_elevation=-4.0)  # fmt: skip
        frame = Frame("drone", int(at), at, np.zeros((SIZE[1], SIZE[0], 3), np.uint8), telemetry=t)
        box = Box(316, 170, 8, 20)
        attrs = fire_bearing(drone, frame, box, SIZE)
        assert "ground_lat" not in attrs  # no ground known: the bearing alone
        event = Event(EventType.SMOKE, "drone", at, 1, "smoke", box, 0.7, attributes=attrs)
        raised.append(watch.see(event))
    (_, (alert,)), (row, again) = raised
    assert again == []
    fix = (watch.alert(alert.id).attributes or {})["fix"]  # the first alert took the fix
    assert fix["cameras"] == ["drone"] and fix["event_ids"] == [row.id, alert.event_id]
    assert fix["label"] == "smoke"
    assert haversine_m((fix["lat"], fix["lon"]), FIRE) < 5.0
    assert fix_of(watch.alert(alert.id)) == (fix["lat"], fix["lon"])
    watch.store.close()


def test_what_counts_as_the_same_fire() -> None:
    north = sighting(tower("north"), 1.0).attributes
    other = sighting(tower("north", OTHER_FIRE), 1.0).attributes
    assert same_fire({}, dict(north)) and same_fire(dict(north), {"first_seen": 1.0})
    assert same_fire(dict(north), dict(north)) and not same_fire(dict(north), dict(other))
    # From two places kilometres apart: the same ground point, or a line through the fix.
    east = dict(sighting(tower("east"), 1.0).attributes)
    assert not same_fire(dict(north), east)
    near = {"ground_lat": FIRE[0] + 0.001, "ground_lon": FIRE[1]}
    assert same_fire({**north, **near}, {**east, "ground_lat": FIRE[0], "ground_lon": FIRE[1]})
    fixed = {"fix": {"lat": FIRE[0], "lon": FIRE[1], "semi_major_m": 50.0}}
    assert same_fire({**north, **fixed}, east)
    elsewhere = {"fix": {"lat": OTHER_FIRE[0], "lon": OTHER_FIRE[1], "semi_major_m": 50.0}}
    assert not same_fire({**north, **elsewhere}, east)
