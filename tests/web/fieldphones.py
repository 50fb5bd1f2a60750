"""Phones for the field app's browser tests: a Chromium context at 390x844 that allows the
site its location (emulated, moved with move()), logged in at /field; and the server-side
checks the tests make through the API (where a unit is, its position history, the audit log)."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.web.conftest import EXPECTED_CONSOLE, Watched, log_in, open_page
from vigil.domain import Alert, EventType
from vigil.store.alerts import Alerts
from vigil.store.db import Store, default_db_url

LOBBY = (52.00232, 4.37336)  # the demo's lobby camera
M_PER_DEG = 111_195  # metres per degree of latitude
WAIT_MS = 60_000  # generous: a loaded 2-core machine runs the demo's pipeline meanwhile
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
PASSWORD = "field-test-password"
# What a phone's console may say besides the map tiles: requests cut off while it is offline.
PHONE_CONSOLE = (*EXPECTED_CONSOLE, "ERR_INTERNET_DISCONNECTED")


def at(north_m: float, east_m: float = 0.0) -> tuple[float, float]:
    """A point `north_m` north and `east_m` east of the lobby camera."""
    east = east_m / (M_PER_DEG * math.cos(math.radians(LOBBY[0])))
    return round(LOBBY[0] + north_m / M_PER_DEG, 7), round(LOBBY[1] + east, 7)


def client(base: str, user: str, password: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=20)
    r = http.post("/api/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    http.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return http


def new_unit(admin: httpx.Client, callsign: str, user: str) -> int:
    r = admin.post("/api/units", json={"callsign": callsign, "kind": "foot", "user": user})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def seed_alert(data_dir: Path) -> int:
    """An alert on the lobby camera now, stored as the pipeline stores one; its id."""
    store = Store(default_db_url(data_dir))
    try:
        alert = Alert("person at the lobby door", "lobby", EventType.LOITER, time.time(), "person")
        return Alerts(store).create(alert).id
    finally:
        store.close()


def until(what: str, check: Any, timeout: float = WAIT_MS / 1000) -> Any:
    """Ask `check()` again until it gives something truthy (the server's state)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.25)


def unit_at(http: httpx.Client, unit_id: int, point: tuple[float, float]) -> None:
    def there() -> bool:
        units = {u["id"]: u for u in http.get("/api/units").json()}
        p = units[unit_id]["position"]
        return bool(p) and (round(p["lat"], 7), round(p["lon"], 7)) == point

    until(f"unit {unit_id} reported {point}", there)


def move(page: Any, point: tuple[float, float]) -> None:
    page.context.set_geolocation({"latitude": point[0], "longitude": point[1], "accuracy": 8})


@contextlib.contextmanager
def phone(
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
    with open_page(browser, (*PHONE_CONSOLE, *allowed), **options) as watched:
        watched.page.set_default_timeout(WAIT_MS)
        log_in(watched.page, base, user, PASSWORD, "/field")
        yield watched


def fits(page: Any, width: int) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= width and widths[1] == width, f"the page scrolls sideways: {widths}"


def screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    """The phone's screen (or one element of it) as `name`, kept in VIGIL_SCREENSHOT_DIR too."""
    path = tmp_path / name
    page.screenshot(path=str(path))
    keep = os.environ.get("VIGIL_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


# The map's background drawn out to its corners (after the page changed size).
MAP_DRAWN = """() => {
  const m = document.getElementById("map").getBoundingClientRect();
  const tiles = [...document.querySelectorAll(".leaflet-tile-loaded")]
    .map((t) => t.getBoundingClientRect());
  const xs = [m.left + 2, m.right - 2], ys = [m.top + 2, m.bottom - 2];
  const drawn = (x, y) =>
    tiles.some((t) => t.left <= x && x <= t.right && t.top <= y && y <= t.bottom);
  return xs.every((x) => ys.every((y) => drawn(x, y)));
}"""


def audit(admin: httpx.Client, actor: str, action: str) -> list[dict[str, Any]]:
    r = admin.get("/api/audit", params={"actor": actor, "action": action, "limit": 500})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def history(admin: httpx.Client, unit: int) -> list[tuple[float, float]]:
    params = {"purpose": "field app test: did the phone's positions arrive?"}
    r = admin.get(f"/api/units/{unit}/positions", params=params)
    assert r.status_code == 200, r.text
    points = sorted(r.json(), key=lambda p: p["time"])
    return [(round(p["lat"], 7), round(p["lon"], 7)) for p in points]


def in_order(seen: list[tuple[float, float]], path: list[tuple[float, float]]) -> bool:
    """Whether `seen` passes through every point of `path`, in its order."""
    found = iter(seen)
    return all(any(point == p for p in found) for point in path)
