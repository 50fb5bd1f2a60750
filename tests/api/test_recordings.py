"""Playback through the API: a camera's timeline (segments, the gap with its reason, events),
a segment's video with HTTP range requests (a cut or open segment plays what it holds), who
may see which camera's footage, evidence locks, and every playback on the audit record."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import av
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import T0, Env, as_user, login
from tests.conftest import CAR_CLIP, PERSON_CLIP
from tests.recording.segments import Made, record
from tests.sources.conftest import RtspServer, rtsp_server, rtsp_tools, wait_until  # noqa: F401
from vigil.config.camera import RecordingConfig
from vigil.domain import RecordingMode, Role, SegmentState
from vigil.recording.index import Recordings
from vigil.recording.recorder import Recorder
from vigil.store.tables import AuditRow

PURPOSE = "case 2026/0099"


@dataclass
class Footage:
    a: Made
    b: Made
    park: Made
    gap: int


@pytest.fixture
def footage(env: Env) -> Footage:
    index = Recordings(env.store)
    a = record(env.data_dir, index, "lobby", PERSON_CLIP, T0, 6.0)
    gap = index.open_gap("lobby", T0 + a.duration, "camera stopped sending")
    index.close_gap(gap, T0 + 15)
    b = record(env.data_dir, index, "lobby", PERSON_CLIP, T0 + 15, 6.0, skip_s=20)
    park = record(env.data_dir, index, "car-park", CAR_CLIP, T0, 5.0)
    return Footage(a, b, park, gap)


@pytest.fixture
def admin(client: TestClient) -> Iterator[TestClient]:
    login(client)
    yield client


def _timeline(c: TestClient, camera: str = "lobby", span: dict[str, float] | None = None) -> Any:
    q = {"from": T0 - 5, "to": T0 + 60, "purpose": PURPOSE, **(span or {})}
    return c.get(f"/api/cameras/{camera}/recordings", params=q)


def _audit(env: Env, action: str) -> list[AuditRow]:
    with env.store.session() as s:
        q = select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id)
        return list(s.scalars(q))


def test_the_timeline_shows_segments_the_gap_and_events(
    env: Env, admin: TestClient, footage: Footage
) -> None:
    r = _timeline(admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["id"] for s in body["segments"]] == [footage.a.segment.id, footage.b.segment.id]
    first = body["segments"][0]
    assert first["start"] == T0 and first["state"] == "closed" and first["frames"] > 0
    assert first["end"] == pytest.approx(T0 + footage.a.duration)
    assert body["gaps"] == [
        {"start": pytest.approx(T0 + footage.a.duration), "end": T0 + 15,
         "reason": "camera stopped sending"}
    ]  # fmt: skip
    times = sorted(e["time"] for e in body["events"])
    assert times == [T0 + 11, T0 + 12, T0 + 20]  # the lobby's events; none of the car park
    assert [a["time"] for a in body["alerts"]] == [T0 + 11]
    assert body["truncated"] is False and body["locks"] == []
    (search,) = _audit(env, "recordings.search")
    assert search.purpose == PURPOSE and search.object_id == "lobby"
    assert search.details["segments"] == 2
    assert f"search={search.details['search']}" in first["url"] and "purpose=" in first["url"]


def test_the_timeline_refuses_what_it_should(env: Env, admin: TestClient, footage: Footage) -> None:
    bare = TestClient(env.app)
    login(bare)
    bare.event_hooks["request"] = []  # no purpose stated
    r = bare.get("/api/cameras/lobby/recordings")
    assert r.status_code == 422 and "purpose" in r.json()["detail"]
    r = _timeline(admin, span={"from": T0 + 10, "to": T0})
    assert r.status_code == 422 and "swap them" in r.json()["detail"]
    r = _timeline(admin, span={"from": T0, "to": T0 + 2 * 86400})
    assert r.status_code == 422 and "at most 24 hours" in r.json()["detail"]
    assert _timeline(admin, "nowhere").status_code == 404
    park_only = as_user(env, "vic", Role.VIEWER, ["car-park"])
    assert _timeline(park_only, "lobby").status_code == 404  # no hint that it exists
    assert _timeline(park_only, "car-park").status_code == 200
    lobby_seg = footage.a.segment.id
    assert park_only.get(f"/api/recordings/{lobby_seg}.mp4").status_code == 404
    auditor = as_user(env, "audrey", Role.AUDITOR)
    assert _timeline(auditor).status_code == 403
    refused = [r.details["outcome"] for r in _audit(env, "recordings.search")]
    assert refused.count("422") == 3 and refused.count("404") == 2 and "403" in refused


def _frames(data: bytes) -> int:
    with av.open(BytesIO(data), "r") as c:
        return len(list(c.decode(video=0)))


def test_a_segment_plays_whole_and_in_ranges(env: Env, admin: TestClient, footage: Footage) -> None:
    url = _timeline(admin).json()["segments"][0]["url"]
    body = footage.a.path.read_bytes()
    whole = admin.get(url)
    assert whole.status_code == 200 and whole.content == body
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert _frames(whole.content) == footage.a.frames
    part = admin.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == body[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(body)}"
    assert part.headers["content-length"] == "1000"
    tail = admin.get(url, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == body[-500:]
    rest = admin.get(url, headers={"Range": f"bytes={len(body) - 10}-"})
    assert rest.content == body[-10:]
    beyond = admin.get(url, headers={"Range": f"bytes={len(body)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(body)}"
    assert "lies outside" in beyond.json()["detail"]
    stale = admin.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == body  # changed since: all of it
    plays = _audit(env, "recordings.play")
    assert len(plays) == 6 and {p.purpose for p in plays} == {PURPOSE}
    search = _audit(env, "recordings.search")[0].details["search"]
    assert {p.details["in_search"] for p in plays} == {search}
    assert plays[1].details["bytes"] == [100, 1099] and plays[4].details["outcome"] == "416"


def test_an_open_or_cut_segment_plays_what_it_holds(
    env: Env, admin: TestClient, footage: Footage
) -> None:
    index = Recordings(env.store)
    made = record(env.data_dir, index, "lobby", PERSON_CLIP, T0 + 30, 8.0, state=SegmentState.OPEN)
    body = made.path.read_bytes()
    made.path.write_bytes(body[: len(body) * 2 // 3])  # the last fragment half written
    url = f"/api/recordings/{made.segment.id}.mp4"
    r = admin.get(url)
    assert r.status_code == 200 and 0 < len(r.content) < len(body) * 2 // 3
    assert body.startswith(r.content)
    held = _frames(r.content)
    assert 0 < held < made.frames  # whole fragments only, every one of them decodes
    index.close_segment(made.segment.id, T0 + 36, held, len(r.content), "0" * 64, SegmentState.CUT)
    again = admin.get(url, headers={"Range": "bytes=0-"})
    assert again.status_code == 206 and again.content == r.content
    made.path.write_bytes(body[:20])  # not even the header yet
    assert "just begun" in admin.get(url).json()["detail"]
    made.path.unlink()
    gone = admin.get(url)
    assert gone.status_code == 404 and "deleted" in gone.json()["detail"]
    assert admin.get("/api/recordings/999999.mp4").status_code == 404


def _lock(c: TestClient, **body: Any) -> Any:
    return c.post("/api/recordings/locks", json=body)


def test_locks_through_the_api(env: Env, admin: TestClient, footage: Footage) -> None:
    alert = env.ids["alerts"]["lobby"]
    olga = as_user(env, "olga", Role.OPERATOR)
    r = _lock(olga, alert_id=alert, reason="case 2026/5")
    assert r.status_code == 201, r.text
    lock = r.json()
    assert (lock["camera"], lock["alert_id"], lock["locked_by"]) == ("lobby", alert, "olga")
    assert (lock["start"], lock["end"]) == (T0 + 11 - 30, T0 + 11 + 60)
    own = _lock(olga, camera="lobby", start=T0, end=T0 + 5, reason="my own")
    assert own.status_code == 403 and "supervisor" in own.json()["detail"]
    assert _lock(olga, alert_id=alert, reason="x").status_code == 422
    half = _lock(olga, alert_id=alert, start=T0, reason="case 5")
    assert half.status_code == 422 and "both 'start' and 'end'" in half.json()["detail"]
    wrong = _lock(olga, alert_id=alert, camera="car-park", reason="case 5")
    assert wrong.status_code == 422 and "leave out 'camera'" in wrong.json()["detail"]
    assert _lock(olga, incident_id=4242, camera="lobby", start=T0, end=T0 + 1,
                 reason="case 5").status_code == 404  # fmt: skip
    sue = as_user(env, "sue", Role.SUPERVISOR)
    mine = _lock(sue, camera="lobby", start=T0 + 15, end=T0 + 20, reason="a supervisor's own")
    assert mine.status_code == 201, mine.text
    shown = _timeline(admin).json()["locks"]
    assert {x["id"] for x in shown} == {lock["id"], mine.json()["id"]}
    unlock = f"/api/recordings/locks/{lock['id']}/unlock"
    assert olga.post(unlock, json={"reason": "done"}).status_code == 403
    assert sue.post(unlock, json={}).status_code == 422
    done = sue.post(unlock, json={"reason": "the court released it"})
    assert done.status_code == 200 and done.json()["active"] is False
    again = sue.post(unlock, json={"reason": "twice"})
    assert again.status_code == 409 and "already unlocked by sue" in again.json()["detail"]
    listed = olga.get("/api/recordings/locks", params={"active": "true"}).json()
    assert [x["id"] for x in listed] == [mine.json()["id"]]
    park_only = as_user(env, "pam", Role.SUPERVISOR, ["car-park"])
    assert park_only.get("/api/recordings/locks").json() == []
    assert park_only.post(unlock, json={"reason": "not mine"}).status_code == 404
    rows = {r.action: r for r in _audit(env, "recordings.lock") + _audit(env, "recordings.unlock")
            if r.details["outcome"] in ("ok",)}  # fmt: skip
    assert rows["recordings.unlock"].details["reason"] == "the court released it"
    assert rows["recordings.lock"].object_id == mine.json()["id"].__str__()


def test_two_supervisors_unlocking_at_once_one_wins_the_other_gets_409(env: Env) -> None:
    sue = as_user(env, "sue", Role.SUPERVISOR)
    sid = as_user(env, "sid", Role.SUPERVISOR)
    for _ in range(3):
        lock = _lock(sue, camera="lobby", start=T0, end=T0 + 10, reason="case 2026/8").json()
        start = threading.Barrier(2)

        def unlock(who: TestClient, lock_id: int = lock["id"], start: Any = start) -> Any:
            # No `with`: a TestClient's context runs the app's lifespan, whose end closes the
            # audit log under the other thread's request.
            c = TestClient(env.app)
            c.cookies, c.headers = who.cookies, who.headers
            c.event_hooks = who.event_hooks
            start.wait()
            return c.post(f"/api/recordings/locks/{lock_id}/unlock", json={"reason": "released"})

        with ThreadPoolExecutor(2) as pool:
            answers = sorted(pool.map(unlock, [sue, sid]), key=lambda r: r.status_code)
        assert [r.status_code for r in answers] == [200, 409], [r.text for r in answers]
        winner = answers[0].json()["unlocked_by"]
        assert f"already unlocked by {winner}" in answers[1].json()["detail"]
    outcomes = sorted(r.details["outcome"] for r in _audit(env, "recordings.unlock"))
    assert outcomes == ["409"] * 3 + ["ok"] * 3  # both sides of every race on the record


def test_the_playback_page_offers_what_the_role_may_do(env: Env) -> None:
    anonymous = TestClient(env.app)
    r = anonymous.get("/playback?camera=lobby&t=2026-01-01T00:00:00Z", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/playback")
    pages = {
        role: as_user(env, f"u-{role}", role).get("/playback", follow_redirects=False)
        for role in (Role.VIEWER, Role.OPERATOR, Role.SUPERVISOR, Role.AUDITOR)
    }
    assert pages[Role.AUDITOR].status_code == 303  # no video for an auditor
    assert pages[Role.AUDITOR].headers["location"] == "/audit"
    viewer, operator, supervisor = (pages[r].text for r in (Role.VIEWER, Role.OPERATOR,
                                                              Role.SUPERVISOR))  # fmt: skip
    for page in (viewer, operator, supervisor):
        assert "/static/js/playback.js" in page and 'name="purpose"' in page
        assert 'id="video"' in page and 'id="timeline"' in page
    assert 'id="lock-open"' not in viewer and 'id="export-open"' not in viewer
    assert 'id="lock-open"' in operator and 'id="export-open"' in operator
    assert 'id="export-unblurred"' not in operator and 'id="export-unblurred"' in supervisor


def test_rtsp_recorded_across_a_restart_plays_back_with_the_gap_reported(
    env: Env,
    admin: TestClient,
    rtsp_server: RtspServer,  # noqa: F811
) -> None:
    """The issue's acceptance: the RTSP test camera recorded, the stream restarted mid-way,
    and a time range spanning the gap played back through the API: the gap is in the
    timeline with its reason, and every segment on both sides plays whole."""
    index = Recordings(env.store)
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=2)
    recorder = Recorder(
        "lobby", rtsp_server.url, env.data_dir, index, config, backoff_initial=0.2,
        backoff_max=0.5, read_timeout=2.0, connect_timeout=2.0,
    )  # fmt: skip
    recorder.start()
    try:
        wait_until(lambda: recorder.stats.segments >= 1, 30, "a first closed segment")
        rtsp_server.kill()
        wait_until(lambda: recorder.stats.gaps == 1, 30, "the recorder to see the drop")
        before = recorder.stats.frames
        rtsp_server.start()
        wait_until(lambda: recorder.stats.frames > before + 40, 30, "frames after the restart")
    finally:
        recorder.stop()
    now = time.time()
    r = admin.get(
        "/api/cameras/lobby/recordings",
        params={"from": now - 600, "to": now + 5, "purpose": PURPOSE},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    [gap] = body["gaps"]
    assert gap["reason"] and gap["end"] is not None
    before_gap = [s for s in body["segments"] if s["start"] < gap["start"]]
    after_gap = [s for s in body["segments"] if s["start"] >= gap["end"] - 1e-3]
    assert before_gap and after_gap, body["segments"]
    assert before_gap[-1]["end"] <= gap["start"] + 0.5
    for seg in body["segments"]:
        video = admin.get(seg["url"])
        assert video.status_code == 200, video.text
        assert _frames(video.content) == seg["frames"] > 0, seg
