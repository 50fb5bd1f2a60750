"""Faces in a picture, their quality, and 128-d embeddings to compare them by.

`FaceEngine().faces(image)` finds faces (CenterFace) and judges each by the quality gates;
`FaceEngine().embed(image, face)` aligns a usable face on dlib's 5-point landmarks into a
150 px chip and encodes it with dlib's ResNet into a 128-d vector. Two embeddings of the same
person lie close: `distance(a, b) <= MATCH_THRESHOLD` is a match.

Privacy (responsible-use rule 3): the engine keeps nothing. It writes no file, logs no crop,
landmark or embedding, and holds a chip only for as long as one call needs it; what a caller
does with an embedding is the caller's business (the watchlist keeps enrolled people's only).

How MATCH_THRESHOLD was set. dlib publishes 0.6 as its model's operating point: 99.38 %
right on LFW's pairs, the threshold that makes the fewest errors when a false match and a
missed match cost the same. They do not cost the same here: a false match puts an innocent
person in front of reviewers, a miss on one frame is made up by the next frames of the same
track. Vigil's target is a false-match rate of at most 1 in 10,000 comparisons of faces that
passed the quality gates. On the shared face set (`bench/faces.py`; 20 usable faces of 7
people: 32 same-person pairs, 158 pairs of different people) same-person distances are
0.37 +- 0.09 (largest 0.47) and different people's 0.88 +- 0.09 (smallest 0.70). A normal
fit to the different-people distances gives a false-match rate of 7e-4 at 0.6 and 8e-5 at
0.55, with 0.4 % and 1.7 % of same-person pairs missed: 0.55 meets the target, 0.6 does not.
That fit extrapolates far beyond 158 pairs, and dlib's model is known to mix up children and
to be less accurate for groups under-represented in its training data: the threshold is a
calibrated guess, not a guarantee, which is why people review every match (two for an alert).
In the Hamilton clip, 25 of Lin-Manuel Miranda's 26 sampled frames with an 85 px face lie
within 0.55 of his one enrolment photo (0.31-0.57).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from vigil.errors import ModelError
from vigil.vision.faces.detect import MAX_SIDE, CenterFace, FoundFace
from vigil.vision.faces.models import FACE_ENCODER, SHAPE_PREDICTOR, model_file
from vigil.vision.faces.quality import (
    FaceGates,
    Quality,
    geometry_reason,
    sharpness,
    sharpness_reason,
    turn,
)

MATCH_THRESHOLD = 0.55  # see the module docstring
EMBEDDING_SIZE = 128
CHIP_SIZE = 150  # the size dlib's ResNet encoder was trained on
CHIP_PADDING = 0.25  # the margin around the landmarks dlib's examples give the encoder
# dlib's shape predictor was trained on dlib's own detector's boxes: square, from the brows
# to the chin. CenterFace's are taller (forehead to chin); this maps one onto the other
# (measured on the shared face set: same width x 1.08, top 16 % of the height lower).
DLIB_BOX_WIDTH, DLIB_BOX_TOP = 1.08, 0.16


@dataclass(frozen=True, slots=True)
class Face:
    """A face in a picture: box (x, y, w, h in pixels), detector score, five landmarks (eyes,
    nose tip, mouth corners; (x, y) pixels) and the quality gates' verdict."""

    box: tuple[int, int, int, int]
    score: float
    landmarks: tuple[tuple[float, float], ...]
    quality: Quality

    @property
    def usable(self) -> bool:
        return self.quality.usable

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]

    def to_json(self) -> dict[str, Any]:
        return {
            "box": list(self.box),
            "score": round(self.score, 3),
            "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks],
            "quality": self.quality.to_json(),
        }


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Euclidean distance between two embeddings (0: identical; a match <= threshold)."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def is_match(a: np.ndarray, b: np.ndarray, threshold: float = MATCH_THRESHOLD) -> bool:
    return distance(a, b) <= threshold


class FaceEngine:
    """Face detection, quality gates and embeddings; models load on first use (about 1 s)
    and are shared by the threads of a process (dlib's calls take turns behind a lock)."""

    def __init__(
        self,
        gates: FaceGates | None = None,
        min_score: float = 0.5,
        max_side: int = MAX_SIDE,
    ) -> None:
        self.gates = gates or FaceGates()
        self._detector = CenterFace(min_score=min_score, max_side=max_side)
        self._dlib: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def faces(self, image: np.ndarray) -> list[Face]:
        """Every face the detector finds in a BGR uint8 picture, each with its verdict."""
        found = self._detector.detect(image)
        if not found:
            return []
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        return [self._judge(rgb, f) for f in found]

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray | None:
        """The 128-d float32 embedding of `face` in `image`; None if the face is not usable."""
        if not face.usable:
            return None
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        with self._lock:
            _, encoder = self._models()
            chip = self._chip(rgb, face.box)
            vector = encoder.compute_face_descriptor(chip)
        return np.asarray(vector, dtype=np.float32)

    def best(self, image: np.ndarray) -> tuple[Face | None, np.ndarray | None]:
        """The largest usable face and its embedding; the largest face and None when no face
        is usable; (None, None) when there is none."""
        faces = sorted(self.faces(image), key=lambda f: f.area, reverse=True)
        usable = [f for f in faces if f.usable]
        if usable:
            return usable[0], self.embed(image, usable[0])
        return (faces[0] if faces else None), None

    def _judge(self, rgb: np.ndarray, found: FoundFace) -> Face:
        box = tuple(round(v) for v in found.box)
        size = min(found.box[2], found.box[3])
        turned = turn(found.landmarks)
        reason = geometry_reason(self.gates, size, turned)
        sharp = None
        if reason is None:
            with self._lock:
                sharp = sharpness(self._chip(rgb, box))
            reason = sharpness_reason(self.gates, sharp)
        quality = Quality(size=size, turn=turned, sharpness=sharp, reason=reason)
        return Face(box, found.score, found.landmarks, quality)  # type: ignore[arg-type]

    def _chip(self, rgb: np.ndarray, box: tuple[int, ...]) -> np.ndarray:
        """The aligned 150 px face chip (RGB); call with the lock held."""
        import dlib

        predictor, _ = self._models()
        x, y, w, h = box
        side = w * DLIB_BOX_WIDTH
        left, top = x + w / 2 - side / 2, y + h * DLIB_BOX_TOP
        rect = dlib.rectangle(round(left), round(top), round(left + side), round(top + side))
        shape = predictor(rgb, rect)
        return np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING))

    def _models(self) -> tuple[Any, Any]:
        """dlib's shape predictor and face encoder; call with the lock held."""
        if self._dlib is None:
            try:
                import dlib
            except ImportError:
                raise ModelError(
                    "dlib is not installed; run `make setup` (it installs dlib-bin)."
                ) from None
            predictor = dlib.shape_predictor(str(model_file(*SHAPE_PREDICTOR)))
            encoder = dlib.face_recognition_model_v1(str(model_file(*FACE_ENCODER)))
            self._dlib = (predictor, encoder)
        return self._dlib
