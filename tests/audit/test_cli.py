"""`vigil events search` and `vigil audit show`: audited like the API (actor cli:<os user>)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.api.conftest import Env
from vigil.audit.log import AuditLog, cli_actor
from vigil.audit.verify import verify_chain
from vigil.cli import app

runner = CliRunner()


def test_events_search_needs_a_purpose_and_is_audited(env: Env) -> None:
    data = str(env.data_dir)
    r = runner.invoke(app, ["events", "search", "--data", data, "--purpose", "x"])
    assert r.exit_code == 2 and "state a purpose" in r.output
    r = runner.invoke(app, ["events", "search", "--data", data])
    assert r.exit_code != 0
    r = runner.invoke(
        app,
        ["events", "search", "--data", data, "--purpose", "case 99", "--camera", "lobby", "--json"],
    )
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert len(rows) == 3 and {row["camera"] for row in rows} == {"lobby"}
    table = runner.invoke(app, ["events", "search", "--data", data, "--purpose", "case 99"])
    assert table.exit_code == 0 and "purpose: case 99" in table.output
    shown = runner.invoke(
        app, ["audit", "show", "--data", data, "--action", "events.search", "--json"]
    )
    assert shown.exit_code == 0, shown.output
    assert cli_actor() in shown.output and "case 99" in shown.output
    assert verify_chain(env.store, env.data_dir).ok


def test_audit_show_filters_by_user_and_prints_a_table(tmp_path: Path, env: Env) -> None:
    audit = AuditLog(env.store, env.data_dir)
    audit.append("alice", "events.read", "event", 1, client="10.0.0.1")
    audit.append("bob", "alerts.review", "alert", 2)
    args = ["audit", "show", "--data", str(env.data_dir), "--user", "alice"]
    r = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "alice" in r.output and "events.read" in r.output and "bob" not in r.output
    bad = runner.invoke(app, ["audit", "show", "--data", str(env.data_dir), "--since", "soon"])
    assert bad.exit_code == 2 and "is not a time" in bad.output
