"""`vigil record SOURCE --camera ID`: record any source (a file, RTSP, HTTP) into indexed
segments without serving: for tests, field kits and migration. Ctrl-C closes the current
segment cleanly. The recording is on the audit record (`recording.start` / `.stop`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from vigil.audit.cli import cli_record
from vigil.config.camera import RecordingConfig
from vigil.datadir import private_data_dir
from vigil.domain import RecordingMode
from vigil.errors import VigilError
from vigil.logtext import shown
from vigil.recording.checks import check_camera_id, check_duration
from vigil.recording.index import Recordings
from vigil.recording.recorder import Recorder, RecorderStats
from vigil.sources.network import redact
from vigil.store.db import Store, default_db_url

console = Console(stderr=True)
PROGRESS_S = 0.5


def record(
    source: Annotated[str, typer.Argument(help="video file, or rtsp:// / http(s):// stream")],
    camera: Annotated[str, typer.Option(help="camera id the footage is filed under")],
    data: Annotated[Path, typer.Option(help="data directory (database, recordings)")] = Path(
        "vigil-data"
    ),
    db: Annotated[str | None, typer.Option(help="database URL (default: SQLite in --data)")] = None,
    for_s: Annotated[
        float | None,
        typer.Option(
            "--for",
            help="stop after this many seconds of video (default: until the source ends or Ctrl-C)",
        ),
    ] = None,  # fmt: skip
    segment: Annotated[float, typer.Option(help="seconds per segment file (2 to 600)")] = 10.0,
    realtime: Annotated[
        bool, typer.Option("--realtime", help="read a file at its frame rate, as a live camera")
    ] = False,
    loop: Annotated[bool, typer.Option("--loop", help="start a file again at its end")] = False,
    max_wait: Annotated[
        float, typer.Option(help="seconds to wait for a stream before giving up", min=0.1)
    ] = 10.0,
) -> None:
    """Record a source into segments indexed in the database (no analysis, no server)."""
    check_camera_id(camera)
    check_duration(for_s)
    try:  # the bounds are the configuration's (recording.segment_s)
        config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=segment)
    except ValidationError as exc:
        why = exc.errors()[0]["msg"]
        raise VigilError(f"--segment {segment:g}: {why[:1].lower()}{why[1:]} seconds") from None
    private_data_dir(data, lambda m: console.print(shown(m), highlight=False))
    store = Store(db or default_db_url(data))
    try:
        recorder = Recorder(
            camera, source, data, Recordings(store), config,
            loop=loop, realtime=realtime, for_s=for_s, give_up_after=max_wait,
            log_failures=False,
        )  # fmt: skip
        where = shown(redact(source))
        cli_record(
            store, data, "recording.start", "camera", camera, details={"source": redact(source)}
        )
        console.print(
            f"recording camera '{shown(camera)}' from {where} into {shown(data / 'recordings')} "
            "(Ctrl-C stops)", highlight=False, soft_wrap=True,
        )  # fmt: skip
        error = None
        try:
            stats = _run(recorder, camera)
        except BaseException as exc:
            error = str(exc) or type(exc).__name__
            raise
        finally:
            s = recorder.stats
            details: dict[str, object] = {
                "segments": s.segments, "frames": s.frames, "seconds": round(s.seconds, 3),
                "bytes": s.bytes, "gaps": s.gaps,
            }  # fmt: skip
            if error is not None:
                details["error"] = error
            cli_record(store, data, "recording.stop", "camera", camera, details=details)
    finally:
        store.close()
    console.print(_summary(camera, stats), highlight=False, soft_wrap=True)


def _run(recorder: Recorder, camera: str) -> RecorderStats:
    from vigil.signals import stop_on_signals

    stop = threading.Event()
    with (
        stop_on_signals(stop),
        Progress(
            SpinnerColumn(),
            TextColumn(f"[bold]{shown(camera)}[/]"),
            TextColumn("{task.fields[line]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("record", line="connecting")
        recorder.start()
        while recorder.running and not stop.wait(PROGRESS_S):
            progress.update(task, line=_line(recorder.stats))
        recorder.stop()  # closes the segment; raises what stopped it (a camera never reached)
        progress.update(task, line=_line(recorder.stats))
    return recorder.stats


def _line(s: RecorderStats) -> str:
    state = "recording" if s.recording else shown(s.error or "waiting")
    return f"{state}: {s.segments} segments, {s.frames} frames, {s.seconds:.1f} s, {s.gaps} gaps"


def _summary(camera: str, s: RecorderStats) -> str:
    gaps = f", {s.gaps} gap{'s' if s.gaps != 1 else ''}" if s.gaps else ""
    return (
        f"camera '{shown(camera)}': {s.segments} segment{'s' if s.segments != 1 else ''}, "
        f"{s.frames} frames, {s.seconds:.1f} s of video, {s.bytes / 1e6:.1f} MB{gaps}"
    )
