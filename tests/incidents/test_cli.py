"""`vigil units` and `vigil incidents`: create, assign, status, list, show; clear errors for a
wrong kind, status or callsign; every command on the audit record as cli:<os user>."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from vigil.audit.log import cli_actor
from vigil.cli import app
from vigil.domain import Position, Role
from vigil.incidents.incidents import Incidents
from vigil.incidents.units import Units
from vigil.store.db import Store
from vigil.store.tables import AuditRow
from vigil.store.users import Users

runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    Users(store).create("anna", "a long test password", Role.FIELD)
    store.close()
    return tmp_path


def cli(data: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "--data", str(data)], env={"COLUMNS": "200"})


def test_units_from_the_shell_are_audited(data: Path) -> None:
    r = cli(data, "units", "create", "ALPHA-1", "--kind", "car")
    assert r.exit_code == 0 and "ALPHA-1 (car) created" in r.output, r.output
    r = cli(data, "units", "assign", "ALPHA-1", "anna")
    assert r.exit_code == 0 and "carried by anna" in r.output
    r = cli(data, "units", "status", "ALPHA-1", "off_duty")
    assert r.exit_code == 0 and "off_duty" in r.output
    r = cli(data, "units", "list", "--json")
    assert r.exit_code == 0
    unit = json.loads(r.output.strip().splitlines()[0])
    assert (unit["callsign"], unit["user"], unit["status"]) == ("ALPHA-1", "anna", "off_duty")
    store = Store(f"sqlite:///{data / 'vigil.db'}")
    try:
        with store.session() as s:
            rows = list(s.scalars(select(AuditRow).where(AuditRow.actor == cli_actor())))
    finally:
        store.close()
    assert [r.action for r in rows] == [
        "units.create",
        "units.change",
        "units.change",
        "units.list",
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["units", "create", "A-2", "--kind", "horse"], "is not a kind of unit; use one of foot"),
        (["units", "create", "bad callsign!"], "is not a callsign"),
        (["units", "status", "ALPHA-1", "asleep"], "is not a unit status"),
        (["units", "assign", "NOPE", "anna"], "no unit 'NOPE'"),
        (["units", "assign", "ALPHA-1", "ghost"], "no user 'ghost'"),
        (["units", "create", "ALPHA-1"], "callsign 'ALPHA-1' is taken"),
        (["incidents", "show", "99"], "no incident 99"),
        (["incidents", "list", "--state", "sleeping"], "a state is one of open"),
    ],
)
def test_mistakes_are_one_line(data: Path, args: list[str], says: str) -> None:
    assert cli(data, "units", "create", "ALPHA-1").exit_code == 0
    r = cli(data, *args)
    assert r.exit_code == 2, r.output
    assert says in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1, r.output


def test_incidents_list_and_show_the_timeline(data: Path) -> None:
    store = Store(f"sqlite:///{data / 'vigil.db'}")
    try:
        units = Units(store)
        unit = units.create("B-7", "foot")
        units.report(unit.id, [Position(52.0, 4.37, units.clock())], "api")
        incidents = Incidents(store, units)
        row = incidents.open("Fight at gate 4", "op", lat=52.0, lon=4.37, type="fight")
        incidents.dispatch(row.id, unit.id, "op", "go")
    finally:
        store.close()
    r = cli(data, "incidents", "list")
    assert r.exit_code == 0 and "Fight at gate 4" in r.output and "B-7 dispatched" in r.output
    r = cli(data, "incidents", "show", str(row.id))
    assert r.exit_code == 0, r.output
    assert "opened" in r.output and "dispatched" in r.output and "go" in r.output
