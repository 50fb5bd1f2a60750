"""Fire watch: `fire` and `smoke` events from persistent flame and smoke tracks.

Configured per camera (the detector is `kind: fire`, or a YOLO ONNX export with fire/smoke
classes):

    analyzers:
      - kind: fire
        sensitivity: normal          # low | normal | high
        masks: [[[0.8, 0.0], [1.0, 0.0], [1.0, 0.2]]]   # the sun's corner, a lamp, a reflection
        labels: [fire, smoke]

A fire is a cluster of tracks of one label near each other: a flame's region breaks into
tongues and joins again, so each tongue's track is not a fire of its own. A fire is told once,
when it has been seen with at least the sensitivity's score for its persistence time without
a gap (smoke, slower to judge, for SMOKE_FACTOR times longer); it stays the same fire while
seen again within `hold_s`, and a fire seen again after that is told again. The event's box
is the fire's region, `start` and `first_seen` when its first track was first seen, `time`
when it was confirmed; its attributes carry the bearing from the camera (vigil.geo.bearing)
where the camera's view or telemetry says which way it looked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
from pydantic import Field, field_validator

from vigil.analyzers.base import AnalyzerServices, AnalyzerSettings, TrackedFrame, matched
from vigil.domain import Box, Event, EventType, Point, Track
from vigil.geo.bearing import fire_bearing
from vigil.sections import RelPoint
from vigil.vision.fire import FIRE, LABELS, SMOKE, Label

if TYPE_CHECKING:
    from vigil.config.camera import CameraConfig

LABEL_EVENTS: Mapping[str, EventType] = {FIRE: EventType.FIRE, SMOKE: EventType.SMOKE}
Sensitivity = Literal["low", "normal", "high"]


@dataclass(frozen=True, slots=True)
class Level:
    name: str
    persist_s: float  # seconds seen without a gap before a fire is told
    min_score: float  # the least track score that counts as seen


LEVELS: Mapping[str, Level] = {
    "low": Level("low", 3.0, 0.65),
    "normal": Level("normal", 1.0, 0.55),
    "high": Level("high", 0.5, 0.45),
}
SMOKE_FACTOR = 5.0  # smoke is told after this many times the flame persistence
# A step that sees the fire without a sure sighting, this long after the last one, breaks
# the persistence streak. Only a step can tell: a detector gated by motion looks at a still
# flame about once a second, and the time between its looks is not a gap in the fire.
GAP_S = 0.5
# Tracks within this fraction of a fire's size, or of the image's width, are that fire.
NEAR = 0.5
NEAR_IMAGE = 0.05


class FireWatchSettings(AnalyzerSettings):
    """`fire` / `smoke` events: one per fire, when it has persisted."""

    kind: Literal["fire"] = "fire"
    sensitivity: Sensitivity = Field(
        "normal", description="low: 3 s at score 0.65; normal: 1 s at 0.55; high: 0.5 s at 0.45"
    )
    masks: list[list[RelPoint]] = Field(
        default_factory=list, description="polygons (image fractions) where nothing counts"
    )
    labels: list[Label] = Field(default_factory=lambda: list(LABELS), min_length=1)
    hold_s: float = Field(
        30.0, gt=0.0, le=3600.0, description="seconds unseen before a fire is over"
    )

    @field_validator("masks")
    @classmethod
    def _polygons(cls, masks: list[list[RelPoint]]) -> list[list[RelPoint]]:
        for mask in masks:
            if len(mask) < 3:
                raise ValueError("a fire mask is a polygon of at least 3 points")
        return masks

    def build(
        self,
        camera: CameraConfig,
        frame_size: tuple[int, int],
        services: AnalyzerServices | None = None,
    ) -> FireAnalyzer:
        w, h = frame_size
        masks = [[(x * w, y * h) for x, y in m] for m in self.masks]
        return FireAnalyzer(camera, frame_size, LEVELS[self.sensitivity], masks, self.labels,
                         self.hold_s)  # fmt: skip


@dataclass
class _Fire:
    label: str
    box: Box  # where it is seen now
    extent: Box  # everywhere it has been seen: a tongue that comes back there is this fire
    first_seen: float
    last_seen: float
    streak_start: float | None = None  # first sure sighting of the current streak
    last_sure: float | None = None
    scores: list[float] = field(default_factory=list)
    best_track: int | None = None
    told: bool = False


class FireAnalyzer:
    """One camera's fires. `update(step)` returns the fire and smoke events it raises."""

    def __init__(
        self,
        camera: CameraConfig,
        frame_size: tuple[int, int],
        level: Level,
        masks: Sequence[Sequence[Point]] = (),
        labels: Iterable[str] = LABELS,
        hold_s: float = 30.0,
    ) -> None:
        self.camera = camera
        self.frame_size = frame_size
        self.level = level
        self.masks = [np.array(m, np.float32).reshape(-1, 1, 2) for m in masks]
        self.labels = frozenset(labels)
        self.hold_s = hold_s
        self.fires: list[_Fire] = []

    def update(self, step: TrackedFrame) -> list[Event]:
        now = step.time
        self.fires = [f for f in self.fires if now - f.last_seen <= self.hold_s]
        seen = [t for t in matched(step, self.labels) if not self._masked(t.box)]
        touched: dict[int, list[Track]] = {}
        for track in seen:
            fire = self._fire_for(track, now)
            touched.setdefault(id(fire), []).append(track)
        events = []
        for fire in self.fires:
            tracks = touched.get(id(fire))
            if tracks and self._observe(fire, tracks, now):
                events.append(self._event(fire, step, now))
            elif not tracks:
                self._unsure(fire, now)
        return events

    @staticmethod
    def _unsure(fire: _Fire, now: float) -> None:
        """A step without a sure sighting of `fire`."""
        if fire.last_sure is not None and now - fire.last_sure > GAP_S:
            fire.streak_start, fire.scores = None, []

    def _masked(self, box: Box) -> bool:
        cx, cy = box.center
        return any(cv2.pointPolygonTest(m, (cx, cy), False) >= 0 for m in self.masks)

    def _fire_for(self, track: Track, now: float) -> _Fire:
        """The fire this track is part of: one of its label near it, or a new one."""
        margin = NEAR_IMAGE * self.frame_size[0]
        near = [
            f for f in self.fires if f.label == track.label and _near(f.extent, track.box, margin)
        ]
        if not near:
            fire = _Fire(track.label, track.box, track.box, track.first_seen, now)
            self.fires.append(fire)
            return fire
        first, *others = sorted(near, key=lambda f: f.first_seen)
        for other in others:  # the track joins fires that grew together: one fire now
            first.extent = first.extent.union(other.extent)
            first.told = first.told or other.told
            self.fires.remove(other)
        return first

    def _observe(self, fire: _Fire, tracks: list[Track], now: float) -> bool:
        """Take this step's tracks of `fire`; True when the fire is to be told now."""
        fire.box = _union(t.box for t in tracks)
        fire.extent = fire.extent.union(fire.box)
        fire.last_seen = now
        fire.first_seen = min(fire.first_seen, *(t.first_seen for t in tracks))
        sure = [t for t in tracks if t.score >= self.level.min_score]
        if not sure:
            self._unsure(fire, now)
            return False
        best = max(sure, key=lambda t: t.score)
        if fire.streak_start is None:
            fire.streak_start, fire.scores = now, []
        fire.last_sure = now
        if fire.told:  # told once: nothing more to keep (a fire may burn for hours)
            return False
        fire.scores.append(best.score)
        fire.best_track = best.id
        persist = self.level.persist_s * (SMOKE_FACTOR if fire.label == SMOKE else 1.0)
        if now - fire.streak_start < persist - 1e-9:
            return False
        fire.told = True
        return True

    def _event(self, fire: _Fire, step: TrackedFrame, now: float) -> Event:
        w, h = self.frame_size
        attributes: dict[str, object] = {
            "first_seen": round(fire.first_seen, 3),
            "area_fraction": round(fire.box.area / float(w * h), 5),
            "sensitivity": self.level.name,
        }
        attributes.update(fire_bearing(self.camera, step.frame, fire.box, self.frame_size))
        score = sum(fire.scores) / len(fire.scores) if fire.scores else 0.0
        return Event(
            LABEL_EVENTS[fire.label],
            self.camera.id,
            now,
            fire.best_track,
            fire.label,
            fire.box,
            round(score, 3),
            start=fire.first_seen,
            end=now,
            attributes=attributes,
        )


def _near(a: Box, b: Box, margin: float) -> bool:
    """Do two regions touch once each is grown by NEAR of its larger side, or by `margin`
    pixels where that is more?"""
    ga, gb = _grow(a, margin), _grow(b, margin)
    return ga.x < gb.x2 and gb.x < ga.x2 and ga.y < gb.y2 and gb.y < ga.y2


def _grow(box: Box, margin: float) -> Box:
    m = max(NEAR / 2 * max(box.w, box.h), margin)
    return Box(box.x - m, box.y - m, box.w + 2 * m, box.h + 2 * m)


def _union(boxes: Iterable[Box]) -> Box:
    it = iter(boxes)
    out = next(it)
    for b in it:
        out = out.union(b)
    return out
