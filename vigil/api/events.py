"""Events, tracks and their snapshots: search with filters, newest first, page by cursor."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from vigil.api.auditing import AuditNote, audited, results
from vigil.api.deps import (
    AppState,
    Principal,
    StateDep,
    UserDep,
    check_camera_filter,
    not_found,
    require_operational,
    visible_row,
)
from vigil.api.params import Cursor, EventId, Limit, Name, Since, TrackRowId, Until
from vigil.api.schemas import EventOut, EventPage, TrackOut, TrackPage
from vigil.datadir import inside
from vigil.domain import EventType
from vigil.store.queries import Filters, search_events, search_tracks
from vigil.store.records import event_record, track_record
from vigil.store.tables import EventRow, TrackRow
from vigil.vision.plates.match import PATTERN_HELP, PATTERN_TYPED, like

router = APIRouter(tags=["events"], dependencies=[Depends(require_operational)])

TypeQ = Annotated[EventType | None, Query(description="event type")]
PlateQ = Annotated[
    str | None,
    Query(max_length=30, pattern=PATTERN_TYPED, description=f"a plate: {PATTERN_HELP}"),
]


def snapshot_file(state: AppState, rel: str | None, what: str) -> FileResponse:
    """A stored JPEG, only from inside the data directory."""
    if not rel:
        raise not_found(f"snapshot for {what}")
    path = inside(state.data_dir, rel)
    if path is None or not path.is_file():
        raise not_found(f"snapshot for {what} (the file is gone)")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private"})


def _filters(
    state: AppState,
    user: Principal,
    camera: str | None,
    since: datetime | None,
    until: datetime | None,
    label: str | None,
    type: EventType | None,
    zone: str | None,
    line: str | None,
) -> Filters:
    check_camera_filter(state, user, camera)
    return Filters(
        visible=user.visible(),
        camera=camera,
        since=since,
        until=until,
        label=label,
        type=type,
        zone=zone,
        line=line,
    )


@router.get("/api/events", response_model=EventPage)
def list_events(
    note: Annotated[AuditNote, audited("events.search", "event", purpose_required=True)],
    user: UserDep,
    state: StateDep,
    since: Since = None,
    until: Until = None,
    camera: Name = None,
    label: Name = None,
    type: TypeQ = None,
    zone: Name = None,
    line: Name = None,
    plate: PlateQ = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> EventPage:
    """Events of the cameras you may see, newest first. Needs `purpose` (audited). `plate`
    finds plate reads by exact or partial plate (`AB?12*`)."""
    filters = _filters(state, user, camera, since, until, label, type, zone, line)
    if plate is not None:
        filters = replace(filters, plate_like=like(plate))
    page = search_events(state.store, filters, limit, cursor)
    return EventPage.model_validate(
        {"items": results(note, map(event_record, page.items)), "next_cursor": page.next_cursor}
    )


@router.get(
    "/api/events/{event_id}",
    response_model=EventOut,
    dependencies=[audited("events.read", "event")],
)
def get_event(event_id: EventId, user: UserDep, state: StateDep) -> EventOut:
    return EventOut.model_validate(
        event_record(visible_row(state, user, EventRow, event_id, "event"))
    )


@router.get(
    "/api/events/{event_id}/snapshot.jpg",
    response_class=FileResponse,
    dependencies=[audited("events.snapshot", "event")],
    responses={200: {"content": {"image/jpeg": {}}}},
)
def event_snapshot(event_id: EventId, user: UserDep, state: StateDep) -> FileResponse:
    """The object as it looked when the event happened."""
    row = visible_row(state, user, EventRow, event_id, "event")
    return snapshot_file(state, row.snapshot, f"event {event_id}")


@router.get("/api/tracks", response_model=TrackPage)
def list_tracks(
    note: Annotated[AuditNote, audited("tracks.search", "track", purpose_required=True)],
    user: UserDep,
    state: StateDep,
    since: Since = None,
    until: Until = None,
    camera: Name = None,
    label: Name = None,
    type: Annotated[
        EventType | None, Query(description="tracks with an event of this type")
    ] = None,
    zone: Annotated[
        str | None, Query(max_length=100, description="tracks with a zone event")
    ] = None,
    line: Annotated[str | None, Query(max_length=100, description="tracks that crossed it")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> TrackPage:
    """Ended tracks of the cameras you may see, newest first. Needs `purpose` (audited)."""
    filters = _filters(state, user, camera, since, until, label, type, zone, line)
    page = search_tracks(state.store, filters, limit, cursor)
    return TrackPage.model_validate(
        {"items": results(note, map(track_record, page.items)), "next_cursor": page.next_cursor}
    )


@router.get(
    "/api/tracks/{track_row_id}",
    response_model=TrackOut,
    dependencies=[audited("tracks.read", "track")],
)
def get_track(track_row_id: TrackRowId, user: UserDep, state: StateDep) -> TrackOut:
    return TrackOut.model_validate(
        track_record(visible_row(state, user, TrackRow, track_row_id, "track"))
    )


@router.get(
    "/api/snapshots/{track_row_id}.jpg",
    response_class=FileResponse,
    dependencies=[audited("tracks.snapshot", "track")],
    responses={200: {"content": {"image/jpeg": {}}}},
)
def track_snapshot(track_row_id: TrackRowId, user: UserDep, state: StateDep) -> FileResponse:
    """The best picture of a tracked object (`id` of GET /api/tracks, not its track_id)."""
    row = visible_row(state, user, TrackRow, track_row_id, "track")
    return snapshot_file(state, row.snapshot, f"track {track_row_id}")
