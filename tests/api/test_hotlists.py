"""Hotlists over the API and the CLI: who may manage and read them, a bad file refused whole,
reading entries needs a purpose, every change audited, parallel imports lose nothing, and a
hit shows in the alert queue with the read and the entry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tests.api.conftest import Env, as_user, login
from vigil.audit.log import cli_actor
from vigil.audit.verify import verify_chain
from vigil.bus import LocalBus
from vigil.cli import app
from vigil.domain import Box, Event, EventType, Role
from vigil.rules.engine import AlertService, RuleEngine
from vigil.store.alerts import Alerts
from vigil.store.tables import AuditRow

EXPIRES = (datetime.now(UTC) + timedelta(days=90)).isoformat()
CSV = "plate,reason,source\nZG1234AB,stolen vehicle,report 114\nSK777BB,unpaid fines,tolls\n"
runner = CliRunner()


def _create(c: TestClient, name: str = "stolen", **kw: Any) -> Any:
    body = {"name": name, "legal_basis": "Road Traffic Act s. 12", "expires_at": EXPIRES, **kw}
    return c.post("/api/hotlists", json=body)


def _audit(env: Env, action: str) -> list[AuditRow]:
    with env.store.session() as s:
        return list(s.scalars(select(AuditRow).where(AuditRow.action == action)))


def test_a_supervisor_creates_imports_and_reads_with_a_purpose(env: Env) -> None:
    sup = as_user(env, "sue", Role.SUPERVISOR)
    r = _create(sup)
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["owner"], created["entries"], created["tolerance"]) == ("sue", 0, 0.6)
    hid = created["id"]
    r = sup.post(f"/api/hotlists/{hid}/entries", json={"csv": CSV})
    assert r.json() == {"added": 2, "updated": 0, "removed": 0, "total": 2}
    assert sup.get("/api/hotlists").json()[0]["entries"] == 2
    r = sup.get(f"/api/hotlists/{hid}/entries", params={"purpose": "case 2026/77"})
    assert sorted(e["plate"] for e in r.json()) == ["SK777BB", "ZG1234AB"]
    (read,) = _audit(env, "hotlists.read")
    assert (read.actor, read.purpose, read.object_id) == ("sue", "case 2026/77", str(hid))
    (imported,) = _audit(env, "hotlists.import")
    assert imported.details["added"] == 2 and imported.details["outcome"] == "ok"
    r = sup.patch(f"/api/hotlists/{hid}", json={"tolerance": 1.0})
    assert r.json()["tolerance"] == 1.0 and r.json()["entries"] == 2
    assert _audit(env, "hotlists.update")[0].details["tolerance"] == 1.0


def test_reading_entries_without_a_purpose_is_refused_and_audited(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    hid = _create(admin).json()["id"]
    bare = TestClient(env.app)
    token = bare.post(
        "/api/login", json={"username": "admin", "password": "admin-password-for-tests"}
    )
    bare.headers["X-CSRF-Token"] = token.json()["csrf_token"]
    r = bare.get(f"/api/hotlists/{hid}/entries")
    assert r.status_code in (400, 422) and "purpose" in r.text
    assert [row.details["outcome"] for row in _audit(env, "hotlists.read")] == [str(r.status_code)]


def test_who_may_manage_hotlists(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    hid = _create(admin).json()["id"]
    operator = as_user(env, "olga", Role.OPERATOR)
    limited = as_user(env, "lim", Role.SUPERVISOR, ["lobby"])
    for c in (operator,):
        assert c.get("/api/hotlists").status_code == 403
        assert c.get(f"/api/hotlists/{hid}/entries").status_code == 403
    assert _create(operator, "mine").status_code == 403
    r = _create(limited, "mine")
    assert r.status_code == 403 and "every camera" in r.json()["detail"]
    assert limited.post(f"/api/hotlists/{hid}/entries", json={"csv": CSV}).status_code == 403
    assert limited.delete(f"/api/hotlists/{hid}").status_code == 403
    assert admin.get("/api/hotlists").json()[0]["entries"] == 0
    auditor = as_user(env, "aud", Role.AUDITOR)
    assert auditor.get("/api/hotlists").status_code == 403


def test_a_bad_file_is_refused_whole_naming_its_line(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    hid = _create(admin).json()["id"]
    admin.post(f"/api/hotlists/{hid}/entries", json={"csv": CSV})
    bad = "plate,reason\nAA111,stolen car\nBB222,\n"
    r = admin.post(f"/api/hotlists/{hid}/entries", json={"csv": bad, "replace": True})
    assert r.status_code == 422 and "line 3" in r.json()["detail"]
    assert admin.get("/api/hotlists").json()[0]["entries"] == 2  # nothing changed
    assert _create(admin).status_code == 409
    r = _create(admin, "old", expires_at="2020-01-01T00:00:00Z")
    assert r.status_code == 422 and "expiry has passed" in r.json()["detail"]
    assert admin.post("/api/hotlists/999/entries", json={"csv": CSV}).status_code == 404
    assert admin.delete(f"/api/hotlists/{hid}/entries/999").status_code == 404


def test_parallel_imports_lose_no_entry(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    hid = _create(admin).json()["id"]

    def load(i: int) -> int:
        rows = "".join(f"P{i}X{j:03d},batch {i}\n" for j in range(50))
        r = admin.post(f"/api/hotlists/{hid}/entries", json={"csv": "plate,reason\n" + rows})
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(load, range(8))) == {200}
    assert admin.get("/api/hotlists").json()[0]["entries"] == 400


def test_cli_lists_are_audited_as_the_os_user_and_a_hit_reaches_the_alert_queue(env: Env) -> None:
    csv = env.data_dir / "list.csv"
    csv.write_text(CSV)
    data = ["--data", str(env.data_dir)]

    def cli(*args: str) -> Any:
        return runner.invoke(app, ["hotlist", *args, *data], env={"COLUMNS": "200"})

    r = cli("create", "stolen", "--legal-basis", "Road Traffic Act", "--expires", "2099-01-01")
    assert r.exit_code == 0, r.output
    r = cli("import", "stolen", str(csv))
    assert r.exit_code == 0 and "2 added" in r.output, r.output
    bad = env.data_dir / "bad.csv"
    bad.write_text("plate,reason\nAB1,\n")
    r = cli("import", "stolen", str(bad))
    assert r.exit_code == 2 and "line 2" in r.output and "Traceback" not in r.output
    r = cli("show", "stolen", "--purpose", "x")
    assert r.exit_code == 2 and "purpose" in r.output
    r = cli("show", "stolen", "--purpose", "case 12")
    assert r.exit_code == 0 and "ZG1234AB" in r.output and "stolen vehicle" in r.output
    r = cli("remove", "stolen", "sk-777-bb")
    assert r.exit_code == 0, r.output
    with env.store.session() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.actor == cli_actor()))
        actions = [(row.action, row.purpose) for row in rows]
    assert actions == [
        ("hotlists.create", None),
        ("hotlists.import", None),
        ("hotlists.read", "case 12"),
        ("hotlists.remove", None),
    ]
    assert verify_chain(env.store).ok

    service = AlertService(Alerts(env.store), LocalBus(), RuleEngine([]))
    ev = Event(
        EventType.PLATE_READ, "car-park", 40.0, 9, "car", Box(5, 5, 90, 60), 0.9,
        attributes={"plate": "ZG1Z34AB"},
    )  # fmt: skip
    rows = env.store.save_results("car-park", 1_767_225_600.0, [], [ev], [None])
    service.raise_for(zip([ev], rows, strict=True))
    viewer = as_user(env, "vic", Role.VIEWER, ["car-park"])
    items = viewer.get("/api/alerts").json()["items"]
    (hit,) = [a for a in items if a["rule"] == "hotlist:stolen"]
    assert hit["attributes"]["read"] == "ZG1Z34AB"
    assert hit["attributes"]["entry"]["plate"] == "ZG1234AB"
    assert hit["attributes"]["entry"]["reason"] == "stolen vehicle"
    blind = as_user(env, "bob", Role.VIEWER, ["lobby"])
    assert all(a["rule"] != "hotlist:stolen" for a in blind.get("/api/alerts").json()["items"])
