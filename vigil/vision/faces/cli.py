"""`vigil faces compare A B` and `vigil faces compare --pairs PAIRS.csv [--json]`: is it the
same person, by the same threshold the live matcher uses (MATCH_THRESHOLD)."""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from vigil.errors import VigilError
from vigil.logtext import shown

if TYPE_CHECKING:
    import numpy as np

    from vigil.vision.faces import FaceEngine

out = Console()
err = Console(stderr=True)
COLUMNS = ("file_x", "file_y")

faces_app = typer.Typer(help="Faces: compare two pictures by face.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class Probe:
    """One picture's face for comparing: its embedding, or why there is none."""

    embedding: np.ndarray | None
    problem: str | None  # "no face", "face too small", "does not exist", ...

    def reason(self, column: str) -> str:
        return f"no face in {column}" if self.problem == "no face" else f"{column}: {self.problem}"


@functools.cache
def shared_engine() -> FaceEngine:
    """One engine per process: its models load once (about a second), not per command."""
    from vigil.vision.faces import FaceEngine

    return FaceEngine()


def probe(engine: FaceEngine, path: Path) -> Probe:
    """The largest usable face in the picture at `path` (kept in memory only)."""
    import cv2

    if not path.is_file():
        return Probe(None, "does not exist" if not path.exists() else "is not a file")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return Probe(None, "is not a picture OpenCV can read")
    face, embedding = engine.best(image)
    if face is None:
        return Probe(None, "no face")
    if embedding is None:
        return Probe(None, f"face {face.quality.reason}")
    return Probe(embedding, None)


def compare_pair(x: Probe, y: Probe, names: tuple[str, str]) -> dict[str, Any]:
    """`match`, `distance` and, when either picture gives no usable face, `reason`."""
    from vigil.vision.faces import MATCH_THRESHOLD, distance

    if x.embedding is None or y.embedding is None:
        reasons = [p.reason(n) for p, n in zip((x, y), names, strict=True) if p.problem]
        return {"match": False, "distance": None, "reason": "; ".join(reasons)}
    d = distance(x.embedding, y.embedding)
    return {"match": d <= MATCH_THRESHOLD, "distance": round(d, 4)}


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """The (file_x, file_y) rows of a pairs CSV; VigilError when it is not one."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [c.strip() for c in reader.fieldnames or []]
            if not set(COLUMNS) <= set(header):
                raise VigilError(
                    f"{path} has no columns {COLUMNS[0]},{COLUMNS[1]} in its header "
                    f"(found: {','.join(header) or 'nothing'}); add that header line."
                )
            reader.fieldnames = header
            return [
                ((row[COLUMNS[0]] or "").strip(), (row[COLUMNS[1]] or "").strip()) for row in reader
            ]
    except FileNotFoundError:
        raise VigilError(f"The pairs file {path} does not exist; check the path.") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise VigilError(f"The pairs file {path} cannot be read as CSV ({exc}).") from None


def _resolve(base: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else base / path


HELP = (
    "Compare two pictures by face: match or no match, and the distance between the faces "
    "(a match is a distance up to the threshold the live watchlist matcher uses). In a "
    "picture with several faces the largest usable one is compared; a face the quality gates "
    "reject (too small, blurred, turned away) is not compared. Nothing is stored."
)


@faces_app.command("compare", help=HELP)
def compare(
    images: Annotated[
        list[Path] | None, typer.Argument(help="two pictures, A and B", show_default=False)
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            help="CSV with a header holding file_x,file_y: one pair per line; paths "
            "relative to the CSV's folder or absolute"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON line per pair")] = False,
) -> None:
    if pairs is not None and images:
        raise VigilError("Give either two pictures or --pairs PAIRS.csv, not both.")
    if pairs is None and (not images or len(images) != 2):
        raise VigilError("Give two pictures to compare (vigil faces compare A B) or --pairs.")
    engine = shared_engine()
    if pairs is not None:
        _compare_pairs(engine, pairs, as_json)
        return
    assert images is not None
    a, b = (probe(engine, p) for p in images)
    for p, path in ((a, images[0]), (b, images[1])):
        if p.problem and p.problem != "no face" and not p.problem.startswith("face "):
            raise VigilError(f"{path} {p.problem}; give a picture file (JPEG, PNG, ...).")
    result = compare_pair(a, b, (str(images[0]), str(images[1])))
    _print(result, str(images[0]), str(images[1]), as_json)


def _compare_pairs(engine: FaceEngine, pairs: Path, as_json: bool) -> None:
    rows = read_pairs(pairs)
    base = pairs.parent
    seen: dict[Path, Probe] = {}  # a picture in several pairs is read once (in memory only)

    def cached(name: str) -> Probe:
        if not name:
            return Probe(None, "is empty")
        path = _resolve(base, name)
        if path not in seen:
            seen[path] = probe(engine, path)
        return seen[path]

    with Progress(
        TextColumn("faces"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("pairs", total=len(rows))
        for x, y in rows:
            result = compare_pair(cached(x), cached(y), COLUMNS)
            _print(result, x, y, as_json)
            progress.advance(task)


def _print(result: dict[str, Any], x: str, y: str, as_json: bool) -> None:
    if as_json:
        line = {"file_x": x, "file_y": y, **result}
        out.print(json.dumps(line), highlight=False, soft_wrap=True, markup=False)
        return
    from vigil.vision.faces import MATCH_THRESHOLD

    if "reason" in result:
        verdict = f"no match: {result['reason']}"
    else:
        word = "match" if result["match"] else "no match"
        verdict = f"{word} (distance {result['distance']:.3f}, threshold {MATCH_THRESHOLD})"
    out.print(f"{shown(x)} vs {shown(y)}: {shown(verdict)}", highlight=False, soft_wrap=True)
