"""`vigil watchlist create|enrol|list|show|remove|delete`: face watchlists from the shell.

A watchlist says who authorised it, for what purpose, on what legal basis, until when, where
(cameras, or a geofence: `--near LAT,LON --radius M` or `--polygon "LAT,LON;LAT,LON;..."`) and,
optionally, when in the day (`--window 14:00-23:00 --timezone Europe/Zagreb`). `enrol` adds a
person with one or more photos: each must hold one usable face (the largest is taken); only
its template, the photo's source and SHA-256 and a small aligned picture are stored, never
the photo. Every command is on the audit record as `cli:<os user>`; showing a list's people
needs a purpose.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigil.audit.cli import (
    DEFAULT_DATA,
    DataOpt,
    DbOpt,
    cli_record,
    open_store,
    out,
    stated_purpose,
)
from vigil.audit.log import cli_actor
from vigil.audit.users_cli import check_cameras
from vigil.errors import VigilError
from vigil.logtext import shown
from vigil.store.checks import parse_expiry
from vigil.store.db import Store
from vigil.store.tables import WatchlistRow
from vigil.store.watchlists import WatchlistIn, Watchlists, embedding_of

watchlist_app = typer.Typer(
    help="Face watchlists: create, enrol people, list, show, delete (audited).",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(help="the watchlist's name")]


def _audit(
    store: Store,
    data: Path,
    action: str,
    row: WatchlistRow,
    stated: str | None = None,
    **details: Any,
) -> None:
    details = {"watchlist": row.name, **details}
    cli_record(store, data, action, "watchlist", row.id, purpose=stated, details=details)


def _point(text: str) -> list[float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        raise VigilError(f"'{shown(text)}' is not LAT,LON (e.g. 45.8150,15.9819)") from None
    return [lat, lon]


def _where(near: str | None, radius: float | None, polygon: str | None) -> dict[str, Any] | None:
    if polygon is not None:
        if near is not None:
            raise VigilError("give --polygon or --near with --radius, not both")
        return {"polygon": [_point(p) for p in polygon.split(";") if p.strip()]}
    if near is None:
        if radius is not None:
            raise VigilError("--radius needs --near LAT,LON (the centre)")
        return None
    if radius is None:
        raise VigilError("--near needs --radius METRES (e.g. --radius 500)")
    return {"centre": _point(near), "radius_m": radius}


def _window(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise VigilError(f"--window '{shown(text)}' is START-END, e.g. 14:00-23:00")
    return start.strip(), end.strip()


@watchlist_app.command("create")
def create(
    name: NameArg,
    purpose: Annotated[str, typer.Option(help="what the list is for")],
    legal_basis: Annotated[str, typer.Option(help="the law or order it rests on")],
    authorised_by: Annotated[str, typer.Option(help="the named person who authorised it")],
    until: Annotated[str, typer.Option(help="valid until (ISO 8601 date or time)")],
    since: Annotated[str | None, typer.Option("--from", help="valid from (default: now)")] = None,
    camera: Annotated[list[str] | None, typer.Option(help="a camera it applies to")] = None,
    near: Annotated[str | None, typer.Option(help="geofence centre LAT,LON")] = None,
    radius: Annotated[float | None, typer.Option(help="geofence radius, metres")] = None,
    polygon: Annotated[str | None, typer.Option(help='geofence "LAT,LON;LAT,LON;..."')] = None,
    window: Annotated[str | None, typer.Option(help="daily, e.g. 14:00-23:00")] = None,
    timezone: Annotated[str, typer.Option(help="the window's clock (IANA)")] = "UTC",
    threshold: Annotated[float | None, typer.Option(help="face distance that matches")] = None,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Create a watchlist (no one on it yet: `vigil watchlist enrol`)."""
    from vigil.vision.faces import MATCH_THRESHOLD

    spec = WatchlistIn(
        name=name, purpose=purpose, legal_basis=legal_basis, authorised_by=authorised_by,
        valid_from=parse_expiry(since, "--from") if since else datetime.now(UTC),
        valid_until=parse_expiry(until, "--until"), cameras=camera or None,
        geofence=_where(near, radius, polygon), window=_window(window), timezone=timezone,
        threshold=threshold,
    )  # fmt: skip
    store = open_store(data, db)
    try:
        if camera:
            check_cameras(store, camera)
        row = Watchlists(store).create(spec, cli_actor(), MATCH_THRESHOLD)
        _audit(
            store, data, "watchlists.create", row, purpose=row.purpose,
            legal_basis=row.legal_basis, authorised_by=row.authorised_by,
            valid_until=row.valid_until.isoformat(), cameras=row.cameras, geofence=row.geofence,
            window=[row.window_start, row.window_end] if row.window_start else None,
        )  # fmt: skip
    finally:
        store.close()
    out.print(f"created watchlist {shown(name)}, valid until {spec.valid_until:%Y-%m-%d %H:%M} UTC")


@watchlist_app.command("enrol")
def enrol(
    name: NameArg,
    person: Annotated[str, typer.Argument(help="the person's name")],
    images: Annotated[list[Path], typer.Argument(help="photos, one face each")],
    source: Annotated[str, typer.Option(help="where the photos came from (kept)")],
    reference: Annotated[str | None, typer.Option(help="case or file number")] = None,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Put a person on a watchlist with their photos (templates only; never the photos)."""
    from vigil.vision.faces import FaceEngine

    engine = FaceEngine()
    templates = [_template(engine, path) for path in images]  # all checked before storing
    store = open_store(data, db)
    try:
        lists = Watchlists(store)
        row = lists.get(name)
        entry = lists.add_entry(row.id, person, reference)
        for path, (embedding, digest, picture) in zip(images, templates, strict=True):
            lists.add_template(entry.id, embedding, f"{source} ({path.name})", digest, picture)
        _audit(store, data, "watchlists.enrol", row, entry=entry.id, person=person,
               images=len(images), source=source)  # fmt: skip
    finally:
        store.close()
    out.print(f"{shown(person)} enrolled on {shown(name)} with {len(images)} photo(s)")


def _template(engine: Any, path: Path) -> tuple[Any, str, bytes]:
    import cv2
    import numpy as np

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise VigilError(f"cannot read '{path}': {exc.strerror or exc}") from None
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise VigilError(f"'{path}' is not a picture OpenCV can read (JPEG, PNG, ...)")
    face, embedding = engine.best(image)
    if face is None:
        raise VigilError(f"'{path}': no face found; enrol a clear, frontal photo")
    if embedding is None:
        raise VigilError(f"'{path}': the face is {face.quality.reason}; enrol a better photo")
    x, y, w, h = face.box
    chip = image[max(0, y) : y + h, max(0, x) : x + w]
    ok, buf = cv2.imencode(".jpg", cv2.resize(chip, (112, 112)), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return embedding, hashlib.sha256(raw).hexdigest(), buf.tobytes() if ok else b""


@watchlist_app.command("list")
def list_watchlists(data: DataOpt = DEFAULT_DATA, db: DbOpt = None) -> None:
    """Every watchlist: purpose, who authorised it, validity, where, people (no faces)."""
    store = open_store(data, db)
    try:
        rows = Watchlists(store).all()
        cli_record(store, data, "watchlists.list", "watchlist")
    finally:
        store.close()
    table = Table(title=f"watchlists ({len(rows)})")
    for col in ("name", "purpose", "authorised by", "valid (UTC)", "where", "window", "people"):
        table.add_column(col, overflow="fold")
    for r, count in rows:
        where = ", ".join(r.cameras or []) or ("geofence" if r.geofence else "")
        window = f"{r.window_start}-{r.window_end} {r.timezone}" if r.window_start else "all day"
        valid = f"{r.valid_from:%Y-%m-%d %H:%M} to {r.valid_until:%Y-%m-%d %H:%M}"
        table.add_row(shown(r.name), shown(r.purpose), shown(r.authorised_by), valid,
                      shown(where), window, str(count))  # fmt: skip
    out.print(table)


@watchlist_app.command("show")
def show(
    name: NameArg,
    purpose: Annotated[str, typer.Option(help="why: case number or reason (3-200 characters)")],
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """The people on a watchlist (the reading is audited with its purpose)."""
    stated = stated_purpose(purpose)
    store = open_store(data, db)
    try:
        lists = Watchlists(store)
        row = lists.get(name)
        people = lists.entries(row.id)
        _audit(store, data, "watchlists.read", row, stated, entries=len(people))
    finally:
        store.close()
    table = Table(title=f"{shown(name)} ({len(people)} people); purpose: {shown(stated)}")
    for col in ("id", "name", "reference", "photos"):
        table.add_column(col, overflow="fold")
    for e, n in people:
        table.add_row(str(e.id), shown(e.name), shown(e.reference or ""), str(n))
    out.print(table)


@watchlist_app.command("remove")
def remove(
    name: NameArg,
    entry: Annotated[int, typer.Argument(help="the person's id (see `show`)")],
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Take a person off a watchlist (their templates are deleted)."""
    store = open_store(data, db)
    try:
        lists = Watchlists(store)
        row = lists.get(name)
        gone = lists.remove_entry(row.id, entry)
        _audit(store, data, "watchlists.remove", row, entry=gone.id)
    finally:
        store.close()
    out.print(f"{shown(gone.name)} taken off {shown(name)}; their templates deleted")


@watchlist_app.command("delete")
def delete_watchlist(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", help="no question asked")] = False,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Delete a watchlist with its people and templates (alerts it raised stay)."""
    if not yes:
        typer.confirm(f"delete watchlist {name} and every template on it?", abort=True)
    store = open_store(data, db)
    try:
        lists = Watchlists(store)
        row = lists.delete(lists.get(name).id)
        _audit(store, data, "watchlists.delete", row)
    finally:
        store.close()
    out.print(f"deleted watchlist {shown(name)}")


def faces_search(
    image: Annotated[Path, typer.Argument(help="a photo with the face to look for")],
    watchlist: Annotated[str, typer.Option(help="the watchlist to search")],
    purpose: Annotated[str, typer.Option(help="why: case number or reason (3-200 characters)")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="candidates at most")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON line")] = False,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """The people on a watchlist nearest to the face in a photo, nearest first; `match` says
    whether each is within the list's threshold. Audited with its purpose; nothing of the
    photo is stored."""
    import json

    import numpy as np

    from vigil.vision.faces import FaceEngine

    stated = stated_purpose(purpose)
    embedding, _digest, _picture = _template(FaceEngine(), image)
    store = open_store(data, db)
    try:
        lists = Watchlists(store)
        row = lists.get(watchlist)
        best: dict[int, tuple[float, Any]] = {}
        for entry, t in lists.templates([row.id]):
            d = float(np.linalg.norm(embedding - embedding_of(t.embedding)))
            if entry.id not in best or d < best[entry.id][0]:
                best[entry.id] = (d, entry)
        ranked = sorted(best.values(), key=lambda pair: pair[0])[:limit]
        _audit(store, data, "watchlists.search", row, stated, candidates=len(ranked))
    finally:
        store.close()
    candidates = [
        {
            "entry": e.id,
            "name": e.name,
            "reference": e.reference,
            "distance": round(d, 4),
            "match": d <= row.threshold,
        }  # fmt: skip
        for d, e in ranked
    ]
    if as_json:
        print(json.dumps({"image": str(image), "watchlist": row.name, "candidates": candidates}))
        return
    table = Table(
        title=f"{shown(row.name)}: nearest to {shown(image.name)} (match <= {row.threshold:g})"
    )
    for col in ("name", "reference", "distance", "match"):
        table.add_column(col)
    for c in candidates:
        table.add_row(shown(c["name"]), shown(c["reference"] or ""), f"{c['distance']:.3f}",
                      "yes" if c["match"] else "no")  # fmt: skip
    out.print(table)
