"""Segments cut by a crash or a kill: still `open` in the index when no recorder owns them.
Their files play up to their last complete fragment; `mark_cut` records what they hold.

Which recorder owns a camera: the one holding its lock file (`<data>/recorder-locks/<camera>
.lock`, an flock the system lets go of when the process ends, however it ends). A second
recorder of the same camera on the same data directory (a server and `vigil record`) is
refused instead of marking the first one's segment cut.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from vigil.datadir import inside
from vigil.domain import Segment, SegmentState
from vigil.errors import Conflict
from vigil.recording.index import Recordings
from vigil.recording.segment import inspect

log = logging.getLogger(__name__)

CUT_REASON = "the recorder stopped mid-segment (a crash or a kill)"
LOCKS = "recorder-locks"

try:
    import fcntl
except ImportError:  # not on Windows: there the lock is not taken
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def owning(data_dir: Path, camera_id: str) -> Iterator[None]:
    """This process records `camera_id` into `data_dir` while inside; Conflict when
    another recorder does."""
    if fcntl is None:
        yield
        return
    folder = data_dir / LOCKS
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{camera_id}.lock").open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                f"camera '{camera_id}' is being recorded into {data_dir} already (by a server "
                "or another vigil record); stop that one, or use another --camera or --data"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def index_reason(exc: BaseException) -> str:
    """Why footage could not be indexed (a gap's reason): the database's first line."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]
    return f"the recording index cannot be written ({first})"


def mark_cut(recordings: Recordings, data_dir: Path, camera_id: str) -> list[Segment]:
    """The camera's open segments closed as `cut`: frames (demuxed, not decoded), the end
    of the last complete frame, size and SHA-256 of the file as it is now. Call it only
    where no recorder of this camera runs (a recorder's start)."""
    cut = []
    for seg in recordings.open_segments(camera_id):
        path = inside(data_dir, seg.path)
        facts = inspect(path if path is not None else data_dir / "-missing-")
        end = seg.start + facts.duration
        cut.append(
            recordings.close_segment(
                seg.id, end, facts.frames, facts.size, facts.sha256, SegmentState.CUT
            )
        )
        log.warning("camera '%s': segment %s was cut (%d frames kept)", camera_id, seg.path,
                    facts.frames)  # fmt: skip
    return cut
