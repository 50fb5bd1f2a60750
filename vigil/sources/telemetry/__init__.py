"""Telemetry of moving cameras: GoPro GPMF in MP4, DJI SRT sidecars, MISB ST 0601 KLV.

Each reader yields `vigil.domain.Telemetry` in time order, `t` in seconds from the start of
the video (for a raw KLV file, from its first packet). `read_telemetry` picks the reader for
a video (what it carries) or a sidecar (what it is).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vigil.domain import Telemetry
from vigil.logtext import escape
from vigil.sources.telemetry.align import TelemetryTrack, interpolate
from vigil.sources.telemetry.common import (
    NoTelemetry,
    Problem,
    TelemetryError,
    check_file,
    log_problem,
)
from vigil.sources.telemetry.dji_srt import read_dji_srt
from vigil.sources.telemetry.gpmf import read_gpmf
from vigil.sources.telemetry.klv import UAS_LS_KEY, read_klv
from vigil.sources.telemetry.stream import KlvStream, read_klv_stream

__all__ = [
    "KlvStream",
    "NoTelemetry",
    "TelemetryError",
    "TelemetryTrack",
    "interpolate",
    "read_dji_srt",
    "read_gpmf",
    "read_klv",
    "read_klv_stream",
    "read_telemetry",
]


def _looks_like_srt(head: bytes) -> bool:
    text = head.decode("utf-8-sig", errors="replace")
    return "-->" in text[:400]


def read_telemetry(
    path: str | Path, sidecar: str | Path | None = None, *, on_problem: Problem = log_problem
) -> Iterator[Telemetry]:
    """The telemetry of a video (GPMF in an MP4, a KLV data stream) or of its sidecar (a DJI
    .SRT, a raw KLV file); TelemetryError when there is none or it cannot be read."""
    source = Path(sidecar if sidecar is not None else path)
    check_file(source, "telemetry" if sidecar is not None else "video or telemetry")
    with source.open("rb") as f:
        head = f.read(512)
    if head.startswith(UAS_LS_KEY[:4]):
        return read_klv(source, on_problem=on_problem)
    if source.suffix.lower() == ".srt" or _looks_like_srt(head):
        return read_dji_srt(source, on_problem=on_problem)
    if sidecar is not None:
        raise TelemetryError(
            f"sidecar '{escape(source)}' is neither a DJI .SRT nor a raw KLV file; give the "
            "drone's .SRT or a file of MISB ST 0601 packets"
        )
    return _from_video(source, on_problem)


def _from_video(path: Path, on_problem: Problem) -> Iterator[Telemetry]:
    try:
        return read_gpmf(path, on_problem=on_problem)
    except NoTelemetry:
        pass
    try:
        return read_klv_stream(path, on_problem=on_problem)
    except NoTelemetry:
        pass
    raise NoTelemetry(
        f"'{escape(path)}' carries no telemetry (no GoPro GPMF track, no KLV data stream); "
        "for a DJI video give its .SRT with --sidecar; the video itself can still be analysed"
    )
