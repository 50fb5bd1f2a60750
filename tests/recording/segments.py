"""Recorded segments for playback tests, made the way a recorder makes them: a clip's own
packets remuxed (PyAV, no re-encoding) into fragmented MP4 under the data directory's
recordings/<camera>/<day>/<start-ms>.mp4, and indexed through vigil.recording.index."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av

from vigil.domain import Segment, SegmentState
from vigil.recording.index import Recordings

FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}


@dataclass(frozen=True, slots=True)
class Made:
    segment: Segment
    path: Path
    frames: int
    duration: float  # seconds from the first frame to the end of the last
    fps: float


def remux(clip: Path, out: Path, skip_s: float, length_s: float) -> tuple[int, float, float]:
    """Packets of `clip` from the first keyframe at or after `skip_s`, for about `length_s`
    seconds (up to the next keyframe), timestamps from 0: (frames, duration, fps)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(clip)) as src, av.open(str(out), "w", format="mp4", options=FRAGMENTED) as dst:
        stream = src.streams.video[0]
        target = dst.add_stream_from_template(stream)
        tb, first, frames, last_pts = stream.time_base, None, 0, 0
        assert tb is not None
        for packet in src.demux(stream):
            if packet.pts is None or packet.dts is None:
                continue
            t = float(packet.pts * tb)
            if first is None:
                if t < skip_s or not packet.is_keyframe:
                    continue
                first = packet.dts
            elif packet.is_keyframe and float((packet.dts - first) * tb) >= length_s:
                break
            packet.pts -= first
            packet.dts -= first
            last_pts = max(last_pts, packet.pts)
            packet.stream = target
            dst.mux(packet)
            frames += 1
        fps = float(stream.average_rate or 25)
    return frames, float(last_pts * tb) + 1 / fps, fps


def record(
    data_dir: Path,
    store_recordings: Recordings,
    camera: str,
    clip: Path,
    start: float,
    length_s: float,
    skip_s: float = 0.0,
    state: SegmentState = SegmentState.CLOSED,
) -> Made:
    """One indexed segment of `camera` starting at UNIX time `start`."""
    day = datetime.fromtimestamp(start, UTC).date().isoformat()
    rel = f"recordings/{camera}/{day}/{int(start * 1000)}.mp4"
    frames, duration, fps = remux(clip, data_dir / rel, skip_s, length_s)
    seg = store_recordings.open_segment(camera, start, rel, "h264", 768, 432)
    if state is not SegmentState.OPEN:
        body = (data_dir / rel).read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        seg = store_recordings.close_segment(
            seg.id, start + duration, frames, len(body), digest, state=state
        )
    return Made(seg, data_dir / rel, frames, duration, fps)
