"""Clip upload: `POST /api/ingest?filename=...&purpose=...` takes a body-camera or drone clip as
the raw request body (Content-Type video/* or application/octet-stream), streamed to disk in
chunks up to `server.max_upload_bytes`; the file must be a video by its name and by its content
(PyAV opens it and finds a video stream). A refused upload leaves nothing on disk. The clip is
then analysed in the background like `vigil ingest`; `GET /api/ingest/{id}` tells how it went
and, once done, its camera's path (with footprints) and its tracks on the map. Operators and
above; every call audited, the upload with its purpose.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import secrets
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from vigil.api.auditing import AuditNote, audited
from vigil.api.deps import AppState, Principal, StateDep, not_found, require_role
from vigil.api.schemas import Model
from vigil.domain import ClipStatus, Role
from vigil.errors import SourceError, VigilError
from vigil.ingest.clips import ClipNotFound, Clips, clip_record, path_record, track_geo_record
from vigil.ingest.run import IngestRequest, check_video, ingest
from vigil.logtext import escape, shown
from vigil.store.tables import UnitRow

router = APIRouter(tags=["ingest"])
log = logging.getLogger(__name__)
UPLOAD_PATH = "/api/ingest"
CLIPS = "clips"  # under the data directory
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".ts", ".mts", ".avi", ".webm")
CHUNK = 1 << 20
_LOCK = threading.Lock()
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
FILENAME = r"^[^/\\\x00-\x1f]{1,255}$"
CALLSIGN_OR_ID = r"^[A-Za-z0-9][A-Za-z0-9 _.\-/]{0,31}$"


class ClipOut(Model):
    id: int
    camera: str
    filename: str
    size: int = Field(description="bytes")
    sha256: str | None
    unit_id: int | None
    status: ClipStatus
    telemetry: str | None = Field(description="gpmf | dji-srt | klv; null: none")
    note: str | None = Field(description="what could not be placed on the map, and why")
    error: str | None
    frames: int
    tracks: int
    placed: int = Field(description="tracks placed on the map")
    start: str | None = Field(description="media time 0 (the GPS clock's, else ingest time)")
    duration: float | None
    created_by: str
    created_at: str
    finished_at: str | None


class PathPointOut(Model):
    t: float = Field(description="seconds from the clip's start")
    lat: float
    lon: float
    alt: float | None
    heading: float | None
    footprint: list[list[float] | None] | None = Field(
        description="the frame's corners on the ground, [lat, lon] or null (above the horizon)"
    )


class TrackGeoOut(Model):
    id: int
    track_id: int
    label: str
    lat: float | None
    lon: float | None
    trail: list[list[float]] = Field(description="[[seconds, lat, lon], ...]")
    media_start: float
    media_end: float


class ClipDetailOut(ClipOut):
    path: list[PathPointOut]
    geo_tracks: list[TrackGeoOut]


class ClipsOut(Model):
    items: list[ClipOut]


def _queue(state: AppState) -> queue.Queue[tuple[IngestRequest, int]]:
    """One clip analysed at a time, beside the live cameras, on a daemon thread (stopping the
    server does not wait for a long clip: it is left `running`)."""
    with _LOCK:
        jobs = state.extra.get("ingest_queue")
        if jobs is None:
            jobs = state.extra["ingest_queue"] = queue.Queue()

            def work() -> None:
                while True:
                    req, clip_id = jobs.get()
                    _analyse(state, req, clip_id)

            threading.Thread(target=work, name="vigil-ingest", daemon=True).start()
    assert isinstance(jobs, queue.Queue)
    return jobs


def _bad(code: int, message: str) -> HTTPException:
    return HTTPException(code, message)


async def _receive(request: Request, target: Path, limit: int) -> tuple[int, str]:
    """The body into `target`, chunk by chunk; 413 past `limit` (the file removed)."""
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        buffer = bytearray()
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _bad(
                    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                    f"the clip is larger than {limit} bytes (server.max_upload_bytes); "
                    "cut it shorter or ask an administrator to raise the limit",
                )
            digest.update(chunk)
            buffer += chunk
            if len(buffer) >= CHUNK:
                await run_in_threadpool(fh.write, bytes(buffer))
                buffer.clear()
        if buffer:
            await run_in_threadpool(fh.write, bytes(buffer))
    return size, digest.hexdigest()


def _suffix(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise _bad(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"'{escape(filename, 80)}' is not named as a video; upload a clip "
            f"({', '.join(VIDEO_SUFFIXES)})",
        )
    return suffix


def _unit(state: AppState, unit: str | None) -> UnitRow | None:
    if unit is None:
        return None
    try:
        return state.units.find(unit)
    except VigilError as exc:
        raise _bad(422, shown(exc)) from None


@router.post(
    UPLOAD_PATH,
    response_model=ClipOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        413: {"description": "the clip is larger than server.max_upload_bytes"},
        415: {"description": "the file is not named as a video (.mp4, .mov, ...)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload(
    request: Request,
    filename: Annotated[str, Query(pattern=FILENAME, description="the clip's name (.mp4, ...)")],
    note: Annotated[AuditNote, audited("clips.upload", "clip", purpose_required=True)],
    user: Operator,
    state: StateDep,
    unit: Annotated[
        str | None,
        Query(pattern=CALLSIGN_OR_ID, description="callsign or id of the unit that filmed it"),
    ] = None,
    hfov: Annotated[
        float | None, Query(gt=0, lt=180, description="lens field of view, degrees")
    ] = None,
    height: Annotated[
        float | None, Query(gt=0, lt=10000, description="camera height above ground, m")
    ] = None,
    ground_alt: Annotated[
        float | None, Query(ge=-1000, le=10000, description="ground elevation, m")
    ] = None,
) -> ClipOut:
    """Upload a body-camera or drone clip (the request body is the file) and analyse it in the
    background; poll GET /api/ingest/{id}. Needs `purpose`."""
    suffix = _suffix(filename)
    unit_row = _unit(state, unit)
    unit_id = unit_row.id if unit_row is not None else None
    folder = state.data_dir / CLIPS
    folder.mkdir(mode=0o700, exist_ok=True)
    part = folder / f".upload-{secrets.token_hex(8)}{suffix}"
    try:
        size, sha = await _receive(request, part, state.config.server.max_upload_bytes)
        if size == 0:
            raise _bad(422, "the upload is empty; send the clip")
        try:
            await run_in_threadpool(check_video, part, filename)
        except SourceError as exc:
            raise _bad(422, shown(exc)) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    clips = Clips(state.store)
    row = clips.create("pending", filename, user.username, size=size, sha256=sha, unit_id=unit_id)
    stored = folder / f"{row.id}{suffix}"
    os.replace(part, stored)
    clips.update(row.id, path=stored.relative_to(state.data_dir).as_posix())
    callsign = unit_row.callsign if unit_row is not None else None
    req = IngestRequest(stored, user.username, filename, None, callsign, None, hfov, height,
                        ground_alt)  # fmt: skip
    _queue(state).put((req, row.id))
    note.object_id = str(row.id)
    note.details.update(
        {"file": escape(filename, 80), "size": size, "sha256": sha, "unit": unit_id}
    )
    return ClipOut(**clip_record(clips.get(row.id)))


def _analyse(state: AppState, req: IngestRequest, clip_id: int) -> None:
    error: str | None = None
    try:
        ingest(state.store, state.data_dir, state.config, req, units=state.units, clip_id=clip_id)
    except VigilError as exc:
        error = shown(exc)
        log.warning("clip %d: %s", clip_id, error)
    except Exception as exc:
        error = f"the analysis stopped: {type(exc).__name__}"
        log.exception("clip %d: the analysis failed", clip_id)
    clips = Clips(state.store)
    if error is not None and clips.get(clip_id).status != ClipStatus.FAILED:
        # refused before its analysis began (its unit deleted meanwhile, ...)
        clips.update(clip_id, status=str(ClipStatus.FAILED), error=error)


def _visible(state: AppState, user: Principal, clip_id: int) -> Any:
    try:
        row = Clips(state.store).get(clip_id)
    except ClipNotFound:
        raise not_found(f"clip {clip_id}") from None
    if row.camera_id != "pending" and not user.sees(row.camera_id):
        raise not_found(f"clip {clip_id}")
    return row


@router.get(UPLOAD_PATH, response_model=ClipsOut, dependencies=[audited("clips.list", "clip")])
def list_clips(user: Operator, state: StateDep) -> ClipsOut:
    """The most recent ingested clips (50) with their status."""
    rows = Clips(state.store).recent()
    return ClipsOut(items=[ClipOut(**clip_record(r)) for r in rows if user.sees(r.camera_id)])


@router.get(f"{UPLOAD_PATH}/{{clip_id}}", response_model=ClipDetailOut)
def get_clip(
    clip_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    note: Annotated[AuditNote, audited("clips.read", "clip")],
    user: Operator,
    state: StateDep,
) -> ClipDetailOut:
    """One clip: its analysis' status, and once done its camera's path (with the ground it saw)
    and its tracks placed on the map with their trails."""
    row = _visible(state, user, clip_id)
    clips = Clips(state.store)
    done = row.status == ClipStatus.DONE
    path = [PathPointOut(**path_record(p)) for p in clips.path(clip_id)] if done else []
    tracks = [TrackGeoOut(**track_geo_record(t)) for t in clips.tracks(row)] if done else []
    note.details.update({"path_points": len(path), "tracks": len(tracks)})
    return ClipDetailOut(**clip_record(row), path=path, geo_tracks=tracks)
