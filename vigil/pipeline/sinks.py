"""Where a camera's results go. Each sink does one job:

- `StoreSink`: ended tracks (with their best snapshot) and events into the database and the
  media folder; returns each stored event with its row.
- `EventsFile`: events as JSON Lines. `AnnotatedVideo`: an MP4 with the tracks drawn.
- `EventPublisher`: stored events onto the bus (for the live feed and integrations).

The batch runner (`vigil analyze`) and the live runner wire the ones they need.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

import cv2
import numpy as np

from vigil.bus import Bus, Topic
from vigil.config import CameraConfig
from vigil.domain import Box, Event, EventType, Frame, Track
from vigil.errors import VigilError
from vigil.pipeline.annotate import Annotator, VideoWriter
from vigil.pipeline.camera import CameraPipeline, FrameResult
from vigil.store.db import Store
from vigil.store.records import event_record
from vigil.store.tables import EventRow

if TYPE_CHECKING:
    from vigil.ingest.geotag import GeoTagger

Saved = list[tuple[Event, EventRow]]


class Sink(Protocol):
    def on_frame(self, frame: Frame | None, result: FrameResult) -> None:
        """`frame` is None for the final result (end of source)."""

    def close(self) -> None: ...


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
        caption = f"{frame.timestamp:7.1f}s  {'DETECT' if result.detected else 'gated'}"
        self._writer.write(
            self._annotator.draw(
                frame.image,
                result.tracks,
                detected=result.detected,
                counts=self._pipeline.counts(),
                caption=caption,
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
        redact: Callable[[np.ndarray], np.ndarray] | None = None,
        geo: GeoTagger | None = None,
    ) -> None:
        self.store, self.data_dir, self.camera_id, self.origin = store, data_dir, camera_id, origin
        self.geo = geo  # places tracks and events on the map where the camera can
        self.event_snapshots = event_snapshots
        # With `redact` (faces blurred on a camera that looks for faces), a track's best crop
        # is kept as pixels and redacted once, when the track ends and its picture is written.
        self.redact = redact
        self._shots: dict[int, bytes | np.ndarray] = {}

    def on_frame(self, frame: Frame | None, result: FrameResult) -> None:
        self.save(frame, result)

    def save(self, frame: Frame | None, result: FrameResult) -> Saved:
        """Store what this frame ended or raised; returns each event with its stored row."""
        if frame is not None and self.geo is not None:
            self.geo.observe(frame, result.tracks, result.detected)
        if frame is not None:
            for t in result.improved:
                crop = snapshot_crop(frame.image, t.box)
                self._shots[t.id] = crop.copy() if self.redact is not None else jpeg(crop)
        if not result.ended and not result.events:
            return []
        tracks = [(t, self._write_snapshot(t)) for t in result.ended]
        by_track = {t.id: path for t, path in tracks}
        events = self.geo.place(result.events) if self.geo is not None else result.events
        trails = self.geo.take_trails(result.ended) if self.geo is not None else None
        shots = [
            by_track.get(ev.track_id)
            if ev.type == EventType.OBJECT and ev.track_id is not None
            else self._event_snapshot(frame, ev)
            for ev in events
        ]
        rows = self.store.save_results(self.camera_id, self.origin, tracks, events, shots, trails)
        return list(zip(events, rows, strict=True))

    def _path(self, media_time: float, name: str) -> tuple[Path, str]:
        day = time.strftime("%Y%m%d", time.gmtime(self.origin + media_time))
        rel = Path("snapshots") / self.camera_id / day / name
        path = self.data_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, rel.as_posix()

    def _write_snapshot(self, track: Track) -> str | None:
        shot = self._shots.pop(track.id, None)
        if shot is None:
            return None
        if isinstance(shot, np.ndarray):
            shot = jpeg(self.redact(shot) if self.redact is not None else shot)
        path, rel = self._path(track.first_seen, f"{int(self.origin)}-{track.id}.jpg")
        path.write_bytes(shot)
        return rel

    def _event_snapshot(self, frame: Frame | None, event: Event) -> str | None:
        own = event.picture is not None and event.picture.size > 0
        if not own and (not self.event_snapshots or frame is None or event.box is None):
            return None
        name = f"{int(self.origin)}-{event.track_id}-{event.type}-{int(event.time * 1000)}.jpg"
        path, rel = self._path(event.time, name)
        if own:
            assert event.picture is not None
            ok, buf = cv2.imencode(".jpg", event.picture, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                return None
            path.write_bytes(buf.tobytes())
        else:
            assert frame is not None and event.box is not None
            crop = snapshot_crop(frame.image, event.box)
            path.write_bytes(jpeg(self.redact(crop) if self.redact is not None else crop))
        return rel

    def close(self) -> None:
        self._shots.clear()


def face_blur(camera: CameraConfig) -> Callable[[np.ndarray], np.ndarray] | None:
    """The redaction for pictures kept of `camera`: faces blurred where it looks for faces."""
    if not camera.blurs_faces:
        return None
    from vigil.vision.faces.redact import FaceBlur

    return FaceBlur()


def snapshot_crop(image: np.ndarray, box: Box) -> np.ndarray:
    """The box (grown by a tenth) cut from the image; the whole image if that is empty."""
    h, w = image.shape[:2]
    box = box.expand(0.1).clip(w, h)
    crop = image[int(box.y) : int(box.y2), int(box.x) : int(box.x2)]
    return crop if crop.size else image


def jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else b""


class EventPublisher:
    """Stored events onto the bus, each as its REST resource plus `captured_at` (UNIX time
    the frame was captured) and `published_at` (when it was handed to the bus)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    def publish(self, saved: Saved, captured: float) -> None:
        for _event, row in saved:
            self.bus.publish(
                {
                    "topic": str(Topic.EVENT),
                    **event_record(row),
                    "captured_at": captured,
                    "published_at": time.time(),
                }
            )
