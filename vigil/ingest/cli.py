"""`vigil ingest FILE`: analyse a body-camera or drone clip with its telemetry; its path,
tracks and events go on the map, a unit's clip on that unit's timeline. Audited (`clips.ingest`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from vigil.audit.cli import cli_actor, cli_record, stated_purpose
from vigil.config import VigilConfig, load_config
from vigil.datadir import private_data_dir
from vigil.errors import VigilError
from vigil.ingest.run import IngestRequest, IngestResult, ingest
from vigil.logtext import shown
from vigil.recording.checks import check_camera_id
from vigil.store.db import Store, default_db_url

console = Console(stderr=True)
out = Console()


def _angle(value: float | None, what: str, low: float, high: float) -> float | None:
    if value is not None and not (math.isfinite(value) and low < value < high):
        raise VigilError(f"{what} must lie between {low:g} and {high:g}, got {value}")
    return value


def ingest_clip(
    file: Annotated[Path, typer.Argument(help="the clip (MP4, MOV, MKV, MPEG-TS)")],
    unit: Annotated[
        str | None, typer.Option(help="callsign (or id) of the unit that filmed it")
    ] = None,
    telemetry: Annotated[
        Path | None, typer.Option(help="telemetry sidecar: a DJI .SRT or raw KLV file")
    ] = None,
    camera: Annotated[
        str | None, typer.Option(help="camera id to file it under (default: unit-CALLSIGN)")
    ] = None,
    hfov: Annotated[
        float | None,
        typer.Option(help="the lens' horizontal field of view, degrees, where telemetry lacks it"),
    ] = None,
    height: Annotated[
        float | None,
        typer.Option(help="the camera's height above the ground, metres (a body camera: ~1.3)"),
    ] = None,
    ground_alt: Annotated[
        float | None,
        typer.Option(help="the ground's elevation on the telemetry's altitude datum, metres"),
    ] = None,
    config_path: Annotated[Path | None, typer.Option("--config", "-c", help="vigil.yml")] = None,
    purpose: Annotated[str | None, typer.Option(help="why (kept in the audit log)")] = None,
    data: Annotated[Path, typer.Option(help="data directory (database, snapshots)")] = Path(
        "vigil-data"
    ),
    db: Annotated[str | None, typer.Option(help="database URL (default: SQLite in --data)")] = None,
) -> None:
    """Analyse a body-camera or drone clip with its telemetry and place what it saw on the map."""
    if camera is not None:
        check_camera_id(camera)
    _angle(hfov, "--hfov", 0.0, 180.0)
    if height is not None and not (math.isfinite(height) and 0 < height < 10_000):
        raise VigilError(f"--height must be metres above the ground (more than 0), got {height}")
    if ground_alt is not None and not math.isfinite(ground_alt):
        raise VigilError("--ground-alt must be a number of metres")
    why = stated_purpose(purpose) if purpose is not None else None
    config = load_config(config_path) if config_path else VigilConfig()
    private_data_dir(data, lambda m: console.print(shown(m), highlight=False))
    store = Store(db or default_db_url(data))
    req = IngestRequest(file, cli_actor(), file.name, camera, unit, telemetry, hfov, height,
                        ground_alt)  # fmt: skip
    try:
        result = _run(store, data, config, req)
        cli_record(store, data, "clips.ingest", "clip", result.clip.id, purpose=why,
                   details=_details(result, req))  # fmt: skip
    finally:
        store.close()
    _print(result, store.url)


def _run(store: Store, data: Path, config: VigilConfig, req: IngestRequest) -> IngestResult:
    with Progress(
        TextColumn("[bold]ingest[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
        console=console, disable=not console.is_terminal,
    ) as progress:  # fmt: skip
        task = progress.add_task("ingest", total=None)

        def advance(_frame: Any) -> None:
            progress.update(task, advance=1)

        return ingest(store, data, config, req, progress=advance)


def _details(result: IngestResult, req: IngestRequest) -> dict[str, Any]:
    clip = result.clip
    return {
        "file": shown(req.filename or req.video.name), "camera": clip.camera_id,
        "unit": clip.unit_id, "telemetry": clip.telemetry, "frames": clip.frames,
        "tracks": clip.tracks, "placed": clip.placed, "path_points": result.path_points,
        "unit_positions": result.unit_positions,
    }  # fmt: skip


def _print(result: IngestResult, url: str) -> None:
    clip = result.clip
    out.print(
        f"clip {clip.id}: camera {clip.camera_id}, {clip.frames} frames, {clip.tracks} tracks "
        f"({clip.placed} placed on the map), path {result.path_points} points"
        + (f", {result.unit_positions} unit positions" if result.unit_positions else ""),
        highlight=False, soft_wrap=True,
    )  # fmt: skip
    for note in result.notes:
        out.print(f"note: {shown(note)}", highlight=False, soft_wrap=True)
    out.print(f"database: {url}", highlight=False, soft_wrap=True)
