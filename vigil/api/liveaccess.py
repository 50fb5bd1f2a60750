"""Who may still see a long-lived live connection (the WebSocket feed, an MJPEG stream).

A request is authorised once; a live connection goes on for hours. `LiveAccess` keeps the
connection's view of its user current: the session is read again at least every `RECHECK_S`
seconds whatever the traffic, and at once when the bus says that user's access changed
(logout, disable, new password, role or cameras: the `access` topic). So a revocation takes
effect within RECHECK_S plus one database read, busy bus or idle.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool

from vigil.api.deps import AppState, Principal
from vigil.bus import Topic

RECHECK_S = 0.5  # longest time between two reads of a live connection's session


class Verdict(enum.Enum):
    SAME = "same"  # still valid, same rights
    ENDED = "ended"  # logged out, disabled, expired
    CHANGED = "changed"  # still valid, but the role or the cameras changed


def access_changed(state: AppState, user_id: int) -> None:
    """Tell every live connection (in every web process) that this user's access changed."""
    state.bus.publish({"topic": str(Topic.ACCESS), "user_id": user_id})


def concerns(message: dict[str, Any], user: Principal) -> bool:
    """Whether a bus message is an access change of this user."""
    return message.get("topic") == Topic.ACCESS and message.get("user_id") == user.id


class LiveAccess:
    """One live connection's user, re-validated on a clock, not on traffic."""

    def __init__(
        self,
        state: AppState,
        user: Principal,
        *,
        clock: Callable[[], float] = time.monotonic,
        recheck_s: float | None = None,
    ) -> None:
        self.state = state
        self.user = user
        self._clock = clock
        self._recheck = RECHECK_S if recheck_s is None else recheck_s
        self._checked = clock()

    @property
    def due(self) -> bool:
        return self._clock() - self._checked >= self._recheck

    async def check(self, *, now: bool = False) -> Verdict:
        """Read the session again when it is due (or `now`); what became of the rights."""
        if not (now or self.due):
            return Verdict.SAME
        session = await run_in_threadpool(self.state.users.session, self.user.token)
        self._checked = self._clock()
        if session is None:
            return Verdict.ENDED
        fresh = Principal.from_session(session)
        if (fresh.role, fresh.cameras) != (self.user.role, self.user.cameras):
            self.user = fresh
            return Verdict.CHANGED
        return Verdict.SAME
