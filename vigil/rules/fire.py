"""Fire watch: the alert rule for fire and smoke events, and the locator that crosses the
bearings of several cameras into a fix.

- Every stored `fire` / `smoke` event (only the fire analyzer makes them) raises a candidate
  alert of the rule FIRE_RULE, one reviewer (EventInfo: fire watch looks at land, not
  people), still reviewed and audited like every alert. Its attributes are the event's
  (bearing, first seen, ...) and, when the locator finds one, the fix in `attributes["fix"]`.
- No second alert for the same fire from the same camera while the first is open (a
  candidate, or acknowledged, raised less than OPEN_FOR_S ago): the same fire is the same
  direction from the same place, the same ground point (within SAME_FIRE_M), a line
  through the first alert's fix, or a fix made with the first alert's sighting (a drone
  that saw it again from elsewhere). Flame and smoke of one fire are one fire. A camera without
  bearings has one open fire alert at a time.
- The locator: a fire or smoke event with a bearing is crossed with the other bearings
  stored in the LOCATE_WINDOW_S before it (any camera; a moving camera's own from another
  place), one line per camera and direction (the newest), leaving out lines three or more
  cameras already agree belong to another fire: `vigil.geo.crossing.locate`. The
  fix goes out on the bus (`{"topic": "fire_fix", **record}`) and into the alert; open fire
  alerts of the other events it is made from take it too when it is better known than theirs.

A fix record: `{"lat", "lon", "uncertainty_m" (95 % circle), "semi_major_m", "semi_minor_m",
"major_axis_deg", "crossing_deg", "ranges_m", "cameras", "event_ids", "label" ("fire" when
any of its events saw flame), "time" (ISO 8601 UTC, its newest event's)}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from vigil.bus import Bus, Topic
from vigil.domain import Alert, AlertStatus, Event, EventType
from vigil.geo.bearing import BearingLine
from vigil.geo.crossing import GATE_SIGMAS, Fix, locate, passes_near
from vigil.geo.earth import haversine_m
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.store.records import iso
from vigil.store.tables import AlertRow, EventRow

FIRE_RULE = "fire watch"
FIRE_TYPES = (EventType.FIRE, EventType.SMOKE)
LOCATE_WINDOW_S = 600.0  # a second tower may see the smoke minutes after the first
OPEN_FOR_S = 12 * 3600.0  # an open fire alert older than this no longer holds back a new one
SAME_FIRE_DEG = 5.0  # the least bearing difference two sightings of one fire may show
SAME_FIRE_M = 1_000.0
MAX_BEARINGS = 500  # the newest fire and smoke events read for one locating
MAX_LINES = 16  # the newest cameras' lines (one per camera and direction) a fix may use
OPEN = (str(AlertStatus.CANDIDATE), str(AlertStatus.ACKNOWLEDGED))
BEARING_KEYS = ("bearing_deg", "bearing_sigma_deg", "from_lat", "from_lon")


def bearing_record(row: EventRow) -> dict[str, Any] | None:
    """A stored fire or smoke event's bearing (the API's and the map's shape), or None when
    its camera gave none."""
    attrs = row.attributes or {}
    if BearingLine.of(attrs) is None:
        return None
    out: dict[str, Any] = {
        "event_id": row.id,
        "camera": row.camera_id,
        "label": row.type,
        "time": iso(row.time),
        **{k: float(attrs[k]) for k in BEARING_KEYS if k in attrs},
    }
    for k in ("ground_lat", "ground_lon"):
        if isinstance(attrs.get(k), int | float):
            out[k] = float(attrs[k])
    return out


def recent_bearings(
    store: Store, since: datetime, until: datetime, visible: frozenset[str] | None = None
) -> list[EventRow]:
    """Fire and smoke events stored from `since` to `until` that carry a bearing, newest
    first (at most MAX_BEARINGS), of the `visible` cameras (None: all)."""
    query = (
        select(EventRow)
        .where(
            EventRow.type.in_([str(t) for t in FIRE_TYPES]),
            EventRow.time >= since,
            EventRow.time <= until,
        )
        .order_by(EventRow.time.desc(), EventRow.id.desc())
        .limit(MAX_BEARINGS)
    )
    if visible is not None:
        query = query.where(EventRow.camera_id.in_(sorted(visible)))
    with store.session() as s:
        rows = list(s.scalars(query))
    return [r for r in rows if BearingLine.of(r.attributes or {}) is not None]


def _line(row: EventRow) -> BearingLine:
    line = BearingLine.of(row.attributes or {})
    assert line is not None
    return line


def _same_direction(a: BearingLine, b: BearingLine) -> bool:
    """Two sightings from one place along one direction (within their uncertainty)."""
    if haversine_m((a.lat, a.lon), (b.lat, b.lon)) >= SAME_FIRE_M:
        return False
    gap = abs((a.bearing_deg - b.bearing_deg + 180.0) % 360.0 - 180.0)
    return gap <= max(SAME_FIRE_DEG, GATE_SIGMAS * math.hypot(a.sigma_deg, b.sigma_deg))


def _distinct(newest_first: Sequence[EventRow]) -> list[EventRow]:
    """One line per camera and direction, the newest: a camera's repeated sightings of one
    fire share its pan's error, and counting them again would shrink the fix's uncertainty
    for nothing."""
    kept: dict[str, list[tuple[EventRow, BearingLine]]] = {}
    out: list[EventRow] = []
    for row in newest_first:
        line, own = _line(row), kept.setdefault(row.camera_id, [])
        if not any(_same_direction(seen, line) for _, seen in own):
            own.append((row, line))
            out.append(row)
    return out


def fix_record(fix: Fix, rows: Sequence[EventRow]) -> dict[str, Any]:
    newest = max(rows, key=lambda r: (as_utc(r.time), r.id))
    labels = {r.type for r in rows}
    return {
        "lat": fix.lat,
        "lon": fix.lon,
        "uncertainty_m": fix.uncertainty_m,
        "semi_major_m": fix.semi_major_m,
        "semi_minor_m": fix.semi_minor_m,
        "major_axis_deg": fix.major_axis_deg,
        "crossing_deg": fix.crossing_deg,
        "ranges_m": list(fix.ranges_m),
        "cameras": sorted({r.camera_id for r in rows}),
        "event_ids": [r.id for r in rows],
        "label": str(EventType.FIRE) if str(EventType.FIRE) in labels else str(EventType.SMOKE),
        "time": iso(newest.time),
    }


def _unclaimed(line: BearingLine, others: list[EventRow]) -> list[EventRow]:
    """The lines `line` may be crossed with: where three or more of the others already agree
    on a fire that `line` does not pass near, their lines are that fire's, and a crossing
    with one of them would be a ghost (two fires, each seen by one of two towers, cross
    their lines where there is none; a third line says which crossing is real)."""
    found = locate([_line(r) for r in others]) if len(others) >= 3 else None
    if found is None or len(found[1]) < 3 or passes_near(line, found[0]):
        return others
    taken = set(found[1])
    return [r for k, r in enumerate(others) if k not in taken]


def fix_through(row: EventRow, earlier: Sequence[EventRow]) -> dict[str, Any] | None:
    """The best fix `row`'s bearing makes with the `earlier` ones (newest first), as a
    record; None when it has no bearing or crosses none of them."""
    if BearingLine.of(row.attributes or {}) is None:
        return None
    distinct = _distinct([row, *(r for r in earlier if r.id != row.id)])[1:MAX_LINES]
    others = _unclaimed(_line(row), distinct)
    rows = [row, *others]
    found = locate([_line(r) for r in rows], through=0)
    if found is None:
        return None
    fix, members = found
    return fix_record(fix, [rows[k] for k in members])


def fixes_of(
    newest_first: Sequence[EventRow], window_s: float = LOCATE_WINDOW_S
) -> list[dict[str, Any]]:
    """The fires these bearings (newest first) locate: for each camera's newest sighting in
    each direction, the fix it makes with those of the window before it; of the fixes of one
    fire (within either's uncertainty of each other), the newest. Newest first."""
    out: list[dict[str, Any]] = []
    position = {r.id: i for i, r in enumerate(newest_first)}
    for row in _distinct(newest_first):
        start = as_utc(row.time) - timedelta(seconds=window_s)
        earlier = [r for r in newest_first[position[row.id] + 1 :] if as_utc(r.time) >= start]
        record = fix_through(row, earlier)
        if record is not None and not any(_same_place(record, kept) for kept in out):
            out.append(record)
    return out


def _same_place(a: dict[str, Any], b: dict[str, Any]) -> bool:
    apart = haversine_m((a["lat"], a["lon"]), (b["lat"], b["lon"]))
    return apart <= max(a["uncertainty_m"], b["uncertainty_m"])


def _place(lat: object, lon: object) -> tuple[float, float] | None:
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return (float(lat), float(lon))
    return None


def fix_of(alert: AlertRow) -> tuple[float, float] | None:
    """Where a fire alert puts its fire: its fix, else its own camera's ground point (a
    drone's ray meeting the ground); None for any other alert or when neither is known."""
    if alert.type not in {str(t) for t in FIRE_TYPES}:
        return None
    attrs = alert.attributes or {}
    fix = attrs.get("fix")
    if isinstance(fix, dict) and (where := _place(fix.get("lat"), fix.get("lon"))):
        return where
    return _place(attrs.get("ground_lat"), attrs.get("ground_lon"))


def without_unseen_fix(record: dict[str, Any], sees: Callable[[str], bool]) -> dict[str, Any]:
    """An alert's record as one user may see it: a fire alert's fix (a position made from
    several cameras, naming them) only for who sees every camera in it, as GET /api/fire and
    the live `fire_fix` messages do; the alert's own bearing stays."""
    attrs = record.get("attributes")
    fix = attrs.get("fix") if isinstance(attrs, dict) else None
    if not isinstance(fix, dict):
        return record
    if all(sees(str(c)) for c in fix.get("cameras") or ()):
        return record
    kept = {k: v for k, v in attrs.items() if k != "fix"}  # type: ignore[union-attr]
    return {**record, "attributes": kept}


def same_fire(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two sightings of one camera (their attributes) are of the same fire (see the
    module's note)."""
    a, b = BearingLine.of(old), BearingLine.of(new)
    if a is None or b is None:
        return True
    if _same_direction(a, b):
        return True
    here, there = (
        _place(old.get("ground_lat"), old.get("ground_lon")),
        _place(new.get("ground_lat"), new.get("ground_lon")),
    )
    if here is not None and there is not None and haversine_m(here, there) < SAME_FIRE_M:
        return True
    fix = old.get("fix")
    if isinstance(fix, dict) and (where := _place(fix.get("lat"), fix.get("lon"))):
        spread = float(fix.get("semi_major_m") or 0.0)
        return passes_near(b, Fix(*where, 0.0, spread, spread, 0.0, (), 0.0))
    return False


class FireAlerts:
    """The fire rule and the locator over one store (see the module's note). `republish`
    sends an alert again once it took a better fix (AlertService's publish)."""

    def __init__(
        self,
        alerts: Alerts,
        bus: Bus | None,
        republish: Callable[[AlertRow], None] | None = None,
        *,
        window_s: float = LOCATE_WINDOW_S,
    ) -> None:
        self.store, self.bus, self.republish = alerts.store, bus, republish
        self.window_s = window_s

    def alerts(self, event: Event, row: EventRow | None = None) -> list[Alert]:
        """The candidate alert a fire or smoke event raises (none for another event, or
        while the same fire's alert from that camera is open)."""
        if event.type not in FIRE_TYPES:
            return []
        attrs = dict(event.attributes)
        fix = self.locate(row) if row is not None else None
        if fix is not None:
            attrs["fix"] = fix
            if self.bus is not None:
                self.bus.publish({"topic": str(Topic.FIRE_FIX), **fix})
        when = as_utc(row.time).timestamp() if row is not None else event.time
        held = self._open_alert(event.camera_id, attrs, when)
        if fix is not None:
            own = row.id if row is not None else None
            self._share(fix, [i for i in fix["event_ids"] if i != own], held)
        if held is not None:
            return []
        return [
            Alert(
                rule=FIRE_RULE,
                camera_id=event.camera_id,
                type=EventType(event.type),
                time=when,
                label=event.label,
                event_id=row.id if row is not None else None,
                snapshot=row.snapshot if row is not None else None,
                attributes=attrs,
            )
        ]

    def locate(self, row: EventRow) -> dict[str, Any] | None:
        """The fix a stored event's bearing makes with those of the window before it."""
        if BearingLine.of(row.attributes or {}) is None:
            return None  # nothing to cross: no need to read the others
        until = as_utc(row.time)
        earlier = recent_bearings(self.store, until - timedelta(seconds=self.window_s), until)
        return fix_through(row, earlier)

    def _open_alert(self, camera_id: str, attrs: dict[str, Any], when: float) -> int | None:
        """The id of the camera's open alert of the same fire, if there is one."""
        since = datetime.fromtimestamp(when - OPEN_FOR_S, tz=UTC)
        query = (
            select(AlertRow)
            .where(
                AlertRow.rule == FIRE_RULE,
                AlertRow.camera_id == camera_id,
                AlertRow.status.in_(OPEN),
                AlertRow.time >= since,
            )
            .order_by(AlertRow.time.desc(), AlertRow.id.desc())
        )
        with self.store.session() as s:
            made_with = set(attrs["fix"]["event_ids"]) if "fix" in attrs else set()
            for r in s.scalars(query):
                if r.event_id in made_with or same_fire(dict(r.attributes or {}), attrs):
                    return r.id
        return None

    def _share(self, fix: dict[str, Any], event_ids: list[int], held: int | None) -> None:
        """The fix into the open fire alerts of the other events it is made from (and the
        open alert `held` that stands for this one), where it is better known than theirs."""
        if not event_ids and held is None:
            return
        changed: list[int] = []
        with self.store.session() as s, s.begin():
            query = select(AlertRow).where(
                or_(AlertRow.event_id.in_(event_ids), AlertRow.id == (held or 0)),
                AlertRow.rule == FIRE_RULE,
                AlertRow.status.in_(OPEN),
            )
            for alert in s.scalars(query):
                attrs = dict(alert.attributes or {})
                had = attrs.get("fix")
                known = had.get("uncertainty_m") if isinstance(had, dict) else None
                if isinstance(known, int | float) and known <= fix["uncertainty_m"]:
                    continue
                s.execute(
                    update(AlertRow)
                    .where(AlertRow.id == alert.id)
                    .values(attributes={**attrs, "fix": fix})
                )
                changed.append(alert.id)
        if self.republish is not None:
            for alert_id in changed:
                with self.store.session() as s:
                    fresh = s.get(AlertRow, alert_id)
                if fresh is not None:
                    self.republish(fresh)
