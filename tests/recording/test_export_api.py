"""Evidence export over HTTP: POST /api/exports, the zip, GET /api/keys; the rights to an
unblurred export. Footage of the lobby recorded by the real recorder over the stored events
of tests/api's app (a snapshot-bearing zone_enter at T0 + 11)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import T0, TEST_PURPOSE, Env, as_user, client, env  # noqa: F401
from tests.recording.test_export import HAMILTON
from vigil.config.camera import RecordingConfig
from vigil.domain import RecordingMode, Role
from vigil.recording.index import Recordings
from vigil.recording.keys import public_key
from vigil.recording.recorder import Recorder
from vigil.recording.verify import verify_export
from vigil.store.tables import AuditRow

START = T0 + 10.5  # the lobby's recording begins here; keyframes at +0, +2.0, +4.0 s ...
REASON = "court order 17/2026"


def _record(app_env: Env) -> None:
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=4)
    rec = Recordings(app_env.store)
    Recorder("lobby", str(HAMILTON), app_env.data_dir, rec, config, clock=lambda: START).run()


def _last(app_env: Env, action: str) -> AuditRow:
    with app_env.store.session() as s:
        return (
            s.scalars(
                select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id.desc())
            ).first()
            or AuditRow()
        )


def _body(**kw: Any) -> dict[str, Any]:
    return {"cameras": ["lobby"], "start": START + 2.0, "end": START + 2.3, **kw}


def _unzip(data: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        zf.extractall(into)
    return into / names[0].split("/")[0]


def test_the_key_is_public(client: TestClient, env: Env) -> None:  # noqa: F811
    r = client.get("/api/keys")
    assert r.status_code == 200
    [key] = r.json()["keys"]
    mine = public_key(env.data_dir)
    assert key == {"algorithm": "Ed25519", "fingerprint": mine.fingerprint,
                   "public_key": mine.pem}  # fmt: skip


def test_an_operator_exports_with_faces_blurred_and_downloads_it(
    env: Env,  # noqa: F811
    tmp_path: Path,
) -> None:
    _record(env)
    olga = as_user(env, "olga", Role.OPERATOR)
    r = olga.post("/api/exports", json=_body(start=T0 + 10.9, end=T0 + 11.2))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["redacted"] is True and out["download_url"] == f"/api/exports/{out['id']}.zip"
    assert [c["camera"] for c in out["clips"]] == ["lobby"] and out["gaps"] == []
    row = _last(env, "exports.create")
    assert (row.actor, row.purpose, row.object_id) == ("olga", TEST_PURPOSE, out["id"])
    assert row.details["manifest_sha256"] == out["manifest_sha256"]
    assert row.details["outcome"] == "ok" and row.details["redacted"] is True
    # Downloading needs a purpose, and is on the record too.
    assert olga.get(out["download_url"], params={"purpose": ""}).status_code == 422
    z = olga.get(out["download_url"])
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    folder = _unzip(z.content, tmp_path / "got")
    fingerprint = olga.get("/api/keys").json()["keys"][0]["fingerprint"]
    verdict = verify_export(folder, trusted_fingerprint=fingerprint)
    assert verdict.ok, verdict.problems
    assert (folder / "snapshots" / "event-1.jpg").is_file()  # the zone_enter at T0 + 11
    dl = _last(env, "exports.download")
    assert (dl.actor, dl.object_id, dl.details["outcome"]) == ("olga", out["id"], "ok")


def test_a_range_across_a_gap_is_exported_with_the_gap_said(env: Env) -> None:  # noqa: F811
    _record(env)
    later = START + 60  # the recorder ran again a minute later: no footage between
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=4)
    Recorder(
        "lobby", str(HAMILTON), env.data_dir, Recordings(env.store), config, clock=lambda: later
    ).run()
    sam = as_user(env, "sam", Role.SUPERVISOR)  # unblurred: no minute of blurring in a test
    body = _body(start=START + 2.0, end=later + 0.5, unblurred=True, reason=REASON)
    r = sam.post("/api/exports", json=body)
    assert r.status_code == 201, r.text
    [gap] = r.json()["gaps"]
    assert gap["camera"] == "lobby" and START + 2 < gap["start_unix"] < later
    assert gap["seconds"] > 30 and gap["reason"]


def test_unblurred_needs_a_supervisor_and_a_reason(env: Env) -> None:  # noqa: F811
    _record(env)
    olga = as_user(env, "olga", Role.OPERATOR)
    r = olga.post("/api/exports", json=_body(unblurred=True, reason=REASON))
    assert r.status_code == 403 and "needs the supervisor role" in r.json()["detail"]
    assert _last(env, "exports.create").details["outcome"] == "403"
    sam = as_user(env, "sam", Role.SUPERVISOR)
    r = sam.post("/api/exports", json=_body(unblurred=True))
    assert r.status_code == 422 and "needs a reason" in r.json()["detail"]
    r = sam.post("/api/exports", json=_body(unblurred=True, reason=REASON))
    assert r.status_code == 201 and r.json()["redacted"] is False
    assert _last(env, "exports.create").details["reason"] == REASON
    url = r.json()["download_url"]
    assert olga.get(url).status_code == 403  # an operator cannot fetch faces unblurred
    assert sam.get(url).status_code == 200


def test_what_cannot_be_exported_is_said(env: Env) -> None:  # noqa: F811
    _record(env)
    olga = as_user(env, "olga", Role.OPERATOR)
    cases = [
        (_body(cameras=["car-park"]), 404, "camera 'car-park' has no footage between"),
        (_body(start=START + 5, end=START + 5), 422, "the range is empty"),
        (_body(start=START + 200, end=START + 300), 404, "has no footage"),
        (_body(end=START + 90_000), 422, "at most 24 hours"),
        (_body(start="yesterday"), 422, "field 'start'"),
        (_body(cameras=[]), 422, "field 'cameras'"),
    ]
    for body, status, message in cases:
        r = olga.post("/api/exports", json=body)
        assert r.status_code == status and message in r.json()["detail"], (body, r.text)
    lena = as_user(env, "lena", Role.OPERATOR, cameras=["car-park"])
    r = lena.post("/api/exports", json=_body())
    assert r.status_code == 404 and r.json()["detail"] == "no camera 'lobby'"
    vic = as_user(env, "vic", Role.VIEWER)
    assert vic.post("/api/exports", json=_body()).status_code == 403
    assert olga.get("/api/exports/20260101T000000Z-00000000.zip").status_code == 404
    exports = env.data_dir / "exports"
    assert not exports.exists() or not any(exports.iterdir())  # nothing half made is left


def test_the_manifest_holds_the_playback_of_this_footage(env: Env, tmp_path: Path) -> None:  # noqa: F811
    """Who looked at this footage before it was exported: the timeline searched and the
    segments played (with their purposes) are in the manifest, with their hashes."""
    _record(env)
    sam = as_user(env, "sam", Role.SUPERVISOR)
    span = {"from": START, "to": START + 9, "purpose": "incident 7 review"}
    timeline = sam.get("/api/cameras/lobby/recordings", params=span)
    assert timeline.status_code == 200, timeline.text
    first = timeline.json()["segments"][0]
    assert sam.get(first["url"]).status_code == 200
    elsewhere = {"from": START + 3600, "to": START + 3700, "purpose": "another case"}
    assert sam.get("/api/cameras/lobby/recordings", params=elsewhere).status_code == 200
    r = sam.post("/api/exports", json=_body(unblurred=True, reason=REASON))
    assert r.status_code == 201, r.text
    manifest = json.loads(
        (env.data_dir / "exports" / r.json()["id"] / "manifest.json").read_bytes()
    )
    rows = manifest["audit"]["rows"]
    assert [(x["action"], x["purpose"]) for x in rows] == [
        ("recordings.search", "incident 7 review"),
        ("recordings.play", "incident 7 review"),
    ]
    with env.store.session() as s:
        stored = {a.id: a.hash for a in s.scalars(select(AuditRow))}
    assert all(stored[x["id"]] == x["hash"] for x in rows)
    assert manifest["audit"]["head"]["id"] == max(stored) - 1  # the export's own row follows
