"""The live push: a WebSocket that forwards bus messages (events, alerts, camera health)
of the cameras the user may see, as JSON text frames.

The first message is `{"topic": "hello", "user": ..., "cameras": [health...]}`; then every
message has the shape of the REST resource plus its `topic`. `{"topic": "dropped", "count": n}`
says n messages were lost because this client read too slowly (reload what you show).
Without a valid session the socket is accepted and closed at once with code 4401; an auditor's
(no camera, event or alert for that role) with 4403.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, WebSocket
from fastapi.concurrency import run_in_threadpool

from vigil.api.auditing import record
from vigil.api.deps import COOKIE, Principal, session_from_cookie, state_of
from vigil.store.records import user_record

router = APIRouter(tags=["live"])
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_LATER = 1013
RECHECK_S = 10.0  # how often an open socket checks that its session still exists
QUEUE = 512


def _visible(user: Principal, message: dict[str, Any]) -> bool:
    camera = message.get("camera")
    return camera is None or user.sees(str(camera))


@router.websocket("/api/ws")
async def live(websocket: WebSocket) -> None:
    state = state_of(websocket.app)
    origin = websocket.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != websocket.headers.get("host", ""):
        await websocket.accept()
        await websocket.close(CLOSE_FORBIDDEN, "cross-site WebSocket refused")
        return
    cookie = websocket.cookies.get(COOKIE)
    session = await run_in_threadpool(session_from_cookie, state, cookie)
    if session is None:
        await websocket.accept()
        await websocket.close(CLOSE_UNAUTHORIZED, "not logged in; log in with POST /api/login")
        return
    user = Principal.from_session(session)
    if not user.can_see_operations:
        await websocket.accept()
        await websocket.close(CLOSE_FORBIDDEN, f"the {user.role} role cannot see the live feed")
        return
    try:
        await run_in_threadpool(
            record, state, user.username, "live.subscribe", "camera", request=websocket
        )
    except HTTPException:  # no audit row, no live feed
        await websocket.accept()
        await websocket.close(CLOSE_TRY_LATER, "the audit log cannot be written; try later")
        return
    subscription = state.bus.subscribe(maxsize=QUEUE)
    await websocket.accept()
    cameras = []
    if state.runner is not None:
        cameras = [s.to_json() for cid, s in state.runner.status().items() if user.sees(cid)]
    hello = {"topic": "hello", "user": user_record(session.user), "cameras": cameras}
    await websocket.send_json(hello)

    async def pump() -> None:
        while True:
            message = await subscription.get(timeout=RECHECK_S)
            if message is None:
                if subscription.closed:
                    await websocket.close(1001, "the server is shutting down")
                    return
                alive = await run_in_threadpool(state.users.session, user.token)
                if alive is None:
                    await websocket.close(CLOSE_UNAUTHORIZED, "the session ended")
                    return
                continue
            if _visible(user, message):
                await websocket.send_json(message)

    async def drain() -> None:
        # Reading is how a disconnect is noticed; what clients send is ignored.
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

    tasks = [asyncio.create_task(pump()), asyncio.create_task(drain())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        subscription.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            # A send to a socket that just closed fails; nothing is left to do about it.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
