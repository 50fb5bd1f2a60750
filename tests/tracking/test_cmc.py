"""Camera-motion compensation: the affine found from a real picture moved by known amounts, the
Kalman state carried through it, and a track kept through a fast pan that breaks without it."""

from __future__ import annotations

import logging

import av
import cv2
import numpy as np
import pytest

from tests.conftest import CAR_CLIP
from vigil.domain import Box, Detection, TrackState
from vigil.tracking.cmc import CameraMotion, compose, estimate, identity
from vigil.tracking.kalman import BoxKalman
from vigil.tracking.tracker import Tracker

W, H = 768, 432  # the bundled car-park clip


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """A real frame: the first of the bundled top-down car-park clip."""
    with av.open(str(CAR_CLIP)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="bgr24")
    assert frame.shape == (H, W, 3)
    return frame


def moved(image: np.ndarray, affine: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(
        image, affine, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REFLECT
    )


def similarity(dx: float, dy: float, degrees: float = 0.0, scale: float = 1.0) -> np.ndarray:
    a = np.asarray(cv2.getRotationMatrix2D((W / 2, H / 2), degrees, scale), dtype=np.float64)
    a[:, 2] += np.array([dx, dy])
    return a


@pytest.mark.parametrize(
    ("dx", "dy", "degrees", "scale"),
    [(14.0, -6.0, 0.0, 1.0), (-25.0, 18.0, 1.5, 1.0), (4.0, 3.0, -2.0, 1.04), (0.0, 0.0, 0.0, 1.0)],
)
def test_a_known_pan_rotation_and_zoom_is_recovered(
    picture: np.ndarray, dx: float, dy: float, degrees: float, scale: float
) -> None:
    truth = similarity(dx, dy, degrees, scale)
    cm = CameraMotion((W, H))
    assert np.allclose(cm.observe(picture), identity())  # the first frame has nothing before it
    found = cm.observe(moved(picture, truth))
    # Where the estimate sends points spread over the picture vs where they really went.
    grid = np.array([[x, y, 1.0] for x in (50, W / 2, W - 50) for y in (50, H / 2, H - 50)])
    error = np.linalg.norm(grid @ found.T - grid @ truth.T, axis=1)
    assert error.max() < 1.0, (found, truth)
    assert cm.failures == 0
    assert np.allclose(cm.take(), found)
    assert np.allclose(cm.take(), identity())  # taken: starts anew


def test_steps_are_chained_until_taken(picture: np.ndarray) -> None:
    cm = CameraMotion((W, H))
    cm.observe(picture)
    steps = [similarity(6.0, -3.0), similarity(5.0, 4.0, 0.5)]
    frame = picture
    for step in steps:
        frame = moved(frame, step)
        cm.observe(frame)
    total = cm.take()
    truth = compose(steps[1], steps[0])
    centre = np.array([W / 2, H / 2, 1.0])
    assert np.linalg.norm(total @ centre - truth @ centre) < 1.0


def test_masked_boxes_and_an_object_moving_on_its_own_do_not_bias_it(picture: np.ndarray) -> None:
    """A patch pasted at a different offset (an object moving against the pan) is left out by
    the mask, or outvoted by RANSAC when it is not masked."""
    truth = similarity(10.0, 5.0)
    after = moved(picture, truth)
    patch = picture[100:220, 300:460]
    after[100 + 40 : 220 + 40, 300 - 60 : 460 - 60] = patch  # moves (-60, +40), not (10, 5)
    for exclude in ([Box(300, 100, 160, 120)], []):
        cm = CameraMotion((W, H))
        cm.observe(picture)
        found = cm.observe(after, exclude)
        assert np.allclose(found[:, 2], truth[:, 2], atol=1.0), (exclude, found)


def test_a_blank_picture_and_a_cut_give_identity_logged_once(
    picture: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    grey = np.full((H, W, 3), 128, np.uint8)
    rng = np.random.default_rng(7)
    cm = CameraMotion((W, H))
    with caplog.at_level(logging.WARNING, logger="vigil.tracking.cmc"):
        cm.observe(picture)
        assert np.array_equal(cm.observe(grey), identity())  # blank: nothing to follow
        assert np.array_equal(cm.observe(grey), identity())
        # A cut: an unrelated picture (noise) after the car park.
        cm.observe(picture)
        noise = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        assert np.array_equal(cm.observe(noise), identity())
    assert cm.failures == 4
    assert np.array_equal(cm.take(), identity())
    warnings = [r for r in caplog.records if r.name == "vigil.tracking.cmc"]
    assert len(warnings) == 1 and "no estimate" in warnings[0].getMessage()


def test_estimate_says_why_it_refuses() -> None:
    flat = np.zeros((90, 160), np.uint8)
    affine, why = estimate(flat, flat)
    assert affine is None and "blank" in why
    with pytest.raises(ValueError, match="positive frame size"):
        CameraMotion((0, 90))


def test_warp_moves_position_velocity_size_and_covariance() -> None:
    kf = BoxKalman()
    mean, cov = kf.initiate(np.array([[100.0, 50.0, 20.0, 40.0]]))
    mean[0, 4:6] = (30.0, 0.0)  # 30 px/s to the right
    a = similarity(0.0, 0.0, 90.0, 2.0)  # rotate 90 degrees about the image centre, zoom 2x
    a[:, 2] += np.array([5.0, -7.0])
    new_mean, new_cov = kf.warp(mean, cov, a)
    centre = a @ np.array([100.0, 50.0, 1.0])
    assert np.allclose(new_mean[0, :2], centre)
    assert np.allclose(new_mean[0, 2:4], (40.0, 80.0))  # sizes scaled, never rotated negative
    assert np.allclose(new_mean[0, 4:6], a[:, :2] @ np.array([30.0, 0.0]))  # velocity turned
    # Position variance: x and y swap under a quarter turn and grow with the zoom squared.
    assert np.isclose(new_cov[0, 0, 0], 4 * cov[0, 1, 1])
    assert np.isclose(new_cov[0, 1, 1], 4 * cov[0, 0, 0])
    assert np.allclose(new_cov, new_cov.transpose(0, 2, 1))
    assert np.all(np.linalg.eigvalsh(new_cov[0]) > 0)
    same_mean, same_cov = kf.warp(mean, cov, identity())
    assert np.allclose(same_mean, mean) and np.allclose(same_cov, cov)


def _pan_run(compensate: bool) -> tuple[set[int], int]:
    """A parked car (still in the world) filmed by a camera that pans fast: each detection 0.2 s
    apart finds the car 90 px further left (its own width and more: no IoU with where it was).
    The camera's motion is estimated from the real picture panned by the same amount."""
    with av.open(str(CAR_CLIP)) as container:
        base = next(container.decode(video=0)).to_ndarray(format="bgr24")
    canvas = cv2.resize(base, (W * 3, H))  # wide scene to pan over
    tracker = Tracker()
    cm = CameraMotion((W, H))
    seen: set[int] = set()
    matched = 0
    step = 18  # px per frame at 25 fps: 450 px/s, a brisk turn of the head
    for k in range(26):
        x0 = k * step
        cm.observe(np.ascontiguousarray(canvas[:, x0 : x0 + W]))
        if k % 5:
            continue  # the detector runs at 5 fps; the camera motion is followed every frame
        box = Box(700 - x0, 200, 70, 40)  # the car, fixed in the scene
        if compensate:
            tracker.compensate(cm.take())
        update = tracker.update([Detection(box, "car", 0.9)], k / 25)
        confirmed = [t for t in update.tracks if t.state is TrackState.CONFIRMED]
        seen |= {t.id for t in confirmed}
        matched += bool(confirmed)
    return seen, matched


def test_a_track_is_kept_through_a_fast_pan_only_with_compensation() -> None:
    with_cmc, matched = _pan_run(compensate=True)
    assert with_cmc == {1}, with_cmc  # one car, one id
    assert matched >= 4  # confirmed after 3 hits, then matched on every detection
    without, matched_without = _pan_run(compensate=False)
    # Without it the prediction stays where the car was: every detection starts a new track,
    # which never gets the 3 matches a track needs before it is shown.
    assert without == set() and matched_without == 0
