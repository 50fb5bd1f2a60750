"""The two-person rule: a face-match alert is a candidate until two different people confirm
it, each with a reason; the same person twice is refused (also when sent at once, many times);
one dismissal ends it and deletes its picture; other alerts still take one review."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import T0, Env, _jpeg, as_user
from vigil.domain import Alert, Box, Event, EventType, Role
from vigil.store.alerts import Alerts
from vigil.store.tables import AuditRow, EventRow


def _match(env: Env, name: str = "m1") -> tuple[int, Path]:
    shot = f"snapshots/lobby/{name}.jpg"
    path = Path(_jpeg(env.data_dir / shot))
    found = {"watchlist": "stadium", "entry": "A. Person", "distance": 0.41}
    ev = Event(
        EventType.FACE_MATCH, "lobby", 5.0, 3, "person", Box(1, 2, 3, 4), 0.8, attributes=found
    )
    (row,) = env.store.save_results("lobby", T0, [], [ev], [shot])
    alert = Alerts(env.store).create(
        Alert("watchlist:stadium", "lobby", EventType.FACE_MATCH, T0 + 5, "person", row.id, shot)
    )
    return alert.id, path


def _review(c: TestClient, alert_id: int, action: str, reason: str | None = "same scar, same face"):
    body = {"action": action, **({"reason": reason} if reason is not None else {})}
    return c.post(f"/api/alerts/{alert_id}/review", json=body)


def test_two_different_people_confirm_a_face_match(env: Env) -> None:
    alert_id, _ = _match(env)
    ann, bob = as_user(env, "ann", Role.OPERATOR), as_user(env, "bob", Role.OPERATOR)
    r = _review(ann, alert_id, "acknowledge", None)
    assert r.status_code == 422 and "reason for each decision" in r.json()["detail"]
    r = _review(ann, alert_id, "acknowledge")
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["status"] == "candidate" and first["reviewers_needed"] == 2
    assert [(v["reviewer"], v["action"]) for v in first["reviews"]] == [("ann", "acknowledged")]
    r = _review(ann, alert_id, "acknowledge", "I am sure")
    assert r.status_code == 409 and "a second person must confirm" in r.json()["detail"]
    r = _review(bob, alert_id, "acknowledge", "compared with the enrolment photo")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert r.json()["reviewed_by"] == "bob" and len(r.json()["reviews"]) == 2
    assert _review(ann, alert_id, "dismiss", "changed my mind").status_code == 409
    listed = ann.get("/api/alerts", params={"rule": "watchlist:stadium"}).json()["items"]
    assert [v["reviewer"] for v in listed[0]["reviews"]] == ["ann", "bob"]
    with env.store.session() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.action == "alerts.review")).all()
    assert [(a.actor, a.details["outcome"]) for a in rows] == [
        ("ann", "422"), ("ann", "ok"), ("ann", "409"), ("bob", "ok"), ("ann", "409"),
    ]  # fmt: skip


def test_the_same_person_many_times_at_once_counts_once(env: Env) -> None:
    alert_id, _ = _match(env)
    ann = as_user(env, "ann", Role.OPERATOR)
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(lambda _: _review(ann, alert_id, "acknowledge").status_code, range(8))
        )
    assert sorted(codes) == [200] + [409] * 7
    assert ann.get(f"/api/alerts/{alert_id}").json()["status"] == "candidate"


def test_two_people_at_once_confirm_it_once(env: Env) -> None:
    for n in range(3):
        alert_id, _ = _match(env, f"m{n}")
        people = [as_user(env, f"op{n}{i}", Role.OPERATOR) for i in range(2)]
        with ThreadPoolExecutor(2) as pool:
            codes = list(
                pool.map(lambda c, a=alert_id: _review(c, a, "acknowledge").status_code, people)
            )
        assert codes == [200, 200]
        got = people[0].get(f"/api/alerts/{alert_id}").json()
        assert got["status"] == "acknowledged" and len(got["reviews"]) == 2


def test_a_dismissed_match_keeps_the_decision_and_loses_the_picture(env: Env) -> None:
    alert_id, path = _match(env)
    ann = as_user(env, "ann", Role.OPERATOR)
    assert ann.get(f"/api/alerts/{alert_id}/snapshot.jpg").status_code == 200
    r = _review(ann, alert_id, "dismiss", "not the same person: different ears")
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert r.json()["snapshot_url"] is None and not path.exists()
    assert ann.get(f"/api/alerts/{alert_id}/snapshot.jpg").status_code == 404
    with env.store.session() as s:
        event = s.get(EventRow, r.json()["event_id"])
        assert event is not None and event.snapshot is None


def test_other_alerts_still_take_one_review(env: Env) -> None:
    ann = as_user(env, "ann", Role.OPERATOR)
    alert_id = env.ids["alerts"]["lobby"]
    r = _review(ann, alert_id, "acknowledge", None)
    assert r.json()["status"] == "acknowledged" and r.json()["reviewers_needed"] == 1
