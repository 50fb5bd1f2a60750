"""What every section of vigil.yml is built on: strict models, image fractions, box anchors.

Plug-ins (detectors, analyzers) define their own section classes on `Strict` in their own
modules; this module imports nothing of Vigil's so they can.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
RelPoint = tuple[Fraction, Fraction]
# The point of a box that must be inside a zone / across a line: the feet in a side view,
# the middle in a top-down view.
Anchor = Literal["bottom_center", "center"]


class Strict(BaseModel):
    """A config section: unknown keys are errors, values are frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def literal_kind(model: type[BaseModel]) -> str:
    """The value of a plug-in section's `kind: Literal["..."]` field."""
    annotation = model.model_fields["kind"].annotation
    args: tuple[object, ...] = tuple(getattr(annotation, "__args__", ()))
    kind = args[0] if len(args) == 1 else None
    if not isinstance(kind, str):
        raise TypeError(f"{model.__name__}.kind must be a Literal of one string")
    return kind
