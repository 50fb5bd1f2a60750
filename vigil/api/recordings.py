"""Playback and evidence locks: a camera's recorded timeline, one segment's video (HTTP range
requests), and the locks that keep footage from deletion.

The timeline is a search (`recordings.search`, purpose required): the segment URLs it gives
carry its reference and purpose, so every byte range the browser fetches is on the audit
record under the timeline it came from (`recordings.play`), for the reason stated. Times are
UNIX seconds.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import Field

from vigil.api.auditing import AuditNote, audited
from vigil.api.deps import (
    AppState,
    Principal,
    StateDep,
    UserDep,
    not_found,
    require_operational,
    require_role,
    visible_row,
)
from vigil.api.params import When, row_id
from vigil.api.schemas import Model
from vigil.datadir import inside
from vigil.domain import Role, Segment, SegmentState
from vigil.errors import Invalid, NotFound
from vigil.recording.index import Recordings
from vigil.recording.locks import REASON_MAX, REASON_MIN, REASON_PATTERN, Lock, Locks, camera_window
from vigil.recording.playback import (
    MAX_RANGE_S,
    byte_range,
    playable_length,
    read_bytes,
    timeline,
)
from vigil.store.queries import MAX_ROW_ID
from vigil.store.tables import AlertRow, CameraRow

router = APIRouter(tags=["recordings"], dependencies=[Depends(require_operational)])
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
Supervisor = Annotated[Principal, Depends(require_role(Role.SUPERVISOR))]
SegmentId = Annotated[int, row_id("segment")]
LockId = Annotated[int, row_id("evidence lock")]
DEFAULT_SPAN_S = 3600.0
MP4 = "video/mp4"
RowRef = Annotated[int | None, Field(ge=1, le=MAX_ROW_ID)]
Reason = Annotated[str, Field(min_length=REASON_MIN, max_length=REASON_MAX, pattern=REASON_PATTERN)]


class SegmentOut(Model):
    id: int
    start: float
    end: float | None = Field(description="None while it is written")
    state: SegmentState
    codec: str
    frames: int
    size: int
    url: str = Field(description="the video (range requests), with this timeline's purpose")


class GapOut(Model):
    start: float
    end: float | None = Field(description="None while it lasts")
    reason: str


class EventMarkOut(Model):
    id: int
    type: str
    time: float
    label: str | None


class AlertMarkOut(Model):
    id: int
    rule: str
    type: str
    time: float
    status: str


class LockOut(Model):
    id: int
    camera: str
    start: float
    end: float
    incident_id: int | None
    alert_id: int | None
    reason: str
    locked_by: str
    locked_at: float
    active: bool
    unlocked_by: str | None
    unlocked_at: float | None
    unlock_reason: str | None


class TimelineOut(Model):
    camera: str
    start: float
    end: float
    segments: list[SegmentOut]
    gaps: list[GapOut]
    events: list[EventMarkOut]
    alerts: list[AlertMarkOut]
    locks: list[LockOut] = Field(description="active locks over the range")
    truncated: bool = Field(description="more events or alerts than are marked")


class LockIn(Model):
    """Lock an alert's footage (its camera around its time, or `start`..`end`), a range tied
    to an incident, or (supervisors) a range of a camera on its own."""

    reason: Reason
    alert_id: RowRef = None
    incident_id: RowRef = None
    camera: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    start: When | None = None
    end: When | None = None


class UnlockIn(Model):
    reason: Reason


def _lock_out(lock: Lock) -> LockOut:
    return LockOut.model_validate(lock.to_json())


def footage_camera(state: AppState, user: Principal, camera_id: str) -> str:
    """A camera the user may see that is configured, stored or has footage; 404 otherwise."""
    if user.sees(camera_id):
        if state.camera(camera_id) is not None:
            return camera_id
        with state.store.session() as s:
            if s.get(CameraRow, camera_id) is not None:
                return camera_id
        if camera_id in Recordings(state.store).cameras():
            return camera_id
    raise not_found(f"camera '{camera_id}'")


def _span(start: float | None, end: float | None) -> tuple[float, float]:
    hi = end if end is not None else time.time()
    lo = start if start is not None else hi - DEFAULT_SPAN_S
    if lo > hi:
        raise Invalid("'from' comes after 'to'; swap them")
    if hi - lo > MAX_RANGE_S:
        raise Invalid(
            f"a timeline covers at most {MAX_RANGE_S / 3600:g} hours; ask for a longer time "
            "in parts"
        )
    return lo, hi


From = Annotated[When | None, Query(alias="from", description="start (default: `to` - 1 h)")]
To = Annotated[When | None, Query(alias="to", description="end (default: now)")]


@router.get("/api/cameras/{camera_id}/recordings", response_model=TimelineOut)
def camera_timeline(
    camera_id: str,
    note: Annotated[AuditNote, audited("recordings.search", "camera", purpose_required=True)],
    user: UserDep,
    state: StateDep,
    start: From = None,
    end: To = None,
) -> TimelineOut:
    """The camera's recorded segments, gaps (with why), events, alerts and active locks over
    [from, to] (at most a day). Needs `purpose` (audited); the segment URLs carry it."""
    footage_camera(state, user, camera_id)
    lo, hi = _span(start.timestamp() if start else None, end.timestamp() if end else None)
    found = timeline(state.store, camera_id, lo, hi)
    segments = [
        SegmentOut(
            id=g.id,
            start=g.start,
            end=g.end,
            state=g.state,
            codec=g.codec,
            frames=g.frames,
            size=g.size,
            url=note.follow(f"/api/recordings/{g.id}.mp4") or "",
        )  # fmt: skip
        for g in found.segments
    ]
    note.details["segments"] = len(segments)
    return TimelineOut(
        camera=camera_id,
        start=lo,
        end=hi,
        segments=segments,
        gaps=[GapOut(start=g.start, end=g.end, reason=g.reason) for g in found.gaps],
        events=[EventMarkOut.model_validate(e) for e in found.events],
        alerts=[AlertMarkOut.model_validate(a) for a in found.alerts],
        locks=[_lock_out(x) for x in found.locks],
        truncated=found.truncated,
    )


def _segment(state: AppState, user: Principal, segment_id: int) -> Segment:
    try:
        seg: Segment | None = Recordings(state.store).get(segment_id)
    except NotFound:
        seg = None
    if seg is None or not user.sees(seg.camera_id):
        raise not_found(f"recorded segment {segment_id}")
    return seg


@router.get(
    "/api/recordings/{segment_id}.mp4",
    response_class=StreamingResponse,
    responses={
        200: {"content": {MP4: {}}, "description": "the whole segment"},
        206: {"content": {MP4: {}}, "description": "the byte range asked for"},
        416: {"description": "the range lies outside what the segment holds"},
    },
)
def segment_video(
    segment_id: SegmentId,
    request: Request,
    note: Annotated[AuditNote, audited("recordings.play", "segment", purpose_required=True)],
    user: UserDep,
    state: StateDep,
) -> Response:
    """One recorded segment as fragmented MP4, with HTTP range requests (a <video> seeks in
    it). A segment still written, or cut, plays what it holds. Needs `purpose` (audited)."""
    seg = _segment(state, user, segment_id)
    path = inside(state.data_dir, seg.path)
    if path is None or not path.is_file():
        raise not_found(f"file of recorded segment {segment_id} (it was deleted)")
    size = playable_length(path, seg.state)
    note.details.update({"camera": seg.camera_id, "state": str(seg.state)})
    if size == 0:
        raise not_found(f"picture in segment {segment_id} yet (it has just begun); try again")
    etag = f'"{seg.id}-{size}"'
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private", "ETag": etag}
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    try:
        span = byte_range(wanted, size) if if_range in (None, etag) else None
    except ValueError:
        raise HTTPException(
            416,
            f"the range {wanted} lies outside the {size} bytes segment {segment_id} holds",
            headers={"Content-Range": f"bytes */{size}"},
        ) from None
    first, last = span if span is not None else (0, size - 1)
    note.details["bytes"] = [first, last]
    headers["Content-Length"] = str(last - first + 1)
    if span is None:
        return StreamingResponse(read_bytes(path, 0, last), media_type=MP4, headers=headers)
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(
        read_bytes(path, first, last), status_code=206, media_type=MP4, headers=headers
    )


@router.get("/api/recordings/locks", response_model=list[LockOut])
def list_locks(
    note: Annotated[AuditNote, audited("recordings.locks", "evidence_lock")],
    user: UserDep,
    state: StateDep,
    camera: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    active: Annotated[bool | None, Query(description="only active (true) or released")] = None,
) -> list[LockOut]:
    """Evidence locks of the cameras you may see, newest first (at most 500)."""
    cameras: list[str] | None = None
    if camera is not None:
        cameras = [footage_camera(state, user, camera)]
    elif user.visible() is not None:
        cameras = sorted(user.visible() or ())
    found = Locks(state.store).all(cameras, active=active)
    note.details["locks"] = len(found)
    return [_lock_out(x) for x in found]


def _alert_lock(state: AppState, user: Principal, body: LockIn) -> dict[str, Any]:
    alert = visible_row(state, user, AlertRow, body.alert_id or 0, "alert")
    if body.camera not in (None, alert.camera_id):
        raise Invalid(f"alert {alert.id} is of camera '{alert.camera_id}'; leave out 'camera'")
    if body.start is not None and body.end is not None:
        return {"camera_id": alert.camera_id, "start": body.start.timestamp(),
                "end": body.end.timestamp()}  # fmt: skip
    before, after = camera_window(state.config.cameras)(alert.camera_id)
    t = alert.time.timestamp()
    return {"camera_id": alert.camera_id, "start": t - before, "end": t + after}


def _range_lock(state: AppState, user: Principal, body: LockIn) -> dict[str, Any]:
    if body.incident_id is None and not user.can(Role.SUPERVISOR):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "a lock tied to no alert or incident is a supervisor's; give alert_id or incident_id",
        )
    camera = body.camera
    if body.incident_id is not None:
        incident = state.incidents.get(body.incident_id)
        camera = camera or incident.camera_id
    if camera is None or body.start is None or body.end is None:
        raise Invalid("give 'camera', 'start' and 'end' (or an alert_id) for what to lock")
    footage_camera(state, user, camera)
    return {"camera_id": camera, "start": body.start.timestamp(), "end": body.end.timestamp()}


@router.post(
    "/api/recordings/locks",
    response_model=LockOut,
    status_code=status.HTTP_201_CREATED,
)
def create_lock(
    body: LockIn,
    note: Annotated[AuditNote, audited("recordings.lock", "evidence_lock")],
    user: Operator,
    state: StateDep,
) -> LockOut:
    """Keep footage from deletion until a supervisor unlocks it: an alert's (its camera around
    its time), a range tied to an incident, or a range on its own (supervisors)."""
    if (body.start is None) != (body.end is None):
        raise Invalid("give both 'start' and 'end', or neither (an alert's window)")
    if body.alert_id is not None:
        where = _alert_lock(state, user, body)
    else:
        where = _range_lock(state, user, body)
    if body.incident_id is not None:
        state.incidents.get(body.incident_id)  # 404 if there is none
    lock = Locks(state.store).lock(
        **where, actor=user.username, reason=body.reason,
        incident_id=body.incident_id, alert_id=body.alert_id,
    )  # fmt: skip
    note.object_id = str(lock.id)
    note.details.update({"camera": lock.camera_id, "start": lock.start, "end": lock.end})
    note.details.update({"reason": lock.reason})
    return _lock_out(lock)


@router.post(
    "/api/recordings/locks/{lock_id}/unlock",
    response_model=LockOut,
    responses={409: {"description": "the lock was already unlocked"}},
)
def unlock(
    lock_id: LockId,
    body: UnlockIn,
    note: Annotated[AuditNote, audited("recordings.unlock", "evidence_lock")],
    user: Supervisor,
    state: StateDep,
) -> LockOut:
    """Release an evidence lock (supervisors), with a reason; its footage then follows the
    retention tiers again. The lock's record stays."""
    locks = Locks(state.store)
    lock = locks.get(lock_id)
    if not user.sees(lock.camera_id):
        raise not_found(f"evidence lock {lock_id}")
    note.details.update({"camera": lock.camera_id, "reason": body.reason})
    return _lock_out(locks.unlock(lock_id, user.username, body.reason))
