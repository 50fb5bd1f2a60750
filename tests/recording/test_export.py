"""Evidence export and its verification, from the CLI: footage recorded by the real recorder
(the Hamilton clip, which shows faces), events with snapshots, a gap the recorder reported.

Blurring searches every frame for faces (about 0.1-0.2 s a frame here), so the blurred
exports cover about a second; the unblurred ones are remuxes and cost nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from typer.testing import CliRunner

from vigil.cli import app
from vigil.config import CameraConfig
from vigil.config.camera import RecordingConfig
from vigil.domain import Box, Event, EventType, RecordingMode
from vigil.errors import VigilError
from vigil.recording.export import MANIFEST, SIGNATURE, manifest_bytes
from vigil.recording.index import Recordings
from vigil.recording.keys import KEY_FILE, published
from vigil.recording.recorder import Recorder
from vigil.recording.redact import EXPORT_FACE_SCORE
from vigil.recording.stitch import parts, sha256_of, write_clip
from vigil.recording.subject import SubjectFace, follow, iou
from vigil.store.db import Store
from vigil.store.tables import AuditRow
from vigil.vision.faces.detect import CenterFace
from vigil.vision.faces.redact import FaceBlur

HAMILTON = Path(__file__).resolve().parents[1] / "fixtures" / "video" / "short_hamilton_clip.mp4"
T0 = 1_800_000_000.0  # the first recording starts here (a file's times follow the clock)
SECOND_AT = T0 + 13.0  # the camera came back here: about 3 s of nothing before it
PURPOSE = "case 2026/0042"
runner = CliRunner()


def iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Footage:
    data: Path
    store: Store
    events: list[int]
    gap_from: float  # the end of the first recording


def _record(data: Path, rec: Recordings, camera: str, at: float) -> None:
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=4)
    Recorder(camera, str(HAMILTON), data, rec, config, clock=lambda: at).run()


def _face_picture(path: Path) -> str:
    """A frame of the clip with faces, as a stored snapshot."""
    with av.open(str(HAMILTON)) as c:
        for n, frame in enumerate(c.decode(video=0)):
            if n == 60:
                image = frame.to_ndarray(format="bgr24")
                break
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path.name


@pytest.fixture
def footage(tmp_path: Path) -> Iterator[Footage]:
    data = tmp_path / "data"
    data.mkdir()
    store = Store(f"sqlite:///{data / 'vigil.db'}")
    rec = Recordings(store)
    _record(data, rec, "lobby", T0)
    last = max(s.end or 0 for s in rec.segments("lobby", T0, T0 + 60))
    gap = rec.open_gap("lobby", last, "camera stopped sending (connection reset)")
    rec.close_gap(gap, SECOND_AT)
    _record(data, rec, "lobby", SECOND_AT)
    _record(data, rec, "gate", T0)
    for cam in ("lobby", "gate"):
        store.save_camera(CameraConfig.model_validate({"id": cam, "source": "x"}).to_camera())
    _face_picture(data / "snapshots" / "lobby" / "e1.jpg")
    events = [
        Event(EventType.ZONE_ENTER, "lobby", 2.5, 1, "person", attributes={"zone": "door"}),
        Event(EventType.OBJECT, "lobby", 15.0, 2, "person", Box(1, 2, 3, 4), 0.9, 14.0, 15.0),
        Event(EventType.OBJECT, "lobby", 40.0, 3, "person"),  # outside every range below
    ]
    rows = store.save_results("lobby", T0, [], events, ["snapshots/lobby/e1.jpg", None, None])
    yield Footage(data, store, [r.id for r in rows], last)
    store.close()


def export(f: Footage, out: Path, *extra: str, cams: tuple[str, ...] = ("lobby",),
           start: float = T0 + 2.2, end: float = T0 + 16.0) -> tuple[int, str]:  # fmt: skip
    args = ["export"]
    for cam in cams:
        args += ["--camera", cam]
    args += ["--from", iso(start), "--to", iso(end), "--purpose", PURPOSE, "--out", str(out)]
    args += ["--data", str(f.data), *extra]
    r = runner.invoke(app, args)
    return r.exit_code, r.output


def verify(folder: Path, *extra: str) -> tuple[int, str]:
    r = runner.invoke(app, ["export", "verify", str(folder), *extra])
    return r.exit_code, r.output


def unblurred(f: Footage, out: Path, cams: tuple[str, ...] = ("lobby",),
              start: float = T0 + 2.2, end: float = T0 + 16.0) -> dict[str, Any]:  # fmt: skip
    reason = ("--unblurred", "--reason", "court order 17/2026")
    code, said = export(f, out, *reason, cams=cams, start=start, end=end)
    assert code == 0, said
    manifest: dict[str, Any] = json.loads((out / MANIFEST).read_bytes())
    return manifest


def test_an_export_holds_the_footage_the_events_and_the_record(
    footage: Footage, tmp_path: Path
) -> None:
    out = tmp_path / "case-42"
    m = unblurred(footage, out)
    files = m["files"]
    assert isinstance(files, dict)
    assert set(files) == {"clips/lobby.mp4", "events.json", "alerts.json",
                          "snapshots/event-1.jpg"}  # fmt: skip
    for name, facts in files.items():
        assert (
            sha256_of(out / name) == facts["sha256"]
            and (out / name).stat().st_size == facts["size"]
        )
    assert m["purpose"] == PURPOSE and m["cameras"] == ["lobby"] and m["redacted"] is False
    assert str(m["exporter"]).startswith("cli:") and m["reason"] == "court order 17/2026"
    # The gap the recorder reported, with its reason; the clip starts at a keyframe before 2.2 s.
    [gap] = m["gaps"]
    assert gap["camera"] == "lobby" and gap["frames_missing"] is True
    assert "connection reset" in gap["reason"]
    assert gap["seconds"] == pytest.approx(SECOND_AT - footage.gap_from, abs=0.1)
    [clip] = m["clips"]
    assert T0 + 1.0 < clip["start_unix"] <= T0 + 2.2
    events = json.loads((out / "events.json").read_text())
    assert [e["id"] for e in events] == footage.events[:2]
    assert events[0]["snapshot"] == "snapshots/event-1.jpg"
    # Chapters read back from the file: the start, the two events, the gap, in that order.
    with av.open(str(out / "clips" / "lobby.mp4")) as c:
        titles = [ch["metadata"]["title"] for ch in c.chapters()]
        starts = [ch["start"] * float(ch["time_base"]) for ch in c.chapters()]
        frames = sum(1 for _ in c.demux(c.streams.video[0]) if _.size)
    assert titles[0].startswith("footage of lobby") and len(titles) == 4
    assert "zone_enter person zone door" in titles[1] and titles[2].startswith("no footage for")
    assert "object person" in titles[3]
    assert starts[1] == pytest.approx(T0 + 2.5 - clip["start_unix"], abs=0.002)
    assert frames == clip["frames"]
    # The key: made on first need, owner-only, and the one the manifest names.
    key_path = footage.data / KEY_FILE
    assert key_path.stat().st_mode & 0o777 == 0o600
    # On the audit record: who, why, cameras, range, the manifest's hash.
    digest = hashlib.sha256((out / MANIFEST).read_bytes()).hexdigest()
    with footage.store.session() as s:
        row = s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).one()
    assert (row.action, row.purpose, row.object_id) == ("exports.create", PURPOSE, m["id"])
    assert row.details["manifest_sha256"] == digest and row.details["cameras"] == ["lobby"]
    assert m["audit"]["head"]["id"] == row.id - 1
    code, said = verify(out)
    assert code == 0 and "export verified" in said and "NOT ESTABLISHED" in said
    # The chain still verifies; the transparency report counts the export (unblurred).
    assert runner.invoke(app, ["audit", "verify", "--data", str(footage.data)]).exit_code == 0
    r = runner.invoke(app, ["report", "transparency", "--since", "2023-01-01", "--format",
                            "json", "--data", str(footage.data)])  # fmt: skip
    report = json.loads(r.stdout)
    assert (report["exports"], report["exports_unblurred"]) == (1, 1)


def test_several_cameras_one_range_and_both_forms_of_verify(
    footage: Footage, tmp_path: Path
) -> None:
    out = tmp_path / "two"
    m = unblurred(footage, out, cams=("lobby", "gate"), start=T0 + 3, end=T0 + 5)
    assert {c["camera"] for c in m["clips"]} == {"lobby", "gate"}
    fp = m["key"]["fingerprint"]
    code, said = verify(out, "--fingerprint", fp)
    assert code == 0 and f"the fingerprint you gave ({fp})" in said
    pem = tmp_path / "vigil.pem"
    pem.write_text(m["key"]["public_key"])
    code, said = verify(out, "--key", str(pem))
    assert code == 0 and "signed by the trusted key you gave" in said
    # `vigil export verify` needs no database: the data folder is gone.
    shutil.rmtree(footage.data)
    r = runner.invoke(app, ["export", "verify", str(out)])
    assert r.exit_code == 0


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _resign(folder: Path, manifest: dict[str, object], key: Ed25519PrivateKey) -> None:
    data = manifest_bytes(manifest)
    (folder / MANIFEST).write_bytes(data)
    (folder / SIGNATURE).write_text(base64.b64encode(key.sign(data)).decode() + "\n")


def test_verify_names_every_file_changed_missing_or_added_and_a_forged_manifest(
    footage: Footage, tmp_path: Path
) -> None:
    good = tmp_path / "good"
    m = unblurred(footage, good, start=T0 + 3, end=T0 + 4)
    pem = tmp_path / "vigil.pem"
    pem.write_text(m["key"]["public_key"])
    changed = _copy(good, tmp_path / "changed")
    clip = changed / "clips" / "lobby.mp4"
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one bit of one frame: same size
    clip.write_bytes(bytes(data))
    (changed / "events.json").write_text('[{"id": 99}]\n')
    code, said = verify(changed)
    assert code == 1
    assert "changed: clips/lobby.mp4 (its SHA-256 is not the one signed)" in said
    assert "changed: events.json" in said
    removed = _copy(good, tmp_path / "removed")
    (removed / "alerts.json").unlink()
    code, said = verify(removed)
    assert code == 1 and "missing: alerts.json" in said
    added = _copy(good, tmp_path / "added")
    (added / "clips" / "extra.mp4").write_bytes(b"planted")
    code, said = verify(added)
    assert code == 1 and "added: clips/extra.mp4 (not in the manifest)" in said
    # The manifest edited (its purpose), the signature kept.
    edited = _copy(good, tmp_path / "edited")
    forged = {**m, "purpose": "routine check"}
    (edited / MANIFEST).write_bytes(manifest_bytes(forged))
    code, said = verify(edited)
    assert code == 1 and "does not match its signature" in said
    # Edited and re-signed with another key, the manifest's key left as it was: caught.
    other = Ed25519PrivateKey.generate()
    resigned = _copy(good, tmp_path / "resigned")
    _resign(resigned, forged, other)
    code, said = verify(resigned)
    assert code == 1 and "does not match its signature" in said
    # ...and with the forger's key put in the manifest, but the old fingerprint kept: caught.
    swapped = _copy(good, tmp_path / "swapped")
    key_only = {**forged, "key": {**m["key"], "public_key": published(other.public_key()).pem}}
    _resign(swapped, key_only, other)
    code, said = verify(swapped)
    assert code == 1 and "the key was replaced" in said
    # A whole forgery, self-consistent: only a key from elsewhere tells. Without one the
    # verifier says it established no trust; with the published key or fingerprint it fails.
    whole = _copy(good, tmp_path / "whole")
    _resign(whole, {**forged, "key": published(other.public_key()).record()}, other)
    code, said = verify(whole)
    assert code == 0 and "NOT ESTABLISHED" in said
    code, said = verify(whole, "--key", str(pem))
    assert code == 1 and "not signed by the trusted key" in said
    code, said = verify(whole, "--fingerprint", m["key"]["fingerprint"])
    assert code == 1 and "not signed by the key with the published fingerprint" in said
    assert verify(good, "--key", str(pem))[0] == 0


def _faces(path: Path, every: int = 3) -> tuple[int, int]:
    """(frames looked at, faces CenterFace finds in them) at its default score."""
    detector = CenterFace()
    looked = found = 0
    with av.open(str(path)) as c:
        for n, frame in enumerate(c.decode(video=0)):
            if n % every == 0:
                looked += 1
                found += len(detector.detect(frame.to_ndarray(format="bgr24")))
    return looked, found


def test_faces_are_blurred_by_default_and_unblurred_is_the_remux_bit_for_bit(
    footage: Footage, tmp_path: Path
) -> None:
    start, end = T0 + 2.1, T0 + 2.5
    raw = tmp_path / "raw"
    m = unblurred(footage, raw, start=start, end=end)
    blurred = tmp_path / "blurred"
    code, said = export(footage, blurred, start=start, end=end)
    assert code == 0, said
    mb = json.loads((blurred / MANIFEST).read_bytes())
    assert mb["redacted"] is True and mb["clips"][0]["redaction"]["faces"] == "blurred"
    assert mb["clips"][0]["redaction"]["faces_found"] > 0
    looked, faces = _faces(blurred / "clips" / "lobby.mp4", every=1)
    assert looked >= 14 and faces == 0
    assert _faces(raw / "clips" / "lobby.mp4")[1] >= looked  # two people in view
    # The event's snapshot is blurred too; unblurred, it is the stored file itself.
    shot = cv2.imread(str(blurred / "snapshots" / "event-1.jpg"))
    assert CenterFace().detect(shot) == []
    stored = footage.data / "snapshots" / "lobby" / "e1.jpg"
    assert (raw / "snapshots" / "event-1.jpg").read_bytes() == stored.read_bytes()
    # Unblurred: the remux of the recorded segments, bit for bit.
    rec = Recordings(footage.store)
    [run] = parts(footage.data, rec.segments("lobby", start, end))
    again = tmp_path / "again.mp4"
    assert write_clip(run, start, end, again, [], []) is not None
    clip = m["clips"][0]
    assert sha256_of(raw / "clips" / "lobby.mp4") == clip["remux_sha256"]
    assert clip["frames"] == mb["clips"][0]["frames"] == mb["clips"][0]["redaction"]["frames"]
    with av.open(str(again)) as a, av.open(str(raw / "clips" / "lobby.mp4")) as b:
        pa = [bytes(p) for p in a.demux(a.streams.video[0]) if p.size]
        pb = [bytes(p) for p in b.demux(b.streams.video[0]) if p.size]
    assert pa == pb  # the same packets as the segments hold (chapters aside)
    with (
        av.open(str(blurred / "clips" / "lobby.mp4")) as a,
        av.open(str(raw / "clips" / "lobby.mp4")) as b,
    ):
        assert a.chapters() == b.chapters() and len(a.chapters()) == 2  # its start, the event
        assert a.streams.video[0].codec_context.name == "h264"
    assert verify(blurred)[0] == 0


def test_a_subject_keeps_their_face(footage: Footage, tmp_path: Path) -> None:
    """Faces whose centre is in the subject's box stay; every other is blurred."""
    out = tmp_path / "subject"
    code, said = export(footage, out, "--subject", "0.5,0,0.5,1", start=T0 + 2.1, end=T0 + 2.5)
    assert code == 0, said
    detector = CenterFace()
    left = right = 0
    with av.open(str(out / "clips" / "lobby.mp4")) as c:
        for frame in c.decode(video=0):
            image = frame.to_ndarray(format="bgr24")
            for face in detector.detect(image):
                centre = face.box[0] + face.box[2] / 2
                left += centre < image.shape[1] / 2
                right += centre >= image.shape[1] / 2
    assert right > 0 and left == 0
    m = json.loads((out / MANIFEST).read_bytes())
    assert m["clips"][0]["redaction"]["subject"]["faces_kept"] > 0


def test_mistakes_are_one_clear_line_and_nothing_is_written(
    footage: Footage, tmp_path: Path
) -> None:
    with footage.store.session() as s:
        rows_before = len(list(s.scalars(select(AuditRow.id))))
    out = tmp_path / "x"
    cases = [
        (["--unblurred"], "--unblurred needs --reason"),
    ]
    for extra, message in cases:
        code, said = export(footage, out, *extra)
        assert code == 2 and message in said and "Traceback" not in said
    code, said = export(footage, out, cams=("nowhere",))
    assert code == 2 and "camera 'nowhere' has no footage between" in said
    code, said = export(footage, out, start=T0 + 5, end=T0 + 5)
    assert code == 2 and "the range is empty" in said
    r = runner.invoke(app, ["export", "--camera", "lobby", "--from", "yesterday", "--to",
                            iso(T0), "--purpose", PURPOSE, "--out", str(out), "--data",
                            str(footage.data)])  # fmt: skip
    assert r.exit_code == 2 and "--from 'yesterday' is not an ISO 8601 time" in r.output
    code, said = export(footage, out, start=T0 + 100, end=T0 + 200)
    assert code == 2 and "has no footage between" in said
    r = runner.invoke(app, ["export", "--camera", "lobby"])
    assert r.exit_code == 2 and "give --from, --to, --purpose, --out" in r.output
    assert not out.exists() and not any(p.name.startswith(".x.") for p in tmp_path.iterdir())
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.txt").write_text("something")
    code, said = export(footage, full)
    assert code == 2 and "already exists and is not an empty folder" in said
    with footage.store.session() as s:
        assert len(list(s.scalars(select(AuditRow.id)))) == rows_before
    code, said = verify(tmp_path / "no-such-export")
    assert code == 2 and "is not a folder" in said
    empty = tmp_path / "empty"
    empty.mkdir()
    code, said = verify(empty)
    assert code == 1 and "missing: manifest.json" in said
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key")
    code, said = verify(empty, "--key", str(bad_key))
    assert code == 2 and "is not a PEM public key" in said


def test_the_key_is_made_once_and_kept(tmp_path: Path) -> None:
    from vigil.recording.keys import public_key, signing_key

    first = public_key(tmp_path)
    assert public_key(tmp_path) == first and len(first.fingerprint) == 39
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert (
        signing_key(tmp_path).public_key().public_bytes_raw()
        == signing_key(tmp_path).public_key().public_bytes_raw()
    )
    (tmp_path / KEY_FILE).write_text("damaged")
    with pytest.raises(VigilError, match="is damaged; restore it from a backup"):
        signing_key(tmp_path)


def test_an_export_from_postgresql(pg_url: str, tmp_path: Path) -> None:
    """The same export with the index, events and audit log on PostgreSQL (--db)."""
    data = tmp_path / "data"
    data.mkdir()
    store = Store(pg_url)
    try:
        _record(data, Recordings(store), "gate", T0)
        out = tmp_path / "pg"
        args = ["export", "--camera", "gate", "--from", iso(T0 + 3), "--to", iso(T0 + 4),
                "--purpose", PURPOSE, "--out", str(out), "--data", str(data), "--db", pg_url,
                "--unblurred", "--reason", "court order 17/2026"]  # fmt: skip
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
        assert verify(out)[0] == 0
        with store.session() as s:
            row = s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).one()
        assert row.action == "exports.create" and row.details["cameras"] == ["gate"]
    finally:
        store.close()


def test_a_stream_with_b_frames_is_cut_at_keyframes_and_decodes_whole(tmp_path: Path) -> None:
    """The bundled person clip reorders frames (pts != dts): cut mid-segment and across
    segments, every packet copied still decodes, from the keyframe before 'from'."""
    from tests.conftest import PERSON_CLIP

    data = tmp_path / "data"
    data.mkdir()
    store = Store(f"sqlite:///{data / 'vigil.db'}")
    try:
        config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=10)
        Recorder("hall", str(PERSON_CLIP), data, Recordings(store), config,
                 clock=lambda: T0).run()  # fmt: skip
        out = tmp_path / "hall"
        args = ["export", "--camera", "hall", "--from", iso(T0 + 33.3), "--to", iso(T0 + 52.5),
                "--purpose", PURPOSE, "--out", str(out), "--data", str(data), "--unblurred",
                "--reason", "court order 17/2026"]  # fmt: skip
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
    finally:
        store.close()
    m = json.loads((out / MANIFEST).read_bytes())
    clip = m["clips"][0]
    assert len(clip["segments"]) == 3 and T0 + 30 <= clip["start_unix"] <= T0 + 33.3
    with av.open(str(out / "clips" / "hall.mp4")) as c:
        times = [f.time for f in c.decode(video=0)]
    assert len(times) == clip["frames"] and times[0] == 0.0
    assert times == sorted(times) and times[-1] >= 52.4 - (clip["start_unix"] - T0)


def test_a_segment_gone_or_altered_since_it_was_recorded_is_said(
    footage: Footage, tmp_path: Path
) -> None:
    """A segment file deleted is a gap with that reason; one whose bytes are not those the
    recorder hashed is exported and named in the warnings (and on the console)."""
    first, second, *_ = Recordings(footage.store).segments("lobby", T0, T0 + 9)
    (footage.data / second.path).unlink()
    path = footage.data / first.path
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01
    path.write_bytes(bytes(data))
    out = tmp_path / "damaged"
    code, said = export(footage, out, "--unblurred", "--reason", "court order 17/2026",
                        start=T0 + 0.5, end=T0 + 9.0)  # fmt: skip
    assert code == 0, said
    m = json.loads((out / MANIFEST).read_bytes())
    assert f"recorded segment {second.id}: file missing" in [g["reason"] for g in m["gaps"]]
    assert m["warnings"] == [
        f"lobby: recorded segment {first.id} ({first.path}): file differs from the hash the "
        "recorder indexed when it closed it",
        f"lobby: recorded segment {second.id} ({second.path}): file missing",
    ]
    assert "warning:" in said and "file missing" in said
    assert verify(out)[0] == 0  # the export itself is intact: it says what it holds


def test_blurring_reports_its_progress(footage: Footage, tmp_path: Path) -> None:
    from vigil.audit.log import AuditLog
    from vigil.recording.export import ExportRequest, create_export

    seen: list[tuple[int, int]] = []
    req = ExportRequest(("lobby",), T0 + 4.0, T0 + 4.3, PURPOSE, "cli:test", "test")
    result = create_export(footage.store, footage.data, req, tmp_path / "p",
                           AuditLog(footage.store, footage.data),
                           progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    frames = result.clips[0]["frames"]
    assert seen == [(n, frames) for n in range(1, frames + 1)] and frames >= 9


def test_the_subjects_face_is_followed_and_every_other_blurred(
    footage: Footage, tmp_path: Path
) -> None:
    """Named by a point on the face at one moment, the person on the right stays visible
    through the clip; the one on the left is blurred in every frame."""
    raw = tmp_path / "raw"
    unblurred(footage, raw, start=T0 + 2.1, end=T0 + 2.5)
    clip = json.loads((raw / MANIFEST).read_bytes())["clips"][0]
    at = T0 + 2.3
    with av.open(str(raw / "clips" / "lobby.mp4")) as c:
        frame = min(c.decode(video=0), key=lambda f: abs(clip["start_unix"] + f.time - at))
        image = frame.to_ndarray(format="bgr24")
    h, w = image.shape[:2]
    right = max(CenterFace().detect(image), key=lambda f: f.box[0]).box
    point = f"{(right[0] + right[2] / 2) / w:.3f},{(right[1] + right[3] / 2) / h:.3f}"
    out = tmp_path / "subject-face"
    code, said = export(footage, out, "--subject-face", f"{iso(at)},{point}",
                        start=T0 + 2.1, end=T0 + 2.5)  # fmt: skip
    assert code == 0, said
    # The subject's track, as the export follows it, on the unblurred frames.
    blur = FaceBlur(min_score=EXPORT_FACE_SCORE)
    with av.open(str(raw / "clips" / "lobby.mp4")) as c:
        decoded = [(f.time, blur.find(f.to_ndarray(format="bgr24"))) for f in c.decode(video=0)]
    who = SubjectFace(at - clip["start_unix"], *(float(v) for v in point.split(",")))
    track = follow([f for _, f in decoded], [t for t, _ in decoded], who, (w, h))
    assert sum(b is not None for b in track) >= 12
    detector = CenterFace()
    seen = 0
    with av.open(str(out / "clips" / "lobby.mp4")) as c:
        for n, frame in enumerate(c.decode(video=0)):
            for face in detector.detect(frame.to_ndarray(format="bgr24")):
                subject = track[n]
                assert subject is not None and iou(face.box, subject) >= 0.3, (n, face.box)
                seen += 1
    # The subject stays visible, though the detector loses them in some frames: in this dark
    # crowd a neighbour's face (pixelated, with its margin) touches theirs.
    assert seen >= 0.5 * sum(b is not None for b in track)
    red = json.loads((out / MANIFEST).read_bytes())["clips"][0]["redaction"]
    assert red["subject_face"]["frames_kept"] == sum(b is not None for b in track)
    # Named where no face is: every face blurred, and the export says so.
    nobody = tmp_path / "nobody"
    code, said = export(footage, nobody, "--subject-face", f"{iso(at)},0.02,0.02",
                        start=T0 + 2.1, end=T0 + 2.3)  # fmt: skip
    assert code == 0 and "no face was found under the subject's point" in said
    assert _faces(nobody / "clips" / "lobby.mp4", every=2)[1] == 0
    code, said = export(footage, tmp_path / "x", "--subject-face", f"{iso(T0 + 60)},0.5,0.5")
    assert code == 2 and "must be named at a time in the range" in said
