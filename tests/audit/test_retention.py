"""Retention: old rows and files go, young ones stay, the audit chain stays verifiable.

A fake clock (`now`) decides what is old; every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from vigil.audit.log import AuditLog
from vigil.audit.retention import SYSTEM_ACTOR, PurgeReport, RetentionJob, purge
from vigil.audit.verify import PURGE_ACTION, verify_chain
from vigil.cli import app
from vigil.config import RetentionConfig, parse_config
from vigil.domain import Alert, AlertStatus, Box, Camera, Event, EventType, Track, TrackState
from vigil.errors import ConfigError
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.hotlists import Hotlists, parse_csv
from vigil.store.tables import AlertRow, AuditRow, EventRow, TrackRow

DAY = 86400.0
T0 = 1_700_000_000.0
NOW = datetime.fromtimestamp(T0 + 400 * DAY, tz=UTC)
AGES = {"old": 400, "mid": 60, "young": 20}  # days before NOW
runner = CliRunner()


@dataclass
class World:
    store: Store
    data: Path
    url: str


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vigil.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    store = Store(url)
    store.save_camera(Camera("cam", "Cam", "cam.mp4"))
    _fill(store, tmp_path)
    yield World(store, tmp_path, url)
    store.close()


def _fill(store: Store, data: Path) -> None:
    alerts = Alerts(store)
    for name, age in AGES.items():
        origin = NOW.timestamp() - age * DAY - 30.0
        shot = f"snapshots/cam/{name}.jpg"
        (data / shot).parent.mkdir(parents=True, exist_ok=True)
        (data / shot).write_bytes(b"jpeg")
        track = Track(1, "person", Box(1, 2, 3, 4), 0.9, TrackState.REMOVED, 0.0, 10.0)
        ev = Event(EventType.ZONE_ENTER, "cam", 5.0, 1, "person", attributes={"zone": "z"})
        (row,) = store.save_results("cam", origin, [(track, shot)], [ev], [shot])
        own = f"snapshots/cam/{name}-alert.jpg"  # the candidate's own picture
        (data / own).write_bytes(b"jpeg")
        for status in ("candidate", "acknowledged"):
            pic = own if status == "candidate" else shot
            a = alerts.create(
                Alert("r", "cam", EventType.ZONE_ENTER, origin + 5, "person", row.id, pic)
            )
            if status == "acknowledged":
                alerts.review(a.id, "acknowledged", "boss")
    orphan = data / "snapshots" / "cam" / "orphan.jpg"
    orphan.write_bytes(b"jpeg")
    old = datetime.fromtimestamp(T0, tz=UTC)
    for i in range(6):  # three old audit rows, three young ones (anchored every 2)
        at = old if i < 3 else NOW - timedelta(days=1)
        AuditLog(store, data, anchor_every=2, clock=lambda at=at: at).append(
            "alice", "events.read", "event", i
        )


def _rows(store: Store, model: type) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _snapshots(store: Store) -> set[str | None]:
    with store.session() as s:
        return {*s.scalars(select(EventRow.snapshot)), *s.scalars(select(TrackRow.snapshot))}


def test_old_rows_and_files_go_young_ones_stay(world: World) -> None:
    store, data = world.store, world.data
    report = purge(store, data, RetentionConfig(), AuditLog(store, data), NOW)
    assert (report.events, report.tracks) == (1, 1)  # the 400-day-old ones (limit 90)
    assert report.alerts == 1 and report.alerts_held == 1  # the old candidate waits
    assert report.audit_rows == 3 and report.audit_through_id == 3
    assert _rows(store, EventRow) == 2 and _rows(store, TrackRow) == 2
    with store.session() as s:
        alerts = {(a.status, a.time.year) for a in s.scalars(select(AlertRow))}
        statuses = sorted(a.status for a in s.scalars(select(AlertRow)))
    assert statuses == ["acknowledged", "acknowledged", "candidate", "candidate", "candidate"]
    assert ("candidate", 2023) in alerts  # the unreviewed old candidate is held
    # The 60-day-old rows stay but lose their picture (limit 30); the 20-day-old keep it.
    assert _snapshots(store) == {None, "snapshots/cam/young.jpg"}
    assert not (data / "snapshots/cam/mid.jpg").exists()
    assert (data / "snapshots/cam/young.jpg").exists()
    assert not (data / "snapshots/cam/old.jpg").exists()
    # The held candidates keep their pictures; the orphan (written just now) is not old yet.
    assert all((data / f"snapshots/cam/{age}-alert.jpg").exists() for age in AGES)
    assert (data / "snapshots/cam/orphan.jpg").exists()
    assert report.snapshot_files == 2 and report.snapshot_refs == 3


def test_audit_verify_passes_after_purges_and_the_purge_is_audited(world: World) -> None:
    store, data = world.store, world.data
    purge(store, data, RetentionConfig(), AuditLog(store, data), NOW, actor="cli:tester")
    verdict = verify_chain(store, data)
    assert verdict.ok, verdict.problem
    assert verdict.first_id == 4 and verdict.rows == 4
    with store.session() as s:
        row = s.scalars(select(AuditRow).where(AuditRow.action == PURGE_ACTION)).one()
    assert row.actor == "cli:tester" and row.object_type == "retention"
    assert row.details["through_id"] == 3 and row.details["counts"]["events"] == 1
    assert row.details["counts"]["audit_rows"] == 3
    # A year later the first purge row is old too: a second purge leaves a verifiable chain.
    later = NOW + timedelta(days=800)
    AuditLog(store, data).append("bob", "events.read", "event", 9)
    second = purge(store, data, RetentionConfig(), AuditLog(store, data), later)
    assert second.audit_rows >= 1
    verdict = verify_chain(store, data)
    assert verdict.ok, verdict.problem
    result = runner.invoke(app, ["audit", "verify", "--data", str(data), "--db", world.url])
    assert result.exit_code == 0, result.output


def test_dry_run_deletes_nothing(world: World) -> None:
    store, data = world.store, world.data
    files = sorted(p.name for p in (data / "snapshots/cam").iterdir())
    before = [_rows(store, m) for m in (EventRow, TrackRow, AlertRow, AuditRow)]
    report = purge(store, data, RetentionConfig(), AuditLog(store, data), NOW, dry_run=True)
    assert report.dry_run and report.events == 1 and report.audit_rows == 3
    assert report.snapshot_files == 2 and report.snapshot_refs == 3
    assert [_rows(store, m) for m in (EventRow, TrackRow, AlertRow, AuditRow)] == before
    assert sorted(p.name for p in (data / "snapshots/cam").iterdir()) == files


def test_old_orphan_files_go(world: World) -> None:
    store, data = world.store, world.data
    later = datetime.now(UTC) + timedelta(days=31)  # the orphan was written 31 days ago
    report = purge(store, data, RetentionConfig(), AuditLog(store, data), later)
    assert not (data / "snapshots/cam/orphan.jpg").exists()
    assert report.snapshot_files >= 1
    assert verify_chain(store, data).ok


def test_nothing_due_writes_no_row_from_the_job(world: World) -> None:
    store, data = world.store, world.data
    early = datetime.fromtimestamp(T0, tz=UTC)
    before = _rows(store, AuditRow)
    report = purge(store, data, RetentionConfig(), AuditLog(store, data), early, record_empty=False)
    assert report.total == 0 and _rows(store, AuditRow) == before


def test_cli_prints_the_counts(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    store.save_camera(Camera("cam", "Cam", "cam.mp4"))
    _fill(store, tmp_path)
    store.close()
    cfg = tmp_path / "vigil.yml"
    cfg.write_text("retention:\n  audit: 200\n", encoding="utf-8")
    args = ["retention", "run", "--data", str(tmp_path), "--config", str(cfg)]
    dry = runner.invoke(app, [*args, "--dry-run"], env={"COLUMNS": "200"})
    assert dry.exit_code == 0, dry.output
    assert "would delete" in dry.output and "audit rows" in dry.output
    assert (tmp_path / "snapshots/cam/old.jpg").exists()
    real = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert real.exit_code == 0 and "deleted" in real.output
    check = runner.invoke(app, ["audit", "verify", "--data", str(tmp_path)])
    assert check.exit_code == 0, check.output


def test_audit_retention_under_six_months_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("retention:\n  snapshots: 7\n  audit: 90\n")
    msg = str(err.value)
    assert "line 3" in msg and "183 days" in msg and "Art. 26" in msg and "(got 90)" in msg
    ok = parse_config("retention:\n  audit: 183\n").retention
    assert (ok.audit, ok.snapshots, ok.events, ok.alerts) == (183, 30, 90, 365)


def test_the_job_runs_in_a_thread_and_stops(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    store.save_camera(Camera("cam", "Cam", "cam.mp4"))
    _fill(store, tmp_path)
    job = RetentionJob(store, tmp_path, RetentionConfig(), interval=3600, clock=lambda: NOW)
    job.start()
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while job.runs == 0 and datetime.now(UTC) < deadline:
        threading.Event().wait(0.02)
    job.stop()
    assert job.runs == 1 and not job._thread.is_alive()
    with store.session() as s:
        actors = set(s.scalars(select(AuditRow.actor).where(AuditRow.action == PURGE_ACTION)))
    assert actors == {SYSTEM_ACTOR}
    assert verify_chain(store, tmp_path).ok
    store.close()


def test_reviewed_status_is_not_candidate() -> None:
    assert str(AlertStatus.CANDIDATE) == "candidate"  # the purge's held-alert rule relies on it


def test_plate_reads_that_hit_nothing_go_after_their_own_days(world: World) -> None:
    """A plate read is personal data on a short lease: 30 days by default unless it raised an
    alert (then it stays like other events). Other events of the same age stay."""
    store, data = world.store, world.data
    ids = {}
    for name, age in (("stale", 45), ("hit", 45), ("fresh", 10)):
        shot = f"snapshots/cam/plate-{name}.jpg"
        (data / shot).write_bytes(b"jpeg")
        ev = Event(EventType.PLATE_READ, "cam", 5.0, 7, "car", attributes={"plate": "RK755AJ"})
        (row,) = store.save_results("cam", NOW.timestamp() - age * DAY, [], [ev], [shot])
        ids[name] = row.id
    Alerts(store).create(
        Alert("hotlist", "cam", EventType.PLATE_READ, NOW.timestamp() - 45 * DAY, "car", ids["hit"])
    )
    before = _rows(store, EventRow)
    dry = purge(store, data, RetentionConfig(), AuditLog(store, data), NOW, dry_run=True)
    assert dry.plate_reads == 1 and _rows(store, EventRow) == before
    report = purge(store, data, RetentionConfig(), AuditLog(store, data), NOW)
    assert report.plate_reads == 1
    with store.session() as s:
        left = set(s.scalars(select(EventRow.id).where(EventRow.type == "plate_read")))
    assert left == {ids["hit"], ids["fresh"]}
    assert not (data / "snapshots/cam/plate-stale.jpg").exists()
    assert (data / "snapshots/cam/plate-fresh.jpg").exists()
    assert _rows(store, EventRow) == before - 1 - 1  # and the 400-day-old zone event
    longer = RetentionConfig(plate_reads=60)
    assert purge(store, data, longer, AuditLog(store, data), NOW).plate_reads == 0


def test_expired_hotlists_and_entries_go_and_the_purge_records_it(world: World) -> None:
    store, data = world.store, world.data
    lists = Hotlists(store)
    now = datetime.now(UTC)
    short = lists.create("short", "ada", "a court order", now + timedelta(days=10))
    kept = lists.create("kept", "ada", "a court order", now + timedelta(days=100))
    csv = "plate,reason,expiry\nAB123CD,stolen,{0}\nXY999ZZ,stolen,\n"
    lists.load(short.id, parse_csv(csv.format("")), replace=False)
    soon = (now + timedelta(days=5)).date().isoformat()
    lists.load(kept.id, parse_csv(csv.format(soon)), replace=False)
    later = now + timedelta(days=20)
    dry = purge(store, data, RetentionConfig(), AuditLog(store, data), later, dry_run=True)
    assert (dry.hotlists, dry.hotlist_entries) == (1, 3)
    assert len(lists.all()) == 2
    report = purge(store, data, RetentionConfig(), AuditLog(store, data), later)
    assert (report.hotlists, report.hotlist_entries) == (1, 3)
    assert [(r.name, n) for r, n in lists.all()] == [("kept", 1)]
    with store.session() as s:
        row = s.scalars(select(AuditRow).where(AuditRow.action == PURGE_ACTION)).one()
    assert row.details["counts"]["hotlists"] == 1 and row.details["counts"]["hotlist_entries"] == 3


def test_units_positions_go_after_their_own_days_and_the_purge_records_it(world: World) -> None:
    from vigil.domain import Position
    from vigil.incidents.units import Units

    store, data = world.store, world.data
    units = Units(store, clock=lambda: NOW.timestamp(), retention_days=30)  # to store old ones
    unit = units.create("A-1", "foot").id
    ages = (8.0, 6.0, 0.5)  # days: the first is past the default 7
    units.report(unit, [Position(52.0, 4.0, NOW.timestamp() - d * DAY) for d in ages], "app")
    report = purge(store, data, RetentionConfig(), AuditLog(store, data), NOW)
    assert report.positions == 1
    assert len(units.history(unit, NOW - timedelta(days=30))) == 2
    assert units.get(unit).lat == 52.0  # its newest position is young: still shown
    week = purge(store, data, RetentionConfig(positions=1), AuditLog(store, data), NOW)
    assert week.positions == 1
    with store.session() as s:
        rows = list(s.scalars(select(AuditRow).where(AuditRow.action == PURGE_ACTION)))
    assert [r.details["counts"]["positions"] for r in rows] == [1, 1]


def test_webhook_deliveries_go_with_the_events_they_carried_unless_still_to_be_sent(
    world: World,
) -> None:
    from vigil.domain import DeliveryState
    from vigil.store.tables import DeliveryRow

    store, data = world.store, world.data
    old, young = NOW - timedelta(days=100), NOW - timedelta(days=10)  # events: 90 days
    rows = [
        ("old-delivered", old, DeliveryState.DELIVERED),
        ("old-dead", old, DeliveryState.DEAD),
        ("old-pending", old, DeliveryState.PENDING),  # still to be sent: it waits
        ("young-delivered", young, DeliveryState.DELIVERED),
    ]
    with store.session() as s, s.begin():
        for key, at, state in rows:
            s.add(DeliveryRow(
                key=key, webhook="dispatch", event="event.zone_enter", object_id=1,
                body='{"plate": "AB12CDE"}', state=state, attempts=1, created_at=at,
                updated_at=at,
            ))  # fmt: skip
    dry = purge(store, data, RetentionConfig(), AuditLog(store, data), NOW, dry_run=True)
    assert dry.webhook_deliveries == 2
    report = purge(store, data, RetentionConfig(), AuditLog(store, data), NOW)
    assert report.webhook_deliveries == 2
    with store.session() as s:
        left = set(s.scalars(select(DeliveryRow.key)))
        row = s.scalars(select(AuditRow).where(AuditRow.action == PURGE_ACTION)).one()
    assert left == {"old-pending", "young-delivered"}
    assert row.details["counts"]["webhook_deliveries"] == 2


# --- recorded footage: tiers, quotas, evidence locks --------------------------------------


@dataclass
class Reel:
    store: Store
    data: Path
    body: bytes  # one real fMP4 segment's bytes; every segment here holds a copy
    ids: dict[str, int]


def _segment(reel: Reel, camera: str, name: str, end: float, length: float = 10.0) -> int:
    """A closed segment of `camera` of `length` seconds that ended at `end`."""
    from vigil.recording.index import Recordings

    rel = f"recordings/{camera}/day/{name}.mp4"
    (reel.data / rel).parent.mkdir(parents=True, exist_ok=True)
    (reel.data / rel).write_bytes(reel.body)
    index = Recordings(reel.store)
    seg = index.open_segment(camera, end - length, rel, "h264")
    index.close_segment(seg.id, end, 100, len(reel.body), "0" * 64)
    reel.ids[name] = seg.id
    return seg.id


def _event_at(store: Store, camera: str, t: float) -> None:
    store.save_results(camera, t, [], [Event(EventType.OBJECT, camera, 0.0, 1, "person")], [None])


@pytest.fixture(params=["sqlite", "postgresql"])
def reel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Reel]:
    from tests.conftest import PERSON_CLIP, engine_url
    from tests.recording.segments import remux

    url = engine_url(request.param, request)
    store = Store(url)
    for cam in ("cam", "full"):
        store.save_camera(Camera(cam, cam, f"{cam}.mp4"))
    remux(PERSON_CLIP, tmp_path / "one.mp4", 0.0, 1.0)
    yield Reel(store, tmp_path, (tmp_path / "one.mp4").read_bytes(), {})
    store.close()


CAMERAS = parse_config(
    "cameras:\n"
    "  - {id: cam, source: cam.mp4, recording: {pre_roll_s: 5, post_roll_s: 10}}\n"
    "  - {id: full, source: full.mp4, recording: {quota_mb: 0.1}}\n"
).cameras


def _kept(reel: Reel) -> set[str]:
    from vigil.store.tables import SegmentRow

    with reel.store.session() as s:
        ids = set(s.scalars(select(SegmentRow.id)))
    on_disk = {p.stem for p in (reel.data / "recordings").rglob("*.mp4")}
    rows = {name for name, i in reel.ids.items() if i in ids}
    assert rows == on_disk, "every row names a file and every file has its row"
    return rows


def _purge(reel: Reel, dry_run: bool = False, now: datetime = NOW) -> PurgeReport:
    log = AuditLog(reel.store, reel.data)
    return purge(reel.store, reel.data, RetentionConfig(), log, now, dry_run, cameras=CAMERAS)


def test_footage_goes_by_its_tier_and_a_lock_holds_it(reel: Reel) -> None:
    """recordings 7 days, event_recordings 30 (the defaults); the camera's roll 5 s / 10 s."""
    from vigil.recording.locks import Locks

    old, ten = NOW.timestamp() - 40 * DAY, NOW.timestamp() - 10 * DAY
    ends = {"old": old, "old-event": old - 3600, "locked": old - 7200, "young": NOW.timestamp()
            - 2 * DAY, "plain": ten, "inside": ten - 3600, "pre-roll": ten - 7200,
            "too-far": ten - 3 * 3600, "alerted": ten - 4 * 3600}  # fmt: skip
    for name, end in ends.items():
        _segment(reel, "cam", name, end)
    _event_at(reel.store, "cam", ends["inside"] - 7)
    _event_at(reel.store, "cam", ends["pre-roll"] + 4)  # its footage starts 5 s before it
    _event_at(reel.store, "cam", ends["too-far"] + 7)
    alert = Alert("r", "cam", EventType.OBJECT, ends["alerted"] - 10 - 9, "person")
    Alerts(reel.store).create(alert)  # its footage runs 10 s after it
    _event_at(reel.store, "cam", ends["old-event"] - 5)  # past event_recordings
    locks = Locks(reel.store, clock=lambda: NOW.timestamp())
    lock = locks.lock("cam", ends["locked"] - 3, ends["locked"] + 60, "sue", "case 77")
    dry = _purge(reel, dry_run=True)
    assert (dry.recording_segments, dry.recordings_held, dry.recording_quota) == (4, 1, 0)
    assert dry.recording_bytes == 4 * len(reel.body) and dry.total >= 4
    assert len(_kept(reel)) == len(ends)  # a dry run deletes nothing
    report = _purge(reel)
    assert (report.recording_segments, report.recordings_held) == (4, 1)
    assert _kept(reel) == {"locked", "young", "inside", "pre-roll", "alerted"}
    with reel.store.session() as s:
        row = s.scalars(select(AuditRow).where(AuditRow.action == PURGE_ACTION)).one()
    counts = row.details["counts"]
    assert (counts["recording_segments"], counts["recordings_held"]) == (4, 1)
    assert counts["recording_bytes"] == 4 * len(reel.body)
    locks.unlock(lock.id, "sue", "the case is closed")
    assert _purge(reel).recording_segments == 1 and "locked" not in _kept(reel)
    later = NOW + timedelta(days=25)  # the event tier has passed too
    assert _purge(reel, now=later).recording_segments == 4 and _kept(reel) == set()
    assert verify_chain(reel.store, reel.data).ok


def test_a_camera_over_its_quota_loses_its_oldest_unlocked_footage(reel: Reel) -> None:
    from vigil.recording.index import Recordings
    from vigil.recording.locks import Locks

    size = len(reel.body)
    fits = int(0.1 * 1_000_000) // size  # segments of this size within 0.1 MB
    t = NOW.timestamp() - 3600
    names = [f"s{i:02d}" for i in range(fits + 3)]
    for i, name in enumerate(names):
        _segment(reel, "full", name, t + 10 * i)
    rel = "recordings/full/day/open.mp4"
    open_one = Recordings(reel.store).open_segment("full", t + 1000, rel, "h264")
    (reel.data / rel).write_bytes(reel.body)
    reel.ids["open"] = open_one.id
    Locks(reel.store).lock("full", t - 5, t - 1, "sue", "the first one")  # holds s00
    _segment(reel, "cam", "other", t)  # another camera's footage counts for it, not here
    report = _purge(reel)
    assert (report.recording_quota, report.recording_segments) == (3, 0)
    assert report.recording_bytes == 3 * size
    kept = _kept(reel)
    assert {"s01", "s02", "s03"}.isdisjoint(kept) and {"s00", "s04", "other", "open"} <= kept
    assert Recordings(reel.store).get(open_one.id).state == "open"
    assert _purge(reel).recording_quota == 0  # it fits now


def test_a_crash_between_rows_and_files_leaves_no_lie(reel: Reel) -> None:
    """The journal names the files a purge deletes; rows go before files, so a crash in
    between leaves files no row names, and the next run removes them."""
    from vigil.recording.footage import JOURNAL
    from vigil.store.tables import SegmentRow

    old = NOW.timestamp() - 40 * DAY
    for name in ("a", "b", "c"):
        _segment(reel, "cam", name, old - 100 * ord(name))
    paths = [f"recordings/cam/day/{n}.mp4" for n in ("a", "b")]
    journal = reel.data / f"{JOURNAL}-4242"  # the crashed process's
    journal.write_text("\n".join(paths) + "\n", encoding="utf-8")
    with reel.store.session() as s, s.begin():  # the crashed run deleted a's row, not b's
        s.execute(delete(SegmentRow).where(SegmentRow.id == reel.ids["a"]))
    assert (reel.data / paths[0]).is_file()  # a file no row names: disk, not a lie
    report = _purge(reel, now=datetime.fromtimestamp(old - 86400, tz=UTC))  # nothing is old
    assert report.recording_segments == 0
    assert not (reel.data / paths[0]).exists() and not journal.exists()
    assert _kept(reel) == {"b", "c"}  # b's row was still there: its file stays
    assert _purge(reel).recording_segments == 2 and _kept(reel) == set()
    assert not list((reel.data / "recordings").glob(".purge-journal*"))  # none left behind
