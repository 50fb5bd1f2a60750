"""The transparency report: counts from the audit log and the stored data, no personal data."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tests.api.conftest import Env, as_user, login
from vigil.audit.log import AuditLog
from vigil.audit.report import purpose_category
from vigil.audit.verify import PURGE_ACTION
from vigil.cli import app
from vigil.domain import Role
from vigil.store.tables import AuditRow

runner = CliRunner()


@pytest.mark.parametrize(
    ("purpose", "category"),
    [
        ("CASE-123 theft", "case number"),
        ("#4411", "case number"),
        ("case 2026/0042", "case number"),
        ("Patrol check of the lobby", "patrol"),
        ("  ", "(none)"),
        (None, "(none)"),
    ],
)
def test_purpose_categories(purpose: str | None, category: str) -> None:
    assert purpose_category(purpose) == category


def _use(env: Env, client: TestClient) -> None:
    wrong = client.post("/api/login", json={"username": "admin", "password": "not it"})
    assert wrong.status_code == 401
    login(client)
    assert client.get("/api/events", params={"purpose": "CASE-123 theft"}).status_code == 200
    assert client.get("/api/tracks", params={"purpose": "Patrol round"}).status_code == 200
    event_id = env.ids["events"]["lobby"][0]
    assert client.get(f"/api/events/{event_id}").status_code == 200
    alert = env.ids["alerts"]["lobby"]
    r = client.post(f"/api/alerts/{alert}/review", json={"action": "acknowledge"})
    assert r.status_code == 200, r.text
    AuditLog(env.store, env.data_dir).append(
        "system:retention",
        PURGE_ACTION,
        "retention",
        details={"counts": {"events": 4, "snapshot_files": 2, "alerts_held": 1}},
    )


def test_cli_report_counts_what_happened(env: Env, client: TestClient) -> None:
    _use(env, client)
    data = str(env.data_dir)
    r = runner.invoke(
        app, ["report", "transparency", "--since", "2023-01-01", "--format", "json", "--data", data]
    )
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["searches_by_purpose"] == {"case number": 1, "patrol": 1}
    assert rep["searches_by_kind"] == {"events.search": 1, "tracks.search": 1}
    assert rep["data_reads"]["events.read"] == 1
    assert rep["cameras_active"] == ["car-park", "lobby"]
    assert rep["alerts"]["zone_enter"] == {
        "raised": 2,
        "acknowledged": 1,
        "dismissed": 0,
        "open": 1,
    }
    assert rep["purged"] == {"events": 4, "snapshot_files": 2} and rep["purge_runs"] == 1
    assert rep["exports"] == 0 and rep["audit"]["ok"] is True
    assert rep["access"] == {"failed logins": 1, "successful logins": 1, "service starts": 1}
    assert "CASE-123" not in r.stdout  # categories, never the purpose texts
    md = runner.invoke(app, ["report", "transparency", "--since", "2023-01-01", "--data", data])
    assert md.exit_code == 0, md.output
    assert "| case number | 1 |" in md.stdout and "chain: verified" in md.stdout
    assert "0 evidence export(s) made" in md.stdout
    assert "## Logins and service" in md.stdout and "| failed logins | 1 |" in md.stdout
    with env.store.session() as s:
        actions = list(s.scalars(select(AuditRow.action)))
    assert actions.count("reports.transparency") == 2  # the report itself is audited
    empty = runner.invoke(
        app,
        [
            "report",
            "transparency",
            "--since",
            "2020-01-01",
            "--until",
            "2020-02-01",
            "--format",
            "json",
            "--data",
            data,
        ],
    )
    assert empty.exit_code == 0 and json.loads(empty.stdout)["cameras_active"] == []
    bad = runner.invoke(app, ["report", "transparency", "--since", "soon", "--data", data])
    assert bad.exit_code == 2 and "is not a time" in bad.output


def test_api_report_is_for_admins_and_audited(env: Env, client: TestClient) -> None:
    _use(env, client)
    r = client.get("/api/reports/transparency", params={"since": "2023-01-01T00:00:00Z"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["searches_by_purpose"] == {"case number": 1, "patrol": 1}
    assert body["audit"]["ok"] and body["audit"]["rows"] > 0
    bad = client.get("/api/reports/transparency", params={"since": "2030-01-01T00:00:00Z"})
    assert bad.status_code == 422
    viewer = as_user(env, "vera", Role.SUPERVISOR)
    assert viewer.get("/api/reports/transparency").status_code == 403
    with env.store.session() as s:
        rows = list(s.scalars(select(AuditRow).where(AuditRow.action == "reports.transparency")))
    assert [(r.actor, r.details["outcome"]) for r in rows] == [
        ("admin", "ok"),
        ("admin", "422"),
        ("vera", "403"),
    ]


def test_the_report_names_lists_in_force_and_counts_face_matches_by_decision(env: Env) -> None:
    from datetime import UTC, datetime, timedelta

    from vigil.audit.report import transparency_report
    from vigil.domain import Alert, EventType
    from vigil.store.alerts import Alerts
    from vigil.store.hotlists import Hotlists
    from vigil.store.watchlists import WatchlistIn, Watchlists

    now = datetime.now(UTC)
    Watchlists(env.store).create(
        WatchlistIn("derby", "banned fans", "sports act art. 31", "Chief M. Horvat",
                    now - timedelta(days=1), now + timedelta(days=1), cameras=["lobby"]),
        "ada", 0.6,
    )  # fmt: skip
    Hotlists(env.store).create("stolen", "ada", "road traffic act", now + timedelta(days=5))
    alerts = Alerts(env.store)
    ids = [
        alerts.create(
            Alert("watchlist:derby", "lobby", EventType.FACE_MATCH, now.timestamp(), "person")
        ).id  # fmt: skip
        for _ in range(3)
    ]
    alerts.review(ids[0], "acknowledged", "ann", "same face")
    alerts.review(ids[0], "acknowledged", "bob", "same face, checked")
    alerts.review(ids[1], "acknowledged", "ann", "looks like him")  # one confirmation: still open
    alerts.review(ids[2], "dismissed", "bob", "another person")
    rep = transparency_report(env.store, env.data_dir, now - timedelta(hours=1))
    assert rep.lists == {"hotlists": ["stolen"], "watchlists": ["derby"]}
    assert rep.alerts["face_match"] == {"raised": 3, "acknowledged": 1, "dismissed": 1, "open": 1}
    md = rep.to_markdown()
    assert "- watchlists: 1 (derby)" in md and "two different people" in md
    before = transparency_report(
        env.store, env.data_dir, now - timedelta(days=9), now - timedelta(days=8)
    )
    assert before.lists == {"hotlists": [], "watchlists": []}
