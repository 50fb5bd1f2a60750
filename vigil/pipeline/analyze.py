"""Running one camera's pipeline over a whole source, handing each result to sinks."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from vigil.domain import EventType, Frame
from vigil.pipeline.camera import CameraPipeline, FrameResult
from vigil.pipeline.sinks import Sink


@dataclass
class AnalysisSummary:
    camera_id: str
    frames: int = 0
    detector_calls: int = 0
    media_seconds: float = 0.0
    wall_seconds: float = 0.0
    tracks_by_label: Counter[str] = field(default_factory=Counter)
    events_by_type: Counter[str] = field(default_factory=Counter)
    line_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def realtime_factor(self) -> float:
        return self.media_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def detect_fraction(self) -> float:
        return self.detector_calls / self.frames if self.frames else 0.0


def run_analysis(
    frames: Iterable[Frame],
    pipeline: CameraPipeline,
    fps: float | None,
    sinks: Sequence[Sink] = (),
    progress: Callable[[Frame], None] | None = None,
) -> AnalysisSummary:
    """Feed every frame through `pipeline`, hand each result to the sinks, then end all tracks."""
    summary = AnalysisSummary(pipeline.camera.id)
    started = time.perf_counter()
    last_ts = 0.0

    def handle(frame: Frame | None, result: FrameResult) -> None:
        for ev in result.events:
            summary.events_by_type[str(ev.type)] += 1
            if ev.type == EventType.OBJECT and ev.label:
                summary.tracks_by_label[ev.label] += 1
        for sink in sinks:
            sink.on_frame(frame, result)

    try:
        for frame in frames:
            handle(frame, pipeline.process(frame))
            last_ts = frame.timestamp
            if progress:
                progress(frame)
        end = last_ts + (1.0 / fps if fps else 0.0)
        handle(None, pipeline.finish(end))
        summary.media_seconds = end
    finally:
        for sink in sinks:
            sink.close()
    summary.wall_seconds = time.perf_counter() - started
    summary.frames = pipeline.stats.frames
    summary.detector_calls = pipeline.stats.detector_calls
    summary.line_counts = {name: dict(c) for name, c in pipeline.counts().items()}
    return summary
