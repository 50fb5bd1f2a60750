"""The API's request and response models: its contract, published as OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vigil.domain import AlertStatus, Role
from vigil.store.alerts import MAX_REASON, NEEDS_REASON
from vigil.store.users import MIN_PASSWORD, USERNAME

SURROGATE = "text must be valid Unicode: a lone surrogate (such as \\ud800) cannot be stored"


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_surrogate(v) for v in value)
    return False


class Model(BaseModel):
    """Every request and answer: no field beyond the declared ones, and text that can be
    stored (JSON may spell a lone UTF-16 surrogate, which no database or log can hold)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        if _has_surrogate(data):
            raise ValueError(SURROGATE)
        return data


class CameraHealthOut(Model):
    online: bool
    offline_since: datetime | None = None
    last_frame_time: datetime | None = None
    error: str | None = None
    fps: float | None = Field(None, description="frames analysed per second, recently")
    frames: int = 0
    dropped: int = Field(0, description="frames skipped because the analysis was behind")
    restarts: int = 0


class ZoneOut(Model):
    name: str
    polygon: list[tuple[float, float]] = Field(description="fractions of the image, (x, y)")
    loiter_seconds: float | None
    labels: list[str] | None


class LineOut(Model):
    name: str
    a: tuple[float, float]
    b: tuple[float, float]
    in_side: str
    labels: list[str] | None


class CameraOut(Model):
    id: str
    name: str
    lat: float | None
    lon: float | None
    width: int | None = Field(None, description="of the analysed picture, once known")
    height: int | None = None
    zones: list[ZoneOut]
    lines: list[LineOut]
    health: CameraHealthOut
    source: str | None = Field(None, description="admins only; passwords hidden")


class TrackBoxOut(Model):
    id: int
    label: str
    state: str
    score: float
    box: list[float] = Field(description="x, y, w, h in pixels of the analysed picture")


class LiveOut(Model):
    camera: str
    seq: int
    time: datetime
    width: int
    height: int
    tracks: list[TrackBoxOut]
    counts: dict[str, dict[str, int]]


class EventOut(Model):
    id: int
    camera: str
    type: str
    time: datetime
    media_time: float
    track_id: int | None
    label: str | None
    score: float | None
    box: list[float] | None
    start: float | None
    end: float | None
    zone: str | None
    line: str | None
    direction: str | None
    attributes: dict[str, Any]
    snapshot_url: str | None


class TrackOut(Model):
    id: int
    camera: str
    track_id: int
    label: str
    first_seen: datetime
    last_seen: datetime
    duration: float
    score: float
    box: list[float]
    snapshot_url: str | None
    lat: float | None = Field(
        None,
        description="its ground point when last placed (a camera "
        "with telemetry or a ground: section); its trail: GET /api/ingest/{id}",
    )
    lon: float | None = None


class ReviewOut(Model):
    reviewer: str
    action: AlertStatus
    reason: str | None
    at: datetime


class AlertOut(Model):
    id: int
    rule: str
    camera: str
    event_id: int | None
    type: str
    time: datetime
    label: str | None
    status: AlertStatus
    reviewed_by: str | None
    reviewed_at: datetime | None
    reason: str | None
    attributes: dict[str, Any] = Field(
        description="what the rule matched; a hotlist hit: read, hotlist, entry, distance"
    )
    reviewers_needed: int = Field(description="different people who must confirm it (2: faces)")
    reviews: list[ReviewOut] = Field(description="the decisions recorded, oldest first")
    snapshot_url: str | None


class EventPage(Model):
    items: list[EventOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page")


class TrackPage(Model):
    items: list[TrackOut]
    next_cursor: str | None


class AlertPage(Model):
    items: list[AlertOut]
    next_cursor: str | None


# Something that is not white space in any of the readers: Python's str.strip() also strips
# \x1c-\x1f and U+0085, which JavaScript's \s (the OpenAPI's regex flavour) does not count;
# U+FEFF is white space to JavaScript only.
REASON_PATTERN = r"[^\s\x1c-\x1f\u0085\ufeff]"
Reason = Annotated[str, Field(max_length=MAX_REASON, pattern=REASON_PATTERN)]


class Acknowledge(Model):
    action: Literal["acknowledge"]
    reason: Reason | None = Field(None, description="optional: a note on what is being done")


class Dismiss(Model):
    action: Literal["dismiss"]
    reason: Reason = Field(description="required: why the alert needs no action")

    @model_validator(mode="before")
    @classmethod
    def _has_reason(cls, data: Any) -> Any:
        if isinstance(data, dict) and not str(data.get("reason") or "").strip():
            raise ValueError(NEEDS_REASON)
        return data


ReviewIn = Annotated[Acknowledge | Dismiss, Field(discriminator="action")]


class UserOut(Model):
    id: int
    username: str
    role: Role
    cameras: list[str] | None = Field(description="cameras this user sees; null: all")
    created_at: datetime
    disabled: bool


CameraId = Annotated[str, Field(min_length=1, max_length=64)]
CameraIds = Annotated[list[CameraId], Field(max_length=1000)]


class UserCreate(Model):
    username: str = Field(min_length=1, max_length=64, pattern=USERNAME.pattern)
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)
    role: Role = Role.VIEWER
    cameras: CameraIds | None = None


class UserPatch(Model):
    role: Role | None = None
    cameras: CameraIds | None = Field(None, description="send null to let the user see all")
    disabled: bool | None = None
    password: str | None = Field(None, min_length=MIN_PASSWORD, max_length=1024)
    unlock: bool | None = Field(
        None, description="true: lift a login lockout now (a new password does too)"
    )


class LoginIn(Model):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Permissions(Model):
    review_alerts: bool
    manage_users: bool
    metrics: bool
    operations: bool = Field(description="cameras, live pictures, events and alerts")
    read_audit: bool = Field(description="the audit log and transparency reports")


class MeOut(Model):
    user: UserOut
    csrf_token: str = Field(description="send as the X-CSRF-Token header on POST/PATCH/DELETE")
    expires_at: datetime
    permissions: Permissions


class PasswordChange(Model):
    current: str = Field(min_length=1, max_length=1024)
    new: str = Field(min_length=MIN_PASSWORD, max_length=1024)


class IntegrationHealthOut(Model):
    """An integration's link (an MQTT broker, a webhook's receiver): up or not, since when,
    and why not."""

    kind: str
    server: str = Field(description="host:port (never a password)")
    online: bool
    status: str = Field(
        description="mqtt: online, connecting, unreachable or refused (login); "
        "webhook: ok, idle (nothing sent yet) or failing (the last attempt failed)"
    )
    error: str | None
    since: str
    queue: int = Field(description="messages waiting to be sent")


class HealthOut(Model):
    status: Literal["ok", "degraded"]
    database: bool
    cameras_online: int
    cameras_total: int
    cameras: dict[str, bool]
    live: bool = Field(description="whether this server runs the camera pipelines")
    integrations: dict[str, IntegrationHealthOut] = Field(
        default_factory=dict,
        description="each integration turned on in vigil.yml (mqtt, webhook:<name>)",
    )


def permissions(role: Role) -> Permissions:
    return Permissions(
        review_alerts=role.at_least(Role.OPERATOR),
        manage_users=role.manages_users,
        metrics=role.at_least(Role.SUPERVISOR),
        operations=role.operational,
        read_audit=role.reads_audit,
    )
