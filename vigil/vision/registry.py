"""Choose and load a Detector by name, as vigil.yml names it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigil.errors import ModelError
from vigil.vision.base import Detector
from vigil.vision.darknet import DarknetYolo
from vigil.vision.moving import MovingObjects
from vigil.vision.onnx_yolo import OnnxYolo
from vigil.vision.policy import check_labels


def _yolov3_tiny(path: str | None, **opts: Any) -> Detector:
    if path is not None:
        raise ModelError(
            "The 'yolov3-tiny' detector ships with Vigil and takes no model path; "
            "remove `path`, or use kind 'darknet' or 'onnx' for your own model."
        )
    return DarknetYolo(**opts)


def _darknet(path: str | None, **opts: Any) -> Detector:
    # `path` is the .weights file; its .cfg usually sits beside it with the same stem.
    weights = opts.pop("weights", path)
    cfg = opts.pop("cfg", None)
    if weights is None:
        raise ModelError(
            "The 'darknet' detector needs its .weights file; set `path` (and `cfg` if the "
            ".cfg file does not sit beside it with the same name)."
        )
    if cfg is None:
        cfg = Path(weights).with_suffix(".cfg")
    return DarknetYolo(cfg=cfg, weights=weights, **opts)


def _onnx(path: str | None, **opts: Any) -> Detector:
    if path is None:
        raise ModelError("The 'onnx' detector needs a model file; set `path` to the .onnx file.")
    return OnnxYolo(path, **opts)


def _motion(path: str | None, **opts: Any) -> Detector:
    if path is not None:
        raise ModelError("The 'motion' detector uses no model file; remove `path`.")
    return MovingObjects(**opts)


_LOADERS: dict[str, tuple[Callable[..., Detector], Callable[..., object]]] = {
    "yolov3-tiny": (_yolov3_tiny, DarknetYolo),
    "darknet": (_darknet, DarknetYolo),
    "onnx": (_onnx, OnnxYolo),
    "motion": (_motion, MovingObjects),
}
KINDS: tuple[str, ...] = tuple(_LOADERS)


def _check_options(kind: str, cls: Callable[..., object], opts: dict[str, Any]) -> None:
    # An option name typed wrong in vigil.yml would otherwise be a TypeError traceback.
    accepted = set(inspect.signature(cls).parameters) - {"self", "path"}
    if kind == "yolov3-tiny":
        accepted -= {"cfg", "weights", "names"}
    unknown = sorted(set(opts) - accepted)
    if unknown:
        raise ModelError(
            f"The '{kind}' detector has no option {', '.join(map(repr, unknown))}; "
            f"its options are {', '.join(sorted(accepted))}."
        )


def load_detector(kind: str = "yolov3-tiny", path: str | None = None, **opts: Any) -> Detector:
    """Load the detector `kind` ("yolov3-tiny", "darknet", "onnx" or "motion") with its options.

    Every detector is checked against responsible-use rule 1 here as well as in its own
    constructor, so a detector kind added later cannot skip the check.
    """
    if kind not in _LOADERS:
        raise ModelError(
            f"Unknown detector kind '{kind}'; use one of {', '.join(map(repr, KINDS))}."
        )
    loader, cls = _LOADERS[kind]
    _check_options(kind, cls, opts)
    detector = loader(path, **opts)
    check_labels(detector.labels, f"The '{kind}' detector")
    return detector
