"""No audit row, no data; and when committed rows reach the disk.

The database is made to refuse audit rows for real (a trigger that aborts every INSERT into
audit_log, as a full disk or a revoked grant would): every audited route must then answer 503
and show nothing, the login must fail, and the live socket must close.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from tests.api.conftest import ADMIN_PASSWORD, Env, login, make_settings
from tests.api.test_routes import fill
from tests.audit.test_route_audit import BODIES, _audited_routes
from vigil.api import create_app
from vigil.api.auditing import AUDIT_DOWN
from vigil.audit.log import AuditLog, read_anchors
from vigil.audit.verify import verify_chain
from vigil.cli import app
from vigil.config import ConfigError, parse_config
from vigil.store.db import Store
from vigil.store.tables import AuditRow


def _refuse_audit_rows(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )


def _rows(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditRow)) or 0)


def test_every_audited_route_withholds_its_data_when_the_row_cannot_be_written(
    env: Env,
) -> None:
    client = TestClient(env.app)
    login(client)
    ok = client.get("/api/events", params={"camera": "lobby"})
    assert ok.status_code == 200 and ok.json()["items"]  # there is data to withhold
    _refuse_audit_rows(env.store)
    before = _rows(env.store)
    leaked = []
    for method, path in _audited_routes(env):
        if path in ("/api/logout", "/api/login"):
            continue  # below
        kwargs: dict[str, Any] = {"follow_redirects": False}
        if (method, path) in BODIES:
            kwargs["json"] = BODIES[(method, path)]
        r = client.request(method, fill(path), **kwargs)
        if r.status_code != 503 or r.json() != {"detail": AUDIT_DOWN}:
            leaked.append(f"{method} {path} -> {r.status_code}")
    assert not leaked, f"answered without an audit row: {leaked}"
    assert _rows(env.store) == before


def test_no_login_and_no_live_feed_without_an_audit_row(env: Env) -> None:
    client = TestClient(env.app)
    login(client)
    _refuse_audit_rows(env.store)
    with client.websocket_connect("/api/ws") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 1013
    fresh = TestClient(env.app)
    r = fresh.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 503 and r.json()["detail"] == AUDIT_DOWN
    assert "vigil_session" not in r.cookies


def test_the_rows_written_before_the_failure_still_verify(env: Env) -> None:
    client = TestClient(env.app)
    login(client)
    client.get("/api/events", params={"camera": "lobby"})
    _refuse_audit_rows(env.store)
    assert client.get("/api/events", params={"camera": "lobby"}).status_code == 503
    with env.store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_refused"))
    assert client.get("/api/events", params={"camera": "lobby"}).status_code == 200
    verdict = verify_chain(env.store, env.data_dir)
    assert verdict.ok, verdict.problem


def test_batched_rows_are_flushed_within_the_interval(store: Store, tmp_path: Path) -> None:
    audit = AuditLog(store, tmp_path, durability="batched", sync_interval=0.2)
    synced = audit.last_sync
    audit.append("admin", "events.search", "event", purpose="case 1")
    assert audit.last_sync == synced  # the request did not wait for the disk
    deadline = time.monotonic() + 3.0
    while audit.last_sync == synced and time.monotonic() < deadline:
        time.sleep(0.02)
    assert synced < audit.last_sync < synced + 3.0
    audit.close()
    assert read_anchors(tmp_path / "audit-anchors.log")[-1]["id"] == 1


def test_each_row_rows_are_flushed_before_append_returns(store: Store, tmp_path: Path) -> None:
    audit = AuditLog(store, tmp_path, durability="each_row")
    synced = audit.last_sync
    audit.append("admin", "events.search", "event", purpose="case 1")
    assert audit.last_sync > synced


def test_appending_after_close_starts_the_flush_again(store: Store, tmp_path: Path) -> None:
    audit = AuditLog(store, tmp_path, durability="batched", sync_interval=0.05)
    audit.append("admin", "a.one")
    audit.close()
    synced = audit.last_sync
    audit.append("admin", "a.two")
    deadline = time.monotonic() + 3.0
    while audit.last_sync == synced and time.monotonic() < deadline:
        time.sleep(0.02)
    assert audit.last_sync > synced
    audit.close()
    assert verify_chain(store, tmp_path).ok


def test_postgres_batched_appends_commit_asynchronously_and_sync_flushes(pg_url: str) -> None:
    store = Store(pg_url)
    lsn = "SELECT pg_current_wal_insert_lsn()::text, pg_current_wal_flush_lsn()::text"
    try:
        audit = AuditLog(store, None, durability="batched")
        audit.append("admin", "events.search", "event", purpose="case 1")
        with store.engine.begin() as conn:
            written = conn.execute(text(lsn)).one()[0]  # the row's WAL ends before this
        audit.sync()
        with store.engine.begin() as conn:
            flushed = conn.execute(text(lsn)).one()[1]
            behind = conn.execute(
                text("SELECT CAST(:w AS pg_lsn) - CAST(:f AS pg_lsn)"),
                {"w": written, "f": flushed},
            ).scalar_one()
        assert behind <= 0  # everything up to the row is on disk
        assert verify_chain(store, None).ok
        audit.close()
    finally:
        store.close()


def test_sync_works_with_and_without_a_write_ahead_log(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    AuditLog(store, None).append("admin", "x.y")
    store.sync()
    store.close()  # the last connection checkpoints and removes the -wal file
    assert not (tmp_path / "v.db-wal").exists()
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    store.sync()
    store.close()
    Store("sqlite://").sync()  # in memory: nothing to flush


def test_audit_durability_is_checked_in_the_config() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("audit:\n  durability: sometimes\n")
    assert "audit.durability" in str(err.value)
    with pytest.raises(ConfigError):
        parse_config("audit:\n  sync_interval_s: 0\n")
    cfg = parse_config("audit:\n  durability: each_row\n")
    assert cfg.audit.durability == "each_row" and cfg.audit.sync_interval_s == 1.0


def test_anchors_in_the_server_log_catch_an_insider_who_also_edits_the_anchor_file(
    tmp_path: Path,
) -> None:
    """The insider cuts off the tail and deletes the anchor file in the data directory; the
    anchors the server printed to its log (kept by journald or a log collector) still tell."""
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    printed: list[str] = []
    audit = AuditLog(store, tmp_path, anchor_every=10, witness=printed.append)
    for i in range(25):
        audit.append("admin", "events.search", "event", purpose=f"case {i}")
    audit.close()
    assert len(printed) == 3 and all(line.startswith("audit anchor\t{") for line in printed)
    export = tmp_path / "journal.txt"  # what `journalctl -u vigil` would show
    export.write_text(
        "Nov 27 10:00:00 host vigil[41]: Vigil is running at http://127.0.0.1:8080\n"
        + "".join(f"Nov 27 10:0{n}:00 host vigil[41]: {line}\n" for n, line in enumerate(printed))
    )
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id > 12"))
    (tmp_path / "audit-anchors.log").unlink()
    assert verify_chain(store, tmp_path).ok  # the data directory alone no longer tells
    verdict = verify_chain(store, tmp_path, export)
    assert not verdict.ok and verdict.problem is not None
    assert "journal.txt line 3" in verdict.problem and "ends at row 12" in verdict.problem
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "verify", "--data", str(tmp_path), "--anchors", str(export)])
    assert r.exit_code == 1 and "truncated" in r.output
    r = runner.invoke(
        app, ["audit", "verify", "--data", str(tmp_path), "--anchors", str(tmp_path / "nope")]
    )
    assert r.exit_code == 2 and "anchor file" in r.output and "does not exist" in r.output
    store.close()


def test_the_server_prints_its_anchors_unless_told_not_to(tmp_path: Path) -> None:
    said: list[str] = []
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    app_ = create_app(make_settings(tmp_path, announce=said.append), store=store)
    with TestClient(app_) as client:
        login(client)
    assert any(line.startswith("audit anchor\t{") for line in said)  # at shutdown
    quiet: list[str] = []
    settings = make_settings(tmp_path / "q", announce=quiet.append)
    settings.config = settings.config.model_copy(
        update={"audit": settings.config.audit.model_copy(update={"anchors_to_log": False})}
    )
    with TestClient(create_app(settings, store=store)) as client:
        login(client)
    assert not any("audit anchor" in line for line in quiet)
    store.close()


def test_an_append_survives_the_database_dropping_the_kept_connection(pg_url: str) -> None:
    """PostgreSQL restarts, idle timeouts and poolers close connections; the audit log's kept
    connection must then be replaced, not turn the next request into a 503."""
    store = Store(pg_url)
    try:
        audit = AuditLog(store, None, durability="batched")
        audit.append("admin", "a.one")
        with store.held_connection() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with store.engine.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        audit.append("admin", "a.two")
        assert _rows(store) == 2 and verify_chain(store, None).ok
        audit.close()
    finally:
        store.close()
