"""Users (argon2id password hashes, roles, per-camera visibility) and their login sessions."""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from vigil.domain import Role
from vigil.errors import Conflict, Invalid, NotFound
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import SessionRow, UserRow

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
USERNAME_RULE = "use 1 to 64 letters, digits or _ . @ -"
MIN_PASSWORD = 10


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # "leave this field as it is" in Users.update


class UserError(Invalid):
    """A user cannot be created or changed as asked (taken name, weak password, last admin)."""


class UserNotFound(UserError, NotFound):
    pass


class UserConflict(UserError, Conflict):
    """The change clashes with what is stored: a taken username, the last admin."""


@dataclass(frozen=True, slots=True)
class LoginSession:
    token: str  # goes into the (signed) cookie; only its hash is stored
    csrf: str
    user: UserRow
    expires_at: datetime


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


def check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise UserError(f"username '{username[:70]}' is not allowed; {USERNAME_RULE}")


class Users:
    """The users table and the sessions table behind logins."""

    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()
        # Verified against when the username is unknown, so both cases cost the same time.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    # -- users ----------------------------------------------------------------------------

    def create(
        self,
        username: str,
        password: str,
        role: Role | str,
        cameras: Sequence[str] | None = None,
    ) -> UserRow:
        check_username(username)
        check_password(password)
        row = UserRow(
            username=username,
            password_hash=self.hasher.hash(password),
            role=str(Role(role)),
            cameras=list(cameras) if cameras is not None else None,
            created_at=datetime.now(UTC),
            disabled=False,
        )
        try:
            with self.store.session() as s, s.begin():
                s.add(row)
        except IntegrityError:
            raise UserConflict(f"username '{username}' is taken; choose another") from None
        return row

    def get(self, user_id: int) -> UserRow | None:
        with self.store.session() as s:
            return s.get(UserRow, user_id)

    def by_name(self, username: str) -> UserRow | None:
        with self.store.session() as s:
            return s.scalars(select(UserRow).where(UserRow.username == username)).first()

    def all(self) -> list[UserRow]:
        with self.store.session() as s:
            return list(s.scalars(select(UserRow).order_by(UserRow.id)))

    def count(self) -> int:
        with self.store.session() as s:
            return int(s.scalar(select(func.count()).select_from(UserRow)) or 0)

    def update(
        self,
        user_id: int,
        *,
        role: Role | str | None = None,
        cameras: Sequence[str] | None | _Keep = KEEP,  # None: every camera
        disabled: bool | None = None,
        password: str | None = None,
    ) -> UserRow:
        if password is not None:
            check_password(password)
        with self.store.session() as s, s.begin():
            row = s.get(UserRow, user_id)
            if row is None:
                raise UserNotFound(f"no user {user_id}")
            was_admin = row.role == Role.ADMIN and not row.disabled
            if role is not None:
                row.role = str(Role(role))
            if cameras is not KEEP:
                row.cameras = list(cameras) if cameras is not None else None
            if disabled is not None:
                row.disabled = disabled
            if password is not None:
                row.password_hash = self.hasher.hash(password)
            still_admin = row.role == Role.ADMIN and not row.disabled
            if was_admin and not still_admin:
                others = s.scalar(
                    select(func.count())
                    .select_from(UserRow)
                    .where(UserRow.role == str(Role.ADMIN), ~UserRow.disabled, UserRow.id != row.id)
                )
                if not others:
                    raise UserConflict(
                        f"'{row.username}' is the last active admin; make another admin first"
                    )
            if row.disabled or password is not None:
                # Disabled users and changed passwords end every open session of that user.
                s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
        return row

    def authenticate(self, username: str, password: str) -> UserRow | None:
        """The user, if the name and password match and the account is enabled."""
        row = self.by_name(username)
        try:
            self.hasher.verify(row.password_hash if row else self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        if self.hasher.check_needs_rehash(row.password_hash):
            self.update(row.id, password=password)
        return row

    def ensure_admin(self, password: str | None = None) -> str | None:
        """On first start (no users): create `admin`. Returns its password if it was generated."""
        if self.count() > 0:
            return None
        generated = password is None
        secret = password if password is not None else secrets.token_urlsafe(12)
        self.create("admin", secret, Role.ADMIN)
        return secret if generated else None

    # -- sessions -------------------------------------------------------------------------

    def open_session(self, user: UserRow, lifetime: timedelta) -> LoginSession:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.store.session() as s, s.begin():
            # Expired sessions of anyone are cleared here rather than by a separate job.
            s.execute(delete(SessionRow).where(SessionRow.expires_at < now))
            s.add(
                SessionRow(
                    id=_token_id(token),
                    user_id=user.id,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return LoginSession(token, csrf, user, now + lifetime)

    def session(self, token: str) -> LoginSession | None:
        """The live session for a token: unexpired, its user existing and enabled."""
        with self.store.session() as s:
            found = s.get(SessionRow, _token_id(token))
            if found is None or as_utc(found.expires_at) < datetime.now(UTC):
                return None
            user = s.get(UserRow, found.user_id)
            if user is None or user.disabled:
                return None
            return LoginSession(token, found.csrf, user, as_utc(found.expires_at))

    def close_session(self, token: str) -> None:
        with self.store.session() as s, s.begin():
            s.execute(delete(SessionRow).where(SessionRow.id == _token_id(token)))
