"""examples/fire-watch.yml, the two-tower fire watch docs/fire.md explains: it loads, both
towers watch for fire with a view that gives bearings, and a fire where their views overlap
is fixed from the boxes they would see it in, within a metre, with a 95 % circle of a few
hundred metres (pans known to half a degree, a 40-pixel flame's width adding as much, about
3.7 km from each tower, the bearings crossing at 40 degrees)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.fire_sightings import FRAME, box_towards
from vigil.config import VigilConfig, load_config
from vigil.geo import BearingLine, fire_bearing, haversine_m, locate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "fire-watch.yml"
FIRE = (52.11000, 5.85000)  # between the towers, in both views


def test_the_fire_watch_example_fixes_a_fire_both_towers_see() -> None:
    config = load_config(EXAMPLE)
    assert [c.id for c in config.cameras] == ["tower-west", "tower-north-east"]
    lines = []
    for camera in config.cameras:
        assert camera.view is not None and camera.lat is not None and camera.lon is not None
        assert camera.detector is not None and camera.detector.kind == "fire"
        assert [a.kind for a in camera.analyzers] == ["fire"]
        seen = fire_bearing(camera, None, box_towards(camera, FIRE), FRAME)
        line = BearingLine.of(seen)
        assert line is not None, seen
        lines.append(line)
    found = locate(lines)
    assert found is not None
    fix, members = found
    assert sorted(members) == [0, 1]
    assert haversine_m((fix.lat, fix.lon), FIRE) < 1.0
    assert 100.0 < fix.uncertainty_m < 400.0, fix
    assert fix.crossing_deg > 30.0, fix


@pytest.mark.parametrize("doc", ["README.md", "docs/fire.md"])
def test_the_fire_watch_config_the_docs_show_is_a_valid_vigil_yml(doc: str) -> None:
    """What a newcomer copies from the docs' fire watch section must load, with its view."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    section = text[text.index("Fire watch") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, f"{doc} has no fire watch configuration example"
    config = VigilConfig.model_validate(yaml.safe_load(block.group(1)))
    camera = config.cameras[0]
    assert camera.view is not None and camera.detector is not None
    assert camera.detector.kind == "fire" and [a.kind for a in camera.analyzers] == ["fire"]
