"""The live runner: every configured camera analysed as it happens.

Per camera, a decoder PROCESS (vigil.pipeline.decoder) writes frames into a shared-memory
ring and sends only slot numbers; a thread here takes the newest frame in place, runs the
CameraPipeline, stores ended tracks and events (with snapshots), raises alerts, publishes on
the bus, keeps the newest picture for the live view, and watches the camera's health. A
decoder that ends is started again with back-off; stop() ends them all and removes every
shared-memory segment.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vigil.bus import Bus
from vigil.config import CameraConfig, VigilConfig
from vigil.domain import Event, Frame, Track
from vigil.errors import VigilError
from vigil.pipeline.analyze import StoreSink
from vigil.pipeline.annotate import Annotator
from vigil.pipeline.camera import CameraPipeline, FrameResult, detector_for_camera
from vigil.pipeline.decoder import EXIT_SOURCE_ERROR, DecoderHandle, DecoderSpec
from vigil.pipeline.health import CameraStatus, HealthTracker
from vigil.pipeline.ring import FrameRing, RingError
from vigil.rules.engine import AlertService
from vigil.store.db import Store
from vigil.store.records import event_record
from vigil.store.tables import EventRow
from vigil.vision.base import Detector

log = logging.getLogger(__name__)
_POLL_S = 0.25


@dataclass(frozen=True, slots=True)
class LiveSettings:
    slots: int = 4
    offline_after: float = 5.0  # seconds without a frame before a camera counts as offline
    backoff_initial: float = 1.0  # first wait before a dead decoder is started again
    backoff_max: float = 30.0
    max_pixels: int = 1920 * 1080
    stop_timeout: float = 5.0  # per decoder, before it is terminated
    jpeg_quality: int = 80


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """The newest analysed picture of a camera (a private copy) and what was tracked on it."""

    seq: int
    wallclock: float
    image: np.ndarray
    tracks: tuple[Track, ...]
    counts: dict[str, dict[str, int]]
    annotator: Annotator = field(repr=False)


@dataclass
class LiveCounts:
    """What a camera produced since start (read by the metrics endpoint)."""

    events: Counter[str] = field(default_factory=Counter)
    alerts: int = 0


class CameraWorker:
    """One camera: decoder process supervision, analysis thread, live picture, health."""

    def __init__(
        self,
        camera: CameraConfig,
        config: VigilConfig,
        store: Store,
        bus: Bus | None,
        data_dir: Path,
        alerts: AlertService | None,
        settings: LiveSettings,
        ctx: Any,
        ring_prefix: str,
    ) -> None:
        self.camera, self.config, self.store, self.bus = camera, config, store, bus
        self.data_dir, self.alerts, self.settings, self._ctx = data_dir, alerts, settings, ctx
        self._ring_prefix = ring_prefix
        self.health = HealthTracker(camera.id, settings.offline_after)
        self.counts = LiveCounts()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"vigil-live-{camera.id}")
        self._decoder: DecoderHandle | None = None
        self._generation = 0
        self._pipeline: CameraPipeline | None = None
        self._sink: StoreSink | None = None
        self._last_ts = 0.0
        self._last_index: int | None = None
        # Loaded now, so a camera whose model cannot be loaded fails at start, not later.
        self._detector: Detector | None = detector_for_camera(config, camera)
        self._latest: LiveFrame | None = None
        self._seq = 0
        self._jpeg_lock = threading.Lock()
        self._jpeg_cache: tuple[int, bool, bytes] | None = None
        self.ended = False

    # -- control ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def latest(self) -> LiveFrame | None:
        return self._latest

    def jpeg(self, boxes: bool = False) -> bytes | None:
        """The newest picture as JPEG, with tracks, zones and lines drawn when `boxes`."""
        frame = self._latest
        if frame is None:
            return None
        with self._jpeg_lock:
            cached = self._jpeg_cache
            if cached is not None and cached[:2] == (frame.seq, boxes):
                return cached[2]
        image = frame.image
        if boxes:
            image = frame.annotator.draw(image, frame.tracks, counts=frame.counts)
        quality = [cv2.IMWRITE_JPEG_QUALITY, self.settings.jpeg_quality]
        ok, buf = cv2.imencode(".jpg", image, quality)
        data = buf.tobytes() if ok else b""
        with self._jpeg_lock:
            self._jpeg_cache = (frame.seq, boxes, data)
        return data

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.settings.backoff_initial
        next_start = 0.0
        try:
            while not self._stopping.is_set():
                decoder = self._decoder
                if decoder is None:
                    wait = next_start - time.monotonic()
                    if self.ended or wait > 0:
                        self._stopping.wait(_POLL_S if self.ended else min(wait, _POLL_S))
                        self._publish_health()
                        continue
                    decoder = self._decoder = self._spawn()
                item = decoder.next_message(_POLL_S)
                if item is not None:
                    if self._handle(decoder, item):
                        backoff = self.settings.backoff_initial
                elif not decoder.process.is_alive():
                    self._end_generation()
                    if decoder.ended:
                        self.ended = True
                        self.health.offline(decoder.ended)
                    else:
                        code = decoder.process.exitcode
                        if code is not None and code < 0 and self._stopping.wait(1.0):
                            continue  # the whole service is stopping (systemd signals the group)
                        why = decoder.error or f"the decoder stopped (exit code {code})"
                        if code != EXIT_SOURCE_ERROR:
                            log.warning("camera '%s': %s", self.camera.id, why)
                        self.health.offline(f"{why}; retrying in {backoff:g} s")
                        self.health.restarted()
                        next_start = time.monotonic() + backoff
                        backoff = min(backoff * 2, self.settings.backoff_max)
                self.health.check_stale()
                self._publish_health()
        except VigilError as exc:  # e.g. the camera's model cannot be loaded: fix the config
            log.error("camera '%s': %s", self.camera.id, exc)
            self.ended = True
            self.health.offline(str(exc))
            self._publish_health()
        except Exception:  # noqa: BLE001 - a broken camera must not take the server down
            log.exception("camera '%s': the live analysis stopped", self.camera.id)
            self.health.offline("the live analysis stopped after an internal error; see the log")
            self._publish_health()
        finally:
            self._end_generation()

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

    def _handle(self, decoder: DecoderHandle, item: tuple[Any, ...]) -> bool:
        """Act on one decoder message; True when a frame was analysed."""
        kind = item[0]
        if kind == "frame" and decoder.ring is not None:
            return self._analyse_newest(decoder.ring)
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

    def _analyse_newest(self, ring: FrameRing) -> bool:
        try:
            info = ring.take_latest()
        except RingError as exc:
            log.warning("camera '%s': %s", self.camera.id, exc)
            return False
        if info is None:
            return False
        try:
            view = ring.view(info.slot, info.height, info.width)
            frame = Frame(self.camera.id, info.index, info.timestamp, view, info.wallclock)
            result = self._analyse(frame)
            self._keep_latest(frame, view.copy(), result.tracks)
            del view, frame  # nothing may point into the slot once it is given back
        finally:
            ring.release(info.slot)
        if self._last_index is not None and info.index > self._last_index + 1:
            self.health.add_dropped(info.index - self._last_index - 1)
        self._last_index = info.index
        self.health.frame(info.wallclock, (info.width, info.height))
        return True

    def _analyse(self, frame: Frame) -> FrameResult:
        if self._pipeline is None or frame.timestamp <= self._last_ts:
            self._end_generation_pipeline()
            self._start_pipeline(frame)
        assert self._pipeline is not None
        result = self._pipeline.process(frame)
        self._last_ts = frame.timestamp
        self._save(frame, result)
        return result

    def _start_pipeline(self, frame: Frame) -> None:
        detector = self._detector
        if detector is None or getattr(detector, "needs_every_frame", False):
            # A detector with a background model must not carry one stream's into the next.
            detector = detector_for_camera(self.config, self.camera)
        self._detector = None  # used once; the next pipeline loads its own if it needs to
        if not getattr(detector, "needs_every_frame", False):
            self._detector = detector
        self._pipeline = CameraPipeline(
            self.camera, self.config, detector, (frame.width, frame.height)
        )
        origin = (frame.wallclock or time.time()) - frame.timestamp
        self._sink = StoreSink(
            self.store, self.data_dir, self.camera.id, origin, event_snapshots=True
        )

    def _save(self, frame: Frame | None, result: FrameResult) -> None:
        assert self._sink is not None
        saved = self._sink.save(frame, result)
        if not saved:
            return
        captured = frame.wallclock if frame is not None else time.time()
        self.counts.events.update(str(event.type) for event, _row in saved)
        self._publish_events(saved, captured)
        if self.alerts is not None:
            self.counts.alerts += len(self.alerts.raise_for(saved))

    def _publish_events(self, saved: list[tuple[Event, EventRow]], captured: float) -> None:
        if self.bus is None:
            return
        for _event, row in saved:
            self.bus.publish({"topic": "event", **event_record(row), "captured_at": captured})

    def _keep_latest(self, frame: Frame, image: np.ndarray, tracks: list[Track]) -> None:
        pipeline = self._pipeline
        assert pipeline is not None
        self._seq += 1
        previous = self._latest
        if previous is not None and previous.image.shape == image.shape:
            annotator = previous.annotator
        else:
            h, w = image.shape[:2]
            annotator = Annotator(self.camera.zones_px(w, h), self.camera.lines_px(w, h))
        counts = {c.line.name: dict(c.counts) for c in pipeline.analytics.lines}
        self._latest = LiveFrame(
            self._seq, frame.wallclock, image, tuple(tracks), counts, annotator
        )

    def _end_generation_pipeline(self) -> None:
        """End every track of the current pipeline (its source restarted or stopped)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is None or self._sink is None:
            return
        try:
            self._save(None, pipeline.finish(self._last_ts + 0.1))
        except Exception:  # noqa: BLE001 - storing the tail must not block the shutdown
            log.exception("camera '%s': could not store the last tracks", self.camera.id)
        self._sink.close()
        self._sink = None
        self._last_ts = 0.0
        self._last_index = None

    def _end_generation(self) -> None:
        self._end_generation_pipeline()
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            decoder.shutdown(self.settings.stop_timeout)

    def _publish_health(self) -> None:
        status = self.health.changed()
        if status is not None and self.bus is not None:
            self.bus.publish({"topic": "camera", **status.to_json()})


class LiveRunner:
    """All configured cameras, live. start() once, stop() once (idempotent)."""

    def __init__(
        self,
        config: VigilConfig,
        store: Store,
        bus: Bus | None,
        data_dir: Path,
        *,
        alerts: AlertService | None = None,
        settings: LiveSettings | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or LiveSettings()
        ctx = multiprocessing.get_context("spawn")
        # Segment names: unique per runner, so a runner never touches another's memory.
        prefix = f"vigil-{os.getpid()}-{secrets.token_hex(3)}"
        self.ring_prefix = prefix
        self.workers = {
            cam.id: CameraWorker(
                cam, config, store, bus, data_dir, alerts, self.settings, ctx, f"{prefix}-{i}"
            )
            for i, cam in enumerate(config.cameras)
        }
        for cam in config.cameras:
            store.save_camera(cam.to_camera())
        self._started = False
        self._stopped = False

    def start(self) -> None:
        if self._started:
            raise VigilError("the live runner was already started; create a new one")
        self._started = True
        for worker in self.workers.values():
            worker.start()

    def stop(self) -> None:
        """Stop every camera: their last tracks are stored, processes joined, memory freed."""
        if self._stopped:
            return
        self._stopped = True
        for worker in self.workers.values():
            worker._stopping.set()  # all at once: each may take a while to wind down
        for worker in self.workers.values():
            worker.stop()

    def status(self) -> dict[str, CameraStatus]:
        return {cam_id: w.health.status() for cam_id, w in self.workers.items()}

    def worker(self, camera_id: str) -> CameraWorker | None:
        return self.workers.get(camera_id)

    def __enter__(self) -> LiveRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
