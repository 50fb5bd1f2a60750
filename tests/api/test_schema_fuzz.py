"""schemathesis over the app's own OpenAPI document, logged in as the admin with the CSRF
header: every operation, positive and negative examples (a bounded number each), and every
answer must be no 5xx, a documented status, the documented content type and schema.
The streaming routes (MJPEG, the WebSocket) and logout (it would end the session the run
uses) are left out; they have tests of their own."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import _fill, login, make_settings
from vigil.api import create_app
from vigil.api.params import parse_when
from vigil.audit.lockout import LockoutPolicy
from vigil.store.db import Store

EXAMPLES = 25  # per operation and generation mode
# Bodies with rules no schema can state: a list's expiry must lie in the future (it depends
# on the clock), a CSV file is checked line by line, a photo must show a face. A schema-valid
# body may be refused there (422 naming the problem: tests/api/test_hotlists.py,
# test_watchlists.py); every other check still applies.
CHECKED_BEYOND_SCHEMA = {
    ("POST", "/api/hotlists"),
    ("PATCH", "/api/hotlists/{hotlist_id}"),
    ("POST", "/api/hotlists/{hotlist_id}/entries"),
    ("POST", "/api/watchlists"),  # valid_until in the future, after valid_from; a known place
    ("POST", "/api/watchlists/{watchlist_id}/entries"),  # each photo must hold a usable face
    ("GET", "/api/cameras/{camera_id}/recordings"),  # from before to, at most a day apart
    ("POST", "/api/recordings/locks"),  # start before end, at most 31 days; the alert's camera
    ("POST", "/api/exports"),  # start before end, at most a day; a reason to export unblurred
    ("POST", "/api/ingest"),  # a video by name and content (tests/api/test_ingest.py)
    ("GET", "/api/reports/transparency"),  # since before until (tests/audit/test_report.py)
    ("POST", "/api/incidents/{incident_id}/state"),  # a reason to reopen or close; a next state
}


def _app() -> tuple[Any, str, str]:
    """The app with stored data (as tests/api's `env`), built at import: schemathesis makes
    its tests from the schema when pytest collects them."""
    folder = Path(tempfile.mkdtemp(prefix="vigil-fuzz-"))
    atexit.register(shutil.rmtree, folder, True)
    store = Store(f"sqlite:///{folder / 'vigil.db'}")
    atexit.register(store.close)
    app = create_app(make_settings(folder), store=store)
    _fill(store, folder)
    # Fuzzed logins would otherwise lock the address the whole run comes from.
    app.state.vigil.login_lockout = LockoutPolicy(account_failures=10**6, client_failures=10**6)
    client = TestClient(app)
    csrf = login(client)
    return app, client.cookies["vigil_session"], csrf


APP, COOKIE, CSRF = _app()
# A body over server.max_body_bytes is refused with 413 before it is read: a request that
# breaks a maxLength may be refused that way too (JSON escapes make text up to 12 times longer).
CONFIG = SchemathesisConfig.from_str(
    "[checks.negative_data_rejection]\n"
    'expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5XX"]\n'
)
schema = schemathesis.openapi.from_asgi(
    "/api/openapi.json", APP, config=CONFIG, headers={"Cookie": f"vigil_session={COOKIE}"}
).exclude(path_regex=r"(/mjpeg$|^/api/logout$)")


@schema.hook
def filter_query(ctx: Any, query: dict[str, Any] | None) -> bool:
    """`since` after `until` is the one rule across parameters, which a schema cannot state
    (a 422 that says to swap them: tests/api/test_data.py)."""
    if not query or "since" not in query or "until" not in query:
        return True
    try:
        return parse_when(query["since"]) <= parse_when(query["until"])
    except (ValueError, TypeError):
        return True  # not a time: the negative cases' business


@schema.auth()
class Session:
    def get(self, case: Any, context: Any) -> str:
        return COOKIE

    def set(self, case: Any, data: str, context: Any) -> None:
        case.cookies = {**(case.cookies or {}), "vigil_session": data}
        case.headers = {**(case.headers or {}), "X-CSRF-Token": CSRF}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case: Any) -> None:
    unstated = (case.method.upper(), case.path) in CHECKED_BEYOND_SCHEMA
    case.call_and_validate(excluded_checks=[positive_data_acceptance] if unstated else [])
