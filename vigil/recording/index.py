"""The recording index: which segments of which camera cover which time, and the gaps.

A recorder opens a segment row before it writes the file and closes it (end, frames, size,
SHA-256) when the file is complete. A row still `open` when no recorder owns it was cut by a
crash or a kill: `mark_cut` records what the file holds now. A gap is a time the camera was
meant to be recorded and was not (the stream dropped, the recorder was down), with why.
Times in and out are UNIX times; the database keeps them as UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select, update

from vigil.domain import Gap, Segment, SegmentState
from vigil.errors import NotFound
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.tables import GapRow, SegmentRow


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def unix(value: datetime) -> float:
    return as_utc(value).timestamp()


def segment_of(row: SegmentRow) -> Segment:
    return Segment(
        id=row.id,
        camera_id=row.camera_id,
        start=unix(row.start),
        end=unix(row.end) if row.end is not None else None,
        path=row.path,
        state=SegmentState(row.state),
        codec=row.codec,
        frames=row.frames,
        size=row.size,
        sha256=row.sha256,
    )


def gap_of(row: GapRow) -> Gap:
    end = unix(row.end) if row.end is not None else None
    return Gap(row.camera_id, unix(row.start), end, row.reason)


class Recordings:
    """The segments and gaps of every camera, in one store (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- written by a recorder -------------------------------------------------------------

    def open_segment(
        self,
        camera_id: str,
        start: float,
        path: str,
        codec: str,
        width: int | None = None,
        height: int | None = None,
    ) -> Segment:
        row = SegmentRow(
            camera_id=camera_id, start=at(start), end=None, path=path,
            state=SegmentState.OPEN, codec=codec, width=width, height=height, frames=0, size=0,
        )  # fmt: skip
        with self.store.session() as s, s.begin():
            s.add(row)
        return segment_of(row)

    def close_segment(
        self,
        segment_id: int,
        end: float,
        frames: int,
        size: int,
        sha256: str,
        state: SegmentState = SegmentState.CLOSED,
    ) -> Segment:
        """The file is complete (`closed`) or was found cut (`cut`): what it holds."""
        with self.store.session() as s, s.begin():
            row = s.get(SegmentRow, segment_id)
            if row is None:
                raise NotFound(f"no recorded segment {segment_id}")
            row.end, row.frames, row.size, row.sha256 = at(end), frames, size, sha256
            row.state = state
        return segment_of(row)

    def open_segments(self, camera_id: str | None = None) -> list[Segment]:
        """Segments still marked open: being written, or cut if no recorder owns them."""
        q = select(SegmentRow).where(SegmentRow.state == SegmentState.OPEN)
        if camera_id is not None:
            q = q.where(SegmentRow.camera_id == camera_id)
        with self.store.session() as s:
            return [segment_of(r) for r in s.scalars(q.order_by(SegmentRow.id))]

    def open_gap(self, camera_id: str, start: float, reason: str) -> int:
        row = GapRow(camera_id=camera_id, start=at(start), end=None, reason=reason)
        with self.store.session() as s, s.begin():
            s.add(row)
        return row.id

    def close_gap(self, gap_id: int, end: float) -> None:
        with self.store.session() as s, s.begin():
            s.execute(
                update(GapRow).where(GapRow.id == gap_id, GapRow.end.is_(None)).values(end=at(end))
            )

    # --- read by playback, export and retention ----------------------------------------------

    def get(self, segment_id: int) -> Segment:
        with self.store.session() as s:
            row = s.get(SegmentRow, segment_id)
        if row is None:
            raise NotFound(f"no recorded segment {segment_id}")
        return segment_of(row)

    def segments(self, camera_id: str, start: float, end: float) -> list[Segment]:
        """The camera's segments that overlap [start, end], oldest first (an open one counts
        up to now)."""
        lo, hi = at(start), at(end)
        q = (
            select(SegmentRow)
            .where(
                SegmentRow.camera_id == camera_id,
                SegmentRow.start <= hi,
                or_(SegmentRow.end.is_(None), SegmentRow.end >= lo),
            )
            .order_by(SegmentRow.start, SegmentRow.id)
        )
        with self.store.session() as s:
            return [segment_of(r) for r in s.scalars(q)]

    def gaps(self, camera_id: str, start: float, end: float) -> list[Gap]:
        """The camera's recorded gaps that overlap [start, end], oldest first."""
        lo, hi = at(start), at(end)
        q = (
            select(GapRow)
            .where(
                GapRow.camera_id == camera_id,
                GapRow.start <= hi,
                or_(GapRow.end.is_(None), GapRow.end >= lo),
            )
            .order_by(GapRow.start, GapRow.id)
        )
        with self.store.session() as s:
            return [gap_of(r) for r in s.scalars(q)]

    def cameras(self) -> list[str]:
        """Every camera that has footage."""
        with self.store.session() as s:
            return sorted(s.scalars(select(SegmentRow.camera_id).distinct()))

    def overlapping(self, camera_ids: Sequence[str], start: float, end: float) -> list[Segment]:
        """Segments of several cameras over one range (an export), by camera then time."""
        lo, hi = at(start), at(end)
        q = (
            select(SegmentRow)
            .where(
                SegmentRow.camera_id.in_(list(camera_ids)),
                and_(SegmentRow.start <= hi, or_(SegmentRow.end.is_(None), SegmentRow.end >= lo)),
            )
            .order_by(SegmentRow.camera_id, SegmentRow.start, SegmentRow.id)
        )
        with self.store.session() as s:
            return [segment_of(r) for r in s.scalars(q)]
