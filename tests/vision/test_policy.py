from __future__ import annotations

import pytest

from vigil.errors import ModelError
from vigil.vision.coco import COCO_LABELS
from vigil.vision.policy import check_labels, sensitive_trait


@pytest.mark.parametrize(
    ("label", "trait"),
    [
        ("gender", "sex or gender"),
        ("Male", "sex or gender"),
        ("woman", "sex or gender"),
        ("age", "age"),
        ("age_25-32", "age"),
        ("(25-32)", "age"),
        ("60+", "age"),
        ("Ages", "age"),
        ("ethnicity", "race or ethnicity"),
        ("race", "race or ethnicity"),
        ("religious_symbol", "religion"),
        ("hijab", "religion"),
        ("happyFace", "emotion"),
        ("angry", "emotion"),
        ("disease", "health"),
        ("sexual orientation", "sexual orientation"),
        ("political badge", "political opinion"),
    ],
)
def test_sensitive_labels_are_recognised(label: str, trait: str) -> None:
    assert sensitive_trait(label) == trait


@pytest.mark.parametrize(
    "label",
    [
        "cage",
        "garbage",
        "package",
        "manhole",
        "message",
        "race car",
        "racecar",
        "horse race",
        "African elephant",
        "license plate",
        "face",
        "bus",
        "white van",
    ],
)
def test_ordinary_labels_pass(label: str) -> None:
    assert sensitive_trait(label) is None


def test_every_coco_label_passes() -> None:
    check_labels(COCO_LABELS)


def test_check_names_the_model_and_every_offending_label() -> None:
    with pytest.raises(ModelError) as err:
        check_labels(["person", "male", "female", "car"], "'faces.onnx'")
    message = str(err.value)
    assert message.startswith("'faces.onnx' is refused")
    assert "'male' (sex or gender)" in message and "'female' (sex or gender)" in message
    assert "'person'" not in message and "\n" not in message
