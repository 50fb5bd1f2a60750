"""Evidence locks on both engines: a lock with its reason, an unlock once (two at once: one
wins, the other a clear Conflict), an alert joining an incident locks its footage around it
with the camera's roll. The clock is the test's."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from vigil.config import VigilConfig
from vigil.domain import Alert, Camera, EventType
from vigil.errors import Conflict, Invalid, NotFound
from vigil.incidents.incidents import Incidents
from vigil.incidents.units import Units
from vigil.recording.locks import MIN_WINDOW, Locks, camera_window
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.tables import EvidenceLockRow

NOW = 1_800_000_000.0


def _alert(store: Store, camera: str = "lobby", t: float = NOW - 600) -> int:
    store.save_camera(Camera(camera, camera, f"{camera}.mp4"))
    return Alerts(store).create(Alert("table entry", camera, EventType.ZONE_ENTER, t, "person")).id


def test_a_lock_keeps_its_reason_and_is_unlocked_once(store: Store) -> None:
    locks = Locks(store, clock=lambda: NOW)
    lock = locks.lock("lobby", NOW - 100, NOW - 40, "sam", "  case 2026/17 ")
    assert (lock.reason, lock.locked_by, lock.active, lock.locked_at) == (
        "case 2026/17", "sam", True, NOW,
    )  # fmt: skip
    assert locks.locked("lobby", NOW - 50, NOW) and not locks.locked("lobby", NOW - 30, NOW)
    assert not locks.locked("car-park", NOW - 50, NOW)
    done = locks.unlock(lock.id, "sue", "case closed, court released it")
    assert (done.active, done.unlocked_by, done.unlock_reason) == (
        False, "sue", "case closed, court released it",
    )  # fmt: skip
    assert not locks.locked("lobby", NOW - 50, NOW)
    with pytest.raises(Conflict, match="already unlocked by sue"):
        locks.unlock(lock.id, "sam", "again please")
    assert [x.id for x in locks.all(["lobby"], active=False)] == [lock.id]
    assert locks.all(["lobby"], active=True) == []


def test_what_a_lock_refuses(store: Store) -> None:
    locks = Locks(store, clock=lambda: NOW)
    with pytest.raises(Invalid, match="needs a reason of 3 to 500"):
        locks.lock("lobby", NOW - 10, NOW, "sam", " ")
    with pytest.raises(Invalid, match="end must come after its start"):
        locks.lock("lobby", NOW, NOW - 10, "sam", "case 1")
    with pytest.raises(Invalid, match="at most 31 days"):
        locks.lock("lobby", NOW - 40 * 86400, NOW, "sam", "case 1")
    with pytest.raises(NotFound, match="no evidence lock 99"):
        locks.unlock(99, "sue", "done with it")
    with pytest.raises(NotFound, match="no alert 77"):
        locks.lock_alert(77, "sam", "case 1")
    lock = locks.lock("lobby", NOW - 10, NOW, "sam", "case 1")
    with pytest.raises(Invalid, match="unlocking needs a reason"):
        locks.unlock(lock.id, "sue", "")
    assert locks.get(lock.id).active  # nothing changed


def test_two_unlocks_at_once_one_wins_the_other_is_a_conflict(store: Store) -> None:
    locks = Locks(store, clock=lambda: NOW)
    for _ in range(5):  # a few rounds: the race is decided by the database every time
        lock = locks.lock("lobby", NOW - 10, NOW, "sam", "case 9")
        start = threading.Barrier(2)

        def unlock(who: str, lock_id: int = lock.id, start: threading.Barrier = start) -> str:
            start.wait()
            try:
                locks.unlock(lock_id, who, f"released by {who}")
            except Conflict as exc:
                return f"409 {exc}"
            return "ok"

        with ThreadPoolExecutor(2) as pool:
            results = sorted(pool.map(unlock, ["sue", "sid"]))
        assert results[1] == "ok" and results[0].startswith("409 "), results
        winner = locks.get(lock.id).unlocked_by
        assert winner in ("sue", "sid") and f"already unlocked by {winner}" in results[0]
        assert locks.get(lock.id).unlock_reason == f"released by {winner}"


def test_an_alert_joining_an_incident_locks_its_footage(store: Store) -> None:
    config = VigilConfig.model_validate(
        {"cameras": [{"id": "lobby", "source": "x.mp4",
                      "recording": {"mode": "continuous", "pre_roll_s": 45, "post_roll_s": 20}}]}
    )  # fmt: skip
    window = camera_window(config.cameras)
    assert window("lobby") == (45.0, MIN_WINDOW[1]) and window("gone") == MIN_WINDOW
    units = Units(store, clock=lambda: NOW)
    incidents = Incidents(store, units, clock=lambda: NOW, lock_window=window)
    first, second = _alert(store, t=NOW - 600), _alert(store, "car-park", NOW - 300)
    row = incidents.open("Someone at the table", "olga", alert_id=first)
    incidents.add_alert(row.id, second, "olga")
    with store.session() as s:
        made = list(s.scalars(select(EvidenceLockRow).order_by(EvidenceLockRow.id)))
    assert [(m.camera_id, m.alert_id, m.incident_id, m.locked_by) for m in made] == [
        ("lobby", first, row.id, "olga"),
        ("car-park", second, row.id, "olga"),
    ]
    locks = Locks(store)
    lobby, park = (locks.get(m.id) for m in made)
    assert (lobby.start, lobby.end) == (NOW - 600 - 45, NOW - 600 + 60)
    assert (park.start, park.end) == (NOW - 300 - 30, NOW - 300 + 60)  # no roll: the minimum
    assert lobby.reason == f"incident {row.id}: alert {first} (table entry)"
    with pytest.raises(Conflict):  # an alert already in an incident: no second lock either
        incidents.open("again", "olga", alert_id=first)
    assert len(locks.all()) == 2


def test_an_alert_locked_by_hand(store: Store) -> None:
    alert = _alert(store)
    lock = Locks(store, clock=lambda: NOW).lock_alert(alert, "sam", "case 12")
    assert (lock.camera_id, lock.alert_id, lock.reason) == ("lobby", alert, "case 12")
    assert (lock.start, lock.end) == (NOW - 600 - MIN_WINDOW[0], NOW - 600 + MIN_WINDOW[1])
