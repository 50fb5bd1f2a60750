"""Watchlists over the API: managers who see every camera create them and enrol people from
photos (a photo without a usable face refuses the enrolment, nothing stored); who is on a
list is read with a purpose; reviewers of a match see the enrolled picture; all audited."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import T0, Env, as_user, login
from vigil.domain import Alert, EventType, Role
from vigil.store.alerts import Alerts
from vigil.store.tables import AuditRow, FaceTemplateRow
from vigil.vision.faces import MATCH_THRESHOLD

PHOTO = (
    Path(__file__).resolve().parent.parent / "fixtures" / "video" / "lin_manuel_miranda_enrol.jpg"
)
NOW = datetime.now(UTC)


def _create(c: TestClient, **kw: object):  # type: ignore[no-untyped-def]
    body = {
        "name": "derby", "purpose": "banned fans", "legal_basis": "sports act art. 31",
        "authorised_by": "Chief M. Horvat", "valid_from": NOW.isoformat(),
        "valid_until": (NOW + timedelta(days=1)).isoformat(), "cameras": ["lobby"], **kw,
    }  # fmt: skip
    return c.post("/api/watchlists", json=body)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_create_enrol_read_and_compare(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    r = _create(
        admin, geofence={"centre": [45.8, 15.9], "radius_m": 500}, window=["14:00", "23:00"]
    )
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    assert r.json()["threshold"] == MATCH_THRESHOLD and r.json()["window"] == ["14:00", "23:00"]
    blank = cv2.imencode(".jpg", np.full((120, 120, 3), 90, np.uint8))[1].tobytes()
    person = {"name": "L. M. Miranda", "source": "press photo", "reference": "case 9"}
    r = admin.post(
        f"/api/watchlists/{wid}/entries",
        json={**person, "images": [_b64(PHOTO.read_bytes()), _b64(blank)]},
    )
    assert r.status_code == 422 and "image 2: no face found" in r.json()["detail"]
    r = admin.post(f"/api/watchlists/{wid}/entries", json={**person, "images": ["not base64!"]})
    assert r.status_code == 422 and "not base64" in r.json()["detail"]
    with env.store.session() as s:
        assert s.scalars(select(FaceTemplateRow)).first() is None  # nothing stored
    r = admin.post(
        f"/api/watchlists/{wid}/entries", json={**person, "images": [_b64(PHOTO.read_bytes())]}
    )
    assert r.status_code == 201, r.text
    entry = r.json()["id"]
    bare = TestClient(env.app)
    login(bare)
    bare.event_hooks["request"] = []  # no purpose added
    assert bare.get(f"/api/watchlists/{wid}/entries").status_code in (400, 422)
    r = admin.get(f"/api/watchlists/{wid}/entries", params={"purpose": "review of the list"})
    assert r.json() == [{"id": entry, "name": "L. M. Miranda", "reference": "case 9", "photos": 1}]
    alert = Alerts(env.store).create(
        Alert(
            "watchlist:derby",
            "lobby",
            EventType.FACE_MATCH,
            T0,
            "person",
            attributes={"entry_id": entry, "watchlist": "derby"},
        )  # fmt: skip
    )
    operator = as_user(env, "olga", Role.OPERATOR)
    r = operator.get(f"/api/alerts/{alert.id}/enrolled.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR).shape == (112, 112, 3)
    other = env.ids["alerts"]["lobby"]
    assert operator.get(f"/api/alerts/{other}/enrolled.jpg").status_code == 404
    assert (
        as_user(env, "cp", Role.VIEWER, ["car-park"])
        .get(f"/api/alerts/{alert.id}/enrolled.jpg")
        .status_code
        == 404
    )
    assert admin.delete(f"/api/watchlists/{wid}/entries/{entry}").status_code == 204
    assert operator.get(f"/api/alerts/{alert.id}/enrolled.jpg").status_code == 404
    assert admin.delete(f"/api/watchlists/{wid}").status_code == 204
    with env.store.session() as s:
        actions = [
            a.action
            for a in s.scalars(select(AuditRow).where(AuditRow.action.like("watchlists.%")))
        ]
    assert actions == [
        "watchlists.create", "watchlists.enrol", "watchlists.enrol", "watchlists.enrol",
        "watchlists.read", "watchlists.read", "watchlists.remove", "watchlists.delete",
    ]  # fmt: skip


def test_who_may_manage_watchlists_and_what_a_list_must_say(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    assert _create(as_user(env, "olga", Role.OPERATOR)).status_code == 403
    r = _create(as_user(env, "lim", Role.SUPERVISOR, ["lobby"]))
    assert r.status_code == 403 and "every camera" in r.json()["detail"]
    r = _create(admin, cameras=None)
    assert r.status_code == 422 and "say where the watchlist applies" in r.json()["detail"]
    r = _create(admin, cameras=["nowhere"])
    assert r.status_code == 404
    r = _create(admin, valid_until=(NOW - timedelta(days=1)).isoformat())
    assert r.status_code == 422
    assert admin.get("/api/watchlists").json() == []
    assert as_user(env, "sue", Role.SUPERVISOR).get("/api/watchlists").status_code == 200
    assert as_user(env, "aud", Role.AUDITOR).get("/api/watchlists").status_code == 403
