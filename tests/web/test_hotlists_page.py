"""Hotlists in the UI, in a real browser (Debian's Chromium through Playwright) against the
running demo: on the plates page an admin creates a list, imports a CSV file (a file with a bad
line is refused with the server's words and changes nothing), sees a list's entries only after
stating a purpose, removes an entry, replaces the entries and deletes the list; expired and
soon-expiring lists are flagged; an operator gets no Hotlists tab (and the API refuses them);
a supervisor limited to some cameras sees the lists but is told by the server why they may not
change them. In the live alert queue a hotlist hit shows the plate as read beside the plate as
listed, with the list, the entry's reason and its source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Env, login
from tests.web.conftest import (
    ADMIN_PASSWORD,
    EXPECTED_CONSOLE,
    Demo,
    Watched,
    add_user,
    log_in,
    open_page,
    store_reads,
)
from vigil.domain import Role
from vigil.rules.engine import AlertService, RuleEngine
from vigil.store.alerts import Alerts
from vigil.store.db import Store, default_db_url
from vigil.store.hotlists import Hotlists, parse_csv
from vigil.store.tables import HotlistRow
from vigil.vision.plates.match import TOLERANCE

PURPOSE = "case 2026-114 (stolen vehicles)"
GOOD_CSV = """plate,reason,source,expiry,pattern
ZG 1234-AB,stolen vehicle,police report 2026/114,,
,witness saw a partial plate,incident 77,,RI12??A*
"""
# Line 3 has no reason: the whole file is refused.
BAD_CSV = """plate,reason,source
SK777BB,unpaid fines,city tolls
KA100XY,,city tolls
"""
REPLACING_CSV = "plate,reason\nPU555EE,seen leaving the robbery\n"
# The page's refusals come as 4xx answers, which Chromium logs as failed resources.
REFUSALS = (*EXPECTED_CONSOLE, "status of 409", "status of 422", "status of 403")


def _row(page: Any, name: str) -> Any:
    return page.locator(f"#hotlist-table tbody tr[data-name='{name}']")


def _wait_text(page: Any, selector: str, text: str) -> None:
    """Until the element `selector` holds exactly `text`."""
    page.wait_for_function(
        "([s, t]) => document.querySelector(s)?.textContent === t", arg=[selector, text]
    )


def _open_hotlists(page: Any) -> None:
    page.click("#tab-hotlists")
    page.wait_for_selector("#hotlists[data-loaded='1']")
    assert page.url.endswith("/plates#hotlists")
    assert page.locator("#reads-view").is_hidden()


def _create(page: Any, name: str, expires: datetime, tolerance: str | None = None) -> None:
    form = page.locator("#hotlist-create")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=legal_basis]").fill("Road Traffic Act s. 12 (order 2026/9)")
    # The page runs in UTC (see open_page): the local time typed is this UTC time.
    form.locator("input[name=expires_at]").fill(expires.strftime("%Y-%m-%dT%H:%M:%S"))
    if tolerance is not None:
        form.locator("input[name=tolerance]").fill(tolerance)
    form.locator("button[type=submit]").click()


def _import(page: Any, path: Path, csv: str, *, replace: bool = False) -> None:
    path.write_text(csv, encoding="utf-8")
    form = page.locator("#import-form")
    form.locator("input[type=file]").set_input_files(str(path))
    form.locator("input[name=replace]").set_checked(replace)
    form.locator("button[type=submit]").click()


def _entries_on_server(page: Any, base: str, name: str) -> int:
    lists = page.request.get(base + "/api/hotlists").json()
    [count] = [h["entries"] for h in lists if h["name"] == name]
    return int(count)


def _listed(page: Any) -> list[str]:
    shown: list[str] = page.locator("#hotlist-entries tbody tr[data-entry]").evaluate_all(
        "rs => rs.map(r => r.dataset.listed)"
    )
    return shown


def test_the_hotlists_tab_is_sent_to_supervisors_and_admins_only(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    page = admin.get("/plates").text
    assert 'id="tab-hotlists"' in page and "/static/js/hotlists.js" in page
    assert 'name="tolerance" min="0" max="1.5"' in page and f'value="{TOLERANCE}"' in page
    env.add_user("sue", Role.SUPERVISOR, ["lobby"])  # sees the lists; the API says what not
    sue = TestClient(env.app)
    login(sue, "sue", PASSWORD)
    assert 'id="tab-hotlists"' in sue.get("/plates").text
    env.add_user("otto", Role.OPERATOR)
    otto = TestClient(env.app)
    login(otto, "otto", PASSWORD)
    page = otto.get("/plates").text
    assert 'id="filters"' in page  # the plate search is theirs
    assert "hotlist" not in page.lower()
    assert otto.get("/api/hotlists").status_code == 403


@pytest.mark.slow
def test_an_admin_creates_imports_views_and_removes(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    with open_page(browser, allowed=REFUSALS) as ui:
        page = ui.page
        asked: list[str] = []  # requests for a list's entries (the plates)

        def note(request: Any) -> None:
            if request.method == "GET" and "/entries" in request.url:
                asked.append(request.url)

        page.on("request", note)
        log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/plates")
        _open_hotlists(page)
        expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
        _create(page, "stolen-ui", expires)
        row = _row(page, "stolen-ui")
        row.wait_for()
        cells = row.locator("td").all_inner_texts()
        when = expires.strftime("%Y-%m-%d %H:%M:%S UTC")
        basis = "Road Traffic Act s. 12 (order 2026/9)"
        assert cells == ["stolen-ui", "admin", basis, when, str(TOLERANCE), "0"]
        assert row.get_attribute("aria-selected") == "true"  # the new list is the one shown
        assert page.locator("#detail-name").inner_text() == "stolen-ui"

        # The same name again: the server's refusal, as it says it.
        _create(page, "stolen-ui", expires)
        error = page.locator("#create-error")
        error.wait_for(state="visible")
        assert error.inner_text() == "a hotlist named 'stolen-ui' exists already"
        _create(page, "lapsed-ui", datetime.now(UTC) - timedelta(days=1))  # a 422
        _wait_text(
            page, "#create-error", "the expiry has passed; a hotlist must expire in the future"
        )
        assert _row(page, "lapsed-ui").count() == 0

        # A CSV file: its counts; the list's number of entries follows.
        _import(page, tmp_path / "stolen.csv", GOOD_CSV)
        result = page.locator("#import-result")
        result.wait_for(state="visible")
        assert result.inner_text() == "2 added, 0 updated, 0 removed; 2 entries"
        _wait_text(page, "tr[data-name='stolen-ui'] .entries", "2")

        # A file with a bad line: the server names the line, nothing changes.
        _import(page, tmp_path / "bad.csv", BAD_CSV)
        bad = page.locator("#import-error")
        bad.wait_for(state="visible")
        assert bad.inner_text().startswith("line 3: reason must be one line"), bad.inner_text()
        assert result.is_hidden()
        assert row.locator(".entries").inner_text() == "2"
        assert _entries_on_server(page, demo.base, "stolen-ui") == 2

        # The plates only for a stated purpose (the page asks before any request goes out).
        page.click("#entries-form button[type=submit]")
        refused = page.locator("#entries-error")
        refused.wait_for(state="visible")
        assert "State a purpose" in refused.inner_text()
        assert asked == [] and page.locator("#hotlist-entries").is_hidden()
        page.fill("#entries-form input[name=purpose]", PURPOSE)
        assert refused.is_hidden()
        page.click("#entries-form button[type=submit]")
        page.locator("#hotlist-entries").wait_for(state="visible")
        assert _listed(page) == ["RI12??A*", "ZG1234AB"]
        stolen = page.locator("#hotlist-entries tr[data-listed='ZG1234AB'] td")
        assert stolen.all_inner_texts()[:4] == [
            "ZG1234AB",
            "stolen vehicle",
            "police report 2026/114",
            "with the list",
        ]

        # Removing an entry: gone from the page and from the list.
        stolen.locator("button").click()
        page.wait_for_function(
            "() => !document.querySelector(\"#hotlist-entries tr[data-listed='ZG1234AB']\")"
        )
        _wait_text(page, "#hotlist-count", "1")
        assert _entries_on_server(page, demo.base, "stolen-ui") == 1

        # Replacing every entry asks first; the entries shown follow.
        page.once("dialog", lambda d: d.accept())
        _import(page, tmp_path / "replacing.csv", REPLACING_CSV, replace=True)
        _wait_text(page, "#import-result", "1 added, 0 updated, 1 removed; 1 entry")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#hotlist-entries tr[data-entry]')]"
            ".map(r => r.dataset.listed).join() === 'PU555EE'"
        )

        # Deleting the list asks first, naming it.
        questions: list[str] = []

        def answer(dialog: Any) -> None:
            questions.append(dialog.message)
            dialog.accept()

        page.once("dialog", answer)
        page.click("#hotlist-delete")
        row.wait_for(state="detached")
        assert questions and "stolen-ui" in questions[0] and "1 entry" in questions[0]
        assert page.locator("#hotlist-none").is_visible()

        # On record: the look at the plates, with its purpose.
        audit = page.request.get(demo.base + "/api/audit?action=hotlists.read&actor=admin")
        reads = [(r["purpose"], r["outcome"]) for r in audit.json()["items"]]
        assert (PURPOSE, "ok") in reads, reads
        ui.check_no_errors()


@pytest.mark.slow
def test_expired_and_soon_expiring_lists_are_flagged(demo: Demo, ui: Watched) -> None:
    store = Store(default_db_url(demo.data_dir))
    try:
        lists = Hotlists(store)
        now = datetime.now(UTC)
        lists.create("lapsing", "ada", "order 2026/10", now + timedelta(days=2))
        lapsed = lists.create("lapsed", "ada", "order 2026/11", now + timedelta(days=2))
        with store.session() as s, s.begin():  # as it would stand until the purge job runs
            row = s.get(HotlistRow, lapsed.id)
            assert row is not None
            row.expires_at = now - timedelta(hours=1)
        lists.create("lasting", "ada", "order 2026/12", now + timedelta(days=90))
    finally:
        store.close()
    page = ui.page
    log_in(page, demo.base, "admin", ADMIN_PASSWORD)
    page.goto(demo.base + "/plates#hotlists")
    page.wait_for_selector("#hotlists[data-loaded='1']")  # the tab comes back from the URL
    assert page.locator("#tab-hotlists").get_attribute("aria-selected") == "true"
    flags = {
        name: _row(page, name).locator(".flag").all_inner_texts()
        for name in ("lapsing", "lapsed", "lasting")
    }
    assert flags == {"lapsing": ["EXPIRES SOON"], "lapsed": ["EXPIRED"], "lasting": []}, flags
    ui.check_no_errors()


@pytest.mark.slow
def test_an_operator_gets_no_hotlists_and_a_limited_supervisor_is_told_why(
    demo: Demo, browser: Any
) -> None:
    add_user(demo.base, "otto", "otto-operator-password", "operator")
    add_user(demo.base, "suki", "suki-supervisor-password", "supervisor", ["lobby"])
    with open_page(browser) as ui:
        page = ui.page
        log_in(page, demo.base, "otto", "otto-operator-password", "/plates")
        assert page.locator("#tab-hotlists, #hotlists, script[src*='hotlists']").count() == 0
        assert page.locator("#filters").is_visible()  # the plate search is theirs all the same
        assert page.request.get(demo.base + "/api/hotlists").status == 403
        ui.check_no_errors()
    with open_page(browser, allowed=REFUSALS) as ui:
        page = ui.page
        log_in(page, demo.base, "suki", "suki-supervisor-password", "/plates")
        _open_hotlists(page)
        _create(page, "suki-list", datetime.now(UTC) + timedelta(days=5))
        error = page.locator("#create-error")
        error.wait_for(state="visible")
        assert error.inner_text().startswith("hotlists reach beyond the cameras you see: only a")
        assert _row(page, "suki-list").count() == 0
        ui.check_no_errors()


def _hit(data_dir: Path, list_name: str, csv: str, camera: str, read: str) -> int:
    """A hotlist with `csv`'s entries and a plate read of `read` that hits it, raised as the
    pipeline raises it; the alert's id."""
    store = Store(default_db_url(data_dir))
    try:
        lists = Hotlists(store)
        listed = lists.create(list_name, "ada", "order 2026/13", datetime.now(UTC) + timedelta(30))
        lists.load(listed.id, parse_csv(csv), replace=False)
        [(event, row)] = store_reads(data_dir, [(camera, read, 0.0)]).values()
        [alert] = AlertService(Alerts(store), None, RuleEngine([])).raise_for([(event, row)])
        return alert.id
    finally:
        store.close()


@pytest.mark.slow
def test_a_hotlist_hit_shows_the_read_beside_the_listed_plate(demo: Demo, ui: Watched) -> None:
    csv = "plate,reason,source\nKA4711ZZ,stolen vehicle,police report 2026/115\n"
    alert_id = _hit(demo.data_dir, "stolen-cars", csv, "car-park", "KA4711Z2")  # Z read as 2
    page = ui.page
    log_in(page, demo.base, "admin", ADMIN_PASSWORD)
    item = page.locator(f".feed-item.alert[data-id='{alert_id}']")
    item.wait_for()
    assert "hotlist-hit" in (item.get_attribute("class") or "")
    assert item.locator(".feed-title").inner_text() == "hotlist:stolen-cars"
    assert item.locator(".hit-read").inner_text() == "KA4711Z2"
    assert item.locator(".hit-listed").inner_text() == "KA4711ZZ"
    assert item.locator(".hit-read mark").all_inner_texts() == ["2"]  # where they differ
    assert item.locator(".hit-listed mark").all_inner_texts() == ["Z"]
    assert item.locator(".hit-list").inner_text() == "stolen-cars"
    assert item.locator(".hit-reason").inner_text() == "stolen vehicle"
    assert item.locator(".hit-source").inner_text() == "police report 2026/115"
    # The read's crop beside it, loaded.
    item.locator(".thumb img").wait_for()
    page.wait_for_function(
        "(id) => { const i = document.querySelector("
        "`.feed-item.alert[data-id='${id}'] .thumb img`);"
        " return i && i.complete && i.naturalWidth === 240; }",
        arg=alert_id,
    )
    # Other alerts look as they did.
    assert page.locator(".feed-item.alert:not(.hotlist-hit) .hit").count() == 0
    # Judged, acknowledged: what it matched stays in view.
    item.locator("button[data-action=acknowledge]").click()
    acked = page.locator(f".feed-item.alert.status-acknowledged[data-id='{alert_id}']")
    acked.wait_for()
    assert acked.locator(".hit-read").inner_text() == "KA4711Z2"
    ui.check_no_errors()


@pytest.mark.slow
def test_a_pattern_hit_shows_the_pattern_and_the_dismiss_dialog_names_the_plates(
    demo: Demo, ui: Watched
) -> None:
    csv = "plate,pattern,reason\n,MU12??A*,witness saw a partial plate\n"
    alert_id = _hit(demo.data_dir, "partial", csv, "lobby", "MU1234AX")
    page = ui.page
    log_in(page, demo.base, "admin", ADMIN_PASSWORD)
    item = page.locator(f".feed-item.alert[data-id='{alert_id}']")
    item.wait_for()
    assert item.locator(".hit-plates").inner_text().split() == [
        "READ",
        "MU1234AX",
        "PATTERN",
        "MU12??A*",
    ]
    assert item.locator(".hit-source").count() == 0  # the entry names no source
    item.locator("button[data-action=dismiss]").click()
    what = page.locator("#dismiss-what")
    what.wait_for()
    assert "read MU1234AX, pattern MU12??A* (partial)" in what.inner_text()
    ui.check_no_errors()
