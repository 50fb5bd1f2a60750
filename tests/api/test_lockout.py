"""Login lockout from the audit log's record of failures: per account and per client address."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, login, make_settings
from tests.conftest import engine_url
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


async def _burst(apps: list[Any], calls: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """Every call at once, spread over the apps (each as another process would be: its own
    store, audit log and gate on the same database)."""
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://testserver")
        for a in apps
    ]
    try:
        answers = await asyncio.gather(
            *(
                clients[i % len(clients)].post(path, json=body)
                for i, (path, body) in enumerate(calls)
            )
        )
    finally:
        for c in clients:
            await c.aclose()
    return [r.status_code for r in answers]


def _apps_on_one_database(tmp_path: Path, url: str, policy: LockoutPolicy, n: int) -> list[Any]:
    apps = []
    for i in range(n):
        store = Store(url)
        app = create_app(make_settings(tmp_path / f"p{i}", login_lockout=policy), store=store)
        if not app.state.vigil.users.by_name("vic"):
            app.state.vigil.users.create("vic", PASSWORD, Role.VIEWER)
        apps.append(app)
    return apps


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_limit_holds_against_a_burst_of_guesses_from_two_processes(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    """60 wrong passwords at once, through two apps on one database, then the right one: at
    most `account_failures` were checked, and the right password is refused (before the gate:
    all 60 were counted as under the limit, 59 x 401 then 200)."""
    url = engine_url(engine, request)
    policy = LockoutPolicy(account_failures=10, client_failures=1000)
    apps = _apps_on_one_database(tmp_path, url, policy, 2)
    guesses = [("/api/login", {"username": "vic", "password": f"guess {i}"}) for i in range(60)]
    codes = asyncio.run(_burst(apps, guesses))
    assert codes.count(401) == 10 and codes.count(429) == 50, codes
    assert asyncio.run(
        _burst(apps, [("/api/login", {"username": "vic", "password": PASSWORD})])
    ) == [429]
    store = apps[0].state.vigil.store
    with store.session() as s:
        failed = s.scalars(select(AuditRow).where(AuditRow.action == "auth.login_failed")).all()
    assert len(failed) == 10
    for app in apps:
        app.state.vigil.audit.close()
        app.state.vigil.store.close()


def test_wrong_current_passwords_count_as_failed_logins_under_a_burst(
    tmp_path: Path, sqlite_store: Store
) -> None:
    """12 parallel wrong `current` passwords, then the right one: the change is refused once
    the account's limit is reached (before: no limit at all, 12 x 403 then 204)."""
    policy = LockoutPolicy(account_failures=5, client_failures=1000)
    app = _app(tmp_path, sqlite_store, policy).app
    login_client = TestClient(app)
    csrf = login(login_client, "vic", PASSWORD)
    cookie = login_client.cookies["vigil_session"]

    async def burst() -> list[int]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            cookies={"vigil_session": cookie},
            headers={"X-CSRF-Token": csrf},
        ) as c:
            wrong = [
                c.post(
                    "/api/me/password", json={"current": f"wrong {i}", "new": "a new long password"}
                )
                for i in range(12)
            ]
            codes = [r.status_code for r in await asyncio.gather(*wrong)]
            right = await c.post(
                "/api/me/password", json={"current": PASSWORD, "new": "a new long password"}
            )
            return [*codes, right.status_code]

    codes = asyncio.run(burst())
    assert codes[:12].count(403) == 5 and codes[:12].count(429) == 7, codes
    assert codes[12] == 429
    assert _login(TestClient(app), "vic", PASSWORD) == 429  # the login is locked as well
