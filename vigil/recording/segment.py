"""One segment file: a camera's own packets remuxed (never decoded) into fragmented MP4.

Fragmented so that a file cut by a crash or a kill still plays up to its last complete
fragment: the header (`empty_moov`) goes first, then one fragment per keyframe, each written
through to the file as soon as it is complete (`flush_packets`). `inspect` reads back what a
file holds (frames, duration, size, SHA-256) without decoding it.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video

from vigil.domain import Segment
from vigil.errors import SourceError

# What FFmpeg is asked for: a fragment per keyframe, the header up front, fragments that
# stand alone (default-base-moof: what browsers' Media Source Extensions want too).
MP4_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "flush_packets": "1",  # a finished fragment is in the file, not in a buffer, at a kill
}
_HASH_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What a segment file holds, read back from disk."""

    frames: int
    duration: float  # seconds from its first frame to the end of its last
    size: int
    sha256: str
    codec: str | None


def inspect(path: Path) -> FileFacts:
    """Frames (packets demuxed, a damaged tail skipped), duration, size and hash of a file;
    an unreadable or missing file holds 0 frames."""
    size = path.stat().st_size if path.is_file() else 0
    sha = sha256_of(path) if path.is_file() else hashlib.sha256(b"").hexdigest()
    frames, first, last, codec = 0, None, None, None
    if size:
        try:
            with av.open(str(path)) as container:
                if container.streams.video:
                    stream = container.streams.video[0]
                    codec = stream.codec_context.name
                    tb = stream.time_base or Fraction(1, 90000)
                    for packet in container.demux(stream):
                        if packet.size == 0 or packet.is_corrupt or packet.pts is None:
                            continue
                        frames += 1
                        first = packet.pts if first is None else min(first, packet.pts)
                        end = packet.pts + (packet.duration or 0)
                        last = end if last is None else max(last, end)
        except (av.FFmpegError, OSError, EOFError, ValueError):
            pass  # the tail is damaged: what was counted so far is what plays
    duration = float((last - first) * tb) if first is not None and last is not None else 0.0
    return FileFacts(frames, duration, size, sha, codec)


def new_path(data_dir: Path, camera_id: str, start: float) -> str:
    """Where a segment starting at UNIX time `start` goes, relative to the data directory:
    recordings/<camera>/<YYYY-MM-DD>/<start-ms>.mp4 (UTC; `-1`, `-2` for a second start in
    the same millisecond)."""
    day = time.strftime("%Y-%m-%d", time.gmtime(start))
    folder = Path("recordings") / camera_id / day
    name, n = f"{int(start * 1000)}", 0
    rel = folder / f"{name}.mp4"
    while (data_dir / rel).exists():
        n += 1
        rel = folder / f"{name}-{n}.mp4"
    return rel.as_posix()


class SegmentWriter:
    """Writes rebased packets of one video stream into one fragmented-MP4 file.

    `write(packet, dts, pts)` takes the packet as the demuxer gave it and the timestamps it
    is to carry (in the input stream's time base, the first packet at 0)."""

    def __init__(self, path: Path, template: av.video.VideoStream) -> None:
        self.path = path
        self.frames = 0
        self.time_base = template.time_base or Fraction(1, 90000)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out: av.container.OutputContainer = av.open(
                str(path), "w", format="mp4", options=dict(MP4_OPTIONS)
            )
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(
                f"cannot write a recording to '{path}' ({_reason(exc)}); check the data "
                "directory is writable"
            ) from None
        try:
            self._stream = self._out.add_stream_from_template(template)
        except (av.FFmpegError, ValueError) as exc:
            self.close()
            path.unlink(missing_ok=True)
            raise _not_in_mp4(template.codec_context.name, exc) from None

    def write(self, packet: av.Packet, dts: int, pts: int) -> None:
        packet.dts, packet.pts = dts, pts
        packet.time_base = self.time_base
        packet.stream = self._stream
        try:
            self._out.mux(packet)
        except av.FFmpegError as exc:
            if self.frames == 0:  # the header: this codec does not go into MP4 as it is
                raise _not_in_mp4(self._stream.codec_context.name, exc) from None
            raise
        self.frames += 1

    def close(self) -> None:
        """Finish the file (the last fragment written out); safe to call twice."""
        out = getattr(self, "_out", None)
        if out is not None:
            self._out = None  # type: ignore[assignment]
            # On failure, what is written stays readable up to its last fragment.
            with contextlib.suppress(av.FFmpegError, OSError):
                out.close()


@dataclass(slots=True)
class RecorderStats:
    """What a recorder did so far (read from any thread; written by the recorder's)."""

    segments: int = 0  # closed
    frames: int = 0
    bytes: int = 0
    seconds: float = 0.0  # of video recorded
    gaps: int = 0
    recording: bool = False  # a segment is open now
    error: str | None = None  # why the camera cannot be recorded now


@dataclass(slots=True)
class OpenSegment:
    """The segment a recorder is writing: its row, its writer, where its time 0 is."""

    segment: Segment
    writer: SegmentWriter
    path: Path
    base: int  # the first packet's DTS: the file's time 0
    end: float  # UNIX time the last written frame ends


def _not_in_mp4(codec: str, exc: BaseException) -> SourceError:
    return SourceError(
        f"the source's {codec} video cannot be stored in MP4 without re-encoding "
        f"({_reason(exc)}); record a camera or file that has H.264, H.265 or MJPEG video"
    )


def _reason(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)
    return str(strerror) if strerror else str(exc) or type(exc).__name__
