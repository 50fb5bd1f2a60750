"""The field app (/field) in a real browser (Debian's Chromium through Playwright) against a
running demo: two officers' phones (390x844, geolocation emulated and moved along a path) and
the command centre at 1366x768. The command centre sees both officers move; an alert near
officer A appears on A's phone and not on B's (1.2 km away); the operator dispatches A from
the alert in the feed; A accepts, goes on scene, writes a note and resolves, with the camera's
live picture on the phone meanwhile; the incident's timeline and the audit log have each
step with who and when; A declines another incident. Offline, an officer's positions are
queued and sent as one batch when the connection comes back; a batch the server refuses is
dropped with its reason; the service worker keeps the shell (no API answer), and the app opens
with no connection. A user without a unit is told so; an auditor gets no field app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web import fieldphones as fp
from tests.web.conftest import (
    ADMIN_PASSWORD,
    Demo,
    add_user,
    log_in,
    open_page,
    require_browser,
    serving,
)

pytestmark = pytest.mark.slow

REPORT_EVERY_S = 2  # the server's field.report_every_s here (the app must follow it)
ANNA, BEN, CARL, DORA, OLGA, AUDREY = "anna", "ben", "carl", "dora", "olga", "audrey"
WALK = [fp.at(150), fp.at(140, 10), fp.at(125, 20), fp.at(110, 25)]  # A, towards the camera
FAR = fp.at(1200)  # officer B
OFFLINE_WALK = [fp.at(95, 25), fp.at(80, 20), fp.at(65, 15)]  # D, with no connection
# D's phone may also say: the broken position the test queues (422), the offline probe.
D_CONSOLE = ("status of 422", "/static/faces.css")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo (two live cameras) with phones reporting every REPORT_EVERY_S seconds."""
    require_browser()
    code = (
        "from pathlib import Path; from vigil.server import demo_config, serve; "
        "c = demo_config(); "
        "c = c.model_copy(update=dict(field=c.field.model_copy("
        f"update=dict(report_every_s={REPORT_EVERY_S})))); "
        "serve(c, '127.0.0.1', {port}, Path({data}))"
    )
    with serving(code, tmp_path_factory.mktemp("vigil-field")) as demo:
        yield demo


_LIVE_PICTURE = """() => {
  const img = document.querySelector(".field-live[data-camera='lobby'][data-loaded='1'] img");
  return img && img.naturalWidth > 0;
}"""


def _polls(page: Any) -> int:
    return int(page.locator("#field").get_attribute("data-polled") or 0)


def _seen_after(page: Any, count: int) -> None:
    """Until the phone drew two more answers of GET /api/field than `count`."""
    page.wait_for_function(
        "(n) => Number(document.getElementById('field').dataset.polled || 0) >= n", arg=count + 2
    )


# Where a unit's marker is on the desk's map, from the lobby camera's (the map may pan).
_OFFSET = """(unit) => {
  const box = (sel) => document.querySelector(sel)?.getBoundingClientRect();
  const u = box(`.unit-marker[data-unit='${unit}']`), cam = box(".cam-marker[data-camera='lobby']");
  return u && cam ? [Math.round(u.x - cam.x), Math.round(u.y - cam.y)] : null;
}"""
_MOVED = f"""([unit, before]) => {{
  const now = ({_OFFSET})(unit);
  return now !== null && (now[0] !== before[0] || now[1] !== before[1]);
}}"""


def _walk_with_the_desk_watching(desk: Any, phone: Any, http: httpx.Client, unit: int) -> None:
    """A walks WALK; each position reaches the server and moves A's marker on the desk."""
    for point in WALK[1:]:
        before = desk.evaluate(_OFFSET, unit)
        fp.move(phone, point)
        fp.unit_at(http, unit, point)
        desk.wait_for_function(_MOVED, arg=[unit, before])


def _dispatch_from_the_desk(desk: Any, alert_id: int, unit: int) -> int:
    """The operator opens an incident on the alert in the feed and sends unit `unit`."""
    item = desk.locator(f".feed-item.alert[data-id='{alert_id}']")
    item.wait_for(timeout=fp.WAIT_MS)
    item.locator("button[data-action=incident]").click()
    send = desk.locator(
        f".incident-detail:not([hidden]) .inc-suggestions li[data-unit='{unit}'] "
        "button[data-action=dispatch]"
    )
    send.wait_for(timeout=fp.WAIT_MS)
    incident = int(desk.locator(".incident-detail").get_attribute("data-incident") or 0)
    send.click()
    desk.wait_for_selector(f".unit-marker[data-unit='{unit}'][data-status='dispatched']")
    return incident


def _answer(page: Any, incident: int, action: str) -> None:
    card = page.locator(f".field-incident[data-incident='{incident}']")
    button = card.locator(f"button.field-answer[data-action='{action}']")
    button.tap()


def _answer_on_the_phone(page: Any, incident: int, tmp_path: Path) -> None:
    """Accept, On scene, a note, Resolved: only the answers that fit are offered."""
    card = page.locator(f".field-incident[data-incident='{incident}']")
    offered = card.locator("button.field-answer")
    card.locator("button.field-answer[data-action='accept']").wait_for()
    assert offered.all_inner_texts() == ["Accept", "Decline"]
    _answer(page, incident, "accept")
    card.locator("button.field-answer[data-action='on_scene']").wait_for()
    assert offered.all_inner_texts() == ["On scene", "Decline"]
    assert card.get_attribute("data-assignment") == "accepted"
    _answer(page, incident, "on_scene")
    card.locator("button.field-answer[data-action='resolved']").wait_for()
    assert offered.all_inner_texts() == ["Resolved"]
    card.locator(".field-note textarea").fill("two people at the door, both calm; spoke to them")
    card.locator(".field-note button[type=submit]").tap()
    card.locator(".inc-timeline li[data-action='note']").wait_for()
    card.locator(".inc-timeline").scroll_into_view_if_needed()
    fp.screenshot(page, tmp_path, "field-a-on-scene.png")
    _answer(page, incident, "resolved")
    page.wait_for_selector("#done:not([hidden])")
    assert f"Incident #{incident}" in page.locator("#done").inner_text()
    assert card.count() == 0  # released: no longer the unit's incident


def _declined_on_the_phone(page: Any, op: httpx.Client, unit: int) -> None:
    """Sent to another incident, A declines it: it leaves the phone, the timeline says so."""
    body = {"title": "Lost dog", "lat": WALK[-1][0], "lon": WALK[-1][1]}
    incident = op.post("/api/incidents", json=body).json()["id"]
    r = op.post(f"/api/incidents/{incident}/dispatch", json={"unit_id": unit})
    assert r.status_code == 200, r.text
    page.locator(f".field-incident[data-incident='{incident}'] [data-action='decline']").tap()
    page.wait_for_function(
        "(id) => document.getElementById('done').textContent"
        ".includes(`#${id} Lost dog: you declined`)",
        arg=incident,
    )
    assert page.locator(f".field-incident[data-incident='{incident}']").count() == 0
    page.wait_for_selector(f"#near .near-incident[data-incident='{incident}']")  # near, not mine
    steps = op.get(f"/api/incidents/{incident}").json()["timeline"]
    assert [(s["action"], s["actor"]) for s in steps][-1] == ("declined", ANNA)


def _timeline_has_every_step(op: httpx.Client, incident: int) -> None:
    done = op.get(f"/api/incidents/{incident}").json()
    assert done["state"] == "resolved"
    steps = [(s["action"], s["actor"]) for s in done["timeline"]]
    assert steps == [
        ("opened", OLGA),
        ("alert_added", OLGA),
        ("dispatched", OLGA),
        ("accepted", ANNA),
        ("on_scene", ANNA),
        ("note", ANNA),
        ("state", ANNA),
    ]
    assert done["timeline"][-1]["state"] == "resolved"
    times = [datetime.fromisoformat(s["at"]) for s in done["timeline"]]
    assert times == sorted(times)


def _offline_walk(page: Any, admin: httpx.Client, unit: int) -> None:
    """Offline: each new fix is queued (and said so); back online, the queue goes as one."""
    conn = page.locator("#conn")
    page.context.set_offline(True)
    page.wait_for_selector("#conn[data-online='0']")
    assert page.locator("#link-state").inner_text() == "OFFLINE"
    for n, point in enumerate(OFFLINE_WALK, start=1):
        fp.move(page, point)
        page.wait_for_selector(f"#conn[data-queued='{n}']")
    assert conn.inner_text().startswith(f"offline — {len(OFFLINE_WALK)} positions queued")
    kept = page.evaluate("(k) => localStorage.getItem(k)", f"vigil.field.queue:{DORA}")
    assert [(p["lat"], p["lon"]) for p in json.loads(kept)] == OFFLINE_WALK  # hers, in order
    last = max(r["id"] for r in fp.audit(admin, DORA, "field.report"))
    page.context.set_offline(False)
    page.wait_for_selector("#conn[data-online='1'][data-queued='0']")
    assert fp.in_order(fp.history(admin, unit), OFFLINE_WALK)
    since = [r for r in fp.audit(admin, DORA, "field.report") if r["id"] > last]
    assert [r["details"]["positions"] for r in since] == [len(OFFLINE_WALK)]  # one batch


# The service worker kept every file of the shell (asked again if the connection went).
_ALL_KEPT = """() => {
  const m = /^kept (\\d+) of (\\d+)$/.exec(document.getElementById("field").dataset.offline || "");
  return m !== null && m[1] === m[2];
}"""


def _shell_is_kept_and_no_api_answer(page: Any) -> None:
    page.wait_for_function(_ALL_KEPT)
    kept = page.evaluate(
        """async () => {
          const urls = [];
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const r of await cache.keys()) urls.push(new URL(r.url).pathname);
          }
          return urls;
        }"""
    )
    assert "/field" in kept and "/static/js/field.js" in kept and "/static/field.css" in kept
    assert "/static/vendor/leaflet/leaflet.js" in kept
    assert not [u for u in kept if u.startswith("/api/")], kept
    assert page.evaluate("navigator.serviceWorker.controller !== null")


def _opens_offline(page: Any) -> None:
    """With no connection the app still opens (from the service worker's copy), and says so."""
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#conn[data-online='0']")
    assert page.locator("#field").get_attribute("data-leaflet") == "yes"
    page.wait_for_selector(".me-marker")  # where you are, and the cameras as last seen
    assert page.locator(".cam-marker[data-camera]").count() == 2
    # Really offline, for the service worker too: what it did not keep cannot be had.
    probe = "() => fetch('/static/faces.css').then((r) => r.status, (e) => e.name)"
    assert page.evaluate(probe) == "TypeError"
    page.context.set_offline(False)
    page.wait_for_selector("#conn[data-online='1']")


def _refused_batch_is_dropped(page: Any, admin: httpx.Client, unit: int) -> None:
    """A queued position the server will never take (not on the Earth: a broken phone) is
    dropped with the server's reason; nothing of it is stored and reporting goes on."""
    before = len(fp.history(admin, unit))
    bad = [{"lat": 95.0, "lon": fp.LOBBY[1], "time": datetime.now(UTC).isoformat()}]
    key = f"vigil.field.queue:{DORA}"
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, json.dumps(bad)])
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("() => document.getElementById('conn').textContent.includes('refused')")
    assert "not on the Earth" in page.locator("#conn").inner_text()
    page.wait_for_selector("#conn[data-queued='0']")
    assert page.evaluate("(k) => localStorage.getItem(k)", key) is None
    fp.move(page, OFFLINE_WALK[0])
    fp.unit_at(admin, unit, OFFLINE_WALK[0])  # the next fix goes through
    history = fp.history(admin, unit)
    assert len(history) == before + 1 and all(abs(lat) <= 90 for lat, _ in history)


def _people(base: str) -> tuple[httpx.Client, httpx.Client]:
    """The officers (field), the operator and the auditor; the admin's and operator's APIs."""
    for name in (ANNA, BEN, CARL, DORA):
        add_user(base, name, fp.PASSWORD, "field")
    add_user(base, OLGA, fp.PASSWORD, "operator")
    add_user(base, AUDREY, fp.PASSWORD, "auditor")
    return fp.client(base, "admin", ADMIN_PASSWORD), fp.client(base, OLGA, fp.PASSWORD)


def test_two_officers_an_alert_a_dispatch_and_the_answers_from_the_phone(
    server: Demo, browser: Any, tmp_path: Path
) -> None:
    admin, op = _people(server.base)
    a_unit, b_unit = fp.new_unit(admin, "A-1", ANNA), fp.new_unit(admin, "B-2", BEN)
    with (
        open_page(browser) as desk_watch,
        fp.phone(browser, server.base, ANNA, WALK[0]) as a,
        fp.phone(browser, server.base, BEN, FAR) as b,
    ):
        desk = desk_watch.page
        desk.set_default_timeout(fp.WAIT_MS)
        log_in(desk, server.base, OLGA, fp.PASSWORD)
        # Both phones report; the command centre shows both officers, and sees A move.
        fp.unit_at(op, a_unit, WALK[0])
        fp.unit_at(op, b_unit, FAR)
        for unit in (a_unit, b_unit):
            desk.wait_for_selector(f".unit-marker[data-unit='{unit}']")
        _walk_with_the_desk_watching(desk, a.page, op, a_unit)
        for phone in (a.page, b.page):  # each phone's map: the cameras and the colleague
            assert sorted(phone.locator(".cam-marker .cam-name").all_inner_texts()) == [
                "Car park",
                "Lobby",
            ]
        a.page.wait_for_selector(f".unit-marker[data-unit='{b_unit}']", state="attached")
        b.page.wait_for_selector(f".unit-marker[data-unit='{a_unit}']", state="attached")
        assert fp.in_order(fp.history(admin, a_unit), WALK)

        # An alert at the lobby: on A's phone (110 m away), not on B's (1.2 km).
        alert_id = fp.seed_alert(server.data_dir)
        polled = _polls(b.page)
        a.page.wait_for_selector(f"#near .near-alert[data-alert='{alert_id}']")
        near = a.page.locator(f"#near .near-alert[data-alert='{alert_id}']").inner_text()
        assert "person at the lobby door" in near and "camera lobby" in near and " m" in near
        _seen_after(b.page, polled)
        assert b.page.locator(f"[data-alert='{alert_id}']").count() == 0
        assert b.page.locator("#nothing-near").is_visible()
        fp.fits(b.page, fp.PHONE["width"])
        fp.screenshot(b.page, tmp_path, "field-b.png")

        # The operator dispatches A from the alert in the feed (the desk loads it anew).
        desk.reload()
        desk.wait_for_selector("body[data-ready='1']")
        incident = _dispatch_from_the_desk(desk, alert_id, a_unit)
        card = a.page.locator(f".field-incident[data-incident='{incident}']")
        card.wait_for()
        a.page.wait_for_selector("#unit .unit-status[data-status='dispatched']")
        a.page.wait_for_selector(f".inc-units li[data-unit='{a_unit}'] .unit-dot.unit-dispatched")
        assert "from you" in card.locator(".field-where").inner_text()
        # The camera tied to the incident: its live picture on the phone.
        a.page.wait_for_function(_LIVE_PICTURE)
        fp.fits(a.page, fp.PHONE["width"])
        fp.screenshot(a.page, tmp_path, "field-a.png")
        assert b.page.locator(f".field-incident[data-incident='{incident}']").count() == 0

        _answer_on_the_phone(a.page, incident, tmp_path)
        _timeline_has_every_step(op, incident)
        answers = fp.audit(admin, ANNA, "field.answer")
        assert len(answers) == 3 and {r["object_id"] for r in answers} == {str(incident)}
        assert all(r["outcome"] == "ok" for r in answers)
        assert len(fp.audit(admin, ANNA, "field.note")) == 1
        assert fp.audit(admin, ANNA, "field.live") and fp.audit(admin, ANNA, "field.picture")
        assert fp.audit(admin, OLGA, "incidents.open") and fp.audit(
            admin, OLGA, "incidents.dispatch"
        )
        assert not fp.audit(admin, BEN, "field.live")  # B saw no picture

        _declined_on_the_phone(a.page, op, a_unit)
        for watched in (desk_watch, a, b):
            watched.check_no_errors()


def test_offline_positions_are_queued_and_the_app_opens_with_no_connection(
    server: Demo, browser: Any, tmp_path: Path
) -> None:
    admin, _ = _people(server.base)
    unit = fp.new_unit(admin, "D-4", DORA)
    start = fp.at(110, 25)
    with fp.phone(browser, server.base, DORA, start, D_CONSOLE) as d:
        fp.unit_at(admin, unit, start)
        _offline_walk(d.page, admin, unit)
        _shell_is_kept_and_no_api_answer(d.page)
        _opens_offline(d.page)
        _refused_batch_is_dropped(d.page, admin, unit)
        d.page.set_viewport_size(fp.TABLET)
        d.page.wait_for_function(fp.MAP_DRAWN)
        fp.fits(d.page, fp.TABLET["width"])
        fp.screenshot(d.page, tmp_path, "field-tablet.png")
        d.check_no_errors()


def test_no_unit_no_field_app_for_an_auditor(server: Demo, browser: Any) -> None:
    _people(server.base)
    with fp.phone(browser, server.base, CARL, FAR, ("status of 403",)) as carl:
        carl.page.wait_for_selector("#notice:not([hidden])")
        assert "no unit is assigned to you" in carl.page.locator("#notice").inner_text()
        assert carl.page.locator("#unit").inner_text() == ""
        fp.fits(carl.page, fp.PHONE["width"])
        carl.check_no_errors()
    auditor = fp.client(server.base, AUDREY, fp.PASSWORD)
    page = auditor.get("/field")
    assert page.status_code == 403 and "field app is for" in page.text
    assert auditor.get("/field/sw.js").status_code == 403
    manifest = httpx.get(server.base + "/static/field.webmanifest").json()
    assert manifest["start_url"] == "/field" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert httpx.get(server.base + icon["src"]).status_code == 200, icon
