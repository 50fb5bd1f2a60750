"""Fire watch over a video file: the product's own pipeline (CameraPipeline with the fire
detector and the fire analyzer) on an ad-hoc camera, or on a camera of vigil.yml.

`vigil fire VIDEO` and bench/fire.py both run through `watch_video`, so what the benchmark
measures is what the command does.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.config import CameraConfig, VigilConfig
from vigil.domain import Event, EventType, Frame
from vigil.errors import SourceError
from vigil.pipeline.camera import CameraPipeline, FrameResult, detector_for_camera
from vigil.sources import open_source
from vigil.vision.base import Detector

FIRE_EVENTS = frozenset({EventType.FIRE, EventType.SMOKE})
VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".avi", ".webm", ".ts", ".m4v", ".mpg"})


def fire_camera(
    video: str,
    sensitivity: str = "normal",
    detector: dict[str, Any] | None = None,
    camera_id: str | None = None,
) -> CameraConfig:
    """An ad-hoc fire-watch camera for `video`: the fire detector (or `detector`, e.g. an
    ONNX export with fire/smoke classes) and the fire analyzer at `sensitivity`."""
    return CameraConfig.model_validate(
        {
            "id": camera_id or (Path(video).stem[:64].replace(" ", "_") or "video"),
            "source": video,
            "detector": detector or {"kind": "fire"},
            "analyzers": [{"kind": "fire", "sensitivity": sensitivity}],
        }
    )


@dataclass(frozen=True, slots=True)
class Step:
    """One frame of a watched video and what the pipeline made of it."""

    frame: Frame
    result: FrameResult
    fps: float | None
    total_frames: int | None
    seconds: float  # wall time the pipeline took over this frame (decoding not counted)


def watch_video(
    video: str,
    camera: CameraConfig,
    config: VigilConfig | None = None,
    detector: Detector | None = None,
) -> Iterator[Step]:
    """Every frame of `video` through `camera`'s pipeline (with `detector` instead of the
    camera's own when given); the last Step carries the events raised when the source ends
    (its frame is the last frame)."""
    config = config or VigilConfig()
    source = open_source(camera.id, video)
    try:
        frames = source.frames()
        first = next(frames, None)
        if first is None:
            raise SourceError(f"'{video}' has no decodable video frames; check the file")
        detector = detector or detector_for_camera(config, camera)
        pipeline = CameraPipeline(camera, config, detector, (first.width, first.height))
        fps, total = source.fps, source.total_frames
        frame = first
        for frame in itertools.chain([first], frames):
            started = time.perf_counter()
            result = pipeline.process(frame)
            yield Step(frame, result, fps, total, time.perf_counter() - started)
        started = time.perf_counter()
        end = pipeline.finish(frame.timestamp)
        yield Step(frame, end, fps, total, time.perf_counter() - started)
    finally:
        source.close()


def fire_events(
    video: str,
    camera: CameraConfig,
    config: VigilConfig | None = None,
    progress: Callable[[Step], None] | None = None,
) -> list[Event]:
    """The fire and smoke events of a whole video."""
    events = []
    for step in watch_video(video, camera, config):
        events += [e for e in step.result.events if e.type in FIRE_EVENTS]
        if progress is not None:
            progress(step)
    return events
