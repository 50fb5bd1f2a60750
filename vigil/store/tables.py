"""The database schema: one schema for SQLite (embedded) and PostgreSQL (scaled out).

Changes to these tables need an Alembic migration in vigil/store/migrations/versions/.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vigil.domain import (
    AlertStatus,
    AssignmentStatus,
    ClipStatus,
    DeliveryState,
    IncidentState,
    Role,
    SegmentState,
    UnitKind,
    UnitStatus,
)


def one_of(column: str, values: type[enum.StrEnum]) -> str:
    """A CHECK constraint's condition: `column` holds one of the enum's values. The lists
    come from vigil.domain; a new value needs an Alembic migration (tests/store compares)."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Base(DeclarativeBase):
    pass


# The ids of the tables that grow without bound (events, positions): 64-bit on PostgreSQL (a
# city's ~1,000 events a second would use up 32 bits in weeks); SQLite's are 64-bit anyway.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class CameraRow(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TrackRow(Base):
    """One row per tracked object: what it was, when it was there, its best picture."""

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    track_id: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    media_start: Mapped[float] = mapped_column(Float)
    media_end: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    box: Mapped[list[float]] = mapped_column(JSON)
    snapshot: Mapped[str | None] = mapped_column(Text, doc="path relative to the data directory")
    # Where on the ground it was (its box's bottom centre), where its camera could place it:
    # the last point, and the trail [[media seconds, lat, lon], ...] (vigil.ingest.geotag).
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    trail: Mapped[list[list[float]] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_tracks_camera_first_seen", "camera_id", "first_seen"),
        Index("ix_tracks_label", "label"),
    )


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    media_time: Mapped[float] = mapped_column(Float)
    track_id: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    box: Mapped[list[float] | None] = mapped_column(JSON)
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Copied out of `attributes` so searches by zone, line or plate use an index on either engine.
    zone: Mapped[str | None] = mapped_column(String(100))
    line: Mapped[str | None] = mapped_column(String(100))
    plate: Mapped[str | None] = mapped_column(String(16), doc="a plate_read's plate (A-Z, 0-9)")
    snapshot: Mapped[str | None] = mapped_column(Text, doc="path relative to the data directory")
    # Where it was seen on the ground, where its camera could place it (also in attributes).
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_events_camera_time", "camera_id", "time"),
        Index("ix_events_type_time", "type", "time"),
        Index("ix_events_time", "time"),
        Index("ix_events_zone", "zone"),
        Index("ix_events_line", "line"),
        Index("ix_events_plate", "plate"),
    )


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text, doc="argon2id; never the password")
    role: Mapped[str] = mapped_column(String(16), doc=" | ".join(Role))
    cameras: Mapped[list[str] | None] = mapped_column(
        JSON, doc="camera ids this user may see; null: every camera"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (CheckConstraint(one_of("role", Role), name="ck_users_role"),)


class SessionRow(Base):
    """A logged-in browser. The cookie holds the token; only its SHA-256 is stored here."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="sha256 of the token")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_sessions_user", "user_id"),)


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(100))
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    # Not a foreign key: events are partitioned by time on PostgreSQL (vigil.store.partitions);
    # the retention purge clears it when its event goes.
    event_id: Mapped[int | None] = mapped_column(BIG_ID)
    type: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    label: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), doc=" | ".join(AlertStatus))
    reviewed_by: Mapped[str | None] = mapped_column(String(64), doc="username of the reviewer")
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    snapshot: Mapped[str | None] = mapped_column(Text, doc="path relative to the data directory")
    attributes: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, doc="what the rule matched: for a hotlist hit the read, the list and its entry"
    )

    __table_args__ = (
        Index("ix_alerts_time", "time"),
        Index("ix_alerts_camera_time", "camera_id", "time"),
        Index("ix_alerts_status_time", "status", "time"),
        CheckConstraint(one_of("status", AlertStatus), name="ck_alerts_status"),
    )


class HotlistRow(Base):
    """A list of plates to alert on: who owns it, on what legal basis, until when."""

    __tablename__ = "hotlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    owner: Mapped[str] = mapped_column(String(100), doc="username, or cli:<os user>")
    legal_basis: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tolerance: Mapped[float] = mapped_column(Float, doc="largest plate distance that is a hit")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), doc="last change to the list or its entries (matchers reload)"
    )


class HotlistEntryRow(Base):
    """One plate (or partial-plate pattern) on a hotlist."""

    __tablename__ = "hotlist_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hotlist_id: Mapped[int] = mapped_column(ForeignKey("hotlists.id", ondelete="CASCADE"))
    plate: Mapped[str | None] = mapped_column(String(16), doc="normalised (A-Z, 0-9)")
    pattern: Mapped[str | None] = mapped_column(String(30), doc="a partial plate: AB?12*")
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), doc="null: when the list expires"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_hotlist_entries_list_plate", "hotlist_id", "plate"),
        CheckConstraint(
            "plate IS NOT NULL OR pattern IS NOT NULL", name="ck_hotlist_entries_plate"
        ),
    )


class AlertReviewRow(Base):
    """One person's decision on an alert. An alert whose type needs two reviewers (a face
    match) is acknowledged only by the second confirmation from a different person."""

    __tablename__ = "alert_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    reviewer: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16), doc=" | ".join(AlertStatus))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("alert_id", "reviewer", name="uq_alert_reviews_reviewer"),
        Index("ix_alert_reviews_alert", "alert_id"),
    )


class WatchlistRow(Base):
    """People to look for: authorised by a named person for a purpose, in a place and a time."""

    __tablename__ = "watchlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    authorised_by: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100), doc="username, or cli:<os user>")
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cameras: Mapped[list[str] | None] = mapped_column(JSON, doc="cameras it applies to")
    geofence: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, doc="{polygon: [[lat, lon], ...]} or {centre: [lat, lon], radius_m: R}"
    )
    window_start: Mapped[str | None] = mapped_column(String(5), doc="HH:MM, daily, local")
    window_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), doc="IANA name of the window's clock")
    threshold: Mapped[float] = mapped_column(Float, doc="largest face distance that matches")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WatchlistEntryRow(Base):
    __tablename__ = "watchlist_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(100), doc="case or file number")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_watchlist_entries_list", "watchlist_id"),)


class FaceTemplateRow(Base):
    """One enrolment image's face template (of a listed person only), with where the image
    came from and a small aligned picture for reviewers to compare with."""

    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("watchlist_entries.id", ondelete="CASCADE"))
    embedding: Mapped[bytes] = mapped_column(LargeBinary, doc="128 float32, little-endian")
    source: Mapped[str] = mapped_column(Text, doc="where the enrolment image came from")
    image_sha256: Mapped[str] = mapped_column(String(64))
    picture: Mapped[bytes | None] = mapped_column(LargeBinary, doc="the aligned face, JPEG")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_face_templates_entry", "entry_id"),)


class UnitRow(Base):
    """A unit in the field: a callsign, who carries it, and its last known position."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    callsign: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), doc=" | ".join(UnitKind))
    status: Mapped[str] = mapped_column(String(16), doc=" | ".join(UnitStatus))
    username: Mapped[str | None] = mapped_column(
        String(64), unique=True, doc="the user who carries it (one unit per user)"
    )
    tak_uid: Mapped[str | None] = mapped_column(
        String(100), unique=True, doc="the TAK client's UID, for units seen over TAK"
    )
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    position_source: Mapped[str | None] = mapped_column(String(16), doc="app | tak | api | clip")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(one_of("kind", UnitKind), name="ck_units_kind"),
        CheckConstraint(one_of("status", UnitStatus), name="ck_units_status"),
        Index("ix_units_lat_lon", "lat", "lon"),  # vigil.store.spatial's box without PostGIS
    )


class PositionRow(Base):
    """A unit's reported position (personal data: kept `retention.positions` days)."""

    __tablename__ = "unit_positions"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), doc="when it was measured")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), doc="app | tak | api | clip")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_unit_positions_unit_at", "unit_id", "at"),
        Index("ix_unit_positions_at", "at"),
    )


class IncidentRow(Base):
    """Something the field deals with: alerts, units, notes and each step, grouped."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(64), doc="its kind; a checklist may be required")
    state: Mapped[str] = mapped_column(String(16), doc=" | ".join(IncidentState))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    camera_id: Mapped[str | None] = mapped_column(String(64), doc="the camera it was seen on")
    checklist: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON, doc="[{step, done_by, done_at}]: required before resolved"
    )
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(one_of("state", IncidentState), name="ck_incidents_state"),
        Index("ix_incidents_state", "state"),
        Index("ix_incidents_opened_at", "opened_at"),
    )


class IncidentStepRow(Base):
    """The incident's timeline: who did what, when and why. Never updated."""

    __tablename__ = "incident_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32), doc="opened | state | dispatched | ...")
    state: Mapped[str | None] = mapped_column(String(16), doc="the incident's state after it")
    unit_id: Mapped[int | None] = mapped_column(Integer)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text, doc="the reason or note")

    __table_args__ = (Index("ix_incident_steps_incident", "incident_id", "id"),)


class AssignmentRow(Base):
    """A unit's part in an incident (one row per unit and incident)."""

    __tablename__ = "incident_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), doc=" | ".join(AssignmentStatus))
    dispatched_by: Mapped[str] = mapped_column(String(100))
    dispatched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("incident_id", "unit_id", name="uq_incident_units"),
        CheckConstraint(one_of("status", AssignmentStatus), name="ck_incident_units_status"),
        Index("ix_incident_units_unit", "unit_id"),
    )


class IncidentAlertRow(Base):
    """An alert grouped into an incident (an alert belongs to one incident at most)."""

    __tablename__ = "incident_alerts"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))

    __table_args__ = (Index("ix_incident_alerts_incident", "incident_id"),)


class ChecklistRow(Base):
    """The steps a supervisor requires before an incident of `type` may be resolved."""

    __tablename__ = "incident_checklists"

    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    steps: Mapped[list[str]] = mapped_column(JSON)
    set_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SegmentRow(Base):
    """A recorded segment of a camera's stream (vigil.recording). The camera is named, not a
    foreign key: footage outlives a camera's removal from the configuration."""

    __tablename__ = "recording_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), doc="of its last frame; None while it is written"
    )
    path: Mapped[str] = mapped_column(Text, unique=True, doc="relative to the data directory")
    state: Mapped[str] = mapped_column(String(8), doc=" | ".join(SegmentState))
    codec: Mapped[str] = mapped_column(String(32))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(Integer, default=0, doc="bytes")
    sha256: Mapped[str | None] = mapped_column(String(64), doc="of the file once closed")

    __table_args__ = (
        CheckConstraint(one_of("state", SegmentState), name="ck_recording_segments_state"),
        Index("ix_recording_segments_camera_start", "camera_id", "start"),
        Index("ix_recording_segments_start", "start"),
    )


class GapRow(Base):
    """A time a camera was meant to be recorded and was not, and why."""

    __tablename__ = "recording_gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), doc="None: it lasts")
    reason: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_recording_gaps_camera_start", "camera_id", "start"),)


class EvidenceLockRow(Base):
    """Footage of a camera over a time range kept from deletion (retention, quota) until a
    supervisor unlocks it with a reason. Tied to an incident or an alert, or to neither
    (a supervisor's own lock). Unlocking fills the unlock columns; the row stays."""

    __tablename__ = "evidence_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    incident_id: Mapped[int | None] = mapped_column(Integer)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    locked_by: Mapped[str] = mapped_column(String(100))
    locked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    unlocked_by: Mapped[str | None] = mapped_column(String(100))
    unlocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unlock_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_evidence_locks_camera", "camera_id", "start"),)


class ClipRow(Base):
    """A body-camera or drone clip ingested (`vigil ingest`, POST /api/ingest): its file, the
    unit that filmed it, how its analysis went. Its tracks and events are its camera's."""

    __tablename__ = "clips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255), doc="as given (escaped when shown)")
    path: Mapped[str | None] = mapped_column(Text, doc="an upload: relative to the data directory")
    size: Mapped[int] = mapped_column(Integer, default=0, doc="bytes")
    sha256: Mapped[str | None] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), doc=" | ".join(ClipStatus))
    telemetry: Mapped[str | None] = mapped_column(String(16), doc="gpmf | dji-srt | klv")
    note: Mapped[str | None] = mapped_column(Text, doc="what could not be placed, and why")
    error: Mapped[str | None] = mapped_column(Text)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    tracks: Mapped[int] = mapped_column(Integer, default=0)
    placed: Mapped[int] = mapped_column(Integer, default=0, doc="tracks placed on the map")
    start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), doc="media time 0")
    duration: Mapped[float | None] = mapped_column(Float, doc="seconds")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(one_of("status", ClipStatus), name="ck_clips_status"),
        Index("ix_clips_created_at", "created_at"),
        Index("ix_clips_unit", "unit_id"),
    )


class CameraPositionRow(Base):
    """Where a moving camera was (and the ground quadrilateral it saw, where projectable) at a
    frame: its path on the map."""

    __tablename__ = "camera_positions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    media_time: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    alt: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    footprint: Mapped[list[list[float] | None] | None] = mapped_column(
        JSON, doc="the frame's corners on the ground [[lat, lon] or null] x 4 (ST 0601 order)"
    )

    __table_args__ = (
        Index("ix_camera_positions_camera_at", "camera_id", "at"),
        Index("ix_camera_positions_clip", "clip_id", "media_time"),
    )


class DeliveryRow(Base):
    """One webhook delivery: what was POSTed (or is to be) and how it went."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(36), unique=True, doc="Vigil-Delivery: a UUID")
    webhook: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64), doc="Vigil-Event: event.<type>, alert.<status>")
    object_id: Mapped[int | None] = mapped_column(Integer, doc="the event's or alert's id")
    body: Mapped[str] = mapped_column(Text, doc="the JSON POSTed, byte for byte")
    state: Mapped[str] = mapped_column(String(16), doc=" | ".join(DeliveryState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer, doc="the receiver's HTTP status")
    last_error: Mapped[str | None] = mapped_column(Text, doc="escaped; for the delivery log")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(one_of("state", DeliveryState), name="ck_webhook_deliveries_state"),
        Index("ix_webhook_deliveries_state_created", "state", "created_at"),
    )


class AuditRow(Base):
    """One entry of the hash-chained audit log (see vigil/audit). Never updated."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100), doc="username, or cli:<os user>, or system:")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(String(200))
    client: Mapped[str | None] = mapped_column(String(100), doc="client address")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_at", "at"),
        Index("ix_audit_actor_at", "actor", "at"),
        Index("ix_audit_action_at", "action", "at"),
    )
