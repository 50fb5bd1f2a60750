"""The recorders of a running server: one per camera whose `recording.mode` is not off, next
to its live pipeline, each in its own thread (it only moves packets: about a percent of a
core, see bench/recording.py), stopped with the cameras. In events mode the camera's
stored events trigger it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from vigil.config import CameraConfig, VigilConfig
from vigil.config.camera import RecordingConfig
from vigil.domain import RecordingMode
from vigil.errors import VigilError
from vigil.recording.index import Recordings
from vigil.recording.recorder import Recorder
from vigil.store.db import Store

log = logging.getLogger(__name__)

# How long stop() waits for one recorder (a stalled network read ends at its read timeout).
STOP_TIMEOUT_S = 10.0


def is_file(source: str) -> bool:
    scheme = urlsplit(source).scheme.lower()
    return len(scheme) <= 1 or scheme == "file"


def recorder_for(camera: CameraConfig, store: Store, data_dir: Path) -> Recorder:
    """A camera's recorder as the server runs it: a file plays at its frame rate (a demo
    camera), a stream is retried for as long as the server runs."""
    file = is_file(camera.source)
    return Recorder(
        camera.id,
        camera.source,
        data_dir,
        Recordings(store),
        camera.recording,
        loop=camera.loop and file,
        realtime=file,
    )


def record_source(
    camera_id: str,
    source: str,
    data_dir: Path,
    store: Store,
    *,
    mode: RecordingMode = RecordingMode.CONTINUOUS,
    segment_s: float = 10.0,
    for_s: float | None = None,
    realtime: bool = False,
    loop: bool = False,
) -> Recorder:
    """Record `source` as `camera_id` into indexed segments, blocking until it ends (a file's
    end, `for_s` seconds of video); returns the recorder (its `stats`). What `vigil record`
    does, for tests and tools."""
    config = RecordingConfig(mode=mode, segment_s=segment_s)
    recorder = Recorder(
        camera_id, source, data_dir, Recordings(store), config,
        for_s=for_s, realtime=realtime, loop=loop, give_up_after=10.0,
    )  # fmt: skip
    recorder.run()
    return recorder


class CameraRecorders:
    """Every recording camera of a configuration. start() once, stop() once."""

    def __init__(self, config: VigilConfig, store: Store, data_dir: Path) -> None:
        self.recorders: dict[str, Recorder] = {}
        for camera in config.cameras:
            if camera.recording.mode == RecordingMode.OFF:
                continue
            try:
                self.recorders[camera.id] = recorder_for(camera, store, data_dir)
            except VigilError as exc:  # a camera that cannot be recorded must not stop the rest
                log.error("camera '%s' is not recorded: %s", camera.id, exc)

    def trigger_for(self, camera_id: str) -> Callable[[float], None] | None:
        """What the camera's events call in events mode (None: it records continuously or
        not at all)."""
        recorder = self.recorders.get(camera_id)
        if recorder is None or recorder.config.mode != RecordingMode.EVENTS:
            return None
        return recorder.trigger

    def start(self) -> None:
        for recorder in self.recorders.values():
            recorder.start()

    def request_stop(self) -> None:
        """Ask every recorder to stop, without waiting."""
        for recorder in self.recorders.values():
            recorder.request_stop()

    def stop(self) -> None:
        """Each current segment closed cleanly."""
        self.request_stop()  # all at once: each may sit in a network read a while
        for recorder in self.recorders.values():
            # What ended a recorder early was logged by its thread when it happened.
            with contextlib.suppress(Exception):
                recorder.stop(STOP_TIMEOUT_S)
