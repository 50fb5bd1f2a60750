"""The store on both engines: migrations, writes, reads; bad databases give clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from tests.conftest import engine_url
from vigil.domain import Box, Camera, Event, EventType, Track, TrackState
from vigil.store.db import Store, StoreError


def _sample(store: Store) -> None:
    store.save_camera(Camera("gate", "Gate", "rtsp://example/gate", 51.5, -0.1))
    track = Track(7, "person", Box(10, 20, 30, 80), 0.9, TrackState.REMOVED, 1.0, 6.5, hits=12)
    events = [
        Event(
            EventType.ZONE_ENTER,
            "gate",
            2.0,
            7,
            "person",
            Box(10, 20, 30, 80),
            0.8,
            attributes={"zone": "door"},
        ),
        Event(
            EventType.OBJECT, "gate", 6.5, 7, "person", Box(10, 20, 30, 80), 0.9, start=1.0, end=6.5
        ),
    ]
    store.save_results("gate", 1_700_000_000.0, [(track, "snapshots/gate/x.jpg")], events)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_round_trip_on_both_engines(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = engine_url(engine, request)
    store = Store(url)
    _sample(store)
    assert store.count_events() == 2
    assert store.count_events(type="zone_enter") == 1
    (row,) = store.tracks("gate")
    assert (row.track_id, row.label, row.snapshot) == (7, "person", "snapshots/gate/x.jpg")
    assert row.media_end - row.media_start == pytest.approx(5.5)
    assert (row.last_seen - row.first_seen).total_seconds() == pytest.approx(5.5)
    assert row.first_seen.timestamp() == pytest.approx(1_700_000_001.0)
    store.close()
    # Re-opening migrates nothing twice and keeps the data.
    again = Store(url)
    assert again.count_events() == 2
    assert {"cameras", "tracks", "events", "alembic_version"} <= set(
        inspect(again.engine).get_table_names()
    )
    again.close()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()


def test_not_a_database_is_a_clear_error_and_file_is_untouched(tmp_path: Path) -> None:
    bad = tmp_path / "v.db"
    content = b"these are somebody's notes, not a database\n" * 50
    bad.write_bytes(content)
    with pytest.raises(StoreError, match="not a database"):
        Store(f"sqlite:///{bad}")
    assert bad.read_bytes() == content


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="database URL 'nosuch://x' is not usable"):
        Store("nosuch://x")


def test_unreachable_postgres_is_a_clear_error() -> None:
    # Port 1 on loopback: nothing listens there.
    with pytest.raises(StoreError, match="cannot open the database"):
        Store("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
