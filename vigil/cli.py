"""The `vigil` command. Thin: parses arguments, calls the modules, presents the results."""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vigil import __version__
from vigil.config import CameraConfig, VigilConfig, load_config
from vigil.errors import SourceError, VigilError
from vigil.logtext import configure_logging, shown

app = typer.Typer(
    name="vigil",
    help="Vigil: open, accountable video analytics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """A user's mistake ends the command with one line naming the problem and the fix."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VigilError as exc:
            message = shown(exc)  # it may quote user text (a path, a name): shown, not obeyed
            console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def demo_clip() -> Path:
    """The bundled demo clip (CC BY 4.0, Intel; see vigil/assets/CREDITS.md)."""
    return Path(str(resources.files("vigil") / "assets" / "one-by-one-person-detection.mp4"))


def _camera_for(config: VigilConfig, video: str, camera_id: str | None) -> CameraConfig:
    """The configured camera to analyse `video` as; an ad-hoc one when none is configured."""
    if camera_id:
        return config.camera(camera_id).model_copy(update={"source": video})
    if len(config.cameras) == 1:
        return config.cameras[0].model_copy(update={"source": video})
    if len(config.cameras) > 1:
        ids = ", ".join(c.id for c in config.cameras)
        raise VigilError(f"the configuration has several cameras ({ids}); choose one with --camera")
    return CameraConfig.model_validate(
        {"id": Path(video).stem[:64].replace(" ", "_") or "video", "source": video}
    )


@app.command()
@user_errors
def analyze(
    video: Annotated[str, typer.Argument(help="video file, or rtsp:// / http(s):// stream")],
    config_path: Annotated[Path | None, typer.Option("--config", "-c", help="vigil.yml")] = None,
    camera: Annotated[
        str | None, typer.Option(help="camera id in the config to analyse as")
    ] = None,
    events: Annotated[Path | None, typer.Option(help="write events as JSON Lines here")] = None,
    annotate: Annotated[Path | None, typer.Option(help="write an annotated MP4 here")] = None,
    data: Annotated[Path, typer.Option(help="data directory (database, snapshots)")] = Path(
        "vigil-data"
    ),
    db: Annotated[str | None, typer.Option(help="database URL (default: SQLite in --data)")] = None,
    no_gate: Annotated[
        bool, typer.Option("--no-gate", help="run the detector on every frame")
    ] = False,
    max_wait: Annotated[
        float, typer.Option(help="seconds to wait for a stream before giving up")
    ] = 10.0,
) -> None:
    """Find, track and count objects in a video; write events, annotated video and database."""
    from vigil.analyzers.base import AnalyzerServices
    from vigil.datadir import private_data_dir
    from vigil.pipeline.analyze import run_analysis
    from vigil.pipeline.camera import CameraPipeline, detector_for_camera
    from vigil.pipeline.sinks import AnnotatedVideo, EventsFile, Sink, StoreSink, face_blur
    from vigil.sources import open_source
    from vigil.store.db import Store, default_db_url

    config = load_config(config_path) if config_path else VigilConfig()
    cam = _camera_for(config, video, camera)
    is_stream = "://" in video and not video.startswith("file:")
    options: dict[str, Any] = {"give_up_after": max_wait} if is_stream else {}
    source = open_source(cam.id, video, **options)
    frames = source.frames()
    try:
        first = next(frames)
    except StopIteration:
        raise SourceError(f"'{video}' has no decodable video frames; check the file") from None
    size = (first.width, first.height)
    detector = detector_for_camera(config, cam)
    private_data_dir(data, lambda m: console.print(shown(m), highlight=False))
    store = Store(db or default_db_url(data))
    pipeline = CameraPipeline(
        cam, config, detector, size, motion_gating=not no_gate, services=AnalyzerServices(store)
    )
    store.save_camera(cam.to_camera())
    origin = time.time() - first.timestamp
    from vigil.ingest.live import camera_tagger  # tracks and events placed on the map

    geo = camera_tagger(cam, path_every=None)  # its path is ingest's (vigil ingest)
    sinks: list[Sink] = [StoreSink(store, data, cam.id, origin, redact=face_blur(cam), geo=geo)]
    if events:
        sinks.append(EventsFile(events))
    if annotate:
        sinks.append(AnnotatedVideo(annotate, source.fps or 10.0, size, pipeline))
    total = source.total_frames
    with Progress(
        TextColumn(f"[bold]{cam.id}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TextColumn("{task.fields[calls]} detector calls"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("analyze", total=total, calls=0)

        def advance(_frame: Any) -> None:
            progress.update(task, advance=1, calls=pipeline.stats.detector_calls)

        summary = run_analysis(
            itertools.chain([first], frames), pipeline, source.fps, sinks, advance
        )
    source.close()
    store.close()
    _print_summary(summary)
    out.print(f"database: {store.url}")
    out.print(f"snapshots: {data / 'snapshots' / cam.id}")
    if events:
        out.print(f"events: {events}")
    if annotate:
        out.print(f"annotated video: {annotate}")


def _print_summary(summary: Any) -> None:
    table = Table(title=f"Vigil analysis of camera '{summary.camera_id}'", show_header=True)
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, n in sorted(summary.tracks_by_label.items()):
        table.add_row(f"tracks: {label}", str(n))
    for kind, n in sorted(summary.events_by_type.items()):
        table.add_row(f"events: {kind}", str(n))
    for line, counts in summary.line_counts.items():
        table.add_row(f"line {line}", f"in {counts['in']}  out {counts['out']}")
    table.add_row("frames decoded", str(summary.frames))
    table.add_row(
        "detector calls", f"{summary.detector_calls} ({summary.detect_fraction:.0%} of frames)"
    )
    table.add_row("video length", f"{summary.media_seconds:.1f} s")
    table.add_row("speed", f"{summary.realtime_factor:.1f}x real time")
    out.print(table)


@app.command()
@user_errors
def track(
    seq_dir: Annotated[
        Path, typer.Argument(help="MOTChallenge sequence folder (seqinfo.ini, det/det.txt)")
    ],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="write MOTChallenge results here")],
    lost_timeout: Annotated[
        float | None,
        typer.Option(help="seconds a lost track waits to be seen again (default: the tracker's)"),
    ] = None,
    raw_scores: Annotated[
        bool,
        typer.Option(
            "--raw-scores",
            help="det.txt confidences are already 0..1 probabilities (default: MOT15 margins)",
        ),
    ] = False,
) -> None:
    """Track the public detections of a MOTChallenge sequence; write its results file."""
    from dataclasses import replace

    from vigil.tracking.mot import (
        MOT15_SCORE,
        raw_score,
        read_sequence,
        track_sequence,
        write_results,
    )
    from vigil.tracking.tracker import TrackerParams

    params = TrackerParams()
    if lost_timeout is not None:
        if not lost_timeout >= 0:
            raise VigilError(f"--lost-timeout must be 0 or more seconds, got {lost_timeout}")
        params = replace(params, lost_timeout=lost_timeout)
    seq = read_sequence(seq_dir, raw_score if raw_scores else MOT15_SCORE)
    run = track_sequence(seq, params)
    lines = write_results(out_path, run.frames)
    frames = seq.info.length
    fps = frames / run.seconds if run.seconds > 0 else float("inf")
    out.print(
        f"{seq.info.name}: {frames} frames, {run.track_count} tracks, {lines} boxes, "
        f"tracking {fps:.0f} frames/s; results: {out_path}",
        highlight=False,
        soft_wrap=True,
    )


RunnerOption = Annotated[
    str | None, typer.Option("--runner", help="where cameras run: in-process or ray (runner.kind)")
]
RayAddressOption = Annotated[
    str | None, typer.Option("--ray-address", help="the Ray cluster's head, host:port")
]


def with_runner(config: VigilConfig, runner: str | None, address: str | None) -> VigilConfig:
    from vigil.config.runner import with_options

    return config.model_copy(update={"runner": with_options(config.runner, runner, address)})


@app.command()
@user_errors
def serve(
    config_path: Annotated[Path, typer.Option("--config", "-c", help="vigil.yml")] = Path(
        "vigil.yml"
    ),
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = 8080,
    data: Annotated[Path, typer.Option(help="data directory (database, snapshots, keys)")] = Path(
        "vigil-data"
    ),
    db: Annotated[str | None, typer.Option(help="database URL (default: SQLite in --data)")] = None,
    no_cameras: Annotated[
        bool,
        typer.Option(
            "--no-cameras",
            help="the web app only: cameras run in `vigil worker` processes on bus.url",
        ),
    ] = False,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies", help="Secure session cookie (behind HTTPS; also server: in yml)"
        ),
    ] = False,
    runner: RunnerOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Run the cameras of a configuration and the command-centre web app until Ctrl-C."""
    from vigil.server import resolve_sources
    from vigil.server import serve as run_server

    config = resolve_sources(load_config(config_path), config_path.resolve().parent)
    config = with_runner(config, runner, ray_address)
    run_server(config, host, port, data, db, cameras=not no_cameras, secure_cookies=secure_cookies)


@app.command()
@user_errors
def worker(
    config_path: Annotated[Path, typer.Option("--config", "-c", help="vigil.yml")] = Path(
        "vigil.yml"
    ),
    data: Annotated[Path, typer.Option(help="data directory (snapshots; database)")] = Path(
        "vigil-data"
    ),
    db: Annotated[str | None, typer.Option(help="database URL (default: SQLite in --data)")] = None,
    runner: RunnerOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Run the cameras of a configuration only, publishing over NATS (bus.url), until Ctrl-C;
    `vigil serve --no-cameras` with the same configuration shows them."""
    from vigil.server import resolve_sources, run_worker

    config = resolve_sources(load_config(config_path), config_path.resolve().parent)
    config = with_runner(config, runner, ray_address)
    run_worker(config, data, db)


@app.command()
@user_errors
def demo(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = 8080,
    data: Annotated[Path, typer.Option(help="data directory (database, snapshots, keys)")] = Path(
        "vigil-data"
    ),
    fire: Annotated[
        bool, typer.Option("--fire", help="the fire watch demo: two towers see a house fire")
    ] = False,
) -> None:
    """`vigil serve` with the bundled demo: two looping cameras on a map, a zone, a line, rules
    (--fire: two watch towers whose bearings to a house fire cross on the map)."""
    from vigil.server import DEMO_CONFIG, FIRE_DEMO_CONFIG, demo_config
    from vigil.server import serve as run_server

    run_server(demo_config(FIRE_DEMO_CONFIG if fire else DEMO_CONFIG), host, port, data, None)


def _add_accountability_commands() -> None:
    from vigil.audit.cli import audit_app, events_app, report_app, retention_app
    from vigil.audit.users_cli import users_app
    from vigil.incidents.cli import incidents_app, units_app
    from vigil.integrations.onvif_cli import cameras_app
    from vigil.recording.export_cli import export_app
    from vigil.rules.hotlist_cli import hotlist_app
    from vigil.rules.watchlist_cli import faces_search, watchlist_app
    from vigil.vision.faces.cli import faces_app
    from vigil.vision.plates.cli import plates_app

    faces_app.command("search")(faces_search)
    from vigil.recording.cli import record

    app.command("record")(user_errors(record))
    from vigil.ingest.cli import ingest_clip

    app.command("ingest")(user_errors(ingest_clip))
    from vigil.sources.telemetry.cli import telemetry

    app.command("telemetry")(user_errors(telemetry))
    from vigil.vision.fire.cli import fire

    app.command("fire")(user_errors(fire))

    subs = {
        "audit": audit_app,
        "events": events_app,
        "retention": retention_app,
        "report": report_app,
        "users": users_app,
        "plates": plates_app,
        "hotlist": hotlist_app,
        "watchlist": watchlist_app,
        "faces": faces_app,
        "units": units_app,
        "incidents": incidents_app,
        "export": export_app,
        "cameras": cameras_app,
    }
    for sub in subs.values():
        for cmd in sub.registered_commands:
            assert cmd.callback is not None
            cmd.callback = user_errors(cmd.callback)
        group = sub.registered_callback  # `vigil export ...` itself runs in its group's callback
        if group is not None and group.callback is not None:
            group.callback = user_errors(group.callback)
    for name, sub in subs.items():
        app.add_typer(sub, name=name)


_add_accountability_commands()


@app.command()
def version() -> None:
    """Print Vigil's version."""
    out.print(f"vigil {__version__}")


def main() -> None:
    configure_logging()  # every user-supplied string in the log output is escaped
    app()


if __name__ == "__main__":
    main()
