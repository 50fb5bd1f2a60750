"""Cameras: configuration, health, and the live picture (JPEG, MJPEG, tracked boxes).

Live state comes from the camera directory (`state.cameras`), which answers from this
process's cameras or, over the bus, from camera workers elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from vigil.api.auditing import audited
from vigil.api.deps import (
    AppState,
    Principal,
    StateDep,
    UserDep,
    require_operational,
    visible_camera,
)
from vigil.api.liveaccess import LiveAccess, Verdict
from vigil.api.schemas import CameraHealthOut, CameraOut, LineOut, LiveOut, TrackBoxOut, ZoneOut
from vigil.config import CameraConfig
from vigil.domain import Role
from vigil.pipeline.health import CameraStatus
from vigil.sources.network import redact

router = APIRouter(tags=["cameras"], dependencies=[Depends(require_operational)])
BOUNDARY = "vigilframe"
Boxes = Annotated[bool, Query(description="draw tracked objects, zones and lines")]
_NOT_LIVE = (
    "no live data: this server does not run the camera pipelines and no camera worker reports "
    "to it (run `vigil serve` with cameras, or `vigil worker` on the same bus.url)"
)
_UNHEARD = "no camera worker has reported this camera yet"


def _status(state: AppState, camera_id: str) -> CameraStatus | None:
    return state.cameras.statuses().get(camera_id) if state.cameras.live else None


def _camera_out(
    state: AppState, cam: CameraConfig, user: Principal, statuses: dict[str, CameraStatus]
) -> CameraOut:
    st = statuses.get(cam.id)
    if st is not None:
        health = CameraHealthOut.model_validate(
            {k: v for k, v in st.to_json().items() if k in CameraHealthOut.model_fields}
        )
        width, height = st.width, st.height
    else:
        error = _UNHEARD if state.cameras.live else _NOT_LIVE
        health, width, height = CameraHealthOut(online=False, error=error), None, None
    return CameraOut(
        id=cam.id,
        name=cam.name or cam.id,
        lat=cam.lat,
        lon=cam.lon,
        width=width,
        height=height,
        zones=[
            ZoneOut(
                name=z.name,
                polygon=[(x, y) for x, y in z.polygon],
                loiter_seconds=z.loiter_seconds,
                labels=z.labels,
            )
            for z in cam.zones
        ],
        lines=[
            LineOut(name=ln.name, a=ln.a, b=ln.b, in_side=ln.in_side, labels=ln.labels)
            for ln in cam.lines
        ],
        health=health,
        source=redact(cam.source) if user.can(Role.ADMIN) else None,
    )


def _live_camera(state: AppState, user: Principal, camera_id: str) -> str:
    """A camera the user may see, on a server that hears of live cameras; else 404 / 503."""
    visible_camera(state, user, camera_id)
    if not state.cameras.live:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, _NOT_LIVE)
    return camera_id


def _no_picture(state: AppState, camera_id: str) -> HTTPException:
    st = _status(state, camera_id)
    error = st.error if st is not None else _UNHEARD
    why = f" ({error})" if error else ""
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        f"camera '{camera_id}' has no picture yet{why}; try again shortly",
    )


@router.get("/api/cameras", response_model=list[CameraOut])
def list_cameras(user: UserDep, state: StateDep) -> list[CameraOut]:
    """The cameras you may see, with position, zones, lines and health."""
    statuses = state.cameras.statuses()
    return [_camera_out(state, c, user, statuses) for c in state.config.cameras if user.sees(c.id)]


@router.get("/api/cameras/{camera_id}", response_model=CameraOut)
def get_camera(camera_id: str, user: UserDep, state: StateDep) -> CameraOut:
    cam = visible_camera(state, user, camera_id)
    return _camera_out(state, cam, user, state.cameras.statuses())


@router.get(
    "/api/cameras/{camera_id}/live.jpg",
    response_class=Response,
    dependencies=[audited("live.picture", "camera")],
    responses={200: {"content": {"image/jpeg": {}}}, 503: {"description": "no picture yet"}},
)
def live_jpeg(
    camera_id: str,
    user: UserDep,
    state: StateDep,
    boxes: Boxes = False,
) -> Response:
    """The newest analysed picture of the camera."""
    picture = state.cameras.picture(_live_camera(state, user, camera_id), boxes)
    if picture is None:
        raise _no_picture(state, camera_id)
    return Response(picture.jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get(
    "/api/cameras/{camera_id}/live.json",
    response_model=LiveOut,
    dependencies=[audited("live.tracks", "camera")],
)
def live_tracks(camera_id: str, user: UserDep, state: StateDep) -> LiveOut:
    """The objects tracked on the newest picture (to draw over the live view yourself)."""
    live = state.cameras.tracks(_live_camera(state, user, camera_id))
    if live is None:
        raise _no_picture(state, camera_id)
    return LiveOut(
        camera=camera_id,
        seq=live.seq,
        time=datetime.fromtimestamp(live.wallclock, tz=UTC),
        width=live.width,
        height=live.height,
        tracks=[
            TrackBoxOut(
                id=t.id, label=t.label, state=str(t.state), score=t.score, box=t.box.as_list()
            )
            for t in live.tracks
        ],
        counts={k: dict(v) for k, v in live.counts.items()},
    )


@router.get(
    "/api/cameras/{camera_id}/mjpeg",
    response_class=StreamingResponse,
    dependencies=[audited("live.stream", "camera", at_start=True)],
    responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
)
async def live_mjpeg(
    request: Request,
    camera_id: str,
    user: UserDep,
    state: StateDep,
    boxes: Boxes = False,
    fps: Annotated[float, Query(gt=0, le=25, description="most pictures per second")] = 5.0,
) -> StreamingResponse:
    """The live picture as an MJPEG stream (an <img> shows it directly). The stream ends
    within a second of the session ending or the camera being taken from the user."""
    _live_camera(state, user, camera_id)
    access = LiveAccess(state, user)

    async def parts() -> AsyncIterator[bytes]:
        last_seq = -1
        while not await request.is_disconnected():
            if await access.check() is Verdict.ENDED or not access.user.sees(camera_id):
                return
            picture = await run_in_threadpool(state.cameras.picture, camera_id, boxes, last_seq)
            if picture is not None and picture.jpeg:
                last_seq = picture.seq
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                size = len(picture.jpeg)
                yield f"{head}Content-Length: {size}\r\n\r\n".encode() + picture.jpeg + b"\r\n"
            await asyncio.sleep(1.0 / fps)

    return StreamingResponse(
        parts(),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store"},
    )
