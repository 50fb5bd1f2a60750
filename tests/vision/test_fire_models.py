"""Single-image mode, the colour baseline, a YOLO ONNX export with fire/smoke classes feeding
the same fire analyzer, and the object filter of a fire camera."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.vision.fire_scenes import FACE, NO_FIRE, flame_photo, lamp_photo
from tests.vision.onnx_graphs import constant_yolo
from vigil.config import CameraConfig, VigilConfig
from vigil.domain import EventType, Frame
from vigil.pipeline.camera import CameraPipeline, detector_for_camera, kept_labels
from vigil.vision.fire.baseline import ColourThreshold
from vigil.vision.fire.detector import FireDetector
from vigil.vision.fire.still import THRESHOLD, detect_still
from vigil.vision.onnx_yolo import OnnxYolo


def test_a_ragged_flame_with_a_hot_core_is_fire_in_a_still() -> None:
    found = detect_still(flame_photo())
    fires = [d for d in found if d.label == "fire"]
    assert len(fires) == 1
    fire = fires[0]
    assert fire.score >= THRESHOLD
    # The flame spans x 150..330, y 70..290 of the 480 x 360 picture.
    assert 120 <= fire.box.x <= 200 and 280 <= fire.box.x2 <= 360
    assert 40 <= fire.box.y <= 140 and 260 <= fire.box.y2 <= 300


def test_a_lamp_a_face_and_a_stage_frame_are_not_fire_in_a_still() -> None:
    assert detect_still(lamp_photo()) == []
    face = cv2.imread(str(FACE))
    assert face is not None and detect_still(face) == []
    cap = cv2.VideoCapture(str(NO_FIRE))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, stage = cap.read()
    cap.release()
    assert ok and detect_still(stage) == []


def test_the_baseline_calls_every_flame_coloured_blob_fire() -> None:
    lamp = lamp_photo()
    baseline = ColourThreshold().detect(lamp)
    assert [d.label for d in baseline] == ["fire"]  # the lamp: colour alone says fire
    assert FireDetector().detect(lamp) == []  # a first frame: no flicker seen, no fire


def _onnx_fire_model(path: Path) -> Path:
    """A 64 x 64 YOLOv8-layout export whose one box is class 0 ('fire') at 0.9, always."""
    out = np.zeros((1, 6, 1), np.float32)
    out[0, :4, 0] = (32, 32, 16, 16)
    out[0, 4, 0] = 0.9
    return constant_yolo(path, out, metadata={"names": "{0: 'fire', 1: 'smoke'}"})


def test_an_onnx_fire_model_feeds_the_fire_analyzer(tmp_path: Path) -> None:
    model = _onnx_fire_model(tmp_path / "fire.onnx")
    camera = CameraConfig.model_validate(
        {
            "id": "tower",
            "source": "rtsp://tower.invalid/stream",
            "detector": {"kind": "onnx", "path": str(model)},
            "analyzers": [{"kind": "fire", "sensitivity": "normal"}],
        }
    )
    config = VigilConfig()
    detector = detector_for_camera(config, camera)
    assert isinstance(detector, OnnxYolo) and list(detector.labels) == ["fire", "smoke"]
    pipeline = CameraPipeline(camera, config, detector, (128, 128))
    # No `objects:` names labels, and the detector says none of the default ones: the
    # camera keeps the detector's (otherwise the person/car list would drop every fire).
    assert pipeline.filter.labels == frozenset({"fire", "smoke"})
    events = []
    for i in range(40):  # 4 s at 10 fps; the flame flickers, so the motion gate wakes
        image = np.full((128, 128, 3), 90, np.uint8)
        image[48:80, 48:80] = 60 if i % 2 else 200
        result = pipeline.process(Frame("tower", i, i / 10, image))
        events += [e for e in result.events if e.type == EventType.FIRE]
    assert len(events) == 1
    fire = events[0]
    assert fire.label == "fire" and fire.score == pytest.approx(0.9, abs=0.01)
    assert fire.start is not None and fire.time - fire.start >= 1.0 - 1e-6
    assert fire.box is not None and abs(fire.box.center[0] - 64) < 4


@pytest.mark.parametrize(
    ("configured", "explicit", "detector_labels", "kept"),
    [
        (["person", "car"], False, ("fire", "smoke"), {"fire", "smoke"}),
        (["person", "car"], False, ("person", "car", "dog"), {"person", "car"}),
        (["person"], True, ("fire", "smoke"), {"person"}),  # the camera said so
        (["smoke"], True, ("fire", "smoke"), {"smoke"}),
    ],
)
def test_kept_labels(
    configured: list[str], explicit: bool, detector_labels: tuple[str, ...], kept: set[str]
) -> None:
    class Labelled:
        labels = detector_labels
        needs_every_frame = False

        def detect(self, image: np.ndarray) -> list[object]:
            return []

    assert kept_labels(configured, Labelled(), explicit=explicit) == kept  # type: ignore[arg-type]
