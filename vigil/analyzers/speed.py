"""Speed: `speeding` events when an object moves faster over the ground than a limit.

Configured per camera:

    analyzers:
      - kind: speed
        limit_kmh: 20
        labels: [car, truck]
        scale: {a: [0.10, 0.52], b: [0.32, 0.52], metres: 5.0}   # a known distance, or
        # ground: {image: [[x, y] x 4], metres: [[e, n] x 4]}    # a ground homography

Speed is the ground distance covered over the last `window_s` seconds of a track's matched
positions, divided by the time taken, so a box that jitters by a few pixels does not read as
speed. An object is speeding once `min_estimates` estimates in a row exceed the limit; each
track raises at most one `speeding` event (with the speed, the limit and the window).
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from vigil.analyzers.base import (
    AnalyzerServices,
    AnalyzerSettings,
    TrackedFrame,
    matched,
    track_event,
)
from vigil.domain import Event, EventType, Point, Track
from vigil.geo import GroundPlane, Homography, UniformScale, distance
from vigil.sections import Anchor, RelPoint, Strict

if TYPE_CHECKING:
    from vigil.config.camera import CameraConfig

KMH_PER_MS = 3.6


class ScaleConfig(Strict):
    """Two image points (fractions of the image) that lie `metres` apart on the ground."""

    a: RelPoint
    b: RelPoint
    metres: float = Field(gt=0.0, le=10_000.0)

    @model_validator(mode="after")
    def _distinct(self) -> ScaleConfig:
        if tuple(self.a) == tuple(self.b):
            raise ValueError("a and b must be different points")
        return self


class GroundConfig(Strict):
    """Four image points (fractions of the image) and where they lie on the ground (metres)."""

    image: list[RelPoint] = Field(min_length=4, max_length=4)
    metres: list[tuple[float, float]] = Field(min_length=4, max_length=4)


class SpeedSettings(AnalyzerSettings):
    kind: Literal["speed"] = "speed"
    limit_kmh: float = Field(gt=0.0, le=1000.0, description="speeds above this raise `speeding`")
    labels: list[str] | None = Field(None, min_length=1, description="omit for every label")
    anchor: Anchor = Field("bottom_center", description="the box point that is on the ground")
    scale: ScaleConfig | None = None
    ground: GroundConfig | None = None
    window_s: float = Field(1.0, ge=0.2, le=30.0, description="seconds a speed is measured over")
    min_estimates: int = Field(2, ge=1, le=50, description="estimates over the limit in a row")

    @model_validator(mode="after")
    def _one_ground(self) -> SpeedSettings:
        if (self.scale is None) == (self.ground is None):
            raise ValueError(
                "a speed analyzer needs exactly one of 'scale' (two image points a known "
                "distance apart) or 'ground' (four image points and their ground positions)"
            )
        if self.ground is not None:
            try:
                Homography(self.ground.image, self.ground.metres)
            except ValueError as exc:
                raise ValueError(f"ground: {exc}") from None
        return self

    def plane(self, width: int, height: int) -> GroundPlane:
        def px(p: RelPoint) -> Point:
            return (p[0] * width, p[1] * height)

        if self.scale is not None:
            return UniformScale.from_reference(
                px(self.scale.a), px(self.scale.b), self.scale.metres
            )
        assert self.ground is not None
        return Homography([px(p) for p in self.ground.image], self.ground.metres)

    def build(
        self,
        camera: CameraConfig,
        frame_size: tuple[int, int],
        services: AnalyzerServices | None = None,
    ) -> SpeedWatcher:
        return SpeedWatcher(camera.id, self, self.plane(*frame_size))


class _Path:
    """A track's recent ground positions and how many estimates in a row were too fast."""

    def __init__(self) -> None:
        self.points: deque[tuple[float, Point]] = deque()
        self.over = 0
        self.told = False


class SpeedWatcher:
    def __init__(self, camera_id: str, settings: SpeedSettings, plane: GroundPlane) -> None:
        self.camera_id, self.settings, self.plane = camera_id, settings, plane
        self.labels = frozenset(settings.labels) if settings.labels else None
        self._paths: dict[int, _Path] = {}

    def speed_kmh(self, track_id: int) -> float | None:
        """The track's latest speed estimate (None until it has been seen for a window)."""
        path = self._paths.get(track_id)
        return None if path is None else self._estimate(path)

    def update(self, step: TrackedFrame) -> list[Event]:
        events = [self._observe(track, step.time) for track in matched(step, self.labels)]
        for track in step.ended:
            self._paths.pop(track.id, None)
        return [e for e in events if e is not None]

    def _observe(self, track: Track, time: float) -> Event | None:
        ground = self.plane.to_ground(track.box.anchor(self.settings.anchor))
        if not all(math.isfinite(v) for v in ground):
            return None
        path = self._paths.setdefault(track.id, _Path())
        path.points.append((time, ground))
        # Keep the newest point at least a window after the oldest, and no more than that.
        while len(path.points) > 2 and time - path.points[1][0] >= self.settings.window_s:
            path.points.popleft()
        speed = self._estimate(path)
        if speed is None:
            return None
        path.over = path.over + 1 if speed > self.settings.limit_kmh else 0
        if path.told or path.over < self.settings.min_estimates:
            return None
        path.told = True
        return track_event(
            EventType.SPEEDING,
            self.camera_id,
            time,
            track,
            start=path.points[0][0],
            end=time,
            speed_kmh=round(speed, 1),
            limit_kmh=self.settings.limit_kmh,
        )

    def _estimate(self, path: _Path) -> float | None:
        (t0, p0), (t1, p1) = path.points[0], path.points[-1]
        if t1 - t0 < self.settings.window_s * 0.8:
            return None
        return distance(p0, p1) / (t1 - t0) * KMH_PER_MS
