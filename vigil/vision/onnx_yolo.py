"""Any YOLO ONNX export (Ultralytics v5 / v8 / v11, YOLOv10 / end-to-end) via onnxruntime."""

from __future__ import annotations

import ast
import enum
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import cv2
import numpy as np
from pydantic import Field

from vigil.domain import Detection
from vigil.errors import ModelError
from vigil.vision._yolo import check_thresholds, select_detections
from vigil.vision.base import ModelFileSettings, ScoreThreshold
from vigil.vision.coco import COCO_LABELS
from vigil.vision.policy import check_labels

if TYPE_CHECKING:
    import onnxruntime as ort

DEFAULT_INPUT_SIZE = 640
PAD_VALUE = 114  # the grey Ultralytics pads letterboxes with; models are trained on it


class Layout(enum.Enum):
    """How one image's predictions are laid out in the model's output."""

    CHANNELS_FIRST = "(4+nc, N): cx, cy, w, h, class scores (Ultralytics v8 / v11)"
    ROWS = "(N, 4+nc): cx, cy, w, h, class scores (v8 / v11 transposed)"
    ROWS_OBJECTNESS = "(N, 5+nc): cx, cy, w, h, objectness, class scores (YOLOv5)"
    END_TO_END = "(N, 6): x1, y1, x2, y2, score, class (NMS inside the model, YOLOv10)"


def detect_layout(shape: Sequence[int], nc: int) -> Layout:
    """Which layout an output of `shape` (batch dim optional) has for a model of nc classes.

    The channels-first form is tried first: its anchor count (thousands) never equals 4+nc by
    accident in a real export, whereas a v5 row width could equal a v8 channel count.
    """
    rows, cols = int(shape[-2]), int(shape[-1])
    if rows == 4 + nc and cols != 4 + nc:
        return Layout.CHANNELS_FIRST
    if cols == 5 + nc:
        return Layout.ROWS_OBJECTNESS
    if cols == 4 + nc:
        return Layout.ROWS
    if cols == 6:
        return Layout.END_TO_END
    raise ModelError(
        f"The model's output shape {tuple(shape)} fits no known YOLO layout for {nc} classes "
        f"(expected (1, {4 + nc}, N), (1, N, {5 + nc}), (1, N, {4 + nc}) or (1, N, 6)); pass the "
        "model's class names as `labels` or re-export it with Ultralytics."
    )


def parse_names(raw: str) -> list[str] | None:
    """Class names from an export's `names` metadata, or None when it holds no usable list.

    Ultralytics writes the repr of a Python dict ({0: 'person', ...}); some tools write a list.
    literal_eval reads both without ever executing model-supplied text.
    """
    try:
        value: Any = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, Mapping):
        try:
            items = sorted((int(k), str(v)) for k, v in value.items())
        except (TypeError, ValueError):
            return None
        if [k for k, _ in items] != list(range(len(items))):
            return None  # gaps would shift every class after them onto the wrong name
        return [v for _, v in items]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _input_size(shape: Sequence[Any], metadata: Mapping[str, str]) -> tuple[int, int]:
    """(height, width) the model expects; dynamic dims fall back to `imgsz` metadata, then 640."""
    dims = list(shape)[-2:] if len(shape) >= 2 else []
    if len(dims) == 2 and all(isinstance(d, int) and d > 0 for d in dims):
        return int(dims[0]), int(dims[1])
    imgsz = parse_imgsz(metadata.get("imgsz", ""))
    return imgsz or (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE)


def parse_imgsz(raw: str) -> tuple[int, int] | None:
    try:
        value = ast.literal_eval(raw) if raw else None
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, int) and value > 0:
        return value, value
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int) and v > 0 for v in value)
    ):
        return int(value[0]), int(value[1])
    return None


def letterbox(
    image: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Resize keeping aspect ratio and pad to `size` (h, w), centred, as Ultralytics trains.

    Returns the padded image, the scale applied and the (left, top) padding, which together
    map model coordinates back: x_image = (x_model - left) / scale.
    """
    in_h, in_w = size
    h, w = image.shape[:2]
    scale = min(in_h / h, in_w / w)
    new_w, new_h = round(w * scale), round(h * scale)
    if (new_w, new_h) != (w, h):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    dw, dh = (in_w - new_w) / 2, (in_h - new_h) / 2
    # The -0.1 / +0.1 split an odd pixel the way Ultralytics does, so boxes line up exactly.
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    padded = cv2.copyMakeBorder(
        image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
    )
    return padded, scale, (float(left), float(top))


class OnnxSettings(ModelFileSettings):
    """Any YOLO ONNX export (v5, v8, v11, YOLOX, end-to-end), run by onnxruntime; its input
    size is built into the model."""

    kind: Literal["onnx"] = "onnx"
    labels: list[str] | None = Field(
        None, min_length=1, description="class names (default: the export's, else COCO)"
    )
    score_threshold: float = ScoreThreshold
    nms_threshold: float = Field(0.45, gt=0.0, le=1.0)
    providers: list[str] | None = Field(
        None, min_length=1, description="onnxruntime providers (default: CPUExecutionProvider)"
    )

    def load(self, input_size: int) -> OnnxYolo:
        return OnnxYolo(
            self.path,
            labels=self.labels,
            score_threshold=self.score_threshold,
            nms_threshold=self.nms_threshold,
            providers=self.providers,
        )


class OnnxYolo:
    """A YOLO detector from an ONNX export, run by onnxruntime (CPU unless told otherwise).

    Labels come from `labels`, else the export's `names` metadata, else the 80 COCO classes.
    The output layout is recognised from its shape and the number of labels.
    """

    def __init__(
        self,
        path: Path | str,
        labels: Sequence[str] | None = None,
        score_threshold: float = 0.25,
        nms_threshold: float = 0.45,
        providers: Sequence[str] | None = None,
    ) -> None:
        check_thresholds(score_threshold, nms_threshold)
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(
                f"The ONNX model '{self.path}' does not exist; check the path in the config."
            )
        self._session = self._open_session(providers)
        metadata = dict(self._session.get_modelmeta().custom_metadata_map)
        names = parse_names(metadata.get("names", ""))
        self._labels = tuple(labels if labels is not None else names or COCO_LABELS)
        check_labels(self._labels, f"'{self.path.name}'")

        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self._input_dtype = np.float16 if model_input.type == "tensor(float16)" else np.float32
        self.input_size = _input_size(model_input.shape, metadata)
        out_shape = self._session.get_outputs()[0].shape
        # With static output dims a wrong label count fails now, not on the first frame.
        self._layout: Layout | None = None
        if len(out_shape) >= 2 and all(isinstance(d, int) for d in out_shape[-2:]):
            self._layout = detect_layout(out_shape, len(self._labels))
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.needs_every_frame = False

    def _open_session(self, providers: Sequence[str] | None) -> ort.InferenceSession:
        import onnxruntime as ort  # here, not at import: reading vigil.yml should not load it

        wanted = list(providers or ["CPUExecutionProvider"])
        missing = [p for p in wanted if p not in ort.get_available_providers()]
        if missing:
            raise ModelError(
                f"The onnxruntime provider(s) {', '.join(missing)} are not available on this "
                f"machine (available: {', '.join(ort.get_available_providers())}); "
                "choose one of those or install the matching onnxruntime package."
            )
        options = ort.SessionOptions()
        options.log_severity_level = 3  # keep onnxruntime's warnings out of the operator's log
        try:
            return ort.InferenceSession(str(self.path), options, providers=wanted)
        except Exception as err:  # onnxruntime raises several unexported exception types
            reason = " ".join(str(err).split())[:200]
            raise ModelError(
                f"'{self.path.name}' is not a loadable ONNX model ({reason}); "
                "re-export it or point the config at a valid .onnx file."
            ) from None

    @property
    def labels(self) -> Sequence[str]:
        return self._labels

    @property
    def layout(self) -> Layout | None:
        """The recognised output layout (None until the first frame for dynamic outputs)."""
        return self._layout

    def detect(self, image: np.ndarray) -> list[Detection]:
        height, width = image.shape[:2]
        padded, scale, (left, top) = letterbox(image, self.input_size)
        blob = cv2.dnn.blobFromImage(padded, 1 / 255.0, swapRB=True).astype(
            self._input_dtype, copy=False
        )
        output = np.asarray(self._session.run(None, {self._input_name: blob})[0], np.float32)
        if self._layout is None:
            self._layout = detect_layout(output.shape, len(self._labels))
        xyxy, scores, class_ids = decode(
            output.reshape(output.shape[-2:]), self._layout, self.score_threshold
        )
        if len(class_ids) and int(class_ids.max()) >= len(self._labels):
            raise ModelError(
                f"'{self.path.name}' returned class {int(class_ids.max())} but has only "
                f"{len(self._labels)} labels; pass the model's class names as `labels`."
            )
        xyxy = (xyxy - np.array([left, top, left, top], np.float32)) / scale
        nms = 1.0 if self._layout is Layout.END_TO_END else self.nms_threshold
        return select_detections(
            xyxy, scores, class_ids, self._labels, (width, height), self.score_threshold, nms
        )


def decode(
    pred: np.ndarray, layout: Layout, score_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (x1, y1, x2, y2 in model input pixels), scores and class ids of one image.

    Candidates under the threshold are dropped before the argmax: a v8 output has 8400 rows
    and nearly all of them are background.
    """
    if layout is Layout.CHANNELS_FIRST:
        pred = pred.T
    if layout is Layout.END_TO_END:
        keep = pred[:, 4] >= score_threshold
        return pred[keep, :4], pred[keep, 4], pred[keep, 5].astype(np.int64)
    if layout is Layout.ROWS_OBJECTNESS:
        pred = pred[pred[:, 4] >= score_threshold]
        class_scores = pred[:, 5:] * pred[:, 4:5]
    else:
        class_scores = pred[:, 4:]
    best = class_scores.max(axis=1) if len(pred) else np.zeros(0, np.float32)
    keep = best >= score_threshold
    pred, class_scores, best = pred[keep], class_scores[keep], best[keep]
    class_ids = class_scores.argmax(axis=1) if len(pred) else np.zeros(0, np.int64)
    cx, cy, w, h = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return xyxy, best, class_ids
