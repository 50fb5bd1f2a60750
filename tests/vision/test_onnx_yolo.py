from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from tests.vision.onnx_graphs import constant_yolo, red_scored_yolo
from vigil.errors import ModelError
from vigil.vision.coco import COCO_LABELS
from vigil.vision.onnx_yolo import Layout, OnnxYolo, detect_layout, letterbox, parse_names

NAMES = "{0: 'person', 1: 'car', 2: 'dog'}"
LABELS = ["person", "car", "dog"]

# Candidates in model-input pixels (64 x 64): cx, cy, w, h, class id, score.
CANDIDATES = [
    (20, 32, 10, 20, 0, 0.9),  # A
    (21, 32, 10, 20, 0, 0.8),  # B: A's duplicate, NMS must remove it
    (20, 32, 10, 20, 1, 0.7),  # C: same place as A, other class, must stay
    (40, 30, 8, 8, 2, 0.1),  # D: under the score threshold
    (60, 20, 10, 10, 2, 0.6),  # E: runs off the image's top-right, must be clipped
    (30, 5, 6, 6, 0, 0.95),  # F: lies in the letterbox padding only, nothing visible
]
# A 128 x 64 image is scaled by 0.5 into the 64 x 64 input with 16 px of padding on top and
# bottom, so x_image = x_model / 0.5 and y_image = (y_model - 16) / 0.5.
EXPECTED = [
    ("person", 0.9, (30.0, 12.0, 50.0, 52.0)),
    ("car", 0.7, (30.0, 12.0, 50.0, 52.0)),
    ("dog", 0.6, (110.0, 0.0, 128.0, 18.0)),
]


def v8_output(candidates: Sequence[tuple[float, ...]] = CANDIDATES, nc: int = 3) -> np.ndarray:
    out = np.zeros((1, 4 + nc, len(candidates)), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(candidates):
        out[0, :4, i] = (cx, cy, w, h)
        out[0, 4 + int(cls), i] = score
    return out


def v5_output() -> np.ndarray:
    # Two spare rows: with 7 rows the shape (1, 7, 8) would read as v8's (1, 4+nc, N).
    out = np.zeros((1, len(CANDIDATES) + 2, 5 + 3), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(CANDIDATES):
        out[0, i, :5] = (cx, cy, w, h, score)
        out[0, i, 5 + int(cls)] = 1.0
    # G: objectness 0.5 x class 0.4 = 0.2 is under the threshold though both factors are over.
    out[0, -2] = (50, 40, 6, 6, 0.5, 0.0, 0.0, 0.4)
    return out


def end_to_end_output() -> np.ndarray:
    rows = [
        (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, cls)
        for cx, cy, w, h, cls, score in CANDIDATES
        if score != 0.8  # the model's own NMS already removed B
    ]
    return np.array([rows], np.float32)


def image(width: int = 128, height: int = 64) -> np.ndarray:
    return np.full((height, width, 3), 90, np.uint8)


def summary(detector: OnnxYolo, img: np.ndarray) -> list[tuple[str, float, tuple[float, ...]]]:
    return [
        (d.label, round(d.score, 4), tuple(round(v, 3) for v in d.box.xyxy()))
        for d in detector.detect(img)
    ]


@pytest.mark.parametrize(
    ("make_output", "layout"),
    [
        (v8_output, Layout.CHANNELS_FIRST),
        (lambda: v8_output().transpose(0, 2, 1).copy(), Layout.ROWS),
        (v5_output, Layout.ROWS_OBJECTNESS),
    ],
    ids=["v8", "v8-transposed", "v5"],
)
def test_boxes_map_back_through_the_letterbox_with_nms(
    tmp_path: Path, make_output, layout: Layout
) -> None:
    path = constant_yolo(tmp_path / "m.onnx", make_output(), metadata={"names": NAMES})
    detector = OnnxYolo(path)
    assert detector.layout is layout
    assert list(detector.labels) == LABELS
    assert detector.input_size == (64, 64)
    assert summary(detector, image()) == EXPECTED


def test_end_to_end_export_is_used_without_a_second_nms(tmp_path: Path) -> None:
    path = constant_yolo(tmp_path / "m.onnx", end_to_end_output(), metadata={"names": NAMES})
    detector = OnnxYolo(path)
    assert detector.layout is Layout.END_TO_END
    assert summary(detector, image()) == EXPECTED


def test_tall_image_is_padded_left_and_right(tmp_path: Path) -> None:
    # 64 x 128 (w x h): scale 0.5, 16 px of padding left and right.
    out = v8_output([(32, 32, 16, 16, 0, 0.9)])
    detector = OnnxYolo(constant_yolo(tmp_path / "m.onnx", out, metadata={"names": NAMES}))
    assert summary(detector, image(64, 128)) == [("person", 0.9, (16.0, 48.0, 48.0, 80.0))]


def test_dynamic_output_shape_is_recognised_on_the_first_frame(tmp_path: Path) -> None:
    path = constant_yolo(
        tmp_path / "m.onnx",
        v8_output(),
        ("batch", 3, 64, 64),
        {"names": NAMES},
        static_output=False,
    )
    detector = OnnxYolo(path)
    assert detector.layout is None
    assert summary(detector, image()) == EXPECTED
    assert detector.layout is Layout.CHANNELS_FIRST


def test_dynamic_input_size_comes_from_metadata_else_640(tmp_path: Path) -> None:
    dynamic = ("batch", 3, "height", "width")
    plain = constant_yolo(tmp_path / "a.onnx", v8_output(), dynamic, {"names": NAMES})
    assert OnnxYolo(plain).input_size == (640, 640)
    sized = constant_yolo(
        tmp_path / "b.onnx", v8_output(), dynamic, {"names": NAMES, "imgsz": "[320, 480]"}
    )
    assert OnnxYolo(sized).input_size == (320, 480)


def test_preprocessing_feeds_rgb_scaled_to_unit_range(tmp_path: Path) -> None:
    path = red_scored_yolo(tmp_path / "m.onnx", (32, 32, 20, 20), {"names": "{0: 'thing'}"})
    detector = OnnxYolo(path)
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 2] = 255  # BGR
    found = detector.detect(red)
    assert [(d.label, round(d.score, 4)) for d in found] == [("thing", 1.0)]
    assert found[0].box.xyxy() == pytest.approx((22, 22, 42, 42))
    blue = np.zeros((64, 64, 3), np.uint8)
    blue[..., 0] = 255
    assert detector.detect(blue) == []


def test_labels_argument_overrides_metadata(tmp_path: Path) -> None:
    path = constant_yolo(tmp_path / "m.onnx", v8_output(), metadata={"names": NAMES})
    detector = OnnxYolo(path, labels=["a", "b", "c"])
    assert [d.label for d in detector.detect(image())] == ["a", "b", "c"]


def test_without_metadata_labels_are_coco(tmp_path: Path) -> None:
    out = v8_output([(20, 32, 10, 20, 2, 0.9)], nc=80)
    detector = OnnxYolo(constant_yolo(tmp_path / "m.onnx", out))
    assert tuple(detector.labels) == COCO_LABELS
    assert [d.label for d in detector.detect(image())] == ["car"]


def test_label_count_that_fits_no_layout_is_a_model_error(tmp_path: Path) -> None:
    # No names in the metadata, so 80 COCO labels are assumed; the output has 3 classes.
    path = constant_yolo(tmp_path / "m.onnx", np.zeros((1, 7, 100), np.float32))
    with pytest.raises(ModelError, match=r"fits no known YOLO layout for 80 classes"):
        OnnxYolo(path)


@pytest.mark.parametrize(
    "names",
    [
        "{0: 'person', 1: 'gender', 2: 'car'}",
        "['person', 'age', 'car']",
        "{0: 'person', 1: 'female', 2: 'angry'}",
    ],
)
def test_models_with_sensitive_trait_classes_are_refused(tmp_path: Path, names: str) -> None:
    path = constant_yolo(tmp_path / "traits.onnx", v8_output(), metadata={"names": names})
    with pytest.raises(ModelError, match=r"'traits.onnx' is refused .*sensitive traits"):
        OnnxYolo(path)


def test_sensitive_labels_given_by_argument_are_refused(tmp_path: Path) -> None:
    path = constant_yolo(tmp_path / "m.onnx", v8_output(), metadata={"names": NAMES})
    with pytest.raises(ModelError, match=r"'age_0-2' \(age\)"):
        OnnxYolo(path, labels=["person", "age_0-2", "car"])


def test_corrupt_file_is_a_model_error(tmp_path: Path) -> None:
    path = tmp_path / "x.onnx"
    path.write_bytes(b"\x08\x07this is not a protobuf" * 10)
    with pytest.raises(ModelError) as err:
        OnnxYolo(path)
    message = str(err.value)
    assert message.startswith("'x.onnx' is not a loadable ONNX model (")
    assert "\n" not in message


def test_missing_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"does not exist"):
        OnnxYolo(tmp_path / "absent.onnx")


def test_unavailable_provider_is_a_model_error(tmp_path: Path) -> None:
    path = constant_yolo(tmp_path / "m.onnx", v8_output(), metadata={"names": NAMES})
    with pytest.raises(ModelError, match=r"NoSuchExecutionProvider are not available"):
        OnnxYolo(path, providers=["NoSuchExecutionProvider"])


@pytest.mark.parametrize(
    ("shape", "nc", "layout"),
    [
        ((1, 84, 8400), 80, Layout.CHANNELS_FIRST),  # yolov8n / yolo11n at 640
        ((1, 8400, 84), 80, Layout.ROWS),
        ((1, 25200, 85), 80, Layout.ROWS_OBJECTNESS),  # yolov5s at 640
        ((1, 300, 6), 80, Layout.END_TO_END),  # yolov10n
        ((1, 5, 8400), 1, Layout.CHANNELS_FIRST),  # a one-class v8
        ((1, 25200, 6), 1, Layout.ROWS_OBJECTNESS),  # a one-class v5, not end-to-end
        ((84, 8400), 80, Layout.CHANNELS_FIRST),  # batch dimension squeezed away
    ],
)
def test_layout_is_recognised_from_real_export_shapes(shape, nc: int, layout: Layout) -> None:
    assert detect_layout(shape, nc) is layout


def test_class_ids_beyond_the_labels_are_a_model_error(tmp_path: Path) -> None:
    out = np.array([[[10, 10, 20, 20, 0.9, 5]]], np.float32)  # end-to-end row, class 5
    detector = OnnxYolo(constant_yolo(tmp_path / "m.onnx", out, metadata={"names": NAMES}))
    with pytest.raises(ModelError, match=r"returned class 5 but has only 3 labels"):
        detector.detect(image())


def test_parse_names_reads_dicts_and_lists_and_never_executes() -> None:
    assert parse_names("{1: 'car', 0: 'person'}") == ["person", "car"]
    assert parse_names("['a', 'b']") == ["a", "b"]
    assert parse_names("__import__('os').system('false')") is None
    assert parse_names("{0: 'a', 2: 'c'}") is None  # a gap would misname later classes
    assert parse_names("") is None


def test_letterbox_pads_with_grey_and_reports_the_mapping() -> None:
    padded, scale, (left, top) = letterbox(np.full((64, 128, 3), 255, np.uint8), (64, 64))
    assert padded.shape == (64, 64, 3)
    assert (scale, left, top) == (0.5, 0.0, 16.0)
    assert (padded[:16] == 114).all() and (padded[48:] == 114).all()
    assert (padded[16:48] == 255).all()
