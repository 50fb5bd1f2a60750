"""The detector pool: a few Ray actors, each holding one model, that serve the detection
requests of many cameras (a GPU node serves dozens of cameras).

Camera side, `PoolDetector` is a `Detector` (vigil.vision.base): `CameraPipeline` calls
`detect(image)` as it would on a local model. What travels is the picture scaled down to the
detector's input size (a 416-pixel model gets at most 416 pixels on the long side: ~0.3 MB
as raw BGR, instead of the full frame) and back the detections; the frame itself stays on
the camera's node. Each proxy counts the bytes it sent.

Pool side, `DetectorServer` queues the requests of every camera and takes up to `batch` at
a time (waiting at most `batch_wait_ms` for a batch to fill), so one model and one thread
serve them all. A backend with a batched forward pass (`detect_many`) gets the batch in one
call; the others run its pictures back to back.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from vigil.domain import Box, Detection
from vigil.vision.base import Detector, DetectorSettings
from vigil.vision.registry import load_detector

REQUEST_TIMEOUT_S = 10.0  # a detection unanswered this long fails the frame (the pool is gone)


@dataclass(slots=True)
class PoolStats:
    requests: int = 0
    batches: int = 0
    largest_batch: int = 0
    bytes_in: int = 0


class DetectorServer:
    """A pool actor's body: one model, a queue, a thread that batches."""

    def __init__(self, settings: DetectorSettings, input_size: int, batch: int, wait_ms: float):
        self.detector: Detector = load_detector(settings, input_size)
        if self.detector.needs_every_frame:
            raise ValueError(f"the '{settings.kind}' detector keeps a background model per camera")
        self.batch, self.wait_s = batch, wait_ms / 1000.0
        self.stats = PoolStats()
        self._queue: queue.Queue[tuple[np.ndarray, Future[list[Detection]]]] = queue.Queue()
        threading.Thread(target=self._serve, name="vigil-pool", daemon=True).start()

    def labels(self) -> list[str]:
        return list(self.detector.labels)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """One camera's request (called on one of the actor's threads)."""
        done: Future[list[Detection]] = Future()
        self._queue.put((image, done))
        return done.result(timeout=REQUEST_TIMEOUT_S)

    def report(self) -> dict[str, Any]:
        s = self.stats
        mean = s.requests / s.batches if s.batches else None
        return {"requests": s.requests, "batches": s.batches, "mean_batch": mean,
                "largest_batch": s.largest_batch, "bytes_in": s.bytes_in}  # fmt: skip

    def _take_batch(self) -> list[tuple[np.ndarray, Future[list[Detection]]]]:
        items = [self._queue.get()]
        while len(items) < self.batch:
            try:
                items.append(self._queue.get(timeout=self.wait_s))
            except queue.Empty:
                break
        return items

    def _serve(self) -> None:
        while True:
            items = self._take_batch()
            self.stats.requests += len(items)
            self.stats.batches += 1
            self.stats.largest_batch = max(self.stats.largest_batch, len(items))
            self.stats.bytes_in += sum(image.nbytes for image, _ in items)
            images = [image for image, _ in items]
            try:
                many = getattr(self.detector, "detect_many", None)
                results = many(images) if many else [self.detector.detect(i) for i in images]
            except Exception as exc:  # noqa: BLE001 - the cameras hear of it, the pool lives on
                for _, done in items:
                    done.set_exception(exc)
                continue
            for (_, done), found in zip(items, results, strict=True):
                done.set_result(found)


class PoolDetector:
    """A camera's detector that asks the pool (a `Detector`; see the module's docstring)."""

    needs_every_frame = False

    def __init__(self, actors: Sequence[Any], labels: Sequence[str], input_size: int, pick: int):
        if not actors:
            raise ValueError("a detector pool needs at least one actor")
        self._actor = actors[pick % len(actors)]  # cameras spread over the pool's actors
        self._labels = tuple(labels)
        self.input_size = input_size
        self.sent_bytes = 0
        self.requests = 0

    @property
    def labels(self) -> Sequence[str]:
        return self._labels

    def detect(self, image: np.ndarray) -> list[Detection]:
        import ray

        height, width = image.shape[:2]
        scale = min(1.0, self.input_size / max(height, width))
        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        else:
            small = np.ascontiguousarray(image)  # not a view into the shared-memory ring
        self.sent_bytes += small.nbytes
        self.requests += 1
        found: list[Detection] = ray.get(
            self._actor.detect.remote(small), timeout=REQUEST_TIMEOUT_S
        )
        if small.shape[:2] == (height, width):
            return found
        bx, by = width / small.shape[1], height / small.shape[0]
        return [
            replace(d, box=Box(d.box.x * bx, d.box.y * by, d.box.w * bx, d.box.h * by))
            for d in found
        ]
