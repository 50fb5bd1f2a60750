"""Plate search through the event search: exact or partial plates (`AB?12*`), with a purpose,
audited, per-camera visibility kept; a plate pattern that is not one is a clear 422."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import Env, as_user, login
from vigil.domain import Box, Event, EventType, Role
from vigil.store.tables import AuditRow

T0 = 1_767_225_600.0


def _reads(env: Env) -> None:
    for camera, plates in (("lobby", ["RK755AJ", "RK612AL"]), ("car-park", ["ZG1234AB"])):
        events = [
            Event(
                EventType.PLATE_READ,
                camera,
                30.0 + i,
                100 + i,
                "car",
                Box(10, 10, 200, 150),
                0.9,
                attributes={"plate": plate, "plate_confidence": 0.9, "reads": 3},
            )
            for i, plate in enumerate(plates)
        ]
        env.store.save_results(camera, T0, [], events, [None] * len(events))


def _plates(client: TestClient, pattern: str) -> list[str]:
    r = client.get("/api/events", params={"plate": pattern, "purpose": "case 2026/11"})
    assert r.status_code == 200, r.text
    return sorted(e["attributes"]["plate"] for e in r.json()["items"])


def test_exact_and_partial_plate_searches(env: Env, client: TestClient) -> None:
    _reads(env)
    login(client)
    assert _plates(client, "RK755AJ") == ["RK755AJ"]
    assert _plates(client, "rk 755-aj") == ["RK755AJ"]  # as typed from a plate
    assert _plates(client, "RK*") == ["RK612AL", "RK755AJ"]
    assert _plates(client, "RK?55A?") == ["RK755AJ"]
    assert _plates(client, "*12*") == ["RK612AL", "ZG1234AB"]
    assert _plates(client, "XX*") == []
    for bad in ("RK%", "RK_55AJ", "  ", "A" * 31):
        r = client.get("/api/events", params={"plate": bad, "purpose": "case 2026/11"})
        assert r.status_code == 422 and "query parameter 'plate'" in r.json()["detail"], bad
    with env.store.session() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.action == "events.search"))
        seen = {(r.details.get("query", {}).get("plate"), r.details["outcome"]) for r in rows}
    assert ("RK*", "ok") in seen and ("RK%", "422") in seen  # searched and refused: on record


def test_a_camera_limited_user_finds_only_the_plates_of_its_cameras(env: Env) -> None:
    _reads(env)
    viewer = as_user(env, "lena", Role.VIEWER, ["lobby"])
    assert _plates(viewer, "*") == ["RK612AL", "RK755AJ"]
    assert _plates(viewer, "ZG*") == []


def test_the_cli_finds_plates_too_and_says_what_a_bad_pattern_is(env: Env) -> None:
    from typer.testing import CliRunner

    from vigil.cli import app

    _reads(env)
    data = str(env.data_dir)
    args = ["events", "search", "--data", data, "--purpose", "case 11", "--json"]
    r = CliRunner().invoke(app, [*args, "--plate", "RK?55*"])
    assert r.exit_code == 0, r.output
    found = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [e["attributes"]["plate"] for e in found] == ["RK755AJ"]
    bad = CliRunner().invoke(app, [*args, "--plate", "RK%"])
    assert bad.exit_code == 2 and "--plate: 'RK%' is not a plate pattern" in bad.output
    # `vigil plates search` is the same search (and `vigil plates IMAGE` still reads images).
    same = ["plates", "search", "*12*", "--purpose", "case 11", "--data", data, "--json"]
    r = CliRunner().invoke(app, same)
    assert r.exit_code == 0, r.output
    found = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert sorted(e["attributes"]["plate"] for e in found) == ["RK612AL", "ZG1234AB"]
    refused = CliRunner().invoke(app, ["plates", "search", "RK*", "--purpose", "x", "--data", data])
    assert refused.exit_code == 2 and "state a purpose" in refused.output
