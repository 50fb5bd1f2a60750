"""Login lockout from the audit log's record of failures: per account and per client address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, login, make_settings
from vigil.api import create_app
from vigil.audit.lockout import LockoutPolicy, login_refusal
from vigil.audit.log import AuditLog
from vigil.audit.verify import verify_chain
from vigil.domain import Role
from vigil.store.db import Store
from vigil.store.tables import AuditRow


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    yield s
    s.close()


def _app(tmp_path: Path, store: Store, policy: LockoutPolicy) -> TestClient:
    app = create_app(make_settings(tmp_path, login_lockout=policy), store=store)
    if not app.state.vigil.users.by_name("vic"):
        app.state.vigil.users.create("vic", PASSWORD, Role.VIEWER)
    return TestClient(app)


def _login(client: TestClient, username: str, password: str) -> int:
    r = client.post("/api/login", json={"username": username, "password": password})
    return r.status_code


def test_an_account_is_locked_after_repeated_failures_even_for_the_right_password(
    tmp_path: Path, sqlite_store: Store
) -> None:
    client = _app(tmp_path, sqlite_store, LockoutPolicy(account_failures=5, client_failures=50))
    assert [_login(client, "admin", "guess") for _ in range(5)] == [401] * 5
    r = client.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 429
    assert r.json()["detail"].startswith("too many failed logins for 'admin'; try again in ")
    assert 800 <= int(r.headers["retry-after"]) <= 900
    assert "vigil_session" not in r.cookies
    # Other accounts from the same address are not affected.
    assert _login(client, "vic", PASSWORD) == 200
    with sqlite_store.session() as s:
        refused = s.scalars(select(AuditRow).where(AuditRow.action == "auth.login_refused")).one()
    assert refused.actor == "admin" and "too many failed logins" in refused.details["reason"]
    assert verify_chain(sqlite_store, tmp_path).ok


def test_a_successful_login_starts_the_count_again(tmp_path: Path, sqlite_store: Store) -> None:
    client = _app(tmp_path, sqlite_store, LockoutPolicy(account_failures=5, client_failures=50))
    assert [_login(client, "vic", "guess") for _ in range(4)] == [401] * 4
    assert _login(client, "vic", PASSWORD) == 200
    assert [_login(client, "vic", "guess") for _ in range(4)] == [401] * 4
    assert _login(client, "vic", PASSWORD) == 200


def test_the_lock_lifts_when_the_failures_leave_the_window(
    tmp_path: Path, sqlite_store: Store
) -> None:
    client = _app(tmp_path, sqlite_store, LockoutPolicy(account_failures=2, window_s=600.0))
    now = [datetime.now(UTC)]
    client.app.state.vigil.audit.clock = lambda: now[0]  # type: ignore[attr-defined]
    assert [_login(client, "vic", "guess") for _ in range(2)] == [401, 401]
    assert _login(client, "vic", PASSWORD) == 429
    now[0] += timedelta(seconds=599)
    assert _login(client, "vic", PASSWORD) == 429  # still inside the window
    now[0] += timedelta(seconds=2)
    assert _login(client, "vic", PASSWORD) == 200


def test_an_address_that_guesses_many_names_is_refused(tmp_path: Path, sqlite_store: Store) -> None:
    client = _app(tmp_path, sqlite_store, LockoutPolicy(account_failures=5, client_failures=3))
    assert [_login(client, name, "guess") for name in ("root", "guest", "operator")] == [401] * 3
    r = client.post("/api/login", json={"username": "vic", "password": PASSWORD})
    assert r.status_code == 429 and "from testclient" in r.json()["detail"]


def test_the_lock_survives_a_restart_and_the_form_says_so(
    tmp_path: Path, sqlite_store: Store
) -> None:
    client = _app(tmp_path, sqlite_store, LockoutPolicy(account_failures=3))
    assert [_login(client, "vic", "guess") for _ in range(3)] == [401] * 3
    again = _app(tmp_path, sqlite_store, LockoutPolicy(account_failures=3))  # a new process
    r = again.post(
        "/api/login",
        data={"username": "vic", "password": PASSWORD, "next": "/search"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login?locked=1")
    page = again.get(r.headers["location"])
    assert "Too many failed logins" in page.text


def test_refusal_reads_the_log_on_both_engines(store: Store) -> None:
    """The count compares stored times with now: naive on SQLite, aware on PostgreSQL."""
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    times = iter([now - timedelta(seconds=s) for s in (1000, 600, 300, 120)])
    audit = AuditLog(store, None, clock=lambda: next(times))
    for _ in range(4):
        audit.append("mallory", "auth.login_failed", "user", client="10.0.0.9")
    policy = LockoutPolicy(account_failures=3, client_failures=10, window_s=900)
    refusal = login_refusal(store, policy, "mallory", "10.0.0.9", now)
    assert refusal is not None and "'mallory'" in refusal.reason
    assert refusal.retry_after_s == pytest.approx(300)  # the failure of 600 s ago leaves first
    assert login_refusal(store, policy, "alice", "10.0.0.9", now) is None
    strict = LockoutPolicy(account_failures=10, client_failures=3, window_s=900)
    by_address = login_refusal(store, strict, "alice", "10.0.0.9", now)
    assert by_address is not None and "from 10.0.0.9" in by_address.reason
    assert login_refusal(store, strict, "alice", "10.0.0.10", now) is None


def test_a_manager_lifts_the_lock_at_once(tmp_path: Path, sqlite_store: Store) -> None:
    client = _app(tmp_path, sqlite_store, LockoutPolicy(account_failures=3))
    assert [_login(client, "vic", "guess") for _ in range(3)] == [401] * 3
    assert _login(client, "vic", PASSWORD) == 429
    admin = TestClient(client.app)
    login(admin)
    vic = client.app.state.vigil.users.by_name("vic")
    r = admin.patch(f"/api/users/{vic.id}", json={"unlock": True})
    assert r.status_code == 200, r.text
    assert _login(client, "vic", PASSWORD) == 200
    with sqlite_store.session() as s:
        row = s.scalars(select(AuditRow).where(AuditRow.action == "auth.unlock")).one()
    assert (row.actor, row.object_id, row.details) == ("admin", "vic", {"user_id": vic.id})
    # Failures after the unlock count again, from zero.
    assert [_login(client, "vic", "guess") for _ in range(2)] == [401] * 2
    assert _login(client, "vic", PASSWORD) == 200
