"""Ingest of a body-camera or drone clip: analysed like a camera, with its telemetry, its path,
tracks and events placed where they were seen, linked to the field unit that filmed it.

The clip's time: media time 0 is the GPS clock's time where the telemetry carries one (a
GoPro's GPSU); otherwise the clip is taken to end when it is ingested. A clip linked to a unit
adds the clip's GPS positions (one a second, source `clip`) to that unit's history, so it
shows on the unit's timeline and trail; positions older than the retention of positions are
not added (a note says so).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av

from vigil.analyzers.base import AnalyzerServices
from vigil.config import CameraConfig, VigilConfig
from vigil.domain import ClipStatus, Frame, Position, Telemetry
from vigil.errors import SourceError, VigilError
from vigil.incidents.units import UnitError, Units
from vigil.ingest.clips import Clips
from vigil.ingest.geotag import FixedPlacer, GeoTagger, MovingPlacer, PathPoint, Placer
from vigil.ingest.mount import MountConfig
from vigil.logtext import escape, shown
from vigil.pipeline.analyze import AnalysisSummary, run_analysis
from vigil.pipeline.camera import CameraPipeline, FrameResult, detector_for_camera
from vigil.pipeline.sinks import StoreSink, face_blur
from vigil.sources.file import FileSource
from vigil.sources.telemetry import TelemetryError, TelemetryTrack, read_telemetry
from vigil.store.db import Store
from vigil.store.tables import ClipRow, UnitRow

UNIT_POSITION_EVERY_S = 1.0
PATH_BATCH = 200
# Containers a clip comes in (FFmpeg's names); a picture (PNG, JPEG) opens as a "video" too.
VIDEO_CONTAINERS = frozenset({"mov", "mp4", "matroska", "webm", "mpegts", "avi", "flv", "mpeg"})


@dataclass(frozen=True, slots=True)
class IngestRequest:
    video: Path
    actor: str
    filename: str | None = None  # as the user named it (an upload's stored file differs)
    camera_id: str | None = None
    unit: str | None = None  # callsign or id
    telemetry: Path | None = None  # a sidecar (DJI .SRT, raw KLV)
    hfov: float | None = None
    height: float | None = None
    ground_alt: float | None = None


@dataclass
class IngestResult:
    clip: ClipRow
    summary: AnalysisSummary
    notes: list[str] = field(default_factory=list)
    path_points: int = 0
    placed: int = 0
    unit_positions: int = 0


@dataclass(frozen=True, slots=True)
class VideoInfo:
    duration: float | None
    width: int
    height: int


def check_video(path: Path, shown_name: str | None = None) -> VideoInfo:
    """What PyAV makes of the file: it must open and hold a video stream; SourceError if not."""
    name = escape(shown_name or path.name, 80)
    if not path.is_file():
        raise SourceError(f"no such file: '{escape(path, 200)}'; check the path")
    try:
        with av.open(str(path)) as container:
            formats = set(container.format.name.split(","))
            if not formats & VIDEO_CONTAINERS:
                raise SourceError(
                    f"'{name}' is a {escape(container.format.name, 40)} file, not a video clip; "
                    "give an MP4, MOV, MKV, AVI or MPEG-TS clip"
                )
            if not container.streams.video:
                raise SourceError(f"'{name}' holds no video stream; give a video clip")
            stream = container.streams.video[0]
            seconds = None
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / 1_000_000
            first = next(container.decode(stream), None)  # a picture, not only a header
            if first is None:
                raise SourceError(f"'{name}' holds no decodable picture; give a video clip")
            return VideoInfo(seconds, first.width, first.height)
    except (av.FFmpegError, OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise SourceError(
            f"'{name}' is not a video that can be read ({escape(str(reason), 80)}); give an "
            "MP4, MOV, MKV or MPEG-TS clip"
        ) from None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:48] or "clip"


def camera_for(config: VigilConfig, req: IngestRequest, unit: UnitRow | None) -> CameraConfig:
    """The camera the clip is analysed as: a configured one by id, else one of its own
    (`unit-<callsign>` for a unit's clip, else the file's name)."""
    source = str(req.video)
    if req.camera_id and any(c.id == req.camera_id for c in config.cameras):
        return config.camera(req.camera_id).model_copy(update={"source": source})
    cam_id = req.camera_id or (
        f"unit-{_slug(unit.callsign)}"
        if unit is not None
        else _slug(Path(req.filename or req.video.name).stem)
    )
    return CameraConfig.model_validate({"id": cam_id, "source": source})


def load_samples(req: IngestRequest) -> tuple[list[Telemetry], list[str]]:
    """The clip's telemetry and what was wrong with it (never raised: the video still counts)."""
    problems: list[str] = []
    try:
        samples = list(read_telemetry(req.video, req.telemetry, on_problem=problems.append))
    except TelemetryError as exc:
        return [], [f"{shown(exc)}; the clip is analysed without positions"]
    notes = []
    if problems:
        notes.append(f"{len(problems)} damaged telemetry samples skipped (first: {problems[0]})")
    if not any(s.lat is not None and s.lon is not None for s in samples):
        notes.append("its telemetry holds no position; the clip is analysed without positions")
    return samples, notes


def _origin(samples: list[Telemetry], duration: float | None) -> float:
    for s in samples:
        if s.wallclock is not None and s.wallclock > 0:
            return s.wallclock - s.t
    return time.time() - (duration or 0.0)


class PathSink:
    """The camera's path (GeoTagger's points) into camera_positions, in batches."""

    def __init__(self, clips: Clips, clip_id: int, camera_id: str, origin: float, geo: GeoTagger):
        self.clips, self.clip_id, self.camera_id, self.origin = clips, clip_id, camera_id, origin
        self.geo = geo
        self.kept: list[PathPoint] = []  # thinned to a second apart: the unit's positions

    def on_frame(self, frame: Frame | None, result: FrameResult) -> None:
        if frame is None or len(self.geo.pending) >= PATH_BATCH:
            self._flush()

    def _flush(self) -> None:
        points = self.geo.take_path()
        for p in points:
            if not self.kept or p.media_time - self.kept[-1].media_time >= UNIT_POSITION_EVERY_S:
                self.kept.append(p)
        self.clips.add_path(self.clip_id, self.camera_id, self.origin, points)

    def close(self) -> None:
        self._flush()


def _placer(samples: list[Telemetry], cam: CameraConfig, req: IngestRequest) -> Placer | None:
    if samples:
        mount = cam.mount or MountConfig()
        return MovingPlacer(
            hfov=req.hfov if req.hfov is not None else mount.hfov,
            ground_alt=req.ground_alt if req.ground_alt is not None else mount.ground_alt,
            height=req.height if req.height is not None else mount.height,
        )
    if cam.ground is not None:
        return FixedPlacer(cam.ground.ground_map())
    return None


def _unit_positions(
    units: Units, unit: UnitRow, points: list[PathPoint], origin: float
) -> tuple[int, str | None]:
    positions = [
        Position(time=origin + p.media_time, lat=p.lat, lon=p.lon, heading=p.heading)
        for p in points
    ]
    stored = 0
    try:
        for i in range(0, len(positions), 500):
            stored += units.report(unit.id, positions[i : i + 500], "clip")[1]
    except UnitError as exc:
        return (
            stored,
            f"the clip's positions were not added to unit {escape(unit.callsign)}: {shown(exc)}",
        )
    return stored, None


def ingest(
    store: Store,
    data_dir: Path,
    config: VigilConfig,
    req: IngestRequest,
    *,
    units: Units | None = None,
    clip_id: int | None = None,
    progress: Callable[[Frame], None] | None = None,
) -> IngestResult:
    """Analyse one clip (see the module's note). A clip row is made unless `clip_id` names
    one (an upload's); it ends `done` or `failed` with the error."""
    units = units or Units(store, retention_days=config.retention.positions)
    clips = Clips(store)
    info = check_video(req.video, req.filename)
    unit = units.find(req.unit) if req.unit else None
    cam = camera_for(config, req, unit)
    if clip_id is None:
        clip_id = clips.create(
            cam.id, req.filename or req.video.name, req.actor,
            size=req.video.stat().st_size, unit_id=unit.id if unit else None,
        ).id  # fmt: skip
    clips.update(clip_id, status=str(ClipStatus.RUNNING), camera_id=cam.id)
    try:
        job = _Job(store, data_dir, config, req, cam, clips, clip_id)
        return _analyse(job, info, unit, units, progress)
    except VigilError as exc:
        clips.update(
            clip_id, status=str(ClipStatus.FAILED), error=shown(exc), finished_at=datetime.now(UTC)
        )
        raise
    except Exception as exc:
        clips.update(
            clip_id, status=str(ClipStatus.FAILED), finished_at=datetime.now(UTC),
            error=f"the analysis stopped: {type(exc).__name__}",
        )  # fmt: skip
        raise


@dataclass
class _Job:
    """One clip's analysis under way: what `ingest` worked out, what the sinks gather."""

    store: Store
    data_dir: Path
    config: VigilConfig
    req: IngestRequest
    cam: CameraConfig
    clips: Clips
    clip_id: int
    origin: float = 0.0
    geo: GeoTagger | None = None
    path: PathSink | None = None


def _analyse(
    job: _Job, info: VideoInfo, unit: UnitRow | None, units: Units,
    progress: Callable[[Frame], None] | None,
) -> IngestResult:  # fmt: skip
    samples, notes = load_samples(job.req)
    job.origin = _origin(samples, info.duration)
    job.clips.update(
        job.clip_id, start=datetime.fromtimestamp(job.origin, UTC), duration=info.duration,
        telemetry=samples[0].source if samples else None,
    )  # fmt: skip
    placer = _placer(samples, job.cam, job.req)
    summary = _run(job, samples, placer, progress)
    result = IngestResult(job.clips.get(job.clip_id), summary, notes)
    tracks = sum(summary.tracks_by_label.values())
    if job.geo is not None:
        result.path_points, result.placed = job.geo.path_points, len(job.geo.placed_tracks)
        if result.placed < tracks:
            why = f" (some frames: {placer.problem})" if placer and placer.problem else ""
            notes.append(
                f"{tracks - result.placed} of {tracks} tracks not placed on the map: their ground "
                f"point was never below the horizon in a view that could be worked out{why}"
            )
    elif not samples:
        notes.append(
            "no positions: the clip carries no telemetry and its camera has no ground: section, "
            "so nothing it saw is placed on the map"
        )
    if unit is not None and job.path is not None and job.path.kept:
        result.unit_positions, problem = _unit_positions(units, unit, job.path.kept, job.origin)
        if problem:
            notes.append(problem)
    job.clips.update(
        job.clip_id, status=str(ClipStatus.DONE), frames=summary.frames, tracks=tracks,
        placed=result.placed, note="; ".join(notes) or None, finished_at=datetime.now(UTC),
        duration=summary.media_seconds or info.duration,
    )  # fmt: skip
    result.clip = job.clips.get(job.clip_id)
    return result


def _run(
    job: _Job, samples: list[Telemetry], placer: Placer | None,
    progress: Callable[[Frame], None] | None,
) -> AnalysisSummary:  # fmt: skip
    """The clip through the camera's pipeline into the store, placed where it can be."""
    cam, store = job.cam, job.store
    source = FileSource(cam.id, job.req.video)
    source.telemetry = TelemetryTrack(samples) if samples else None
    frames = source.frames()
    try:
        first = next(frames)
    except StopIteration:
        name = escape(job.req.filename or job.req.video.name, 80)
        raise SourceError(f"'{name}' has no decodable video frames") from None
    job.geo = GeoTagger(placer) if placer is not None else None
    # A body camera's or drone's clip moves even without telemetry; a fixed camera's does not.
    pipeline = CameraPipeline(
        cam, job.config, detector_for_camera(job.config, cam), (first.width, first.height),
        services=AnalyzerServices(store), moving_camera=cam.ground is None,
    )  # fmt: skip
    store.save_camera(cam.to_camera())
    sinks: list[Any] = [
        StoreSink(store, job.data_dir, cam.id, job.origin, redact=face_blur(cam), geo=job.geo)
    ]
    if job.geo is not None:
        job.path = PathSink(job.clips, job.clip_id, cam.id, job.origin, job.geo)
        sinks.append(job.path)
    try:
        return run_analysis(itertools.chain([first], frames), pipeline, source.fps, sinks, progress)
    finally:
        source.close()
