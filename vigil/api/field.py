"""The field app's API (/field): what an officer's phone may see and do, for the unit its
user carries.

Least privilege: a unit sees its colleagues on duty, the cameras on the map, the alerts near
it (within `field.radius_m` of its last position, of the last `field.recent_hours`) and the
incidents near it or assigned to it; the live picture only of cameras tied to an incident it
is dispatched to. No search, no history, no snapshots, no biometric data: an alert is shown by
its rule, type, camera and time (a face match only once two people confirmed it, and then
without whom it matched). Users with the `field` role have this API and nothing else of the
operational one. Every request is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy import select

from vigil.api.auditing import AuditNote, audited
from vigil.api.deps import AppState, Principal, StateDep, UserDep, require_user
from vigil.api.incidents import IncidentId, IncidentOut, NoteIn
from vigil.api.schemas import Model
from vigil.api.units import PositionsIn, Reported, UnitOut, _report
from vigil.domain import AlertStatus, EventType, IncidentState, Role, UnitStatus
from vigil.geo import haversine_m
from vigil.incidents.incidents import FIELD_ACTIONS
from vigil.incidents.units import unit_record
from vigil.store.alerts import reviewers_needed
from vigil.store.queries import as_utc
from vigil.store.tables import AlertRow, IncidentAlertRow, IncidentRow, UnitRow

router = APIRouter(tags=["field"], dependencies=[Depends(require_user)])
MAX_ALERTS = 100
UNDER_WAY = (IncidentState.OPEN, IncidentState.DISPATCHED, IncidentState.ON_SCENE)


class FieldUser:
    """The user and the unit they carry."""

    def __init__(self, user: Principal, unit: UnitRow) -> None:
        self.user, self.unit = user, unit


def field_role(user: UserDep) -> Principal:
    """The caller, when their role has the field app (checked before the request's body)."""
    if not (user.role.operational or user.role is Role.FIELD):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {user.role} role has no field app")
    return user


def field_user(user: Annotated[Principal, Depends(field_role)], state: StateDep) -> FieldUser:
    """The caller and their unit (403 with the fix when they have none or no field app)."""
    unit = state.units.of_user(user.username)
    if unit is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "no unit is assigned to you; a supervisor assigns one (the Units panel, or "
            "`vigil units assign CALLSIGN USER`)",
        )
    return FieldUser(user, unit)


Me = Annotated[FieldUser, Depends(field_user)]


class FieldCamera(Model):
    id: str
    name: str
    lat: float
    lon: float
    live: bool = Field(description="tied to an incident you are sent to: its picture is yours")


class FieldAlert(Model):
    id: int
    rule: str
    type: str
    title: str
    camera: str
    time: str
    status: str
    lat: float | None
    lon: float | None
    distance_m: float | None
    incident: int | None


class FieldSettings(Model):
    radius_m: float
    report_every_s: float


class Picture(Model):
    unit: UnitOut
    settings: FieldSettings
    colleagues: list[UnitOut]
    cameras: list[FieldCamera]
    alerts: list[FieldAlert]
    incidents: list[IncidentOut]
    assigned: list[int] = Field(description="the incidents your unit is sent to")


class Answer(Model):
    action: str = Field(pattern="^(" + "|".join(FIELD_ACTIONS) + ")$")
    note: Annotated[str, Field(max_length=2000)] | None = None


def _camera_sees(user: Principal, camera_id: str) -> bool:
    return user.cameras is None or camera_id in user.cameras


def _near(state: AppState, unit: UnitRow, lat: float | None, lon: float | None) -> float | None:
    """Metres from the unit to the point, or None when either has no position."""
    if unit.lat is None or unit.lon is None or lat is None or lon is None:
        return None
    return haversine_m((unit.lat, unit.lon), (lat, lon))


def tied_cameras(state: AppState, unit_id: int) -> set[str]:
    """Cameras tied to the incidents this unit is (actively) sent to."""
    tied: set[str] = set()
    for incident in state.incidents.assigned_to(unit_id):
        if incident.camera_id:
            tied.add(incident.camera_id)
        with state.store.session() as s:
            q = (
                select(AlertRow.camera_id)
                .join(IncidentAlertRow, IncidentAlertRow.alert_id == AlertRow.id)
                .where(IncidentAlertRow.incident_id == incident.id)
            )
            tied.update(s.scalars(q))
    return tied


def _shown(row: AlertRow) -> bool:
    """An alert a field unit may be told of: not dismissed; one that needs more than one
    reviewer only once they confirmed it."""
    if row.status == AlertStatus.DISMISSED:
        return False
    return reviewers_needed(row.type) <= 1 or row.status == AlertStatus.ACKNOWLEDGED


def _alerts(state: AppState, me: FieldUser, mine: dict[int, int]) -> list[FieldAlert]:
    """Alerts near the unit, and those of its incidents (`mine`: alert id -> incident)."""
    since = datetime.now(UTC) - timedelta(hours=state.config.field.recent_hours)
    radius = state.config.field.radius_m
    with state.store.session() as s:
        recent = list(
            s.scalars(
                select(AlertRow)
                .where(AlertRow.time >= since)
                .order_by(AlertRow.id.desc())
                .limit(2000)
            )
        )
        missing = [a for a in mine if a not in {r.id for r in recent}]
        if missing:
            recent += list(s.scalars(select(AlertRow).where(AlertRow.id.in_(missing))))
        linked = select(IncidentAlertRow.alert_id, IncidentAlertRow.incident_id).where(
            IncidentAlertRow.alert_id.in_([r.id for r in recent])
        )
        incidents = {alert: incident for alert, incident in s.execute(linked)}
    out = []
    for row in recent:
        if not _shown(row) or not _camera_sees(me.user, row.camera_id):
            continue
        cam = state.camera(row.camera_id)
        lat, lon = (cam.lat, cam.lon) if cam is not None else (None, None)
        metres = _near(state, me.unit, lat, lon)
        if row.id not in mine and (metres is None or metres > radius):
            continue
        out.append(
            FieldAlert(
                id=row.id, rule=row.rule, type=row.type, title=EventType(row.type).info.title,
                camera=row.camera_id, time=as_utc(row.time).isoformat(), status=row.status,
                lat=lat, lon=lon, distance_m=round(metres, 1) if metres is not None else None,
                incident=incidents.get(row.id),
            )
        )  # fmt: skip
        if len(out) >= MAX_ALERTS:
            break
    return out


def _picture(state: AppState, me: FieldUser) -> Picture:
    unit = state.units.get(me.unit.id)
    me = FieldUser(me.user, unit)
    assigned = state.incidents.assigned_to(unit.id)
    mine: dict[int, int] = {}
    for incident in assigned:
        for alert_id in state.incidents.alert_ids(incident.id):
            mine[alert_id] = incident.id
    near = [
        r
        for r in state.incidents.recent(UNDER_WAY, 500)
        if r.id not in {a.id for a in assigned}
        and (d := _near(state, unit, r.lat, r.lon)) is not None
        and d <= state.config.field.radius_m
        and (r.camera_id is None or _camera_sees(me.user, r.camera_id))
    ]
    tied = tied_cameras(state, unit.id)
    cameras = [
        FieldCamera(id=c.id, name=c.name, lat=c.lat, lon=c.lon, live=c.id in tied)
        for c in state.config.cameras
        if c.lat is not None and c.lon is not None and _camera_sees(me.user, c.id)
    ]
    colleagues = [
        UnitOut.model_validate(unit_record(u))
        for u in state.units.all()
        if u.id != unit.id and u.status != UnitStatus.OFF_DUTY and u.lat is not None
    ]
    return Picture(
        unit=UnitOut.model_validate(unit_record(unit)),
        settings=FieldSettings(
            radius_m=state.config.field.radius_m,
            report_every_s=state.config.field.report_every_s,
        ),
        colleagues=colleagues,
        cameras=cameras,
        alerts=_alerts(state, me, mine),
        incidents=[
            IncidentOut.model_validate(state.incidents.record(r, timeline=True)) for r in assigned
        ]
        + [IncidentOut.model_validate(state.incidents.record(r)) for r in near],
        assigned=[r.id for r in assigned],
    )


@router.get("/api/field", response_model=Picture, dependencies=[audited("field.picture", "unit")])
async def picture(me: Me, state: StateDep) -> Picture:
    """The tactical picture for your unit."""
    return await run_in_threadpool(_picture, state, me)


@router.post("/api/field/positions", response_model=Reported)
async def report(
    body: PositionsIn,
    note: Annotated[AuditNote, audited("field.report", "unit")],
    user: Annotated[Principal, Depends(field_role)],
    state: StateDep,
) -> Reported:
    """Your phone's positions (one, or what it queued while offline; all are checked first)."""

    def work() -> Reported:
        # The unit is looked up and the positions stored in one trip to the thread pool: this
        # is the busiest request of the app (every phone, every few seconds).
        me = field_user(user, state)
        note.object_id = str(me.unit.id)
        return _report(state, me.unit.id, body, "app")

    out = await run_in_threadpool(work)
    note.details["positions"] = out.stored
    return out


def _mine(state: AppState, me: FieldUser, incident_id: int) -> IncidentRow:
    row = state.incidents.get(incident_id)
    if row.id not in {r.id for r in state.incidents.assigned_to(me.unit.id, active_only=False)}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id} for your unit")
    return row


@router.post(
    "/api/field/incidents/{incident_id}/answer",
    response_model=IncidentOut,
    responses={409: {"description": "not dispatched there, or already answered"}},
    dependencies=[audited("field.answer", "incident")],
)
def answer(incident_id: IncidentId, body: Answer, me: Me, state: StateDep) -> IncidentOut:
    """Accept, decline, on scene, resolved: one tap each, with an optional note."""
    _mine(state, me, incident_id)
    row = state.incidents.respond(incident_id, me.unit.id, body.action, me.user.username, body.note)
    return IncidentOut.model_validate(state.incidents.record(row, timeline=True))


@router.post(
    "/api/field/incidents/{incident_id}/notes",
    response_model=IncidentOut,
    dependencies=[audited("field.note", "incident")],
)
def note(incident_id: IncidentId, body: NoteIn, me: Me, state: StateDep) -> IncidentOut:
    _mine(state, me, incident_id)
    row = state.incidents.note(incident_id, f"{me.user.username}", body.text)
    return IncidentOut.model_validate(state.incidents.record(row, timeline=True))


@router.get(
    "/api/field/cameras/{camera_id}/live.jpg",
    response_class=Response,
    dependencies=[audited("field.live", "camera")],
    responses={200: {"content": {"image/jpeg": {}}}, 503: {"description": "no picture yet"}},
)
def live(camera_id: str, me: Me, state: StateDep) -> Response:
    """The live picture of a camera tied to an incident your unit is sent to."""
    if camera_id not in tied_cameras(state, me.unit.id) or not _camera_sees(me.user, camera_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"camera '{camera_id}' is not tied to an incident your unit is sent to",
        )
    picture = state.cameras.picture(camera_id, False) if state.cameras.live else None
    if picture is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"camera '{camera_id}' has no picture yet; try again shortly",
        )
    return Response(picture.jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
