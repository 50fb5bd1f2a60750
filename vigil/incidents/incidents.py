"""Incidents: from an alert (or an operator) to units on the ground and back.

An incident groups alerts, units, notes and each step it takes — open -> dispatched -> on
scene -> resolved -> closed (vigil.domain.INCIDENT_NEXT) — with who, when and why, in
`incident_steps`. The command centre dispatches a unit (the nearest available ones are
suggested, by straight-line distance and a plain ETA per kind of unit); the unit accepts or
declines, goes on scene; a resolved incident releases its units. A supervisor may require a
checklist per incident type: its steps must be ticked before the incident may be resolved.

Every change is one transaction, and the races that matter are decided by the database: a
unit is claimed for a dispatch with a conditional UPDATE (two dispatchers: one wins, the other
gets 409), a state change only applies to the state it was asked from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigil.bus import Bus, Topic
from vigil.domain import (
    INCIDENT_NEXT,
    AlertStatus,
    AssignmentStatus,
    IncidentState,
    UnitKind,
    UnitStatus,
)
from vigil.errors import Conflict, Invalid, NotFound
from vigil.incidents.units import Units, rowcount
from vigil.recording.locks import Window, alert_lock_row, default_window
from vigil.store.alerts import reviewers_needed
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.spatial import nearest_units
from vigil.store.tables import (
    AlertRow,
    AssignmentRow,
    ChecklistRow,
    IncidentAlertRow,
    IncidentRow,
    IncidentStepRow,
    UnitRow,
)

MAX_TEXT = 2000
MAX_STEPS = 30
# Steps that need a reason: going back (reopen, recall) and the final close.
NEEDS_REASON = frozenset({IncidentState.OPEN, IncidentState.CLOSED})
FIELD_ACTIONS = ("accept", "decline", "on_scene", "resolved")  # a unit's answers, one tap each


class IncidentError(Invalid):
    """An incident step that cannot be taken as asked."""


class IncidentNotFound(IncidentError, NotFound):
    pass


class IncidentConflict(IncidentError, Conflict):
    pass


@dataclass(frozen=True, slots=True)
class Suggestion:
    unit: UnitRow
    distance_m: float
    eta_s: float


def _text(text: str | None, what: str = "a note") -> str | None:
    text = (text or "").strip() or None
    if text is not None and len(text) > MAX_TEXT:
        raise IncidentError(f"{what} is at most {MAX_TEXT} characters")
    return text


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


class Incidents:
    def __init__(
        self,
        store: Store,
        units: Units,
        bus: Bus | None = None,
        *,
        clock: Callable[[], float] = time.time,
        lock_window: Window = default_window,
    ) -> None:
        self.store, self.units, self.bus, self.clock = store, units, bus, clock
        self.lock_window = lock_window  # an alert that joins locks its footage around it

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- reading -----------------------------------------------------------------------------

    def _row(self, s: Session, incident_id: int) -> IncidentRow:
        row = s.get(IncidentRow, incident_id)
        if row is None:
            raise IncidentNotFound(f"no incident {incident_id}; `vigil incidents list` shows them")
        return row

    def get(self, incident_id: int) -> IncidentRow:
        with self.store.session() as s:
            return self._row(s, incident_id)

    def recent(
        self, states: Sequence[IncidentState] | None = None, limit: int = 200
    ) -> list[IncidentRow]:
        q = select(IncidentRow)
        if states:
            q = q.where(IncidentRow.state.in_([str(x) for x in states]))
        with self.store.session() as s:
            return list(s.scalars(q.order_by(IncidentRow.id.desc()).limit(limit)))

    def steps(self, incident_id: int) -> list[IncidentStepRow]:
        with self.store.session() as s:
            q = select(IncidentStepRow).where(IncidentStepRow.incident_id == incident_id)
            return list(s.scalars(q.order_by(IncidentStepRow.id)))

    def assignments(self, incident_id: int) -> list[tuple[AssignmentRow, UnitRow]]:
        with self.store.session() as s:
            q = (
                select(AssignmentRow, UnitRow)
                .join(UnitRow, UnitRow.id == AssignmentRow.unit_id)
                .where(AssignmentRow.incident_id == incident_id)
                .order_by(AssignmentRow.id)
            )
            return [(a, u) for a, u in s.execute(q)]

    def alert_ids(self, incident_id: int) -> list[int]:
        with self.store.session() as s:
            q = select(IncidentAlertRow.alert_id).where(IncidentAlertRow.incident_id == incident_id)
            return sorted(s.scalars(q))

    def incident_of_alert(self, alert_id: int) -> int | None:
        with self.store.session() as s:
            row = s.get(IncidentAlertRow, alert_id)
            return row.incident_id if row is not None else None

    def assigned_to(self, unit_id: int, *, active_only: bool = True) -> list[IncidentRow]:
        """The incidents this unit is (actively) part of."""
        statuses = [str(a) for a in AssignmentStatus if a.active or not active_only]
        with self.store.session() as s:
            q = (
                select(IncidentRow)
                .join(AssignmentRow, AssignmentRow.incident_id == IncidentRow.id)
                .where(AssignmentRow.unit_id == unit_id, AssignmentRow.status.in_(statuses))
                .order_by(IncidentRow.id.desc())
            )
            return list(s.scalars(q))

    def record(self, row: IncidentRow, *, timeline: bool = False) -> dict[str, Any]:
        """The REST incident resource; with its timeline for the detail view."""
        out = incident_record(row, self.assignments(row.id), self.alert_ids(row.id))
        if timeline:
            out["timeline"] = [step_record(r) for r in self.steps(row.id)]
        return out

    def suggest(self, incident_id: int, limit: int = 5) -> list[Suggestion]:
        """The nearest available units with a known position: straight-line distance and a
        plain ETA at the kind's speed (vigil.domain.UNIT_SPEED_KMH)."""
        row = self.get(incident_id)
        if row.lat is None or row.lon is None:
            raise IncidentError(
                f"incident {incident_id} has no position; give it one (or open it from an "
                "alert on a camera with lat/lon) to find the nearest units"
            )
        found = []  # the nearest of each kind hold the soonest (an indexed query per kind)
        with self.store.session() as s:
            for kind in UnitKind:
                for n in nearest_units(
                    s, row.lat, row.lon, limit, status=UnitStatus.AVAILABLE, kind=kind
                ):
                    found.append(Suggestion(n.row, n.metres, n.metres / (kind.speed_kmh / 3.6)))
        return sorted(found, key=lambda x: (x.eta_s, x.unit.callsign))[:limit]

    # -- changing ----------------------------------------------------------------------------

    def _step(self, s: Session, row: IncidentRow, actor: str, action: str, **values: Any) -> None:
        now = self._now()
        row.changed_at = now
        s.add(
            IncidentStepRow(
                incident_id=row.id, at=now, actor=actor, action=action, state=row.state, **values
            )
        )

    def _move(self, s: Session, row: IncidentRow, new: IncidentState) -> None:
        """Change the state, only from the state read (another change meanwhile: 409)."""
        old = IncidentState(row.state)
        if old is new:
            return
        if not old.may_become(new):
            raise IncidentConflict(
                f"incident {row.id} is {old}; it cannot become {new} from there "
                f"(next: {', '.join(sorted(INCIDENT_NEXT[old])) or 'none'})"
            )
        done = rowcount(
            s.execute(
                update(IncidentRow)
                .where(IncidentRow.id == row.id, IncidentRow.state == str(old))
                .values(state=str(new))
                .execution_options(synchronize_session=False)
            )
        )
        if not done:
            raise IncidentConflict(f"incident {row.id} changed meanwhile; reload it")
        s.refresh(row)

    def open(
        self,
        title: str,
        actor: str,
        *,
        type: str = "general",
        lat: float | None = None,
        lon: float | None = None,
        camera_id: str | None = None,
        alert_id: int | None = None,
        text: str | None = None,
    ) -> IncidentRow:
        title = title.strip()
        if not 1 <= len(title) <= 200:
            raise IncidentError("an incident needs a title of 1 to 200 characters")
        if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise IncidentError(
                "an incident's position must be latitude -90..90, longitude -180..180"
            )
        now = self._now()
        try:
            with self.store.session() as s, s.begin():
                checklist = s.get(ChecklistRow, type)
                row = IncidentRow(
                    title=title, type=type, state=str(IncidentState.OPEN), lat=lat, lon=lon,
                    camera_id=camera_id, opened_by=actor, opened_at=now, changed_at=now,
                    checklist=[{"step": x, "done_by": None, "done_at": None}
                               for x in checklist.steps] if checklist else None,
                )  # fmt: skip
                s.add(row)
                s.flush()
                self._step(s, row, actor, "opened", text=_text(text))
                if alert_id is not None:
                    self._link(s, row, alert_id, actor)
        except IntegrityError:
            raise self._alert_taken(alert_id) from None
        self._publish(row)
        return row

    def _alert_taken(self, alert_id: int | None) -> IncidentConflict:
        other = self.incident_of_alert(alert_id) if alert_id is not None else None
        return IncidentConflict(f"alert {alert_id} is already in incident {other}")

    def _link(self, s: Session, row: IncidentRow, alert_id: int, actor: str) -> None:
        alert = s.get(AlertRow, alert_id)
        if alert is None:
            raise IncidentNotFound(f"no alert {alert_id}")
        other = s.get(IncidentAlertRow, alert_id)
        if other is not None:
            raise IncidentConflict(f"alert {alert_id} is already in incident {other.incident_id}")
        s.add(IncidentAlertRow(alert_id=alert_id, incident_id=row.id))
        s.flush()
        s.add(alert_lock_row(alert, row.id, actor, self.lock_window, self._now()))  # evidence
        self._step(s, row, actor, "alert_added", alert_id=alert_id)

    def add_alert(self, incident_id: int, alert_id: int, actor: str) -> IncidentRow:
        try:
            with self.store.session() as s, s.begin():
                row = self._row(s, incident_id)
                self._open_for_change(row)
                self._link(s, row, alert_id, actor)
        except IntegrityError:
            raise self._alert_taken(alert_id) from None
        self._publish(row)
        return row

    @staticmethod
    def _open_for_change(row: IncidentRow) -> None:
        if row.state == IncidentState.CLOSED:
            raise IncidentConflict(f"incident {row.id} is closed; open a new one")

    def note(self, incident_id: int, actor: str, text: str) -> IncidentRow:
        body = _text(text)
        if body is None:
            raise IncidentError("a note needs some text")
        with self.store.session() as s, s.begin():
            row = self._row(s, incident_id)
            self._open_for_change(row)
            self._step(s, row, actor, "note", text=body)
        self._publish(row)
        return row

    def dispatch(
        self, incident_id: int, unit_id: int, actor: str, text: str | None = None
    ) -> IncidentRow:
        unit = self.units.get(unit_id)
        with self.store.session() as s, s.begin():
            row = self._row(s, incident_id)
            if row.state not in (IncidentState.OPEN, IncidentState.DISPATCHED,
                                 IncidentState.ON_SCENE):  # fmt: skip
                raise IncidentConflict(f"incident {row.id} is {row.state}; no unit can be sent")
            mine = s.scalar(
                select(AssignmentRow).where(
                    AssignmentRow.incident_id == row.id, AssignmentRow.unit_id == unit_id
                )
            )
            self._confirmed(s, row)
            if mine is not None and AssignmentStatus(mine.status).active:
                raise IncidentConflict(
                    f"{unit.callsign} is already dispatched to incident {row.id}"
                )
        if not self.units.claim(unit_id, UnitStatus.DISPATCHED, only_from=UnitStatus.AVAILABLE):
            raise self._busy(unit)
        try:
            with self.store.session() as s, s.begin():
                row = self._row(s, incident_id)
                now = self._now()
                mine = s.scalar(
                    select(AssignmentRow).where(
                        AssignmentRow.incident_id == row.id, AssignmentRow.unit_id == unit_id
                    )
                )
                if mine is None:
                    s.add(AssignmentRow(
                        incident_id=row.id, unit_id=unit_id,
                        status=str(AssignmentStatus.DISPATCHED),
                        dispatched_by=actor, dispatched_at=now, changed_at=now,
                    ))  # fmt: skip
                else:
                    mine.status, mine.dispatched_by = str(AssignmentStatus.DISPATCHED), actor
                    mine.dispatched_at = mine.changed_at = now
                if row.state == IncidentState.OPEN:
                    self._move(s, row, IncidentState.DISPATCHED)
                self._step(s, row, actor, "dispatched", unit_id=unit_id, text=_text(text))
        except Exception:
            self.units.claim(unit_id, UnitStatus.AVAILABLE, only_from=UnitStatus.DISPATCHED)
            raise
        self.units._publish(self.units.get(unit_id))
        self._publish(row)
        return row

    @staticmethod
    def _confirmed(s: Session, row: IncidentRow) -> None:
        """No unit is sent on an alert people have not confirmed as a rule requires (a face
        match: two reviewers)."""
        q = (
            select(AlertRow)
            .join(IncidentAlertRow, IncidentAlertRow.alert_id == AlertRow.id)
            .where(IncidentAlertRow.incident_id == row.id)
        )
        for alert in s.scalars(q):
            if reviewers_needed(alert.type) > 1 and alert.status != AlertStatus.ACKNOWLEDGED:
                raise IncidentConflict(
                    f"alert {alert.id} is a {alert.type} that {reviewers_needed(alert.type)} "
                    "people have not confirmed yet; no unit is sent on it before they have"
                )

    def _busy(self, unit: UnitRow) -> IncidentConflict:
        current = self.units.get(unit.id)
        if current.status == UnitStatus.OFF_DUTY:
            return IncidentConflict(f"{unit.callsign} is off duty")
        busy = self.assigned_to(unit.id)
        where = f" to incident {busy[0].id}" if busy else ""
        return IncidentConflict(
            f"{unit.callsign} is {current.status}{where}; it must be available to be sent"
        )

    def respond(
        self, incident_id: int, unit_id: int, action: str, actor: str, text: str | None = None
    ) -> IncidentRow:
        """A unit's answer: accept, decline, on_scene, or resolved (the incident)."""
        if action not in FIELD_ACTIONS:
            raise IncidentError(f"a unit's answer is one of {', '.join(FIELD_ACTIONS)}")
        if action == "resolved":
            return self.advance(incident_id, IncidentState.RESOLVED, actor, text, unit_id=unit_id)
        with self.store.session() as s, s.begin():
            row = self._row(s, incident_id)
            mine = s.scalar(
                select(AssignmentRow).where(
                    AssignmentRow.incident_id == row.id, AssignmentRow.unit_id == unit_id
                )
            )
            if mine is None or not AssignmentStatus(mine.status).active:
                raise IncidentConflict(f"your unit is not dispatched to incident {row.id}")
            now = self._now()
            status = AssignmentStatus(mine.status)
            if action == "accept":
                if status is not AssignmentStatus.DISPATCHED:
                    raise IncidentConflict(f"your unit already answered ({status})")
                mine.status = str(AssignmentStatus.ACCEPTED)
            elif action == "decline":
                if status is AssignmentStatus.ON_SCENE:
                    raise IncidentConflict(
                        "your unit is on scene; the command centre stands it down"
                    )
                mine.status = str(AssignmentStatus.DECLINED)
                self._unit_status(s, unit_id, UnitStatus.AVAILABLE)
                if row.state == IncidentState.DISPATCHED and not self._active(s, row.id):
                    self._move(s, row, IncidentState.OPEN)
            else:  # on_scene
                mine.status = str(AssignmentStatus.ON_SCENE)
                self._unit_status(s, unit_id, UnitStatus.ON_SCENE)
                if row.state in (IncidentState.OPEN, IncidentState.DISPATCHED):
                    if row.state == IncidentState.OPEN:
                        self._move(s, row, IncidentState.DISPATCHED)
                    self._move(s, row, IncidentState.ON_SCENE)
            mine.changed_at = now
            self._step(s, row, actor, {"accept": "accepted", "decline": "declined",
                                       "on_scene": "on_scene"}[action],
                       unit_id=unit_id, text=_text(text))  # fmt: skip
        self.units._publish(self.units.get(unit_id))
        self._publish(row)
        return row

    def _unit_status(self, s: Session, unit_id: int, status: UnitStatus) -> None:
        s.execute(
            update(UnitRow)
            .where(UnitRow.id == unit_id)
            .values(status=str(status), changed_at=self._now())
            .execution_options(synchronize_session=False)
        )

    def _active(self, s: Session, incident_id: int) -> list[AssignmentRow]:
        active = [str(a) for a in AssignmentStatus if a.active]
        q = select(AssignmentRow).where(
            AssignmentRow.incident_id == incident_id, AssignmentRow.status.in_(active)
        )
        return list(s.scalars(q))

    def advance(
        self,
        incident_id: int,
        state: IncidentState | str,
        actor: str,
        text: str | None = None,
        *,
        unit_id: int | None = None,
    ) -> IncidentRow:
        new = IncidentState(state)
        reason = _text(text, "a reason")
        if new in NEEDS_REASON and reason is None:
            raise IncidentError(f"making an incident {new} needs a reason; say why")
        released: list[int] = []
        with self.store.session() as s, s.begin():
            row = self._row(s, incident_id)
            if unit_id is not None and not any(
                a.unit_id == unit_id for a in self._active(s, row.id)
            ):
                raise IncidentConflict(f"your unit is not dispatched to incident {row.id}")
            if new is IncidentState.RESOLVED:
                left = [c["step"] for c in row.checklist or [] if not c.get("done_by")]
                if left:
                    raise IncidentConflict(
                        f"incident {row.id} cannot be resolved before its checklist is done; "
                        f"still to tick: {'; '.join(left)}"
                    )
            if new is IncidentState.DISPATCHED and not self._active(s, row.id):
                raise IncidentConflict("an incident becomes dispatched by sending a unit to it")
            self._move(s, row, new)
            if new in (IncidentState.RESOLVED, IncidentState.OPEN):
                for a in self._active(s, row.id):
                    a.status, a.changed_at = str(AssignmentStatus.RELEASED), self._now()
                    self._unit_status(s, a.unit_id, UnitStatus.AVAILABLE)
                    released.append(a.unit_id)
            self._step(s, row, actor, "state", unit_id=unit_id, text=reason)
        for uid in released:
            self.units._publish(self.units.get(uid))
        self._publish(row)
        return row

    def tick(self, incident_id: int, index: int, actor: str) -> IncidentRow:
        """Tick a checklist step (as done by `actor`, now)."""
        with self.store.session() as s, s.begin():
            row = self._row(s, incident_id)
            self._open_for_change(row)
            steps = [dict(c) for c in row.checklist or []]
            if not 0 <= index < len(steps):
                raise IncidentNotFound(f"incident {row.id} has no checklist step {index + 1}")
            if steps[index].get("done_by"):
                raise IncidentConflict(f"step {index + 1} was ticked by {steps[index]['done_by']}")
            steps[index].update(done_by=actor, done_at=self._now().isoformat())
            row.checklist = steps
            self._step(s, row, actor, "checked", text=steps[index]["step"])
        self._publish(row)
        return row

    # -- checklists --------------------------------------------------------------------------

    def checklists(self) -> list[ChecklistRow]:
        with self.store.session() as s:
            return list(s.scalars(select(ChecklistRow).order_by(ChecklistRow.type)))

    def set_checklist(self, type: str, steps: Sequence[str], actor: str) -> ChecklistRow | None:
        """Require `steps` (in order) before incidents of `type` are resolved; none: no list.
        Incidents opened before keep the list they were opened with."""
        clean = [x.strip() for x in steps if x.strip()]
        if len(clean) > MAX_STEPS or any(len(x) > 200 for x in clean):
            raise IncidentError(f"a checklist has at most {MAX_STEPS} steps of 200 characters")
        if len(set(clean)) != len(clean):
            raise IncidentError("a checklist names each step once")
        with self.store.session() as s, s.begin():
            row = s.get(ChecklistRow, type)
            if not clean:
                if row is not None:
                    s.delete(row)
                return None
            if row is None:
                row = ChecklistRow(type=type, steps=clean, set_by=actor, changed_at=self._now())
                s.add(row)
            else:
                row.steps, row.set_by, row.changed_at = clean, actor, self._now()
        return row

    def _publish(self, row: IncidentRow) -> None:
        if self.bus is not None:
            with self.store.session() as s:
                fresh = s.get(IncidentRow, row.id) or row
            self.bus.publish({"topic": str(Topic.INCIDENT), **self.record(fresh)})


def incident_record(
    row: IncidentRow,
    assignments: Sequence[tuple[AssignmentRow, UnitRow]] = (),
    alerts: Sequence[int] = (),
) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "type": row.type,
        "state": row.state,
        "lat": row.lat,
        "lon": row.lon,
        "camera": row.camera_id,
        "opened_by": row.opened_by,
        "opened_at": _iso(row.opened_at),
        "changed_at": _iso(row.changed_at),
        "checklist": row.checklist,
        "units": [
            {
                "unit_id": u.id,
                "callsign": u.callsign,
                "kind": u.kind,
                "status": a.status,
                "dispatched_by": a.dispatched_by,
                "dispatched_at": _iso(a.dispatched_at),
            }
            for a, u in assignments
        ],  # fmt: skip
        "alerts": list(alerts),
        "next": sorted(INCIDENT_NEXT[IncidentState(row.state)]),
    }


def step_record(row: IncidentStepRow) -> dict[str, Any]:
    return {
        "at": _iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "state": row.state,
        "unit_id": row.unit_id,
        "alert_id": row.alert_id,
        "text": row.text,
    }
