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

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

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
