"""`vigil users`: the way back in when the admin password is lost, audited as cli:<os user>."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tests.api.conftest import ADMIN_PASSWORD, Env, login, make_settings
from vigil.api import create_app
from vigil.audit.log import cli_actor
from vigil.audit.verify import verify_chain
from vigil.cli import app
from vigil.store.db import Store
from vigil.store.tables import AuditRow

runner = CliRunner()
NEW = "a brand new long password"


def _cli(env: Env, *args: str, given: str | None = None) -> tuple[int, str]:
    r = runner.invoke(
        app, ["users", *args, "--data", str(env.data_dir)], input=given, env={"COLUMNS": "200"}
    )
    return r.exit_code, r.output


def _cli_rows(env: Env) -> list[tuple[str, str | None]]:
    with env.store.session() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.actor == cli_actor()))
        return [(r.action, r.object_id) for r in rows]


def test_add_list_disable_and_log_in_as_the_new_user(env: Env) -> None:
    code, text = _cli(env, "add", "vic", "--camera", "lobby", "--password-stdin", given=NEW)
    assert code == 0, text
    assert "created vic (viewer, sees lobby)" in text
    code, text = _cli(env, "list")
    assert code == 0 and "admin" in text and "vic" in text and "lobby" in text
    vic = TestClient(env.app)
    login(vic, "vic", NEW)
    cams = {c["id"] for c in vic.get("/api/cameras").json()}
    assert cams == {"lobby"}
    code, text = _cli(env, "disable", "vic")
    assert code == 0, text
    assert vic.get("/api/me").status_code == 401  # the session ended
    r = TestClient(env.app).post("/api/login", json={"username": "vic", "password": NEW})
    assert r.status_code == 401
    assert _cli(env, "enable", "vic")[0] == 0
    login(TestClient(env.app), "vic", NEW)
    vic = env.users.by_name("vic")
    assert vic is not None
    vic_id = str(vic.id)
    assert _cli_rows(env) == [
        ("users.create", vic_id),
        ("users.list", None),
        ("users.update", vic_id),
        ("users.update", vic_id),
    ]
    assert verify_chain(env.store, env.data_dir).ok


def test_set_password_recovers_a_locked_out_admin(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    guess = TestClient(env.app)
    for _ in range(12):
        guess.post("/api/login", json={"username": "admin", "password": "forgotten"})
    locked = guess.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert locked.status_code == 429
    code, text = _cli(env, "set-password", "admin", given=f"{NEW}\n{NEW}\n")  # hidden prompt
    assert code == 0, text
    assert admin.get("/api/me").status_code == 401  # every session of the admin ended
    login(TestClient(env.app), "admin", NEW)  # and the lockout is lifted
    assert [a for a, _ in _cli_rows(env)] == ["users.update", "auth.unlock"]


def test_mistakes_are_one_clear_line(env: Env) -> None:
    cases = [
        (("add", "vic", "--role", "boss"), NEW, "role 'boss' is not one of: viewer, operator"),
        (("add", "vic\nx"), NEW, "is not allowed; use 1 to 64 letters"),
        (("add", "vic", "--camera", "moon"), NEW, "unknown camera(s) moon; known cameras:"),
        (("add", "vic", "--password-stdin"), "short", "a password needs at least"),
        (("add", "admin", "--password-stdin"), NEW, "username 'admin' is taken"),
        (("set-password", "nobody"), NEW, "no user 'nobody'; users are: admin"),
        (("disable", "admin"), None, "'admin' is the last active admin"),
    ]
    for args, given, message in cases:
        code, text = _cli(env, *args, given=given)
        assert code != 0 and message in " ".join(text.split()), (args, text)
        assert "Traceback" not in text
    missing = runner.invoke(app, ["users", "list", "--data", "/nonexistent"])
    assert missing.exit_code != 0 and "no Vigil database in '/nonexistent'" in missing.output
    assert _cli_rows(env) == []  # nothing was done, so nothing is on the record


def test_an_admin_password_given_at_a_later_start_says_how_to_set_it(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    said: list[str] = []
    for password in ("the first admin password", "a forgotten-about new one"):
        settings = make_settings(tmp_path, admin_password=password, announce=said.append)
        with TestClient(create_app(settings, store=store)):
            pass
    store.close()
    told = [m for m in said if "VIGIL_ADMIN_PASSWORD" in m]
    assert len(told) == 1 and "vigil users set-password admin" in told[0]
