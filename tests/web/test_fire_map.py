"""Fire watch in the command centre, in a real browser (Debian's Chromium through Playwright)
against a real server with two synthetic watch towers at known places and headings.

A fire at a known point is seen by both towers: each sighting is a box in its picture whose
bearing comes from the tower's `view:` (vigil.geo.bearing.fire_bearing), stored as a fire
event and raised as an alert through the real path (StoreSink, EventPublisher, AlertService
with the fire rule and its locator), published on the real NATS server the web server
listens to. The open live map draws each tower's bearing as it arrives (a line with its
wedge) and the fix as a marker at the right place (its lat/lon read from the page, the error
in metres) where the two lines cross on the screen; a page opened afterwards draws the same
from GET /api/fire; so does the plain grid map (no Leaflet), and a phone (390x844) with
nothing scrolling sideways. The fire alert in the queue says "Fire" with its bearing and fix
(±m), takes one reviewer, and becomes an incident at the fix (not at a tower) that a unit is
dispatched to. With the page's clock in the test's hands, the lines fade with age and
they and the fix are gone after the ten-minute window."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import NATS_URL, _nats_streams, need
from tests.fire_sightings import FRAME, box_towards
from tests.sources.conftest import free_port
from tests.web.conftest import ADMIN_PASSWORD, log_in, open_page, require_browser, serving
from vigil.bus import open_bus
from vigil.config import VigilConfig, load_config
from vigil.domain import Event, EventType
from vigil.geo import fire_bearing, haversine_m
from vigil.pipeline.camera import FrameResult
from vigil.pipeline.sinks import EventPublisher, StoreSink
from vigil.rules.engine import AlertService, RuleEngine
from vigil.store.alerts import Alerts
from vigil.store.db import Store, default_db_url
from vigil.store.tables import AlertRow

pytestmark = pytest.mark.slow

FIRE = (52.00300, 4.36500)  # where the fire is (the truth the fix is measured against)
TOWERS = {  # id: (name, lat, lon, heading of the picture's centre)
    "north-tower": ("North tower", 52.01000, 4.36000, 165.0),
    "east-tower": ("East tower", 52.00000, 4.38000, 280.0),
}
WAIT_MS = 30_000
PHONE = {"width": 390, "height": 844}


@dataclass
class Watch:
    base: str
    data_dir: Path
    config: VigilConfig
    allowed: tuple[str, ...]  # console errors that are expected: the towers are offline
    alerts: dict[str, int] | None = None  # camera -> its fire alert's id, once seen

    def sightings(self) -> dict[str, int]:
        """Both towers' sightings, stored and published the first time it is asked."""
        if self.alerts is None:
            self.alerts = _store_sightings(self.data_dir, self.config)
        return self.alerts


def _config(rtsp_port: int, prefix: str) -> dict[str, Any]:
    cameras = [
        {
            "id": cam,
            "name": name,
            # Nothing listens there: the towers are offline and cost nothing to run.
            "source": f"rtsp://127.0.0.1:{rtsp_port}/{cam}",
            "lat": lat,
            "lon": lon,
            "view": {"heading_deg": heading, "hfov_deg": 60.0, "bearing_sigma_deg": 0.5},
            "detector": {"kind": "fire"},
            "analyzers": [{"kind": "fire"}],
        }
        for cam, (name, lat, lon, heading) in TOWERS.items()
    ]
    return {"bus": {"url": NATS_URL, "prefix": prefix}, "cameras": cameras}


def _store_sightings(data_dir: Path, config: VigilConfig) -> dict[str, int]:
    """Each tower's sighting of the fire as its pipeline stores one (a fire event with the
    bearing its box gives), raised as alerts by the real alert service; alert ids by camera."""
    store = Store(default_db_url(data_dir))
    bus = open_bus(config.bus)
    bus.start()
    try:
        service = AlertService(Alerts(store), bus, RuleEngine(config.rules), data_dir=data_dir)
        origin = time.time() - 60.0  # media time 60 s is now
        ids: dict[str, int] = {}
        for n, cam in enumerate(TOWERS):
            camera = next(c for c in config.cameras if c.id == cam)
            box = box_towards(camera, FIRE)
            attributes = {
                **fire_bearing(camera, None, box, FRAME),
                "first_seen": 55.0 + n,
                "area_fraction": round(box.area / (FRAME[0] * FRAME[1]), 5),
            }
            event = Event(
                EventType.FIRE, cam, 58.0 + n, 7000 + n, "fire", box, 0.8, attributes=attributes
            )
            result = FrameResult(0, event.time, False, [], [], [], [], [event])
            saved = StoreSink(store, data_dir, cam, origin).save(None, result)
            EventPublisher(bus).publish(saved, time.time())
            rows: list[AlertRow] = service.raise_for(saved)
            assert [r.type for r in rows] == ["fire"], rows
            ids[cam] = rows[0].id
        return ids
    finally:
        bus.close()
        store.close()


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    """A NATS subject prefix (and stream) of this module's own; deleted afterwards."""
    try:
        _nats_streams("check")
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable server here"
        need(False, f"NATS with JetStream at {NATS_URL} is not reachable ({exc!r})")
        raise
    name = f"vtfire{int(time.time() * 1000) % 10**9}"
    try:
        yield name
    finally:
        _nats_streams("delete", name)


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory, prefix: str) -> Iterator[Watch]:
    require_browser()
    root = tmp_path_factory.mktemp("fire-map")
    rtsp_port = free_port()
    raw = _config(rtsp_port, prefix)
    path = root / "vigil.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    config = load_config(path)
    code = (
        "from pathlib import Path; from vigil.config import load_config; "
        "from vigil.server import serve; "
        f"serve(load_config(Path({str(path)!r})), '127.0.0.1', {{port}}, Path({{data}}))"
    )
    with serving(code, root / "data") as server:
        # The offline towers have no picture yet (503), which the browser logs as an error.
        allowed = ("/api/cameras/north-tower/", "/api/cameras/east-tower/")
        yield Watch(server.base, root / "data", config, allowed)


@pytest.fixture
def api(watch: Watch) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=watch.base, timeout=10) as http:
        r = http.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        http.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield http


# The fix marker's centre on the screen, and two screen points of each tower's current
# bearing line (Leaflet's SVG path or the plain map's polyline, through its screen matrix).
_GEOMETRY = """() => {
  const fix = document.querySelector("[data-fix]");
  const dot = fix.querySelector(".point-pin") || fix.querySelector("circle");
  const r = dot.getBoundingClientRect();
  const rays = [...document.querySelectorAll(".fire-ray.current")].map((path) => {
    const m = path.getScreenCTM();
    const n = path.getTotalLength();
    const at = (l) => {
      const p = path.getPointAtLength(l);
      return [m.a * p.x + m.c * p.y + m.e, m.b * p.x + m.d * p.y + m.f];
    };
    return [at(0), at(n)];
  });
  return { centre: [r.x + r.width / 2, r.y + r.height / 2], rays,
           wedges: document.querySelectorAll(".fire-wedge").length };
}"""


_FIRE_READS = """() => performance.getEntriesByType("resource")
  .filter((r) => r.name.includes("/api/fire")).length"""


_CENTRED = """(sel) => {
  const p = document.querySelector(sel)?.getBoundingClientRect();
  const m = document.getElementById("map").getBoundingClientRect();
  if (!p || !p.width) return false;
  const dx = p.x + p.width / 2 - (m.x + m.width / 2);
  return Math.hypot(dx, p.y + p.height / 2 - (m.y + m.height / 2)) < 8;
}"""


def _off_line(p: list[float], a: list[float], b: list[float]) -> float:
    """Pixels from p to the line through a and b."""
    (x, y), (x1, y1), (x2, y2) = p, a, b
    return abs((x2 - x1) * (y1 - y) - (x1 - x) * (y2 - y1)) / math.hypot(x2 - x1, y2 - y1)


def _check_map(page: Any) -> dict[str, str]:
    """The fix marker where the fire is and where both bearing lines cross on the screen;
    the marker's data attributes."""
    fix = page.locator("[data-fix]")
    fix.wait_for(state="attached", timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelectorAll('.fire-ray.current').length == 2")
    data: dict[str, str] = fix.evaluate("n => ({...n.dataset})")
    lat, lon, radius = float(data["lat"]), float(data["lon"]), float(data["uncertaintyM"])
    error_m = haversine_m((lat, lon), FIRE)
    assert error_m < 5.0, f"the fix is {error_m:.1f} m from the fire ({data})"
    assert 0 < radius < 200, data  # 0.5 deg at ~1 km from each tower: tens of metres
    assert set(data["cameras"].split(",")) == set(TOWERS)
    geometry = page.evaluate(_GEOMETRY)
    assert geometry["wedges"] == 2, geometry
    for a, b in geometry["rays"]:
        assert _off_line(geometry["centre"], a, b) < 3.0, geometry
    return data


def test_two_towers_bearings_and_their_fix_on_the_map(watch: Watch, browser: Any) -> None:
    with open_page(browser, allowed=watch.allowed) as watched:
        page = watched.page
        log_in(page, watch.base, "admin", ADMIN_PASSWORD)
        page.wait_for_selector("#link-state.is-live")
        first = watch.alerts is None  # this page was open before the sightings: live
        watch.sightings()
        data = _check_map(page)
        if first:  # drawn from the WebSocket: /api/fire was read once, before the fire
            assert page.evaluate(_FIRE_READS) == 1
            assert page.locator(".feed-item.alert.fire-alert[data-live='1']").count() == 2
        # A page opened now draws the same from GET /api/fire.
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        data = _check_map(page)
        label = page.locator("[data-fix] .point-label").inner_text()
        assert label.startswith("Fire ±") and label.endswith(" m"), label
        title = page.locator("[data-fix]").get_attribute("title") or ""
        assert "North tower" in title and "East tower" in title, title
        assert data["label"] == "fire"
        watched.check_no_errors()


def test_the_plain_map_and_a_phone_show_the_fix_too(watch: Watch, browser: Any) -> None:
    alerts = watch.sightings()
    # Without Leaflet (its script refused) the page draws the plain grid map.
    allowed = (*watch.allowed, "vendor/leaflet")
    with open_page(browser, allowed=allowed) as watched:
        page = watched.page
        page.route("**/static/vendor/leaflet/**", lambda route: route.abort())
        log_in(page, watch.base, "admin", ADMIN_PASSWORD)
        assert page.locator("#map.plain svg.plain-map").count() == 1
        _check_map(page)
        watched.check_no_errors()
    with open_page(browser, allowed=watch.allowed, viewport=PHONE, is_mobile=True) as watched:
        page = watched.page
        log_in(page, watch.base, "admin", ADMIN_PASSWORD)
        page.locator("#map").scroll_into_view_if_needed()
        _check_map(page)
        wide = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert wide <= 0, f"the page scrolls {wide} px sideways on a phone"
        card = page.locator(f".feed-item.fire-alert[data-id='{alerts['east-tower']}']")
        box = card.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        watched.check_no_errors()


def test_a_fire_alert_is_reviewed_once_and_dispatched_to_the_fix(
    watch: Watch, browser: Any, api: httpx.Client
) -> None:
    r = api.post("/api/units", json={"callsign": "Engine 4", "kind": "car"})
    assert r.status_code == 201, r.text
    unit = int(r.json()["id"])
    near = {"positions": [{"lat": FIRE[0] + 0.004, "lon": FIRE[1], "accuracy_m": 6}]}
    assert api.post(f"/api/units/{unit}/positions", json=near).status_code == 200
    alert_id = watch.sightings()["east-tower"]
    fix = api.get(f"/api/alerts/{alert_id}").json()["attributes"]["fix"]
    with open_page(browser, allowed=watch.allowed) as watched:
        page = watched.page
        log_in(page, watch.base, "admin", ADMIN_PASSWORD)
        card = page.locator(f".feed-item.alert.fire-alert[data-id='{alert_id}']")
        card.wait_for(timeout=WAIT_MS)
        assert card.locator(".feed-title").inner_text() == "Fire"
        bearing = card.locator(".fire-bearing-text").inner_text()
        assert bearing.startswith("bearing ") and "from East tower" in bearing, bearing
        said = card.locator(".fire-fix-text").inner_text()
        assert f"±{round(fix['uncertainty_m'])} m" in said and "North tower" in said, said
        # Show on map brings the fix to the middle of the map.
        card.locator("button[data-action=show-fire]").click()
        page.wait_for_function(_CENTRED, arg="[data-fix] .point-pin")
        # One reviewer: Acknowledge decides it (no second person, no reason asked).
        card.locator("button[data-action=acknowledge]").click()
        page.wait_for_selector(f".feed-item.alert.status-acknowledged[data-id='{alert_id}']")
        page.locator(f".feed-item.alert[data-id='{alert_id}'] button[data-action=incident]").click()
        page.wait_for_selector(".incident-detail:not([hidden]) .inc-suggestions li[data-unit]")
        incident_id = page.locator(".incident-detail").get_attribute("data-incident")
        incident = api.get(f"/api/incidents/{incident_id}").json()
        assert incident["type"] == "fire"
        assert haversine_m((incident["lat"], incident["lon"]), FIRE) < 5.0, incident
        page.locator(
            f".inc-suggestions li[data-unit='{unit}'] button[data-action=dispatch]"
        ).click()
        page.wait_for_selector(".incident-detail .inc-head .inc-state[data-state='dispatched']")
        watched.check_no_errors()


def test_bearings_and_fixes_fade_and_go_after_the_window(watch: Watch, browser: Any) -> None:
    """The page's clock is the test's (Playwright's): four minutes on, the lines have faded
    a step; eleven minutes on (the window is ten), they and the fix are gone."""
    watch.sightings()
    with open_page(browser, allowed=watch.allowed) as watched:
        page = watched.page
        page.clock.install()
        log_in(page, watch.base, "admin", ADMIN_PASSWORD)
        _check_map(page)
        assert page.locator(".fire-ray.current.fire-fresh").count() == 2
        page.clock.fast_forward("04:00")
        page.wait_for_function(
            "() => document.querySelectorAll('.fire-ray.fire-older').length == 2"
        )
        assert page.locator("[data-fix].fire-older").count() == 1
        page.clock.fast_forward("07:00")
        page.wait_for_function(
            "() => !document.querySelector('.fire-ray, .fire-wedge, [data-fix]')"
        )
        watched.check_no_errors()
