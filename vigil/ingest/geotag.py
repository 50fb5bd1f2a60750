"""Placing what a camera sees on the map, frame by frame.

A `Placer` turns one frame into a `FrameView`: where the camera was (a moving camera, from the
frame's telemetry), the ground quadrilateral it saw, and image point -> latitude/longitude.

- `MovingPlacer`: the frame's telemetry through vigil.geo.camera. What a format does not
  carry may be given: the lens' horizontal field of view (the vertical one follows from the
  frame's aspect ratio, a pinhole lens), the ground's elevation, or the camera's height above
  the ground (a body camera at chest height). A sample without a heading (a GoPro on a walk)
  takes its course over the ground from where it was a few metres before.
- `FixedPlacer`: a fixed camera's configured `ground:` homography (vigil.geo.fixed).

`GeoTagger` keeps, for one camera, each track's ground point (its box's bottom centre) as
a trail and the camera's own path; it gives events their place.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from vigil.domain import Event, Frame, Telemetry, Track, TrackState
from vigil.errors import GeometryError
from vigil.geo import GroundMap, LatLon, camera_view, ground_alt_of, haversine_m

# A course over the ground needs the camera to have moved this far (GPS noise is metres).
COURSE_MIN_M = 3.0
COURSE_MAX_AGE_S = 10.0
DIGITS = 7  # about a centimetre of latitude
MAX_TRAIL = 2000  # points kept of a track's trail (thinned evenly beyond)


@dataclass(frozen=True, slots=True)
class FrameView:
    """What one frame shows of the ground."""

    to_latlon: Callable[[float, float], LatLon | None] | None  # image fractions -> place
    position: LatLon | None = None  # the camera's own (a moving camera)
    alt: float | None = None
    heading: float | None = None
    footprint: tuple[LatLon | None, ...] | None = None


class Placer(Protocol):
    def view(self, frame: Frame) -> FrameView | None: ...

    @property
    def problem(self) -> str | None:
        """Why frames could not be placed (the first reason), if any."""


def _bearing(a: LatLon, b: LatLon) -> float:
    la1, la2 = math.radians(a[0]), math.radians(b[0])
    dlon = math.radians(b[1] - a[1])
    y = math.sin(dlon) * math.cos(la2)
    x = math.cos(la1) * math.sin(la2) - math.sin(la1) * math.cos(la2) * math.cos(dlon)
    return math.degrees(math.atan2(y, x)) % 360.0


@dataclass
class MovingPlacer:
    """A moving camera: its frames' telemetry (see the module's note)."""

    hfov: float | None = None
    ground_alt: float | None = None
    height: float | None = None
    problem: str | None = None
    _recent: deque[tuple[float, LatLon]] = field(default_factory=lambda: deque(maxlen=600))

    def _course(self, t: float, here: LatLon) -> float | None:
        while self._recent and t - self._recent[0][0] > COURSE_MAX_AGE_S:
            self._recent.popleft()
        for _when, there in reversed(self._recent):
            if haversine_m(there, here) >= COURSE_MIN_M:
                return _bearing(there, here)
        return None

    def _completed(self, t: Telemetry, frame: Frame, here: LatLon) -> Telemetry:
        heading = t.heading if t.heading is not None else self._course(frame.timestamp, here)
        hfov, vfov = t.hfov, t.vfov
        if hfov is None and self.hfov is not None:
            hfov = self.hfov
        if hfov is not None and vfov is None and frame.width > 0:
            half = math.tan(math.radians(hfov) / 2) * frame.height / frame.width
            vfov = math.degrees(2 * math.atan(half))
        return replace(t, heading=heading, hfov=hfov, vfov=vfov)

    def _ground(self, t: Telemetry) -> float | None:
        if self.ground_alt is not None:
            return self.ground_alt
        own = ground_alt_of(t)
        if own is not None:
            return own
        if self.height is not None and t.alt is not None:
            return t.alt - self.height
        return None

    def view(self, frame: Frame) -> FrameView | None:
        t = frame.telemetry
        if t is None or t.lat is None or t.lon is None:
            return None
        here = (t.lat, t.lon)
        full = self._completed(t, frame, here)
        self._recent.append((frame.timestamp, here))
        position = FrameView(None, here, t.alt, full.heading)
        ground = self._ground(full)
        if ground is None:
            self.problem = self.problem or (
                "the telemetry says nothing of the ground's elevation: give the ground's "
                "elevation or the camera's height above it (ingest's --ground-alt / --height, "
                "the upload's ground_alt / height, or the camera's mount: section)"
            )
            return position
        try:
            view = camera_view(full, ground)
            view.ray(0.5, 0.5)  # a field of view is needed for any pixel
        except GeometryError as exc:
            self.problem = self.problem or str(exc)
            return position
        return FrameView(view.to_latlon, here, t.alt, full.heading, view.footprint())


@dataclass
class FixedPlacer:
    """A fixed camera with a `ground:` section."""

    ground: GroundMap
    problem: str | None = None

    def view(self, frame: Frame) -> FrameView | None:
        return FrameView(self.ground.to_latlon)


@dataclass(frozen=True, slots=True)
class PathPoint:
    """Where a moving camera was at a frame, and what it saw of the ground."""

    media_time: float
    lat: float
    lon: float
    alt: float | None
    heading: float | None
    footprint: list[list[float] | None] | None


def _round(p: LatLon) -> tuple[float, float]:
    return (round(p[0], DIGITS), round(p[1], DIGITS))


class GeoTagger:
    """One camera's tracks and path on the ground (see the module's note)."""

    def __init__(self, placer: Placer, *, path_every: float | None = 0.0) -> None:
        self.placer = placer
        self.path_every = (
            path_every  # seconds between kept path points (0: every frame; None: none)
        )
        self.trails: dict[int, list[list[float]]] = {}
        self.pending: list[PathPoint] = []
        self.path_points = 0
        self.placed_tracks: set[int] = set()
        self._last_path: float | None = None
        self._view: FrameView | None = None
        self._frame: Frame | None = None

    @property
    def last_view(self) -> FrameView | None:
        """The view of the frame last observed."""
        return self._view

    def observe(self, frame: Frame, tracks: Sequence[Track], detected: bool) -> None:
        """A frame: the camera's place, and the ground point of each track seen on it."""
        view = self.placer.view(frame)
        self._view, self._frame = view, frame
        if view is None:
            return
        self._keep_path(frame.timestamp, view)
        if view.to_latlon is None or not detected:
            return
        for t in tracks:
            if t.state != TrackState.CONFIRMED or t.last_seen != frame.timestamp:
                continue
            where = self._ground_point(t, frame, view)
            if where is not None:
                trail = self.trails.setdefault(t.id, [])
                trail.append([round(frame.timestamp, 3), *where])
                if len(trail) > MAX_TRAIL:  # a track that lasts: every other point kept
                    trail[:] = trail[::2] if len(trail) % 2 else [*trail[:-1:2], trail[-1]]
                self.placed_tracks.add(t.id)

    def _keep_path(self, ts: float, view: FrameView) -> None:
        if view.position is None or self.path_every is None:
            return
        if self._last_path is not None and ts - self._last_path < self.path_every:
            return
        self._last_path = ts
        corners = None
        if view.footprint is not None:
            corners = [list(_round(c)) if c is not None else None for c in view.footprint]
        lat, lon = _round(view.position)
        self.pending.append(PathPoint(ts, lat, lon, view.alt, view.heading, corners))
        self.path_points += 1

    def _ground_point(self, t: Track, frame: Frame, view: FrameView) -> tuple[float, float] | None:
        assert view.to_latlon is not None
        x, y = t.box.bottom_center
        if frame.width <= 0 or frame.height <= 0:
            return None
        try:
            where = view.to_latlon(x / frame.width, min(y, frame.height) / frame.height)
        except GeometryError:
            return None
        return _round(where) if where is not None else None

    def place(self, events: Sequence[Event]) -> list[Event]:
        """The events with their place (attributes lat, lon) where it is known: seen on the
        frame just observed, else the nearest point of their track's trail."""
        return [self._placed(ev) for ev in events]

    def _placed(self, ev: Event) -> Event:
        where: tuple[float, float] | None = None
        frame, view = self._frame, self._view
        if (
            ev.box is not None and frame is not None and view is not None
            and view.to_latlon is not None and ev.time == frame.timestamp
        ):  # fmt: skip
            track = Track(0, "", ev.box, 0.0, TrackState.CONFIRMED, ev.time, ev.time)
            where = self._ground_point(track, frame, view)
        if where is None and ev.track_id is not None and self.trails.get(ev.track_id):
            trail = self.trails[ev.track_id]
            nearest = min(trail, key=lambda p: abs(p[0] - ev.time))
            where = (nearest[1], nearest[2])
        if where is None:
            return ev
        return replace(ev, attributes={**ev.attributes, "lat": where[0], "lon": where[1]})

    def take_trails(self, ended: Sequence[Track]) -> dict[int, list[list[float]]]:
        """The trails of tracks that ended (forgotten here)."""
        return {t.id: trail for t in ended if (trail := self.trails.pop(t.id, None))}

    def take_path(self) -> list[PathPoint]:
        out, self.pending = self.pending, []
        return out
