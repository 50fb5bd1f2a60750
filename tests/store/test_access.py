"""Users, sessions, alerts and event/track searches on both engines (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from tests.conftest import engine_url
from vigil.domain import Alert, AlertStatus, Box, Camera, Event, EventType, Role, Track, TrackState
from vigil.store.alerts import AlertConflict, AlertError, AlertNotFound, Alerts
from vigil.store.db import Store
from vigil.store.queries import Filters, QueryError, search_alerts, search_events, search_tracks
from vigil.store.users import UserConflict, UserError, Users

T0 = 1_700_000_000.0
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _track(tid: int, start: float, end: float, label: str = "person") -> Track:
    return Track(tid, label, Box(10, 10, 20, 40), 0.9, TrackState.REMOVED, start, end)


def _fill(store: Store) -> None:
    """Two cameras; per camera, tracks 1..3 each with an object event, zone / line events."""
    for cam in ("gate", "yard"):
        store.save_camera(Camera(cam, cam.title(), f"rtsp://x/{cam}"))
        tracks, events = [], []
        for tid in (1, 2, 3):
            start, end = tid * 10.0, tid * 10.0 + 5.0
            label = "car" if tid == 3 else "person"
            tracks.append((_track(tid, start, end, label), f"snapshots/{cam}/{tid}.jpg"))
            events.append(
                Event(EventType.OBJECT, cam, end, tid, label, Box(1, 1, 5, 5), 0.9, start, end)
            )
            events.append(
                Event(
                    EventType.ZONE_ENTER,
                    cam,
                    start + 1,
                    tid,
                    label,
                    attributes={"zone": "door" if tid < 3 else "lot"},
                )
            )
        events.append(
            Event(
                EventType.LINE_CROSS,
                cam,
                31.0,
                3,
                "car",
                attributes={"line": "gate-line", "direction": "in"},
            )
        )
        store.save_results(cam, T0, tracks, events)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC)


def test_save_results_returns_rows_with_ids_zone_line_and_snapshot(store: Store) -> None:
    store.save_camera(Camera("gate", "Gate", "x"))
    events = [
        Event(EventType.ZONE_ENTER, "gate", 1.0, 4, "person", attributes={"zone": "door"}),
        Event(EventType.LINE_CROSS, "gate", 2.0, 4, "person", attributes={"line": "l"}),
    ]
    rows = store.save_results("gate", T0, [], events, ["snapshots/a.jpg", None])
    assert [r.id for r in rows] == sorted(r.id for r in rows) and all(r.id for r in rows)
    assert (rows[0].zone, rows[0].line, rows[0].snapshot) == ("door", None, "snapshots/a.jpg")
    assert (rows[1].zone, rows[1].line, rows[1].snapshot) == (None, "l", None)


def test_event_search_filters_newest_first(store: Store) -> None:
    _fill(store)
    page = search_events(store, Filters())
    assert len(page.items) == 14 and page.next_cursor is None
    times = [(r.time, r.id) for r in page.items]
    assert times == sorted(times, reverse=True)
    assert {r.camera_id for r in search_events(store, Filters(camera="yard")).items} == {"yard"}
    door = search_events(store, Filters(zone="door")).items
    assert len(door) == 4 and {r.type for r in door} == {"zone_enter"}
    crossing = search_events(store, Filters(line="gate-line", camera="gate")).items
    assert [(r.type, r.attributes["direction"]) for r in crossing] == [("line_cross", "in")]
    cars = search_events(store, Filters(label="car", type="object")).items
    assert len(cars) == 2
    window = search_events(store, Filters(since=at(15), until=at(21))).items
    assert sorted((r.camera_id, r.media_time) for r in window) == [
        ("gate", 15.0),
        ("gate", 21.0),
        ("yard", 15.0),
        ("yard", 21.0),
    ]
    # A naive time is UTC (what SQLite gives back must compare the same on both engines).
    naive = search_events(store, Filters(since=at(15).replace(tzinfo=None), until=at(21)))
    assert len(naive.items) == 4


def test_event_search_visibility_limits_cameras(store: Store) -> None:
    _fill(store)
    only_gate = search_events(store, Filters(visible=frozenset({"gate"})))
    assert {r.camera_id for r in only_gate.items} == {"gate"}
    # Asking for a camera outside the visible set finds nothing, not the other camera's rows.
    assert search_events(store, Filters(visible=frozenset({"gate"}), camera="yard")).items == []


def test_cursor_pages_cover_everything_once(store: Store) -> None:
    _fill(store)
    seen, cursor = [], None
    while True:
        page = search_events(store, Filters(), limit=4, cursor=cursor)
        seen.extend(r.id for r in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    everything = [r.id for r in search_events(store, Filters(), limit=500).items]
    assert seen == everything and len(seen) == 14


def test_bad_searches_are_clear_errors(store: Store) -> None:
    with pytest.raises(QueryError, match="limit must be between 1 and 500"):
        search_events(store, Filters(), limit=501)
    with pytest.raises(QueryError, match="cursor 'garbage' is not valid"):
        search_events(store, Filters(), cursor="garbage")
    with pytest.raises(QueryError, match="since is after until"):
        search_events(store, Filters(since=at(10), until=at(5)))


def test_track_search_by_time_overlap_and_by_zone_event(store: Store) -> None:
    _fill(store)
    overlapping = search_tracks(store, Filters(camera="gate", since=at(14), until=at(21)))
    assert sorted(r.track_id for r in overlapping.items) == [1, 2]
    in_lot = search_tracks(store, Filters(zone="lot"))
    assert sorted((r.camera_id, r.track_id) for r in in_lot.items) == [("gate", 3), ("yard", 3)]
    crossed = search_tracks(store, Filters(line="gate-line", camera="yard"))
    assert [r.track_id for r in crossed.items] == [3]


def test_users_hash_passwords_and_authenticate(store: Store) -> None:
    users = Users(store, FAST)
    alice = users.create("alice", "correct horse battery", Role.OPERATOR, ["gate"])
    with store.engine.connect() as conn:
        stored = conn.execute(text("select password_hash from users")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert users.authenticate("alice", "correct horse battery").id == alice.id  # type: ignore[union-attr]
    assert users.authenticate("alice", "wrong password!!") is None
    assert users.authenticate("nobody", "correct horse battery") is None
    assert users.get(alice.id).cameras == ["gate"]  # type: ignore[union-attr]
    with pytest.raises(UserConflict, match="username 'alice' is taken"):
        users.create("alice", "another long password", Role.VIEWER)
    with pytest.raises(UserError, match="at least 10 characters"):
        users.create("bob", "short", Role.VIEWER)
    with pytest.raises(UserError, match="username 'bad name' is not allowed"):
        users.create("bad name", "long enough password", Role.VIEWER)
    users.update(alice.id, disabled=True)
    assert users.authenticate("alice", "correct horse battery") is None


def test_first_admin_and_last_admin_protection(store: Store) -> None:
    users = Users(store, FAST)
    password = users.ensure_admin()
    assert password and len(password) >= 12
    assert users.ensure_admin() is None  # only on first start
    admin = users.by_name("admin")
    assert admin is not None and admin.role == "admin"
    assert users.authenticate("admin", password) is not None
    with pytest.raises(UserConflict, match="last active admin"):
        users.update(admin.id, role=Role.VIEWER)
    with pytest.raises(UserConflict, match="last active admin"):
        users.update(admin.id, disabled=True)


def test_env_admin_password_is_used_and_not_returned(store: Store) -> None:
    users = Users(store, FAST)
    assert users.ensure_admin("from-the-environment") is None
    assert users.authenticate("admin", "from-the-environment") is not None


def test_sessions_expire_and_end_on_logout_disable_and_password_change(store: Store) -> None:
    users = Users(store, FAST)
    bob = users.create("bob", "a long password", Role.VIEWER)
    live = users.open_session(bob, timedelta(hours=1))
    assert users.session(live.token).user.id == bob.id  # type: ignore[union-attr]
    assert users.session("not-a-token") is None
    expired = users.open_session(bob, timedelta(seconds=-1))
    assert users.session(expired.token) is None
    users.close_session(live.token)
    assert users.session(live.token) is None
    again = users.open_session(bob, timedelta(hours=1))
    users.update(bob.id, password="a new long password")
    assert users.session(again.token) is None
    third = users.open_session(bob, timedelta(hours=1))
    users.update(bob.id, disabled=True)
    assert users.session(third.token) is None
    with store.engine.connect() as conn:  # only hashes of tokens are stored
        ids = [r[0] for r in conn.execute(text("select id from sessions"))]
    assert third.token not in ids


def test_alert_review_records_who_when_why(store: Store) -> None:
    store.save_camera(Camera("gate", "Gate", "x"))
    (row,) = store.save_results(
        "gate",
        T0,
        [],
        [Event(EventType.LOITER, "gate", 5.0, 1, "person", attributes={"zone": "z"})],
    )
    alerts = Alerts(store)
    alert = alerts.create(
        Alert("loiter at door", "gate", EventType.LOITER, T0 + 5, "person", row.id)
    )
    assert alert.status == "candidate" and alert.event_id == row.id
    with pytest.raises(AlertError, match="needs a reason"):
        alerts.review(alert.id, AlertStatus.DISMISSED, "olga", "  ")
    done = alerts.review(alert.id, "dismissed", "olga", "a cleaner, expected at this hour")
    assert (done.status, done.reviewed_by, done.reason) == (
        "dismissed",
        "olga",
        "a cleaner, expected at this hour",
    )
    assert done.reviewed_at is not None
    stored = alerts.get(alert.id)
    assert stored is not None and stored.reviewed_by == "olga" and stored.reviewed_at is not None
    with pytest.raises(AlertConflict, match="already dismissed by olga"):
        alerts.review(alert.id, "acknowledged", "pete")
    with pytest.raises(AlertNotFound, match="no alert 999"):
        alerts.review(999, "acknowledged", "pete")
    other = alerts.create(Alert("loiter at door", "gate", EventType.LOITER, T0 + 6, "person"))
    acked = alerts.review(other.id, AlertStatus.ACKNOWLEDGED, "pete")  # no reason needed
    assert acked.status == "acknowledged" and acked.reason is None
    page = search_alerts(store, Filters(status="candidate"))
    assert page.items == []
    assert [a.id for a in search_alerts(store, Filters()).items] == [other.id, alert.id]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_0002_copies_zone_and_line_of_older_events(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from importlib import resources

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    url = engine_url(engine, request)
    old = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("vigil.store") / "migrations"))
    with old.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            text(
                "insert into cameras (id, name, source, created_at) values "
                "('gate', 'Gate', 'x', '2024-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "insert into events (camera_id, type, time, media_time, attributes) values "
                "('gate', 'zone_enter', '2024-01-01 00:00:01', 1.0, '{\"zone\": \"door\"}'), "
                "('gate', 'line_cross', '2024-01-01 00:00:02', 2.0, "
                '\'{"line": "l1", "direction": "in"}\')'
            )
        )
    old.dispose()
    store = Store(url)  # migrates to the newest revision
    rows = search_events(store, Filters()).items
    assert sorted((r.type, r.zone, r.line) for r in rows) == [
        ("line_cross", None, "l1"),
        ("zone_enter", "door", None),
    ]
    assert [r.type for r in search_events(store, Filters(zone="door")).items] == ["zone_enter"]
    store.close()
