"""The tracker section's `motion_compensation` switch, as the camera pipeline applies it."""

from __future__ import annotations

import av
import numpy as np
import pytest

from tests.conftest import CAR_CLIP
from vigil.config import ConfigError, parse_config
from vigil.domain import Frame, Telemetry
from vigil.pipeline.camera import CameraPipeline, detector_for_camera
from vigil.tracking.cmc import identity

W, H = 768, 432


def _pipeline(yml: str) -> CameraPipeline:
    config = parse_config(yml)
    cam = config.cameras[0]
    return CameraPipeline(cam, config, detector_for_camera(config, cam), (W, H))


def _frames(telemetry: bool) -> list[Frame]:
    with av.open(str(CAR_CLIP)) as container:
        base = next(container.decode(video=0)).to_ndarray(format="bgr24")
    wide = np.concatenate([base, base[:, ::-1]], axis=1)  # room to pan over, a real picture
    out = []
    for k in range(4):
        t = k / 12.5
        image = np.ascontiguousarray(wide[:, 12 * k : 12 * k + W])  # 12 px a frame to the left
        out.append(Frame("cam", k, t, image, telemetry=Telemetry(t=t) if telemetry else None))
    return out


CAMERA = """
detector: {{kind: motion}}
{tracker}
cameras:
  - id: cam
    source: clip.mp4
{camera_tracker}
"""


@pytest.mark.parametrize(
    ("tracker", "camera_tracker", "telemetry", "on"),
    [
        ("", "", False, False),  # a fixed camera: off by default
        ("", "", True, True),  # auto: frames with telemetry come from a moving camera
        ("tracker: {motion_compensation: on}", "", False, True),
        ("tracker: {motion_compensation: off}", "", True, False),
        # A camera's own tracker section wins over the global one.
        (
            "tracker: {motion_compensation: off}",
            "    tracker: {motion_compensation: on}",
            False,
            True,
        ),
    ],
)
def test_motion_compensation_follows_the_switch(
    tracker: str, camera_tracker: str, telemetry: bool, on: bool
) -> None:
    pipeline = _pipeline(CAMERA.format(tracker=tracker, camera_tracker=camera_tracker))
    for frame in _frames(telemetry):
        pipeline.process(frame)
    cm = pipeline.camera_motion
    assert (cm is not None) is on
    if cm is not None:
        assert cm.frames == 4 and cm.failures == 0
        # The motion detector sees every frame, so the tracker took each frame's motion.
        assert np.array_equal(cm.take(), identity())


def test_auto_is_on_for_a_camera_its_runner_says_moves() -> None:
    """A body camera's clip without telemetry: the runner (ingest) knows the camera moves."""
    config = parse_config(CAMERA.format(tracker="", camera_tracker=""))
    cam = config.cameras[0]
    detector = detector_for_camera(config, cam)
    moving = CameraPipeline(cam, config, detector, (W, H), moving_camera=True)
    fixed = CameraPipeline(cam, config, detector_for_camera(config, cam), (W, H))
    for frame in _frames(telemetry=False):
        moving.process(frame)
        fixed.process(frame)
    assert moving.camera_motion is not None and moving.camera_motion.frames == 4
    assert fixed.camera_motion is None
    off = parse_config(
        CAMERA.format(tracker="tracker: {motion_compensation: off}", camera_tracker="")
    )
    still = CameraPipeline(off.cameras[0], off, detector, (W, H), moving_camera=True)
    still.process(_frames(telemetry=False)[0])
    assert still.camera_motion is None  # off is off


def test_a_bad_switch_value_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="motion_compensation"):
        parse_config("tracker: {motion_compensation: sometimes}\n")
