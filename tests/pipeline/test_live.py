"""The live runner on real clips: decoder processes, shared memory, health, restarts, events."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.conftest import CAR_CLIP
from tests.sources.conftest import RtspServer, free_port, rtsp_server, rtsp_tools  # noqa: F401
from vigil.bus import LocalBus
from vigil.config import VigilConfig
from vigil.pipeline.live import LiveRunner, LiveSettings
from vigil.rules.engine import AlertService, RuleEngine
from vigil.server import demo_config
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.queries import Filters, search_alerts, search_events

FAST = LiveSettings(offline_after=1.5, backoff_initial=0.3, backoff_max=1.0, stop_timeout=3.0)


class Recorder:
    """A Bus that keeps what was published (the live runner only publishes)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def publish(self, message: dict[str, Any]) -> None:
        self.messages.append(dict(message))

    def topic(self, name: str) -> list[dict[str, Any]]:
        return [m for m in list(self.messages) if m["topic"] == name]


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def car_camera(cam_id: str = "car-park", source: str = str(CAR_CLIP), **extra: Any) -> dict:
    return {
        "id": cam_id,
        "source": source,
        "loop": True,
        "detector": {"kind": "motion"},
        "objects": {"labels": ["motion"], "min_score": 0.5, "min_area": 0.01},
        "lines": [
            {"name": "middle", "a": [0, 0.5], "b": [1, 0.5], "in_side": "left", "anchor": "center"}
        ],
        **extra,
    }


def segments(prefix: str) -> list[str]:
    return [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(f"sqlite:///{tmp_path / 'v.db'}")
    yield s
    s.close()


def test_camera_goes_online_frames_flow_through_shared_memory_and_stop_cleans_up(
    store: Store, tmp_path: Path
) -> None:
    config = VigilConfig.model_validate({"cameras": [car_camera()]})
    bus = Recorder()
    runner = LiveRunner(config, store, bus, tmp_path, settings=FAST)
    runner.start()
    try:
        wait_for(lambda: runner.status()["car-park"].online, 20, "the camera to go online")
        worker = runner.worker("car-park")
        assert worker is not None
        assert segments(runner.ring_prefix), "frames should pass through /dev/shm"
        first = wait_for(worker.view.latest, 5, "a live frame")
        wait_for(lambda: worker.view.latest().seq > first.seq + 10, 5, "frames to keep coming")  # type: ignore[union-attr]
        status = runner.status()["car-park"]
        assert (status.width, status.height) == (768, 432)
        assert status.fps is not None and 8 < status.fps < 16  # the clip plays at 12.5 fps
        jpeg = worker.view.jpeg(boxes=True)
        assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (432, 768, 3)
        online = bus.topic("camera")[-1]
        assert online["camera"] == "car-park" and online["online"] is True
        assert multiprocessing.active_children(), "the decoder runs in its own process"
    finally:
        runner.stop()
    assert segments(runner.ring_prefix) == []
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("vigil-")]
    runner.stop()  # twice is fine


def test_missing_file_and_unreachable_stream_are_offline_with_errors_others_keep_running(
    store: Store, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there
    config = VigilConfig.model_validate(
        {
            "cameras": [
                car_camera(),
                {"id": "gone", "source": str(tmp_path / "no-such-clip.mp4")},
                {"id": "dark", "source": f"rtsp://127.0.0.1:{port}/cam"},
            ]
        }
    )
    bus = Recorder()
    runner = LiveRunner(config, store, bus, tmp_path, settings=FAST)
    runner.start()
    try:
        wait_for(lambda: runner.status()["car-park"].online, 20, "the good camera")

        def errors() -> bool:
            st = runner.status()
            return bool(st["gone"].error and st["dark"].error)

        wait_for(errors, 15, "both broken cameras to report an error")
        st = runner.status()
        assert not st["gone"].online and "does not exist" in (st["gone"].error or "")
        assert not st["dark"].online and f"127.0.0.1:{port}" in (st["dark"].error or "")
        assert st["gone"].offline_since is not None and st["dark"].offline_since is not None
        # The missing file is retried with back-off (it may appear); the runner carries on.
        wait_for(lambda: runner.status()["gone"].restarts >= 2, 10, "retries of the missing file")
        assert runner.status()["car-park"].online
        gone = [m for m in bus.topic("camera") if m["camera"] == "gone"]
        assert gone and "does not exist" in gone[-1]["error"]
    finally:
        runner.stop()
    assert segments(runner.ring_prefix) == []


def test_dead_decoder_is_restarted_and_a_stalled_one_shows_offline(
    store: Store, tmp_path: Path
) -> None:
    config = VigilConfig.model_validate({"cameras": [car_camera()]})
    runner = LiveRunner(config, store, Recorder(), tmp_path, settings=FAST)
    runner.start()
    try:
        worker = runner.worker("car-park")
        assert worker is not None
        wait_for(lambda: runner.status()["car-park"].online, 20, "the camera to go online")
        decoder = worker.supervisor._decoder
        assert decoder is not None and decoder.process.pid is not None
        os.kill(decoder.process.pid, signal.SIGSTOP)  # a hung decoder: no frames, no exit
        try:
            wait_for(lambda: not runner.status()["car-park"].online, 5, "offline after 1.5 s")
            assert "no frames for 1.5 s" in (runner.status()["car-park"].error or "")
        finally:
            os.kill(decoder.process.pid, signal.SIGCONT)
        wait_for(lambda: runner.status()["car-park"].online, 5, "back online")
        os.kill(decoder.process.pid, signal.SIGKILL)  # a crashed decoder
        wait_for(lambda: runner.status()["car-park"].restarts == 1, 10, "a restart")
        wait_for(lambda: runner.status()["car-park"].online, 20, "online after the restart")
        assert worker.supervisor._decoder is not None and worker.supervisor._decoder is not decoder
        assert len(segments(runner.ring_prefix)) == 1  # the dead decoder's ring is gone
    finally:
        runner.stop()
    assert segments(runner.ring_prefix) == []


@pytest.mark.slow
def test_stream_that_goes_away_shows_offline_and_comes_back_by_itself(
    store: Store,
    tmp_path: Path,
    rtsp_server: RtspServer,  # noqa: F811
) -> None:
    config = VigilConfig.model_validate({"cameras": [car_camera("street", rtsp_server.url)]})
    runner = LiveRunner(config, store, Recorder(), tmp_path, settings=FAST)
    runner.start()
    try:
        wait_for(lambda: runner.status()["street"].online, 30, "the stream to go online")
        rtsp_server.kill()
        wait_for(lambda: not runner.status()["street"].online, 10, "offline when the server dies")
        rtsp_server.start()
        wait_for(lambda: runner.status()["street"].online, 30, "back online by itself")
        assert runner.status()["street"].restarts == 0  # the stream reconnected in its decoder
    finally:
        runner.stop()
    assert segments(runner.ring_prefix) == []


@pytest.mark.slow
def test_demo_config_produces_events_alerts_and_snapshots(store: Store, tmp_path: Path) -> None:
    config = demo_config()

    async def main() -> list[dict[str, Any]]:
        bus = LocalBus()
        sub = bus.subscribe(["event", "alert"])
        alerts = AlertService(Alerts(store), bus, RuleEngine(config.rules))
        runner = LiveRunner(config, store, bus, tmp_path, alerts=alerts, settings=FAST)
        runner.start()
        got: list[dict[str, Any]] = []
        try:
            deadline = time.monotonic() + 40
            # The clips' first happenings: a car crosses inbound at 7 s, a person enters the
            # table zone at 8 s.
            while time.monotonic() < deadline:
                message = await sub.get(timeout=1)
                if message is not None:
                    got.append(message)
                kinds = {(m["topic"], m.get("type"), m["camera"]) for m in got}
                if {("alert", "line_cross", "car-park"), ("event", "zone_enter", "lobby")} <= kinds:
                    break
            assert all(s.online for s in runner.status().values())
        finally:
            await asyncio.to_thread(runner.stop)
        return got

    got = asyncio.run(main())
    kinds = {(m["topic"], m.get("type"), m["camera"]) for m in got}
    assert ("event", "line_cross", "car-park") in kinds
    assert ("alert", "line_cross", "car-park") in kinds
    assert ("event", "zone_enter", "lobby") in kinds
    entering = next(m for m in got if m.get("type") == "zone_enter")
    assert entering["zone"] == "table" and entering["label"] == "person"
    assert 0 <= time.time() - entering["captured_at"] < 60
    stored = search_events(store, Filters(camera="lobby", type="zone_enter")).items
    assert stored and stored[0].snapshot is not None
    assert (tmp_path / stored[0].snapshot).read_bytes()[:2] == b"\xff\xd8"
    (alert,) = [a for a in search_alerts(store, Filters()).items if a.rule == "car park entry"][:1]
    assert alert.status == "candidate" and alert.event_id is not None


def test_a_drone_clip_s_telemetry_reaches_the_analysis_through_the_decoder_process(
    tmp_path: Path,
) -> None:
    """The ring carries pictures only; the decoder's frame messages carry where the camera
    was, so a live drone or body camera keeps its positions (GPMF of the Karma clip)."""
    from vigil.config.camera import CameraConfig
    from vigil.domain import Frame
    from vigil.pipeline.health import HealthTracker
    from vigil.pipeline.supervisor import DecoderSupervisor

    clip = Path(__file__).parents[1] / "fixtures" / "telemetry" / "karma_4s.mp4"
    camera = CameraConfig(id="drone", source=str(clip), loop=False)

    class Keep:
        def __init__(self) -> None:
            self.frames: list[tuple[float, Any]] = []

        def on_frame(self, frame: Frame) -> None:
            self.frames.append((frame.timestamp, frame.telemetry))

        def on_stream_end(self) -> None:
            pass

    keep = Keep()
    supervisor = DecoderSupervisor(
        camera, FAST.supervision(), multiprocessing.get_context("spawn"),
        f"vigil-test-{os.getpid()}-tele", HealthTracker("drone", 5.0),
    )  # fmt: skip
    stopping = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stopping, keep, lambda: None))
    thread.start()
    try:
        wait_for(lambda: len(keep.frames) >= 30 or supervisor.ended, 60, "30 frames")
    finally:
        stopping.set()
        thread.join(20)
    placed = [(ts, t) for ts, t in keep.frames if t is not None]
    assert len(placed) >= 0.9 * len(keep.frames) and len(keep.frames) >= 30, keep.frames[:3]
    for ts, t in placed:
        assert t.lat is not None and t.lon is not None
        assert abs(t.t - ts) <= 1.0, (ts, t.t)  # aligned by the decoder, a frame or so late
