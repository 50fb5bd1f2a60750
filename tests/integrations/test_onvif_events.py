"""ONVIF PullPoint events (onvif-zeep-async against the project's own ONVIF event service,
tests/integrations/onvif_events_server.py): a camera's motion message becomes a Vigil event
and wakes the detector of a camera whose motion gate sleeps; tampering is an event too; the
subscription is renewed and ended; wrong credentials and an absent service are one line and a
status, tried again with back-off, never a crash."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from tests.conftest import PERSON_CLIP
from tests.integrations.onvif_events_server import EventsServer
from tests.pipeline.test_live import FAST, Recorder, wait_for
from vigil.config import VigilConfig
from vigil.config.onvif import OnvifConfig
from vigil.domain import EventType
from vigil.integrations.onvif_events import Notice, OnvifEvents, kind_of, plain_topic
from vigil.pipeline.live import LiveRunner
from vigil.store.db import Store

pytestmark = pytest.mark.timeout(60)
MOTION = "tns1:RuleEngine/CellMotionDetector/Motion"
TAMPER = "tns1:VideoSource/GlobalSceneChange/ImagingService"


@pytest.fixture
def server() -> Iterator[EventsServer]:
    srv = EventsServer(user="vigil", password="s3cret").start()
    yield srv
    srv.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'v.db'}")
    yield s
    s.close()


def still_clip(path: Path, seconds: float = 30.0, fps: int = 5) -> Path:
    """The lobby's first picture, unchanging, as H.264: a camera whose motion gate sleeps."""
    with av.open(str(PERSON_CLIP)) as src:
        first = next(src.decode(video=0)).to_ndarray(format="bgr24")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = first.shape[1], first.shape[0], "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(first, format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def onvif_section(server: EventsServer, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1", "port": server.port, "user": "vigil",
        "password_env": "VIGIL_TEST_ONVIF_PW", "subscription_s": 10, "pull_timeout_s": 1,
        "reconnect_min_s": 0.2, "reconnect_max_s": 1.0, "wake_s": 3, **extra,
    }  # fmt: skip


def test_topics_are_read_without_their_namespace_prefixes() -> None:
    assert plain_topic("tns1:RuleEngine/tnsaxis:CellMotionDetector/Motion") == (
        "RuleEngine/CellMotionDetector/Motion"
    )
    assert kind_of(plain_topic("tns1:VideoSource/MotionAlarm")) == EventType.CAMERA_MOTION
    assert kind_of(plain_topic(TAMPER)) == EventType.CAMERA_TAMPER
    assert kind_of("VideoSource/ImageTooBlurry/AnalyticsService") == EventType.CAMERA_TAMPER
    assert kind_of("Device/Trigger/DigitalInput") is None
    assert kind_of("VideoSource/MotionAlarmX") is None  # a prefix of a segment is not a match


def test_motion_becomes_an_event_and_wakes_a_sleeping_gate(
    server: EventsServer, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_TEST_ONVIF_PW", "s3cret")
    clip = still_clip(tmp_path / "still.mp4")
    config = VigilConfig.model_validate({"cameras": [{
        "id": "lobby", "source": str(clip), "loop": True, "detect": {"fps": 5, "size": 320},
        "onvif": onvif_section(server),
    }]})  # fmt: skip
    bus = Recorder()
    runner = LiveRunner(config, store, bus, tmp_path, settings=FAST)
    runner.start()
    try:
        worker = runner.worker("lobby")
        assert worker is not None and worker.onvif is not None
        wait_for(lambda: worker.onvif.status.state == "subscribed", 20, "the subscription")
        wait_for(lambda: worker.analysis._pipeline is not None, 20, "the camera's first frame")
        pipeline = worker.analysis._pipeline
        assert pipeline is not None
        seen = pipeline.stats.frames
        wait_for(lambda: pipeline.stats.frames >= seen + 10, 10, "two seconds of still frames")
        asleep = pipeline.stats.detector_calls
        assert asleep <= 2 and pipeline.stats.awake_calls == 0, "a still picture: the gate sleeps"

        server.push(MOTION, {"IsMotion": "true"})
        wait_for(lambda: store.count_events("lobby", "camera_motion") == 1, 10, "the event row")
        wait_for(lambda: pipeline.stats.awake_calls >= 5, 10, "the detector woken at 5/s")
        assert pipeline.stats.detector_calls >= asleep + 5
        events = [m for m in bus.topic("event") if m["type"] == "camera_motion"]
        assert len(events) == 1 and events[0]["camera"] == "lobby"
        assert events[0]["attributes"]["onvif_topic"] == "RuleEngine/CellMotionDetector/Motion"

        server.push(MOTION, {"IsMotion": "true"})  # still on: not a new event
        server.push(MOTION, {"IsMotion": "false"})
        server.push(TAMPER, {"State": "true"})
        wait_for(lambda: store.count_events("lobby", "camera_tamper") == 1, 10, "the tamper row")
        assert store.count_events("lobby", "camera_motion") == 1
        server.push(MOTION, {"IsMotion": "true"})  # off, then on again: a second event
        wait_for(lambda: store.count_events("lobby", "camera_motion") == 2, 10, "a second one")
        assert worker.outputs.counters().events["camera_motion"] == 2
        assert server.wait_for("Renew", 1, timeout=15), "renewed before the 10 s ran out"
    finally:
        runner.stop()
    assert server.calls["Unsubscribe"] == 1, "the subscription is ended at stop"
    assert worker.onvif.status.state == "stopped"


def notices_of(cfg: OnvifConfig) -> tuple[OnvifEvents, list[Notice]]:
    got: list[Notice] = []
    return OnvifEvents("gate", cfg, got.append), got


def test_wrong_credentials_are_one_line_and_retried_until_fixed(
    server: EventsServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("VIGIL_TEST_ONVIF_PW", "wrong")
    sub, got = notices_of(OnvifConfig.model_validate(onvif_section(server)))
    with caplog.at_level(logging.WARNING, "vigil.integrations.onvif_events"):
        sub.start()
        try:
            wait_for(lambda: sub.failures >= 2, 10, "two refused attempts")
            assert sub.status.state == "failing"
            assert "refused the credentials of user 'vigil'" in (sub.status.reason or "")
            lines = [r.getMessage() for r in caplog.records if "ONVIF events" in r.getMessage()]
            assert lines and all("\n" not in line for line in lines)
            assert "refused the credentials" in lines[0] and "trying again" in lines[0]
            assert server.refused >= 2
            monkeypatch.setenv("VIGIL_TEST_ONVIF_PW", "s3cret")  # fixed: it subscribes
            wait_for(lambda: sub.status.state == "subscribed", 10, "the subscription")
            server.push("tns1:VideoSource/MotionAlarm", {"State": "true"})
            wait_for(lambda: got, 10, "the notice")
            assert got[0].kind == EventType.CAMERA_MOTION and got[0].topic == (
                "VideoSource/MotionAlarm"
            )
        finally:
            sub.stop()
    assert not any(r.exc_info for r in caplog.records), "no traceback for a user's mistake"


def test_an_absent_service_is_a_status_not_a_crash(server: EventsServer) -> None:
    port = server.port
    server.stop()  # nothing listens there any more
    cfg = OnvifConfig.model_validate({"host": "127.0.0.1", "port": port, "reconnect_min_s": 0.1,
                                      "reconnect_max_s": 0.4})  # fmt: skip
    sub, _got = notices_of(cfg)
    sub.start()
    try:
        wait_for(lambda: sub.failures >= 3, 10, "three failed attempts")
        assert sub.status.state == "failing"
        assert f"127.0.0.1:{port}" in (sub.status.reason or "")
        assert "nothing accepts connections" in (sub.status.reason or "")
    finally:
        sub.stop()
    assert sub.status.state == "stopped"


def test_a_wrong_onvif_section_is_a_config_error_naming_its_line(tmp_path: Path) -> None:
    from vigil.config import load_config
    from vigil.errors import ConfigError

    path = tmp_path / "vigil.yml"
    path.write_text(
        "cameras:\n  - id: gate\n    source: rtsp://192.0.2.10/stream1\n"
        "    onvif:\n      host: 192.0.2.10\n      password_env: GATE_PW\n      wake: 5\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "line 7: unknown key 'wake' at cameras.0.onvif.wake" in str(err.value)
    assert "wake_s" in str(err.value)  # the keys allowed there
    path.write_text(path.read_text().replace("      wake: 5\n", ""))
    with pytest.raises(ConfigError, match="onvif password_env needs a user"):
        load_config(path)
