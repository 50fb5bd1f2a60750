"""Running one camera's pipeline over a whole source, and where the results go (sinks)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import cv2
import numpy as np

from vigil.domain import Box, Event, EventType, Frame, Track
from vigil.errors import VigilError
from vigil.pipeline.annotate import Annotator, VideoWriter
from vigil.pipeline.camera import CameraPipeline, FrameResult
from vigil.store.db import Store
from vigil.store.tables import EventRow


class Sink(Protocol):
    def on_frame(self, frame: Frame | None, result: FrameResult) -> None:
        """`frame` is None for the final result (end of source)."""

    def close(self) -> None: ...


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


class EventsFile:
    """JSON Lines: one event per line, flushed per frame so a crash loses nothing written."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh: IO[str] = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise VigilError(
                f"cannot write events to '{path}' ({exc.strerror}); choose a writable path"
            ) from None

    def on_frame(self, frame: Frame | None, result: FrameResult) -> None:
        if result.events:
            for ev in result.events:
                self._fh.write(json.dumps(ev.to_json()) + "\n")
            self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class AnnotatedVideo:
    def __init__(
        self, path: Path, fps: float, size: tuple[int, int], pipeline: CameraPipeline
    ) -> None:
        self._pipeline = pipeline
        width, height = size
        self._annotator = Annotator(
            pipeline.camera.zones_px(width, height), pipeline.camera.lines_px(width, height)
        )
        self._writer = VideoWriter(path, fps, size)

    def on_frame(self, frame: Frame | None, result: FrameResult) -> None:
        if frame is None:
            return
        counts = {c.line.name: c.counts for c in self._pipeline.analytics.lines}
        caption = f"{frame.timestamp:7.1f}s  {'DETECT' if result.detected else 'gated'}"
        self._writer.write(
            self._annotator.draw(
                frame.image, result.tracks, detected=result.detected, counts=counts, caption=caption
            )
        )

    def close(self) -> None:
        self._writer.close()


class StoreSink:
    """Ended tracks (with their best snapshot) and events into the database and media folder.

    With `event_snapshots`, each event seen on a frame also gets a crop of its object from
    that frame (the live runner shows it next to the event as it happens).
    """

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        camera_id: str,
        origin: float,
        *,
        event_snapshots: bool = False,
    ) -> None:
        self.store, self.data_dir, self.camera_id, self.origin = store, data_dir, camera_id, origin
        self.event_snapshots = event_snapshots
        self._shots: dict[int, bytes] = {}

    def on_frame(self, frame: Frame | None, result: FrameResult) -> None:
        self.save(frame, result)

    def save(self, frame: Frame | None, result: FrameResult) -> list[tuple[Event, EventRow]]:
        """Store what this frame ended or raised; returns each event with its stored row."""
        if frame is not None:
            for t in result.improved:
                self._shots[t.id] = _snapshot(frame.image, t.box)
        if not result.ended and not result.events:
            return []
        tracks = [(t, self._write_snapshot(t)) for t in result.ended]
        by_track = {t.id: path for t, path in tracks}
        shots = [
            by_track.get(ev.track_id)
            if ev.type == EventType.OBJECT and ev.track_id is not None
            else self._event_snapshot(frame, ev)
            for ev in result.events
        ]
        rows = self.store.save_results(self.camera_id, self.origin, tracks, result.events, shots)
        return list(zip(result.events, rows, strict=True))

    def _path(self, media_time: float, name: str) -> tuple[Path, str]:
        day = time.strftime("%Y%m%d", time.gmtime(self.origin + media_time))
        rel = Path("snapshots") / self.camera_id / day / name
        path = self.data_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, rel.as_posix()

    def _write_snapshot(self, track: Track) -> str | None:
        jpeg = self._shots.pop(track.id, None)
        if jpeg is None:
            return None
        path, rel = self._path(track.first_seen, f"{int(self.origin)}-{track.id}.jpg")
        path.write_bytes(jpeg)
        return rel

    def _event_snapshot(self, frame: Frame | None, event: Event) -> str | None:
        if not self.event_snapshots or frame is None or event.box is None:
            return None
        name = f"{int(self.origin)}-{event.track_id}-{event.type}-{int(event.time * 1000)}.jpg"
        path, rel = self._path(event.time, name)
        path.write_bytes(_snapshot(frame.image, event.box))
        return rel

    def close(self) -> None:
        self._shots.clear()


def _snapshot(image: np.ndarray, box: Box) -> bytes:
    h, w = image.shape[:2]
    box = box.expand(0.1).clip(w, h)
    crop = image[int(box.y) : int(box.y2), int(box.x) : int(box.x2)]
    ok, buf = cv2.imencode(".jpg", crop if crop.size else image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else b""


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
    summary.line_counts = {c.line.name: dict(c.counts) for c in pipeline.analytics.lines}
    return summary
