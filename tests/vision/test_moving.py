"""MovingObjects: the class-free detector for views no object model knows."""

from __future__ import annotations

import numpy as np

from vigil.vision.moving import LABEL, MovingObjects
from vigil.vision.registry import load_detector


def scene(x: int | None, rng: np.random.Generator) -> np.ndarray:
    img = np.full((360, 640, 3), 90, np.uint8)
    img += rng.integers(0, 4, img.shape, dtype=np.uint8)  # sensor noise
    if x is not None:
        img[100:220, x : x + 80] = (230, 230, 230)  # a light car seen from above
    return img


def test_a_moving_block_is_found_where_it_is() -> None:
    rng = np.random.default_rng(1)
    det = MovingObjects()
    for _ in range(30):  # learn the empty scene
        det.detect(scene(None, rng))
    found = []
    for x in range(28, 400, 90):  # a fast car: no overlap between frames
        found = det.detect(scene(x, rng))
    assert len(found) == 1
    (d,) = found
    assert d.label == LABEL and 0.5 <= d.score <= 1.0
    # The last block stood at x = 388..468, y = 100..220 (full-frame pixels).
    assert abs(d.box.x - 388) < 20 and abs(d.box.x2 - 468) < 20
    assert abs(d.box.y - 100) < 20 and abs(d.box.y2 - 220) < 20


def test_a_still_scene_gives_nothing_and_a_global_change_is_not_an_object() -> None:
    rng = np.random.default_rng(2)
    det = MovingObjects()
    base = np.full((360, 640, 3), 90, np.uint8)
    for _ in range(40):  # learn the scene
        det.detect(base + rng.integers(0, 4, base.shape, dtype=np.uint8))
    still = [det.detect(base + rng.integers(0, 4, base.shape, dtype=np.uint8)) for _ in range(10)]
    assert all(s == [] for s in still)
    flash = det.detect(np.full((360, 640, 3), 250, np.uint8))  # the lights go on
    assert flash == []


def test_registry_loads_it_without_a_model_file() -> None:
    det = load_detector("motion")
    assert list(det.labels) == [LABEL]
    assert getattr(det, "needs_every_frame", False)
