"""The decoder process of one live camera: open the source, write frames into the ring.

Runs in its own process (spawned) so decoding never competes with the analysis for the
interpreter lock. It talks to the live runner through a small queue of tuples:

    ("ring", name, slots, capacity)   the ring exists (sent once, before the first frame)
    ("frame", slot, index, telemetry) a new frame is ready in that slot (dropped when full),
                                      with where the camera was (a drone's, a body camera's)
    ("health", online, error)         the source's connection state changed
    ("ended", reason)                 a file without `loop` reached its end
    ("error", message)                the source cannot be opened or read (exit code 3)
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import queue
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vigil.errors import SourceError
from vigil.logtext import EscapingFormatter
from vigil.pipeline.ring import FrameRing, unlink_segment
from vigil.sources import open_source
from vigil.sources.base import Source

EXIT_SOURCE_ERROR = 3
HEALTH_POLL_S = 0.25

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DecoderSpec:
    camera_id: str
    source: str
    loop: bool
    ring_name: str
    slots: int = 4
    max_pixels: int = 1920 * 1080  # larger pictures are scaled down for the analysis


def open_live_source(spec: DecoderSpec) -> Source:
    """Files play at their frame rate (a demo camera); streams reconnect until stopped."""
    if "://" in spec.source and not spec.source.lower().startswith("file:"):
        return open_source(spec.camera_id, spec.source)
    return open_source(spec.camera_id, spec.source, realtime=True, loop=spec.loop)


def fit(height: int, width: int, max_pixels: int) -> tuple[int, int]:
    """The frame shape to analyse: the source's, or scaled down to at most `max_pixels`."""
    if height * width <= max_pixels:
        return height, width
    scale = math.sqrt(max_pixels / (height * width))
    return max(1, int(height * scale)), max(1, int(width * scale))


def _send(messages: Any, item: tuple[Any, ...], wait: float = 1.0) -> None:
    try:
        messages.put(item, timeout=wait)
    except queue.Full:
        log.debug("camera message dropped (the runner is not reading): %r", item[0])


def _watch(source: Source, stop: Any, messages: Any) -> None:
    """Close the source on stop or when the parent dies; report health changes meanwhile."""
    parent = multiprocessing.parent_process()
    last: tuple[bool, str | None] | None = None
    while not stop.value:
        time.sleep(HEALTH_POLL_S)
        if parent is not None and not parent.is_alive():
            break
        health = source.health()
        state = (health.online, health.error)
        if state != last:
            last = state
            _send(messages, ("health", health.online, health.error), wait=0.1)
    source.close()


def decoder_main(spec: DecoderSpec, lock: Any, messages: Any, stop: Any) -> None:
    """Entry point of the decoder process. `stop` is a shared byte (RawValue) the runner sets:
    a flag, not a multiprocessing.Event, whose set() would hang on a killed waiter."""
    # Ctrl-C reaches the whole process group; the runner stops decoders through `stop`, after
    # the analysis of what they delivered is stored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    handler = logging.StreamHandler()  # escaped: a stream's error text is not ours
    handler.setFormatter(EscapingFormatter(f"%(levelname)s {spec.camera_id}: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    # The queue is bounded (a few dozen tiny tuples), so what is still buffered at exit always
    # fits the pipe: flushing it (the default) cannot hang, and the last error is not lost.
    try:
        source = open_live_source(spec)
    except SourceError as exc:
        _send(messages, ("error", str(exc)))
        raise SystemExit(EXIT_SOURCE_ERROR) from None
    watcher = threading.Thread(target=_watch, args=(source, stop, messages), daemon=True)
    watcher.start()
    ring: FrameRing | None = None
    shape: tuple[int, int] | None = None
    try:
        for frame in source.frames():
            if stop.value:
                break
            image = frame.image
            if ring is None or shape is None:
                shape = fit(image.shape[0], image.shape[1], spec.max_pixels)
                capacity = shape[0] * shape[1] * 3
                ring = FrameRing.create(spec.ring_name, spec.slots, capacity, lock)
                _send(messages, ("ring", spec.ring_name, spec.slots, capacity))
            if image.shape[:2] != shape:
                # Scaled once per frame, here, so the runner's thread never pays for it.
                image = cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
            slot = ring.write(
                np.ascontiguousarray(image), frame.index, frame.timestamp, frame.wallclock
            )
            # When the queue is full the runner is behind; it takes the newest slot anyway.
            with contextlib.suppress(queue.Full):
                messages.put_nowait(("frame", slot, frame.index, frame.telemetry))
        else:
            if not stop.value:
                _send(messages, ("ended", "the video file ended (set loop: true to replay it)"))
    except SourceError as exc:
        _send(messages, ("error", str(exc)))
        raise SystemExit(EXIT_SOURCE_ERROR) from None
    finally:
        stop.value = 1  # ends the watcher, which closes the source
        watcher.join(timeout=2.0)
        if ring is not None:
            ring.close()


class DecoderHandle:
    """The runner's side of one decoder process: the process, its ring, lock, queue, stop flag."""

    def __init__(self, ctx: Any, spec: DecoderSpec) -> None:
        self.spec = spec
        self.lock = ctx.Lock()
        self.messages = ctx.Queue(maxsize=64)
        self.stop_flag = ctx.RawValue("b", 0)
        self.process = ctx.Process(
            target=decoder_main,
            args=(spec, self.lock, self.messages, self.stop_flag),
            name=f"vigil-decoder-{spec.camera_id}",
            daemon=True,
        )
        self.ring: FrameRing | None = None
        self.ended: str | None = None
        self.error: str | None = None

    def next_message(self, timeout: float) -> tuple[Any, ...] | None:
        try:
            item: tuple[Any, ...] = self.messages.get(timeout=timeout)
            return item
        except queue.Empty:
            return None

    def shutdown(self, timeout: float) -> None:
        self.stop_flag.value = 1
        self.process.join(timeout)
        if self.process.is_alive():
            log.warning("camera '%s': decoder did not stop; terminating it", self.spec.camera_id)
            self.process.terminate()
            self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)
        if self.ring is not None:
            self.ring.close()
            self.ring.unlink()
            self.ring = None
        unlink_segment(self.spec.ring_name)  # created, but the runner never attached it
        self.messages.close()
        self.messages.cancel_join_thread()
