"""`vigil hotlist create|import|list|show|renew|remove|delete`: plate hotlists from the shell.

Every command is on the audit record as `cli:<os user>`, like the web's hotlist routes; showing
a list's entries (plates are personal data) needs a purpose. A CSV import is checked line by
line before anything is written (see vigil/store/hotlists.py for the columns).
"""

from __future__ import annotations

import sys
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
from vigil.errors import VigilError
from vigil.logtext import shown
from vigil.store.db import Store
from vigil.store.hotlists import COLUMNS, Hotlists, parse_csv, parse_expiry
from vigil.store.tables import HotlistRow
from vigil.vision.plates.match import TOLERANCE

hotlist_app = typer.Typer(
    help="Plate hotlists: create, import CSV, list, show, renew, delete (audited).",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(help="the hotlist's name")]
MAX_FILE = 64 * 1024 * 1024


def _audit(
    store: Store,
    data: Path,
    action: str,
    row: HotlistRow,
    stated: str | None = None,
    **details: Any,
) -> None:
    details = {"hotlist": row.name, **details}
    cli_record(store, data, action, "hotlist", row.id, purpose=stated, details=details)


def _read(file: Path) -> str:
    try:
        if str(file) == "-":
            return sys.stdin.read()
        if file.stat().st_size > MAX_FILE:
            raise VigilError(f"'{file}' is over {MAX_FILE // 2**20} MiB; split it")
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise VigilError(f"'{file}' is not UTF-8 text; save the CSV as UTF-8") from None
    except OSError as exc:
        raise VigilError(f"cannot read '{file}': {exc.strerror or exc}") from None


@hotlist_app.command("create")
def create(
    name: NameArg,
    legal_basis: Annotated[str, typer.Option(help="the law or order the list rests on")],
    expires: Annotated[str, typer.Option(help="ISO 8601 date or time; renew to extend")],
    owner: Annotated[
        str | None, typer.Option(help="who answers for the list (default: cli:<os user>)")
    ] = None,
    tolerance: Annotated[
        float, typer.Option(help="0.3 per OCR confusion (O/0, B/8 ...), 1.0 per other change")
    ] = TOLERANCE,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Create an empty hotlist (entries come with `vigil hotlist import`)."""
    when = parse_expiry(expires, "--expires")
    store = open_store(data, db)
    try:
        row = Hotlists(store).create(name, owner or cli_actor(), legal_basis, when, tolerance)
        _audit(
            store,
            data,
            "hotlists.create",
            row,
            owner=row.owner,
            legal_basis=row.legal_basis,
            expires=when.isoformat(),
            tolerance=tolerance,
        )
    finally:
        store.close()
    out.print(f"created hotlist {shown(name)}, in force until {when:%Y-%m-%d %H:%M} UTC")


@hotlist_app.command("import")
def import_csv(
    name: NameArg,
    file: Annotated[
        Path, typer.Argument(help=f"CSV with a header ({', '.join(COLUMNS)}); -: stdin")
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="the file's entries become the list's only ones")
    ] = False,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Add a CSV file's entries to a hotlist (a plate listed again is updated); all or nothing."""
    text = _read(file)
    store = open_store(data, db)
    try:
        lists = Hotlists(store)
        row = lists.get(name)
        entries = parse_csv(text)
        report = lists.load(row.id, entries, replace=replace)
        _audit(
            store,
            data,
            "hotlists.import",
            row,
            file=file.name,
            replace=replace,
            added=report.added,
            updated=report.updated,
            removed=report.removed,
            total=report.total,
        )
    finally:
        store.close()
    out.print(
        f"{shown(name)}: {report.added} added, {report.updated} updated, {report.removed} "
        f"removed; {report.total} entries",
        highlight=False,
    )


@hotlist_app.command("list")
def list_hotlists(data: DataOpt = DEFAULT_DATA, db: DbOpt = None) -> None:
    """Every hotlist: owner, legal basis, expiry, tolerance, number of entries (no plates)."""
    store = open_store(data, db)
    try:
        rows = Hotlists(store).all()
        cli_record(store, data, "hotlists.list", "hotlist")
    finally:
        store.close()
    table = Table(title=f"hotlists ({len(rows)})")
    for col in ("name", "owner", "legal basis", "expires (UTC)", "tolerance", "entries"):
        table.add_column(col, overflow="fold")
    for r, count in rows:
        table.add_row(
            shown(r.name),
            shown(r.owner),
            shown(r.legal_basis),
            f"{r.expires_at:%Y-%m-%d %H:%M}",
            f"{r.tolerance:g}",
            str(count),
        )
    out.print(table)


@hotlist_app.command("show")
def show(
    name: NameArg,
    purpose: Annotated[str, typer.Option(help="why: case number or reason (3-200 characters)")],
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """A hotlist's entries (plates are personal data: the reading is audited with its purpose)."""
    stated = stated_purpose(purpose)
    store = open_store(data, db)
    try:
        lists = Hotlists(store)
        row = lists.get(name)
        entries = lists.entries(row.id)
        _audit(store, data, "hotlists.read", row, stated, entries=len(entries))
    finally:
        store.close()
    table = Table(title=f"{shown(name)} ({len(entries)} entries); purpose: {shown(stated)}")
    for col in ("plate", "pattern", "reason", "source", "expires (UTC)"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            e.plate or "",
            e.pattern or "",
            shown(e.reason),
            shown(e.source or ""),
            f"{e.expires_at:%Y-%m-%d %H:%M}" if e.expires_at else "with the list",
        )
    out.print(table)


@hotlist_app.command("renew")
def renew(
    name: NameArg,
    expires: Annotated[str | None, typer.Option(help="a new expiry (ISO 8601)")] = None,
    legal_basis: Annotated[str | None, typer.Option(help="the basis, restated")] = None,
    tolerance: Annotated[float | None, typer.Option(help="a new tolerance")] = None,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Extend a hotlist, restate its legal basis or change its tolerance."""
    if expires is None and legal_basis is None and tolerance is None:
        raise VigilError("say what changes: --expires, --legal-basis or --tolerance")
    when = parse_expiry(expires, "--expires") if expires is not None else None
    store = open_store(data, db)
    try:
        lists = Hotlists(store)
        row = lists.update(
            lists.get(name).id, legal_basis=legal_basis, expires_at=when, tolerance=tolerance
        )
        changed = {"expires": when.isoformat() if when else None, "legal_basis": legal_basis}
        _audit(store, data, "hotlists.update", row, tolerance=tolerance, **changed)
    finally:
        store.close()
    out.print(f"{shown(name)} in force until {row.expires_at:%Y-%m-%d %H:%M} UTC")


@hotlist_app.command("remove")
def remove(
    name: NameArg,
    plate: Annotated[str, typer.Argument(help="the listed plate (or pattern) to take off")],
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Take one plate off a hotlist."""
    store = open_store(data, db)
    try:
        lists = Hotlists(store)
        row = lists.get(name)
        entry = lists.find_entry(row.id, plate)
        lists.remove_entry(row.id, entry.id)
        _audit(store, data, "hotlists.remove", row, entry=entry.id, plate=entry.plate)
    finally:
        store.close()
    out.print(f"{shown(entry.plate or entry.pattern)} taken off {shown(name)}", highlight=False)


@hotlist_app.command("delete")
def delete_hotlist(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", help="no question asked")] = False,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Delete a hotlist and its entries (alerts it raised keep what they matched)."""
    if not yes:
        typer.confirm(f"delete hotlist {name} and all of its entries?", abort=True)
    store = open_store(data, db)
    try:
        lists = Hotlists(store)
        row = lists.delete(lists.get(name).id)
        _audit(store, data, "hotlists.delete", row)
    finally:
        store.close()
    out.print(f"deleted hotlist {shown(name)}")
