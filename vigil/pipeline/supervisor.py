"""Keeping one camera's decoder process running.

The supervisor starts the decoder process (vigil.pipeline.decoder), takes the newest frame
out of its shared-memory ring each time one is ready and hands it to the camera's analysis,
and starts the process again with back-off when it dies. What it sees of the connection goes
into the camera's `HealthTracker`. It does nothing with the frames itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from vigil.config import CameraConfig
from vigil.domain import Frame, Telemetry
from vigil.pipeline.decoder import DecoderHandle, DecoderSpec
from vigil.pipeline.health import RETRY_NOTE, HealthTracker
from vigil.pipeline.ring import FrameRing, RingError

log = logging.getLogger(__name__)
POLL_S = 0.25
TELEMETRY_KEPT = 16  # frames' telemetry kept to match pictures with (a frame is this close)


@dataclass(frozen=True, slots=True)
class SupervisorSettings:
    slots: int = 4
    backoff_initial: float = 1.0  # first wait before a dead decoder is started again
    backoff_max: float = 30.0
    max_pixels: int = 1920 * 1080
    stop_timeout: float = 5.0  # per decoder, before it is terminated


class FrameHandler(Protocol):
    def on_frame(self, frame: Frame) -> None:
        """A new frame; its image lies in shared memory that is reused after the call."""

    def on_stream_end(self) -> None:
        """The decoder process ended (restarted later, unless the source ended for good)."""


class DecoderSupervisor:
    def __init__(
        self,
        camera: CameraConfig,
        settings: SupervisorSettings,
        ctx: Any,
        ring_prefix: str,
        health: HealthTracker,
    ) -> None:
        self.camera, self.settings, self._ctx = camera, settings, ctx
        self._ring_prefix, self.health = ring_prefix, health
        self._decoder: DecoderHandle | None = None
        self._generation = 0
        self._last_index: int | None = None
        # The telemetry of the frames the decoder announced, by frame index: the ring holds
        # pictures only. Bounded: the newest few are all a frame can be matched with.
        self._telemetry: dict[int, Telemetry] = {}
        self.ended = False  # a file without `loop` reached its end: nothing more will come

    def run(
        self, stopping: threading.Event, handler: FrameHandler, tick: Callable[[], None]
    ) -> None:
        """Until `stopping` is set; `tick` runs after every poll (about 4 times a second)."""
        backoff = self.settings.backoff_initial
        next_start = 0.0
        try:
            while not stopping.is_set():
                decoder = self._decoder
                if decoder is None:
                    wait = next_start - time.monotonic()
                    if self.ended or wait > 0:
                        stopping.wait(POLL_S if self.ended else min(wait, POLL_S))
                        tick()
                        continue
                    decoder = self._decoder = self._spawn()
                item = decoder.next_message(POLL_S)
                if item is not None:
                    if self._handle(decoder, item, handler):
                        backoff = self.settings.backoff_initial
                elif not decoder.process.is_alive() and self._ended(
                    decoder, handler, stopping, backoff
                ):
                    next_start = time.monotonic() + backoff
                    backoff = min(backoff * 2, self.settings.backoff_max)
                self.health.check_stale()
                tick()
        finally:
            self.stop_decoder(handler)

    def _ended(
        self,
        decoder: DecoderHandle,
        handler: FrameHandler,
        stopping: threading.Event,
        backoff: float,
    ) -> bool:
        """The decoder process is gone; True when it is to be started again after `backoff`."""
        self.stop_decoder(handler)
        if decoder.ended:
            self.ended = True
            self.health.offline(decoder.ended)
            return False
        code = decoder.process.exitcode
        if code is not None and code < 0 and stopping.wait(1.0):
            return False  # the whole service is stopping (systemd signals the group)
        why = decoder.error or f"the decoder stopped (exit code {code})"
        self.health.offline(f"{why}{RETRY_NOTE} {backoff:g} s")  # on the console once
        self.health.restarted()
        return True

    def _spawn(self) -> DecoderHandle:
        self._generation += 1
        spec = DecoderSpec(
            camera_id=self.camera.id,
            source=self.camera.source,
            loop=self.camera.loop,
            ring_name=f"{self._ring_prefix}-{self._generation}",
            slots=self.settings.slots,
            max_pixels=self.settings.max_pixels,
        )
        decoder = DecoderHandle(self._ctx, spec)
        decoder.process.start()
        return decoder

    def _handle(self, decoder: DecoderHandle, item: tuple[Any, ...], handler: FrameHandler) -> bool:
        """Act on one decoder message; True when a frame was handed over."""
        kind = item[0]
        if kind == "frame" and decoder.ring is not None:
            if len(item) > 3 and item[3] is not None:
                self._telemetry[int(item[2])] = item[3]
                while len(self._telemetry) > TELEMETRY_KEPT:
                    del self._telemetry[next(iter(self._telemetry))]
            return self._hand_newest(decoder.ring, handler)
        if kind == "ring":
            _, name, slots, capacity = item
            decoder.ring = FrameRing.attach(name, slots, capacity, decoder.lock)
        elif kind == "health":
            self.health.source_says(bool(item[1]), item[2])
        elif kind == "ended":
            decoder.ended = str(item[1])
        elif kind == "error":
            decoder.error = str(item[1])
            self.health.offline(decoder.error)
        return False

    def _hand_newest(self, ring: FrameRing, handler: FrameHandler) -> bool:
        try:
            info = ring.take_latest()
        except RingError as exc:
            log.warning("camera '%s': %s", self.camera.id, exc)
            return False
        if info is None:
            return False
        try:
            view = ring.view(info.slot, info.height, info.width)
            frame = Frame(
                self.camera.id, info.index, info.timestamp, view, info.wallclock,
                self._telemetry_of(info.index),
            )  # fmt: skip
            handler.on_frame(frame)
            del view, frame  # nothing may point into the slot once it is given back
        finally:
            ring.release(info.slot)
        if self._last_index is not None and info.index > self._last_index + 1:
            self.health.add_dropped(info.index - self._last_index - 1)
        self._last_index = info.index
        self.health.frame(info.wallclock, (info.width, info.height))
        return True

    def _telemetry_of(self, index: int) -> Telemetry | None:
        """The frame's own telemetry, or the newest announced before it (its message may still
        be queued behind the picture: a frame or two earlier, as the decoder aligned it)."""
        if index in self._telemetry:
            return self._telemetry[index]
        earlier = [i for i in self._telemetry if index - TELEMETRY_KEPT <= i < index]
        return self._telemetry[max(earlier)] if earlier else None

    def stop_decoder(self, handler: FrameHandler) -> None:
        """End the current generation: the analysis first (its tracks end), then the process."""
        decoder, self._decoder = self._decoder, None
        self._last_index = None
        self._telemetry.clear()
        handler.on_stream_end()
        if decoder is not None:
            decoder.shutdown(self.settings.stop_timeout)
