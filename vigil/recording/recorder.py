"""The recorder: one camera's own stream, remuxed (never decoded) into indexed segments.

    recorder = Recorder("lobby", "rtsp://cam/stream", data_dir, Recordings(store), config)
    recorder.start()          # its own thread; or recorder.run(stop_event) to block
    recorder.trigger(t)       # events mode: an event happened at UNIX time t
    recorder.stop()           # the current segment is closed cleanly

Per connection: the video packets get one increasing clock (timeline.py), and a new
fragmented-MP4 segment (segment.py) starts at the first keyframe after `segment_s`, indexed
when it starts and closed with its end, frames, size and SHA-256. A failing stream closes
the segment, opens a gap (why, in words; no password), reconnects with back-off, closes the
gap when packets come again. At start, this camera's segments still `open` (a crash, a kill)
are marked `cut` (cut.py), a gap from their end. Events mode writes only the time around
triggers (a pre-roll from memory, preroll.py); the rest is not a gap: nothing failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video
from sqlalchemy.exc import SQLAlchemyError

from vigil.config.camera import RecordingConfig
from vigil.domain import RecordingMode, Segment
from vigil.errors import SourceError, VigilError
from vigil.recording.checks import check_camera_id, check_duration
from vigil.recording.cut import CUT_REASON, index_reason, mark_cut, owning
from vigil.recording.index import Recordings
from vigil.recording.preroll import PreRoll, Triggers
from vigil.recording.segment import (
    OpenSegment,
    RecorderStats,
    SegmentWriter,
    new_path,
    sha256_of,
)
from vigil.recording.timeline import Placed, Timeline
from vigil.sources import FileSource, NetworkSource, open_source
from vigil.sources.network import _STREAM_ERRORS, describe, redact

log = logging.getLogger(__name__)

__all__ = ["Recorder", "RecorderStats"]


class Recorder:
    """Records one camera until stopped, the source ends (a file without `loop`), or
    `for_s` seconds of video are recorded. See the module's docstring."""

    def __init__(
        self,
        camera_id: str,
        source: str,
        data_dir: Path,
        recordings: Recordings,
        config: RecordingConfig,
        *,
        loop: bool = False,
        realtime: bool = False,
        for_s: float | None = None,
        give_up_after: float | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        clock: Callable[[], float] = time.time,
        on_segment: Callable[[Segment], None] | None = None,
        log_failures: bool = True,
    ) -> None:
        check_camera_id(camera_id)
        if config.mode == RecordingMode.OFF:
            raise VigilError(f"camera '{camera_id}': recording is off; set recording.mode")
        check_duration(for_s)
        # Validates the source as the live pipeline would: the file exists and holds video,
        # or the URL's scheme is one Vigil reads (with RTSP over TCP).
        self.source = open_source(camera_id, source)
        self.camera_id, self.data_dir, self.recordings = camera_id, data_dir, recordings
        self.config, self.loop, self.realtime, self.for_s = config, loop, realtime, for_s
        self.give_up_after, self.clock, self.on_segment = give_up_after, clock, on_segment
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.backoff_initial, self.backoff_max = backoff_initial, max(backoff_max, backoff_initial)
        self.log_failures = log_failures  # off where the caller reports it (the CLI)
        self.stats = RecorderStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._open: OpenSegment | None = None
        self._gap: int | None = None
        self._gap_start = 0.0
        self._triggers = Triggers(config.pre_roll_s, config.post_roll_s)
        self._preroll = PreRoll(config.pre_roll_s)
        self._first_seen: float | None = None  # UNIX time of the first packet received
        self._last_seen: float | None = None  # and the end of the last one
        self._lost_at: float | None = None  # where the index was lost (a gap starts there)
        self._started_mono = time.monotonic()
        self._packets = 0  # ever received, over every connection

    # --- control (any thread) ------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run_caught, name=f"vigil-record-{self.camera_id}", daemon=True
        )
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the recorder to stop, without waiting (stop() waits)."""
        self._stop.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop recording: the current segment is closed cleanly. Raises what ended the
        recorder's thread if it failed (a SourceError: the camera was never reached)."""
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def trigger(self, at: float | None = None) -> None:
        """Events mode: something happened at UNIX time `at` (now if None); the footage from
        `pre_roll_s` before it to `post_roll_s` after it is kept."""
        self._triggers.put(self.clock() if at is None else at)

    # --- the recorder's thread -----------------------------------------------------------

    def _run_caught(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever stops or joins it
            self._failure = exc
            if not isinstance(exc, VigilError):
                log.exception("camera '%s': the recorder stopped", self.camera_id)
            elif self.log_failures:
                log.error("camera '%s': the recorder stopped: %s", self.camera_id, exc)

    def run(self, stop: threading.Event | None = None) -> RecorderStats:
        """Record until stopped (this or `stop`), the source ends or `for_s` is reached."""
        if stop is not None:
            self._stop = stop
        self._started_mono = time.monotonic()
        with owning(self.data_dir, self.camera_id):
            self.recover()
            self._record_until_done()
        return self.stats

    def _record_until_done(self) -> None:
        backoff = self.backoff_initial
        lost: str | None = None  # why the index cannot be written, until it can again
        try:
            while not self._stop.is_set():
                before = self._packets
                try:
                    if lost is not None:
                        self.recover(lost)  # its own segment, left open when the index went
                        lost = None
                    reason = self._record_connection()
                    self._end_segment()
                    if reason is not None and not self._stop.is_set() and not self._done():
                        self._failed(reason)
                except SQLAlchemyError as exc:
                    reason = lost = self._index_lost(exc)
                if reason is None or self._stop.is_set() or self._done():
                    break
                if self._packets > before:
                    backoff = self.backoff_initial
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self.backoff_max)
        finally:
            try:
                self._end_segment()
                self._close_gap(self.clock())  # stopped while the camera was away
            except SQLAlchemyError as exc:  # left open: marked cut at the next start
                self._index_lost(exc)

    def recover(self, reason: str = CUT_REASON) -> list[Segment]:
        """Segments of this camera left `open` (by a crash or a kill; or by this recorder,
        when the index could not be written) marked `cut` with what their files hold; a gap
        opens from the last one's end (or from where the index was lost)."""
        cut = mark_cut(self.recordings, self.data_dir, self.camera_id)
        if cut:
            self._open_gap(reason, max(s.end or s.start for s in cut))
        elif reason != CUT_REASON:
            self._open_gap(reason, self._lost_at or self._last_end())
        return cut

    def _index_lost(self, exc: SQLAlchemyError) -> str:
        """The database failed: the file is finished, its row stays open to be marked cut
        when the index is back; recording starts again then."""
        current, self._open = self._open, None
        if current is not None:
            current.writer.close()
        self._lost_at = current.end if current is not None else self._last_end()
        reason = index_reason(exc)
        self.stats.recording, self.stats.error = False, reason
        log.warning("camera '%s': %s; trying again", self.camera_id, reason)
        return reason

    def _failed(self, reason: str) -> None:
        """A connection failed or ended; a gap runs from the end of what was recorded."""
        self.stats.error = reason
        never = self._packets == 0
        waited = time.monotonic() - self._started_mono
        if never and self.give_up_after is not None:
            if waited >= self.give_up_after:
                raise SourceError(
                    f"camera '{self.camera_id}': cannot record {self._where()} ({reason}) "
                    f"within {self.give_up_after:g} s; check the URL and that the camera is "
                    "on the network"
                )
            return  # not reached yet: nothing was meant to be recorded so far
        if self._gap is None:
            self._open_gap(reason, self._last_end())
        log.warning("camera '%s': recording %s: %s; reconnecting", self.camera_id,
                    self._where(), reason)  # fmt: skip

    def _record_connection(self) -> str | None:
        """Connect and record until the stream fails (why) or ends for good (None)."""
        network = isinstance(self.source, NetworkSource)
        try:
            container = self._connect()
        except _STREAM_ERRORS as exc:
            return describe(exc, self.connect_timeout)
        try:
            if not container.streams.video:
                return "the stream has no video"
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            finite = not network or bool(container.duration and container.duration > 0)
            timeline = Timeline(
                stream.time_base or Fraction(1, 90000),
                float(rate) if rate else None,
                live=not finite,
                clock=self.clock,
            )
            paced = self.realtime and finite
            started = time.monotonic()
            while True:
                for packet in container.demux(stream):
                    if self._stop.is_set():
                        return None
                    if packet.size == 0:
                        continue
                    for placed in timeline.arrive(packet):
                        if paced and self._stop.wait(
                            max(0.0, started + placed.media - time.monotonic())
                        ):
                            return None
                        if self._receive(placed, stream, timeline):
                            return None
                if not (self.loop and not network):
                    return None if finite else "the stream ended"
                container.seek(0)
                timeline.rejoin()
        except _STREAM_ERRORS as exc:
            return describe(exc, self.read_timeout)
        finally:
            container.close()

    def _receive(self, placed: Placed, stream: av.video.VideoStream, tl: Timeline) -> bool:
        """One packet recorded (or kept, or passed over); True when the recording is done."""
        self._packets += 1
        if self._first_seen is None:
            self._first_seen = placed.t
        self._last_seen = placed.t + tl.seconds(placed.duration)
        self._take(placed, stream, tl)
        return self._done()

    def _connect(self) -> av.container.InputContainer:
        if isinstance(self.source, FileSource):
            return av.open(str(self.source.path))
        assert isinstance(self.source, NetworkSource)
        return av.open(
            self.source.url,
            options=self.source.av_options,
            timeout=(self.connect_timeout, self.read_timeout),
        )

    def _done(self) -> bool:
        if self.for_s is None:
            return False
        seen, last = self._first_seen, self._last_seen
        if seen is not None and last is not None and last - seen >= self.for_s:
            return True
        live = isinstance(self.source, NetworkSource)
        return live and time.monotonic() - self._started_mono >= self.for_s

    # --- packets into segments -----------------------------------------------------------

    def _take(self, p: Placed, stream: av.video.VideoStream, timeline: Timeline) -> None:
        if self.config.mode == RecordingMode.EVENTS:
            self._take_event_mode(p, stream, timeline)
            return
        self._write_cutting(p, stream, timeline)

    def _write_cutting(self, p: Placed, stream: av.video.VideoStream, tl: Timeline) -> None:
        """Write `p`, starting a new segment at a keyframe once `segment_s` have passed."""
        current = self._open
        if (
            current is not None
            and p.key
            and tl.seconds(p.dts - current.base) >= self.config.segment_s
        ):
            self._end_segment()
            current = None
        if current is None:
            if not p.key:
                return  # a segment starts at a keyframe: what comes before it cannot play
            self._begin_segment(p, stream, tl)
            return
        self._write(current, p, tl)

    def _take_event_mode(self, p: Placed, stream: av.video.VideoStream, tl: Timeline) -> None:
        since = self._triggers.wanted(p.t)
        if since is None:
            self._end_segment()  # the post-roll is over
            self._preroll.add(p)
            return
        if self._open is not None:
            self._write_cutting(p, stream, tl)
            return
        self._preroll.add(p)
        for q in self._preroll.take(since):
            self._write_cutting(q, stream, tl)

    def _begin_segment(self, p: Placed, stream: av.video.VideoStream, tl: Timeline) -> None:
        """A new file with `p`, its first packet. That one only reaches the disk with its
        fragment (the next keyframe), after the row is in the index; written first, it
        checks the codec fits in MP4 before anything is indexed."""
        rel = new_path(self.data_dir, self.camera_id, p.t)
        path = self.data_dir / rel
        writer = SegmentWriter(path, stream)
        try:
            writer.write(p.packet, 0, p.pts - p.dts)
            codec = stream.codec_context.name
            segment = self.recordings.open_segment(
                self.camera_id, p.t, rel, codec, stream.width or None, stream.height or None
            )
        except BaseException:
            writer.close()
            path.unlink(missing_ok=True)
            raise
        self._close_gap(p.t)
        self.stats.recording, self.stats.error = True, None
        self._open = OpenSegment(segment, writer, path, p.dts, p.t)
        self._written(self._open, p, tl)

    def _write(self, current: OpenSegment, p: Placed, tl: Timeline) -> None:
        current.writer.write(p.packet, p.dts - current.base, p.pts - current.base)
        self._written(current, p, tl)

    def _written(self, current: OpenSegment, p: Placed, tl: Timeline) -> None:
        current.end = p.t + tl.seconds(p.duration)
        self.stats.frames += 1

    def _end_segment(self) -> None:
        current, self._open = self._open, None
        if current is None:
            return
        current.writer.close()
        size = current.path.stat().st_size
        segment = self.recordings.close_segment(
            current.segment.id, current.end, current.writer.frames, size, sha256_of(current.path)
        )
        self.stats.segments += 1
        self.stats.bytes += size
        self.stats.seconds += current.end - current.segment.start
        self.stats.recording = False
        if self.on_segment is not None:
            self.on_segment(segment)

    def _open_gap(self, reason: str, at: float) -> None:
        self._close_gap(at)
        self._gap = self.recordings.open_gap(self.camera_id, at, reason)
        self._gap_start = at
        self.stats.gaps += 1

    def _close_gap(self, at: float) -> None:
        if self._gap is not None:  # never before it began
            self.recordings.close_gap(self._gap, max(at, self._gap_start))
            self._gap = None

    def _last_end(self) -> float:
        """Where a gap starts: the end of the last packet received, else now."""
        return self._last_seen if self._last_seen is not None else self.clock()

    def _where(self) -> str:
        if isinstance(self.source, NetworkSource):
            return redact(self.source.url)
        return f"'{self.source.path}'" if isinstance(self.source, FileSource) else "the source"
