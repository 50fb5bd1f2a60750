"""Plates: one `plate_read` event per vehicle track, its text voted over several reads.

Configured per camera:

    analyzers:
      - kind: plates
        labels: [car, truck, bus, motorbike]
        regions: [HR, SK]       # plate formats to expect (default: every shipped format)
        every_s: 0.5            # a track is read at most this often ...
        max_reads: 6            # ... and at most this many times
        min_plate_px: 12        # text lines lower than this are not read as plates

A confirmed vehicle track is read (its box, grown a little, cut from the frame) when it is
new, has moved or grown since its last read and `every_s` has passed, so a parked car is not
read on every frame. Each read gives the reader's best candidate. When the track ends, the
reads are voted: the text length most reads agree on, then each character position by the
sum of the reads' confidences. The event carries the voted plate, its confidence (the share of
the vote it won, times the best read's confidence), how many reads agreed, and the crop of the
best read as its picture.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from vigil.analyzers.base import (
    AnalyzerServices,
    AnalyzerSettings,
    TrackedFrame,
    matched,
    track_event,
)
from vigil.domain import Box, Event, EventType, Frame, Track
from vigil.vision.plates import PlateCandidate, PlateReader, formats_for

if TYPE_CHECKING:
    from vigil.config.camera import CameraConfig

VEHICLES = ["car", "truck", "bus", "motorbike"]
GROW = 0.08  # the crop is the track's box grown by this share on each side
MOVED = 0.15  # a box that moved or grew by this share of its size is read again


class PlateSettings(AnalyzerSettings):
    kind: Literal["plates"] = "plates"
    labels: list[str] = Field(default_factory=lambda: list(VEHICLES), min_length=1)
    regions: list[str] | None = Field(None, min_length=1, description="default: every format")
    every_s: float = Field(0.5, ge=0.0, le=60.0, description="least time between reads")
    max_reads: int = Field(6, ge=1, le=50, description="reads per track at most")
    min_plate_px: int = Field(12, ge=4, le=400, description="lower text lines are not read")
    min_confidence: float = Field(0.3, ge=0.0, le=1.0, description="weaker reads are dropped")

    def build(
        self,
        camera: CameraConfig,
        frame_size: tuple[int, int],
        services: AnalyzerServices | None = None,
    ) -> PlateWatcher:
        return PlateWatcher(camera.id, self, PlateReader(formats_for(self.regions)))


@dataclass
class _Reads:
    candidates: list[PlateCandidate] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    best_crop: np.ndarray | None = None
    best_confidence: float = 0.0
    best_box: Box | None = None  # the vehicle's box at the best read
    last_box: Box | None = None
    last_time: float = float("-inf")
    attempts: int = 0
    track: Track | None = None


class PlateWatcher:
    def __init__(self, camera_id: str, settings: PlateSettings, reader: PlateReader) -> None:
        self.camera_id, self.settings, self.reader = camera_id, settings, reader
        self.labels = frozenset(settings.labels)
        self._reads: dict[int, _Reads] = defaultdict(_Reads)

    def update(self, step: TrackedFrame) -> list[Event]:
        if step.frame is not None:
            for track in matched(step, self.labels):
                reads = self._reads[track.id]
                reads.track = track
                if self._due(reads, track, step.time):
                    self._read(reads, track, step.frame, step.time)
        ended = list(step.ended)
        if step.frame is None:  # the source ended: every track with reads is told now
            ended += [r.track for r in self._reads.values() if r.track is not None]
        events = []
        for track in ended:
            if track.id not in self._reads:
                continue
            if (event := self._voted(track, self._reads.pop(track.id))) is not None:
                events.append(event)
        return events

    def _due(self, reads: _Reads, track: Track, time: float) -> bool:
        if reads.attempts >= self.settings.max_reads:
            return False
        if time - reads.last_time < self.settings.every_s:
            return False
        last = reads.last_box
        if last is None:
            return True
        box = track.box
        shift = max(abs(box.x - last.x), abs(box.y - last.y)) / max(1.0, min(last.w, last.h))
        growth = abs(box.h - last.h) / max(1.0, last.h)
        return shift >= MOVED or growth >= MOVED  # a parked car is not read again and again

    def _read(self, reads: _Reads, track: Track, frame: Frame, time: float) -> None:
        reads.attempts += 1
        reads.last_box, reads.last_time = track.box, time
        height, width = frame.image.shape[:2]
        b = track.box
        grown = Box(b.x - GROW * b.w, b.y - GROW * b.h, b.w * (1 + 2 * GROW), b.h * (1 + 2 * GROW))
        box = grown.clip(width, height)
        crop = frame.image[int(box.y) : int(box.y2), int(box.x) : int(box.x2)].copy()
        if crop.size == 0:
            return
        found = [
            c
            for c in self.reader.read(crop)
            if c.box[3] >= self.settings.min_plate_px
            and c.confidence >= self.settings.min_confidence
        ]
        if not found:
            return
        best = found[0]
        reads.candidates.append(best)
        reads.times.append(time)
        if best.confidence > reads.best_confidence:
            x, y, w, h = best.box
            pad = h // 2
            reads.best_crop = crop[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad]
            reads.best_confidence = best.confidence
            reads.best_box = track.box

    def _voted(self, track: Track, reads: _Reads) -> Event | None:
        if not reads.candidates:
            return None
        plate, share, agreeing = vote(reads.candidates)
        best_time = reads.times[
            max(range(len(reads.candidates)), key=lambda i: reads.candidates[i].confidence)
        ]
        regions = Counter(c.region for c in reads.candidates if c.text == plate and c.region)
        event = track_event(
            EventType.PLATE_READ,
            self.camera_id,
            best_time,
            replace(track, box=reads.best_box) if reads.best_box is not None else track,
            start=track.first_seen,
            end=track.last_seen,
            plate=plate,
            plate_confidence=round(share * reads.best_confidence, 4),
            reads=len(reads.candidates),
            agreeing=agreeing,
            region=regions.most_common(1)[0][0] if regions else None,
        )
        return event.with_picture(reads.best_crop)


def vote(candidates: list[PlateCandidate]) -> tuple[str, float, int]:
    """The voted text of several reads of one plate: the length most reads have (ties: the
    more confident), then per position the character with the most confidence. Returns the
    text, the share of the confidence it won (0..1) and how many reads are exactly it."""
    by_length: dict[int, float] = defaultdict(float)
    for c in candidates:
        by_length[len(c.text)] += c.confidence
    length = max(by_length, key=lambda n: by_length[n])
    same = [c for c in candidates if len(c.text) == length]
    text = ""
    for i in range(length):
        weight: dict[str, float] = defaultdict(float)
        for c in same:
            weight[c.text[i]] += c.confidence
        text += max(weight, key=lambda ch: weight[ch])
    total = sum(c.confidence for c in candidates) or 1.0
    won = sum(c.confidence for c in candidates if c.text == text)
    return text, won / total, sum(c.text == text for c in candidates)
