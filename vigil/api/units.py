"""Units over the API: the command centre sees them (operational roles), supervisors create and
assign them, integrators report positions; reading a unit's position history needs a purpose.
Every request is audited. Live changes go out on the WebSocket (topic `unit`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from vigil.api.auditing import AuditNote, RequiredPurposeQ, audited
from vigil.api.deps import (
    AppState,
    Principal,
    StateDep,
    require_operational,
    require_role,
    require_user,
)
from vigil.api.params import Since, Until, row_id
from vigil.api.schemas import Model
from vigil.domain import Position, Role, UnitKind, UnitStatus
from vigil.incidents.units import CALLSIGN, CALLSIGN_RULE, MAX_BATCH, unit_record
from vigil.store.records import iso
from vigil.store.users import USERNAME

router = APIRouter(tags=["units"], dependencies=[Depends(require_user)])
UnitId = Annotated[int, row_id("unit")]
Viewer = Annotated[Principal, Depends(require_operational)]
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
Supervisor = Annotated[Principal, Depends(require_role(Role.SUPERVISOR))]
Callsign = Annotated[str, Field(min_length=1, max_length=32, pattern=CALLSIGN.pattern)]
Username = Annotated[str, Field(min_length=1, max_length=64, pattern=USERNAME.pattern)]


class PositionIn(Model):
    lat: float = Field(description="WGS 84 latitude, degrees")
    lon: float = Field(description="WGS 84 longitude, degrees")
    time: datetime | None = Field(None, description="when it was measured (default: now)")
    accuracy_m: float | None = Field(None, description="radius of 68 % confidence, metres")
    heading: float | None = Field(None, description="degrees clockwise from north")
    speed_mps: float | None = None

    def position(self, now: float) -> Position:
        when = self.time.timestamp() if self.time is not None else now
        return Position(self.lat, self.lon, when, self.accuracy_m, self.heading, self.speed_mps)


class PositionsIn(Model):
    positions: list[PositionIn] = Field(min_length=1, max_length=MAX_BATCH)


class PositionOut(Model):
    lat: float
    lon: float
    accuracy_m: float | None
    heading: float | None
    time: str
    source: str | None


class UnitOut(Model):
    id: int
    callsign: str
    kind: UnitKind
    status: UnitStatus
    user: str | None
    tak_uid: str | None
    position: PositionOut | None


class UnitCreate(Model):
    callsign: Callsign = Field(description=CALLSIGN_RULE)
    kind: UnitKind
    user: Username | None = Field(None, description="the user who carries it")


class UnitChange(Model):
    callsign: Callsign | None = None
    kind: UnitKind | None = None
    status: UnitStatus | None = None
    user: Username | None = Field(None, description="the user who carries it; null: nobody")


class Reported(Model):
    stored: int
    unit: UnitOut


class TrackPoint(Model):
    lat: float
    lon: float
    time: str


class Trail(Model):
    unit_id: int
    points: list[TrackPoint]


def _out(row: Any) -> UnitOut:
    return UnitOut.model_validate(unit_record(row))


def _report(state: AppState, unit_id: int, body: PositionsIn, source: str) -> Reported:
    now = state.units.clock()
    row, stored = state.units.report(unit_id, [p.position(now) for p in body.positions], source)
    return Reported(stored=stored, unit=_out(row))


@router.get(
    "/api/units", response_model=list[UnitOut], dependencies=[audited("units.list", "unit")]
)
def list_units(user: Viewer, state: StateDep) -> list[UnitOut]:
    """Every unit with its status and last position (the live map)."""
    return [_out(r) for r in state.units.all()]


@router.get(
    "/api/units/trails",
    response_model=list[Trail],
    dependencies=[audited("units.trails", "unit")],
)
def trails(
    user: Viewer,
    state: StateDep,
    minutes: Annotated[float, Query(gt=0, le=60, description="how far back")] = 10,
) -> list[Trail]:
    """Each unit's positions of the last minutes (at most an hour: older ones are history,
    which needs a purpose)."""
    since = datetime.now(UTC) - timedelta(minutes=min(minutes, state.config.field.trail_minutes))
    found = state.units.trails(since)
    return [
        Trail(unit_id=uid, points=[TrackPoint(lat=p.lat, lon=p.lon, time=iso(p.at) or "")
                                   for p in rows])
        for uid, rows in found.items()
    ]  # fmt: skip


@router.post(
    "/api/units",
    response_model=UnitOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "callsign taken, or the user carries a unit"}},
)
def create_unit(
    body: UnitCreate,
    user: Supervisor,
    state: StateDep,
    note: Annotated[AuditNote, audited("units.create", "unit")],
) -> UnitOut:
    row = state.units.create(body.callsign, body.kind, username=body.user)
    note.details.update(unit=row.id, callsign=row.callsign, kind=row.kind, user=row.username)
    return _out(row)


@router.get(
    "/api/units/{unit_id}", response_model=UnitOut, dependencies=[audited("units.read", "unit")]
)
def get_unit(unit_id: UnitId, user: Viewer, state: StateDep) -> UnitOut:
    return _out(state.units.get(unit_id))


@router.patch(
    "/api/units/{unit_id}",
    response_model=UnitOut,
    responses={409: {"description": "callsign taken, or the user carries a unit"}},
)
def change_unit(
    unit_id: UnitId,
    body: UnitChange,
    user: Operator,
    state: StateDep,
    note: Annotated[AuditNote, audited("units.change", "unit")],
) -> UnitOut:
    """Operators may set a unit's status (e.g. off duty); callsign, kind and who carries it
    are for supervisors."""
    given = body.model_fields_set
    if given - {"status"} and not user.can(Role.SUPERVISOR):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "changing a unit's callsign, kind or user needs the supervisor role; "
            f"you are {user.role}",
        )
    kw: dict[str, Any] = {k: getattr(body, k) for k in ("callsign", "kind", "status") if k in given}
    if "user" in given:
        kw["username"] = body.user
    row = state.units.update(unit_id, **kw)
    note.details.update({k: str(v) if v is not None else None for k, v in kw.items()})
    return _out(row)


@router.delete(
    "/api/units/{unit_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[audited("units.delete", "unit")],
)
def delete_unit(unit_id: UnitId, user: Supervisor, state: StateDep) -> None:
    """Delete a unit with its positions (its part in past incidents stays in their timelines)."""
    state.units.delete(unit_id)


@router.post(
    "/api/units/{unit_id}/positions",
    response_model=Reported,
)
async def report_positions(
    unit_id: UnitId,
    body: PositionsIn,
    user: Operator,
    state: StateDep,
    note: Annotated[AuditNote, audited("units.report", "unit")],
) -> Reported:
    """Positions of a unit from an integration (all are checked first; one bad one refuses
    the report, naming it)."""
    out = await run_in_threadpool(_report, state, unit_id, body, "api")
    note.details["positions"] = out.stored
    return out


@router.get(
    "/api/units/{unit_id}/positions",
    response_model=list[PositionOut],
    dependencies=[audited("units.history", "unit", purpose_required=True)],
)
def position_history(
    unit_id: UnitId,
    purpose: RequiredPurposeQ,
    user: Supervisor,
    state: StateDep,
    since: Since = None,
    until: Until = None,
) -> list[PositionOut]:
    """Where a unit was (kept `retention.positions` days): personal data, for supervisors,
    with a stated purpose."""
    start = since or datetime.now(UTC) - timedelta(days=state.config.retention.positions)
    rows = state.units.history(unit_id, start, until)
    return [
        PositionOut(lat=r.lat, lon=r.lon, accuracy_m=r.accuracy_m, heading=r.heading,
                    time=iso(r.at) or "", source=r.source)
        for r in rows
    ]  # fmt: skip
