"""Plate hotlists over the API: supervisors who see every camera manage them (a hotlist applies
to every camera); reading a list's entries needs a purpose. Every request is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, field_validator

from vigil.api.auditing import AuditNote, audited
from vigil.api.deps import (
    Principal,
    StateDep,
    manager_of_every_camera,
    require_role,
    require_user,
)
from vigil.api.params import EntryId, HotlistId
from vigil.api.schemas import Model
from vigil.domain import Role
from vigil.logtext import ONE_LINE
from vigil.store.checks import NAME, NAME_RULE
from vigil.store.hotlists import COLUMNS, MAX_TOLERANCE, Hotlists, parse_csv
from vigil.store.queries import as_utc
from vigil.store.records import iso
from vigil.store.tables import HotlistEntryRow, HotlistRow
from vigil.vision.plates.match import TOLERANCE

router = APIRouter(tags=["hotlists"], dependencies=[Depends(require_user)])
MAX_CSV = 1_000_000  # characters in one request; bigger files go through `vigil hotlist import`


Manager = Annotated[Principal, Depends(manager_of_every_camera("hotlists"))]
Supervisor = Annotated[Principal, Depends(require_role(Role.SUPERVISOR))]


class HotlistOut(Model):
    id: int
    name: str
    owner: str
    legal_basis: str
    expires_at: datetime
    tolerance: float
    created_at: datetime
    changed_at: datetime
    entries: int


class HotlistCreate(Model):
    name: str = Field(
        min_length=1,
        max_length=100,
        description=NAME_RULE,
        json_schema_extra={"pattern": NAME.pattern},  # checked below, with a plain message
    )
    legal_basis: str = Field(max_length=500, pattern=ONE_LINE, description="law or order")
    expires_at: datetime = Field(description="when the list stops matching (renew to extend)")
    tolerance: float = Field(TOLERANCE, ge=0.0, le=MAX_TOLERANCE)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError(f"a hotlist name is {NAME_RULE}")
        return value


class HotlistPatch(Model):
    legal_basis: str | None = Field(None, max_length=500, pattern=ONE_LINE)
    expires_at: datetime | None = None
    tolerance: float | None = Field(None, ge=0.0, le=MAX_TOLERANCE)


class EntriesIn(Model):
    csv: str = Field(max_length=MAX_CSV, description=f"a header line ({', '.join(COLUMNS)})")
    replace: bool = Field(False, description="true: these become the list's only entries")


class ImportOut(Model):
    added: int
    updated: int
    removed: int
    total: int


class EntryOut(Model):
    id: int
    plate: str | None
    pattern: str | None
    reason: str
    source: str | None
    expires_at: datetime | None


def _out(row: HotlistRow, entries: int) -> HotlistOut:
    return HotlistOut(
        id=row.id,
        name=row.name,
        owner=row.owner,
        legal_basis=row.legal_basis,
        expires_at=as_utc(row.expires_at),
        tolerance=row.tolerance,
        created_at=as_utc(row.created_at),
        changed_at=as_utc(row.changed_at),
        entries=entries,
    )


def _entry_out(e: HotlistEntryRow) -> EntryOut:
    return EntryOut.model_validate(
        {
            "id": e.id,
            "plate": e.plate,
            "pattern": e.pattern,
            "reason": e.reason,
            "source": e.source,
            "expires_at": iso(e.expires_at),
        }
    )


def _counted(lists: Hotlists, hotlist_id: int) -> HotlistOut:
    for row, n in lists.all():
        if row.id == hotlist_id:
            return _out(row, n)
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no hotlist {hotlist_id}")


@router.get(
    "/api/hotlists",
    response_model=list[HotlistOut],
    dependencies=[audited("hotlists.list", "hotlist")],
)
def list_hotlists(user: Supervisor, state: StateDep) -> list[HotlistOut]:
    """Every hotlist with its owner, legal basis, expiry and number of entries (no plates)."""
    return [_out(row, n) for row, n in Hotlists(state.store).all()]


@router.post(
    "/api/hotlists",
    response_model=HotlistOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "a hotlist of that name exists"}},
)
async def create_hotlist(
    body: HotlistCreate,
    note: Annotated[AuditNote, audited("hotlists.create", "hotlist")],
    user: Manager,
    state: StateDep,
) -> HotlistOut:
    """Create an empty hotlist; its owner is you."""
    note.details.update(
        hotlist=body.name, legal_basis=body.legal_basis, expires=body.expires_at.isoformat()
    )
    row = await run_in_threadpool(
        Hotlists(state.store).create,
        body.name,
        user.username,
        body.legal_basis,
        body.expires_at,
        body.tolerance,
    )
    note.object_id = str(row.id)
    return _out(row, 0)


@router.patch("/api/hotlists/{hotlist_id}", response_model=HotlistOut)
async def update_hotlist(
    hotlist_id: HotlistId,
    body: HotlistPatch,
    note: Annotated[AuditNote, audited("hotlists.update", "hotlist")],
    user: Manager,
    state: StateDep,
) -> HotlistOut:
    """Renew a list (a later expiry), restate its legal basis, change its tolerance."""
    note.object_id = str(hotlist_id)
    note.details.update(body.model_dump(mode="json", exclude_none=True))
    lists = Hotlists(state.store)
    await run_in_threadpool(
        lists.update,
        hotlist_id,
        legal_basis=body.legal_basis,
        expires_at=body.expires_at,
        tolerance=body.tolerance,
    )
    return _counted(lists, hotlist_id)


@router.delete("/api/hotlists/{hotlist_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_hotlist(
    hotlist_id: HotlistId,
    note: Annotated[AuditNote, audited("hotlists.delete", "hotlist")],
    user: Manager,
    state: StateDep,
) -> None:
    """Delete a list and its entries (alerts it raised keep what they matched)."""
    note.object_id = str(hotlist_id)
    row = await run_in_threadpool(Hotlists(state.store).delete, hotlist_id)
    note.details["hotlist"] = row.name


@router.get("/api/hotlists/{hotlist_id}/entries", response_model=list[EntryOut])
def list_entries(
    hotlist_id: HotlistId,
    note: Annotated[AuditNote, audited("hotlists.read", "hotlist", purpose_required=True)],
    user: Supervisor,
    state: StateDep,
) -> list[EntryOut]:
    """A list's entries: plates are personal data, so this needs `purpose` (audited)."""
    note.object_id = str(hotlist_id)
    lists = Hotlists(state.store)
    row = lists.get(hotlist_id)
    entries = lists.entries(row.id)
    note.details.update(hotlist=row.name, entries=len(entries))
    return [_entry_out(e) for e in entries]


@router.post("/api/hotlists/{hotlist_id}/entries", response_model=ImportOut)
async def import_entries(
    hotlist_id: HotlistId,
    body: EntriesIn,
    note: Annotated[AuditNote, audited("hotlists.import", "hotlist")],
    user: Manager,
    state: StateDep,
) -> ImportOut:
    """Add CSV entries (a plate listed again is updated), or with `replace` make them the
    list's only ones. Every line is checked first: one bad line refuses the whole file (422,
    naming the line) and nothing changes."""
    note.object_id = str(hotlist_id)
    note.details["replace"] = body.replace
    lists = Hotlists(state.store)
    entries = await run_in_threadpool(parse_csv, body.csv)
    report = await run_in_threadpool(lists.load, hotlist_id, entries, replace=body.replace)
    counts: dict[str, Any] = {
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "total": report.total,
    }
    note.details.update(counts)
    return ImportOut(**counts)


@router.delete(
    "/api/hotlists/{hotlist_id}/entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def remove_entry(
    hotlist_id: HotlistId,
    entry_id: EntryId,
    note: Annotated[AuditNote, audited("hotlists.remove", "hotlist")],
    user: Manager,
    state: StateDep,
) -> None:
    """Take one entry off a list."""
    note.object_id = str(hotlist_id)
    row = await run_in_threadpool(Hotlists(state.store).remove_entry, hotlist_id, entry_id)
    note.details.update(entry=row.id, plate=row.plate)
