"""`vigil fire FILE ...`: flame and smoke in photos (single-image mode) and videos (the
fire-watch pipeline: the fire detector, the tracker and the fire analyzer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from vigil.errors import SourceError, VigilError
from vigil.logtext import shown

out = Console()
err = Console(stderr=True)


def fire(
    files: Annotated[list[Path], typer.Argument(help="photos (JPEG, PNG, ...) or videos")],
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON line per photo, per video event")
    ] = False,
    sensitivity: Annotated[
        str, typer.Option(help="video: low | normal | high (persistence and least score)")
    ] = "normal",
    config_path: Annotated[
        Path | None, typer.Option("--config", "-c", help="vigil.yml: analyse videos as a camera")
    ] = None,
    camera: Annotated[str | None, typer.Option(help="that camera's id in --config")] = None,
) -> None:
    """Find flame and smoke in photos and videos.

    A video goes through the fire-watch pipeline (flame colour, flicker in place, a yellow-white
    core; smoke as a drifting grey veil on a fixed camera) and gives one event per fire once it
    has persisted for the sensitivity's time (low 3 s, normal 1 s, high 0.5 s; smoke 5 times
    longer). A photo has no flicker: the single-image mode ("mode": "still") decides from colour,
    light, a hot yellow core, texture and a ragged shape only, with a stricter threshold, and
    reports smoke only above a flame it found. A file that cannot be read is one line on stderr;
    the others still go through (exit 2 if any failed)."""
    from vigil.analyzers.fire import LEVELS

    if sensitivity not in LEVELS:
        raise VigilError(
            f"--sensitivity must be one of {', '.join(LEVELS)}, not '{shown(sensitivity)}'"
        )
    failed = 0
    for path in files:
        try:
            if _is_video(path):
                _video(path, as_json, sensitivity, config_path, camera)
            else:
                _photo(path, as_json)
        except SourceError as exc:  # this file only; a bad --config stops the command
            err.print(f"[bold red]error:[/] {shown(exc)}", highlight=False, soft_wrap=True)
            failed += 1
    if failed:
        raise typer.Exit(2)


def _reflowed(doc: str | None) -> str:
    """A docstring with each paragraph on one line (the help wraps it to the terminal)."""
    paragraphs = (doc or "").strip().split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


fire.__doc__ = _reflowed(fire.__doc__)


def _must_be_a_file(path: Path) -> None:
    if path.is_dir():
        raise SourceError(f"{path} is a folder; name the photos or videos in it")
    if not path.is_file():
        raise SourceError(f"{path} does not exist; check the path")


def _is_video(path: Path) -> bool:
    from vigil.vision.fire.video import VIDEO_SUFFIXES

    return path.suffix.lower() in VIDEO_SUFFIXES


def _photo(path: Path, as_json: bool) -> None:
    import cv2

    from vigil.vision.fire.still import detect_still

    _must_be_a_file(path)
    image = cv2.imread(str(path))
    if image is None:
        raise SourceError(
            f"{path} is not a picture OpenCV can read; give a JPEG, PNG, BMP or TIFF file"
        )
    found = detect_still(image)
    if as_json:
        line = {
            "image": str(path),
            "mode": "still",
            "detections": [
                {"label": d.label, "score": d.score, "box": d.box.as_list()} for d in found
            ],
        }
        out.print(json.dumps(line), highlight=False, soft_wrap=True)
        return
    table = Table(title=f"{shown(path)} (still: colour, core, texture, shape)")
    for column in ("label", "score", "box x, y, w, h"):
        table.add_column(column)
    for d in found:
        table.add_row(d.label, f"{d.score:.2f}", ", ".join(f"{v:g}" for v in d.box.as_list()))
    out.print(table if found else f"{shown(path)}: no flame or smoke", highlight=False)


def _video(
    path: Path, as_json: bool, sensitivity: str, config_path: Path | None, camera_id: str | None
) -> None:
    from vigil.config import VigilConfig, load_config
    from vigil.vision.fire.video import FIRE_EVENTS, fire_camera, watch_video

    _must_be_a_file(path)
    config = load_config(config_path) if config_path else VigilConfig()
    cam = _configured(config, str(path), camera_id, sensitivity) if config_path else None
    cam = cam or fire_camera(str(path), sensitivity)
    events = []
    with Progress(
        TextColumn(f"[bold]{shown(path.name)}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        console=err,
        disable=as_json or not err.is_terminal,
    ) as progress:
        task = progress.add_task("fire", total=None)
        for step in watch_video(str(path), cam, config):
            progress.update(task, advance=1, total=step.total_frames)
            for event in step.result.events:
                if event.type not in FIRE_EVENTS:
                    continue
                events.append(event)
                if as_json:
                    out.print(json.dumps(event.to_json()), highlight=False, soft_wrap=True)
    if not as_json:
        _event_table(path, events)


def _configured(config: Any, video: str, camera_id: str | None, sensitivity: str) -> Any:
    """The camera of vigil.yml to watch `video` as (its detector, view, masks); with a fire
    analyzer at `sensitivity` when it has none."""
    if camera_id:
        cam = config.camera(camera_id)
    elif len(config.cameras) == 1:
        cam = config.cameras[0]
    elif config.cameras:
        ids = ", ".join(c.id for c in config.cameras)
        raise VigilError(f"the configuration has several cameras ({ids}); choose one with --camera")
    else:
        return None
    cam = cam.model_copy(update={"source": video})
    if any(a.kind == "fire" for a in cam.analyzers):
        return cam
    data = cam.model_dump()
    data["analyzers"] = [*data["analyzers"], {"kind": "fire", "sensitivity": sensitivity}]
    return type(cam).model_validate(data)


def _event_table(path: Path, events: list[Any]) -> None:
    if not events:
        out.print(f"{shown(path)}: no fire or smoke", highlight=False)
        return
    table = Table(title=f"{shown(path)}: fire watch")
    for column in ("event", "first seen s", "told at s", "score", "box x, y, w, h", "bearing"):
        table.add_column(column)
    for e in events:
        bearing = e.attributes.get("bearing_deg")
        table.add_row(
            str(e.type),
            f"{e.start:.1f}" if e.start is not None else "",
            f"{e.time:.1f}",
            f"{e.score:.2f}" if e.score is not None else "",
            ", ".join(f"{v:g}" for v in e.box.as_list()) if e.box else "",
            f"{bearing:.1f} deg" if bearing is not None else "",
        )
    out.print(table)
