"""An evidence export: the footage of some cameras over one time range, with what happened in
it and the record of who touched it, in a folder anyone can check (`vigil export verify`).

    clips/<camera>.mp4       one per camera (per part, if the stream's format changed)
    snapshots/*.jpg          the pictures of the events and alerts in range
    events.json alerts.json  as the API gives them
    manifest.json            SHA-256 and size of every file; who, why, when; cameras, range,
                             gaps; the audit rows about this footage and the audit chain's head
                             at export time; the public key and its fingerprint
    manifest.sig             Ed25519 signature over the exact bytes of manifest.json (base64)

Faces are blurred by default (vigil.recording.redact: re-encoded). Unblurred needs a reason and
a right (supervisor or admin in the API; the CLI's operator is the machine's): the clip is
then the remux itself, bit for bit. The folder is built aside and moved into place whole;
the export is written to the audit log (who, why, cameras, range, the manifest's hash), and
when that fails the folder is removed: nothing is handed out that the log does not hold.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil import __version__
from vigil.audit.log import AuditLog
from vigil.domain import Gap, Segment
from vigil.errors import Conflict, Invalid, NotFound
from vigil.recording.export_contents import collect, footage_audit
from vigil.recording.index import Recordings
from vigil.recording.keys import published, signing_key
from vigil.recording.redact import EXPORT_FACE_SCORE, Region, blur_clip
from vigil.recording.stitch import Clip, iso, parts, sha256_of, write_clip
from vigil.recording.subject import SubjectFace
from vigil.store.db import Store
from vigil.vision.faces.redact import FaceBlur

FORMAT = "vigil-evidence-export/1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
MAX_SPAN_S = 24 * 3600.0  # one export covers at most a day
MAX_CAMERAS = 16
REASON_MIN = 3
CLIP_FIELDS = ("file", "camera", "start", "end", "frames")


@dataclass(frozen=True)
class ExportRequest:
    cameras: tuple[str, ...]
    start: float
    end: float
    purpose: str
    exporter: str  # username, or cli:<os user>
    authority: str  # what entitles the exporter: "role admin", "operator of this machine"
    unblurred: bool = False
    reason: str | None = None
    subject: Region | None = None
    client: str | None = None
    subject_face: tuple[float, float, float] | None = None  # UNIX time, x, y (fractions)


@dataclass
class ExportResult:
    id: str
    path: Path
    manifest_sha256: str
    fingerprint: str
    files: int
    size: int
    clips: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # its audit row's
    warnings: list[str] = field(default_factory=list)  # segments missing or not as recorded

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id, "manifest_sha256": self.manifest_sha256,
            "fingerprint": self.fingerprint, "files": self.files, "size": self.size,
            "clips": self.clips, "gaps": self.gaps, "warnings": self.warnings,
        }  # fmt: skip


def check_request(req: ExportRequest) -> None:
    """One clear error per mistake a user can make in asking."""
    if not req.cameras:
        raise Invalid("name at least one camera to export (--camera ID)")
    if len(set(req.cameras)) != len(req.cameras):
        raise Invalid("a camera is named twice; name each camera once")
    if len(req.cameras) > MAX_CAMERAS:
        raise Invalid(f"export at most {MAX_CAMERAS} cameras at once")
    if req.start >= req.end:
        raise Invalid(
            f"the range is empty: from {iso(req.start)} is not before to {iso(req.end)}; "
            "give a 'from' earlier than 'to'"
        )
    if req.end - req.start > MAX_SPAN_S:
        raise Invalid("export at most 24 hours at once; split the range")
    if req.unblurred and len((req.reason or "").strip()) < REASON_MIN:
        raise Invalid("an unblurred export needs a reason (why faces must be seen), e.g. a "
                      "court order's number")  # fmt: skip
    if (req.subject is not None or req.subject_face is not None) and req.unblurred:
        raise Invalid("a subject is kept unblurred in a blurred export; leave out one of the two")
    if req.subject_face is not None:
        at, x, y = req.subject_face
        if len(req.cameras) != 1:
            raise Invalid("a subject's face is followed in one camera's footage; export that "
                          "camera on its own")  # fmt: skip
        if not (req.start <= at <= req.end and 0 <= x <= 1 and 0 <= y <= 1):
            raise Invalid("the subject's face must be named at a time in the range and a point "
                          "in the frame (x, y from 0 to 1)")  # fmt: skip


def check_out_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise Conflict(f"'{out}' already exists and is not an empty folder; choose a new --out")
    if not out.parent.is_dir():
        raise Invalid(f"the folder '{out.parent}' does not exist; create it or choose another")


def new_id(now: datetime | None = None) -> str:
    return f"{(now or datetime.now(UTC)).astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def _unreadable(
    runs: list[list[tuple[Segment, Path | None, dict[str, Any]]]], end: float
) -> tuple[list[Gap], list[str]]:
    """Segments whose file is gone, unreadable or not what was recorded: warnings, and the
    missing ones as gaps (their reason is why the footage is not there)."""
    gaps, warnings = [], []
    for run in runs:
        for seg, path, rec in run:
            if "problem" not in rec:
                continue
            warnings.append(f"{seg.camera_id}: recorded segment {seg.id} ({seg.path}): "
                            f"{rec['problem']}")  # fmt: skip
            if path is None:
                why = f"recorded segment {seg.id}: {rec['problem']}"
                gaps.append(Gap(seg.camera_id, seg.start, seg.end or end, why))
    return gaps, warnings


def _clips(
    recordings: Recordings, data_dir: Path, req: ExportRequest, work: Path, marks: dict[str, Any]
) -> tuple[list[Clip], list[str]]:
    clips: list[Clip] = []
    warnings: list[str] = []
    (work / "clips").mkdir()
    for camera in req.cameras:
        runs = parts(data_dir, recordings.segments(camera, req.start, req.end))
        lost, said = _unreadable(runs, req.end)
        warnings += said
        gaps = [*recordings.gaps(camera, req.start, req.end), *lost]
        made: list[Clip] = []
        for run in runs:
            name = f"{camera}.mp4" if not made else f"{camera}-part{len(made) + 1}.mp4"
            clip = write_clip(run, req.start, req.end, work / "clips" / name, marks[camera], gaps)
            if clip is not None:
                made.append(clip)
        if not made:
            raise NotFound(
                f"camera '{camera}' has no footage between {iso(req.start)} and {iso(req.end)}; "
                "check the camera id and the range (its recorded spans are on the playback page)"
            )
        clips.extend(made)
    return clips, warnings


Progress = Callable[[int, int], None]  # frames blurred so far, frames to blur


def _face(clip: Clip, req: ExportRequest) -> SubjectFace | None:
    if req.subject_face is None:
        return None
    at, x, y = req.subject_face
    return SubjectFace(at - clip.start, x, y) if clip.start <= at <= clip.end else None


def _check_face(clips: list[Clip], req: ExportRequest) -> None:
    if req.subject_face is not None and all(_face(c, req) is None for c in clips):
        raise Invalid(
            f"there is no footage at {iso(req.subject_face[0])}, where the subject's face is "
            "named; name it at a time the camera recorded"
        )


def _redact(
    clips: list[Clip], req: ExportRequest, blur: FaceBlur | None, progress: Progress | None
) -> list[dict[str, Any]]:
    """Each clip blurred in place (or, unblurred, left as the remux: bit for bit)."""
    _check_face(clips, req)
    records = []
    total, done = sum(c.frames for c in clips), 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    for clip in clips:
        remux_hash = sha256_of(clip.path)
        rec = {"file": f"clips/{clip.path.name}", **clip.record(), "remux_sha256": remux_hash}
        if blur is None:
            rec["redaction"] = {
                "faces": "not blurred",
                "reason": req.reason,
                "authorised": f"{req.exporter} ({req.authority})",
                "note": "the remux of the recorded segments, bit for bit",
            }
        else:
            raw = clip.path.with_suffix(".remux.mp4")
            clip.path.rename(raw)
            report = blur_clip(raw, clip.path, blur, req.subject, step, _face(clip, req))
            raw.unlink()
            rec["redaction"] = report.record(blur)
        records.append(rec)
    return records


def file_table(root: Path) -> dict[str, dict[str, Any]]:
    """SHA-256 and size of every file under `root` but the manifest and its signature."""
    table = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in (MANIFEST, SIGNATURE):
            table[rel] = {"sha256": sha256_of(path), "size": path.stat().st_size}
    return table


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _build(
    store: Store,
    data_dir: Path,
    req: ExportRequest,
    work: Path,
    audit: AuditLog,
    export_id: str,
    now: datetime,
    progress: Progress | None,
) -> bytes:
    """Everything into `work`; the manifest's bytes, signed."""
    blur = None if req.unblurred else FaceBlur(min_score=EXPORT_FACE_SCORE)
    contents = collect(store, data_dir, req.cameras, req.start, req.end, work, blur)
    clips, warnings = _clips(Recordings(store), data_dir, req, work, contents.marks)
    clip_records = _redact(clips, req, blur, progress)
    warnings += [f"{c['camera']}: {note}" for c in clip_records
                 for note in c["redaction"].get("notes", [])]  # fmt: skip
    _write_json(work / "events.json", contents.events)
    _write_json(work / "alerts.json", contents.alerts)
    key = signing_key(data_dir)
    head_id, count, head_hash = audit.head()
    manifest = {
        "format": FORMAT, "id": export_id, "created": iso(now.timestamp()),
        "software": f"vigil {__version__}", "exporter": req.exporter,
        "authority": req.authority, "purpose": req.purpose, "cameras": list(req.cameras),
        "range": {"from": iso(req.start), "to": iso(req.end),
                  "from_unix": req.start, "to_unix": req.end},
        "redacted": not req.unblurred, "reason": req.reason, "clips": clip_records,
        "warnings": warnings,
        "gaps": [{"camera": c["camera"], **g} for c in clip_records for g in c["gaps"]],
        "events": {"file": "events.json", "count": len(contents.events)},
        "alerts": {"file": "alerts.json", "count": len(contents.alerts)},
        "snapshots": contents.snapshots,
        "audit": {"head": {"id": head_id, "count": count, "hash": head_hash},
                  "rows": footage_audit(store, req.cameras, req.start, req.end)},
        "key": published(key.public_key()).record(), "files": file_table(work),
    }  # fmt: skip
    data = manifest_bytes(manifest)
    (work / MANIFEST).write_bytes(data)
    (work / SIGNATURE).write_text(base64.b64encode(key.sign(data)).decode("ascii") + "\n")
    return data


def audit_details(req: ExportRequest, manifest: dict[str, Any]) -> dict[str, Any]:
    """What the audit row of an export says about it (with the manifest's hash)."""
    return {
        "cameras": list(req.cameras), "from": iso(req.start), "to": iso(req.end),
        "manifest_sha256": manifest["sha256"], "redacted": not req.unblurred,
        "reason": req.reason, "fingerprint": manifest["key"]["fingerprint"],
    }  # fmt: skip


def create_export(
    store: Store,
    data_dir: Path,
    req: ExportRequest,
    out: Path,
    audit: AuditLog,
    *,
    export_id: str | None = None,
    now: datetime | None = None,
    record: bool = True,
    progress: Progress | None = None,
) -> ExportResult:
    """Build the export of `req` into the folder `out` (new, or empty), signed and audited
    (`record=False`: the caller writes the audit row, as an API route's `audited` does)."""
    check_request(req)
    check_out_dir(out)
    now = now or datetime.now(UTC)
    export_id = export_id or new_id(now)
    work = out.parent / f".{out.name}.partial-{export_id}"
    work.mkdir(mode=0o700)
    try:
        data = _build(store, data_dir, req, work, audit, export_id, now, progress)
        if out.exists():
            out.rmdir()
        os.rename(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    manifest = json.loads(data)
    digest = manifest["sha256"] = hashlib.sha256(data).hexdigest()
    try:
        if record:
            audit.append(
                req.exporter, "exports.create", "export", export_id, purpose=req.purpose,
                client=req.client, details={"outcome": "ok", **audit_details(req, manifest)},
            )  # fmt: skip
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # not on the record: not handed out
        raise
    files = manifest["files"]
    return ExportResult(
        export_id, out, digest, manifest["key"]["fingerprint"], len(files),
        sum(f["size"] for f in files.values()),
        [{k: c[k] for k in CLIP_FIELDS} for c in manifest["clips"]],
        manifest["gaps"], audit_details(req, manifest), manifest["warnings"],
    )  # fmt: skip
