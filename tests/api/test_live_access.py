"""A live feed ends with the rights it was opened with: on a busy bus (an event every 50 ms),
a logout, a disabled account, a camera taken away or a new role take effect within a second,
through the API (the `access` hint) and without it (the clock)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import PASSWORD, Env, login
from vigil.api import liveaccess, ws
from vigil.api.deps import Principal
from vigil.domain import Role

BUSY_S = 0.05  # the bus carries an event of each camera every 50 ms
REVOKED_WITHIN_S = 1.0


@contextlib.contextmanager
def busy_bus(env: Env, cameras: tuple[str, ...] = ("lobby", "car-park")) -> Iterator[None]:
    bus = env.app.state.vigil.bus
    stop = threading.Event()

    def publish() -> None:
        for n in itertools.count(1):
            if stop.wait(BUSY_S):
                return
            for cam in cameras:
                bus.publish({"topic": "event", "camera": cam, "type": "line_cross", "id": n})

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def viewer(env: Env, name: str = "liz", cameras: list[str] | None = None) -> tuple[TestClient, int]:
    user_id = env.add_user(name, Role.VIEWER, cameras)
    client = TestClient(env.app)
    login(client, name, PASSWORD)
    return client, user_id


def admin(env: Env) -> TestClient:
    client = TestClient(env.app)
    login(client)
    return client


def receive_some(socket: Any, n: int) -> list[dict[str, Any]]:
    return [socket.receive_json() for _ in range(n)]


def until_closed(socket: Any, revoked_at: float) -> tuple[int, float, list[dict[str, Any]]]:
    """Read until the server closes the socket: (close code, seconds after the revocation,
    the messages that still came). Fails if it stays open well past the limit."""
    late: list[dict[str, Any]] = []
    while True:
        try:
            message = socket.receive_json()
        except WebSocketDisconnect as closed:
            return closed.code, time.monotonic() - revoked_at, late
        late.append(message)
        assert time.monotonic() - revoked_at < 5 * REVOKED_WITHIN_S, (
            f"the socket is still open and sending {len(late)} messages after the revocation"
        )


def test_logout_closes_the_feed_on_a_busy_bus(env: Env) -> None:
    liz, _id = viewer(env)
    with busy_bus(env), liz.websocket_connect("/api/ws") as socket:
        assert socket.receive_json()["topic"] == "hello"
        assert {m["topic"] for m in receive_some(socket, 6)} == {"event"}
        assert liz.post("/api/logout").status_code == 204
        code, took, _late = until_closed(socket, time.monotonic())
    assert code == ws.CLOSE_UNAUTHORIZED and took < REVOKED_WITHIN_S


def test_a_disabled_user_loses_the_feed_on_a_busy_bus(env: Env) -> None:
    liz, liz_id = viewer(env)
    boss = admin(env)
    with busy_bus(env), liz.websocket_connect("/api/ws") as socket:
        socket.receive_json()
        receive_some(socket, 6)
        r = boss.patch(f"/api/users/{liz_id}", json={"disabled": True})
        assert r.status_code == 200, r.text
        code, took, _late = until_closed(socket, time.monotonic())
    assert code == ws.CLOSE_UNAUTHORIZED and took < REVOKED_WITHIN_S


def test_a_camera_taken_away_stops_its_messages_on_a_busy_bus(env: Env) -> None:
    liz, liz_id = viewer(env, cameras=["lobby", "car-park"])
    boss = admin(env)
    with busy_bus(env):
        with liz.websocket_connect("/api/ws") as socket:
            socket.receive_json()
            seen = {m["camera"] for m in receive_some(socket, 10)}
            assert seen == {"lobby", "car-park"}
            r = boss.patch(f"/api/users/{liz_id}", json={"cameras": ["car-park"]})
            assert r.status_code == 200, r.text
            code, took, late = until_closed(socket, time.monotonic())
        assert code == ws.CLOSE_ACCESS_CHANGED and took < REVOKED_WITHIN_S
        # The page reloads and reconnects: only what the user may see now.
        with liz.websocket_connect("/api/ws") as socket:
            hello = socket.receive_json()
            assert hello["topic"] == "hello" and hello["user"]["cameras"] == ["car-park"]
            assert {m["camera"] for m in receive_some(socket, 10)} == {"car-park"}


def test_a_new_role_without_the_live_feed_ends_it(env: Env) -> None:
    liz, liz_id = viewer(env)
    boss = admin(env)
    with busy_bus(env):
        with liz.websocket_connect("/api/ws") as socket:
            socket.receive_json()
            receive_some(socket, 4)
            assert boss.patch(f"/api/users/{liz_id}", json={"role": "auditor"}).status_code == 200
            code, took, _late = until_closed(socket, time.monotonic())
        assert code == ws.CLOSE_ACCESS_CHANGED and took < REVOKED_WITHIN_S
        with liz.websocket_connect("/api/ws") as socket, pytest.raises(WebSocketDisconnect) as no:
            socket.receive_json()
        assert no.value.code == ws.CLOSE_FORBIDDEN


def test_a_change_made_behind_the_apis_back_is_seen_by_the_clock(env: Env) -> None:
    """No `access` hint (the database changed directly): the periodic re-read catches it."""
    liz, liz_id = viewer(env)
    with busy_bus(env), liz.websocket_connect("/api/ws") as socket:
        socket.receive_json()
        receive_some(socket, 6)
        env.users.update(liz_id, disabled=True)  # straight to the store: nothing on the bus
        code, took, _late = until_closed(socket, time.monotonic())
    assert code == ws.CLOSE_UNAUTHORIZED
    assert took < liveaccess.RECHECK_S + REVOKED_WITHIN_S


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_session_is_read_again_when_due_whatever_the_traffic(env: Env) -> None:
    asyncio.run(_read_again_when_due(env))


async def _read_again_when_due(env: Env) -> None:
    state = env.app.state.vigil
    _liz, liz_id = viewer(env)
    session = state.users.open_session(state.users.get(liz_id), timedelta(hours=1))
    clock = Clock()
    access = liveaccess.LiveAccess(
        state, Principal.from_session(session), clock=clock, recheck_s=0.5
    )
    reads = 0
    real = state.users.session

    def counting(token: str) -> Any:
        nonlocal reads
        reads += 1
        return real(token)

    state.users.session = counting
    try:
        for _ in range(50):  # a burst of messages within one instant: one read at most
            assert await access.check() is liveaccess.Verdict.SAME
        assert reads == 0
        clock.now += 0.5
        assert await access.check() is liveaccess.Verdict.SAME and reads == 1
        state.users.close_session(session.token)
        clock.now += 0.2
        assert await access.check() is liveaccess.Verdict.SAME and reads == 1  # not due yet
        clock.now += 0.3
        assert await access.check() is liveaccess.Verdict.ENDED and reads == 2
        assert await access.check(now=True) is liveaccess.Verdict.ENDED and reads == 3
    finally:
        state.users.session = real
