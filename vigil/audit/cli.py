"""`vigil audit verify|show` and `vigil events search`: the investigator's and auditor's CLI.

Every command that reads personal data records itself in the audit log (actor `cli:<os user>`).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from vigil.audit.log import AuditEntry, AuditLog, cli_actor
from vigil.audit.verify import verify_chain
from vigil.errors import VigilError
from vigil.logtext import ONE_LINE, shown
from vigil.store.db import Store, default_db_url
from vigil.store.queries import as_utc
from vigil.store.tables import AuditRow

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
events_app = typer.Typer(
    help="Search stored events (audited; needs a purpose).", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)

DataOpt = Annotated[Path, typer.Option(help="data directory (database, anchors)")]
DbOpt = Annotated[str | None, typer.Option(help="database URL (default: SQLite in --data)")]
DEFAULT_DATA = Path("vigil-data")


def open_store(data: Path, db: str | None) -> Store:
    if db is None and not (data / "vigil.db").is_file():
        raise VigilError(f"no Vigil database in '{data}'; pass --data DIR or --db URL")
    return Store(db or default_db_url(data))


def cli_record(
    store: Store,
    data: Path,
    action: str,
    object_type: str,
    object_id: int | str | None = None,
    *,
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """The audit row of a command that went through: actor `cli:<os user>`, outcome ok."""
    AuditLog(store, data).append(
        cli_actor(), action, object_type, object_id, purpose=purpose, client="cli",
        details={"outcome": "ok", **(details or {})},
    )  # fmt: skip


def stated_purpose(purpose: str) -> str:
    """--purpose as the API reads ?purpose=: one line of 3 to 200 visible characters."""
    if len(purpose) > 200 or not re.fullmatch(ONE_LINE, purpose):
        raise VigilError(
            "state a purpose (case number or reason) with --purpose: one line of 3 to 200 "
            "characters"
        )
    return purpose.strip(" \t")


def parse_time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromtimestamp(float(value), tz=UTC)
    except ValueError:
        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            raise VigilError(
                f"{what} '{value}' is not a time; use ISO 8601 (2026-01-31T08:00) or UNIX seconds"
            ) from None
    return as_utc(t)


@audit_app.command("verify")
def verify(
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
    anchors: Annotated[
        Path | None,
        typer.Option(
            help="check against these anchors instead of DATA/audit-anchors.log: a copy kept "
            "elsewhere, or an export of the server's log (its 'audit anchor' lines)"
        ),
    ] = None,
) -> None:
    """Walk the hash chain; exit 1 naming the first row modified, deleted, inserted or
    reordered, or a tail cut off after the last anchor in DATA/audit-anchors.log."""
    if anchors is not None and not anchors.is_file():
        raise VigilError(
            f"anchor file '{anchors}' does not exist; give a copy of audit-anchors.log or "
            "a log export with the server's 'audit anchor' lines"
        )
    store = open_store(data, db)
    try:
        verdict = verify_chain(store, data, anchors)
    finally:
        store.close()
    if not verdict.ok:
        err.print(f"[bold red]audit chain broken:[/] {verdict.problem}", highlight=False)
        raise typer.Exit(1)
    out.print(
        f"audit chain ok: {verdict.rows} rows (ids {verdict.first_id}-{verdict.head_id}), "
        f"{verdict.anchors} anchors, head {verdict.head_hash[:16]}",
        highlight=False,
    )


@audit_app.command("show")
def show(
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
    user: Annotated[str | None, typer.Option(help="only this actor")] = None,
    since: Annotated[str | None, typer.Option(help="from this time (ISO 8601 / UNIX s)")] = None,
    action: Annotated[
        str | None, typer.Option(help="only this action, or a prefix ending in .")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="newest N rows")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """The newest audit rows, filtered."""
    store = open_store(data, db)
    try:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if user:
            query = query.where(AuditRow.actor == user)
        if (t := parse_time(since, "--since")) is not None:
            query = query.where(AuditRow.at >= t)
        if action:
            cond = (
                AuditRow.action.startswith(action)
                if action.endswith(".")
                else AuditRow.action == action
            )
            query = query.where(cond)
        with store.session() as s:
            rows = [AuditEntry.of(r) for r in s.scalars(query)]
        AuditLog(store, data).append(
            cli_actor(), "audit.show", "audit", details={"user": user, "action": action}
        )
    finally:
        store.close()
    if as_json:
        for e in rows:
            out.print_json(json.dumps(_entry_json(e)))
        return
    table = Table(title=f"audit log ({len(rows)} newest rows)")
    for col in ("id", "at (UTC)", "actor", "action", "object", "purpose", "client", "outcome"):
        table.add_column(col, overflow="fold")
    for e in rows:
        obj = f"{e.object_type or ''} {e.object_id or ''}".strip()
        table.add_row(  # user text, shown: never obeyed by the terminal or by Rich
            str(e.id),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            *map(shown, (e.actor, e.action, obj, e.purpose or "", e.client or "")),
            shown(e.details.get("outcome", "")),
        )
    out.print(table)


def _entry_json(e: AuditEntry) -> dict[str, object]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "purpose": e.purpose,
        "client": e.client,
        "details": e.details,
        "hash": e.hash,
    }


@events_app.command("search")
def search(
    purpose: Annotated[str, typer.Option(help="why: case number or reason (3-200 characters)")],
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
    camera: Annotated[str | None, typer.Option(help="camera id")] = None,
    label: Annotated[str | None, typer.Option(help="object label, e.g. person")] = None,
    since: Annotated[str | None, typer.Option(help="from (ISO 8601 / UNIX s)")] = None,
    until: Annotated[str | None, typer.Option(help="up to (ISO 8601 / UNIX s)")] = None,
    plate: Annotated[
        str | None, typer.Option(help="plate reads of this plate, whole or partial (AB?12*)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """Search stored events, newest first; the search and its purpose are audited."""
    from vigil.store.queries import Filters, search_events
    from vigil.store.records import event_record

    text = stated_purpose(purpose)
    from vigil.vision.plates.match import like

    try:
        plate_like = like(plate) if plate is not None else None
    except ValueError as exc:
        raise VigilError(f"--plate: {exc}") from None
    filters = Filters(
        camera=camera,
        label=label,
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
        plate_like=plate_like,
    )
    store = open_store(data, db)
    try:
        page = search_events(store, filters, limit, None)
        query = {
            k: v
            for k, v in (
                ("camera", camera),
                ("label", label),
                ("since", since),
                ("until", until),
                ("plate", plate),
            )
            if v is not None
        }
        AuditLog(store, data).append(
            cli_actor(),
            "events.search",
            "event",
            purpose=text,
            client="cli",
            details={"outcome": "ok", "query": query, "results": len(page.items)},
        )
    finally:
        store.close()
    records = [event_record(r) for r in page.items]
    if as_json:
        for rec in records:
            print(json.dumps(rec, default=str, sort_keys=True))
        return
    table = Table(title=f"events ({len(records)}); purpose: {shown(text)}")
    for col in ("id", "time (UTC)", "camera", "type", "label", "zone/line"):
        table.add_column(col, overflow="fold")
    for rec in records:
        table.add_row(
            str(rec["id"]),
            str(rec["time"])[:19],
            *map(shown, (rec["camera"], rec["type"], rec.get("label") or "")),
            shown(rec.get("zone") or rec.get("line") or ""),
        )
    out.print(table)


retention_app = typer.Typer(
    help="Delete data older than its retention limit.", no_args_is_help=True
)
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="vigil.yml with a retention: section (default: defaults)"),
]


@retention_app.command("run")
def retention_run(
    config_path: ConfigOpt = None,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would go; delete nothing")
    ] = False,
) -> None:
    """Purge snapshots, events/tracks, reviewed alerts and audit rows older than their limit;
    the purge is recorded in the audit log (which stays verifiable)."""
    from vigil.audit.retention import purge
    from vigil.config import VigilConfig, load_config

    config = load_config(config_path) if config_path else VigilConfig()
    days = config.retention
    store = open_store(data, db)
    try:
        report = purge(
            store,
            data,
            days,
            AuditLog(store, data),
            dry_run=dry_run,
            actor=cli_actor(),
            cameras=config.cameras,
        )
    finally:
        store.close()
    verb = "would delete" if dry_run else "deleted"
    table = Table(title=f"retention {'dry run' if dry_run else 'purge'}: {verb}")
    table.add_column("data class")
    table.add_column("kept (days)", justify="right")
    table.add_column(verb, justify="right")
    table.add_row("snapshot files", str(days.snapshots), str(report.snapshot_files))
    table.add_row("snapshot paths cleared", str(days.snapshots), str(report.snapshot_refs))
    table.add_row("events", str(days.events), str(report.events))
    table.add_row("tracks", str(days.events), str(report.tracks))
    table.add_row("alerts (reviewed)", str(days.alerts), str(report.alerts))
    held = f"0 ({report.alerts_held} kept)"
    table.add_row("alerts held (awaiting review)", str(days.alerts), held)
    footage = f"{days.recordings} / {days.event_recordings} around events"
    table.add_row("recorded segments", footage, str(report.recording_segments))
    freed = f"{report.recording_quota} ({report.recording_bytes / 1e6:.1f} MB in all)"
    table.add_row("recorded segments over a camera's quota", "quota", freed)
    table.add_row(
        "recorded segments held by evidence locks", "locked", f"0 ({report.recordings_held} kept)"
    )
    sent = str(report.webhook_deliveries)
    table.add_row("webhook deliveries (sent or dead)", str(days.events), sent)
    table.add_row("audit rows", str(days.audit), str(report.audit_rows))
    out.print(table)


report_app = typer.Typer(help="Reports for the public and oversight bodies.", no_args_is_help=True)


@report_app.command("transparency")
def report_transparency(
    since: Annotated[str, typer.Option(help="from this time (ISO 8601 / UNIX s)")],
    until: Annotated[str | None, typer.Option(help="up to this time (default: now)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md or json")] = "md",
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Cameras active, searches by purpose category, data reads, alerts by type and outcome,
    exports, data purged and the audit chain's status in a period (audited)."""
    from vigil.audit.report import transparency_report

    if fmt not in ("md", "json"):
        raise VigilError(f"--format must be md or json, not '{fmt}'")
    start = parse_time(since, "--since")
    assert start is not None
    store = open_store(data, db)
    try:
        report = transparency_report(store, data, start, parse_time(until, "--until"))
        AuditLog(store, data).append(
            cli_actor(),
            "reports.transparency",
            "report",
            client="cli",
            details={"outcome": "ok", "since": since, "until": until},
        )
    finally:
        store.close()
    print(report.render(fmt), end="" if fmt == "md" else "\n")
