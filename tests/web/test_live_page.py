"""What a newcomer reads on the live page, in a real browser (Debian's Chromium through
Playwright) against a real server: one camera that plays the car-park clip, one that never
connects (its long name too), and map tiles from a server that cannot be reached.

An offline camera says so in words (never "null"); the health table fits its panel at
1366x768 and calls skipped frames by the tiles' name; every dot state is in the legend and
on the dot; every time shown carries its zone; the map names a third-party tile server and
says when its tiles cannot be loaded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from tests.conftest import CAR_CLIP
from tests.sources.conftest import free_port
from tests.web.conftest import (
    ADMIN_PASSWORD,
    log_in,
    open_page,
    require_browser,
    serving,
)

pytestmark = pytest.mark.slow

GATE = "North gate, delivery entrance (building B, east side)"
WAIT_MS = 60_000


@dataclass
class Trial:
    base: str
    tile_port: int


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trial]:
    """The server: the car-park clip as a live camera, a camera on a port where nothing
    listens, and map tiles from another such port."""
    require_browser()
    root = tmp_path_factory.mktemp("live-page")
    tile_port, camera_port = free_port(), free_port()
    config = {
        "map": {
            "tiles": f"http://127.0.0.1:{tile_port}/{{z}}/{{x}}/{{y}}.png",
            "attribution": "test tiles",
        },
        "cameras": [
            {
                "id": "car-park",
                "name": "Car park",
                "source": str(CAR_CLIP),
                "loop": True,
                "lat": 52.00168,
                "lon": 4.37262,
                "detector": {"kind": "motion"},
                "objects": {"labels": ["motion"], "min_score": 0.5, "min_area": 0.01},
                "lines": [{"name": "middle", "a": [0.0, 0.5], "b": [1.0, 0.5]}],
            },
            {
                "id": "gate",
                "name": GATE,
                "source": f"rtsp://127.0.0.1:{camera_port}/stream",
                "lat": 52.00232,
                "lon": 4.37336,
                "detector": {"kind": "motion"},
            },
        ],
    }
    path = root / "vigil.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    code = (
        "from pathlib import Path; from vigil.config import load_config; "
        "from vigil.server import serve; "
        f"serve(load_config(Path({str(path)!r})), '127.0.0.1', {{port}}, Path({{data}}))"
    )
    with serving(code, root / "data") as server:
        yield Trial(server.base, tile_port)


def _allowed(trial: Trial) -> tuple[str, ...]:
    # Failed tiles, and the offline camera's picture (503: no picture yet), are console errors.
    return (f"127.0.0.1:{trial.tile_port}", "/api/cameras/gate/")


@pytest.fixture
def live(trial: Trial, browser: Any) -> Iterator[Any]:
    """The live page at 1366x768 (browser time zone UTC), logged in as the admin, with both
    tiles showing their state."""
    with open_page(browser, allowed=_allowed(trial)) as watched:
        page = watched.page
        log_in(page, trial.base, "admin", ADMIN_PASSWORD)
        page.wait_for_selector(".tile.offline[data-camera='gate']", timeout=WAIT_MS)
        page.wait_for_selector(".tile.online[data-camera='car-park']", timeout=WAIT_MS)
        yield page
        watched.check_no_errors()


_MISSING = re.compile(r"\b(null|undefined|NaN)\b")

_SHOWN_TEXT = """() => {
  const out = [document.getElementById('live').innerText];
  for (const node of document.querySelectorAll('#live *')) {
    for (const a of node.attributes) {
      const named = a.name === 'title' || /^(aria|data)-/.test(a.name);
      if (named) out.push(a.value);
    }
  }
  return out.join('\\n');
}"""


def test_an_offline_camera_says_so_in_words_and_never_null(live: Any) -> None:
    shown = live.evaluate(_SHOWN_TEXT)
    assert not _MISSING.search(shown), f"a missing value is shown: {_MISSING.search(shown)}"
    tile = live.locator(".tile[data-camera='gate']")
    overlay = tile.locator(".tile-offline").inner_text()
    assert re.match(r"OFFLINE since \d\d:\d\d:\d\d UTC\n", overlay), overlay
    assert "Connection refused" in tile.locator(".tile-error").inner_text()
    assert "no picture yet" in overlay
    assert tile.locator(".tile-info").inner_text() == "no picture yet"
    assert tile.locator(".tile-fps").inner_text() == "– fps"


def test_the_health_table_fits_at_1366x768_and_says_skipped_like_the_tiles(live: Any) -> None:
    live.wait_for_selector("#cam-table tr.offline[data-camera='gate']")
    box = live.evaluate(
        """() => {
          const panel = document.querySelector('.map-panel');
          const table = document.getElementById('cam-table');
          const r = panel.getBoundingClientRect();
          const inner = r.left + panel.clientLeft + panel.clientWidth;
          const cells = [...table.querySelectorAll('th, td')].map((c) => {
            const b = c.getBoundingClientRect();
            return { text: c.textContent, right: b.right, width: b.width };
          });
          return { inner, table: table.getBoundingClientRect().right, cells,
                   overflow: panel.scrollWidth - panel.clientWidth };
        }"""
    )
    assert box["table"] <= box["inner"] + 0.5, box
    clipped = [c["text"] for c in box["cells"] if c["right"] > box["inner"] + 0.5]
    assert clipped == [], f"cut off at the panel's right edge: {clipped}"
    assert box["overflow"] <= 0, box
    head = box["cells"][0]
    assert head["text"] == "Camera" and head["width"] >= 80, "the camera column is squeezed"
    # The long name is cut short in the table, whole in its title.
    name = live.locator("#cam-table tr[data-camera='gate'] td.cam")
    assert name.get_attribute("title") == GATE

    # One name for one number: "skipped", explained the same way in the table and the tiles.
    headers = live.locator("#cam-table th").all_inner_texts()
    assert [h.lower() for h in headers] == ["camera", "status", "fps", "frames", "skipped", "rst"]
    explained = live.locator("#skipped-head").get_attribute("title") or ""
    assert "not analysed" in explained and "behind" in explained
    # Read together: a health update between two reads would change the numbers.
    tile, tile_title, cell, cell_title = live.evaluate(
        """() => {
          const counts = document.querySelector(".tile[data-camera='car-park'] .tile-counts");
          const row = document.querySelector("#cam-table tr[data-camera='car-park']");
          const cell = row.querySelector("td:nth-child(5)");
          return [counts.textContent, counts.title, cell.textContent, cell.title];
        }"""
    )
    skipped = re.search(r"(\d+) skipped", tile)
    assert skipped is not None, tile
    assert tile_title == explained and cell_title.startswith(explained)
    assert cell == skipped.group(1)


def test_every_dot_state_is_in_the_legend_and_on_the_dot(live: Any) -> None:
    legend = live.locator("#dot-legend .legend-item")
    states = legend.evaluate_all(
        "items => items.map(i => "
        "[i.querySelector('.dot').classList[1], i.textContent.trim(), i.title])"
    )
    assert {s[0] for s in states} == {"online", "offline", "unknown"}
    assert all(text and title for _, text, title in states), states
    dots = live.locator(".tile .tile-head .dot").evaluate_all(
        "ds => ds.map(d => [d.closest('.tile').dataset.camera, d.className, d.title])"
    )
    explained = {state: title for state, _, title in states}
    for camera, classes, title in dots:
        state = classes.split()[1]
        assert state in explained, f"{camera}: a dot state the legend does not explain: {classes}"
        assert title.startswith(explained[state]), f"{camera}: the dot's title says {title!r}"
    by_camera = {camera: classes.split()[1] for camera, classes, _ in dots}
    assert by_camera == {"car-park": "online", "gate": "offline"}
    # The same states on the map's markers.
    live.wait_for_selector(".cam-marker.offline[data-camera='gate']")


_TIMES = re.compile(r"^(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d UTC\+5:30$")


def test_every_time_shown_carries_its_zone(trial: Trial, browser: Any) -> None:
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="en-GB", timezone_id="Asia/Kolkata"
    )
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        log_in(page, trial.base, "admin", ADMIN_PASSWORD)
        # The helpers every page uses (audit.js too): clock, stamp, shortTime.
        shown = page.evaluate(
            """async () => {
              const u = await import('/static/js/util.js');
              const t = '2024-01-15T12:00:00Z';
              return [u.clock(t), u.stamp(t), u.shortTime(t), u.zoneLabel(new Date(t)),
                      u.clock(null), u.shortTime(new Date()).slice(-9)];
            }"""
        )
        assert shown == [
            "17:30:00 UTC+5:30",
            "2024-01-15 17:30:00 UTC+5:30",
            "2024-01-15 17:30:00 UTC+5:30",
            "UTC+5:30",
            "–",
            " UTC+5:30",
        ]
        assert _TIMES.match(page.locator("#clock").inner_text())
        page.wait_for_selector(".tile.offline[data-camera='gate']", timeout=WAIT_MS)
        since = page.locator(".tile[data-camera='gate'] .tile-offline strong").inner_text()
        assert re.fullmatch(r"OFFLINE since \d\d:\d\d:\d\d UTC\+5:30", since)
        page.wait_for_function(
            "() => document.querySelector('.tile[data-camera=\"car-park\"] .tile-info')"
            ".textContent.startsWith('last picture')",
            timeout=WAIT_MS,
        )
        last = page.locator(".tile[data-camera='car-park'] .tile-info").inner_text()
        assert re.fullmatch(r"last picture \d\d:\d\d:\d\d UTC\+5:30", last)
        page.wait_for_selector(".feed-item time", timeout=WAIT_MS)
        for text in page.locator(".feed-item time").all_inner_texts()[:5]:
            assert _TIMES.match(text), text
        status = page.locator("#cam-table tr[data-camera='gate'] .since").inner_text()
        assert _TIMES.match(status)
    finally:
        context.close()


def test_a_zone_with_summer_time_says_which_offset_applies_on_the_day(
    trial: Trial, browser: Any
) -> None:
    context = browser.new_context(locale="en-US", timezone_id="America/New_York")
    try:
        page = context.new_page()
        log_in(page, trial.base, "admin", ADMIN_PASSWORD)
        shown = page.evaluate(
            """async () => {
              const u = await import('/static/js/util.js');
              return [u.clock('2024-01-15T12:00:00Z'), u.stamp('2024-07-15T12:00:00Z')];
            }"""
        )
        assert shown == ["07:00:00 UTC-5", "2024-07-15 08:00:00 UTC-4"]
    finally:
        context.close()


def test_unreachable_map_tiles_are_named_and_the_map_says_so(live: Any, trial: Trial) -> None:
    notice = live.locator("#map-notice")
    notice.wait_for(state="visible", timeout=WAIT_MS)
    text = notice.inner_text()
    assert f"could not be loaded from 127.0.0.1:{trial.tile_port}" in text
    assert "coordinate grid" in text
    # The map still shows where the cameras are, on its own grid.
    assert live.locator(".leaflet-marker-pane .cam-marker").count() == 2
    live.wait_for_selector(".leaflet-tile-pane canvas")
    assert live.locator(".grid-labels").is_visible()


def _png() -> bytes:
    ok, buf = cv2.imencode(".png", np.full((256, 256, 3), 200, np.uint8))
    assert ok
    return bytes(buf.tobytes())


def test_tiles_from_another_server_are_named_on_the_map(trial: Trial, browser: Any) -> None:
    tile = _png()
    with open_page(browser, allowed=_allowed(trial)) as watched:
        page = watched.page
        # A tile server that answers (no network needed): Playwright answers for it.
        page.route(
            f"http://127.0.0.1:{trial.tile_port}/**",
            lambda route: route.fulfill(status=200, content_type="image/png", body=tile),
        )
        log_in(page, trial.base, "admin", ADMIN_PASSWORD)
        source = page.locator(".leaflet-control-attribution .tile-source")
        source.wait_for(timeout=WAIT_MS)
        assert source.inner_text() == f"map tiles: 127.0.0.1:{trial.tile_port}"
        assert source.is_visible()
        assert "test tiles" in page.locator(".leaflet-control-attribution").inner_text()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.street-tiles img')]"
            ".some(i => i.complete && i.naturalWidth === 256)"
        )
        assert page.locator("#map-notice").is_hidden()
        watched.check_no_errors()
