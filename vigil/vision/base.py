"""The Detector seam: an image in, Detections out. Nothing else (no threads, no storage).

A backend is one module with two things: the detector class, and its configuration section,
a `DetectorSettings` subclass with `kind: Literal["<name>"]` whose `load()` builds the
detector. `vigil.vision.registry.BACKENDS` lists the sections (one line per backend); the
`detector:` section of vigil.yml is chosen among them by `kind`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import Field, model_validator

from vigil.domain import Detection
from vigil.sections import Strict, literal_kind


@runtime_checkable
class Detector(Protocol):
    @property
    def labels(self) -> Sequence[str]:
        """Every label this detector can return."""

    @property
    def needs_every_frame(self) -> bool:
        """True for a detector with a model of the scene over time (a background model):
        it must see every frame, so motion gating does not apply, and one stream's model
        must not be carried into the next."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Find objects in a BGR uint8 image; boxes are pixels of that image."""


# Low: weak detections keep known tracks alive (objects.min_score decides what starts one).
ScoreThreshold = Field(0.1, ge=0.0, le=1.0, description="weakest detection returned")


class DetectorSettings(Strict):
    """A detector backend's section of vigil.yml. Subclasses narrow `kind` to a Literal."""

    kind: str

    def load(self, input_size: int) -> Detector:
        """The detector this section describes; `input_size` is the camera's detect.size
        (a backend whose model has its size built in ignores it). Raises ModelError."""
        raise NotImplementedError


class ModelFileSettings(DetectorSettings):
    """A backend whose model is a file the user names with `path`."""

    PATH_IS: ClassVar[str] = "the model file"
    path: str = Field(min_length=1, description="the model file")

    @model_validator(mode="before")
    @classmethod
    def _needs_path(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("path"):
            raise ValueError(f"detector kind '{literal_kind(cls)}' needs 'path' ({cls.PATH_IS})")
        return data
