"""The vocabulary of Vigil: small frozen values passed between the pipeline stages.

Names here are the names used in the API, the database and the UI.
Coordinates are pixels of the source frame unless a name says otherwise.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box: top-left corner (x, y), width w and height h, in pixels."""

    x: float
    y: float
    w: float
    h: float

    @classmethod
    def from_xyxy(cls, x1: float, y1: float, x2: float, y2: float) -> Box:
        return cls(float(x1), float(y1), float(x2 - x1), float(y2 - y1))

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    @property
    def center(self) -> Point:
        return (self.x + self.w / 2, self.y + self.h / 2)

    @property
    def bottom_center(self) -> Point:
        """Where the object touches the ground in a side view."""
        return (self.x + self.w / 2, self.y + self.h)

    def anchor(self, name: str) -> Point:
        return self.center if name == "center" else self.bottom_center

    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x2, self.y2)

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x2, other.x2) - max(self.x, other.x))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clip(self, width: float, height: float) -> Box:
        x1, y1 = min(max(self.x, 0.0), width), min(max(self.y, 0.0), height)
        x2, y2 = min(max(self.x2, 0.0), width), min(max(self.y2, 0.0), height)
        return Box.from_xyxy(x1, y1, x2, y2)

    def offset(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def scale(self, sx: float, sy: float) -> Box:
        return Box(self.x * sx, self.y * sy, self.w * sx, self.h * sy)

    def expand(self, margin: float) -> Box:
        """Grow by `margin` (a fraction of the larger side) on every side."""
        m = margin * max(self.w, self.h)
        return Box(self.x - m, self.y - m, self.w + 2 * m, self.h + 2 * m)

    def union(self, other: Box) -> Box:
        return Box.from_xyxy(
            min(self.x, other.x),
            min(self.y, other.y),
            max(self.x2, other.x2),
            max(self.y2, other.y2),
        )

    def as_list(self, ndigits: int = 1) -> list[float]:
        return [
            round(self.x, ndigits),
            round(self.y, ndigits),
            round(self.w, ndigits),
            round(self.h, ndigits),
        ]


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Where a moving camera (drone, body camera, aircraft sensor) was and where it looked, at
    `t` seconds from the start of its video. Angles in degrees; positions WGS 84; altitude in
    metres (`alt`: the sensor's, above mean sea level where the format says so). Platform
    attitude: heading clockwise from true north, pitch up positive, roll right-wing-down
    positive. Sensor angles are relative to the platform (MISB ST 0601): azimuth clockwise,
    elevation up positive (looking down is negative). A value the format does not carry is
    None. `frame_center` and `corners` are what the source itself encoded (KLV), not computed."""

    t: float
    lat: float | None = None
    lon: float | None = None
    alt: float | None = None
    rel_alt: float | None = None  # metres above the take-off point (DJI's H / BAROMETER)
    heading: float | None = None
    pitch: float | None = None
    roll: float | None = None
    sensor_azimuth: float | None = None
    sensor_elevation: float | None = None
    sensor_roll: float | None = None
    hfov: float | None = None
    vfov: float | None = None
    slant_range: float | None = None
    # The ground's elevation at the frame centre (KLV tag 25): the plane a projection meets.
    frame_center_alt: float | None = None
    speed_mps: float | None = None
    fix: int | None = None  # GPS fix: 0 none, 2 2-D, 3 3-D
    frame_center: tuple[float, float] | None = None
    corners: tuple[tuple[float, float], ...] | None = None
    wallclock: float | None = None  # UNIX time the sample was taken, where the format says
    source: str = ""  # gpmf | dji-srt | klv


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded picture from a camera.

    `timestamp` is media time in seconds from the start of the source (for a file, the
    presentation time; for a live stream, seconds since the source first connected).
    `wallclock` is the UNIX time at which the frame was captured or decoded.
    `image` is BGR, uint8, shape (height, width, 3).
    """

    camera_id: str
    index: int
    timestamp: float
    image: np.ndarray
    wallclock: float = 0.0
    telemetry: Telemetry | None = None  # where the camera was and looked at `timestamp`

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class Detection:
    """An object a detector found in one image."""

    box: Box
    label: str
    score: float


class TrackState(enum.StrEnum):
    TENTATIVE = "tentative"  # seen, not yet confirmed
    CONFIRMED = "confirmed"  # matched in this update
    LOST = "lost"  # not matched recently, may come back
    REMOVED = "removed"  # ended for good


@dataclass(frozen=True, slots=True)
class Track:
    """An object followed over time. `id` is stable for the object's life on one camera."""

    id: int
    label: str
    box: Box
    score: float
    state: TrackState
    first_seen: float
    last_seen: float
    hits: int = 1

    @property
    def duration(self) -> float:
        return self.last_seen - self.first_seen


class EventType(enum.StrEnum):
    """What happened. Everything else (config, API, database, UI) takes the list from here;
    `EVENT_INFO` says how each is shown and which place (zone or line) it is about."""

    APPEAR = "appear"  # a track was confirmed: an object came into view (told at once)
    OBJECT = "object"  # a track ended: one line per object seen
    ZONE_ENTER = "zone_enter"
    ZONE_LEAVE = "zone_leave"
    LINE_CROSS = "line_cross"
    LOITER = "loiter"
    SPEEDING = "speeding"  # an object moved faster over the ground than the camera's limit
    PLATE_READ = "plate_read"  # a vehicle's licence plate, voted over the reads of its track
    FACE_MATCH = "face_match"  # a person's face matched a watchlist entry (stored only then)
    CAMERA_MOTION = "camera_motion"  # the camera itself reported motion (ONVIF events)
    CAMERA_TAMPER = "camera_tamper"  # the camera reported tampering: covered, moved, blurred
    FIRE = "fire"  # flame seen for seconds on a watch camera (vigil.analyzers.fire)
    SMOKE = "smoke"  # smoke seen for seconds on a watch camera

    @property
    def info(self) -> EventInfo:
        return EVENT_INFO[self]


@dataclass(frozen=True, slots=True)
class EventInfo:
    title: str  # how the UI names it
    description: str
    place: str | None = None  # "zone" or "line": the attribute naming where it happened
    # How many different people must confirm an alert of this type before it may be acted on.
    reviewers: int = 1


EVENT_INFO: Mapping[EventType, EventInfo] = {
    EventType.APPEAR: EventInfo("Appeared", "an object came into view (its track confirmed)"),
    EventType.OBJECT: EventInfo("Object", "a whole track, when it ended, with its best picture"),
    EventType.ZONE_ENTER: EventInfo("Zone enter", "an object entered a zone", "zone"),
    EventType.ZONE_LEAVE: EventInfo("Zone leave", "an object left a zone", "zone"),
    EventType.LINE_CROSS: EventInfo("Line cross", "an object crossed a line", "line"),
    EventType.LOITER: EventInfo("Loiter", "an object stayed in a zone too long", "zone"),
    EventType.SPEEDING: EventInfo("Speeding", "an object moved faster than the limit"),
    EventType.PLATE_READ: EventInfo("Plate read", "a vehicle's licence plate was read"),
    EventType.FACE_MATCH: EventInfo(
        "Face match", "a face matched a watchlist entry: two people must confirm", reviewers=2
    ),
    EventType.CAMERA_MOTION: EventInfo("Camera motion", "the camera's own motion detection"),
    EventType.CAMERA_TAMPER: EventInfo(
        "Camera tamper", "the camera reported being covered, moved, blinded or blurred"
    ),
    # Fire watch looks at land, not people: one reviewer, as for any other alert.
    EventType.FIRE: EventInfo("Fire", "flame seen for seconds; its bearing from the camera"),
    EventType.SMOKE: EventInfo("Smoke", "smoke seen for seconds; its bearing from the camera"),
}


def events_about(place: str) -> tuple[EventType, ...]:
    """The event types that happen in a zone ("zone") or on a line ("line")."""
    return tuple(t for t in EventType if t.info.place == place)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened on a camera at `time` (seconds of media time).

    `start`/`end` bound the event (equal for instantaneous ones). `attributes` carries the
    type-specific fields (zone, line, direction, ...), flattened into the JSON form.
    """

    type: EventType
    camera_id: str
    time: float
    track_id: int | None
    label: str | None
    box: Box | None = None
    score: float | None = None
    start: float | None = None
    end: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # A picture of its own (BGR), stored as the event's snapshot instead of a crop of the frame
    # it was told on (a plate read is told when its track ends, with the best read's crop).
    picture: np.ndarray | None = field(default=None, compare=False, repr=False)

    def with_picture(self, picture: np.ndarray | None) -> Event:
        return replace(self, picture=picture)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": str(self.type),
            "camera": self.camera_id,
            "time": round(self.time, 3),
            "track_id": self.track_id,
            "label": self.label,
        }
        if self.start is not None:
            out["start"] = round(self.start, 3)
        if self.end is not None:
            out["end"] = round(self.end, 3)
        if self.score is not None:
            out["score"] = round(self.score, 3)
        if self.box is not None:
            out["box"] = self.box.as_list()
        out.update(self.attributes)
        return out


@dataclass(frozen=True, slots=True)
class Zone:
    """A named polygon on a camera's image, in pixels."""

    name: str
    polygon: tuple[Point, ...]
    loiter_seconds: float | None = None
    labels: frozenset[str] | None = None  # None: every label
    anchor: str = "bottom_center"  # which point of a box must be inside: "bottom_center" | "center"


@dataclass(frozen=True, slots=True)
class Line:
    """A named counting line from `a` to `b`, in pixels.

    `in_side` is the side of the line (looking from a towards b) that an object moves to
    when it crosses inbound.
    """

    name: str
    a: Point
    b: Point
    in_side: str = "left"  # "left" | "right"
    labels: frozenset[str] | None = None
    anchor: str = "bottom_center"  # "bottom_center" | "center"


@dataclass(frozen=True, slots=True)
class Camera:
    id: str
    name: str
    source: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class CameraHealth:
    """What a source knows of its camera's connection."""

    camera_id: str
    online: bool
    offline_since: float | None = None  # UNIX time
    last_frame_time: float | None = None  # UNIX time
    error: str | None = None


class AlertStatus(enum.StrEnum):
    """Where an alert stands in its review."""

    CANDIDATE = "candidate"  # raised by a rule; nobody has looked at it yet
    ACKNOWLEDGED = "acknowledged"  # a person confirmed it needs attention
    DISMISSED = "dismissed"  # a person decided it does not (with a reason)


class UnitKind(enum.StrEnum):
    """What a unit in the field is."""

    FOOT = "foot"
    CAR = "car"
    DRONE = "drone"
    BODY_CAMERA = "body_camera"

    @property
    def speed_kmh(self) -> float:
        """A plain travel speed for a straight-line ETA (urban driving, a brisk walk)."""
        return UNIT_SPEED_KMH[self]


UNIT_SPEED_KMH: Mapping[UnitKind, float] = {
    UnitKind.FOOT: 5.0,
    UnitKind.CAR: 30.0,
    UnitKind.DRONE: 40.0,
    UnitKind.BODY_CAMERA: 5.0,
}


class UnitStatus(enum.StrEnum):
    """Where a unit stands."""

    AVAILABLE = "available"
    DISPATCHED = "dispatched"  # sent to an incident (offered or accepted), not there yet
    ON_SCENE = "on_scene"
    OFF_DUTY = "off_duty"


class IncidentState(enum.StrEnum):
    """An incident's life: open -> dispatched -> on scene -> resolved -> closed."""

    OPEN = "open"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CLOSED = "closed"

    def may_become(self, other: IncidentState) -> bool:
        return other in INCIDENT_NEXT[self]


# The steps an incident may take from each state (a resolved one may be reopened; a closed
# one is final). Dispatching a unit moves an open incident to `dispatched`; a unit on scene
# moves it to `on_scene`.
INCIDENT_NEXT: Mapping[IncidentState, frozenset[IncidentState]] = {
    IncidentState.OPEN: frozenset(
        {IncidentState.DISPATCHED, IncidentState.RESOLVED, IncidentState.CLOSED}
    ),
    IncidentState.DISPATCHED: frozenset(
        {IncidentState.OPEN, IncidentState.ON_SCENE, IncidentState.RESOLVED}
    ),
    IncidentState.ON_SCENE: frozenset({IncidentState.RESOLVED}),
    IncidentState.RESOLVED: frozenset({IncidentState.OPEN, IncidentState.CLOSED}),
    IncidentState.CLOSED: frozenset(),
}


class AssignmentStatus(enum.StrEnum):
    """A unit's part in one incident."""

    DISPATCHED = "dispatched"  # the command centre sent it; it has not answered
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ON_SCENE = "on_scene"
    RELEASED = "released"  # the incident was resolved or the unit stood down

    @property
    def active(self) -> bool:
        return self in (
            AssignmentStatus.DISPATCHED, AssignmentStatus.ACCEPTED, AssignmentStatus.ON_SCENE
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Position:
    """Where a unit was at `time` (UNIX time): WGS 84 degrees, accuracy and heading."""

    lat: float
    lon: float
    time: float
    accuracy_m: float | None = None
    heading: float | None = None  # degrees clockwise from north
    speed_mps: float | None = None


@dataclass(frozen=True, slots=True)
class Unit:
    """A person, vehicle or drone in the field, with a callsign."""

    id: int
    callsign: str
    kind: UnitKind
    status: UnitStatus
    user: str | None = None  # the user who carries it
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """Something people in the field deal with: it groups alerts, units, notes and steps."""

    id: int
    title: str
    type: str
    state: IncidentState
    lat: float | None = None
    lon: float | None = None
    camera_id: str | None = None


class RecordingMode(enum.StrEnum):
    """What a camera's recorder keeps."""

    OFF = "off"
    CONTINUOUS = "continuous"  # everything
    EVENTS = "events"  # only around events: pre-roll before the first, post-roll after the last


class SegmentState(enum.StrEnum):
    """A recorded segment's life."""

    OPEN = "open"  # being written
    CLOSED = "closed"  # complete; size and SHA-256 known
    CUT = "cut"  # its recorder stopped mid-segment (crash, kill); playable up to its last fragment


class ClipStatus(enum.StrEnum):
    """An ingested body-camera or drone clip's analysis."""

    QUEUED = "queued"  # uploaded, waiting for its turn
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the video could not be analysed (the error says why)


class DeliveryState(enum.StrEnum):
    """A webhook delivery (vigil.integrations.webhooks)."""

    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"  # the receiver answered 2xx
    DEAD = "dead"  # refused (4xx), or every attempt failed: in the dead-letter list


@dataclass(frozen=True, slots=True)
class Segment:
    """A short fragmented-MP4 file of one camera's own stream (remuxed, not re-encoded).
    Times are UNIX times; `path` is relative to the data directory."""

    id: int
    camera_id: str
    start: float
    end: float | None
    path: str
    state: SegmentState
    codec: str
    frames: int = 0
    size: int = 0
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Gap:
    """A time a camera was meant to be recorded and was not (the stream dropped, the recorder
    stopped); `end` is None while it lasts."""

    camera_id: str
    start: float
    end: float | None
    reason: str


class Role(enum.StrEnum):
    """What a user may do.

    The operational roles form a rank (each can do everything the ones before it can):
    viewer < operator < supervisor < admin. The auditor stands outside that rank: it reads the
    audit log and the transparency reports and sees no camera, picture, event or alert. So
    does the field role: an officer's phone sees what concerns their unit — alerts and
    incidents near it or assigned to it, the live picture of cameras tied to its incident —
    through /api/field only; no search, no history.
    """

    VIEWER = "viewer"  # read cameras, events, alerts of the cameras they may see
    OPERATOR = "operator"  # + review alerts
    SUPERVISOR = "supervisor"  # + manage operators and viewers
    ADMIN = "admin"  # everything, users of every role included, the audit log too
    AUDITOR = "auditor"  # the audit log and transparency reports only; no video, no events
    FIELD = "field"  # an officer in the field: what concerns their unit only (/field)

    @property
    def operational(self) -> bool:
        """Whether this role works with cameras, pictures, events and alerts."""
        return self in OPERATIONAL_RANK

    @property
    def rank(self) -> int:
        """Place in the operational rank; -1 for the auditor (below every operational role)."""
        return OPERATIONAL_RANK.index(self) if self.operational else -1

    def at_least(self, other: Role) -> bool:
        """Whether this role can do what `other` can. Only the auditor is at least an auditor
        (an admin's audit access is `reads_audit`); no auditor is at least any operational role."""
        if not other.operational:
            return self is other
        return self.operational and self.rank >= other.rank

    @property
    def reads_audit(self) -> bool:
        """Whether this role may read the audit log and transparency reports."""
        return self in (Role.ADMIN, Role.AUDITOR)

    @property
    def manages_users(self) -> bool:
        """Supervisors manage operators and viewers; admins manage everyone."""
        return self.at_least(Role.SUPERVISOR)

    def grantable(self) -> tuple[Role, ...]:
        """The roles a manager with this role may give (and manage users of)."""
        if self is Role.ADMIN:
            return tuple(Role)
        return (Role.OPERATOR, Role.VIEWER, Role.FIELD) if self.manages_users else ()


OPERATIONAL_RANK: tuple[Role, ...] = (Role.VIEWER, Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class Alert:
    """A rule matched an event: a candidate until a person reviews it."""

    rule: str
    camera_id: str
    type: EventType
    time: float  # UNIX time of the event
    label: str | None
    event_id: int | None = None
    snapshot: str | None = None  # path relative to the data directory
    status: AlertStatus = AlertStatus.CANDIDATE
    # What the rule matched, for a person to judge: a hotlist hit carries the read, the list
    # and the entry (see vigil/rules/hotlists.py).
    attributes: Mapping[str, Any] = field(default_factory=dict)
