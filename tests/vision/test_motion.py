import numpy as np
import pytest

from vigil.domain import Box
from vigil.vision.motion import MotionGate

W, H = 640, 360  # frame size; the gate works on a 192 x 108 copy, so boxes are scaled by 10/3


def scene(seed: int = 0) -> np.ndarray:
    """A static, textured BGR picture (smooth gradients plus fixed speckle)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    base = 60 + 40 * np.sin(xx / 37.0) + 30 * np.cos(yy / 23.0)
    img = np.stack([base, base * 0.9 + 10, base * 0.8 + 20], axis=-1)
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def noisy(img: np.ndarray, rng: np.random.Generator, sigma: float = 3.0) -> np.ndarray:
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(
        np.uint8
    )


def with_rect(img: np.ndarray, x1: int, y1: int, x2: int, y2: int, value: int = 250) -> np.ndarray:
    out = img.copy()
    out[y1:y2, x1:x2] = value
    return out


def covers(box: Box, x1: float, y1: float, x2: float, y2: float) -> bool:
    return box.x <= x1 and box.y <= y1 and box.x2 >= x2 and box.y2 >= y2


def gate(**kw: object) -> MotionGate:
    return MotionGate((W, H), **kw)  # type: ignore[arg-type]


def test_small_copy_keeps_the_aspect_ratio() -> None:
    assert gate().small_size == (192, 108)
    assert gate(width=160).small_size == (160, 90)


def test_first_frame_returns_nothing() -> None:
    g = gate()
    assert g.update(scene()) == []
    # Even a frame full of bright structure is only the background at first.
    assert gate().update(with_rect(scene(), 100, 100, 300, 300)) == []


def test_static_scene_with_sensor_noise_gives_no_regions() -> None:
    rng = np.random.default_rng(1)
    base = scene()
    g = gate()
    g.update(noisy(base, rng))
    for _ in range(30):
        assert g.update(noisy(base, rng)) == []


def test_bright_rectangle_appearing_gives_one_region_covering_it() -> None:
    base = scene()
    g = gate()
    g.update(base)
    x1, y1, x2, y2 = 400, 150, 480, 260
    (region,) = g.update(with_rect(base, x1, y1, x2, y2))
    assert covers(region, x1, y1, x2, y2), region
    # Tight: the blur and dilation add a margin of a few small-image pixels, not more.
    assert region.x >= x1 - 40 and region.y >= y1 - 40
    assert region.x2 <= x2 + 40 and region.y2 <= y2 + 40
    assert region.area < 4 * (x2 - x1) * (y2 - y1)


def test_regions_are_in_full_frame_pixels_for_another_frame_size() -> None:
    # 1280 x 720 on a 160-wide copy: a scale of 8.
    img = np.full((720, 1280, 3), 90, np.uint8)
    g = MotionGate((1280, 720), width=160)
    g.update(img)
    (region,) = g.update(with_rect(img, 1000, 500, 1160, 660))
    assert covers(region, 1000, 500, 1160, 660), region
    assert region.x > 900 and region.y > 400 and region.x2 <= 1280 and region.y2 <= 720


def test_two_separate_rectangles_give_two_regions() -> None:
    base = scene()
    g = gate()
    g.update(base)
    img = with_rect(with_rect(base, 40, 40, 100, 120), 500, 220, 580, 320)
    regions = sorted(g.update(img), key=lambda b: b.x)
    assert len(regions) == 2
    assert covers(regions[0], 40, 40, 100, 120) and covers(regions[1], 500, 220, 580, 320)
    assert regions[0].x2 < 500  # not merged into one box


def test_a_change_below_the_threshold_or_area_is_ignored() -> None:
    base = np.full((H, W, 3), 100, np.uint8)
    g = gate(threshold=20)
    g.update(base)
    # A large but faint change (10 grey levels) is under the threshold.
    assert g.update(with_rect(base, 100, 100, 300, 300, value=110)) == []
    # A strong but tiny change (one frame pixel) is blurred away.
    tiny = base.copy()
    tiny[180, 320] = 255
    assert g.update(tiny) == []


def test_min_area_drops_small_changes_and_keeps_large_ones() -> None:
    base = np.full((H, W, 3), 100, np.uint8)
    g = gate(min_area=0.02)  # 2 % of the picture
    g.update(base)
    # A strong 20 x 20 px change is well over the threshold but smaller than min_area.
    assert g.update(with_rect(base, 300, 160, 320, 180)) == []
    (region,) = g.update(with_rect(base, 300, 130, 400, 230))
    assert covers(region, 300, 130, 400, 230)
    # The same small change with the default min_area is reported.
    g = gate()
    g.update(base)
    (small,) = g.update(with_rect(base, 300, 160, 320, 180))
    assert covers(small, 300, 160, 320, 180)


def test_rectangle_inside_a_motion_mask_gives_nothing() -> None:
    base = scene()
    mask = [(300.0, 100.0), (620.0, 100.0), (620.0, 340.0), (300.0, 340.0)]
    g = gate(masks=[mask])
    g.update(base)
    assert g.update(with_rect(base, 400, 150, 480, 260)) == []
    # The same change outside the mask is still seen (the mask is not the whole picture).
    (region,) = g.update(with_rect(base, 60, 150, 140, 260))
    assert covers(region, 60, 150, 140, 260)


def test_mask_polygon_is_in_frame_pixels_not_small_image_pixels() -> None:
    # The mask covers the right half of the frame; in small-image pixels that is x >= 96.
    # A rectangle at frame x 200..260 (small x 60..78) lies outside it and must be seen.
    base = scene()
    g = gate(masks=[[(320.0, 0.0), (640.0, 0.0), (640.0, 360.0), (320.0, 360.0)]])
    g.update(base)
    (region,) = g.update(with_rect(base, 200, 150, 260, 220))
    assert covers(region, 200, 150, 260, 220)
    g2 = gate(masks=[[(320.0, 0.0), (640.0, 0.0), (640.0, 360.0), (320.0, 360.0)]])
    g2.update(base)
    assert g2.update(with_rect(base, 450, 150, 510, 220)) == []


def test_global_illumination_change_returns_the_full_frame_then_settles() -> None:
    base = scene()
    g = gate()
    g.update(base)
    brighter = np.clip(base.astype(np.int16) + 80, 0, 255).astype(np.uint8)
    full = [Box(0.0, 0.0, float(W), float(H))]
    assert g.update(brighter) == full
    # The background is re-learnt quickly (not at the slow learning_rate, which would take
    # dozens of frames): within a few frames the new light is the scene, with no partial
    # ghost regions on the way.
    results = [g.update(brighter) for _ in range(10)]
    assert all(r in (full, []) for r in results)
    settled = results.index([])
    assert settled <= 3
    assert all(r == [] for r in results[settled:])


def test_absorb_learns_a_region_at_once() -> None:
    base = scene()
    img = with_rect(base, 400, 150, 480, 260)

    # Without absorb the slow background keeps reporting the change.
    slow = gate()
    slow.update(base)
    assert len(slow.update(img)) == 1
    assert len(slow.update(img)) == 1

    g = gate()
    g.update(base)
    regions = g.update(img)
    assert len(regions) == 1
    g.absorb(regions, img)
    assert g.update(img) == []
    # Only that region was learnt: a change elsewhere is still seen.
    (other,) = g.update(with_rect(img, 60, 60, 140, 140))
    assert covers(other, 60, 60, 140, 140)


def test_absorb_before_any_frame_or_with_no_regions_is_harmless() -> None:
    g = gate()
    g.absorb([Box(0, 0, 100, 100)], scene())  # no background yet: ignored
    assert g.update(scene()) == []  # still the first frame
    g.absorb([], scene())
    assert g.update(scene()) == []


def test_absorb_clips_regions_reaching_past_the_frame() -> None:
    base = scene()
    img = with_rect(base, 560, 280, 640, 360)  # in the bottom-right corner
    g = gate()
    g.update(base)
    (region,) = g.update(img)
    g.absorb([region.expand(0.5), Box(-50, -50, 20, 20)], img)
    assert g.update(img) == []


@pytest.mark.parametrize("channels", [None, 3])
def test_grey_and_colour_frames_both_work(channels: int | None) -> None:
    shape = (H, W) if channels is None else (H, W, channels)
    base = np.full(shape, 80, np.uint8)
    g = gate()
    g.update(base)
    moved = base.copy()
    moved[100:200, 100:200] = 230
    (region,) = g.update(moved)
    assert covers(region, 100, 100, 200, 200)
