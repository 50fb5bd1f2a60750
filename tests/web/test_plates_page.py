"""The plate search page (/plates): the page as the server sends it (session, roles, the
pattern's help from the server), and in a real browser (Debian's Chromium through Playwright)
against the running demo with plate reads stored beside its own events: a partial plate finds
its reads (crops loaded, with the search's reference), a search without a purpose or with a
pattern that is not one is refused, and the live feed shows a read's plate."""

from __future__ import annotations

import re
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
    log_in,
    open_page,
    store_reads,
)
from vigil.domain import Role
from vigil.vision.plates.match import PATTERN_HELP

PURPOSE = "case 2026-113 (stolen van)"
SUBMIT = "#filters button[type=submit]"
# camera, plate, seconds ago: two reads match rk?55*, two do not.
READS = [
    ("lobby", "RK755AJ", 30.0),
    ("car-park", "RK655BB", 20.0),
    ("lobby", "RK612AL", 10.0),
    ("car-park", "ZG1234AB", 5.0),
]
_ANSWERED = (
    "() => /\\d+ reads?|0 results/.test(document.getElementById('results-info').textContent)"
    " || !document.getElementById('search-error').hidden"
)


def _store_reads(data_dir: Path, reads: list[tuple[str, str, float]]) -> dict[str, int]:
    """The reads stored beside the demo's own events; their event ids by plate."""
    return {plate: row.id for plate, (_, row) in store_reads(data_dir, reads).items()}


def _search(page: Any, plate: str, purpose: str | None = PURPOSE) -> None:
    page.fill("input[name=plate]", plate)
    if purpose is not None:
        page.fill("input[name=purpose]", purpose)
    page.click(SUBMIT)


def _answered(page: Any) -> None:
    page.wait_for_function(_ANSWERED)


def _plates_shown(page: Any) -> list[str]:
    texts: list[str] = page.locator("#reads li.read .plate").all_inner_texts()
    return texts


def _widest_right_edge(page: Any) -> float:
    edge: float = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('#plates *')]"
        ".map(n => n.getBoundingClientRect().right))"
    )
    return edge


def test_the_plates_page_needs_a_session_and_an_operational_role(env: Env) -> None:
    anonymous = TestClient(env.app)
    r = anonymous.get("/plates?plate=RK*", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/plates%3Fplate%3DRK%2A"
    admin = TestClient(env.app)
    login(admin)
    page = admin.get("/plates")
    assert page.status_code == 200 and "/static/js/plates.js" in page.text
    assert 'href="/plates" aria-current="page"' in page.text
    assert PATTERN_HELP in page.text  # the server's own words for a pattern
    assert 'name="plate" required' in page.text and 'name="purpose" required' in page.text
    assert 'href="/plates"' in admin.get("/search").text  # in every operational page's nav
    env.add_user("audrey", Role.AUDITOR)
    auditor = TestClient(env.app)
    login(auditor, "audrey", PASSWORD)
    r = auditor.get("/plates", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/audit"
    assert 'href="/plates"' not in auditor.get("/audit").text


@pytest.mark.slow
def test_a_partial_plate_finds_its_reads_with_their_crops(demo: Demo, ui: Watched) -> None:
    ids = _store_reads(demo.data_dir, READS)
    page = ui.page
    log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/plates")
    assert page.locator("nav a[aria-current='page']").inner_text() == "Plates"
    assert page.locator("#plate-help").inner_text() == PATTERN_HELP
    _search(page, "rk?55*")  # typed in lower case: the server normalises it
    _answered(page)
    assert page.locator("#search-error").is_hidden()
    assert _plates_shown(page) == ["RK655BB", "RK755AJ"]  # newest first, the others not
    assert page.locator("#results-info").inner_text() == "2 reads"
    assert "plate=rk%3F55*" in page.url and "purpose=case+2026-113" in page.url
    # Each read's crop is loaded, fetched under the search (its reference and purpose).
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('#reads img')];"
        " return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth === 240); }"
    )
    for src in page.locator("#reads img").evaluate_all("is => is.map(i => i.getAttribute('src'))"):
        assert re.fullmatch(r"/api/events/\d+/snapshot\.jpg\?search=[0-9a-f]{12}&purpose=.+", src)
    van = page.locator(f"#reads li.read[data-id='{ids['RK655BB']}']")
    facts = van.locator(".read-v").all_inner_texts()
    assert facts[:3] == ["90 %", "3 of 4 agree", "Car park"], facts
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", facts[3]), facts
    wide = page.evaluate(
        "() => { const w = document.querySelector('.reads-wrap');"
        " return [w.scrollWidth, w.clientWidth]; }"
    )
    assert wide[0] <= wide[1], f"the reads are cut off at 1366x768: {wide}"

    # A camera narrows it; a 390 px wide phone shows it without running off the side.
    page.select_option("select[name=camera]", "car-park")
    page.click(SUBMIT)
    page.wait_for_function("() => document.getElementById('results-info').textContent === '1 read'")
    assert _plates_shown(page) == ["RK655BB"]
    page.set_viewport_size({"width": 390, "height": 844})
    assert _widest_right_edge(page) <= 390
    page.set_viewport_size({"width": 1366, "height": 768})

    # The read's link opens it in the event search, where its plate shows too.
    van.locator(".read-link a").click()
    page.wait_for_url(re.compile(r".*/search\?.*type=plate_read.*"))
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#detail-body .detail-shot img")
    rows = page.locator("#results tbody tr[data-id]")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.id)") == [str(ids["RK655BB"])]
    assert rows.locator(".plate").inner_text() == "RK655BB"
    assert "plate RK655BB" in page.locator("#detail-body").inner_text()

    # On record: the plate searches, with the purpose stated for them.
    audit = page.request.get(demo.base + "/api/audit?action=events.search&actor=admin&limit=50")
    plates = {
        (r["details"].get("query", {}).get("plate"), r["purpose"], r["outcome"])
        for r in audit.json()["items"]
    }
    assert ("rk?55*", PURPOSE, "ok") in plates and ("RK655BB", PURPOSE, "ok") in plates
    ui.check_no_errors()


@pytest.mark.slow
def test_load_more_follows_the_cursor_to_the_older_reads(demo: Demo, ui: Watched) -> None:
    reads = [("lobby", f"MX{n:03d}Q", 100.0 + n) for n in range(53)]  # a page is 50
    ids = _store_reads(demo.data_dir, reads)
    page = ui.page
    log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/plates")
    _search(page, "mx*q")
    _answered(page)
    assert page.locator("#results-info").inner_text() == "50 reads, more older"
    more = page.locator("#more")
    assert more.is_visible()
    more.click()
    page.wait_for_function(
        "() => document.getElementById('results-info').textContent === '53 reads'"
    )
    assert more.is_hidden()
    shown = page.locator("#reads li.read").evaluate_all("ns => ns.map(n => n.dataset.plate)")
    assert shown == [plate for _, plate, _ in reads]  # newest first, each once
    assert len(set(ids.values())) == 53
    ui.check_no_errors()


@pytest.mark.slow
def test_a_search_without_a_purpose_or_with_a_bad_pattern_is_refused(
    demo: Demo, browser: Any
) -> None:
    # The server's refusals below are 422s, which Chromium logs as failed resources.
    with open_page(browser, allowed=(*EXPECTED_CONSOLE, "status of 422")) as ui:
        page = ui.page
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/api/events" in r.url else None)
        log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/plates")
        _search(page, "RK*", purpose=None)
        error = page.locator("#search-error")
        error.wait_for(state="visible")
        assert "State a purpose" in error.inner_text()
        assert page.locator("#reads li").count() == 0 and asked == []
        # The page's check only saves a round trip: the server refuses such a search itself.
        status, body = page.evaluate(
            "async () => { const r = await fetch('/api/events?type=plate_read&plate=RK*');"
            " return [r.status, await r.json()]; }"
        )
        assert status == 422 and "state a purpose" in body["detail"], body
        # A pattern the server cannot read: the page says what the server said.
        _search(page, "RK%")
        page.wait_for_function(
            "() => document.getElementById('search-error').textContent.includes('plate')"
        )
        said = error.inner_text()
        assert "query parameter 'plate'" in said and "not a plate pattern" in said, said
        assert page.locator("#reads li").count() == 0
        assert page.locator("#results-info").inner_text() == ""
        # No search went unrefused without a purpose; both refusals are on record.
        audit = page.request.get(demo.base + "/api/audit?action=events.search&actor=admin")
        rows = [
            (r["details"].get("query", {}).get("plate"), r["purpose"], r["outcome"])
            for r in audit.json()["items"]
        ]
        assert ("RK*", None, "422") in rows and ("RK%", PURPOSE, "422") in rows, rows
        assert [r for r in rows if r[1] is None and r[2] == "ok"] == []
        ui.check_no_errors()


@pytest.mark.slow
def test_a_plate_read_shows_its_plate_in_the_live_feed(demo: Demo, ui: Watched) -> None:
    ids = _store_reads(demo.data_dir, [("car-park", "LV4711XY", 0.0)])
    page = ui.page
    log_in(page, demo.base, "admin", ADMIN_PASSWORD)
    read = page.locator(f".feed-item.event[data-id='{ids['LV4711XY']}']")
    read.wait_for()
    assert read.get_attribute("data-type") == "plate_read"
    assert read.locator(".feed-row1 .plate").inner_text() == "LV4711XY"
    assert "Plate read" in read.locator(".feed-title").inner_text()
    assert read.locator(".feed-details").inner_text() == "Car park"  # the plate not twice
    ui.check_no_errors()
