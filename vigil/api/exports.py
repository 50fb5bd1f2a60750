"""Evidence export over HTTP: `POST /api/exports` builds the same signed folder as
`vigil export` (in the data directory, exports/<id>/), `GET /api/exports/{id}.zip` hands it
out, `GET /api/keys` publishes the public key anyone may verify an export with (no login).

Operators and above export the cameras they see; faces are blurred unless a supervisor or
admin asks for them unblurred with a reason. Both calls are audited with their purpose.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import Field

from vigil.api.auditing import AuditNote, audited
from vigil.api.deps import AppState, Principal, StateDep, not_found, require_role
from vigil.api.params import When
from vigil.api.schemas import Model
from vigil.domain import Role
from vigil.logtext import ONE_LINE
from vigil.recording.export import (
    MANIFEST,
    MAX_CAMERAS,
    ExportRequest,
    create_export,
    new_id,
)
from vigil.recording.keys import public_key

router = APIRouter(tags=["exports"])
EXPORTS = "exports"
ID_PATTERN = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
CameraId = Annotated[str, Field(min_length=1, max_length=64)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class KeyOut(Model):
    algorithm: str = Field(description="Ed25519")
    fingerprint: str = Field(description="SHA-256 of the raw key, first 16 bytes, hex")
    public_key: str = Field(description="PEM (SubjectPublicKeyInfo)")


class KeysOut(Model):
    keys: list[KeyOut] = Field(description="the keys this installation signs exports with")


class SubjectFaceIn(Model):
    at: When = Field(description="a time the subject is in view")
    x: Fraction = Field(description="a point on the subject's face then (fraction of the width)")
    y: Fraction = Field(description="(fraction of the height)")


class ExportIn(Model):
    cameras: list[CameraId] = Field(min_length=1, max_length=MAX_CAMERAS)
    start: When = Field(description="from this time (ISO 8601 or UNIX seconds)")
    end: When = Field(description="to this time")
    unblurred: bool = Field(False, description="faces not blurred: supervisor or admin only")
    reason: str | None = Field(
        None,
        max_length=500,
        pattern=ONE_LINE,
        description="why faces must be seen (required with unblurred)",
    )
    subject: list[Fraction] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description="x, y, w, h (fractions of the frame): faces inside stay unblurred",
    )
    subject_face: SubjectFaceIn | None = Field(
        None, description="the one face left unblurred, followed through the clip (one camera)"
    )


class ClipOut(Model):
    file: str
    camera: str
    start: str
    end: str
    frames: int


class GapOut(Model):
    camera: str
    start: str
    end: str
    start_unix: float = Field(description="the gap's start as UNIX time")
    seconds: float
    reason: str
    frames_missing: bool


class ExportOut(Model):
    id: str
    manifest_sha256: str = Field(description="SHA-256 of manifest.json (in the audit log too)")
    fingerprint: str = Field(description="of the key that signed it (GET /api/keys)")
    files: int
    size: int = Field(description="bytes, all files")
    redacted: bool
    clips: list[ClipOut]
    gaps: list[GapOut] = Field(description="where in the range no footage is, and why")
    warnings: list[str] = Field(
        description="recorded segments whose file is missing or differs from what was recorded"
    )
    download_url: str = Field(description="the zip; add ?purpose=")


@router.get("/api/keys", response_model=KeysOut)
def keys(state: StateDep) -> KeysOut:
    """The public key(s) exports are signed with, for anyone to verify one (no login)."""
    return KeysOut(keys=[KeyOut(**public_key(state.data_dir).record())])


def _check_rights(state: AppState, user: Principal, body: ExportIn) -> None:
    for camera in body.cameras:
        if not user.sees(camera):
            raise not_found(f"camera '{camera}'")
    if body.unblurred and not user.can(Role.SUPERVISOR):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"an unblurred export needs the supervisor role or higher; you are {user.role}; "
            "export with faces blurred, or ask a supervisor",
        )


@router.post("/api/exports", response_model=ExportOut, status_code=status.HTTP_201_CREATED)
def create(
    body: ExportIn,
    note: Annotated[AuditNote, audited("exports.create", "export", purpose_required=True)],
    user: Operator,
    state: StateDep,
) -> ExportOut:
    """Build a signed evidence export of cameras' footage over [start, end] (clips, snapshots,
    events, alerts, manifest.json + manifest.sig). Needs `purpose`; it may take a while: every
    frame of a blurred clip is searched for faces."""
    _check_rights(state, user, body)
    subject = tuple(body.subject) if body.subject else None
    req = ExportRequest(
        tuple(body.cameras), body.start.timestamp(), body.end.timestamp(), note.purpose or "",
        user.username, f"role {user.role}", body.unblurred, body.reason,
        subject,  # type: ignore[arg-type]  # four floats, checked by the schema
        subject_face=(face.at.timestamp(), face.x, face.y) if (face := body.subject_face) else None,
    )  # fmt: skip
    folder = state.data_dir / EXPORTS
    folder.mkdir(mode=0o700, exist_ok=True)
    export_id = new_id()
    result = create_export(state.store, state.data_dir, req, folder / export_id, state.audit,
                           export_id=export_id, record=False)  # fmt: skip
    note.object_id = export_id
    note.details.update(result.details)
    return ExportOut(
        **result.record(), redacted=not req.unblurred, download_url=f"/api/exports/{export_id}.zip"
    )


def _zip(folder: Path) -> Path:
    """The export as one zip (stored, not compressed: the clips are compressed already),
    made once, beside the folder."""
    target = folder.with_suffix(".zip")
    if target.is_file():
        return target
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.{threading.get_ident()}.zip"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    os.replace(tmp, target)
    return target


@router.get(
    "/api/exports/{export_id}.zip",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "the export"}},
)
def download(
    export_id: Annotated[str, PathParam(pattern=ID_PATTERN, description="the export's id")],
    note: Annotated[AuditNote, audited("exports.download", "export", purpose_required=True)],
    user: Operator,
    state: StateDep,
) -> FileResponse:
    """One export as a zip (unzip, then `vigil export verify FOLDER`). Needs `purpose`."""
    folder = state.data_dir / EXPORTS / export_id
    if not (folder / MANIFEST).is_file():
        raise not_found(f"export '{export_id}'")
    manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_bytes())
    if not all(user.sees(str(c)) for c in manifest.get("cameras", [])):
        raise not_found(f"export '{export_id}'")
    if not manifest.get("redacted", True) and not user.can(Role.SUPERVISOR):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"export '{export_id}' is unblurred: only a supervisor or admin may download it",
        )
    note.details.update({"cameras": manifest.get("cameras"), "redacted": manifest.get("redacted")})
    return FileResponse(
        _zip(folder), media_type="application/zip", filename=f"vigil-export-{export_id}.zip"
    )
