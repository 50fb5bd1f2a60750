"""CameraPipeline: one camera's Frame -> MotionGate -> Detector -> Tracker -> Analyzers -> Events.

Plain function calls on small values; no threads, no I/O. Runners (analyze a file, serve live
cameras) feed frames in and decide where the results go.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from vigil.analyzers.base import Analyzer, AnalyzerServices, Counting, TrackedFrame, track_event
from vigil.analyzers.registry import build_analyzers
from vigil.config import CameraConfig, VigilConfig
from vigil.domain import Box, Detection, Event, EventType, Frame, Track, TrackState
from vigil.tracking.cmc import CameraMotion
from vigil.tracking.tracker import Tracker, TrackerParams
from vigil.vision.base import Detector
from vigil.vision.filters import ObjectFilter
from vigil.vision.motion import MotionGate
from vigil.vision.registry import load_detector

# A motion region mostly inside a live track's box is that object shifting its weight, not
# something new: it does not wake the detector (the still-object re-check covers it).
EXPLAINED_FRACTION = 0.7
TRACK_MARGIN = 0.15
# Box heights per second above which a tracked object counts as moving (walking is ~0.8).
MOVING_SPEED = 0.2


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What the pipeline made of one frame."""

    index: int
    timestamp: float
    detected: bool
    motion: list[Box]
    detections: list[Detection]
    tracks: list[Track]
    ended: list[Track]
    events: list[Event]
    improved: list[Track] = field(default_factory=list)  # tracks seen at their best on this frame


@dataclass(slots=True)
class _Best:
    score: float
    box: Box


@dataclass
class PipelineStats:
    frames: int = 0
    detector_calls: int = 0
    motion_frames: int = 0
    awake_calls: int = 0  # detector calls while woken from outside (`wake`)


class CameraPipeline:
    """Runs one camera's analysis. Feed every decoded frame to `process`, then call `finish`."""

    def __init__(
        self,
        camera: CameraConfig,
        config: VigilConfig,
        detector: Detector,
        frame_size: tuple[int, int],
        *,
        motion_gating: bool = True,
        services: AnalyzerServices | None = None,
        moving_camera: bool = False,
    ) -> None:
        self.camera = camera
        self.detector = detector
        self.motion_gating = motion_gating
        # A detector with its own background model must see every frame.
        self.every_frame = detector.needs_every_frame
        width, height = frame_size
        motion = config.motion_for(camera)
        objects = config.objects_for(camera)
        self.detect_interval = 1.0 / camera.detect.fps
        self.still_recheck = camera.detect.still_recheck
        masks = [[(x * width, y * height) for x, y in mask] for mask in camera.motion_masks]
        self.gate = MotionGate(
            frame_size,
            width=motion.width,
            threshold=motion.threshold,
            min_area=motion.min_area,
            learning_rate=motion.learning_rate,
            masks=masks,
        )
        self.filter = ObjectFilter(
            labels=kept_labels(objects.labels, detector, explicit=camera.objects is not None),
            min_score=0.0,
            min_area=objects.min_area * width * height,
        )
        tracking = config.tracker_for(camera)
        self.tracker = Tracker(
            TrackerParams(
                high_score=objects.min_score,
                new_track_score=min(1.0, objects.min_score + 0.1),
                lost_timeout=tracking.lost_timeout,
            )
        )
        # Camera-motion compensation: "on", or "auto" for a camera its runner knows to move
        # (`moving_camera`: a body camera's or drone's clip) or once a frame carries telemetry.
        self.motion_compensation = tracking.motion_compensation
        self.moving_camera = moving_camera
        self.camera_motion: CameraMotion | None = None
        self._frame_size = frame_size
        self.analyzers: list[Analyzer] = build_analyzers(
            camera, frame_size, tracking.min_crossing_frames, services
        )
        self.stats = PipelineStats()
        self._last_detect: float | None = None
        self._live: list[Track] = []
        self._best: dict[int, _Best] = {}
        self._announced: set[int] = set()  # tracks whose `appear` event was raised
        self._motion_ref: dict[int, tuple[float, Box]] = {}
        self._moving: set[int] = set()
        self._wakes: deque[float] = deque()  # from any thread (`wake`); taken by the next frame
        self._awake_until: float | None = None  # media time the detector stays awake to

    def wake(self, seconds: float) -> None:
        """Run the detector (at detect.fps) for the next `seconds` of media whatever the
        motion gate sees: the camera itself reported motion (ONVIF). Any thread may call it."""
        self._wakes.append(seconds)

    # -- when to run the detector -------------------------------------------------------
    def _explained(self, region: Box) -> bool:
        for track in self._live:
            zone = track.box.expand(TRACK_MARGIN)
            ix = max(0.0, min(region.x2, zone.x2) - max(region.x, zone.x))
            iy = max(0.0, min(region.y2, zone.y2) - max(region.y, zone.y))
            if region.area > 0 and ix * iy / region.area >= EXPLAINED_FRACTION:
                return True
        return False

    def _should_detect(self, timestamp: float, motion: list[Box]) -> bool:
        if self._last_detect is None or self.every_frame:
            return True
        since = timestamp - self._last_detect
        if since < self.detect_interval - 1e-6:
            return False
        if not self.motion_gating:
            return True
        if self._awake_until is not None and timestamp <= self._awake_until:
            return True
        if self._moving or any(not self._explained(m) for m in motion):
            return True
        return bool(self._live) and since >= self.still_recheck - 1e-6

    def _update_motion_state(self, tracks: list[Track], timestamp: float) -> None:
        """Which tracks move: box-height-normalised speed since their previous detection."""
        self._moving.clear()
        for t in tracks:
            if t.state != TrackState.CONFIRMED:
                if t.state == TrackState.LOST:
                    continue
                self._moving.add(t.id)  # a young track: keep looking until it is settled
                continue
            ref = self._motion_ref.get(t.id)
            self._motion_ref[t.id] = (timestamp, t.box)
            if ref is None:
                self._moving.add(t.id)
                continue
            dt = timestamp - ref[0]
            if dt <= 0:
                continue
            (x0, y0), (x1, y1) = ref[1].center, t.box.center
            speed = math.hypot(x1 - x0, y1 - y0) / dt / max(t.box.h, 1.0)
            if speed > MOVING_SPEED:
                self._moving.add(t.id)

    # -- the stages ---------------------------------------------------------------------
    def process(self, frame: Frame) -> FrameResult:
        self.stats.frames += 1
        self._follow_camera(frame)
        while self._wakes:
            until = frame.timestamp + self._wakes.popleft()
            self._awake_until = max(self._awake_until or until, until)
        gated = self.motion_gating and not self.every_frame
        motion = self.gate.update(frame.image) if gated else []
        if motion:
            self.stats.motion_frames += 1
        if not self._should_detect(frame.timestamp, motion):
            return FrameResult(frame.index, frame.timestamp, False, motion, [], self._live, [], [])
        self.stats.detector_calls += 1
        if self._awake_until is not None and frame.timestamp <= self._awake_until:
            self.stats.awake_calls += 1
        self._last_detect = frame.timestamp
        detections = self.filter.apply(self.detector.detect(frame.image))
        if self.camera_motion is not None:
            self.tracker.compensate(self.camera_motion.take())
        update = self.tracker.update(detections, frame.timestamp)
        self._live = [
            t for t in update.tracks if t.state in (TrackState.CONFIRMED, TrackState.LOST)
        ]
        self._update_motion_state(update.tracks, frame.timestamp)
        if motion:
            seen = [d.box for d in detections] + [t.box for t in self._live]
            empty = [m for m in motion if not any(_overlaps(m, b) for b in seen)]
            self.gate.absorb(empty, frame.image)
        improved = self._note_best(update.tracks)
        events = self._appear_events(update.tracks, frame.timestamp)
        step = TrackedFrame(self.camera.id, frame.timestamp, update.tracks, update.ended, frame)
        events.extend(self._analyse(step))
        events.extend(self._object_events(update.ended))
        return FrameResult(
            frame.index,
            frame.timestamp,
            True,
            motion,
            detections,
            self._live,
            list(update.ended),
            events,
            improved,
        )

    def _follow_camera(self, frame: Frame) -> None:
        """A moving camera: the picture's motion since the previous frame, for the tracker.
        Every frame is looked at, not only those the detector sees, so that each step is small
        (a walker's sway moves the picture tens of pixels between detections)."""
        mode = self.motion_compensation
        if self.camera_motion is None and (
            mode == "on" or (mode == "auto" and (self.moving_camera or frame.telemetry is not None))
        ):
            self.camera_motion = CameraMotion(self._frame_size)
        if self.camera_motion is not None:
            self.camera_motion.observe(frame.image, [t.box for t in self._live])

    def finish(self, timestamp: float) -> FrameResult:
        """End of the source: every track ends now."""
        ended = self.tracker.finish(timestamp)
        self._live = []
        events = self._analyse(TrackedFrame(self.camera.id, timestamp, [], ended))
        events.extend(self._object_events(ended))
        return FrameResult(-1, timestamp, False, [], [], [], ended, events)

    def _analyse(self, step: TrackedFrame) -> list[Event]:
        events: list[Event] = []
        for analyzer in self.analyzers:
            events.extend(analyzer.update(step))
        return events

    def counts(self) -> dict[str, Mapping[str, int]]:
        """The counts of the counting analyzers (lines): name -> direction -> count."""
        return {a.name: dict(a.counts) for a in self.analyzers if isinstance(a, Counting)}

    def _note_best(self, tracks: list[Track]) -> list[Track]:
        improved = []
        for t in tracks:
            if t.state != TrackState.CONFIRMED:
                continue
            best = self._best.get(t.id)
            if best is None or t.score > best.score:
                self._best[t.id] = _Best(t.score, t.box)
                improved.append(t)
        return improved

    def _appear_events(self, tracks: list[Track], now: float) -> list[Event]:
        """One `appear` event per track, when it is confirmed: the object is news now, not
        when its track ends (that is the `object` event, with the best picture)."""
        events = []
        for t in tracks:
            if t.state != TrackState.CONFIRMED or t.id in self._announced:
                continue
            self._announced.add(t.id)
            events.append(track_event(EventType.APPEAR, self.camera.id, now, t, start=now, end=now))
        return events

    def _object_events(self, ended: list[Track]) -> list[Event]:
        events = []
        for t in ended:
            self._announced.discard(t.id)
            best = self._best.pop(t.id, None) or _Best(t.score, t.box)
            self._motion_ref.pop(t.id, None)
            events.append(
                Event(
                    EventType.OBJECT,
                    self.camera.id,
                    t.last_seen,
                    t.id,
                    t.label,
                    best.box,
                    best.score,
                    start=t.first_seen,
                    end=t.last_seen,
                )
            )
        return events


def detector_for_camera(config: VigilConfig, camera: CameraConfig) -> Detector:
    """Load the detector the configuration names for this camera, with its settings."""
    return load_detector(config.detector_for(camera), camera.detect.size)


def kept_labels(labels: Sequence[str], detector: Detector, *, explicit: bool) -> set[str]:
    """The labels a camera keeps: its own `objects.labels` when it names them; else the
    configured ones, unless the detector can say none of them (a fire, motion or face
    detector under the default person/car list): then every label the detector has."""
    if explicit or set(labels) & set(detector.labels):
        return set(labels)
    return set(detector.labels)


def _overlaps(a: Box, b: Box) -> bool:
    return a.x < b.x2 and b.x < a.x2 and a.y < b.y2 and b.y < a.y2
