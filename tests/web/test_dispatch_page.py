"""Dispatch from the command centre, in a real browser (Debian's Chromium through Playwright)
against the running demo: units created and moved through the API appear and move on the
live map; an alert in the feed becomes an incident (Open incident) whose panel suggests the
nearest available unit first; Dispatch turns that unit's marker to the dispatched colour and
the incident to dispatched, and the timeline lists each step with who took it. A face match
two people have not confirmed cannot be dispatched: the panel shows the server's sentence.
And the desk pages on a phone (390x844) and a tablet (768x1024): nothing scrolls sideways,
nothing in the top bar overlaps, tables scroll inside their own box, and the live page shows
the camera picture at a real size on its first screen (screenshot saved)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.conftest import ADMIN_PASSWORD, EXPECTED_CONSOLE, Demo, add_user, log_in, open_page
from tests.web.test_two_person_page import _seed_match
from vigil.domain import Alert, EventType
from vigil.store.alerts import Alerts
from vigil.store.db import Store, default_db_url

pytestmark = pytest.mark.slow

OLGA = ("olga", "olga-operator-password")
LOBBY = (52.00232, 4.37336)  # the demo's lobby camera (vigil/assets/demo-server.yml)
NEAR = (52.00200, 4.37300)  # about 43 m from the lobby
FAR = (52.00120, 4.37200)  # about 155 m
WAIT_MS = 30_000
DESK_PAGES = ("/", "/search", "/playback", "/plates", "/watchlists", "/users", "/audit")
# A dispatch refused (409) is logged by Chromium as a failed resource.
REFUSED = (*EXPECTED_CONSOLE, "status of 409")


@pytest.fixture
def api(demo: Demo) -> Iterator[httpx.Client]:
    """The REST API as the admin, with the CSRF header on every request."""
    with httpx.Client(base_url=demo.base, timeout=10) as http:
        r = http.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        http.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield http


def _unit(api: httpx.Client, callsign: str, where: tuple[float, float]) -> int:
    r = api.post("/api/units", json={"callsign": callsign, "kind": "car"})
    assert r.status_code == 201, r.text
    unit_id = int(r.json()["id"])
    _move(api, unit_id, where)
    return unit_id


def _move(api: httpx.Client, unit_id: int, where: tuple[float, float]) -> None:
    body = {"positions": [{"lat": where[0], "lon": where[1], "accuracy_m": 6}]}
    r = api.post(f"/api/units/{unit_id}/positions", json=body)
    assert r.status_code == 200, r.text


def _seed_alert(data_dir: Path, rule: str) -> int:
    """An alert on the lobby camera now, as the pipeline raises one; its id."""
    store = Store(default_db_url(data_dir))
    try:
        alert = Alert(rule, "lobby", EventType.LOITER, time.time(), "person")
        return Alerts(store).create(alert).id
    finally:
        store.close()


_OFFSET = """(unit) => {
  const box = (sel) => document.querySelector(sel)?.getBoundingClientRect();
  const u = box(`.unit-marker[data-unit='${unit}']`), cam = box(".cam-marker[data-camera='lobby']");
  return u && cam ? [u.x - cam.x, u.y - cam.y] : null;
}"""

_COLOUR = """(unit) => {
  const colour = (sel) => getComputedStyle(document.querySelector(sel)).backgroundColor;
  return {
    marker: colour(`.unit-marker[data-unit='${unit}'] .point-pin`),
    dispatched: colour("#unit-legend [data-status='dispatched'] .unit-swatch"),
    available: colour("#unit-legend [data-status='available'] .unit-swatch"),
  };
}"""


def _open_incident_from(page: Any, alert_id: int) -> str:
    """Open incident on the alert in the feed; the id of the incident the panel shows."""
    item = page.locator(f".feed-item.alert[data-id='{alert_id}']")
    item.wait_for(timeout=WAIT_MS)
    item.locator("button[data-action=incident]").click()
    page.wait_for_selector(".incident-detail:not([hidden]) .inc-suggestions li[data-unit]")
    incident: str = page.locator(".incident-detail").get_attribute("data-incident") or ""
    assert incident
    return incident


def test_units_move_on_the_map_and_an_alert_is_dispatched_to_the_nearest(
    demo: Demo, browser: Any, api: httpx.Client
) -> None:
    add_user(demo.base, *OLGA, "operator")
    near = _unit(api, "Car 12", NEAR)
    far = _unit(api, "Car 31", FAR)
    alert_id = _seed_alert(demo.data_dir, "intruder at the lobby")
    with open_page(browser) as watched:
        page = watched.page
        log_in(page, demo.base, *OLGA)
        # Both units on the map with their callsigns, available.
        for unit, callsign in ((near, "Car 12"), (far, "Car 31")):
            marker = page.locator(f".unit-marker[data-unit='{unit}']")
            marker.wait_for(timeout=WAIT_MS)
            assert marker.locator(".point-label").inner_text() == callsign
            assert marker.get_attribute("data-status") == "available"
        assert page.locator("#unit-legend .legend-item").count() == 4  # one per UnitStatus

        # A position report moves the marker east (measured from the lobby camera's marker,
        # so a pan of the map does not count) and leaves a trail.
        before = page.evaluate(_OFFSET, near)
        assert before is not None
        _move(api, near, (NEAR[0], NEAR[1] + 0.0003))  # about 20 m east
        moved = page.wait_for_function(
            "([unit, x]) => { const o = (" + _OFFSET + ")(unit); return o && o[0] > x + 3 && o; }",
            arg=[near, before[0]],
            timeout=WAIT_MS,
        ).json_value()
        assert abs(moved[1] - before[1]) < 3, (before, moved)  # east, not north or south
        # (a line straight east has no height: it is there, not "visible" to Playwright)
        trail = page.locator(".leaflet-overlay-pane path.unit-trail")
        trail.wait_for(state="attached")
        assert "L" in (trail.get_attribute("d") or ""), "a trail of one point"

        # The alert in the feed becomes an incident: the nearest available unit first.
        incident = _open_incident_from(page, alert_id)
        suggested = page.locator(".inc-suggestions li[data-unit]")
        order = suggested.evaluate_all("ls => ls.map(l => Number(l.dataset.unit))")
        assert order.index(near) < order.index(far), order
        first = suggested.first
        assert first.locator(".sugg-callsign").inner_text() == "Car 12"
        assert " m · ETA " in first.locator(".sugg-what").inner_text()
        assert page.locator(f".incident-marker[data-incident='{incident}']").count() == 1
        colours = page.evaluate(_COLOUR, near)
        assert colours["marker"] == colours["available"] != colours["dispatched"], colours

        first.locator("button[data-action=dispatch]").click()
        page.wait_for_selector(f".unit-marker[data-unit='{near}'][data-status='dispatched']")
        colours = page.evaluate(_COLOUR, near)
        assert colours["marker"] == colours["dispatched"], colours
        page.wait_for_selector(".incident-detail .inc-head .inc-state[data-state='dispatched']")
        page.wait_for_selector(
            f".incident-marker[data-incident='{incident}'][data-state='dispatched']"
        )
        sent = page.locator(f".inc-units li[data-unit='{near}']")
        assert "Car 12" in sent.inner_text() and "sent by olga" in sent.inner_text()
        # The dispatched unit is no longer suggested; the other still is.
        page.wait_for_function(
            "(u) => !document.querySelector(`.inc-suggestions li[data-unit='${u}']`)", arg=near
        )
        assert page.locator(f".inc-suggestions li[data-unit='{far}']").count() == 1

        # Every step on the timeline, with who took it.
        steps = page.locator(".inc-timeline li").evaluate_all(
            "ls => ls.map(l => [l.dataset.action, l.querySelector('.tl-actor').textContent,"
            " l.querySelector('.tl-what').textContent])"
        )
        assert [(a, who) for a, who, _ in steps] == [
            ("opened", "olga"),
            ("alert_added", "olga"),
            ("dispatched", "olga"),
        ]
        assert f"alert {alert_id}" in steps[1][2] and "Car 12" in steps[2][2]
        # The list of incidents under way shows it dispatched, with its unit.
        page.locator(".inc-back").click()
        row = page.locator(f".incident-item[data-incident='{incident}']")
        assert row.get_attribute("data-state") == "dispatched"
        assert "Car 12 dispatched" in row.inner_text()

        # The link a TAK client is sent (/?incident=N) opens that incident on the desk.
        page.goto(f"{demo.base}/?incident={incident}")
        page.wait_for_selector(
            f".incident-detail:not([hidden])[data-incident='{incident}'] .inc-timeline li",
            timeout=WAIT_MS,
        )
        watched.check_no_errors()


def test_an_unconfirmed_face_match_cannot_be_dispatched_and_the_incident_is_closed(
    demo: Demo, browser: Any, api: httpx.Client
) -> None:
    add_user(demo.base, *OLGA, "operator")
    unit = _unit(api, "Car 7", NEAR)
    alert_id = _seed_match(demo.data_dir)
    # A checklist for this module's incidents from now on (type "general": from an alert).
    r = api.put("/api/checklists/general", json={"steps": ["Tell the venue's security"]})
    assert r.status_code == 200, r.text
    with open_page(browser, allowed=REFUSED) as watched:
        page = watched.page
        log_in(page, demo.base, *OLGA)
        _open_incident_from(page, alert_id)
        detail = page.locator(".incident-detail")
        send = detail.locator(
            f".inc-suggestions li[data-unit='{unit}'] button[data-action=dispatch]"
        )
        send.click()
        error = detail.locator(".inc-error")
        error.wait_for()
        assert error.inner_text() == (
            f"alert {alert_id} is a face_match that 2 people have not confirmed yet; "
            "no unit is sent on it before they have"
        )
        assert detail.locator(".inc-head .inc-state").get_attribute("data-state") == "open"
        marker = page.locator(f".unit-marker[data-unit='{unit}']")
        assert marker.get_attribute("data-status") == "available"

        # The checklist step ticked, a note, then closed: closing asks for a reason first.
        detail.locator(".inc-checklist button[data-step='1']").click()
        detail.locator(".inc-checklist li.done").wait_for()
        assert "olga" in detail.locator(".inc-checklist li.done").inner_text()
        detail.locator(".inc-note textarea").fill("venue security informed by phone")
        detail.locator(".inc-note button[type=submit]").click()
        detail.locator(".inc-timeline li[data-action='note']").wait_for()
        detail.locator(".inc-steps button[data-state='closed']").click()
        reason = detail.locator(".inc-reason")
        reason.wait_for()
        reason.locator("button[type=submit]").click()
        page.wait_for_function(
            "() => document.querySelector('.incident-detail .inc-error')?.textContent"
            " === 'Say why it becomes closed.'"
        )
        reason.locator("textarea").fill("not the listed person: no unit was needed")
        reason.locator("button[type=submit]").click()
        detail.locator(".inc-head .inc-state[data-state='closed']").wait_for()
        assert reason.is_hidden() and detail.locator(".inc-steps button").count() == 0
        steps = detail.locator(".inc-timeline li").evaluate_all(
            "ls => ls.map(l => [l.dataset.action, l.querySelector('.tl-actor').textContent,"
            " l.querySelector('.tl-text')?.textContent ?? null])"
        )
        assert steps == [
            ["opened", "olga", None],
            ["alert_added", "olga", None],
            ["checked", "olga", "Tell the venue's security"],
            ["note", "olga", "venue security informed by phone"],
            ["state", "olga", "not the listed person: no unit was needed"],
        ]
        # No longer under way: off the list and off the map.
        incident = detail.get_attribute("data-incident")
        page.locator(".inc-back").click()
        assert page.locator(f".incident-item[data-incident='{incident}']").count() == 0
        assert page.locator(f".incident-marker[data-incident='{incident}']").count() == 0
        watched.check_no_errors()


_TOP_BAR = """() => {
  const sel = '.topbar .brand, .topbar .nav, .topbar .stat, .topbar .link-state, .topbar .clock,'
    + ' .topbar .who, .topbar .btn';
  return [...document.querySelectorAll(sel)].filter((n) => n.offsetParent !== null).map((n) => {
    const r = n.getBoundingClientRect();
    return { name: n.id || n.className || n.tagName, left: r.left, right: r.right, top: r.top,
             bottom: r.bottom };
  });
}"""

# Each visible table either fits in the box that clips it, or that box scrolls sideways.
_TABLES = """() => [...document.querySelectorAll('table')].filter((t) => t.offsetParent !== null)
  .map((t) => {
    const r = t.getBoundingClientRect();
    let box = t.parentElement;
    while (box && box !== document.body && getComputedStyle(box).overflowX === 'visible') {
      box = box.parentElement;
    }
    const scrolls = box !== document.body
      && ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
    const edge = box === document.body ? innerWidth : box.getBoundingClientRect().right;
    return { table: t.id || t.className, right: r.right, edge, scrolls,
             boxRight: box === document.body ? 0 : box.getBoundingClientRect().right };
  })"""

_PICTURE = """() => {
  const img = document.querySelector('.tile img');
  const r = img.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return { width: r.width, height: r.height, top: r.top, bottom: r.bottom,
           natural: img.naturalWidth, onTop: hit === img || img.parentElement.contains(hit) };
}"""


def _overlaps(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            w = min(a["right"], b["right"]) - max(a["left"], b["left"])
            h = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if w > 0.5 and h > 0.5:
                found.append((a["name"], b["name"]))
    return found


def _check_page(page: Any, path: str, width: int) -> int:
    """Nothing sideways, nothing overlapping in the top bar, no clipped table; the page's
    width as laid out."""
    laid_out, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert laid_out <= inner == width, f"{path} lays out {laid_out} px wide at {width} px"
    bar = page.evaluate(_TOP_BAR)
    assert _overlaps(bar) == [], f"{path}: top bar items overlap: {_overlaps(bar)}"
    outside = [b["name"] for b in bar if b["left"] < -0.5 or b["right"] > width + 0.5]
    assert outside == [], f"{path}: top bar items off the screen: {outside}"
    for t in page.evaluate(_TABLES):
        assert t["scrolls"] or t["right"] <= t["edge"] + 0.5, f"{path}: table cut off: {t}"
        assert t["boxRight"] <= width + 0.5, f"{path}: table's box off the screen: {t}"
    return int(laid_out)


def _check_live(page: Any, width: int, height: int) -> None:
    """The live page: the first tile's picture shown, wide, on the first screen and not
    covered; the panels side by side or stacked, never on top of each other."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tile img')].every(i => i.naturalWidth > 0)",
        timeout=WAIT_MS,
    )
    picture = page.evaluate(_PICTURE)
    assert picture["width"] > 300 and picture["height"] > 150, picture
    assert picture["top"] >= 0 and picture["bottom"] <= height, picture
    assert picture["onTop"], f"something covers the camera picture: {picture}"
    panels = page.locator(".live > .panel").evaluate_all(
        "ps => ps.map(p => { const r = p.getBoundingClientRect(); return {name: p.className,"
        " left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })"
    )
    assert len(panels) == 4 and _overlaps(panels) == [], panels
    for p in panels:  # the map and the feed too: on the page, each with room
        assert p["right"] - p["left"] > min(300, width / 3) and p["bottom"] - p["top"] > 60, p
    assert page.locator("#map .leaflet-container, #map.leaflet-container").count() == 1


@pytest.mark.parametrize("size", [(390, 844), (768, 1024)], ids=["phone", "tablet"])
def test_the_desk_pages_fit_a_phone_and_a_tablet(
    demo: Demo, browser: Any, tmp_path: Path, size: tuple[int, int]
) -> None:
    width, height = size
    with open_page(browser) as watched:
        page = watched.page
        page.set_viewport_size({"width": width, "height": height})
        log_in(page, demo.base, "admin", ADMIN_PASSWORD)
        widths = {}
        for path in DESK_PAGES:
            if path != "/":
                page.goto(demo.base + path)
                page.wait_for_selector("body[data-ready='1']")
            widths[path] = _check_page(page, path, width)
            if path == "/":
                _check_live(page, width, height)
                shot = tmp_path / f"desk-live-{width}.png"
                page.screenshot(path=str(shot))
                if os.environ.get("VIGIL_SCREENSHOT_DIR"):
                    target = Path(os.environ["VIGIL_SCREENSHOT_DIR"])
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(shot, target / shot.name)
        print(f"page widths at {width}x{height}: {widths}; screenshot {tmp_path}")
        watched.check_no_errors()
