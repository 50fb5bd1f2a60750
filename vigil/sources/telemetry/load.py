"""The telemetry a file source attaches to its frames: what the video carries, or a sidecar.

Telemetry is an extra: a video whose telemetry is missing or broken is still a video. A
sidecar the user named that cannot be read is their error to fix (SourceError); a video that
carries no telemetry has none (no warning); one whose telemetry is damaged is read without
it, with a warning naming the problem.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av

from vigil.logtext import escape
from vigil.sources.telemetry import NoTelemetry, TelemetryError, TelemetryTrack, read_telemetry

log = logging.getLogger(__name__)


def _has_data_stream(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            return any(s.type == "data" for s in container.streams)
    except (av.FFmpegError, OSError, ValueError):
        return False


def load_track(
    camera_id: str, video: Path, sidecar: str | Path | None = None, *, max_age: float = 1.0
) -> TelemetryTrack | None:
    """The telemetry track for a file source, or None when there is none to use."""
    problems: list[str] = []
    try:
        if sidecar is not None:
            samples = read_telemetry(video, sidecar, on_problem=problems.append)
            return TelemetryTrack(samples, max_age=max_age)
        if not _has_data_stream(video):
            return None  # the usual case (a camera's clip): nothing to read, nothing to say
        try:
            return TelemetryTrack(
                read_telemetry(video, on_problem=problems.append), max_age=max_age
            )
        except NoTelemetry:
            return None
        except TelemetryError as exc:
            log.warning(
                "camera '%s': %s; the video is read without positions", escape(camera_id), exc
            )
            return None
    finally:
        _report(camera_id, problems)


def _report(camera_id: str, problems: list[str]) -> None:
    """One warning for a file's damaged telemetry, not one per packet."""
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        log.warning("camera '%s': telemetry: %s%s", escape(camera_id), problems[0], more)
