"""Face watchlists over the API: supervisors who see every camera create them and enrol
people; reading who is on a list needs a purpose; every request is audited. Reviewers of a
face match see the enrolled picture of the person it matched (`/api/alerts/{id}/enrolled.jpg`)
next to the face seen, to judge it."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from vigil.api.auditing import AuditNote, audited
from vigil.api.deps import (
    Principal,
    StateDep,
    UserDep,
    manager_of_every_camera,
    require_operational,
    require_role,
    require_user,
    visible_row,
)
from vigil.api.params import AlertId, EntryId, row_id
from vigil.api.schemas import Model
from vigil.domain import EventType, Role
from vigil.logtext import ONE_LINE
from vigil.store.checks import NAME, NAME_RULE
from vigil.store.queries import as_utc
from vigil.store.tables import AlertRow, WatchlistRow
from vigil.store.watchlists import WatchlistError, WatchlistIn, Watchlists

router = APIRouter(tags=["watchlists"], dependencies=[Depends(require_user)])
WatchlistId = Annotated[int, row_id("watchlist")]
Supervisor = Annotated[Principal, Depends(require_role(Role.SUPERVISOR))]
Manager = Annotated[Principal, Depends(manager_of_every_camera("watchlists"))]
MAX_IMAGES = 5
MAX_IMAGE_CHARS = 400_000  # base64 of a photo of up to ~300 KB
Line = Annotated[str, Field(max_length=500, pattern=ONE_LINE)]


class Geofence(Model):
    polygon: list[tuple[float, float]] | None = Field(None, min_length=3, max_length=200)
    centre: tuple[float, float] | None = None
    radius_m: float | None = Field(None, gt=0, le=50_000)


class WatchlistCreate(Model):
    name: str = Field(min_length=1, max_length=100, pattern=NAME.pattern, description=NAME_RULE)
    purpose: Line
    legal_basis: Line
    authorised_by: Annotated[str, Field(max_length=200, pattern=ONE_LINE)]
    valid_from: datetime
    valid_until: datetime
    cameras: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, max_length=1000
    )
    geofence: Geofence | None = None
    window: tuple[str, str] | None = Field(None, description='daily, e.g. ["14:00", "23:00"]')
    timezone: str = Field("UTC", max_length=64)
    threshold: float | None = Field(None, ge=0.2, le=0.8)


class WatchlistOut(Model):
    id: int
    name: str
    purpose: str
    legal_basis: str
    authorised_by: str
    created_by: str
    valid_from: datetime
    valid_until: datetime
    cameras: list[str] | None
    geofence: dict[str, Any] | None
    window: tuple[str, str] | None
    timezone: str
    threshold: float
    entries: int


class Enrolment(Model):
    name: Annotated[str, Field(max_length=200, pattern=ONE_LINE)]
    reference: str | None = Field(None, max_length=100)
    source: Line = Field(description="where the photos came from (kept)")
    images: list[Annotated[str, Field(max_length=MAX_IMAGE_CHARS)]] = Field(
        min_length=1, max_length=MAX_IMAGES, description="photos (JPEG or PNG), base64"
    )


class EntryOut(Model):
    id: int
    name: str
    reference: str | None
    photos: int


def _out(row: WatchlistRow, entries: int) -> WatchlistOut:
    return WatchlistOut(
        id=row.id, name=row.name, purpose=row.purpose, legal_basis=row.legal_basis,
        authorised_by=row.authorised_by, created_by=row.created_by,
        valid_from=as_utc(row.valid_from), valid_until=as_utc(row.valid_until),
        cameras=row.cameras, geofence=row.geofence,
        window=(row.window_start, row.window_end) if row.window_start and row.window_end else None,
        timezone=row.timezone, threshold=row.threshold, entries=entries,
    )  # fmt: skip


@router.get(
    "/api/watchlists",
    response_model=list[WatchlistOut],
    dependencies=[audited("watchlists.list", "watchlist")],
)
def list_watchlists(user: Supervisor, state: StateDep) -> list[WatchlistOut]:
    """Every watchlist: why, who authorised it, where and when it applies (no one on it)."""
    return [_out(r, n) for r, n in Watchlists(state.store).all()]


@router.post(
    "/api/watchlists",
    response_model=WatchlistOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "a watchlist of that name exists"}},
)
async def create_watchlist(
    body: WatchlistCreate,
    note: Annotated[AuditNote, audited("watchlists.create", "watchlist")],
    user: Manager,
    state: StateDep,
) -> WatchlistOut:
    """Create a watchlist; it applies to its cameras or inside its geofence, nowhere else."""
    from vigil.vision.faces import MATCH_THRESHOLD

    known = {c.id for c in state.config.cameras}
    unknown = sorted(set(body.cameras or []) - known)
    if unknown:
        raise HTTPException(404, f"unknown camera(s) {', '.join(unknown)}")
    fence = body.geofence.model_dump(exclude_none=True) if body.geofence else None
    spec = WatchlistIn(**{**body.model_dump(exclude={"geofence"}), "geofence": fence})
    note.details.update(body.model_dump(mode="json", exclude_none=True))
    row = await run_in_threadpool(
        Watchlists(state.store).create, spec, user.username, MATCH_THRESHOLD
    )
    note.object_id = str(row.id)
    return _out(row, 0)


@router.delete("/api/watchlists/{watchlist_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_watchlist(
    watchlist_id: WatchlistId,
    note: Annotated[AuditNote, audited("watchlists.delete", "watchlist")],
    user: Manager,
    state: StateDep,
) -> None:
    """Delete a watchlist with its people and their templates."""
    note.object_id = str(watchlist_id)
    row = await run_in_threadpool(Watchlists(state.store).delete, watchlist_id)
    note.details["watchlist"] = row.name


@router.get("/api/watchlists/{watchlist_id}/entries", response_model=list[EntryOut])
def list_entries(
    watchlist_id: WatchlistId,
    note: Annotated[AuditNote, audited("watchlists.read", "watchlist", purpose_required=True)],
    user: Supervisor,
    state: StateDep,
) -> list[EntryOut]:
    """Who is on a list (names, references, number of photos): needs `purpose`."""
    note.object_id = str(watchlist_id)
    lists = Watchlists(state.store)
    row = lists.get(watchlist_id)
    people = lists.entries(row.id)
    note.details.update(watchlist=row.name, entries=len(people))
    return [EntryOut(id=e.id, name=e.name, reference=e.reference, photos=n) for e, n in people]


def _decode(images: list[str]) -> list[bytes]:
    out = []
    for i, text in enumerate(images, 1):
        try:
            out.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise WatchlistError(f"image {i} is not base64") from None
    return out


@router.post(
    "/api/watchlists/{watchlist_id}/entries",
    response_model=EntryOut,
    status_code=status.HTTP_201_CREATED,
)
async def enrol(
    watchlist_id: WatchlistId,
    body: Enrolment,
    note: Annotated[AuditNote, audited("watchlists.enrol", "watchlist")],
    user: Manager,
    state: StateDep,
) -> EntryOut:
    """Put a person on the list with photos of them. Each photo must hold a usable face (the
    largest is taken); only its template and a small aligned picture are kept, with the
    photos' source and SHA-256: never the photos. One unusable photo refuses them all."""
    note.object_id = str(watchlist_id)
    note.details.update(person=body.name, images=len(body.images), source=body.source)
    raws = _decode(body.images)
    templates = await run_in_threadpool(_templates, raws)
    lists = Watchlists(state.store)
    entry = await run_in_threadpool(lists.add_entry, watchlist_id, body.name, body.reference)
    for raw, (embedding, picture) in zip(raws, templates, strict=True):
        digest = hashlib.sha256(raw).hexdigest()
        await run_in_threadpool(
            lists.add_template, entry.id, embedding, body.source, digest, picture
        )
    note.details["entry"] = entry.id
    return EntryOut(id=entry.id, name=entry.name, reference=entry.reference, photos=len(raws))


def _templates(raws: list[bytes]) -> list[tuple[Any, bytes]]:
    import cv2
    import numpy as np

    from vigil.vision.faces import FaceEngine

    engine, out = FaceEngine(), []
    for i, raw in enumerate(raws, 1):
        image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise WatchlistError(f"image {i} is not a picture (send a JPEG or PNG)")
        face, embedding = engine.best(image)
        if face is None:
            raise WatchlistError(f"image {i}: no face found; send a clear, frontal photo")
        if embedding is None:
            raise WatchlistError(f"image {i}: the face is {face.quality.reason}; send a better one")
        x, y, w, h = face.box
        chip = cv2.resize(image[max(0, y) : y + h, max(0, x) : x + w], (112, 112))
        ok, buf = cv2.imencode(".jpg", chip, [cv2.IMWRITE_JPEG_QUALITY, 85])
        out.append((embedding, buf.tobytes() if ok else b""))
    return out


@router.delete(
    "/api/watchlists/{watchlist_id}/entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def remove_entry(
    watchlist_id: WatchlistId,
    entry_id: EntryId,
    note: Annotated[AuditNote, audited("watchlists.remove", "watchlist")],
    user: Manager,
    state: StateDep,
) -> None:
    """Take a person off a list; their templates are deleted."""
    note.object_id = str(watchlist_id)
    row = await run_in_threadpool(Watchlists(state.store).remove_entry, watchlist_id, entry_id)
    note.details["entry"] = row.id


@router.get(
    "/api/alerts/{alert_id}/enrolled.jpg",
    response_class=Response,
    dependencies=[Depends(require_operational), audited("alerts.enrolled", "alert")],
    responses={200: {"content": {"image/jpeg": {}}}},
)
def enrolled_picture(alert_id: AlertId, user: UserDep, state: StateDep) -> Response:
    """A face match's enrolled picture of the person it matched, for reviewers to compare
    with the face seen (404 for other alerts, or once the person left the list)."""
    row = visible_row(state, user, AlertRow, alert_id, "alert")
    entry = (row.attributes or {}).get("entry_id")
    if row.type != EventType.FACE_MATCH or not isinstance(entry, int):
        raise HTTPException(404, f"alert {alert_id} is not a face match")
    picture = Watchlists(state.store).entry_picture(entry)
    if picture is None:
        raise HTTPException(404, f"the person alert {alert_id} matched is no longer enrolled")
    return Response(picture, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
