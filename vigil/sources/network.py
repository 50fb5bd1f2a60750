"""A network camera (RTSP, HTTP, RTMP) read with PyAV, reconnecting until closed."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from fractions import Fraction
from typing import TypeAlias
from urllib.parse import urlsplit, urlunsplit

import av
import av.container
import numpy as np

from vigil.domain import CameraHealth, Frame, Telemetry
from vigil.errors import SourceError
from vigil.sources.telemetry.stream import KlvStream

log = logging.getLogger(__name__)

# How often a waiting frames() looks at the close flag: the bound on how long close() from
# another thread takes to end it.
_POLL_S = 0.1
# What a failed connection or read raises: FFmpeg errors, socket errors, and the EOFError
# and ValueError PyAV uses for a stream that ends or turns out unusable.
_STREAM_ERRORS = (av.FFmpegError, OSError, EOFError, ValueError)


class _End:
    """Marks the end of the reader thread's output."""


_Item: TypeAlias = "Frame | SourceError | _End"
_Queue: TypeAlias = "queue.Queue[_Item]"


def redact(url: str) -> str:
    """The URL with any password replaced, fit for logs and messages users may share."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def describe(exc: BaseException, timeout: float) -> str:
    """A short reason for a failed connection or read, without errno numbers or the URL."""
    if isinstance(exc, av.ExitError):
        # PyAV's timeout works by interrupting FFmpeg, which reports it as an "exit".
        return f"no answer for {timeout:g} s"
    if isinstance(exc, EOFError):
        return "the stream ended"
    strerror = getattr(exc, "strerror", None)
    return str(strerror) if strerror else str(exc) or type(exc).__name__


class NetworkSource:
    """Frames of a live stream, reconnecting with exponential back-off when it fails or ends.

    Reading happens on a background thread that hands frames to frames() through a small
    buffer; when the consumer falls behind, the oldest frames are dropped (a live camera
    must not lag), so `index` may skip numbers. `index` counts every decoded frame and
    `timestamp` is seconds since the first connection: both keep increasing across
    reconnects. With `give_up_after` set, frames() raises SourceError after that many
    seconds without a frame and without a working connection; otherwise it retries forever.
    A stream with a known duration (a recording served over HTTP) is read whole, with media
    timestamps, and ends. Call frames() from one thread at a time; close() from any thread.
    A stream that carries MISB ST 0601 KLV in a data stream (a drone's MPEG-TS) gives each
    frame the sample nearest its presentation time, if within `telemetry_max_age` seconds.
    """

    def __init__(
        self,
        camera_id: str,
        url: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        give_up_after: float | None = None,
        buffer: int = 4,
        av_options: Mapping[str, str] | None = None,
        telemetry_max_age: float = 0.5,
    ) -> None:
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("backoff_initial", backoff_initial),
            ("backoff_max", backoff_max),
        ):
            if value <= 0:
                raise SourceError(f"camera '{camera_id}': {name} must be above 0, not {value}")
        if give_up_after is not None and give_up_after <= 0:
            raise SourceError(f"camera '{camera_id}': give_up_after must be above 0 or unset")
        self.camera_id = camera_id
        self.url = url
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = max(backoff_max, backoff_initial)
        self.give_up_after = give_up_after
        self.buffer = max(1, buffer)
        self.telemetry_max_age = telemetry_max_age
        scheme = urlsplit(url).scheme.lower()
        # TCP: over UDP a lossy network shows up as smeared frames instead of a clean error.
        options = {"rtsp_transport": "tcp"} if scheme in ("rtsp", "rtsps") else {}
        self.av_options: dict[str, str] = {**options, **(av_options or {})}
        self.dropped_frames = 0
        self._safe_url = redact(url)
        self._closed = threading.Event()
        self._run_stop: threading.Event | None = None
        self._lock = threading.Lock()  # guards the health fields, written by the reader
        self._online = False
        self._offline_since: float | None = None
        self._last_frame_time: float | None = None
        self._error: str | None = None
        self._fps: float | None = None
        self._index = 0
        self._t0: float | None = None  # monotonic time of the first connection
        self._last_ts = -1.0
        self._recorded = False  # set per connection, see _read_once
        self._first_media_time: float | None = None
        self._last_media_time = float("-inf")

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def total_frames(self) -> int | None:
        return None  # a live stream has no end

    def health(self) -> CameraHealth:
        with self._lock:
            return CameraHealth(
                camera_id=self.camera_id,
                # A reader still inside FFmpeg after close() must not make it look online.
                online=self._online and not self._closed.is_set(),
                offline_since=self._offline_since,
                last_frame_time=self._last_frame_time,
                error=self._error,
            )

    def close(self) -> None:
        self._closed.set()
        run_stop = self._run_stop
        if run_stop is not None:
            run_stop.set()

    def frames(self) -> Iterator[Frame]:
        if self._closed.is_set():
            return
        stop = threading.Event()
        self._run_stop = stop
        if self._closed.is_set():  # close() ran in between and missed this run's event
            stop.set()
        out: _Queue = queue.Queue(maxsize=self.buffer)
        reader = threading.Thread(
            target=self._read_forever, args=(out, stop), name=f"vigil-{self.camera_id}", daemon=True
        )
        reader.start()
        try:
            while not stop.is_set():
                try:
                    item = out.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if isinstance(item, Frame):
                    yield item
                elif isinstance(item, SourceError):
                    raise item
                else:
                    return
        finally:
            # Also when the consumer just stops iterating: the reader must not live on.
            # It is not joined: it may sit in FFmpeg up to a timeout, and ends by itself.
            stop.set()
            self._set_offline(None)

    # -- the reader thread -------------------------------------------------------------

    def _read_forever(self, out: _Queue, stop: threading.Event) -> None:
        backoff = self.backoff_initial
        # The give-up clock runs from the last frame, or from the start if none came yet.
        last_progress = time.monotonic()
        last_reason: str | None = None
        try:
            while not stop.is_set():
                frames_before = self._index
                reason = self._read_once(out, stop)
                if stop.is_set() or reason is None:
                    break
                if self._index > frames_before:
                    backoff = self.backoff_initial  # it worked for a while: retry quickly
                    last_progress = time.monotonic()
                    last_reason = None
                self._set_offline(reason)
                waited = time.monotonic() - last_progress
                if self.give_up_after is not None and waited >= self.give_up_after:
                    self._put(out, self._give_up_error(reason), stop)
                    return
                # Warn when something changes; an hour of the same failure is not news.
                level = logging.DEBUG if reason == last_reason else logging.WARNING
                last_reason = reason
                message = "camera '%s': %s (%s); reconnecting in %g s"
                log.log(level, message, self.camera_id, self._safe_url, reason, backoff)
                pause = backoff
                if self.give_up_after is not None:
                    # Make one last attempt right at the deadline instead of sleeping past it.
                    pause = min(pause, self.give_up_after - waited)
                if stop.wait(pause):
                    break
                backoff = min(backoff * 2, self.backoff_max)
        finally:
            self._put(out, _End(), stop)

    def _read_once(self, out: _Queue, stop: threading.Event) -> str | None:
        """Connect and decode until the stream fails; say why, or None for a recording's end."""
        try:
            container = av.open(
                self.url,
                options=self.av_options,
                timeout=(self.connect_timeout, self.read_timeout),
            )
        except _STREAM_ERRORS as exc:
            return describe(exc, self.connect_timeout)
        try:
            if not container.streams.video:
                return "the stream has no video"
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            self._fps = float(rate) if rate else self._fps
            # A known duration means a recording served over the network (an .mp4 over
            # HTTP), not a camera: it ends, and no frame of it may be dropped.
            self._recorded = bool(container.duration and container.duration > 0)
            if self._t0 is None:
                self._t0 = time.monotonic()
            data = [s for s in container.streams if s.type == "data"]
            klv = KlvStream(self._safe_url, every_problem=False)
            for packet in container.demux(stream, *data):
                if stop.is_set():
                    return "closed"
                if packet.stream.type == "data":
                    klv.add(packet)
                    continue
                try:
                    decoded = stream.decode(packet)
                except av.FFmpegError:
                    continue  # one damaged packet (lost data); the next keyframe recovers
                for frame in decoded:
                    if stop.is_set():
                        return "closed"
                    media_time = None
                    if self._recorded and frame.pts is not None and stream.time_base:
                        media_time = float(frame.pts * stream.time_base)
                        if media_time <= self._last_media_time:
                            continue  # delivered before a reconnect started it over
                        self._last_media_time = media_time
                    image = frame.to_ndarray(format="bgr24")
                    where = self._telemetry(klv, frame, stream.time_base)
                    self._put(out, self._make_frame(image, media_time, where), stop)
            return None if self._recorded else "the stream ended"
        except _STREAM_ERRORS as exc:
            return describe(exc, self.read_timeout)
        finally:
            container.close()

    def _telemetry(
        self, klv: KlvStream, frame: av.VideoFrame, time_base: Fraction | None
    ) -> Telemetry | None:
        if not klv.count or frame.pts is None or time_base is None:
            return None
        return klv.at(float(frame.pts * time_base), self.telemetry_max_age)

    def _make_frame(
        self, image: np.ndarray, media_time: float | None, where: Telemetry | None = None
    ) -> Frame:
        assert self._t0 is not None
        if media_time is not None:
            if self._first_media_time is None:
                self._first_media_time = media_time
            ts = media_time - self._first_media_time
        else:
            ts = time.monotonic() - self._t0
        # Strictly increasing even if two frames are decoded within the clock's resolution.
        ts = max(ts, self._last_ts + 1e-6)
        self._last_ts = ts
        now = time.time()
        if where is not None:
            where = replace(where, t=ts)
        frame = Frame(self.camera_id, self._index, ts, image, now, where)
        self._index += 1
        with self._lock:
            self._online = True
            self._offline_since = None
            self._last_frame_time = now
            self._error = None
        return frame

    def _put(self, out: _Queue, item: _Item, stop: threading.Event) -> None:
        """Queue an item; for a live camera, drop the oldest frame when the consumer lags."""
        while not stop.is_set():
            if self._recorded:
                with contextlib.suppress(queue.Full):
                    out.put(item, timeout=_POLL_S)
                    return
                continue
            try:
                out.put_nowait(item)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    out.get_nowait()
                    self.dropped_frames += 1

    def _set_offline(self, reason: str | None) -> None:
        with self._lock:
            if self._online or self._offline_since is None:
                self._offline_since = time.time()
            self._online = False
            if reason is not None:
                self._error = f"{self._safe_url}: {reason}"

    def _give_up_error(self, reason: str) -> SourceError:
        where = f"camera '{self.camera_id}'"
        limit = f"{self.give_up_after:g} s"
        if self._index == 0:
            what = f"cannot connect to {self._safe_url} ({reason}) within {limit}"
        else:
            what = f"lost {self._safe_url} ({reason}) and could not reconnect within {limit}"
        return SourceError(f"{where}: {what}; check the URL and that the camera is on the network")
