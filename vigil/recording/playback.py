"""Playback: a camera's timeline over a range (segments, gaps, events, alerts, locks) and the
bytes of one segment file that can be played now.

A closed segment plays whole. A segment still being written, or cut by a crash, plays what it
holds: its header and every complete fragment (`playable_length` walks the top-level MP4
boxes and stops before the first one the file does not hold in full), so a reader never gets
half a fragment, and a file that grows while it is sent never sends more than it announced.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vigil.domain import Gap, Segment, SegmentState
from vigil.recording.index import Recordings, at, unix
from vigil.recording.locks import Lock, Locks
from vigil.store.db import Store
from vigil.store.tables import AlertRow, EventRow

MAX_RANGE_S = 24 * 3600.0  # one timeline request covers at most a day
MAX_MARKS = 2000  # events (and alerts) marked on one timeline
CHUNK = 64 * 1024
_HEADER = struct.Struct(">I4s")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True, slots=True)
class Timeline:
    camera_id: str
    start: float
    end: float
    segments: list[Segment]
    gaps: list[Gap]
    events: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    locks: list[Lock]
    truncated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def timeline(store: Store, camera_id: str, start: float, end: float) -> Timeline:
    """What is recorded of the camera over [start, end], and what happened then."""
    index = Recordings(store)
    lo, hi = at(start), at(end)
    with store.session() as s:
        events = list(
            s.execute(
                select(EventRow.id, EventRow.type, EventRow.time, EventRow.label)
                .where(EventRow.camera_id == camera_id, EventRow.time >= lo, EventRow.time <= hi)
                .order_by(EventRow.time, EventRow.id)
                .limit(MAX_MARKS + 1)
            )
        )
        alerts = list(
            s.execute(
                select(AlertRow.id, AlertRow.rule, AlertRow.type, AlertRow.time, AlertRow.status)
                .where(AlertRow.camera_id == camera_id, AlertRow.time >= lo, AlertRow.time <= hi)
                .order_by(AlertRow.time, AlertRow.id)
                .limit(MAX_MARKS + 1)
            )
        )
    truncated = len(events) > MAX_MARKS or len(alerts) > MAX_MARKS
    return Timeline(
        camera_id=camera_id,
        start=start,
        end=end,
        segments=index.segments(camera_id, start, end),
        gaps=index.gaps(camera_id, start, end),
        events=[
            {"id": e.id, "type": e.type, "time": unix(e.time), "label": e.label}
            for e in events[:MAX_MARKS]
        ],
        alerts=[
            {"id": a.id, "rule": a.rule, "type": a.type, "time": unix(a.time), "status": a.status}
            for a in alerts[:MAX_MARKS]
        ],
        locks=Locks(store).all([camera_id], active=True, start=start, end=end),
        truncated=truncated,
    )


def playable_length(path: Path, state: SegmentState) -> int:
    """How many bytes of the file play: all of a closed segment; of an open or cut one, up to
    the end of its last complete top-level box (0 while not even the header is written)."""
    size = path.stat().st_size
    if state is SegmentState.CLOSED:
        return size
    good, pos, header = 0, 0, False
    with path.open("rb") as f:
        while pos + _HEADER.size <= size:
            f.seek(pos)
            length, kind = _HEADER.unpack(f.read(_HEADER.size))
            if length == 1:  # a 64-bit size follows
                raw = f.read(8)
                if len(raw) < 8:
                    break
                length = int.from_bytes(raw, "big")
            if length < _HEADER.size or pos + length > size:
                break  # "to the end of the file" (0), or not all written yet
            pos += length
            header = header or kind == b"moov"
            if kind != b"moof":  # a fragment's header without its data plays nothing
                good = pos
    return good if header else 0


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range [first, last] a `Range: bytes=...` header asks of `size` bytes; None for
    no header or one Vigil answers whole (several ranges, other units). ValueError when the
    range lies outside the file (416)."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        n = int(last)
        if n == 0:
            raise ValueError("an empty suffix range")
        return max(size - n, 0), size - 1
    lo = int(first)
    hi = min(int(last), size - 1) if last else size - 1
    if lo >= size or hi < lo:
        raise ValueError("the range starts past the end")
    return lo, hi


def read_bytes(path: Path, first: int, last: int) -> Iterator[bytes]:
    """Bytes first..last (inclusive) of the file, in chunks."""
    left = last - first + 1
    with path.open("rb") as f:
        f.seek(first)
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
