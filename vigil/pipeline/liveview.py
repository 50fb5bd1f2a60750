"""A camera's newest analysed picture for the live view: kept as a private copy, encoded as
JPEG only when someone asks (and once per picture and style)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from vigil.config import CameraConfig
from vigil.domain import Track
from vigil.pipeline.annotate import Annotator
from vigil.pipeline.directory import LivePicture, LiveTracks


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """The newest analysed picture of a camera (a private copy) and what was tracked on it."""

    seq: int
    wallclock: float
    image: np.ndarray
    tracks: tuple[Track, ...]
    counts: Mapping[str, Mapping[str, int]]
    annotator: Annotator = field(repr=False)


class LiveView:
    """Written by the camera's analysis thread, read by any thread."""

    def __init__(self, camera: CameraConfig, jpeg_quality: int = 80) -> None:
        self.camera = camera
        self.jpeg_quality = jpeg_quality
        self._latest: LiveFrame | None = None
        self._seq = 0
        self._lock = threading.Lock()
        self._cache: tuple[int, bool, bytes] | None = None

    def keep(
        self,
        wallclock: float,
        image: np.ndarray,
        tracks: Sequence[Track],
        counts: Mapping[str, Mapping[str, int]],
    ) -> None:
        """The new newest picture; `image` must be the view's own copy."""
        self._seq += 1
        previous = self._latest
        if previous is not None and previous.image.shape == image.shape:
            annotator = previous.annotator
        else:
            h, w = image.shape[:2]
            annotator = Annotator(self.camera.zones_px(w, h), self.camera.lines_px(w, h))
        self._latest = LiveFrame(self._seq, wallclock, image, tuple(tracks), counts, annotator)

    def latest(self) -> LiveFrame | None:
        return self._latest

    def jpeg(self, boxes: bool = False) -> bytes | None:
        """The newest picture as JPEG, with tracks, zones and lines drawn when `boxes`."""
        frame = self._latest
        return None if frame is None else self._encode(frame, boxes)

    def picture(self, boxes: bool, known_seq: int = -1) -> LivePicture | None:
        frame = self._latest
        if frame is None or frame.seq == known_seq:
            return None
        height, width = frame.image.shape[:2]
        jpeg = self._encode(frame, boxes)
        return LivePicture(self.camera.id, frame.seq, frame.wallclock, width, height, jpeg)

    def tracks(self) -> LiveTracks | None:
        frame = self._latest
        if frame is None:
            return None
        height, width = frame.image.shape[:2]
        return LiveTracks(
            self.camera.id, frame.seq, frame.wallclock, width, height, frame.tracks, frame.counts
        )

    def _encode(self, frame: LiveFrame, boxes: bool) -> bytes:
        with self._lock:
            cached = self._cache
            if cached is not None and cached[:2] == (frame.seq, boxes):
                return cached[2]
        image = frame.image
        if boxes:
            image = frame.annotator.draw(image, frame.tracks, counts=frame.counts)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        data = buf.tobytes() if ok else b""
        with self._lock:
            self._cache = (frame.seq, boxes, data)
        return data
