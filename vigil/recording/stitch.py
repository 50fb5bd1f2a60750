"""One camera's footage over [start, end] as one MP4, remuxed from its recorded segments.

No frame is re-encoded: the packets of the segments are copied in order into one file, which
begins at the keyframe at or before `start` (a clip must begin with a picture that decodes)
and ends with the last packet decoded at or before `end`. The clip's timeline is the wall
clock: video time t shows what the camera saw at `clip.start + t`, so a hole in the footage
stays a hole in time (a player holds the last picture over it); every hole longer than
GAP_MIN_S is reported with the recorder's reason where it gave one, and is a chapter of its
own. Events become chapters (MP4 chapters partition the timeline: each lasts until the next).

Segments whose codec or picture size differ cannot share one video track: the footage is then
cut into parts (`<camera>.mp4`, `<camera>-part2.mp4`, ...), each reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from vigil.datadir import inside
from vigil.domain import Gap, Segment

GAP_MIN_S = 1.0  # frames further apart than this are a gap in the footage
OUT_TIME_BASE = Fraction(1, 90_000)
CHAPTER_TIME_BASE = Fraction(1, 1000)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Mark:
    """Something that happened at a wall-clock time: a chapter of the clip."""

    at: float
    title: str


@dataclass
class Clip:
    """What one stitched file holds."""

    camera_id: str
    path: Path
    start: float  # wall-clock time of video time 0 (the first keyframe)
    end: float  # of the last frame's end
    frames: int
    codec: str
    width: int
    height: int
    segments: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    chapters: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "camera": self.camera_id,
            "start": iso(self.start),
            "end": iso(self.end),
            "start_unix": round(self.start, 6),
            "frames": self.frames,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "segments": self.segments,
            "gaps": self.gaps,
            "chapters": self.chapters,
        }


@dataclass
class _Timed:
    packet: av.Packet
    pts: float  # wall-clock seconds
    dts: float
    duration: float


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _segment_record(data_dir: Path, seg: Segment) -> tuple[dict[str, Any], Path | None]:
    rec: dict[str, Any] = {
        "id": seg.id, "path": seg.path, "state": str(seg.state), "start": iso(seg.start),
        "end": iso(seg.end) if seg.end is not None else None, "sha256_indexed": seg.sha256,
    }  # fmt: skip
    path = inside(data_dir, seg.path)
    if path is None or not path.is_file():
        rec["problem"] = "file missing" if path is not None else "path outside the data directory"
        return rec, None
    rec["sha256"] = sha256_of(path)
    if seg.sha256 is not None and seg.sha256 != rec["sha256"]:
        rec["problem"] = "file differs from the hash the recorder indexed when it closed it"
    return rec, path


def _packets(seg: Segment, path: Path, rec: dict[str, Any]) -> Iterator[_Timed]:
    """The segment's video packets, timed on the wall clock (seg.start is its first frame)."""
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        rec["problem"] = f"unreadable: {exc}"
        return
    with container:
        stream = container.streams.video[0]
        tb = stream.time_base or Fraction(1, 90_000)
        origin: int | None = stream.start_time
        try:
            for pkt in container.demux(stream):
                if pkt.pts is None or pkt.dts is None or pkt.size == 0:
                    continue
                if origin is None:
                    origin = pkt.pts
                yield _Timed(
                    pkt,
                    seg.start + float((pkt.pts - origin) * tb),
                    seg.start + float((pkt.dts - origin) * tb),
                    float((pkt.duration or 0) * tb),
                )
        except av.error.FFmpegError as exc:  # cut by a crash: readable up to its last fragment
            rec["read_until_error"] = str(exc)


def _format(path: Path) -> tuple[str, int, int]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.codec_context.name, s.codec_context.width, s.codec_context.height


def parts(
    data_dir: Path, segments: Sequence[Segment]
) -> list[list[tuple[Segment, Path | None, dict[str, Any]]]]:
    """The segments (with their files and records), grouped into runs that share a format."""
    runs: list[list[tuple[Segment, Path | None, dict[str, Any]]]] = []
    current: tuple[str, int, int] | None = None
    for seg in segments:
        rec, path = _segment_record(data_dir, seg)
        fmt = None
        if path is not None:
            try:
                fmt = _format(path)
            except (av.error.FFmpegError, IndexError):
                rec["problem"] = "no readable video stream"
                path = None
        if not runs or (fmt is not None and current is not None and fmt != current):
            runs.append([])
        if fmt is not None:
            current = fmt
        runs[-1].append((seg, path, rec))
    return runs


def _trimmed(
    run: Sequence[tuple[Segment, Path | None, dict[str, Any]]], start: float, end: float
) -> Iterator[_Timed]:
    """Packets from the keyframe at or before `start` to the last decoded at or before `end`."""
    started = False
    for seg, path, rec in run:
        if path is None:
            continue
        pending: list[_Timed] = []
        for t in _packets(seg, path, rec):
            if t.dts > end:
                return
            if not started:
                if t.packet.is_keyframe:
                    pending = [t]
                elif pending:
                    pending.append(t)
                if t.pts < start or not pending:
                    continue
                started = True
                yield from pending
                continue
            yield t


def write_clip(
    run: Sequence[tuple[Segment, Path | None, dict[str, Any]]],
    start: float,
    end: float,
    out: Path,
    marks: Sequence[Mark],
    recorded_gaps: Sequence[Gap],
) -> Clip | None:
    """Remux one run of segments into `out`; None when none of its packets fall in range.

    Two passes over the packets (demuxing only): the first times them, because MP4 chapters
    (the gaps among them) are declared before the first packet is written."""
    first_path = next((p for _, p, _ in run if p is not None), None)
    times = [(t.pts, t.pts + t.duration) for t in _trimmed(run, start, end)]
    if first_path is None or not times:
        return None
    codec, width, height = _format(first_path)
    clip = Clip(run[0][0].camera_id, out, times[0][0], max(e for _, e in times), len(times),
                codec, width, height)  # fmt: skip
    clip.segments = [rec for _, _, rec in run]
    clip.gaps = footage_gaps(times, start, end, recorded_gaps)
    clip.chapters = chapters(clip, marks)
    with av.open(str(first_path)) as template, av.open(str(out), "w", format="mp4") as dst:
        stream = dst.add_stream_from_template(template.streams.video[0])
        dst.set_chapters(chapter_dicts(clip.chapters, clip.end - clip.start))
        last_dts = -1
        for t in _trimmed(run, start, end):
            pts = round((t.pts - clip.start) / OUT_TIME_BASE)
            dts = max(round((t.dts - clip.start) / OUT_TIME_BASE), last_dts + 1)
            t.packet.stream = stream
            t.packet.time_base = OUT_TIME_BASE
            t.packet.pts, t.packet.dts = max(pts, dts), dts
            t.packet.duration = round(t.duration / OUT_TIME_BASE)
            last_dts = dts
            dst.mux(t.packet)
    return clip


def footage_gaps(
    times: Sequence[tuple[float, float]], start: float, end: float, recorded: Sequence[Gap]
) -> list[dict[str, Any]]:
    """Where in [start, end] no frame is (longer than GAP_MIN_S), with the recorder's reasons;
    recorded gaps that overlap the range are listed even where frames were found."""
    holes: list[tuple[float, float]] = []
    if times[0][0] - start > GAP_MIN_S:
        holes.append((start, times[0][0]))
    for (a, _), (b, _) in zip(times, times[1:], strict=False):
        if b - a > GAP_MIN_S:
            holes.append((a, b))
    if end - times[-1][1] > GAP_MIN_S:
        holes.append((times[-1][1], end))
    out = []
    used: set[int] = set()
    for lo, hi in holes:
        why = [i for i, g in enumerate(recorded) if g.start < hi and (g.end or end) > lo]
        used.update(why)
        reasons = [recorded[i].reason for i in why] or ["no footage was recorded"]
        out.append(_gap(lo, hi, "; ".join(dict.fromkeys(reasons)), True))
    for i, g in enumerate(recorded):
        if i not in used:
            out.append(_gap(max(g.start, start), min(g.end or end, end), g.reason, False))
    return sorted(out, key=lambda g: g["start_unix"])


def _gap(lo: float, hi: float, reason: str, missing: bool) -> dict[str, Any]:
    return {
        "start": iso(lo), "end": iso(hi), "start_unix": round(lo, 6), "seconds": round(hi - lo, 3),
        "reason": reason, "frames_missing": missing,
    }  # fmt: skip


def chapters(clip: Clip, marks: Sequence[Mark]) -> list[dict[str, Any]]:
    """The clip's chapters: its start, each event and each gap, in time order (offsets in
    seconds from video time 0). Marks at the same millisecond share one chapter."""
    items = [Mark(clip.start, f"footage of {clip.camera_id} from {iso(clip.start)}")]
    items += [m for m in marks if clip.start <= m.at <= clip.end]
    items += [
        Mark(g["start_unix"], f"no footage for {g['seconds']:g} s: {g['reason']}")
        for g in clip.gaps
        if g["frames_missing"] and clip.start <= g["start_unix"] <= clip.end
    ]
    by_ms: dict[int, list[str]] = {}
    for m in sorted(items, key=lambda m: m.at):
        by_ms.setdefault(round((m.at - clip.start) * 1000), []).append(m.title)
    return [{"offset": ms / 1000, "title": "; ".join(titles)} for ms, titles in by_ms.items()]


def chapter_dicts(items: Sequence[dict[str, Any]], duration: float) -> list[Any]:
    """PyAV's chapters: each lasts until the next one, the last until the clip's end."""
    ends = [round(c["offset"] * 1000) for c in items[1:]] + [max(1, round(duration * 1000))]
    return [
        {"id": n + 1, "start": round(c["offset"] * 1000), "end": e,
         "time_base": CHAPTER_TIME_BASE, "metadata": {"title": c["title"]}}
        for n, (c, e) in enumerate(zip(items, ends, strict=True))
    ]  # fmt: skip
