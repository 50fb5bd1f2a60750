"""The live push: a WebSocket that forwards bus messages (events, alerts, camera health)
of the cameras the user may see, as JSON text frames.

The first message is `{"topic": "hello", "user": ..., "cameras": [health...]}`; then every
message has the shape of the REST resource plus its `topic`. `{"topic": "dropped", "count": n}`
says n messages were lost because this client read too slowly (reload what you show).
Without a valid session the socket is accepted and closed at once with code 4401; an auditor's
(no camera, event or alert for that role) with 4403.

An open socket's session is read again at least every `liveaccess.RECHECK_S` seconds, busy
bus or not, and at once when the user's access changes: a logged-out or disabled user's
socket closes with 4401; one whose role or cameras changed closes with 4001 (reload: the page
shows other cameras now); nothing is sent in between on the old rights.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, WebSocket
from fastapi.concurrency import run_in_threadpool

from vigil.api.auditing import record
from vigil.api.deps import COOKIE, AppState, Principal, session_from_cookie, state_of
from vigil.api.liveaccess import RECHECK_S, LiveAccess, Verdict, concerns
from vigil.bus import CLIENT_TOPICS, Subscription
from vigil.rules.fire import without_unseen_fix
from vigil.store.records import user_record

router = APIRouter(tags=["live"])
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_ACCESS_CHANGED = 4001
CLOSE_TRY_LATER = 1013
QUEUE = 512


def _visible(user: Principal, message: dict[str, Any]) -> bool:
    if message.get("topic") not in CLIENT_TOPICS and message.get("topic") != "dropped":
        return False
    camera = message.get("camera")
    made_of = message.get("cameras")  # a fire fix: seen only by who sees every camera in it
    if isinstance(made_of, list) and not all(user.sees(str(c)) for c in made_of):
        return False
    return camera is None or user.sees(str(camera))


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    await websocket.accept()
    await websocket.close(code, reason)


async def _admit(websocket: WebSocket, state: AppState) -> Principal | None:
    """The socket's user, or None once the socket was refused (and closed) with a reason."""
    origin = websocket.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != websocket.headers.get("host", ""):
        await _refuse(websocket, CLOSE_FORBIDDEN, "cross-site WebSocket refused")
        return None
    cookie = websocket.cookies.get(COOKIE)
    session = await run_in_threadpool(session_from_cookie, state, cookie)
    if session is None:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, "not logged in; log in with POST /api/login")
        return None
    user = Principal.from_session(session)
    if not user.can_see_operations:
        await _refuse(websocket, CLOSE_FORBIDDEN, f"the {user.role} role cannot see the live feed")
        return None
    try:
        await run_in_threadpool(
            record, state, user.username, "live.subscribe", "camera", request=websocket
        )
    except HTTPException:  # no audit row, no live feed
        await _refuse(websocket, CLOSE_TRY_LATER, "the audit log cannot be written; try later")
        return None
    return user


async def _close_for(websocket: WebSocket, verdict: Verdict) -> bool:
    """Close the socket if the verdict ends what it may see; True when closed."""
    if verdict is Verdict.ENDED:
        await websocket.close(CLOSE_UNAUTHORIZED, "the session ended")
        return True
    if verdict is Verdict.CHANGED:
        await websocket.close(CLOSE_ACCESS_CHANGED, "your access changed; reload")
        return True
    return False


async def _pump(websocket: WebSocket, subscription: Subscription, access: LiveAccess) -> None:
    """Forward bus messages while the session is valid; the clock, not the traffic, decides
    when the session is read again."""
    while True:
        message = await subscription.get(timeout=RECHECK_S)
        if message is None and subscription.closed:
            await websocket.close(1001, "the server is shutting down")
            return
        forced = message is not None and concerns(message, access.user)
        if await _close_for(websocket, await access.check(now=forced)):
            return
        if message is not None and _visible(access.user, message):
            await websocket.send_json(without_unseen_fix(message, access.user.sees))


# Clients send nothing the server reads; a larger message ends the connection (1009).
MAX_CLIENT_MESSAGE = 4096


async def _drain(websocket: WebSocket) -> None:
    # Reading is how a disconnect is noticed; what clients send is ignored.
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


@router.websocket("/api/ws")
async def live(websocket: WebSocket) -> None:
    state = state_of(websocket.app)
    user = await _admit(websocket, state)
    if user is None:
        return
    subscription = state.bus.subscribe(maxsize=QUEUE)
    access = LiveAccess(state, user)
    await websocket.accept()
    cameras = [s.to_json() for cid, s in state.cameras.statuses().items() if user.sees(cid)]
    session = await run_in_threadpool(state.users.session, user.token)
    if session is None:
        subscription.close()
        await websocket.close(CLOSE_UNAUTHORIZED, "the session ended")
        return
    await websocket.send_json(
        {"topic": "hello", "user": user_record(session.user), "cameras": cameras}
    )
    tasks = [
        asyncio.create_task(_pump(websocket, subscription, access)),
        asyncio.create_task(_drain(websocket)),
    ]
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
