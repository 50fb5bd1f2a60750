"""Cursor-on-Target (CoT): what Vigil sends to a TAK server, and what it reads from one.

Encoding turns REST records (a unit, an incident, an alert) and camera sections into one
`<event>` each; nothing here opens a socket or reads the database. Only what a field unit may
see is written: no snapshot (at most a link, which needs a Vigil login), no plate text unless
configured, a face match only once two people confirmed it and never whom it matched, never a
camera's source address.

Parsing reads one `<event>` with defusedxml (no DTD, no entity expansion) and turns the own
position report of a TAK user (ATAK, WinTAK, iTAK: a friendly ground or air atom with a
callsign and its client's `<takv>` or `<__group>`) into a `TakPosition`, or raises
`CotRejected` saying what is wrong. Anything else a TAK server relays (markers, chat, pings,
Vigil's own events) is not a position and is passed over.
"""

from __future__ import annotations

import enum
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from vigil.config.camera import CameraConfig
from vigil.config.integrations import TakConfig
from vigil.domain import AlertStatus, EventType, IncidentState, Position, UnitKind, UnitStatus
from vigil.errors import VigilError
from vigil.incidents.units import check_callsign, check_position
from vigil.logtext import escape
from vigil.store.alerts import reviewers_needed

SENT_ACTION = "tak.sent"  # the audit row that holds how many messages went to a TAK server
UNKNOWN = 9999999.0  # CoT's "not known" for height and errors (hae, ce, le)
MAX_UID = 100  # units.tak_uid's length
ALERT_TYPE = "b-a-o-tbl"
INCIDENT_TYPE = "b-a-o-opn"
CANCEL_TYPE = "b-a-o-can"  # an incident or alert that is over
CAMERA_TYPE = "b-m-p-s-p-loc"  # a sensor's location
UNIT_TYPES: Mapping[UnitKind, str] = {
    UnitKind.FOOT: "a-f-G-U-C",
    UnitKind.BODY_CAMERA: "a-f-G-U-C",
    UnitKind.CAR: "a-f-G-E-V",
    UnitKind.DRONE: "a-f-A",
}
UNDER_WAY = (IncidentState.OPEN, IncidentState.DISPATCHED, IncidentState.ON_SCENE)


class CotKind(enum.StrEnum):
    """What an outbound message is about (counted per kind in the transparency report)."""

    UNIT = "unit"
    CAMERA = "camera"
    INCIDENT = "incident"
    ALERT = "alert"


# Why an inbound event was refused (the label of vigil_tak_rejected).
REJECT_REASONS = ("xml", "event", "point", "no_fix", "position", "callsign", "unit", "size")


class CotRejected(ValueError):
    """An inbound event that is broken or cannot be stored; `reason` is one of REJECT_REASONS,
    the message says what is wrong (user text in it is escaped)."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event to send: the uid it is about (a newer one for the same uid replaces it)."""

    kind: CotKind
    uid: str
    xml: bytes


@dataclass(frozen=True, slots=True)
class TakPosition:
    """A TAK user's own position report."""

    uid: str
    callsign: str
    kind: UnitKind
    position: Position


# -- encoding ------------------------------------------------------------------------------


def cot_time(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _iso_stamp(text: str | None) -> float | None:
    if not text:
        return None
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _event(
    cot_type: str,
    uid: str,
    point: tuple[float, float, float],
    *,
    now: float,
    stale: float,
    start: float | None = None,
    how: str = "m-g",
) -> tuple[ET.Element, ET.Element]:
    """An <event> with its <point>, and its (empty) <detail>."""
    event = ET.Element("event", version="2.0", uid=uid, type=cot_type, how=how)
    event.set("time", cot_time(now))
    event.set("start", cot_time(now if start is None else min(start, now)))
    event.set("stale", cot_time(stale))
    lat, lon, ce = point
    ET.SubElement(
        event, "point", lat=f"{lat:.7f}", lon=f"{lon:.7f}", hae=f"{UNKNOWN:.1f}",
        ce=f"{ce:.1f}", le=f"{UNKNOWN:.1f}",
    )  # fmt: skip
    return event, ET.SubElement(event, "detail")


def _link(detail: ET.Element, cfg: TakConfig, path: str, remarks: str) -> None:
    if cfg.public_url is not None:
        ET.SubElement(
            detail, "link", url=f"{cfg.public_url}{path}", relation="r-u", mime="text/html",
            remarks=remarks,
        )  # fmt: skip


def _done(kind: CotKind, uid: str, event: ET.Element) -> Outgoing:
    return Outgoing(kind, uid, ET.tostring(event, encoding="utf-8", xml_declaration=False))


def unit_event(
    unit: Mapping[str, Any], cfg: TakConfig, now: float, speed_mps: float | None = None
) -> Outgoing | None:
    """A unit of Vigil's as a friendly unit; None for a TAK user's own unit (TAK has it), one
    without a position or whose position is older than `max_position_age_s`. An off-duty unit
    is withdrawn (stale at once)."""
    where = unit.get("position")
    if unit.get("tak_uid") or not where:
        return None
    measured = _iso_stamp(where.get("time")) or 0.0
    if now - measured > cfg.max_position_age_s:
        return None
    off = unit.get("status") == UnitStatus.OFF_DUTY
    uid = f"{cfg.uid_prefix}unit-{unit['id']}"
    accuracy = where.get("accuracy_m")
    event, detail = _event(
        UNIT_TYPES.get(UnitKind(unit["kind"]), UNIT_TYPES[UnitKind.FOOT]), uid,
        (where["lat"], where["lon"], UNKNOWN if accuracy is None else accuracy),
        now=now, start=measured, stale=now if off else now + cfg.stale_s,
    )  # fmt: skip
    ET.SubElement(detail, "contact", callsign=f"{cfg.callsign_prefix}{unit['callsign']}")
    ET.SubElement(detail, "__group", name=cfg.team, role="Team Member")
    heading = where.get("heading")
    if heading is not None:
        speed = 0.0 if speed_mps is None else speed_mps
        ET.SubElement(detail, "track", course=f"{heading:.1f}", speed=f"{speed:.2f}")
    ET.SubElement(detail, "remarks").text = f"Vigil unit, {str(unit['status']).replace('_', ' ')}"
    return _done(CotKind.UNIT, uid, event)


def camera_event(cam: CameraConfig, cfg: TakConfig, now: float) -> Outgoing | None:
    """A camera with a position as a sensor point; its video element and link lead to the
    camera's page in Vigil (never to its source, which may hold a password)."""
    if cam.lat is None or cam.lon is None:
        return None
    uid = f"{cfg.uid_prefix}camera-{cam.id}"
    event, detail = _event(
        CAMERA_TYPE, uid, (cam.lat, cam.lon, UNKNOWN), now=now, stale=now + cfg.stale_s,
        how="h-e",
    )  # fmt: skip
    ET.SubElement(detail, "contact", callsign=f"{cfg.callsign_prefix}{cam.name or cam.id}")
    if cfg.public_url is not None:
        ET.SubElement(detail, "__video", url=f"{cfg.public_url}/?camera={cam.id}")
    _link(detail, cfg, f"/?camera={cam.id}", "the camera in Vigil (login needed)")
    ET.SubElement(detail, "remarks").text = f"Vigil camera {cam.name or cam.id}"
    return _done(CotKind.CAMERA, uid, event)


def incident_event(incident: Mapping[str, Any], cfg: TakConfig, now: float) -> Outgoing | None:
    """An incident with a position as an alert event linked to it in Vigil; once resolved or
    closed it is cancelled (stale at once, so TAK maps drop it)."""
    if incident.get("lat") is None or incident.get("lon") is None:
        return None
    uid = f"{cfg.uid_prefix}incident-{incident['id']}"
    over = IncidentState(incident["state"]) not in UNDER_WAY
    event, detail = _event(
        CANCEL_TYPE if over else INCIDENT_TYPE, uid,
        (incident["lat"], incident["lon"], UNKNOWN),
        now=now, stale=now if over else now + cfg.stale_s, how="h-e",
    )  # fmt: skip
    title = f"Incident {incident['id']}: {incident['title']}"
    ET.SubElement(detail, "contact", callsign=f"{cfg.callsign_prefix}{title}"[:120])
    units = ", ".join(u["callsign"] for u in incident.get("units", []) if u.get("callsign"))
    state = str(incident["state"]).replace("_", " ")
    remarks = f"{incident.get('type', 'general')}, {state}" + (f"; units: {units}" if units else "")
    ET.SubElement(detail, "remarks").text = remarks
    _link(detail, cfg, f"/?incident={incident['id']}", "the incident in Vigil (login needed)")
    return _done(CotKind.INCIDENT, uid, event)


def alert_shared(alert: Mapping[str, Any]) -> bool | None:
    """True: tell TAK of the alert; False: withdraw it (dismissed); None: say nothing (a
    face match that two people have not confirmed, or one dismissed and so never told)."""
    needs = reviewers_needed(str(alert["type"]))
    status = AlertStatus(alert["status"])
    if needs > 1 and status is not AlertStatus.ACKNOWLEDGED:
        return None
    return status is not AlertStatus.DISMISSED


def alert_event(
    alert: Mapping[str, Any],
    cam: CameraConfig | None,
    cfg: TakConfig,
    now: float,
    shown_for_s: float,
) -> Outgoing | None:
    """An alert at its camera's position, for `shown_for_s` after it was raised (the time a
    field unit is shown alerts); None when it is not to be told or has no position."""
    shared = alert_shared(alert)
    if shared is None or cam is None or cam.lat is None or cam.lon is None:
        return None
    raised = _iso_stamp(alert.get("time")) or now
    until = raised + shown_for_s
    if shared and until <= now:
        return None
    uid = f"{cfg.uid_prefix}alert-{alert['id']}"
    event, detail = _event(
        ALERT_TYPE if shared else CANCEL_TYPE, uid, (cam.lat, cam.lon, UNKNOWN),
        now=now, start=raised, stale=until if shared else now, how="h-e",
    )  # fmt: skip
    title = EventType(alert["type"]).info.title
    where = cam.name or cam.id
    ET.SubElement(detail, "contact", callsign=f"{cfg.callsign_prefix}{title}: {where}"[:120])
    remarks = (
        f"{title} ({alert['rule']}) on camera {where} at {cot_time(raised)}, {alert['status']}"
    )
    read = (alert.get("attributes") or {}).get("read")
    if cfg.plates and alert["type"] == EventType.PLATE_READ and isinstance(read, str):
        remarks += f"; plate {read}"
    ET.SubElement(detail, "remarks").text = remarks
    _link(detail, cfg, f"/?alert={alert['id']}", "the alert in Vigil (login needed)")
    if cfg.snapshots and alert.get("snapshot_url") and cfg.public_url is not None:
        ET.SubElement(
            detail, "link", url=f"{cfg.public_url}{alert['snapshot_url']}", relation="r-u",
            mime="image/jpeg", remarks="snapshot (Vigil login needed; the view is audited)",
        )  # fmt: skip
    return _done(CotKind.ALERT, uid, event)


# -- parsing -------------------------------------------------------------------------------


def read_event(data: bytes) -> ET.Element:
    """The <event> element of one CoT message (an XML declaration may come first)."""
    start = data.find(b"<event")
    if start < 0:
        raise CotRejected("xml", f"no <event> in {escape(data[:80].decode('utf-8', 'replace'))}")
    head = data[:start].strip()
    if head and not (head.startswith(b"<?xml") and head.endswith(b"?>")):
        raise CotRejected(
            "xml", f"text before <event>: {escape(head[:80].decode('utf-8', 'replace'))}"
        )
    try:
        root = fromstring(data[start:], forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise CotRejected("xml", f"not well-formed XML ({escape(exc, 120)})") from None
    if root.tag != "event":
        raise CotRejected("xml", f"the root element is <{escape(root.tag, 40)}>, not <event>")
    return root


def _number(element: ET.Element, name: str, what: str, reason: str) -> float:
    raw = element.get(name)
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise CotRejected(reason, f"{what}: {name} is not a number (got {escape(raw, 30)})")
    return value


def is_position(event: ET.Element) -> bool:
    """A friendly ground or air atom (a-f-G..., a-f-A...)."""
    cot_type = event.get("type") or ""
    return any(cot_type == t or cot_type.startswith(t + "-") for t in ("a-f-G", "a-f-A"))


def kind_of(cot_type: str) -> UnitKind:
    if cot_type.startswith("a-f-A"):
        return UnitKind.DRONE
    if cot_type.startswith("a-f-G-E-V"):
        return UnitKind.CAR
    return UnitKind.FOOT


def position_of(
    event: ET.Element, *, own_prefix: str, now: float, max_skew_s: float, oldest: float
) -> TakPosition | None:
    """The TAK user's position this event reports; None when it is no such report (another
    kind of event, a marker placed on a map, Vigil's own); CotRejected when it is one that is
    broken: no point, no fix, off the Earth, from the future, a callsign Vigil cannot take."""
    uid = event.get("uid") or ""
    if uid.startswith(own_prefix) or not is_position(event):
        return None
    detail = event.find("detail")
    contact = detail.find("contact") if detail is not None else None
    client = detail is not None and (
        detail.find("takv") is not None or detail.find("__group") is not None
    )
    if contact is None or not client:
        return None  # a marker someone placed: not a TAK user's own position
    shown = escape(uid, 60)
    if not uid or len(uid) > MAX_UID or not uid.isprintable():
        raise CotRejected("event", f"uid '{shown}' is empty, too long or not printable")
    what = f"uid '{shown}'"
    point = event.find("point")
    if point is None:
        raise CotRejected("point", f"{what}: the event has no <point>")
    lat, lon = _number(point, "lat", what, "point"), _number(point, "lon", what, "point")
    ce = _number(point, "ce", what, "point") if point.get("ce") is not None else UNKNOWN
    if ce >= UNKNOWN:
        raise CotRejected("no_fix", f"{what}: no position fix (ce {ce:g}, the device has no GPS)")
    try:
        when = _iso_stamp(event.get("time"))
    except ValueError:
        when = None
    if when is None:
        raise CotRejected("event", f"{what}: time {escape(event.get('time'), 40)} is not ISO 8601")
    track = detail.find("track") if detail is not None else None
    course = speed = None
    if track is not None and track.get("course") is not None:
        course = _number(track, "course", what, "position")
    if track is not None and track.get("speed") is not None:
        speed = _number(track, "speed", what, "position")
    callsign = (contact.get("callsign") or "").strip()
    try:
        check_callsign(callsign)
    except VigilError as exc:
        raise CotRejected("callsign", f"{what}: {exc}") from None
    try:
        checked = check_position(
            Position(lat, lon, when, accuracy_m=ce, heading=course, speed_mps=speed),
            now=now, max_skew_s=max_skew_s, oldest=oldest, label=what,
        )  # fmt: skip
    except VigilError as exc:
        raise CotRejected("position", str(exc)) from None
    return TakPosition(uid, callsign, kind_of(event.get("type") or ""), checked)
