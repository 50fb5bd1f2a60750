"""`vigil telemetry FILE [--sidecar SRT] [--json]`: a video's or sidecar's telemetry samples."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from vigil.domain import Telemetry
from vigil.logtext import escape
from vigil.sources.telemetry import read_telemetry

_FIRST = ("t", "lat", "lon", "alt")  # always written, null when unknown
_SKIP = frozenset({"frame_center", "corners"})


def _round(value: float) -> float | None:
    return round(value, 7) if math.isfinite(value) else None


def _projected(sample: Telemetry, ground_alt: float | None) -> tuple[float, float] | None:
    """The frame centre projected from the pose, where the source says where the sensor
    looks (sensor angles: KLV, a DJI gimbal). A GoPro's body attitude is not the camera's
    (a Karma's camera hangs on a gimbal), so it is not projected."""
    if sample.sensor_elevation is None:
        return None
    from vigil.geo import projected_centre

    return projected_centre(sample, ground_alt)


def sample_json(sample: Telemetry, ground_alt: float | None = None) -> dict[str, Any]:
    """One sample as the JSON line `vigil telemetry --json` writes."""
    out: dict[str, Any] = {name: getattr(sample, name) for name in _FIRST}
    for f in fields(Telemetry):
        value = getattr(sample, f.name)
        if f.name in _FIRST or f.name in _SKIP or value is None or value == "":
            continue
        out[f.name] = value
    if sample.frame_center is not None:
        out["frame_center"] = list(sample.frame_center)
    if sample.corners is not None:
        out["corners"] = [list(c) for c in sample.corners]
    centre = _projected(sample, ground_alt)
    if centre is not None:
        out["projected_center"] = [centre[0], centre[1]]
    return {k: _rounded(v) for k, v in out.items()}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return _round(value)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _path_m(samples: list[Telemetry]) -> float:
    from vigil.geo import haversine_m

    points = [(s.lat, s.lon) for s in samples if s.lat is not None and s.lon is not None]
    return sum(haversine_m(a, b) for a, b in zip(points, points[1:], strict=False))


def telemetry(
    file: Annotated[
        Path,
        typer.Argument(
            help="a video (GoPro MP4 with GPMF, MPEG-TS with KLV) or a telemetry file "
            "(DJI .SRT, raw MISB ST 0601 KLV)"
        ),
    ],
    sidecar: Annotated[
        Path | None,
        typer.Option("--sidecar", help="the video's telemetry file (DJI .SRT, raw KLV)"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object per sample, one per line")
    ] = False,
    ground_alt: Annotated[
        float | None,
        typer.Option(
            "--ground-alt",
            help="the ground's elevation in metres for projected_center (default: what the "
            "source says: KLV's frame-centre elevation, a drone's take-off point)",
        ),
    ] = None,
) -> None:
    """Print the telemetry of a body-camera or drone video: one sample per line."""
    err = Console(stderr=True)
    problems: list[str] = []
    samples = list(read_telemetry(file, sidecar, on_problem=problems.append))
    for problem in problems:
        err.print(f"[yellow]warning:[/] {escape(problem)}", highlight=False, soft_wrap=True)
    if as_json:
        for sample in samples:
            typer.echo(json.dumps(sample_json(sample, ground_alt), allow_nan=False))
        return
    span = samples[-1].t - samples[0].t
    sources = ", ".join(sorted({s.source for s in samples}))
    typer.echo(
        f"{len(samples)} samples ({sources}) over {span:.1f} s, path {_path_m(samples):.0f} m"
    )
    for sample in samples:
        line = sample_json(sample, ground_alt)
        typer.echo("  ".join(f"{k}={v}" for k, v in line.items() if k != "source"))
