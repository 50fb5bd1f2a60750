"""Cameras: configuration, health, and the live picture (JPEG, MJPEG, tracked boxes)."""

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
from vigil.api.schemas import CameraHealthOut, CameraOut, LineOut, LiveOut, TrackBoxOut, ZoneOut
from vigil.config import CameraConfig
from vigil.domain import Role
from vigil.pipeline.live import CameraWorker
from vigil.sources.network import redact

router = APIRouter(tags=["cameras"], dependencies=[Depends(require_operational)])
BOUNDARY = "vigilframe"
Boxes = Annotated[bool, Query(description="draw tracked objects, zones and lines")]
_NOT_LIVE = "this server does not run the camera pipelines (no live runner)"


def _camera_out(state: AppState, cam: CameraConfig, user: Principal) -> CameraOut:
    worker = state.runner.worker(cam.id) if state.runner else None
    if worker is not None:
        st = worker.health.status()
        health = CameraHealthOut.model_validate(
            {k: v for k, v in st.to_json().items() if k in CameraHealthOut.model_fields}
        )
        width, height = st.width, st.height
    else:
        health, width, height = CameraHealthOut(online=False, error=_NOT_LIVE), None, None
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


def _worker(state: AppState, user: Principal, camera_id: str) -> CameraWorker:
    visible_camera(state, user, camera_id)
    worker = state.runner.worker(camera_id) if state.runner else None
    if worker is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, _NOT_LIVE)
    return worker


def _no_picture(worker: CameraWorker) -> HTTPException:
    st = worker.health.status()
    why = f" ({st.error})" if st.error else ""
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        f"camera '{worker.camera.id}' has no picture yet{why}; try again shortly",
    )


@router.get("/api/cameras", response_model=list[CameraOut])
def list_cameras(user: UserDep, state: StateDep) -> list[CameraOut]:
    """The cameras you may see, with position, zones, lines and health."""
    return [_camera_out(state, c, user) for c in state.config.cameras if user.sees(c.id)]


@router.get("/api/cameras/{camera_id}", response_model=CameraOut)
def get_camera(camera_id: str, user: UserDep, state: StateDep) -> CameraOut:
    return _camera_out(state, visible_camera(state, user, camera_id), user)


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
    worker = _worker(state, user, camera_id)
    data = worker.jpeg(boxes)
    if data is None:
        raise _no_picture(worker)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get(
    "/api/cameras/{camera_id}/live.json",
    response_model=LiveOut,
    dependencies=[audited("live.tracks", "camera")],
)
def live_tracks(camera_id: str, user: UserDep, state: StateDep) -> LiveOut:
    """The objects tracked on the newest picture (to draw over the live view yourself)."""
    worker = _worker(state, user, camera_id)
    frame = worker.latest()
    if frame is None:
        raise _no_picture(worker)
    height, width = frame.image.shape[:2]
    return LiveOut(
        camera=camera_id,
        seq=frame.seq,
        time=datetime.fromtimestamp(frame.wallclock, tz=UTC),
        width=width,
        height=height,
        tracks=[
            TrackBoxOut(
                id=t.id, label=t.label, state=str(t.state), score=t.score, box=t.box.as_list()
            )
            for t in frame.tracks
        ],
        counts=frame.counts,
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
    """The live picture as an MJPEG stream (an <img> shows it directly)."""
    worker = _worker(state, user, camera_id)

    async def parts() -> AsyncIterator[bytes]:
        last_seq = -1
        while not await request.is_disconnected():
            frame = worker.latest()
            if frame is not None and frame.seq != last_seq:
                last_seq = frame.seq
                data = await run_in_threadpool(worker.jpeg, boxes)
                if data:
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    yield f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n"
            await asyncio.sleep(1.0 / fps)

    return StreamingResponse(
        parts(),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store"},
    )
