"""A live camera's health as the runner sees it: online, since when offline, and why."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat() if ts is not None else None


def _unix(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


@dataclass(frozen=True, slots=True)
class CameraStatus:
    camera_id: str
    online: bool
    offline_since: float | None  # UNIX time
    last_frame_time: float | None  # UNIX time of the newest frame analysed
    error: str | None
    fps: float | None  # frames analysed per second, recently
    frames: int  # analysed since start
    dropped: int  # decoded but skipped because the analysis was behind
    restarts: int  # decoder processes started again after they ended
    width: int | None
    height: int | None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["camera"] = out.pop("camera_id")
        out["offline_since"] = _iso(self.offline_since)
        out["last_frame_time"] = _iso(self.last_frame_time)
        out["fps"] = round(self.fps, 2) if self.fps is not None else None
        return out


def status_from_json(data: Mapping[str, Any]) -> CameraStatus:
    """A CameraStatus back from its JSON form (`to_json`), as a remote camera worker sent it."""
    fps = data.get("fps")
    return CameraStatus(
        camera_id=str(data["camera"]),
        online=bool(data["online"]),
        offline_since=_unix(data.get("offline_since")),
        last_frame_time=_unix(data.get("last_frame_time")),
        error=data.get("error"),
        fps=float(fps) if fps is not None else None,
        frames=int(data.get("frames", 0)),
        dropped=int(data.get("dropped", 0)),
        restarts=int(data.get("restarts", 0)),
        width=data.get("width"),
        height=data.get("height"),
    )


log = logging.getLogger("vigil.camera")
RETRY_NOTE = "; retrying in"  # what the supervisor adds to a reason while it waits


class HealthTracker:
    """Thread-safe health state of one camera; `changed()` says when to tell the world.

    A camera's problems also go to the console (the log, as warnings): one line when it goes
    offline or its reason changes (a retry countdown is not a new reason), one when it is back.
    """

    def __init__(self, camera_id: str, offline_after: float) -> None:
        self.camera_id = camera_id
        self.offline_after = offline_after
        self._lock = threading.Lock()
        self._online = False
        self._offline_since: float | None = time.time()
        self._last_frame: float | None = None  # UNIX time
        self._last_frame_mono: float | None = None
        self._error: str | None = None
        self._source_error: str | None = None  # what the decoder last said
        self._recent: deque[float] = deque(maxlen=64)  # monotonic times of recent frames
        self._frames = 0
        self._dropped = 0
        self._restarts = 0
        self._size: tuple[int, int] | None = None
        self._published: tuple[bool, str | None] | None = None
        self._reported: str | None = None  # the problem last said on the console

    def frame(self, wallclock: float, size: tuple[int, int]) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent.append(now)
            self._last_frame_mono = now
            self._last_frame = wallclock or time.time()
            self._frames += 1
            self._size = size
            self._online, self._offline_since, self._error = True, None, None
            self._source_error = None
            was, self._reported = self._reported, None
        if was is not None:
            log.warning("camera '%s' is back online", self.camera_id)

    def source_says(self, online: bool, error: str | None) -> None:
        """The decoder's view of its connection (a reconnecting stream's error, say)."""
        with self._lock:
            self._source_error = error
            if not online and not self._online:
                self._error = error or self._error
        if not online and error:
            self._report(error)

    def offline(self, error: str) -> None:
        with self._lock:
            if self._online or self._offline_since is None:
                self._offline_since = time.time()
            self._online = False
            self._error = error
            self._recent.clear()
        self._report(error)

    def _report(self, error: str) -> None:
        problem = error.split(RETRY_NOTE)[0]
        with self._lock:
            if problem == self._reported:
                return
            self._reported = problem
        log.warning("camera '%s' is offline: %s", self.camera_id, problem)

    def check_stale(self) -> None:
        """No frame for `offline_after` seconds: offline, with the source's reason if known."""
        with self._lock:
            stale = (
                self._online
                and self._last_frame_mono is not None
                and time.monotonic() - self._last_frame_mono > self.offline_after
            )
            reason = self._source_error or f"no frames for {self.offline_after:g} s"
        if stale:
            self.offline(reason)

    def add_dropped(self, n: int) -> None:
        with self._lock:
            self._dropped += n

    def restarted(self) -> None:
        with self._lock:
            self._restarts += 1

    def _fps(self) -> float | None:
        """Frames per second over the last few seconds (None until there are two)."""
        now = time.monotonic()
        recent = [t for t in self._recent if now - t <= 3.0]
        if len(recent) < 2 or recent[-1] <= recent[0]:
            return None
        return (len(recent) - 1) / (recent[-1] - recent[0])

    def status(self) -> CameraStatus:
        with self._lock:
            w, h = self._size if self._size else (None, None)
            return CameraStatus(
                self.camera_id,
                self._online,
                self._offline_since,
                self._last_frame,
                self._error,
                self._fps(),
                self._frames,
                self._dropped,
                self._restarts,
                w,
                h,
            )

    def changed(self) -> CameraStatus | None:
        """The status, if its online flag or error changed since the last call; else None."""
        status = self.status()
        key = (status.online, status.error)
        with self._lock:
            if key == self._published:
                return None
            self._published = key
        return status
