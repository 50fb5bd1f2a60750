"""Incidents over the API: operators open them (from an alert or by hand), dispatch units
(with the nearest available ones suggested), take steps and write notes; supervisors set the
checklists incident types require. An incident seen on a camera is shown only to those who
see that camera. Every request is audited; each change goes out live (topic `incident`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import Field

from vigil.api.auditing import AuditNote, audited
from vigil.api.deps import (
    AppState,
    Principal,
    StateDep,
    not_found,
    require_operational,
    require_role,
    require_user,
    visible_row,
)
from vigil.api.params import JsonNumber, RowRef, row_id
from vigil.api.schemas import Model
from vigil.api.units import UnitOut
from vigil.domain import EventType, IncidentState, Role
from vigil.incidents.incidents import MAX_STEPS, MAX_TEXT
from vigil.incidents.units import unit_record
from vigil.logtext import ONE_LINE
from vigil.rules.fire import FIRE_TYPES, fix_of
from vigil.store.tables import AlertRow, IncidentRow

router = APIRouter(tags=["incidents"], dependencies=[Depends(require_user)])
IncidentId = Annotated[int, row_id("incident")]
Viewer = Annotated[Principal, Depends(require_operational)]
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
Supervisor = Annotated[Principal, Depends(require_role(Role.SUPERVISOR))]
TYPE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
FIRE_INCIDENT = "fire"  # the type of an incident opened from a fire or smoke alert
TypeName = Annotated[
    str, Field(pattern=TYPE_PATTERN, description="lower-case letters, digits, _ and -")
]
Text = Annotated[str, Field(max_length=MAX_TEXT)]


class IncidentOpen(Model):
    title: Annotated[str, Field(min_length=1, max_length=200, pattern=ONE_LINE)] | None = Field(
        None, description="default: the alert's rule; for a fire alert, what was seen from where"
    )
    type: TypeName | None = Field(
        None, description=f"default: {FIRE_INCIDENT} from a fire or smoke alert, else general"
    )
    alert_id: RowRef | None = Field(None, description="open it from this alert")
    lat: Annotated[float, Field(ge=-90, le=90), JsonNumber] | None = None
    lon: Annotated[float, Field(ge=-180, le=180), JsonNumber] | None = None
    camera: str | None = Field(None, max_length=64)
    note: Text | None = None


class UnitPart(Model):
    unit_id: int
    callsign: str
    kind: str
    status: str
    dispatched_by: str
    dispatched_at: str | None


class Step(Model):
    at: str | None
    actor: str
    action: str
    state: str | None
    unit_id: int | None
    alert_id: int | None
    text: str | None


class IncidentOut(Model):
    id: int
    title: str
    type: str
    state: IncidentState
    lat: float | None
    lon: float | None
    camera: str | None
    opened_by: str
    opened_at: str | None
    changed_at: str | None
    checklist: list[dict[str, Any]] | None
    units: list[UnitPart]
    alerts: list[int]
    next: list[IncidentState]
    timeline: list[Step] | None = None


class Dispatch(Model):
    unit_id: RowRef
    note: Text | None = None


class StateChange(Model):
    state: IncidentState
    reason: Text | None = Field(None, description="why (required to reopen or close)")


class NoteIn(Model):
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class AlertLink(Model):
    alert_id: RowRef


class SuggestionOut(Model):
    unit: UnitOut
    distance_m: float
    eta_s: float


class ChecklistIn(Model):
    steps: list[Annotated[str, Field(min_length=1, max_length=200, pattern=ONE_LINE)]] = Field(
        max_length=MAX_STEPS, description="none: no checklist for this type"
    )


class ChecklistOut(Model):
    type: str
    steps: list[str]
    set_by: str


def _visible(state: AppState, user: Principal, incident_id: int) -> IncidentRow:
    """An incident the user may see (one seen on a camera: only by who sees that camera)."""
    row = state.incidents.get(incident_id)
    if row.camera_id is not None and not user.sees(row.camera_id):
        raise not_found(f"incident {incident_id}")
    return row


def _alert_place(state: AppState, alert: AlertRow) -> tuple[float | None, float | None]:
    """Where an incident from `alert` is: the fire's fix (where two cameras' bearings cross),
    else the alert's camera."""
    fix = fix_of(alert)
    if fix is not None:
        return fix
    cam = state.camera(alert.camera_id)
    return (cam.lat, cam.lon) if cam is not None else (None, None)


def _fire_title(state: AppState, alert: AlertRow) -> str:
    """What a fire alert saw, from which camera: "Smoke seen from West tower"."""
    cam = state.camera(alert.camera_id)
    name = (cam.name or cam.id) if cam is not None else alert.camera_id
    return f"{EventType(alert.type).info.title} seen from {name}"[:200]


def _out(state: AppState, row: IncidentRow, timeline: bool = False) -> IncidentOut:
    return IncidentOut.model_validate(state.incidents.record(row, timeline=timeline))


@router.get(
    "/api/incidents",
    response_model=list[IncidentOut],
    dependencies=[audited("incidents.list", "incident")],
)
def list_incidents(
    user: Viewer,
    state: StateDep,
    state_: Annotated[list[IncidentState] | None, Query(alias="state")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[IncidentOut]:
    """Incidents, newest first (`?state=open&state=dispatched` for the ones under way)."""
    rows = state.incidents.recent(state_, limit)
    return [_out(state, r) for r in rows if r.camera_id is None or user.sees(r.camera_id)]


@router.post(
    "/api/incidents",
    response_model=IncidentOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "the alert is in another incident"}},
)
def open_incident(
    body: IncidentOpen,
    user: Operator,
    state: StateDep,
    note: Annotated[AuditNote, audited("incidents.open", "incident")],
) -> IncidentOut:
    """Open an incident by hand (title, position) or from an alert: at the fire's fix for a
    fire or smoke alert two cameras have placed, else at its camera's position."""
    camera, lat, lon, title = body.camera, body.lat, body.lon, body.title
    kind = body.type or "general"
    if body.alert_id is not None:
        alert = visible_row(state, user, AlertRow, body.alert_id, "alert")
        camera = alert.camera_id
        if lat is None:
            lat, lon = _alert_place(state, alert)
        title = title or alert.rule
        if alert.type in FIRE_TYPES:
            kind = body.type or FIRE_INCIDENT
            title = body.title or _fire_title(state, alert)
    elif camera is not None:
        cam = state.camera(camera)
        if cam is None or not user.sees(camera):
            raise not_found(f"camera '{camera}'")
        if lat is None:
            lat, lon = cam.lat, cam.lon
    if title is None:
        title = "Incident"
    row = state.incidents.open(
        title, user.username, type=kind, lat=lat, lon=lon, camera_id=camera,
        alert_id=body.alert_id, text=body.note,
    )  # fmt: skip
    note.object_id = str(row.id)
    note.details.update(alert=body.alert_id, type=kind)
    return _out(state, row, timeline=True)


@router.get(
    "/api/incidents/{incident_id}",
    response_model=IncidentOut,
    dependencies=[audited("incidents.read", "incident")],
)
def get_incident(incident_id: IncidentId, user: Viewer, state: StateDep) -> IncidentOut:
    """The incident with its timeline: every step with who, when and why."""
    return _out(state, _visible(state, user, incident_id), timeline=True)


@router.get(
    "/api/incidents/{incident_id}/suggestions",
    response_model=list[SuggestionOut],
    dependencies=[audited("incidents.suggest", "incident")],
)
def suggestions(
    incident_id: IncidentId,
    user: Operator,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> list[SuggestionOut]:
    """The nearest available units: straight-line distance and a plain ETA by kind."""
    _visible(state, user, incident_id)
    return [
        SuggestionOut(
            unit=UnitOut.model_validate(unit_record(x.unit)),
            distance_m=round(x.distance_m, 1),
            eta_s=round(x.eta_s, 1),
        )
        for x in state.incidents.suggest(incident_id, limit)
    ]


@router.post(
    "/api/incidents/{incident_id}/dispatch",
    response_model=IncidentOut,
    responses={409: {"description": "the unit is busy, or already sent"}},
)
def dispatch(
    incident_id: IncidentId,
    body: Dispatch,
    user: Operator,
    state: StateDep,
    note: Annotated[AuditNote, audited("incidents.dispatch", "incident")],
) -> IncidentOut:
    """Send a unit (it must be available); its phone shows the incident to accept or
    decline."""
    _visible(state, user, incident_id)
    note.details["unit"] = body.unit_id
    row = state.incidents.dispatch(incident_id, body.unit_id, user.username, body.note)
    return _out(state, row, timeline=True)


@router.post(
    "/api/incidents/{incident_id}/state",
    response_model=IncidentOut,
    responses={409: {"description": "not a step from the current state"}},
)
def change_state(
    incident_id: IncidentId,
    body: StateChange,
    user: Operator,
    state: StateDep,
    note: Annotated[AuditNote, audited("incidents.state", "incident")],
) -> IncidentOut:
    _visible(state, user, incident_id)
    note.details["state"] = str(body.state)
    row = state.incidents.advance(incident_id, body.state, user.username, body.reason)
    return _out(state, row, timeline=True)


@router.post(
    "/api/incidents/{incident_id}/notes",
    response_model=IncidentOut,
    dependencies=[audited("incidents.note", "incident")],
)
def add_note(incident_id: IncidentId, body: NoteIn, user: Operator, state: StateDep) -> IncidentOut:
    _visible(state, user, incident_id)
    return _out(state, state.incidents.note(incident_id, user.username, body.text), True)


@router.post(
    "/api/incidents/{incident_id}/alerts",
    response_model=IncidentOut,
    responses={409: {"description": "the alert is in another incident"}},
    dependencies=[audited("incidents.add_alert", "incident")],
)
def add_alert(
    incident_id: IncidentId, body: AlertLink, user: Operator, state: StateDep
) -> IncidentOut:
    _visible(state, user, incident_id)
    visible_row(state, user, AlertRow, body.alert_id, "alert")
    row = state.incidents.add_alert(incident_id, body.alert_id, user.username)
    return _out(state, row, timeline=True)


@router.post(
    "/api/incidents/{incident_id}/checklist/{step}",
    response_model=IncidentOut,
    responses={409: {"description": "already ticked"}},
    dependencies=[audited("incidents.check", "incident")],
)
def tick(
    incident_id: IncidentId,
    step: Annotated[int, Path(ge=1, le=MAX_STEPS, description="the step's number, from 1")],
    user: Operator,
    state: StateDep,
) -> IncidentOut:
    """Tick a step of the incident's checklist as done (by you, now)."""
    _visible(state, user, incident_id)
    return _out(state, state.incidents.tick(incident_id, step - 1, user.username), True)


@router.get(
    "/api/checklists",
    response_model=list[ChecklistOut],
    dependencies=[audited("checklists.list", "checklist")],
)
def list_checklists(user: Viewer, state: StateDep) -> list[ChecklistOut]:
    return [
        ChecklistOut(type=r.type, steps=list(r.steps), set_by=r.set_by)
        for r in state.incidents.checklists()
    ]


@router.put(
    "/api/checklists/{type}",
    response_model=ChecklistOut | None,
    dependencies=[audited("checklists.set", "checklist")],
)
def set_checklist(
    type: Annotated[str, Path(pattern=TYPE_PATTERN)],
    body: ChecklistIn,
    user: Supervisor,
    state: StateDep,
) -> ChecklistOut | None:
    """Require these steps (in order) before an incident of this type is resolved; an empty
    list removes the requirement. Incidents opened before keep theirs."""
    row = state.incidents.set_checklist(type, body.steps, user.username)
    return ChecklistOut(type=row.type, steps=list(row.steps), set_by=row.set_by) if row else None
