"""Watchlists: what a list must say (purpose, legal basis, who authorised it, until when, where),
where and when it applies (cameras, geofence polygon or circle, a daily window across midnight,
its time zone), the templates in force on a camera now, and the purge of expired lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from vigil.audit.log import AuditLog
from vigil.audit.retention import purge
from vigil.config import RetentionConfig
from vigil.rules.watchlists import Place, WatchlistDirectory, covers, in_force
from vigil.store.checks import ListError
from vigil.store.db import Store
from vigil.store.tables import FaceTemplateRow, WatchlistEntryRow
from vigil.store.watchlists import WatchlistConflict, WatchlistError, WatchlistIn, Watchlists

NOW = datetime.now(UTC)
STADIUM = (45.8150, 15.9819)  # a point in Zagreb (lat, lon)


def spec(**kw: Any) -> WatchlistIn:
    base: dict[str, Any] = {
        "name": "derby",
        "purpose": "violent offenders banned from the derby",
        "legal_basis": "Act on the prevention of disorder at sports events, art. 31",
        "authorised_by": "Chief Inspector M. Horvat",
        "valid_from": NOW - timedelta(hours=1),
        "valid_until": NOW + timedelta(days=1),
        "cameras": ["gate"],
    }
    return WatchlistIn(**{**base, **kw})


def enrol(store: Store, **kw: Any) -> int:
    lists = Watchlists(store)
    row = lists.create(spec(**kw), "ada", 0.55)
    entry = lists.add_entry(row.id, "A. Person", "case 77")
    lists.add_template(
        entry.id, np.full(128, 0.1, np.float32), "police file photo", "ab" * 32, None
    )
    return row.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cameras": None}, "say where the watchlist applies"),
        ({"valid_until": NOW - timedelta(minutes=1)}, "valid_until"),
        ({"purpose": "x"}, "the purpose must be one line"),
        ({"authorised_by": ""}, "who authorised it"),
        ({"window": ("14:00", "25:00")}, "HH:MM"),
        ({"timezone": "Mars/Olympus"}, "not a time zone"),
        ({"threshold": 0.95}, "threshold"),
        ({"cameras": None, "geofence": {"polygon": [[1, 2], [3, 4]]}}, "at least 3 points"),
        ({"cameras": None, "geofence": {"centre": [91, 0], "radius_m": 5}}, "latitude"),
        ({"cameras": None, "geofence": {"radius_m": 5}}, "a geofence is"),
    ],
)
def test_a_watchlist_must_say_why_who_where_and_until_when(
    store: Store, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ListError) as err:  # WatchlistError, or a shared check's ListError
        Watchlists(store).create(spec(**change), "ada", 0.55)
    assert message in str(err.value)


def test_names_are_unique_and_templates_are_128_numbers(store: Store) -> None:
    lists = Watchlists(store)
    row = lists.create(spec(), "ada", 0.55)
    assert row.threshold == 0.55 and row.timezone == "UTC"
    with pytest.raises(WatchlistConflict):
        lists.create(spec(), "bob", 0.55)
    entry = lists.add_entry(row.id, "A. Person", None)
    with pytest.raises(WatchlistError, match="128 finite numbers"):
        lists.add_template(entry.id, np.zeros(64, np.float32), "file photo", "00" * 32, None)
    with pytest.raises(WatchlistError, match="128 finite numbers"):
        lists.add_template(entry.id, np.full(128, np.nan, np.float32), "file photo", "0" * 64, None)


def test_where_it_applies(store: Store) -> None:
    lists = Watchlists(store)
    by_camera = lists.create(spec(), "ada", 0.55)
    circle = lists.create(
        spec(name="circle", cameras=None, geofence={"centre": STADIUM, "radius_m": 500}), "a", 0.5
    )
    square = [[45.81, 15.97], [45.82, 15.97], [45.82, 15.99], [45.81, 15.99]]
    polygon = lists.create(spec(name="poly", cameras=None, geofence={"polygon": square}), "a", 0.5)
    near = Place("north-stand", 45.8180, 15.9819)  # 333 m north of the centre
    far = Place("tram-stop", 45.8250, 15.9819)  # 1.1 km north
    assert covers(by_camera, Place("gate")) and not covers(by_camera, near)
    assert covers(circle, near) and not covers(circle, far)
    assert covers(polygon, near) and not covers(polygon, far)
    assert not covers(circle, Place("no-position"))  # a camera without a position: never inside


def test_when_it_applies_a_daily_window_in_its_time_zone(store: Store) -> None:
    lists = Watchlists(store)
    season = {
        "valid_from": datetime(2027, 1, 1, tzinfo=UTC),
        "valid_until": datetime(2099, 1, 1, tzinfo=UTC),
    }
    day = lists.create(
        spec(window=("14:00", "23:00"), timezone="Europe/Zagreb", **season), "a", 0.5
    )
    night = lists.create(spec(name="night", window=("22:00", "04:00"), **season), "a", 0.5)

    def at(month: int, hour: int, minute: int = 30) -> datetime:
        return datetime(2027, month, 15, hour, minute, tzinfo=UTC)

    # Zagreb is UTC+1 in January and UTC+2 in July: the window follows the local clock.
    assert (
        in_force(day, at(1, 13)) and not in_force(day, at(1, 22)) and not in_force(day, at(1, 12))
    )
    assert (
        in_force(day, at(7, 12)) and not in_force(day, at(7, 21)) and not in_force(day, at(7, 11))
    )
    assert (
        in_force(night, at(1, 23)) and in_force(night, at(1, 3)) and not in_force(night, at(1, 12))
    )
    assert not in_force(day, datetime(2026, 12, 31, 13, 30, tzinfo=UTC))  # before valid_from


def test_the_directory_gives_templates_in_force_here_and_now(store: Store) -> None:
    directory = WatchlistDirectory(store, check_s=0.0)
    assert directory.in_force(Place("gate"), NOW) == []
    enrol(store)
    (template,) = directory.in_force(Place("gate"), NOW)
    assert (template.watchlist, template.name, template.reference) == (
        "derby",
        "A. Person",
        "case 77",
    )
    assert template.embedding.shape == (128,) and template.threshold == 0.55
    assert directory.in_force(Place("car-park"), NOW) == []
    assert directory.in_force(Place("gate"), NOW + timedelta(days=2)) == []


def test_expired_watchlists_go_with_their_templates(store: Store, tmp_path: Any) -> None:
    enrol(store)
    enrol(store, name="long", valid_until=NOW + timedelta(days=30))
    later = NOW + timedelta(days=3)
    report = purge(store, tmp_path, RetentionConfig(), AuditLog(store, tmp_path), later)
    assert (report.watchlists, report.face_templates) == (1, 1)
    assert [r.name for r, _ in Watchlists(store).all()] == ["long"]
    with store.session() as s:
        assert s.query(FaceTemplateRow).count() == 1 and s.query(WatchlistEntryRow).count() == 1
