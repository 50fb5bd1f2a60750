"""The camera directory over NATS: `vigil worker` serves its cameras, `vigil serve
--no-cameras` asks for them.

- Reports: every `REPORT_S` the worker publishes each camera's health and counters on
  `<prefix>.status.<camera>` (plain NATS: current state, not history, so not in the stream).
  A camera whose reports stop for `stale_after` seconds (its worker was killed, or its
  machine lost) is offline for the web app, which tells its live clients at once.
- Pictures and tracks: NATS request / reply on `<prefix>.rpc.picture.<camera>` and
  `<prefix>.rpc.tracks.<camera>`; the JPEG travels as the reply's body, its sequence number,
  time and size in headers. Only frames go nowhere: a picture is encoded when asked for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from nats.aio.msg import Msg

from vigil.bus.base import Topic
from vigil.bus.nats import NatsBus, camera_token
from vigil.pipeline.directory import CameraCounters, CameraDirectory, LivePicture, LiveTracks
from vigil.pipeline.health import CameraStatus, status_from_json

log = logging.getLogger(__name__)
REPORT_S = 1.0
STALE_AFTER_S = 4.0
REQUEST_TIMEOUT_S = 2.0
STOPPED_REPORTING = "the camera worker stopped reporting (not running, or unreachable)"


class DirectoryServer:
    """Serves a process's cameras (a LocalDirectory) to web apps over NATS."""

    def __init__(self, bus: NatsBus, cameras: CameraDirectory, report_s: float = REPORT_S) -> None:
        self.bus, self.cameras, self.report_s = bus, cameras, report_s
        self._task: concurrent.futures.Future[None] | None = None
        prefix = bus.config.prefix
        bus.call(bus.subscribe_core(f"{prefix}.rpc.picture.*", self._picture), timeout=10)
        bus.call(bus.subscribe_core(f"{prefix}.rpc.tracks.*", self._tracks), timeout=10)

    def start(self) -> None:
        self._task = asyncio.run_coroutine_threadsafe(self._report_forever(), self.bus.loop)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def report(self) -> dict[str, dict[str, Any]]:
        """What one report says, per camera."""
        counters = self.cameras.counters()
        return {
            cid: {
                "status": st.to_json(),
                "events": dict(counters.get(cid, CameraCounters()).events),
                "alerts": counters.get(cid, CameraCounters()).alerts,
                "sent_at": time.time(),
            }
            for cid, st in self.cameras.statuses().items()
        }

    async def _report_forever(self) -> None:
        prefix = self.bus.config.prefix
        while True:
            report = await asyncio.get_running_loop().run_in_executor(None, self.report)
            for cid, body in report.items():
                subject = f"{prefix}.status.{camera_token(cid)}"
                await self.bus.publish_core(subject, json.dumps(body).encode())
            await asyncio.sleep(self.report_s)

    async def _picture(self, msg: Msg) -> None:
        ask = _payload(msg)
        camera = _camera_of(msg)
        if camera not in self.cameras.statuses():
            return  # another worker's camera: that worker answers (several serve one prefix)
        picture = await asyncio.get_running_loop().run_in_executor(
            None,
            self.cameras.picture,
            camera,
            bool(ask.get("boxes")),
            int(ask.get("known_seq", -1)),
        )
        if picture is None:
            await msg.respond(b"")
            return
        headers = {
            "seq": str(picture.seq),
            "wallclock": repr(picture.wallclock),
            "width": str(picture.width),
            "height": str(picture.height),
        }
        await self.bus.publish_core(msg.reply, picture.jpeg, headers)

    async def _tracks(self, msg: Msg) -> None:
        if _camera_of(msg) not in self.cameras.statuses():
            return  # another worker's camera
        live = await asyncio.get_running_loop().run_in_executor(
            None, self.cameras.tracks, _camera_of(msg)
        )
        await msg.respond(b"" if live is None else json.dumps(live.to_json()).encode())


def _camera_of(msg: Msg) -> str:
    token = msg.subject.rsplit(".", 1)[1]
    return token.replace("%2E", ".").replace("%25", "%")


def _payload(msg: Msg) -> dict[str, Any]:
    try:
        data = json.loads(msg.data or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class _Heard:
    status: CameraStatus
    counters: CameraCounters
    at: float  # monotonic time of the last report
    wall: float  # UNIX time of the last report
    stale: bool = False


class RemoteDirectory:
    """The cameras of the camera workers that report over NATS."""

    live = True

    def __init__(self, bus: NatsBus, stale_after: float = STALE_AFTER_S) -> None:
        self.bus, self.stale_after = bus, stale_after
        self._lock = threading.Lock()
        self._heard: dict[str, _Heard] = {}
        prefix = bus.config.prefix
        bus.call(bus.subscribe_core(f"{prefix}.status.*", self._on_report), timeout=10)
        self._watch = asyncio.run_coroutine_threadsafe(self._watch_forever(), bus.loop)

    def close(self) -> None:
        self._watch.cancel()

    # -- CameraDirectory ------------------------------------------------------------------

    def statuses(self) -> dict[str, CameraStatus]:
        with self._lock:
            return {cid: self._status(h) for cid, h in self._heard.items()}

    def counters(self) -> dict[str, CameraCounters]:
        with self._lock:
            return {cid: h.counters for cid, h in self._heard.items()}

    def picture(self, camera_id: str, boxes: bool, known_seq: int = -1) -> LivePicture | None:
        if not self._reporting(camera_id):
            return None
        subject = f"{self.bus.config.prefix}.rpc.picture.{camera_token(camera_id)}"
        ask = {"boxes": boxes, "known_seq": known_seq}
        reply = self._ask(subject, ask)
        if reply is None or not reply.data or not reply.headers:
            return None
        h = reply.headers
        return LivePicture(
            camera_id,
            int(h["seq"]),
            float(h["wallclock"]),
            int(h["width"]),
            int(h["height"]),
            bytes(reply.data),
        )

    def tracks(self, camera_id: str) -> LiveTracks | None:
        if not self._reporting(camera_id):
            return None
        subject = f"{self.bus.config.prefix}.rpc.tracks.{camera_token(camera_id)}"
        reply = self._ask(subject, {})
        if reply is None or not reply.data:
            return None
        return LiveTracks.from_json(json.loads(reply.data))

    # -- inside ---------------------------------------------------------------------------

    def _reporting(self, camera_id: str) -> bool:
        """Whether the camera's worker reports (not worth asking one that stopped)."""
        with self._lock:
            heard = self._heard.get(camera_id)
            return heard is not None and not heard.stale

    def _ask(self, subject: str, payload: dict[str, Any]) -> Msg | None:
        try:
            return self.bus.call(
                self.bus.request(subject, payload, REQUEST_TIMEOUT_S), REQUEST_TIMEOUT_S + 1
            )
        except TimeoutError:
            return None

    def _status(self, heard: _Heard) -> CameraStatus:
        if not heard.stale:
            return heard.status
        old = heard.status
        since = old.offline_since if not old.online and old.offline_since else heard.wall
        return CameraStatus(
            old.camera_id,
            False,
            since,
            old.last_frame_time,
            STOPPED_REPORTING,
            None,
            old.frames,
            old.dropped,
            old.restarts,
            old.width,
            old.height,
        )

    async def _on_report(self, msg: Msg) -> None:
        try:
            body = json.loads(msg.data)
            status = status_from_json(body["status"])
            counters = CameraCounters(dict(body.get("events", {})), int(body.get("alerts", 0)))
        except (ValueError, KeyError, TypeError):
            log.warning("camera directory: a report on %s cannot be read; ignored", msg.subject)
            return
        with self._lock:
            before = self._heard.get(status.camera_id)
            news = before is None or before.stale
            self._heard[status.camera_id] = _Heard(status, counters, time.monotonic(), time.time())
        if news:  # first heard of, or its worker is back: its own health messages only say
            self._tell(status)  # what changes, and this web app may have missed the last one

    async def _watch_forever(self) -> None:
        while True:
            await asyncio.sleep(min(0.5, self.stale_after / 4))
            now = time.monotonic()
            gone = []
            with self._lock:
                for heard in self._heard.values():
                    if not heard.stale and now - heard.at > self.stale_after:
                        heard.stale = True
                        gone.append(self._status(heard))
            for status in gone:
                self._tell(status)

    def _tell(self, status: CameraStatus) -> None:
        """A health change seen here, to this process's live clients."""
        self.bus.deliver_locally({"topic": str(Topic.CAMERA), **status.to_json()})
