"""Watchlists in the UI, in a real browser (Debian's Chromium through Playwright) against the
running demo: an admin creates a watchlist (what is missing is said before anything is sent;
the server's refusals in its words), enrols a person from a photo (a photo without a face is
refused with the server's message and nothing is enrolled), sees who is on the list only after
stating a purpose, takes the person off and deletes the list behind a confirm. Operators get no
Watchlists link and a 403 page; auditors are sent to the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Env, login
from tests.web.conftest import (
    ADMIN_PASSWORD,
    EXPECTED_CONSOLE,
    Demo,
    add_user,
    log_in,
    open_page,
)
from vigil.domain import Role

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "video" / "lin_manuel_miranda_enrol.jpg"
PURPOSE = "review of the derby list (order 2026/31)"
BASIS = "sports act art. 31 (court order 2026/31)"
# The page's refusals come as 4xx answers, which Chromium logs as failed resources.
REFUSALS = (*EXPECTED_CONSOLE, "status of 409", "status of 422", "status of 403")


def _local(d: datetime) -> str:
    """A datetime-local value; the page runs in UTC (see open_page)."""
    return d.strftime("%Y-%m-%dT%H:%M:%S")


def _row(page: Any, name: str) -> Any:
    return page.locator(f"#watchlist-table tbody tr[data-name='{name}']")


def _wait_text(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => document.querySelector(s)?.textContent === t", arg=[selector, text]
    )


def _fill_create(page: Any, name: str, starts: datetime, ends: datetime) -> Any:
    form = page.locator("#watchlist-create")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=purpose]").fill("banned fans at the derby")
    form.locator("input[name=legal_basis]").fill(BASIS)
    form.locator("input[name=authorised_by]").fill("Chief M. Horvat")
    form.locator("input[name=valid_from]").fill(_local(starts))
    form.locator("input[name=valid_until]").fill(_local(ends))
    return form


def test_the_watchlists_page_is_for_supervisors_and_admins(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    page = admin.get("/watchlists")
    assert page.status_code == 200 and "/static/js/watchlists.js" in page.text
    assert 'href="/watchlists" aria-current="page"' in page.text
    assert 'data-max-images="5"' in page.text
    env.add_user("sue", Role.SUPERVISOR, ["lobby"])  # sees the page; the API says what not
    sue = TestClient(env.app)
    login(sue, "sue", PASSWORD)
    assert sue.get("/watchlists").status_code == 200
    env.add_user("otto", Role.OPERATOR)
    otto = TestClient(env.app)
    login(otto, "otto", PASSWORD)
    assert 'href="/watchlists"' not in otto.get("/").text
    denied = otto.get("/watchlists")
    assert denied.status_code == 403 and "Watchlists are for supervisors and admins" in denied.text
    assert 'href="/watchlists"' not in denied.text
    env.add_user("aud", Role.AUDITOR)
    aud = TestClient(env.app)
    login(aud, "aud", PASSWORD)
    r = aud.get("/watchlists", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/audit"


def _create_lists(page: Any, starts: datetime, ends: datetime) -> None:
    """A list on the lobby camera with a daily window, and one on a geofence; what is
    missing, or refused by the server, is said."""
    form = _fill_create(page, "derby-ui", starts, ends)
    form.locator("button[type=submit]").click()  # no camera, no geofence: said at once
    _wait_text(
        page,
        "#create-error",
        "Say where the list applies: choose cameras, or give a geofence (a watchlist never "
        "applies everywhere).",
    )
    form.locator("input[name=camera][value=lobby]").check()
    form.locator("input[name=window_start]").fill("14:00")
    form.locator("input[name=window_end]").fill("23:00")
    form.locator("input[name=timezone]").fill("Europe/Zagreb")
    form.locator("button[type=submit]").click()
    row = _row(page, "derby-ui")
    row.wait_for()
    assert row.get_attribute("aria-selected") == "true"  # the new list is the one shown
    cells = row.locator("td").all_inner_texts()
    stamp = "%Y-%m-%d %H:%M:%S UTC"
    valid = f"from {starts:{stamp}}\nuntil {ends:{stamp}}\nNOT YET VALID"
    assert cells == [
        "derby-ui", "banned fans at the derby", BASIS, "Chief M. Horvat", valid, "Lobby",
        "14:00–23:00 Europe/Zagreb", "0",
    ]  # fmt: skip
    assert page.locator("#detail-name").inner_text() == "derby-ui"

    # The same name again: the server's refusal as it words it.
    form = _fill_create(page, "derby-ui", starts, ends)
    form.locator("input[name=camera][value=lobby]").check()
    form.locator("button[type=submit]").click()
    _wait_text(page, "#create-error", "a watchlist named 'derby-ui' exists already")

    # A geofence instead of cameras (the refused form keeps what was typed).
    form = _fill_create(page, "stadium-ui", starts, ends)
    form.locator("input[name=camera][value=lobby]").uncheck()
    form.locator("input[name=lat]").fill("52.0021")
    form.locator("input[name=lon]").fill("4.3731")
    form.locator("input[name=radius_m]").fill("500")
    form.locator("button[type=submit]").click()
    fenced = _row(page, "stadium-ui")
    fenced.wait_for()
    assert fenced.locator("td.where").inner_text() == "within 500 m of 52.0021, 4.3731"
    assert fenced.locator("td.when").inner_text() == "all day"


def _enrol(page: Any, tmp_path: Path) -> None:
    """A photo without a face refuses the enrolment in the server's words; then it works."""
    blank = tmp_path / "blank.jpg"
    assert cv2.imwrite(str(blank), np.full((120, 120, 3), 90, np.uint8))
    form = page.locator("#enrol-form")
    form.locator("input[name=name]").fill("L. M. Miranda")
    form.locator("input[name=reference]").fill("case 9")
    form.locator("input[name=source]").fill("press photo, agency X")
    form.locator("input[type=file]").set_input_files([str(PHOTO), str(blank)])
    form.locator("button[type=submit]").click()
    _wait_text(page, "#enrol-error", "image 2: no face found; send a clear, frontal photo")
    assert page.locator("tr[data-name='derby-ui'] .people").inner_text() == "0"
    form.locator("input[type=file]").set_input_files(str(PHOTO))
    form.locator("button[type=submit]").click()
    _wait_text(page, "#enrol-result", "Enrolled L. M. Miranda with 1 photo.")
    assert page.locator("#enrol-error").is_hidden()
    _wait_text(page, "tr[data-name='derby-ui'] .people", "1")
    assert page.locator("#watchlist-count").inner_text() == "1"


def _people(page: Any, asked: list[str]) -> None:
    """Who is on the list, only for a stated purpose (asked before any request goes out);
    then taken off the list."""
    page.click("#people-form button[type=submit]")
    refused = page.locator("#people-error")
    refused.wait_for(state="visible")
    assert "State a purpose" in refused.inner_text()
    assert asked == [] and page.locator("#watchlist-people").is_hidden()
    page.fill("#people-form input[name=purpose]", PURPOSE)
    assert refused.is_hidden()
    page.click("#people-form button[type=submit]")
    person = page.locator("#watchlist-people tr[data-name='L. M. Miranda']")
    person.wait_for()
    assert person.locator("td").all_inner_texts()[:3] == ["L. M. Miranda", "case 9", "1"]
    assert len(asked) == 1 and "purpose=" in asked[0]
    page.once("dialog", lambda d: d.accept())
    person.locator("button").click()
    person.wait_for(state="detached")
    _wait_text(page, "#watchlist-count", "0")
    assert page.locator("#watchlist-people tr.none").is_visible()


@pytest.mark.slow
def test_an_admin_creates_enrols_views_and_deletes(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    with open_page(browser, allowed=REFUSALS) as ui:
        page = ui.page
        asked: list[str] = []  # requests for who is on a list

        def note(request: Any) -> None:
            if request.method == "GET" and "/entries" in request.url:
                asked.append(request.url)

        page.on("request", note)
        log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/watchlists")
        assert page.locator("nav a[href='/watchlists']").get_attribute("aria-current") == "page"
        # Tomorrow on: the running demo matches no face against these lists meanwhile.
        starts = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        _create_lists(page, starts, starts + timedelta(days=2))
        _row(page, "derby-ui").locator("button.link-btn").click()
        _enrol(page, tmp_path)
        _people(page, asked)

        questions: list[str] = []

        def answer(dialog: Any) -> None:
            questions.append(dialog.message)
            dialog.accept()

        page.once("dialog", answer)
        page.click("#watchlist-delete")
        _row(page, "derby-ui").wait_for(state="detached")
        assert questions and "derby-ui" in questions[0] and "0 people" in questions[0]
        assert page.locator("#watchlist-none").is_visible()

        audit = page.request.get(demo.base + "/api/audit?action=watchlists.read&actor=admin")
        reads = [(r["purpose"], r["outcome"]) for r in audit.json()["items"]]
        assert (PURPOSE, "ok") in reads, reads
        ui.check_no_errors()


@pytest.mark.slow
def test_an_operator_gets_no_watchlists(demo: Demo, browser: Any) -> None:
    add_user(demo.base, "olga", "olga-operator-password", "operator")
    with open_page(browser, allowed=REFUSALS) as ui:
        page = ui.page
        log_in(page, demo.base, "olga", "olga-operator-password")
        assert page.locator("nav a[href='/watchlists']").count() == 0
        r = page.goto(demo.base + "/watchlists")
        assert r is not None and r.status == 403
        assert "Watchlists are for supervisors and admins" in page.locator("main").inner_text()
        assert page.request.get(demo.base + "/api/watchlists").status == 403
        ui.check_no_errors()
