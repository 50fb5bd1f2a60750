"""`vigil users list|add|set-password|disable|enable`: managing users from the server's shell.

For the first admin password lost, or a service run without the web UI. Whoever can run this
can read the database anyway; every command is on the audit record as `cli:<os user>`, like
the web's users routes. Passwords are asked for at a hidden prompt (twice) or read from the
first line of standard input with `--password-stdin`, never taken as an argument (it would sit
in the shell history and the process list).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from vigil.audit.cli import DEFAULT_DATA, DataOpt, DbOpt, cli_record, open_store, out
from vigil.audit.lockout import UNLOCKED
from vigil.audit.log import AuditLog, cli_actor
from vigil.domain import Role
from vigil.errors import VigilError
from vigil.logtext import shown
from vigil.store.db import Store
from vigil.store.tables import CameraRow, UserRow
from vigil.store.users import Users, check_password, check_username

users_app = typer.Typer(
    help="Users: list, add, set a password, disable (audited as cli:<os user>).",
    no_args_is_help=True,
)
ROLES = ", ".join(str(r) for r in Role)
StdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="read the password from the first line of stdin"),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    check_password(secret)
    return secret


def _user(users: Users, username: str) -> UserRow:
    row = users.by_name(username)
    if row is None:
        names = ", ".join(shown(r.username) for r in users.all())
        raise VigilError(f"no user '{username}'; users are: {names}")
    return row


def check_cameras(store: Store, cameras: list[str]) -> None:
    with store.session() as s:
        known = set(s.scalars(select(CameraRow.id)))
    unknown = sorted(set(cameras) - known)
    if unknown:
        listed = ", ".join(sorted(known)) or "none yet (start `vigil serve` once)"
        raise VigilError(f"unknown camera(s) {', '.join(unknown)}; known cameras: {listed}")


def _audit(store: Store, data: Any, action: str, row: UserRow, **details: Any) -> None:
    cli_record(store, data, action, "user", row.id, details=details)


@users_app.command("list")
def list_users(data: DataOpt = DEFAULT_DATA, db: DbOpt = None) -> None:
    """Every user: role, cameras, disabled or not (never a password hash)."""
    store = open_store(data, db)
    try:
        rows = Users(store).all()
        cli_record(store, data, "users.list", "user")
    finally:
        store.close()
    table = Table(title=f"users ({len(rows)})")
    for col in ("id", "username", "role", "cameras", "disabled", "created (UTC)"):
        table.add_column(col, overflow="fold")
    for r in rows:
        cameras = "all" if r.cameras is None else ", ".join(r.cameras) or "none"
        table.add_row(
            str(r.id),
            shown(r.username),
            r.role,
            shown(cameras),
            "yes" if r.disabled else "no",
            r.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="1 to 64 letters, digits or _ . @ -")],
    role: Annotated[str, typer.Option(help=f"one of: {ROLES}")] = str(Role.VIEWER),
    camera: Annotated[
        list[str] | None,
        typer.Option("--camera", help="a camera the user sees (repeat it); default: all"),
    ] = None,
    password_stdin: StdinOpt = False,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Create a user (the password is stored as an argon2id hash only)."""
    try:
        chosen = Role(role)
    except ValueError:
        raise VigilError(f"role '{role}' is not one of: {ROLES}") from None
    check_username(username)
    store = open_store(data, db)
    try:
        if camera:
            check_cameras(store, camera)
        secret = _password(password_stdin)
        row = Users(store).create(username, secret, chosen, camera or None)
        _audit(store, data, "users.create", row, username=username, role=role, cameras=camera)
    finally:
        store.close()
    seen = ", ".join(camera) if camera else "every camera"
    out.print(f"created {shown(username)} ({chosen}, sees {shown(seen)})", highlight=False)


@users_app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="whose password (e.g. admin)")],
    password_stdin: StdinOpt = False,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Set a user's password: their sessions end and a login lockout is lifted (the way back
    in when the admin password is lost; VIGIL_ADMIN_PASSWORD applies at the first start only)."""
    store = open_store(data, db)
    try:
        users = Users(store)
        row = _user(users, username)
        users.update(row.id, password=_password(password_stdin))
        _audit(store, data, "users.update", row, changed=["password"])
        AuditLog(store, data).append(
            cli_actor(), UNLOCKED, "user", row.username, client="cli", details={"user_id": row.id}
        )
    finally:
        store.close()
    out.print(f"password of {shown(username)} set; their sessions ended", highlight=False)


def _set_disabled(username: str, disabled: bool, data: Any, db: str | None) -> None:
    store = open_store(data, db)
    try:
        users = Users(store)
        row = _user(users, username)
        users.update(row.id, disabled=disabled)
        _audit(store, data, "users.update", row, changed=["disabled"], disabled=disabled)
    finally:
        store.close()


@users_app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="who can no longer log in")],
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Disable a user: they cannot log in and their sessions end (the last admin cannot be)."""
    _set_disabled(username, True, data, db)
    out.print(f"{shown(username)} disabled; their sessions ended", highlight=False)


@users_app.command("enable")
def enable(
    username: Annotated[str, typer.Argument(help="who may log in again")],
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Enable a disabled user again."""
    _set_disabled(username, False, data, db)
    out.print(f"{shown(username)} enabled", highlight=False)
