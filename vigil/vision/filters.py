"""Keep only the detections a camera cares about: which labels, how sure, how big."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from vigil.domain import Detection


@dataclass(frozen=True)
class ObjectFilter:
    """Drop detections by label, score and box area (pixels of the detector's image).

    `labels` None keeps every label. `per_label` maps a label to its own
    (min_score, min_area), replacing the global ones for that label only: a person may count
    from 0.4 while a far smaller cat needs 0.6.
    """

    labels: AbstractSet[str] | None = None
    min_score: float = 0.0
    min_area: float = 0.0
    max_area: float | None = None
    per_label: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.labels is not None and not isinstance(self.labels, frozenset):
            object.__setattr__(self, "labels", frozenset(self.labels))
        object.__setattr__(self, "per_label", dict(self.per_label))
        for name, (score, area) in {"": (self.min_score, self.min_area), **self.per_label}.items():
            where = f" for '{name}'" if name else ""
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"min_score{where} must be between 0 and 1, got {score}")
            if area < 0:
                raise ValueError(f"min_area{where} must not be negative, got {area}")
        if self.max_area is not None and self.max_area < self.min_area:
            raise ValueError(
                f"max_area ({self.max_area}) must not be smaller than min_area ({self.min_area})"
            )

    def thresholds(self, label: str) -> tuple[float, float]:
        """(min_score, min_area) that apply to `label`."""
        return self.per_label.get(label, (self.min_score, self.min_area))

    def accepts(self, detection: Detection) -> bool:
        if self.labels is not None and detection.label not in self.labels:
            return False
        min_score, min_area = self.thresholds(detection.label)
        area = detection.box.area
        if detection.score < min_score or area < min_area:
            return False
        return self.max_area is None or area <= self.max_area

    def apply(self, detections: Iterable[Detection]) -> list[Detection]:
        return [d for d in detections if self.accepts(d)]
