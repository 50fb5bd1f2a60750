"""A video file as a camera, read with PyAV."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video
import numpy as np

from vigil.domain import CameraHealth, Frame
from vigil.errors import SourceError
from vigil.sources.telemetry.load import load_track

log = logging.getLogger(__name__)

# How many undecodable packets in a row mean "the rest of the file is damaged": single bad
# packets are skipped, but a long run of them only burns time and floods the log.
_MAX_BAD_PACKETS_IN_A_ROW = 50


def _reason(exc: BaseException) -> str:
    """FFmpeg's short explanation, without the errno and file name PyAV adds around it."""
    strerror = getattr(exc, "strerror", None)
    return str(strerror) if strerror else str(exc) or type(exc).__name__


class FileSource:
    """Frames of one video file, in order.

    `realtime` paces frames to their timestamps (a file pretending to be a live camera);
    `loop` starts again at the end, with `index` and `timestamp` continuing to increase.
    Construction opens the file once, so a missing or unreadable file fails early with a
    SourceError rather than at the first frame. Frames carry the telemetry at their time
    (`Frame.telemetry`) when the file has it (GoPro GPMF, a KLV data stream) or `telemetry`
    names a sidecar; unreadable telemetry is a warning, and the video is read without it.
    """

    def __init__(
        self,
        camera_id: str,
        path: str | Path,
        *,
        realtime: bool = False,
        loop: bool = False,
        telemetry: str | Path | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.path = Path(path)
        self.realtime = realtime
        self.loop = loop
        self._closed = threading.Event()
        self._last_frame_time: float | None = None
        self._error: str | None = None
        self._fps, self._total_frames = self._probe()
        # `telemetry`: a sidecar (DJI .SRT, raw KLV); without one, what the file carries.
        self.telemetry = load_track(camera_id, self.path, telemetry)

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def total_frames(self) -> int | None:
        # A looping file never ends, so it has no frame count to promise.
        return None if self.loop else self._total_frames

    def health(self) -> CameraHealth:
        online = not self._closed.is_set() and self._error is None
        return CameraHealth(
            camera_id=self.camera_id,
            online=online,
            last_frame_time=self._last_frame_time,
            error=self._error,
        )

    def close(self) -> None:
        # Only a flag: the container belongs to the thread iterating frames(), and closing
        # it from here while that thread decodes would race inside FFmpeg.
        self._closed.set()

    def frames(self) -> Iterator[Frame]:
        index = 0
        offset = 0.0  # media time added on each loop so timestamps keep increasing
        started = time.monotonic()
        while not self._closed.is_set():
            last_ts: float | None = None
            # closing(): leaving early must close the file now, not whenever GC runs.
            with contextlib.closing(self._decode_once()) as decoded:
                for ts, image in decoded:
                    if self._closed.is_set():
                        return
                    timestamp = offset + ts
                    if self.realtime:
                        # Event.wait, not sleep: close() from another thread ends the wait.
                        delay = started + timestamp - time.monotonic()
                        if delay > 0 and self._closed.wait(delay):
                            return
                    self._last_frame_time = time.time()
                    where = self.telemetry.at(ts) if self.telemetry else None
                    if where is not None:
                        where = replace(where, t=timestamp)
                    yield Frame(
                        self.camera_id, index, timestamp, image, self._last_frame_time, where
                    )
                    index += 1
                    last_ts = timestamp
            if not self.loop or last_ts is None:
                return  # a file with no decodable frame would otherwise loop forever
            offset = last_ts + 1.0 / (self._fps or 25.0)

    # -- internals -----------------------------------------------------------------------

    def _open(self) -> av.container.InputContainer:
        if not self.path.exists():
            raise SourceError(f"video file '{self.path}' does not exist; check the path")
        if self.path.is_dir():
            raise SourceError(f"'{self.path}' is a folder, not a video file; check the path")
        try:
            return av.open(str(self.path), mode="r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise SourceError(
                f"'{self.path}' is not a video file PyAV can read ({_reason(exc)}); "
                "check that it is a complete video file (e.g. .mp4, .mkv, .avi)"
            ) from exc

    def _video_stream(self, container: av.container.InputContainer) -> av.video.VideoStream:
        if not container.streams.video:
            container.close()
            raise SourceError(
                f"'{self.path}' has no video stream (only "
                f"{', '.join(s.type for s in container.streams) or 'no streams'}); "
                "choose a file that contains video"
            )
        return container.streams.video[0]

    def _probe(self) -> tuple[float | None, int | None]:
        container = self._open()
        try:
            stream = self._video_stream(container)
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else None
            total = int(stream.frames) if stream.frames else None
            if total is None and fps:
                # Some containers (MKV, raw streams) carry no frame count: estimate it.
                if stream.duration is not None and stream.time_base is not None:
                    seconds = float(stream.duration * stream.time_base)
                elif container.duration is not None:
                    seconds = container.duration / av.time_base
                else:
                    seconds = 0.0
                total = round(seconds * fps) or None
            return fps, total
        finally:
            container.close()

    def _decode_once(self) -> Generator[tuple[float, np.ndarray], None, None]:
        """One pass over the file: (seconds from the first frame, BGR image) pairs.

        Damage is not an error for the caller: bad packets are skipped, and a file that
        cannot be read further ends the pass with a warning (the frames so far are good).
        """
        container = self._open()
        try:
            stream = self._video_stream(container)
            stream.thread_type = "AUTO"
            time_base: Fraction | None = stream.time_base
            first_pts: int | None = None
            count = 0
            last_ts = -1.0
            bad_in_a_row = 0
            try:
                for packet in container.demux(stream):
                    try:
                        decoded = packet.decode()
                    except av.FFmpegError as exc:
                        bad_in_a_row += 1
                        log.debug("%s: skipped an undecodable packet (%s)", self.path, exc)
                        if bad_in_a_row >= _MAX_BAD_PACKETS_IN_A_ROW:
                            self._warn_damaged(count, f"{bad_in_a_row} bad packets in a row")
                            return
                        continue
                    bad_in_a_row = 0
                    for frame in decoded:
                        if frame.pts is not None and time_base is not None:
                            if first_pts is None:
                                first_pts = frame.pts
                            ts = float((frame.pts - first_pts) * time_base)
                        else:
                            ts = count / (self._fps or 25.0)
                        # Broken or missing pts must not make time run backwards downstream.
                        ts = max(ts, last_ts + 1e-6)
                        last_ts = ts
                        count += 1
                        yield ts, frame.to_ndarray(format="bgr24")
            except (av.FFmpegError, OSError, EOFError) as exc:
                self._warn_damaged(count, _reason(exc))
                return
            # A cut-off file often just ends early, without any error from FFmpeg. The slack
            # allows for frame counts that were estimated from the duration.
            expected = self._total_frames
            if expected and count < expected - max(2, expected // 100):
                self._warn_damaged(count, f"the file ends early: {expected} frames were expected")
        finally:
            container.close()

    def _warn_damaged(self, good_frames: int, reason: str) -> None:
        self._error = f"'{self.path}' cannot be read past frame {good_frames} ({reason})"
        log.warning(
            "camera '%s': %s; stopped there. Copy or re-encode the file again to read all of it.",
            self.camera_id,
            self._error,
        )
