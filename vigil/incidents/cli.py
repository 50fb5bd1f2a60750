"""`vigil units list|create|assign|status|delete` and `vigil incidents list|show`: units in the
field and incidents from the server's shell.

Every command is on the audit record as `cli:<os user>`, like the web's routes. Units' last
positions are personal data: `units list` shows them and is audited; a unit's history is read
in the command centre or over the API, with a purpose.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from vigil.audit.cli import DEFAULT_DATA, DataOpt, DbOpt, cli_record, open_store, out
from vigil.domain import IncidentState, UnitKind, UnitStatus
from vigil.errors import VigilError
from vigil.incidents.incidents import Incidents
from vigil.incidents.units import Units, unit_record
from vigil.logtext import shown
from vigil.store.db import Store

units_app = typer.Typer(
    help="Units in the field: list, create, assign to a user, set status (audited).",
    no_args_is_help=True,
)
incidents_app = typer.Typer(help="Incidents: list, show with the timeline (audited).")
UnitArg = Annotated[str, typer.Argument(help="the unit's callsign (or id)")]
KINDS = ", ".join(UnitKind)
STATUSES = ", ".join(UnitStatus)
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON object per line")]


def _kind(text: str) -> UnitKind:
    try:
        return UnitKind(text)
    except ValueError:
        raise VigilError(f"'{shown(text)}' is not a kind of unit; use one of {KINDS}") from None


def _status(text: str) -> UnitStatus:
    try:
        return UnitStatus(text)
    except ValueError:
        raise VigilError(f"'{shown(text)}' is not a unit status; use one of {STATUSES}") from None


def _units(store: Store) -> Units:
    return Units(store)


@units_app.command("list")
def list_units(data: DataOpt = DEFAULT_DATA, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every unit: callsign, kind, status, who carries it, last position."""
    store = open_store(data, db)
    try:
        rows = _units(store).all()
        cli_record(store, data, "units.list", "unit", details={"units": len(rows)})
    finally:
        store.close()
    if as_json:
        for r in rows:
            print(json.dumps(unit_record(r)))
        return
    table = Table(title=f"units ({len(rows)})")
    for col in ("id", "callsign", "kind", "status", "user", "last position (UTC)"):
        table.add_column(col, overflow="fold")
    for r in rows:
        where = ""
        if r.lat is not None and r.lon is not None and r.position_at is not None:
            where = f"{r.lat:.5f}, {r.lon:.5f} at {r.position_at:%Y-%m-%d %H:%M:%S}"
        table.add_row(str(r.id), shown(r.callsign), r.kind, r.status, shown(r.username or ""),
                      where)  # fmt: skip
    out.print(table)


@units_app.command("create")
def create(
    callsign: Annotated[str, typer.Argument(help="e.g. ALPHA-1")],
    kind: Annotated[str, typer.Option(help=f"one of {KINDS}")] = "foot",
    user: Annotated[str | None, typer.Option(help="the user who carries it")] = None,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Create a unit (optionally carried by a user: their phone's field app reports for it)."""
    store = open_store(data, db)
    try:
        row = _units(store).create(callsign, _kind(kind), username=user)
        details = {"callsign": row.callsign, "kind": row.kind, "user": row.username}
        cli_record(store, data, "units.create", "unit", row.id, details=details)
    finally:
        store.close()
    out.print(f"unit {row.id} {shown(row.callsign)} ({row.kind}) created")


@units_app.command("assign")
def assign(
    unit: UnitArg,
    user: Annotated[str | None, typer.Argument(help="the user; leave out to unassign")] = None,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Give a unit to a user (one unit per user), or take it back."""
    store = open_store(data, db)
    try:
        units = _units(store)
        row = units.update(units.find(unit).id, username=user)
        cli_record(store, data, "units.change", "unit", row.id, details={"user": user})
    finally:
        store.close()
    who = f"carried by {shown(user)}" if user else "carried by nobody"
    out.print(f"unit {shown(row.callsign)} is {who}")


@units_app.command("status")
def set_status(
    unit: UnitArg,
    status: Annotated[str, typer.Argument(help=f"one of {STATUSES}")],
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Set a unit's status (e.g. off_duty: its position is no longer shown to colleagues)."""
    store = open_store(data, db)
    try:
        units = _units(store)
        row = units.update(units.find(unit).id, status=_status(status))
        cli_record(store, data, "units.change", "unit", row.id, details={"status": row.status})
    finally:
        store.close()
    out.print(f"unit {shown(row.callsign)} is {row.status}")


@units_app.command("delete")
def delete(
    unit: UnitArg,
    yes: Annotated[bool, typer.Option("--yes", help="no question asked")] = False,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
) -> None:
    """Delete a unit and its positions (past incidents keep it in their timelines)."""
    store = open_store(data, db)
    try:
        units = _units(store)
        row = units.find(unit)
        if not yes and not typer.confirm(f"delete unit {row.callsign} and its positions?"):
            raise VigilError("nothing deleted")
        units.delete(row.id)
        cli_record(store, data, "units.delete", "unit", row.id, details={"callsign": row.callsign})
    finally:
        store.close()
    out.print(f"unit {shown(row.callsign)} deleted")


def _incidents(store: Store) -> Incidents:
    return Incidents(store, Units(store))


@incidents_app.command("list")
def list_incidents(
    state: Annotated[
        list[str] | None, typer.Option(help=f"only these: {', '.join(IncidentState)}")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Incidents, newest first."""
    try:
        states = [IncidentState(s) for s in state or []]
    except ValueError:
        raise VigilError(f"a state is one of {', '.join(IncidentState)}") from None
    store = open_store(data, db)
    try:
        incidents = _incidents(store)
        records = [incidents.record(r) for r in incidents.recent(states, limit)]
        cli_record(store, data, "incidents.list", "incident", details={"rows": len(records)})
    finally:
        store.close()
    if as_json:
        for rec in records:
            print(json.dumps(rec))
        return
    table = Table(title=f"incidents ({len(records)})")
    for col in ("id", "title", "type", "state", "units", "opened (UTC)", "by"):
        table.add_column(col, overflow="fold")
    for rec in records:
        units = ", ".join(f"{u['callsign']} {u['status']}" for u in rec["units"])
        table.add_row(str(rec["id"]), shown(rec["title"]), rec["type"], rec["state"],
                      shown(units), rec["opened_at"][:19], shown(rec["opened_by"]))  # fmt: skip
    out.print(table)


@incidents_app.command("show")
def show(
    incident: Annotated[int, typer.Argument(help="the incident's id", min=1)],
    data: DataOpt = DEFAULT_DATA,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One incident with its timeline: every step with who, when and why."""
    store = open_store(data, db)
    try:
        incidents = _incidents(store)
        rec: dict[str, Any] = incidents.record(incidents.get(incident), timeline=True)
        cli_record(store, data, "incidents.read", "incident", incident)
    finally:
        store.close()
    if as_json:
        print(json.dumps(rec))
        return
    where = f" at {rec['lat']:.5f}, {rec['lon']:.5f}" if rec["lat"] is not None else ""
    out.print(f"incident {rec['id']}: {shown(rec['title'])} ({rec['type']}), {rec['state']}{where}")
    for c in rec["checklist"] or []:
        mark = f"done by {shown(c['done_by'])}" if c["done_by"] else "to do"
        out.print(f"  [{'x' if c['done_by'] else ' '}] {shown(c['step'])} ({mark})")
    table = Table(title="timeline (UTC)")
    for col in ("at", "who", "step", "state", "unit", "alert", "text"):
        table.add_column(col, overflow="fold")
    for s in rec["timeline"]:
        table.add_row(s["at"][:19], shown(s["actor"]), s["action"], s["state"] or "",
                      str(s["unit_id"] or ""), str(s["alert_id"] or ""),
                      shown(s["text"] or ""))  # fmt: skip
    out.print(table)
