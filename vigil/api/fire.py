"""Fire watch on the map: the recent fire and smoke bearings of the cameras you may see, and
the fixes where they cross (vigil.rules.fire), each made only of cameras you see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from vigil.api.auditing import audited
from vigil.api.deps import StateDep, UserDep, require_operational
from vigil.api.schemas import Model
from vigil.rules.fire import LOCATE_WINDOW_S, bearing_record, fixes_of, recent_bearings
from vigil.store.queries import as_utc

router = APIRouter(tags=["fire"], dependencies=[Depends(require_operational)])

MAX_SINCE_S = 7 * 24 * 3600
SinceS = Annotated[
    float,
    Query(
        gt=0,
        le=MAX_SINCE_S,
        description=f"how many seconds back to look, up to {MAX_SINCE_S} (a week)",
    ),
]
Label = Literal["fire", "smoke"]


class BearingOut(Model):
    """A fire or smoke event's bearing line: from where its camera was, which way."""

    event_id: int
    camera: str
    label: Label
    time: datetime
    from_lat: float
    from_lon: float
    bearing_deg: float
    bearing_sigma_deg: float
    ground_lat: float | None = None  # a moving camera's ray meeting the ground
    ground_lon: float | None = None


class FixOut(Model):
    """Where bearings cross: `uncertainty_m` is a 95 % circle's radius; the ellipse's
    1-sigma semi-axes with its major axis' bearing; the range from each camera."""

    lat: float
    lon: float
    uncertainty_m: float
    semi_major_m: float
    semi_minor_m: float
    major_axis_deg: float
    crossing_deg: float
    ranges_m: list[float]
    cameras: list[str]
    event_ids: list[int]
    label: Label
    time: datetime


class FireOut(Model):
    since: datetime
    bearings: list[BearingOut]
    fixes: list[FixOut]


@router.get(
    "/api/fire",
    response_model=FireOut,
    response_model_exclude_none=True,
    dependencies=[audited("fire.read", "event")],
)
def fire_picture(user: UserDep, state: StateDep, since_s: SinceS = LOCATE_WINDOW_S) -> FireOut:
    """Fire and smoke bearings of the last `since_s` seconds from the cameras you may see,
    newest first, and the fixes they make (a fix only when you see every camera in it)."""
    now = datetime.now(UTC)
    since = now - timedelta(seconds=since_s)
    # The fixes of the window's events were made with the bearings of the window before.
    rows = recent_bearings(state.store, since - timedelta(seconds=LOCATE_WINDOW_S), now)
    bearings = [
        record
        for r in rows
        if as_utc(r.time) >= since and user.sees(r.camera_id)
        if (record := bearing_record(r)) is not None
    ]
    fixes = [
        f
        for f in fixes_of(rows)
        if datetime.fromisoformat(f["time"]) >= since and all(map(user.sees, f["cameras"]))
    ]
    return FireOut.model_validate({"since": since, "bearings": bearings, "fixes": fixes})
