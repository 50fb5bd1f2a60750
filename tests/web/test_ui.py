"""The command centre in a real browser (Debian's Chromium through Playwright) against a real
server running the bundled demo: log in, see both cameras online on the map and in tiles, see
a new event from the running pipeline arrive in the live feed without a reload, review alerts;
a viewer gets no review buttons; the map works without Leaflet; the event search pages."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import need
from tests.web.conftest import (
    ADMIN_PASSWORD,
    VIEWER_PASSWORD,
    Demo,
    Watched,
    add_user,
    feed_keys,
    log_in,
    open_page,
    wait_for_events,
    wait_for_new_event,
)
from vigil.api.pages import find_swagger_ui

pytestmark = pytest.mark.slow

NEW_EVENT_WAIT_MS = 60_000  # the clips' first happenings come 7 to 9 s in
ONLINE_WAIT_MS = 30_000


def _count(page: Any, selector: str) -> int:
    return int(page.locator(selector).count())


def _cameras_online(page: Any, marker: str) -> None:
    page.wait_for_function(
        "sel => document.querySelectorAll(sel).length === 2",
        arg=f"{marker}.online",
        timeout=ONLINE_WAIT_MS,
    )


def _no_horizontal_scroll(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways at 1366x768: {widths}"


def test_operator_sees_cameras_online_and_a_new_event_arrives_live(
    demo: Demo, ui: Watched, tmp_path: Path
) -> None:
    page = ui.page
    log_in(page, demo.base, "admin", ADMIN_PASSWORD)
    page.evaluate("window.__vigilLoaded = performance.timeOrigin")
    navigations = page.evaluate("performance.getEntriesByType('navigation').length")
    assert page.locator(".who-name").inner_text() == "admin"
    assert page.locator(".role").inner_text().lower() == "admin"
    assert page.locator("#live").get_attribute("data-leaflet") == "yes"

    # Both demo cameras online: on the map (Leaflet markers) and in the tiles.
    _cameras_online(page, ".leaflet-marker-pane .cam-marker")
    names = page.locator(".cam-marker .cam-name").all_inner_texts()
    assert sorted(names) == ["Car park", "Lobby"]
    _cameras_online(page, ".tile")
    badges = page.locator(".tile .badge").all_inner_texts()
    assert badges == ["ONLINE", "ONLINE"]
    assert sorted(page.locator(".tile h3").all_inner_texts()) == ["Car park", "Lobby"]
    src = page.locator(".tile[data-camera='lobby'] img").get_attribute("src")
    assert src is not None and src.startswith("/api/cameras/lobby/mjpeg?boxes=1")
    # The live picture arrives (the MJPEG stream decodes into the <img>).
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tile img')].every(i => i.naturalWidth > 0)",
        timeout=ONLINE_WAIT_MS,
    )

    # A new event from the running pipeline, pushed over the WebSocket: no reload. What the
    # feed held before (loaded, or pushed already) does not count.
    before = feed_keys(page)
    started = time.monotonic()
    event_id = wait_for_new_event(page, before, NEW_EVENT_WAIT_MS)
    waited = time.monotonic() - started
    fresh = page.locator(f".feed-item.event[data-id='{event_id}']")
    assert "event" + event_id not in before
    assert fresh.get_attribute("data-camera") in ("lobby", "car-park")
    assert page.evaluate("window.__vigilLoaded === performance.timeOrigin")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == navigations
    assert page.locator("#link-state").inner_text() == "LIVE"
    print(f"new event in the feed after {waited:.1f} s")

    # Let a car-park alert come in too (one every few seconds), then keep the picture.
    page.wait_for_selector(".feed-item.alert.status-candidate", timeout=NEW_EVENT_WAIT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.feed-item .thumb img')].slice(0, 6)"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    _no_horizontal_scroll(page)
    shot = tmp_path / "command-centre.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("VIGIL_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["VIGIL_SCREENSHOT"])

    # Review: acknowledge one alert, dismiss another with a reason (the dialog insists).
    # A locator's `.first` is looked up again on every use and new alerts keep arriving at the
    # top: hold on to each alert by its id, or a click could land on a newer one.
    alert_id = page.locator(".feed-item.alert.status-candidate").first.get_attribute("data-id")
    first = page.locator(f".feed-item.alert[data-id='{alert_id}']")
    first.locator("button[data-action='acknowledge']").click()
    page.wait_for_selector(f".feed-item.alert.status-acknowledged[data-id='{alert_id}']")
    acked = page.locator(f".feed-item.alert[data-id='{alert_id}'] .feed-review").inner_text()
    assert "ACKNOWLEDGED" in acked and "admin" in acked

    page.wait_for_selector(".feed-item.alert.status-candidate", timeout=NEW_EVENT_WAIT_MS)
    other_id = page.locator(".feed-item.alert.status-candidate").first.get_attribute("data-id")
    other = page.locator(f".feed-item.alert[data-id='{other_id}']")
    other.locator("button[data-action='dismiss']").click()
    dialog = page.locator("#dismiss-dialog")
    assert dialog.is_visible()
    dialog.locator("button[type=submit]").click()
    assert page.locator("#dismiss-error").inner_text() == "Say why the alert is dismissed."
    page.fill("#dismiss-reason", "a delivery van, expected")
    dialog.locator("button[type=submit]").click()
    page.wait_for_selector(f".feed-item.alert.status-dismissed[data-id='{other_id}']")
    assert not dialog.is_visible()
    text = page.locator(f".feed-item.alert[data-id='{other_id}'] .feed-review").inner_text()
    assert "DISMISSED" in text and "a delivery van, expected" in text

    # Choosing a camera in the feed focuses its tile; a marker click does too.
    page.locator(".cam-marker[data-camera='car-park']").click()
    page.wait_for_selector(".tile.selected[data-camera='car-park']")
    ui.check_no_errors()


def test_a_viewer_sees_the_feed_but_no_review_buttons(demo: Demo, ui: Watched) -> None:
    add_user(demo.base, "watcher", VIEWER_PASSWORD, "viewer")
    page = ui.page
    log_in(page, demo.base, "watcher", VIEWER_PASSWORD)
    assert page.locator(".role").inner_text().lower() == "viewer"
    # One live stream only: the second tile refreshes a still picture instead.
    page.goto(demo.base + "/?streams=1")
    page.wait_for_selector("body[data-ready='1']")
    _cameras_online(page, ".tile")
    kinds = page.locator(".tile").evaluate_all("ts => ts.map(t => t.dataset.picture)")
    assert kinds == ["stream", "snapshots"]
    still = page.locator(".tile[data-picture='snapshots'] img")
    page.wait_for_function("img => img.naturalWidth > 0", arg=still.element_handle())
    first_src = still.get_attribute("src") or ""
    assert "/live.jpg?boxes=1" in first_src
    page.wait_for_function(
        "([img, src]) => img.getAttribute('src') !== src", arg=[still.element_handle(), first_src]
    )
    page.wait_for_selector(".feed-item.alert", timeout=NEW_EVENT_WAIT_MS)
    page.wait_for_selector(".feed-item.alert.status-candidate", timeout=NEW_EVENT_WAIT_MS)
    assert _count(page, "button.review") == 0
    assert _count(page, ".feed-actions") == 0
    ui.check_no_errors()


def _decoders(server_pid: int) -> list[int]:
    """The server's decoder processes (multiprocessing spawn children), oldest first."""
    children: list[int] = []
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    found = []
    for pid in sorted(children):
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def test_a_stalled_camera_shows_offline_within_10_s_and_recovers_by_itself(
    demo: Demo, ui: Watched, tmp_path: Path
) -> None:
    page = ui.page
    log_in(page, demo.base, "admin", ADMIN_PASSWORD)
    _cameras_online(page, ".tile")
    decoders = _decoders(demo.process.pid)
    assert len(decoders) == 2, decoders
    os.kill(decoders[0], signal.SIGSTOP)  # a hung camera: no frames, no error of its own
    stopped = time.monotonic()
    try:
        page.wait_for_selector(".tile.offline", timeout=10_000)
        took = time.monotonic() - stopped
        tile = page.locator(".tile.offline")
        assert tile.count() == 1
        camera = tile.get_attribute("data-camera")
        assert tile.locator(".badge").inner_text() == "OFFLINE"
        since = tile.locator("strong").inner_text()
        assert re.fullmatch(r"OFFLINE since \d\d:\d\d:\d\d UTC", since)  # the browser's zone
        error = tile.locator(".tile-error").inner_text()
        assert "no frames" in error, f"{error}; the server said:\n{demo.log_tail()}"
        page.wait_for_selector(f".cam-marker.offline[data-camera='{camera}']")
        assert page.locator("#stat-cameras .stat-v").inner_text() == "1/2"
        page.screenshot(path=str(tmp_path / "camera-offline.png"))
        print(f"offline in the UI {took:.1f} s after the camera stalled")
    finally:
        with contextlib.suppress(ProcessLookupError):  # restarted meanwhile: gone already
            os.kill(decoders[0], signal.SIGCONT)
    _cameras_online(page, ".tile")
    _cameras_online(page, ".leaflet-marker-pane .cam-marker")
    assert page.locator(".tile .tile-offline strong").count() == 0
    ui.check_no_errors()


def test_without_leaflet_the_map_is_a_plain_grid_that_says_why(demo: Demo, browser: Any) -> None:
    with open_page(browser, allowed=("tile.openstreetmap.org", "leaflet")) as watched:
        page = watched.page
        page.route("**/static/vendor/leaflet/**", lambda route: route.abort())
        log_in(page, demo.base, "admin", ADMIN_PASSWORD)
        notice = page.locator("#map-notice")
        assert notice.is_visible() and "Leaflet" in notice.inner_text()
        _cameras_online(page, ".plain-marker")
        assert sorted(page.locator(".plain-marker text").all_text_contents()) == [
            "Car park",
            "Lobby",
        ]
        assert _count(page, ".plain-grid line") >= 2
        page.locator(".plain-marker[data-camera='lobby']").click()
        page.wait_for_selector(".tile.selected[data-camera='lobby']")
        _no_horizontal_scroll(page)
        watched.check_no_errors()


def test_event_search_filters_pages_and_shows_the_snapshot(demo: Demo, ui: Watched) -> None:
    page = ui.page
    wait_for_events(demo.base, 12, NEW_EVENT_WAIT_MS / 1000)  # more than a page of ten
    log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/search")
    # Nothing is searched before a purpose is stated (searches are audited with it).
    assert page.locator("#results tbody tr[data-id]").count() == 0
    assert "purpose" in page.locator("#results tbody").inner_text()
    page.click("#filters button[type=submit]")
    assert page.locator("#results tbody tr[data-id]").count() == 0
    page.fill("input[name=purpose]", "case 2026-041")
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        "() => document.querySelectorAll('#results tbody tr[data-id]').length > 0",
        timeout=NEW_EVENT_WAIT_MS,
    )
    # The first row is chosen: its snapshot is shown larger.
    page.wait_for_selector("#detail-body .detail-shot img")
    page.locator("#results tbody tr[data-id]").nth(0).click()
    assert page.locator("#results tbody tr[aria-selected='true']").count() == 1

    page.select_option("select[name=camera]", "car-park")
    page.select_option("select[name=type]", "line_cross")
    page.select_option("select[name=limit]", "10")
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('results-info').textContent !== 'searching…'"
    )
    assert "camera=car-park" in page.url and "type=line_cross" in page.url
    assert "purpose=case+2026-041" in page.url
    times = page.locator("#results tbody tr[data-id] td:nth-child(2)").all_inner_texts()
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", t) for t in times), times
    assert page.locator("label:has(input[name=since])").inner_text().strip() == "FROM (UTC)"
    cameras = set(page.locator("#results tbody tr[data-id] td:nth-child(3)").all_inner_texts())
    types = set(page.locator("#results tbody tr[data-id] td:nth-child(4)").all_inner_texts())
    assert cameras <= {"Car park"} and types <= {"Line cross"}

    # A time range with nothing in it yet.
    page.fill("input[name=since]", "2099-01-01T00:00:00")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#results td.empty")
    assert page.locator("#results-info").inner_text() == "0 results"
    assert "since=2099-01-01T" in page.url

    page.fill("input[name=since]", "")
    page.select_option("select[name=camera]", "")
    page.select_option("select[name=type]", "")
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        "() => document.querySelectorAll('#results tbody tr[data-id]').length === 10",
        timeout=NEW_EVENT_WAIT_MS,
    )
    ids = "rs => rs.map(r => r.dataset.id)"
    first_page = page.locator("#results tbody tr[data-id]").evaluate_all(ids)
    assert page.locator("#newer").is_disabled() and page.locator("#older").is_enabled()
    page.click("#older")
    page.wait_for_function("() => document.getElementById('page-no').textContent === 'page 2'")
    second = page.locator("#results tbody tr[data-id]").evaluate_all(ids)
    assert second and not set(second) & set(first_page)
    page.click("#newer")
    page.wait_for_function("() => document.getElementById('page-no').textContent === 'page 1'")
    back = page.locator("#results tbody tr[data-id]").evaluate_all(ids)
    # The demo keeps storing events: new ones come first and push the oldest of the first page
    # onto the second; the rest of the first page is as it was, in the same order.
    kept = [i for i in back if i in first_page]
    assert len(back) == 10 and len(kept) >= 5 and kept == first_page[: len(kept)], (
        back,
        first_page,
    )
    _no_horizontal_scroll(page)
    ui.check_no_errors()


AUDITOR_PASSWORD = "ui-test-auditor-password"


def test_an_auditor_lands_on_the_audit_log_sees_a_verified_chain_and_no_pictures(
    demo: Demo, ui: Watched
) -> None:
    add_user(demo.base, "audrey", AUDITOR_PASSWORD, "auditor")
    # An investigator's search and the pictures of its results, as the search page shows them.
    wait_for_events(demo.base, 3, NEW_EVENT_WAIT_MS / 1000)
    with httpx.Client(base_url=demo.base, timeout=10) as http:
        http.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        found = http.get("/api/events", params={"purpose": "case 2026-077", "limit": 3}).json()
        pictures = [e["snapshot_url"] for e in found["items"] if e["snapshot_url"]]
        assert pictures and all(http.get(u).status_code == 200 for u in pictures)
    page = ui.page
    page.goto(demo.base + "/")
    assert "/login" in page.url
    page.fill("#username", "audrey")
    page.fill("#password", AUDITOR_PASSWORD)
    page.click("form.login-form button[type=submit]")
    page.wait_for_url(demo.base + "/audit")  # the live page sends an auditor here
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator(".role").inner_text().lower() == "auditor"
    # The audit log with rows (the admin's and this auditor's logins at least), newest first.
    rows = page.locator("#log tbody tr[data-audit]")
    assert rows.count() >= 2
    actions = page.locator("#log tbody tr[data-audit] td:nth-child(4)").all_inner_texts()
    assert "auth.login" in actions
    # The search comes first, its pictures folded under it, each with the search's purpose.
    search = page.locator("#log tbody tr.search-row", has_text="case 2026-077")
    fold = search.locator("button.search-fold")
    assert fold.inner_text() == f"{len(pictures)} picture{'s' if len(pictures) > 1 else ''}"
    shots = page.locator(
        f"#log tbody tr.in-search[data-search='{search.get_attribute('data-search')}']"
    )
    assert shots.count() == len(pictures) and not shots.first.is_visible()
    fold.click()
    shots.first.wait_for(state="visible")
    purposes = shots.evaluate_all("rs => rs.map(r => r.children[5].textContent)")
    assert purposes == ["case 2026-077"] * len(pictures)
    # Every column of the log fits its panel at 1366x768 (none is cut off at the right).
    overflow = page.evaluate(
        "() => { const w = document.querySelector('#log').closest('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth]; }"
    )
    assert overflow[0] <= overflow[1], f"the audit log is cut off: {overflow}"
    assert page.locator("#chain-state").inner_text() == "verified"
    assert page.locator("#chain").get_attribute("data-tone") == "ok"
    # The transparency report of the default period, rendered from the API.
    page.wait_for_selector("#report .report-section")
    assert "verified" in page.locator("#report").inner_text()
    # Filters work: only the auditor's own reads of the audit log.
    page.fill("input[name=actor]", "audrey")
    page.fill("input[name=action]", "audit.")
    page.click("#filters button[type=submit]")
    page.wait_for_function("() => document.getElementById('log-info').textContent !== 'loading…'")
    assert "actor=audrey" in page.url
    acted = set(page.locator("#log tbody tr[data-audit] td:nth-child(3)").all_inner_texts())
    assert acted == {"audrey"}
    # No video anywhere: no pictures, no camera tiles, no Live or Search link, no socket.
    assert page.locator("img").count() == 0
    assert page.locator(".tile, #map, #feed").count() == 0
    assert page.locator("nav a").all_inner_texts() == ["Audit"]
    page.goto(demo.base + "/search")
    page.wait_for_url(demo.base + "/audit")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("img").count() == 0
    _no_horizontal_scroll(page)
    ui.check_no_errors()


def test_the_api_docs_run_from_this_server_under_a_strict_policy(demo: Demo, ui: Watched) -> None:
    """Swagger UI comes from node_modules (not a CDN) and its one inline script runs because
    the page's content security policy names its hash: a blocked script would be a console
    error and an empty page."""
    need(find_swagger_ui() is not None, "swagger-ui-dist is missing; run make setup (npm ci)")
    page = ui.page
    foreign: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(demo.base) else foreign.append(r.url),
    )
    log_in(page, demo.base, "admin", ADMIN_PASSWORD)
    page.goto(demo.base + "/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Vigil" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".opblock-summary-path[data-path='/api/events']")
    assert [u for u in foreign if "/api/docs" in u or "swagger" in u or "cdn" in u] == []
    ui.check_no_errors()


def test_a_user_changes_their_password_from_the_top_bar(demo: Demo, browser: Any) -> None:
    add_user(demo.base, "pat", "pat-first-password", "viewer")
    # A wrong current password is a 403, which Chromium logs as a failed resource.
    with open_page(browser, allowed=("tile.openstreetmap.org", "/api/me/password")) as watched:
        page = watched.page
        log_in(page, demo.base, "pat", "pat-first-password")
        page.click("#password-open")
        assert page.locator("#password-dialog").is_visible()
        page.fill("#password-current", "pat-first-password")
        page.fill("#password-new", "short")
        page.fill("#password-repeat", "short")
        page.click("#password-submit")
        assert "at least 10 characters" in page.locator("#password-error").inner_text()
        page.fill("#password-new", "pat-second-password")
        page.fill("#password-repeat", "pat-second-passwort")
        page.click("#password-submit")
        assert "differ" in page.locator("#password-error").inner_text()
        page.fill("#password-current", "not my password")
        page.fill("#password-repeat", "pat-second-password")
        page.click("#password-submit")
        page.wait_for_function(
            "() => document.getElementById('password-error').textContent.includes('wrong')"
        )
        page.fill("#password-current", "pat-first-password")
        page.click("#password-submit")
        page.wait_for_url(re.compile(r".*/login\?changed=1$"))
        assert "Password changed" in page.locator("main, body").first.inner_text()
        # The old password no longer works, the new one does.
        r = httpx.post(
            demo.base + "/api/login", json={"username": "pat", "password": "pat-first-password"}
        )
        assert r.status_code == 401
        page.fill("#username", "pat")
        page.fill("#password", "pat-second-password")
        page.click("form.login-form button[type=submit]")
        page.wait_for_url(demo.base + "/")
        page.wait_for_selector("body[data-ready='1']")
        watched.check_no_errors()


def test_an_admin_adds_limits_and_disables_a_user_on_the_users_page(
    demo: Demo, ui: Watched, tmp_path: Path
) -> None:
    page = ui.page
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/users")
    assert page.locator("nav a[aria-current='page']").inner_text() == "Users"
    page.wait_for_selector("#user-list tr[data-user='admin']")
    # A mistake is said in the form, not sent.
    page.fill("#add-username", "walt")
    page.fill("#add-password", "short")
    page.click("#add-form button[type=submit]")
    assert "at least" in page.locator("#add-error").inner_text()
    # A viewer who sees the lobby only.
    page.fill("#add-password", "walt's long password")
    page.uncheck("#add-form input[name=all]")
    page.check("#add-form input[name=camera][value=lobby]")
    page.click("#add-form button[type=submit]")
    walt = page.locator("#user-list tr[data-user='walt']")
    walt.wait_for()
    assert walt.locator("td").nth(1).inner_text().lower() == "viewer"
    assert walt.locator("td").nth(2).inner_text() == "lobby"
    page.screenshot(path=str(tmp_path / "users.png"))
    # The server's refusal is shown as it says it: the username is taken.
    page.fill("#add-username", "walt")
    page.fill("#add-password", "another long password")
    page.click("#add-form button[type=submit]")
    page.wait_for_function("() => !document.getElementById('add-error').hidden")
    assert "taken" in page.locator("#add-error").inner_text()
    # Disabled: walt can no longer log in.
    walt.locator("button", has_text="Change").click()
    page.check("#edit-form input[name=disabled]")
    page.click("#edit-submit")
    page.wait_for_function(
        "() => document.querySelector(\"#user-list tr[data-user='walt'] td:nth-child(4)\")"
        ".textContent === 'disabled'"
    )
    with httpx.Client(base_url=demo.base, timeout=10) as http:
        r = http.post("/api/login", json={"username": "walt", "password": "walt's long password"})
        assert r.status_code == 401
    _no_horizontal_scroll(page)
    taken = "status of 409 (Conflict)"  # the browser's own line for the refusal shown above
    assert [e for e in ui.errors if taken not in e] == []
