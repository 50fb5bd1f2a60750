"""Segments cut by a crash or a kill: still `open` in the index when no recorder owns them.
Their files play up to their last complete fragment; `mark_cut` records what they hold."""

from __future__ import annotations

import logging
from pathlib import Path

from vigil.datadir import inside
from vigil.domain import Segment, SegmentState
from vigil.recording.index import Recordings
from vigil.recording.segment import inspect

log = logging.getLogger(__name__)

CUT_REASON = "the recorder stopped mid-segment (a crash or a kill)"


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
