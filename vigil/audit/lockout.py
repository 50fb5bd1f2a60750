"""Login lockout, decided from the audit log's own record of failed logins.

Every failed login is an `auth.login_failed` row (actor = the name tried, client = the
address), so the log already knows who is guessing. An account with `account_failures`
failures in the last `window_s` seconds (counted since its last successful login) is refused,
whatever password comes next, until the oldest of those failures leaves the window (or until a
manager unlocks it: `PATCH /api/users/{id}` with `unlock` or a new password, an `auth.unlock`
row); so is a client address with `client_failures` failures in the window, whichever accounts
it tried.
Because the count comes from the database, it survives restarts and holds across processes.
Refused attempts are audited (`auth.login_refused`) but do not count as failures.

The trade-off: whoever can reach the login form can lock an account for a while by failing on
purpose (and, behind a reverse proxy that hides client addresses, every user at once by the
address limit); the lock lifts by itself after `window_s`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import AuditRow

FAILED = "auth.login_failed"
SUCCEEDED = "auth.login"
REFUSED = "auth.login_refused"
UNLOCKED = "auth.unlock"  # a manager lifted the lock (object_id: the username)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    account_failures: int = 10
    client_failures: int = 50
    window_s: float = 900.0


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str
    retry_after_s: float

    def message(self) -> str:
        minutes = max(1, round(self.retry_after_s / 60))
        return f"{self.reason}; try again in {minutes} min, or ask an administrator"


def login_refusal(
    store: Store, policy: LockoutPolicy, username: str, client: str | None, now: datetime
) -> Refusal | None:
    """Why a login attempt for `username` from `client` must be refused now, or None."""
    now = as_utc(now)
    since = now - timedelta(seconds=policy.window_s)
    with store.session() as s:
        last_ok = s.scalar(
            select(func.max(AuditRow.at)).where(
                AuditRow.actor == username, AuditRow.action == SUCCEEDED, AuditRow.at >= since
            )
        )
        unlocked = s.scalar(
            select(func.max(AuditRow.at)).where(
                AuditRow.action == UNLOCKED, AuditRow.object_id == username, AuditRow.at >= since
            )
        )
        start = max([since, *(as_utc(t) for t in (last_ok, unlocked) if t is not None)])
        account = list(
            s.scalars(
                select(AuditRow.at)
                .where(AuditRow.actor == username, AuditRow.action == FAILED, AuditRow.at > start)
                .order_by(AuditRow.at.desc())
                .limit(policy.account_failures)
            )
        )
        if len(account) >= policy.account_failures:
            return Refusal(
                f"too many failed logins for '{username}'", _left(account[-1], policy, now)
            )
        if client is None:
            return None
        by_client = list(
            s.scalars(
                select(AuditRow.at)
                .where(AuditRow.action == FAILED, AuditRow.client == client, AuditRow.at >= since)
                .order_by(AuditRow.at.desc())
                .limit(policy.client_failures)
            )
        )
    if len(by_client) >= policy.client_failures:
        return Refusal(f"too many failed logins from {client}", _left(by_client[-1], policy, now))
    return None


def _left(oldest_counted: datetime, policy: LockoutPolicy, now: datetime) -> float:
    lifted = as_utc(oldest_counted) + timedelta(seconds=policy.window_s)
    return max(1.0, (lifted - now).total_seconds())


class LoginGate:
    """One password check at a time per account and per client address, in every process
    that shares the database: the failure count is read, the password checked and a failure
    written while the gate is held, so concurrent guesses cannot all be counted as "under the
    limit" before any of them is written.

    PostgreSQL: session advisory locks (any machine). SQLite: file locks beside the database
    file (the processes sharing a SQLite file share its machine).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._folder: Path | None = None
        if store.engine.dialect.name == "sqlite":
            database = store.engine.url.database
            if database and database != ":memory:":
                self._folder = Path(database).resolve().parent / ".vigil-login-locks"
            self._local = threading.Lock()

    @contextlib.contextmanager
    def hold(self, *names: str) -> Iterator[None]:
        keys = sorted({hashlib.sha256(n.encode()).hexdigest()[:16] for n in names})
        if self.store.engine.dialect.name == "postgresql":
            with self._advisory(keys):
                yield
        elif self._folder is not None:
            with self._files(keys):
                yield
        else:  # an in-memory database lives in this process only
            with self._local:
                yield

    @contextlib.contextmanager
    def _advisory(self, keys: list[str]) -> Iterator[None]:
        ids = [int(k, 16) - (1 << 63) for k in keys]  # signed 64-bit lock keys
        # Waiters hold no connection (they poll), so a burst of logins cannot take every
        # pooled connection while the one holding the gate needs one to finish.
        while True:
            conn = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = []
            for lock_id in ids:
                if not conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_id}):
                    break
                got.append(lock_id)
            if len(got) == len(ids):
                break
            for lock_id in got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_id})
            conn.close()
            time.sleep(random.uniform(0.005, 0.03))
        try:
            yield
        finally:
            for lock_id in reversed(ids):
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_id})
            conn.close()

    @contextlib.contextmanager
    def _files(self, keys: list[str]) -> Iterator[None]:
        assert self._folder is not None
        self._folder.mkdir(mode=0o700, exist_ok=True)
        with contextlib.ExitStack() as stack:
            for key in keys:
                fh = stack.enter_context(open(self._folder / f"{key}.lock", "a+b"))  # noqa: SIM115
                fcntl.flock(fh, fcntl.LOCK_EX)
                stack.callback(fcntl.flock, fh, fcntl.LOCK_UN)
            yield
