"""The detector backends, and choosing and loading one as vigil.yml names it.

A backend is its own module (the detector and its `DetectorSettings` section); adding one
means writing that module and adding its section class to `BACKENDS` below. The `detector:`
section of vigil.yml is chosen among them by `kind` (default: yolov3-tiny).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Discriminator, Tag, TypeAdapter, ValidationError

from vigil.errors import ModelError
from vigil.sections import literal_kind
from vigil.vision.base import Detector, DetectorSettings
from vigil.vision.darknet import DarknetSettings, YoloV3TinySettings
from vigil.vision.faces.detector import FacesSettings
from vigil.vision.fire.detector import FireSettings
from vigil.vision.moving import MotionSettings
from vigil.vision.onnx_yolo import OnnxSettings
from vigil.vision.policy import check_labels

BACKENDS: tuple[type[DetectorSettings], ...] = (
    YoloV3TinySettings,
    DarknetSettings,
    OnnxSettings,
    MotionSettings,
    FacesSettings,
    FireSettings,
)
DEFAULT_KIND = literal_kind(BACKENDS[0])
KINDS: tuple[str, ...] = tuple(literal_kind(b) for b in BACKENDS)


def _kind_of(value: Any) -> str | None:
    """The backend a `detector:` section names; the default when it names none."""
    if isinstance(value, dict):
        kind = value.get("kind", DEFAULT_KIND)
        return kind if isinstance(kind, str) else None
    return getattr(value, "kind", None)


if TYPE_CHECKING:
    DetectorConfig = DetectorSettings
else:
    DetectorConfig = Annotated[
        Union[tuple(Annotated[b, Tag(literal_kind(b))] for b in BACKENDS)],  # noqa: UP007
        Discriminator(_kind_of),
    ]
_ADAPTER: TypeAdapter[DetectorSettings] = TypeAdapter(DetectorConfig)


def detector_settings(kind: str = DEFAULT_KIND, **options: Any) -> DetectorSettings:
    """The settings of backend `kind` with `options`, checked as vigil.yml's would be."""
    if kind not in KINDS:
        raise ModelError(
            f"Unknown detector kind '{kind}'; use one of {', '.join(map(repr, KINDS))}."
        )
    try:
        return _ADAPTER.validate_python({"kind": kind, **options})
    except ValidationError as exc:
        raise ModelError(_describe(kind, exc)) from None


def _describe(kind: str, exc: ValidationError) -> str:
    problems = []
    allowed = [f for f in BACKENDS[KINDS.index(kind)].model_fields if f != "kind"]
    for err in exc.errors():
        field = str(err["loc"][-1]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            problems.append(
                f"The '{kind}' detector has no option '{field}'; "
                f"its options are {', '.join(allowed)}."
            )
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"The '{kind}' detector: {field + ': ' if field else ''}{msg}.")
    return " ".join(problems)


def load_detector(
    settings: DetectorSettings | str = DEFAULT_KIND, input_size: int = 416, **options: Any
) -> Detector:
    """Load a detector from its settings (or from a kind name and options).

    Every detector is checked against responsible-use rule 1 here as well as in its own
    constructor, so a backend added later cannot skip the check.
    """
    if isinstance(settings, str):
        settings = detector_settings(settings, **options)
    elif options:
        raise TypeError("options go into the settings object, not load_detector()")
    detector = settings.load(input_size)
    check_labels(detector.labels, f"The '{settings.kind}' detector")
    return detector
