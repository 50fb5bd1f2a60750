"""`vigil export --camera ID --from T --to T --purpose TEXT --out DIR` and
`vigil export verify DIR [--key PEM | --fingerprint FP]`.

The export is on the audit record as `cli:<os user>`: whoever runs the CLI is the machine's
operator (they can read the database and the footage anyway), so an unblurred export needs
no role here, only a stated reason, which is recorded. Verifying reads only the folder.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vigil.audit.cli import DEFAULT_DATA, DataOpt, DbOpt, err, open_store, out, stated_purpose
from vigil.audit.log import AuditLog, cli_actor
from vigil.errors import VigilError
from vigil.logtext import shown
from vigil.store.queries import as_utc

export_app = typer.Typer(
    help="Signed evidence export of recorded footage (audited), and its verification.",
    invoke_without_command=True,
    no_args_is_help=True,
)
CLI_AUTHORITY = "operator of this machine (CLI)"


def parse_iso(value: str, what: str) -> float:
    """T in ISO 8601 (a time without a zone is UTC)."""
    try:
        return as_utc(datetime.fromisoformat(value)).timestamp()
    except ValueError:
        raise VigilError(
            f"{what} '{shown(value)}' is not an ISO 8601 time; write e.g. 2026-01-31T08:00:00Z"
        ) from None


def parse_region(value: str) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in value.split(","))
    except ValueError:
        raise VigilError(
            f"--subject '{shown(value)}' is not a box; give X,Y,W,H as fractions of the frame, "
            "e.g. 0.5,0.1,0.3,0.6"
        ) from None
    if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 - x and 0 < h <= 1 - y):
        raise VigilError("--subject must lie inside the frame: 0 <= X, Y < 1 and X+W, Y+H <= 1")
    return x, y, w, h


def parse_face(value: str) -> tuple[float, float, float]:
    """--subject-face T,X,Y: the face under (X, Y) (fractions of the frame) at time T."""
    parts = value.rsplit(",", 2)
    try:
        x, y = float(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        raise VigilError(
            f"--subject-face '{shown(value)}' is not TIME,X,Y; give e.g. "
            "2026-01-31T08:00:03Z,0.62,0.35 (the face under that point of the frame then)"
        ) from None
    return parse_iso(parts[0], "--subject-face's time"), x, y


def _say_result(result_path: Path, record: dict[str, object]) -> None:
    out.print(
        f"export {record['id']} written to {shown(result_path)}", highlight=False, soft_wrap=True
    )
    out.print(
        f"  {record['files']} files, {record['size']} bytes; manifest SHA-256 "
        f"{record['manifest_sha256']}",
        highlight=False,
        soft_wrap=True,
    )
    gaps = record["gaps"]
    assert isinstance(gaps, list)
    for g in gaps:
        out.print(
            f"  gap: {g['camera']} {g['start']} .. {g['end']} ({g['seconds']} s): "
            f"{shown(g['reason'])}",
            highlight=False,
            soft_wrap=True,
        )
    warnings = record["warnings"]
    assert isinstance(warnings, list)
    for w in warnings:
        err.print(f"  [bold yellow]warning:[/] {shown(w)}", highlight=False, soft_wrap=True)
    out.print(
        f"  check it with: vigil export verify {shown(result_path)} "
        f"--fingerprint {record['fingerprint']}",
        highlight=False,
        soft_wrap=True,
    )


def _progress() -> Progress:
    """Frames blurred so far (blurring is the long part: every frame is searched for faces)."""
    return Progress(
        TextColumn("blurring faces"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@export_app.callback()
def export(
    ctx: typer.Context,
    camera: Annotated[list[str] | None, typer.Option(help="camera id (repeat for several)")] = None,
    start: Annotated[str | None, typer.Option("--from", help="ISO 8601 start")] = None,
    end: Annotated[str | None, typer.Option("--to", help="ISO 8601 end")] = None,
    purpose: Annotated[str | None, typer.Option(help="why: case number or reason")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="a new (or empty) folder")] = None,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
    unblurred: Annotated[
        bool, typer.Option("--unblurred", help="do not blur faces (needs --reason)")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="why faces must be seen")] = None,
    subject: Annotated[
        str | None, typer.Option(help="X,Y,W,H (fractions): faces inside stay unblurred")
    ] = None,
    subject_face: Annotated[
        str | None,
        typer.Option(
            help="T,X,Y: the face under point X,Y (fractions) at time T stays "
            "unblurred, followed through the clip (one camera)"
        ),  # fmt: skip
    ] = None,
) -> None:
    """Export cameras' footage over [--from, --to] with events, alerts, snapshots and a signed
    manifest; faces blurred unless --unblurred --reason TEXT."""
    if ctx.invoked_subcommand is not None:
        return
    from vigil.datadir import private_data_dir
    from vigil.recording.export import ExportRequest, create_export

    missing = [n for n, v in (("--camera", camera), ("--from", start), ("--to", end),
                              ("--purpose", purpose), ("--out", out_dir)) if not v]  # fmt: skip
    if missing:
        raise VigilError(f"give {', '.join(missing)} (see vigil export --help)")
    assert camera and start and end and purpose and out_dir
    if unblurred and not (reason and reason.strip()):
        raise VigilError("--unblurred needs --reason TEXT: why faces must be seen (it is recorded)")
    req = ExportRequest(
        tuple(camera), parse_iso(start, "--from"), parse_iso(end, "--to"),
        stated_purpose(purpose), cli_actor(), CLI_AUTHORITY, unblurred,
        reason.strip() if reason else None, parse_region(subject) if subject else None, "cli",
        parse_face(subject_face) if subject_face else None,
    )  # fmt: skip
    store = open_store(data, db)
    try:
        private_data_dir(data)
        with _progress() as bar:
            task = bar.add_task("blur", total=None)

            def show(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = create_export(store, data, req, out_dir, AuditLog(store, data),
                                   progress=show)  # fmt: skip
    finally:
        store.close()
    _say_result(out_dir, result.record())


@export_app.command("verify")
def verify(
    folder: Annotated[Path, typer.Argument(help="the export's folder")],
    key: Annotated[
        Path | None, typer.Option(help="the installation's public key (PEM) you trust")
    ] = None,
    fingerprint: Annotated[
        str | None, typer.Option(help="the key fingerprint the installation publishes")
    ] = None,
) -> None:
    """Check an export without the database: the signature, every file's hash and size, files
    missing or added. Exit 0 when all holds, 1 naming each problem."""
    from vigil.recording.keys import load_public_pem
    from vigil.recording.verify import verify_export

    trusted = None
    if key is not None:
        if not key.is_file():
            raise VigilError(f"--key '{shown(key)}' is not a file; save GET /api/keys' PEM to one")
        trusted = load_public_pem(key.read_bytes(), f"--key '{shown(key)}'")
    verdict = verify_export(folder, trusted, fingerprint)
    for fact in verdict.facts:
        out.print(shown(fact), highlight=False, soft_wrap=True)
    for problem in verdict.problems:
        err.print(f"[bold red]BAD:[/] {shown(problem)}", highlight=False, soft_wrap=True)
    if not verdict.ok:
        err.print(
            f"export NOT verified: {len(verdict.problems)} problem(s)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    out.print("export verified", highlight=False, soft_wrap=True)
