"""`vigil plates IMAGE ...` (read the plates in pictures) and `vigil plates search` (plate
reads by exact or partial plate, audited with a purpose, as `vigil events search --plate`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from vigil.errors import VigilError
from vigil.logtext import shown

out = Console()
err = Console(stderr=True)


class _ReadsByDefault(TyperGroup):
    """`vigil plates IMAGE ...` reads images; `vigil plates search ...` searches plate reads:
    anything that is not a subcommand's name goes to `read`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["read", *args]
        return super().parse_args(ctx, args)


plates_app = typer.Typer(
    cls=_ReadsByDefault,
    help="Licence plates: read them in pictures (vigil plates IMAGE ...), search plate reads.",
    no_args_is_help=True,
)


@plates_app.command("search")
def plates_search(
    plate: Annotated[str, typer.Argument(help="the plate, whole or partial (AB?12*)")],
    purpose: Annotated[str, typer.Option(help="why: case number or reason (3-200 characters)")],
    data: Annotated[Path, typer.Option(help="data directory")] = Path("vigil-data"),
    db: Annotated[str | None, typer.Option(help="database URL (default: SQLite in --data)")] = None,
    camera: Annotated[str | None, typer.Option(help="camera id")] = None,
    since: Annotated[str | None, typer.Option(help="from (ISO 8601 / UNIX s)")] = None,
    until: Annotated[str | None, typer.Option(help="up to (ISO 8601 / UNIX s)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """Plate reads by exact or partial plate, newest first; audited with its purpose (as
    `vigil events search --plate`)."""
    from vigil.audit.cli import search as search_events

    search_events(
        purpose=purpose,
        data=data,
        db=db,
        camera=camera,
        label=None,
        since=since,
        until=until,
        plate=plate,
        limit=limit,
        as_json=as_json,
    )


@plates_app.command("read")
def plates(
    images: Annotated[list[Path], typer.Argument(help="photos or vehicle crops (JPEG, PNG, ...)")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON line per image")] = False,
    region: Annotated[
        list[str] | None,
        typer.Option("--region", help="plate formats of this region only (repeat it); default all"),
    ] = None,
) -> None:
    """Read the licence plates in pictures, most likely first. A file that cannot be read is
    one line on stderr; the others still go through (exit 1 if any failed)."""
    import cv2

    from vigil.vision.plates import PlateReader, formats_for

    try:
        formats = formats_for(region)
    except ValueError as exc:
        raise VigilError(str(exc)) from None  # one line, exit 2 (vigil.cli.user_errors)
    reader = PlateReader(formats)
    failed = 0
    for path in images:
        image = cv2.imread(str(path)) if path.is_file() else None
        if image is None:
            why = "does not exist" if not path.exists() else "is not a picture OpenCV can read"
            err.print(
                f"[bold red]error:[/] {shown(path)} {why}; skipped", highlight=False, soft_wrap=True
            )
            failed += 1
            continue
        found = reader.read(image)
        if as_json:
            line = {"image": str(path), "plates": [c.to_json() for c in found]}
            out.print(json.dumps(line), highlight=False, soft_wrap=True)
        else:
            best = ", ".join(f"{c.text} ({c.confidence:.2f})" for c in found[:3]) or "no plate"
            out.print(f"{shown(path)}: {shown(best)}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
