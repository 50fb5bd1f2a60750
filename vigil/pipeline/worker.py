"""One live camera, as small parts wired together:

    DecoderSupervisor --frames--> CameraAnalysis --results--> CameraOutputs
      (decoder process,             (a CameraPipeline per      (store + snapshots, then
       restarts, health)             stream; the live view)     counters, bus, alerts)

`CameraWorker` owns the thread that runs them and publishes the camera's health changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from vigil.analyzers.base import AnalyzerServices
from vigil.bus import Bus, Topic
from vigil.config import CameraConfig, VigilConfig
from vigil.domain import Event, EventType, Frame
from vigil.errors import VigilError
from vigil.ingest.live import LiveGeo
from vigil.integrations.onvif_events import Notice, OnvifEvents
from vigil.pipeline.camera import CameraPipeline, FrameResult, detector_for_camera
from vigil.pipeline.directory import CameraCounters
from vigil.pipeline.health import HealthTracker
from vigil.pipeline.liveview import LiveView
from vigil.pipeline.sinks import EventPublisher, Saved, StoreSink, face_blur
from vigil.pipeline.supervisor import DecoderSupervisor, SupervisorSettings
from vigil.rules.engine import AlertService
from vigil.store.db import Store
from vigil.store.queries import as_utc
from vigil.vision.base import Detector

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveSettings:
    slots: int = 4
    offline_after: float = 5.0  # seconds without a frame before a camera counts as offline
    backoff_initial: float = 1.0  # first wait before a dead decoder is started again
    backoff_max: float = 30.0
    max_pixels: int = 1920 * 1080
    stop_timeout: float = 5.0  # per decoder, before it is terminated
    jpeg_quality: int = 80

    def supervision(self) -> SupervisorSettings:
        return SupervisorSettings(
            self.slots, self.backoff_initial, self.backoff_max, self.max_pixels, self.stop_timeout
        )


class CameraOutputs:
    """Where a live camera's results go: the store first (so every message and alert names a
    stored row), then the counters, the bus and the alert rules."""

    def __init__(
        self,
        camera_id: str,
        store: Store,
        data_dir: Path,
        bus: Bus | None,
        alerts: AlertService | None,
        redact: Callable[[np.ndarray], np.ndarray] | None = None,
        geo: LiveGeo | None = None,
    ) -> None:
        self.camera_id, self.store, self.data_dir = camera_id, store, data_dir
        self.geo = geo  # tracks placed on the map, a moving camera's path and view
        self.redact = redact
        self.publisher = EventPublisher(bus) if bus is not None else None
        self.alerts = alerts
        self.events: Counter[str] = Counter()
        self.alerts_raised = 0
        # Called with the UNIX time of each stored event (the recorder's events mode).
        self.event_listeners: list[Callable[[float], None]] = []
        self._sink: StoreSink | None = None

    def start_stream(self, origin: float) -> None:
        """A new stream starts; `origin` is the UNIX time of its media time 0."""
        self._sink = StoreSink(
            self.store,
            self.data_dir,
            self.camera_id,
            origin,
            event_snapshots=True,
            redact=self.redact,
            geo=self.geo.start(origin) if self.geo is not None else None,
        )

    def handle(self, frame: Frame | None, result: FrameResult) -> None:
        if self._sink is None:
            raise RuntimeError("handle() before start_stream()")
        saved = self._sink.save(frame, result)
        if self.geo is not None:
            self.geo.after(frame)
        if not saved:
            return
        self._announce(saved, frame.wallclock if frame is not None else time.time())

    def record(self, event: Event, at: float) -> None:
        """An event not seen in the picture (the camera's own ONVIF motion) at UNIX time `at`:
        stored on the current stream's clock, then told like the pipeline's. Any thread."""
        sink = self._sink
        origin = sink.origin if sink is not None else at
        media = at - origin
        event = replace(event, time=media, start=media, end=media)
        rows = self.store.save_results(self.camera_id, origin, [], [event])
        self._announce(list(zip([event], rows, strict=True)), at)

    def _announce(self, saved: Saved, captured: float) -> None:
        self.events.update(str(event.type) for event, _row in saved)
        if self.publisher is not None:
            self.publisher.publish(saved, captured)
        if self.alerts is not None:
            self.alerts_raised += len(self.alerts.raise_for(saved))
        for listener in self.event_listeners:
            for _event, row in saved:
                listener(as_utc(row.time).timestamp())

    def end_stream(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def counters(self) -> CameraCounters:
        return CameraCounters(dict(self.events), self.alerts_raised)


class CameraAnalysis:
    """A CameraPipeline per stream (a looping file or a reconnected camera starts a new one),
    its results to the outputs, each analysed picture to the live view."""

    def __init__(
        self, camera: CameraConfig, config: VigilConfig, outputs: CameraOutputs, view: LiveView
    ) -> None:
        self.camera, self.config, self.outputs, self.view = camera, config, outputs, view
        # Loaded now, so a camera whose model cannot be loaded fails at start, not later.
        self._detector: Detector | None = detector_for_camera(config, camera)
        self._pipeline: CameraPipeline | None = None
        self._last_ts = 0.0
        self._wake_s = 0.0  # asked before a stream started: given to its pipeline

    def use_detector(self, detector: Detector) -> None:
        """Detect with `detector` from the next stream on (a cluster's detector pool); before
        start. One with a background model cannot be shared this way."""
        if detector.needs_every_frame:
            raise VigilError("a detector with a background model cannot serve from a pool")
        self._detector = detector

    def wake(self, seconds: float) -> None:
        """Run the detector for `seconds` whatever the motion gate sees (any thread)."""
        pipeline = self._pipeline
        if pipeline is None:
            self._wake_s = max(self._wake_s, seconds)
        else:
            pipeline.wake(seconds)

    def on_frame(self, frame: Frame) -> None:
        if self._pipeline is None or frame.timestamp <= self._last_ts:
            self.on_stream_end()
            self._start(frame)
        assert self._pipeline is not None
        result = self._pipeline.process(frame)
        self._last_ts = frame.timestamp
        self.outputs.handle(frame, result)
        self.view.keep(frame.wallclock, frame.image.copy(), result.tracks, self._pipeline.counts())

    def _start(self, frame: Frame) -> None:
        detector = self._detector
        if detector is None or detector.needs_every_frame:
            # A detector with a background model must not carry one stream's into the next.
            detector = detector_for_camera(self.config, self.camera)
        self._detector = None if detector.needs_every_frame else detector
        self._pipeline = CameraPipeline(
            self.camera,
            self.config,
            detector,
            (frame.width, frame.height),
            services=AnalyzerServices(self.outputs.store),
        )
        if self._wake_s > 0:
            self._pipeline.wake(self._wake_s)
            self._wake_s = 0.0
        self.outputs.start_stream((frame.wallclock or time.time()) - frame.timestamp)

    def on_stream_end(self) -> None:
        """Every track of the current stream ends now; idempotent."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is None:
            return
        try:
            self.outputs.handle(None, pipeline.finish(self._last_ts + 0.1))
        except Exception:  # noqa: BLE001 - storing the tail must not block the shutdown
            log.exception("camera '%s': could not store the last tracks", self.camera.id)
        self.outputs.end_stream()
        self._last_ts = 0.0


class CameraWorker:
    """One camera: its thread, and the parts above wired together."""

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
        self.camera, self.bus = camera, bus
        self.health = HealthTracker(camera.id, settings.offline_after)
        self.view = LiveView(camera, settings.jpeg_quality)
        self.outputs = CameraOutputs(
            camera.id, store, data_dir, bus, alerts, redact=face_blur(camera),
            geo=LiveGeo(camera, store, bus),
        )  # fmt: skip
        self.analysis = CameraAnalysis(camera, config, self.outputs, self.view)
        self.supervisor = DecoderSupervisor(
            camera, settings.supervision(), ctx, ring_prefix, self.health
        )
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"vigil-live-{camera.id}")
        self.onvif = onvif_events(camera, self.outputs, self.analysis)

    @property
    def ended(self) -> bool:
        return self.supervisor.ended

    def start(self) -> None:
        self._thread.start()
        if self.onvif is not None:
            self.onvif.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.onvif is not None:
            self.onvif.stop()
        if self._thread.is_alive():
            self._thread.join()

    def counters(self) -> CameraCounters:
        return self.outputs.counters()

    def _run(self) -> None:
        try:
            self.supervisor.run(self.stopping, self.analysis, self._publish_health)
        except VigilError as exc:  # e.g. the camera's model cannot be loaded: fix the config
            log.error("camera '%s': %s", self.camera.id, exc)
            self.supervisor.ended = True
            self.health.offline(str(exc))
            self._publish_health()
        except Exception:  # noqa: BLE001 - a broken camera must not take the server down
            log.exception("camera '%s': the live analysis stopped", self.camera.id)
            self.health.offline("the live analysis stopped after an internal error; see the log")
            self._publish_health()

    def _publish_health(self) -> None:
        status = self.health.changed()
        if status is not None and self.bus is not None:
            self.bus.publish({"topic": str(Topic.CAMERA), **status.to_json()})


def onvif_events(
    camera: CameraConfig, outputs: CameraOutputs, analysis: CameraAnalysis
) -> OnvifEvents | None:
    """The camera's ONVIF event subscription (its `onvif:` section): each motion or tamper
    event stored and told; motion also wakes the detector for `wake_s`."""
    cfg = camera.onvif
    if cfg is None or not cfg.events:
        return None

    def on_notice(notice: Notice) -> None:
        event = Event(notice.kind, camera.id, 0.0, None, None, attributes=notice.attributes())
        if notice.kind == EventType.CAMERA_MOTION and cfg.wake_s > 0:
            analysis.wake(cfg.wake_s)  # first: the picture matters more than the row
        outputs.record(event, notice.at)

    return OnvifEvents(camera.id, cfg, on_notice)
