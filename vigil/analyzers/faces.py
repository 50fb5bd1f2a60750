"""Faces: one candidate `face_match` per person track whose face matches a watchlist entry.

Configured per camera, and doing nothing until a watchlist covers the camera:

    analyzers:
      - kind: faces
        labels: [person]
        every_s: 0.25     # a track's face is looked at most this often ...
        max_shots: 12     # ... and at most this many times
        min_votes: 2      # shots that must agree on one listed person

On every frame the analyzer asks which watchlists are in force on this camera now (valid,
inside their daily window, covering the camera by name or geofence). When none is, it looks
at no face at all: no detection, no embedding (`calls` counts the face detector's runs). When
one is, each confirmed person track is looked at a few times as it moves: the largest usable
face in its box (quality gates: size, blur, pose) is embedded and compared with the listed
people's templates. A shot votes for the nearest listed person within the list's threshold.
A person wins when at least `min_votes` shots voted for them and they hold more than half of
the track's usable shots; then one `face_match` event is raised for the track (a candidate:
two people must confirm it) with the best-matching face as its picture, and the track is not
looked at again.

Nothing is kept of anyone else: embeddings live only inside one shot's comparison, and the
face pictures of a track are held in memory only until the track ends or matches. Pictures
of people stored by other parts of Vigil on this camera have their faces blurred (see
vigil/vision/faces/redact.py and `StoreSink`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import median
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
from vigil.domain import Event, EventType, Track
from vigil.errors import ConfigError
from vigil.rules.watchlists import Place, Template, WatchlistDirectory

if TYPE_CHECKING:
    from vigil.config.camera import CameraConfig
    from vigil.vision.faces import FaceEngine

MARGIN = 0.3  # the kept picture of a match: the face box grown by this share on each side


class FaceSettings(AnalyzerSettings):
    kind: Literal["faces"] = "faces"
    labels: list[str] = Field(default_factory=lambda: ["person"], min_length=1)
    every_s: float = Field(0.25, ge=0.0, le=60.0, description="least time between shots")
    max_shots: int = Field(12, ge=1, le=100, description="faces looked at per track at most")
    min_votes: int = Field(2, ge=1, le=20, description="shots that must agree on a person")
    min_face_px: int = Field(40, ge=20, le=400, description="smaller faces are not compared")

    def build(
        self,
        camera: CameraConfig,
        frame_size: tuple[int, int],
        services: AnalyzerServices | None = None,
    ) -> FaceWatcher:
        if services is None or services.store is None:
            raise ConfigError(
                f"camera '{camera.id}': the faces analyzer reads watchlists from the database; "
                "run it with `vigil serve` or `vigil analyze` (which open one)"
            )
        from vigil.vision.faces import FaceEngine, FaceGates

        engine = FaceEngine(gates=FaceGates(min_size=self.min_face_px))
        place = Place(camera.id, camera.lat, camera.lon)
        return FaceWatcher(place, self, WatchlistDirectory(services.store), engine)


@dataclass
class _Shots:
    last: float = float("-inf")
    shots: int = 0
    usable: int = 0
    votes: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    best: dict[int, tuple[float, np.ndarray]] = field(default_factory=dict)  # entry: (d, face)
    done: bool = False


class FaceWatcher:
    def __init__(
        self,
        place: Place,
        settings: FaceSettings,
        directory: WatchlistDirectory,
        engine: FaceEngine,
    ) -> None:
        self.place, self.settings, self.directory, self.engine = place, settings, directory, engine
        self.labels = frozenset(settings.labels)
        self.calls = 0  # face detector runs (none while no watchlist is in force here)
        self._tracks: dict[int, _Shots] = {}

    def update(self, step: TrackedFrame) -> list[Event]:
        for track in step.ended:
            self._tracks.pop(track.id, None)  # forget: nothing of a non-match is kept
        if step.frame is None:
            self._tracks.clear()
            return []
        when = datetime.fromtimestamp(step.frame.wallclock or time.time(), UTC)
        templates = self.directory.in_force(self.place, when)
        if not templates:
            self._tracks.clear()
            return []
        events = []
        for track in matched(step, self.labels):
            shots = self._tracks.setdefault(track.id, _Shots())
            if shots.done or shots.shots >= self.settings.max_shots:
                continue
            if step.time - shots.last < self.settings.every_s:
                continue
            shots.last, shots.shots = step.time, shots.shots + 1
            self._look(shots, track, step.frame.image, templates)
            event = self._decide(shots, track, step.time, templates)
            if event is not None:
                events.append(event)
        return events

    def _look(
        self, shots: _Shots, track: Track, image: np.ndarray, templates: list[Template]
    ) -> None:
        h, w = image.shape[:2]
        box = track.box.clip(w, h)
        crop = image[int(box.y) : int(box.y2), int(box.x) : int(box.x2)]
        if crop.size == 0:
            return
        self.calls += 1
        face, embedding = self.engine.best(crop)
        if face is None or embedding is None:
            return
        shots.usable += 1
        nearest: dict[int, float] = {}
        for t in templates:
            d = float(np.linalg.norm(embedding - t.embedding))
            if d <= t.threshold and d < nearest.get(t.entry_id, 9.0):
                nearest[t.entry_id] = d
        del embedding  # compared; never kept
        if not nearest:
            return
        entry = min(nearest, key=lambda e: nearest[e])
        shots.votes[entry].append(nearest[entry])
        if entry not in shots.best or nearest[entry] < shots.best[entry][0]:
            shots.best[entry] = (nearest[entry], _face_picture(crop, face.box))

    def _decide(
        self, shots: _Shots, track: Track, now: float, templates: list[Template]
    ) -> Event | None:
        if not shots.votes:
            return None
        entry = max(shots.votes, key=lambda e: len(shots.votes[e]))
        votes = shots.votes[entry]
        if len(votes) < self.settings.min_votes or len(votes) * 2 <= shots.usable:
            return None
        shots.done = True
        t = next(t for t in templates if t.entry_id == entry)
        picture = shots.best.pop(entry)[1]
        shots.best.clear()
        event = track_event(
            EventType.FACE_MATCH,
            self.place.camera_id,
            now,
            track,
            start=track.first_seen,
            end=now,
            watchlist=t.watchlist,
            watchlist_id=t.watchlist_id,
            entry_id=t.entry_id,
            name=t.name,
            reference=t.reference,
            distance=round(median(votes), 4),
            votes=len(votes),
            shots=shots.usable,
            threshold=t.threshold,
        )
        return event.with_picture(picture)


def _face_picture(crop: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    pad_x, pad_y = int(w * MARGIN), int(h * MARGIN)
    H, W = crop.shape[:2]
    return crop[
        max(0, y - pad_y) : min(H, y + h + pad_y), max(0, x - pad_x) : min(W, x + w + pad_x)
    ].copy()
