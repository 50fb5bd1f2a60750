"""The camera directory over the real NATS server: a worker's cameras (health, counters,
pictures, tracks) as the web app sees them, and what it sees when the worker goes away."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import NATS_URL
from tests.pipeline.test_live import wait_for
from vigil.bus.nats import NatsBus
from vigil.bus.remote import STOPPED_REPORTING, DirectoryServer, RemoteDirectory
from vigil.config import BusConfig
from vigil.domain import Box, Track, TrackState
from vigil.pipeline.directory import CameraCounters, LivePicture, LiveTracks
from vigil.pipeline.health import CameraStatus

NOW = 1_800_000_000.0


class Cameras:
    """A camera directory with one camera ("gate.1"), as a worker's LocalDirectory answers."""

    live = True

    def __init__(self) -> None:
        self.seq = 5

    def statuses(self) -> dict[str, CameraStatus]:
        return {"gate.1": CameraStatus("gate.1", True, None, NOW, None, 12.5, 99, 2, 1, 640, 360)}

    def counters(self) -> dict[str, CameraCounters]:
        return {"gate.1": CameraCounters({"appear": 3, "line_cross": 2}, 1)}

    def picture(self, camera_id: str, boxes: bool, known_seq: int = -1) -> LivePicture | None:
        if camera_id != "gate.1" or known_seq == self.seq:
            return None
        jpeg = b"\xff\xd8 boxes" if boxes else b"\xff\xd8 plain"
        return LivePicture(camera_id, self.seq, NOW, 640, 360, jpeg)

    def tracks(self, camera_id: str) -> LiveTracks | None:
        track = Track(4, "car", Box(1, 2, 30, 40), 0.8, TrackState.CONFIRMED, 1.0, 2.5)
        return LiveTracks(camera_id, self.seq, NOW, 640, 360, (track,), {"middle": {"in": 2}})


@pytest.fixture
def buses(nats_prefix: str) -> Iterator[tuple[NatsBus, NatsBus]]:
    config = BusConfig(url=NATS_URL, prefix=nats_prefix)
    worker, web = NatsBus(config), NatsBus(config, consumer="web")
    try:
        yield worker, web
    finally:
        web.close()
        worker.close()


def test_the_web_app_sees_a_workers_cameras(buses: tuple[NatsBus, NatsBus]) -> None:
    worker, web = buses
    server = DirectoryServer(worker, Cameras(), report_s=0.2)
    remote = RemoteDirectory(web, stale_after=2.0)
    server.start()
    try:
        status = wait_for(lambda: remote.statuses().get("gate.1"), 10, "the first report")
        assert status.online and status.fps == 12.5 and (status.width, status.height) == (640, 360)
        assert status.last_frame_time == pytest.approx(NOW)
        assert remote.counters()["gate.1"] == CameraCounters({"appear": 3, "line_cross": 2}, 1)
        picture = remote.picture("gate.1", boxes=True)
        assert picture == LivePicture("gate.1", 5, NOW, 640, 360, b"\xff\xd8 boxes")
        assert remote.picture("gate.1", boxes=False, known_seq=5) is None  # nothing newer
        assert remote.picture("nope", boxes=False) is None
        tracks = remote.tracks("gate.1")
        assert tracks is not None and tracks.counts == {"middle": {"in": 2}}
        assert tracks.tracks[0].box == Box(1, 2, 30, 40) and tracks.tracks[0].label == "car"
    finally:
        server.stop()
        remote.close()


def test_a_worker_that_stops_reporting_is_offline_and_the_clients_are_told(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    worker, web = buses

    async def main() -> list[dict[str, Any]]:
        sub = web.subscribe(["camera"])
        server = DirectoryServer(worker, Cameras(), report_s=0.2)
        remote = RemoteDirectory(web, stale_after=1.0)
        server.start()
        try:
            await asyncio.to_thread(wait_for, lambda: remote.statuses(), 10, "a report")
            heard = await sub.get(timeout=10)  # first heard of: the clients are told
            assert heard is not None and heard["online"] is True
            server.stop()  # the worker dies: no more reports
            gone = await sub.get(timeout=10)
            assert remote.statuses()["gate.1"].error == STOPPED_REPORTING
            assert remote.picture("gate.1", boxes=False) is None  # nobody answers: quickly
            server.start()  # ... and comes back
            back = await sub.get(timeout=10)
            return [gone, back]
        finally:
            server.stop()
            remote.close()
            sub.close()

    gone, back = asyncio.run(main())
    assert gone["camera"] == "gate.1" and gone["online"] is False
    assert gone["error"] == STOPPED_REPORTING and gone["offline_since"] is not None
    assert back["camera"] == "gate.1" and back["online"] is True


def test_a_web_app_that_starts_later_tells_its_clients_of_each_camera_at_once(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    """The worker's health messages say what changes; a web app started after the worker
    learns the state from the first report, and tells its live clients."""
    worker, web = buses

    async def main() -> dict[str, Any]:
        server = DirectoryServer(worker, Cameras(), report_s=0.2)
        server.start()
        sub = web.subscribe(["camera"])
        remote = RemoteDirectory(web, stale_after=2.0)
        try:
            first = await sub.get(timeout=10)
            assert first is not None
            return first
        finally:
            server.stop()
            remote.close()
            sub.close()

    told = asyncio.run(main())
    assert told["camera"] == "gate.1" and told["online"] is True and told["fps"] == 12.5
