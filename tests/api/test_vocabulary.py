"""The vocabulary is defined once (vigil/domain.py): event types, alert statuses and roles
reach the config, the API, the database and the UI from there, never as a copied list."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.api.conftest import login
from vigil import domain
from vigil.domain import AlertStatus, EventType, Role

PACKAGE = Path(str(resources.files("vigil")))
LISTS = {"event types": EventType, "alert statuses": AlertStatus, "roles": Role}
# Migrations are history: each states the list as it was when it ran.
HISTORY = PACKAGE / "store" / "migrations"


def _sources() -> list[Path]:
    kinds = ("*.py", "*.js", "*.html")
    files = [p for k in kinds for p in PACKAGE.rglob(k)]
    return [p for p in files if p != PACKAGE / "domain.py" and HISTORY not in p.parents]


@pytest.mark.parametrize("what", sorted(LISTS))
def test_no_module_writes_out_a_list_of_the_vocabulary(what: str) -> None:
    values = [str(v) for v in LISTS[what]]
    copies = {}
    for path in _sources():
        body = path.read_text(encoding="utf-8")
        quoted = {v for v in values if re.search(rf"""["']{re.escape(v)}["']""", body)}
        if len(quoted) >= 3:
            copies[str(path.relative_to(PACKAGE))] = sorted(quoted)
    assert copies == {}, f"{what} written out by hand (take them from vigil.domain): {copies}"


def test_the_api_and_the_ui_module_give_the_domains_lists(client: TestClient) -> None:
    login(client)
    vocabulary = client.get("/api/vocabulary").json()
    assert [t["value"] for t in vocabulary["event_types"]] == [str(t) for t in EventType]
    assert [t["title"] for t in vocabulary["event_types"]] == [
        domain.EVENT_INFO[t].title for t in EventType
    ]
    assert vocabulary["alert_statuses"] == [str(s) for s in AlertStatus]
    assert vocabulary["roles"] == [str(r) for r in Role]
    module = client.get("/static/js/vocabulary.js")
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    exported = dict(re.findall(r"^export const (\w+) = (.*);$", module.text, re.M))
    assert json.loads(exported["EVENT_TYPES"]) == vocabulary["event_types"]
    assert json.loads(exported["ROLES"]) == vocabulary["roles"]


def test_the_search_page_offers_every_event_type(client: TestClient) -> None:
    login(client)
    page = client.get("/search").text
    offered = re.findall(r'<option value="(\w+)" title=', page)
    assert offered == [str(t) for t in EventType]


def test_the_openapi_contract_lists_the_domains_values(client: TestClient) -> None:
    login(client)
    schema = client.get("/api/openapi.json").json()
    events = schema["paths"]["/api/events"]["get"]["parameters"]
    type_param = next(p for p in events if p["name"] == "type")
    ref = json.dumps(type_param["schema"])
    enum_name = re.search(r"#/components/schemas/(\w+)", ref)
    assert enum_name is not None
    assert schema["components"]["schemas"][enum_name.group(1)]["enum"] == [
        str(t) for t in EventType
    ]


def _insert_user(env_store: Any, role: str) -> None:
    with env_store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, password_hash, role, created_at, disabled) "
                "VALUES (:n, 'h', :r, :t, false)"
            ),
            {"n": f"u-{role}", "r": role, "t": datetime.now(UTC)},
        )


def test_the_migrated_database_accepts_exactly_the_domains_roles_and_statuses(store: Any) -> None:
    """The CHECK constraints that the migrations built match vigil.domain: a role or status
    added there without a migration fails here (on SQLite and PostgreSQL)."""
    for role in Role:
        _insert_user(store, str(role))
    with pytest.raises(IntegrityError):
        _insert_user(store, "superuser")
    store.save_camera(domain.Camera("c", "c", "x"))
    for status in AlertStatus:
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO alerts (rule, camera_id, type, time, status) "
                    "VALUES ('r', 'c', 'appear', :t, :s)"
                ),
                {"t": datetime.now(UTC), "s": str(status)},
            )
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alerts (rule, camera_id, type, time, status) "
                "VALUES ('r', 'c', 'appear', :t, 'escalated')"
            ),
            {"t": datetime.now(UTC)},
        )
