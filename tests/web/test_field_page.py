"""The field app (/field) in a real browser (Debian's Chromium through Playwright) against a
running demo: two officers' phones (390x844, geolocation emulated and moved along a path) and
the command centre at 1366x768. The command centre sees both officers move; an alert near
officer A appears on A's phone and not on B's (1.2 km away); the operator dispatches A from
the alert in the feed; A accepts, goes on scene, writes a note and resolves, with the camera's
live picture on the phone meanwhile; the incident's timeline and the audit log have each
step with who and when; A's positions arrived, those taken offline queued and sent as one
batch when the connection came back. The shell is kept by the service worker (no API answer
is). A user without a unit is told so; an auditor gets no field app."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.conftest import (
    ADMIN_PASSWORD,
    EXPECTED_CONSOLE,
    Demo,
    Watched,
    add_user,
    log_in,
    open_page,
    require_browser,
    serving,
)
from vigil.domain import Alert, EventType
from vigil.store.alerts import Alerts
from vigil.store.db import Store, default_db_url

pytestmark = pytest.mark.slow

LOBBY = (52.00232, 4.37336)  # the demo's lobby camera
M_PER_DEG = 111_195  # metres per degree of latitude
REPORT_EVERY_S = 2  # the server's field.report_every_s here (the app must follow it)
WAIT_MS = 60_000  # generous: a loaded 2-core machine runs the demo's pipeline meanwhile
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
PASSWORD = "field-test-password"
ANNA, BEN, CARL, OLGA, AUDREY = "anna", "ben", "carl", "olga", "audrey"
# What a phone's console may say besides the map tiles: a refusal the test provokes (403:
# no unit), and requests cut off while the phone is offline.
PHONE_CONSOLE = (*EXPECTED_CONSOLE, "ERR_INTERNET_DISCONNECTED")


def _at(north_m: float, east_m: float = 0.0) -> tuple[float, float]:
    """A point `north_m` north and `east_m` east of the lobby camera."""
    east = east_m / (M_PER_DEG * math.cos(math.radians(LOBBY[0])))
    return round(LOBBY[0] + north_m / M_PER_DEG, 7), round(LOBBY[1] + east, 7)


WALK = [_at(150), _at(140, 10), _at(125, 20), _at(110, 25)]  # officer A, towards the camera
OFFLINE_WALK = [_at(95, 25), _at(80, 20), _at(65, 15)]  # A again, with no connection
FAR = _at(1200)  # officer B


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


def _client(base: str, user: str, password: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=20)
    r = http.post("/api/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    http.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return http


def _unit(admin: httpx.Client, callsign: str, user: str) -> int:
    r = admin.post("/api/units", json={"callsign": callsign, "kind": "foot", "user": user})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _seed_alert(data_dir: Path) -> int:
    """An alert on the lobby camera now, stored as the pipeline stores one; its id."""
    store = Store(default_db_url(data_dir))
    try:
        alert = Alert("person at the lobby door", "lobby", EventType.LOITER, time.time(), "person")
        return Alerts(store).create(alert).id
    finally:
        store.close()


def _until(what: str, check: Any, timeout: float = WAIT_MS / 1000) -> Any:
    """Ask `check()` again until it gives something truthy (the server's state)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.25)


def _unit_at(http: httpx.Client, unit_id: int, point: tuple[float, float]) -> None:
    def there() -> bool:
        units = {u["id"]: u for u in http.get("/api/units").json()}
        p = units[unit_id]["position"]
        return bool(p) and (round(p["lat"], 7), round(p["lon"], 7)) == point

    _until(f"unit {unit_id} reported {point}", there)


def _move(phone: Any, point: tuple[float, float]) -> None:
    phone.context.set_geolocation({"latitude": point[0], "longitude": point[1], "accuracy": 8})


@contextlib.contextmanager
def _phone(
    browser: Any, base: str, user: str, where: tuple[float, float], allowed: tuple[str, ...] = ()
) -> Iterator[Watched]:
    """A phone that allows this site its location, standing at `where`, logged in at /field;
    its console may also say `allowed`."""
    options = {
        "viewport": PHONE,
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
        "permissions": ["geolocation"],
        "geolocation": {"latitude": where[0], "longitude": where[1], "accuracy": 8},
    }
    with open_page(browser, (*PHONE_CONSOLE, *allowed), **options) as phone:
        phone.page.set_default_timeout(WAIT_MS)
        log_in(phone.page, base, user, PASSWORD, "/field")
        yield phone


def _fits(page: Any, width: int) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= width and widths[1] == width, f"the page scrolls sideways: {widths}"


def _screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))
    keep = os.environ.get("VIGIL_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


_LIVE_PICTURE = """() => {
  const img = document.querySelector(".field-live[data-camera='lobby'][data-loaded='1'] img");
  return img && img.naturalWidth > 0;
}"""


# The map's background drawn out to its corners (after the page changed size).
_MAP_DRAWN = """() => {
  const m = document.getElementById("map").getBoundingClientRect();
  const tiles = [...document.querySelectorAll(".leaflet-tile-loaded")]
    .map((t) => t.getBoundingClientRect());
  const xs = [m.left + 2, m.right - 2], ys = [m.top + 2, m.bottom - 2];
  const drawn = (x, y) =>
    tiles.some((t) => t.left <= x && x <= t.right && t.top <= y && y <= t.bottom);
  return xs.every((x) => ys.every((y) => drawn(x, y)));
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
        _move(phone, point)
        _unit_at(http, unit, point)
        desk.wait_for_function(_MOVED, arg=[unit, before])


def _dispatch_from_the_desk(desk: Any, alert_id: int, unit: int) -> int:
    """The operator opens an incident on the alert in the feed and sends unit `unit`."""
    item = desk.locator(f".feed-item.alert[data-id='{alert_id}']")
    item.wait_for(timeout=WAIT_MS)
    item.locator("button[data-action=incident]").click()
    send = desk.locator(
        f".incident-detail:not([hidden]) .inc-suggestions li[data-unit='{unit}'] "
        "button[data-action=dispatch]"
    )
    send.wait_for(timeout=WAIT_MS)
    incident = int(desk.locator(".incident-detail").get_attribute("data-incident") or 0)
    send.click()
    desk.wait_for_selector(f".unit-marker[data-unit='{unit}'][data-status='dispatched']")
    return incident


def _answer(page: Any, incident: int, action: str) -> None:
    card = page.locator(f".field-incident[data-incident='{incident}']")
    button = card.locator(f"button.field-answer[data-action='{action}']")
    button.tap()


def _answer_on_the_phone(page: Any, incident: int) -> None:
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
    _answer(page, incident, "resolved")
    page.wait_for_selector("#done:not([hidden])")
    assert f"Incident #{incident}" in page.locator("#done").inner_text()
    assert card.count() == 0  # released: no longer the unit's incident


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


def _audit(admin: httpx.Client, actor: str, action: str) -> list[dict[str, Any]]:
    r = admin.get("/api/audit", params={"actor": actor, "action": action, "limit": 500})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _history(admin: httpx.Client, unit: int) -> list[tuple[float, float]]:
    params = {"purpose": "field app test: did the phone's positions arrive?"}
    r = admin.get(f"/api/units/{unit}/positions", params=params)
    assert r.status_code == 200, r.text
    points = sorted(r.json(), key=lambda p: p["time"])
    return [(round(p["lat"], 7), round(p["lon"], 7)) for p in points]


def _in_order(history: list[tuple[float, float]], path: list[tuple[float, float]]) -> bool:
    found = iter(history)
    return all(any(point == seen for seen in found) for point in path)


def _offline_walk(page: Any, admin: httpx.Client, unit: int) -> None:
    """Offline: each new fix is queued (and said so); back online, the queue goes as one."""
    conn = page.locator("#conn")
    page.context.set_offline(True)
    page.wait_for_selector("#conn[data-online='0']")
    assert page.locator("#link-state").inner_text() == "OFFLINE"
    for n, point in enumerate(OFFLINE_WALK, start=1):
        _move(page, point)
        page.wait_for_selector(f"#conn[data-queued='{n}']")
    assert conn.inner_text().startswith(f"offline — {len(OFFLINE_WALK)} positions queued")
    kept = page.evaluate("(k) => localStorage.getItem(k)", f"vigil.field.queue:{ANNA}")
    assert [(p["lat"], p["lon"]) for p in json.loads(kept)] == OFFLINE_WALK  # hers, in order
    last = max(r["id"] for r in _audit(admin, ANNA, "field.report"))
    page.context.set_offline(False)
    page.wait_for_selector("#conn[data-online='1'][data-queued='0']")
    assert _in_order(_history(admin, unit), OFFLINE_WALK)
    since = [r for r in _audit(admin, ANNA, "field.report") if r["id"] > last]
    assert [r["details"]["positions"] for r in since] == [len(OFFLINE_WALK)]  # one batch


def _shell_is_kept_and_no_api_answer(page: Any) -> None:
    page.wait_for_function(
        "() => document.getElementById('field').dataset.offline?.startsWith('kept')"
    )
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
    page.context.set_offline(False)
    page.wait_for_selector("#conn[data-online='1']")


def _refused_batch_is_dropped(page: Any, admin: httpx.Client, unit: int) -> None:
    """A queued position the server will never take (not on the Earth: a broken phone) is
    dropped with the server's reason; nothing of it is stored and reporting goes on."""
    before = len(_history(admin, unit))
    bad = [{"lat": 95.0, "lon": LOBBY[1], "time": datetime.now(UTC).isoformat()}]
    key = f"vigil.field.queue:{ANNA}"
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, json.dumps(bad)])
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("() => document.getElementById('conn').textContent.includes('refused')")
    assert "not on the Earth" in page.locator("#conn").inner_text()
    page.wait_for_selector("#conn[data-queued='0']")
    assert page.evaluate("(k) => localStorage.getItem(k)", key) is None
    _move(page, WALK[0])
    _unit_at(admin, unit, WALK[0])  # the next fix goes through
    history = _history(admin, unit)
    assert len(history) == before + 1 and all(abs(lat) <= 90 for lat, _ in history)


def _people(base: str) -> tuple[httpx.Client, httpx.Client]:
    admin = _client(base, "admin", ADMIN_PASSWORD)
    for name, role in ((ANNA, "field"), (BEN, "field"), (CARL, "field"), (OLGA, "operator")):
        add_user(base, name, PASSWORD, role)
    add_user(base, AUDREY, PASSWORD, "auditor")
    return admin, _client(base, OLGA, PASSWORD)


def test_two_officers_an_alert_a_dispatch_and_the_answers_from_the_phone(
    server: Demo, browser: Any, tmp_path: Path
) -> None:
    admin, op = _people(server.base)
    a_unit, b_unit = _unit(admin, "A-1", ANNA), _unit(admin, "B-2", BEN)
    with (
        open_page(browser) as desk_watch,
        _phone(browser, server.base, ANNA, WALK[0], ("status of 422",)) as a,
        _phone(browser, server.base, BEN, FAR) as b,
    ):
        desk = desk_watch.page
        desk.set_default_timeout(WAIT_MS)
        log_in(desk, server.base, OLGA, PASSWORD)
        # Both phones report; the command centre shows both officers, and sees A move.
        _unit_at(op, a_unit, WALK[0])
        _unit_at(op, b_unit, FAR)
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
        assert _in_order(_history(admin, a_unit), WALK)

        # An alert at the lobby: on A's phone (110 m away), not on B's (1.2 km).
        alert_id = _seed_alert(server.data_dir)
        polled = _polls(b.page)
        a.page.wait_for_selector(f"#near .field-alert[data-alert='{alert_id}']")
        near = a.page.locator(f"#near .field-alert[data-alert='{alert_id}']").inner_text()
        assert "person at the lobby door" in near and "camera lobby" in near and " m" in near
        _seen_after(b.page, polled)
        assert b.page.locator(f"[data-alert='{alert_id}']").count() == 0
        assert b.page.locator("#nothing-near").is_visible()
        _fits(b.page, PHONE["width"])
        _screenshot(b.page, tmp_path, "field-b.png")

        # The operator dispatches A from the alert in the feed (the desk loads it anew).
        desk.reload()
        desk.wait_for_selector("body[data-ready='1']")
        incident = _dispatch_from_the_desk(desk, alert_id, a_unit)
        card = a.page.locator(f".field-incident[data-incident='{incident}']")
        card.wait_for()
        a.page.wait_for_selector("#unit .unit-status[data-status='dispatched']")
        assert "from you" in card.locator(".field-where").inner_text()
        # The camera tied to the incident: its live picture on the phone.
        a.page.wait_for_function(_LIVE_PICTURE)
        _fits(a.page, PHONE["width"])
        _screenshot(a.page, tmp_path, "field-a.png")
        assert b.page.locator(f".field-incident[data-incident='{incident}']").count() == 0

        _answer_on_the_phone(a.page, incident)
        _timeline_has_every_step(op, incident)
        answers = _audit(admin, ANNA, "field.answer")
        assert len(answers) == 3 and {r["object_id"] for r in answers} == {str(incident)}
        assert all(r["outcome"] == "ok" for r in answers)
        assert len(_audit(admin, ANNA, "field.note")) == 1
        assert _audit(admin, ANNA, "field.live") and _audit(admin, ANNA, "field.picture")
        assert _audit(admin, OLGA, "incidents.dispatch")
        assert not _audit(admin, BEN, "field.live")  # B saw no picture

        _offline_walk(a.page, admin, a_unit)
        _shell_is_kept_and_no_api_answer(a.page)
        _opens_offline(a.page)
        _refused_batch_is_dropped(a.page, admin, a_unit)
        a.page.set_viewport_size(TABLET)
        a.page.wait_for_function(_MAP_DRAWN)
        _fits(a.page, TABLET["width"])
        _screenshot(a.page, tmp_path, "field-tablet.png")
        for watched in (desk_watch, a, b):
            watched.check_no_errors()


def test_no_unit_no_field_app_for_an_auditor(server: Demo, browser: Any) -> None:
    _people(server.base)
    with _phone(browser, server.base, CARL, FAR, ("status of 403",)) as carl:
        carl.page.wait_for_selector("#notice:not([hidden])")
        assert "no unit is assigned to you" in carl.page.locator("#notice").inner_text()
        assert carl.page.locator("#unit").inner_text() == ""
        _fits(carl.page, PHONE["width"])
        carl.check_no_errors()
    auditor = _client(server.base, AUDREY, PASSWORD)
    page = auditor.get("/field")
    assert page.status_code == 403 and "field app is for" in page.text
    assert auditor.get("/field/sw.js").status_code == 403
    manifest = httpx.get(server.base + "/static/field.webmanifest").json()
    assert manifest["start_url"] == "/field" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert httpx.get(server.base + icon["src"]).status_code == 200, icon
