"""Clips on the live page's map: karma's flight (ingested before, with a lens and ground given:
its footprint) and max-heromode's walk (uploaded through the page's form) are drawn as paths;
a drone clip's tracks (the car park seen with a P4 RTK's telemetry) as points with trails."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CAR_CLIP
from tests.web.conftest import ADMIN_PASSWORD, Demo, log_in, open_page, require_browser, serving
from vigil.config import load_config
from vigil.ingest.run import IngestRequest, ingest
from vigil.store.db import Store, default_db_url

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telemetry"
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    require_browser()
    root = tmp_path_factory.mktemp("vigil-clips")
    data = root / "data"
    data.mkdir(mode=0o700)
    store = Store(default_db_url(data))
    car_park = load_config(ROOT / "examples" / "car-park.yml")
    karma = IngestRequest(FIXTURES / "karma_4s.mp4", "admin", hfov=90.0, ground_alt=0.0)
    drone = IngestRequest(CAR_CLIP, "admin", "drone.mp4", "car-park", None,
                          FIXTURES / "dji" / "p4_rtk.SRT", hfov=84.0)  # fmt: skip
    assert ingest(store, data, car_park, karma).path_points == 120
    assert ingest(store, data, car_park, drone).placed >= 3
    store.close()
    # A live drone: karma's flight looping as a camera, its frames with their GPMF telemetry.
    eagle = {"id": "eagle", "source": str(FIXTURES / "karma_4s.mp4"), "loop": True,
             "lat": 33.1262, "lon": -117.33, "mount": {"hfov": 90, "ground_alt": 0}}  # fmt: skip
    config = {"cameras": [eagle]}
    path = root / "vigil.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    code = (
        "from pathlib import Path; from vigil.config import load_config; "
        "from vigil.server import serve; "
        f"serve(load_config(Path({str(path)!r})), '127.0.0.1', {{port}}, Path({{data}}))"
    )
    with serving(code, data) as demo:
        yield demo


CENTRED = """(sel) => {
  const p = document.querySelector(sel)?.getBoundingClientRect();
  const m = document.getElementById("map").getBoundingClientRect();
  if (!p || !p.width) return false;
  const dx = p.x + p.width / 2 - (m.x + m.width / 2);
  const dy = p.y + p.height / 2 - (m.y + m.height / 2);
  return Math.hypot(dx, dy) < 40;
}"""


FOOTPRINT = "() => document.querySelector('.view-footprint')?.getAttribute('d') || ''"


def _count(page: Any, selector: str) -> int:
    return int(page.evaluate(f"() => document.querySelectorAll({selector!r}).length"))


def test_clips_paths_footprint_and_tracks_are_drawn(server: Demo, browser: Any) -> None:
    # The live camera's stream may answer 503 before its first picture.
    with open_page(browser, allowed=("/api/cameras/eagle/",)) as watched:
        page = watched.page
        log_in(page, server.base, "admin", ADMIN_PASSWORD)
        page.click("#clips summary")
        # Ingested before the page opened: karma's flight and the drone clip over the car park.
        page.wait_for_function("() => document.querySelectorAll('.clip-path').length >= 2")
        assert _count(page, ".clip-footprint.clip-1") == 1  # karma's view, last frame
        assert _count(page, ".clip-track") >= 3  # the cars, placed
        assert _count(page, ".clip-trail") >= 3  # with their trails
        # The live drone's footprint on the map, moving as it flies (topic "view").
        page.wait_for_selector(".view-footprint", state="attached")
        first = page.evaluate(FOOTPRINT)
        page.wait_for_function(f"(d) => ({FOOTPRINT})() !== d", arg=first)
        # The walk, uploaded through the form as a person would.
        page.set_input_files("#clip-form [name=file]", str(FIXTURES / "max-heromode_gpmf.mp4"))
        page.fill("#clip-form [name=purpose]", "case 2026/15")
        page.click("#clip-form button[type=submit]")
        page.wait_for_selector(".clip-item[data-clip='3'][data-status='done']", timeout=60_000)
        page.wait_for_selector(".clip-path.clip-3", state="attached")
        assert _count(page, ".clip-path") == 3
        text = page.locator(".clip-item[data-clip='3']").inner_text()
        assert "max-heromode_gpmf.mp4: done · 315 frames" in text
        # Asked to, the map shows a clip where it was filmed: its path in the middle of the map.
        page.click(".clip-item[data-clip='1'] button")
        page.wait_for_function(CENTRED, arg=".clip-path.clip-1")
        page.click(".clip-item[data-clip='3'] button")
        page.wait_for_function(CENTRED, arg=".clip-path.clip-3")
        if keep := os.environ.get("VIGIL_SCREENSHOT_DIR"):
            page.click(".clip-item[data-clip='1'] button")
            page.wait_for_function(CENTRED, arg=".clip-path.clip-1")
            page.locator(".map-panel").screenshot(path=str(Path(keep) / "clips-map.png"))
        watched.check_no_errors()
