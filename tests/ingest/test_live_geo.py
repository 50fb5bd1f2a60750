"""A live moving camera: its view (where it is, the ground it sees) published on the bus as it
moves, its path kept a point a second; the live runner's outputs, fed real frames with
telemetry (karma's flight)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from vigil.bus import LocalBus
from vigil.config import CameraConfig, VigilConfig
from vigil.geo import haversine_m
from vigil.ingest.live import LiveGeo
from vigil.pipeline.camera import CameraPipeline, detector_for_camera
from vigil.pipeline.worker import CameraOutputs
from vigil.sources.file import FileSource
from vigil.store.db import Store
from vigil.store.tables import CameraPositionRow

KARMA = Path(__file__).resolve().parent.parent / "fixtures" / "telemetry" / "karma_4s.mp4"


async def _run(tmp_path: Path) -> list[dict[str, object]]:
    bus = LocalBus()
    sub = bus.subscribe(["view"])
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    cam = CameraConfig.model_validate(
        {"id": "eagle", "source": str(KARMA), "mount": {"hfov": 90, "ground_alt": 0}}
    )
    store.save_camera(cam.to_camera())
    config = VigilConfig()
    outputs = CameraOutputs(cam.id, store, tmp_path, bus, None, geo=LiveGeo(cam, store, bus))
    source = FileSource(cam.id, KARMA)
    frames = list(source.frames())
    pipeline = CameraPipeline(cam, config, detector_for_camera(config, cam), (320, 178))
    outputs.start_stream(1_800_000_000.0)
    for frame in frames:
        outputs.handle(frame, pipeline.process(frame))
    outputs.handle(None, pipeline.finish(frames[-1].timestamp))
    outputs.end_stream()
    messages = []
    while (message := await sub.get(timeout=0)) is not None:
        messages.append(message)
    with store.session() as s:
        path = list(s.scalars(select(CameraPositionRow).order_by(CameraPositionRow.at)))
    store.close()
    assert [round(p.media_time) for p in path] == [0, 1, 2, 3]  # a point a second
    assert all(p.clip_id is None and p.camera_id == "eagle" for p in path)
    return messages


def test_a_moving_cameras_view_is_published_as_it_moves(tmp_path: Path) -> None:
    messages = asyncio.run(_run(tmp_path))
    # 4 s of video: a view at most twice a second, each with its ground quadrilateral.
    assert 7 <= len(messages) <= 9
    for m in messages:
        assert m["camera"] == "eagle" and isinstance(m["footprint"], list)
        corners = [c for c in m["footprint"] if c is not None]
        assert len(corners) >= 2  # the near edge at least (the far one may be past the horizon)
        for c in corners:
            assert haversine_m((m["lat"], m["lon"]), (c[0], c[1])) < 2_000  # type: ignore[arg-type]
    first, last = messages[0], messages[-1]
    moved = haversine_m((first["lat"], first["lon"]), (last["lat"], last["lon"]))  # type: ignore[arg-type]
    assert moved > 5  # the drone flew on, and its view with it
    assert first["footprint"] != last["footprint"]


def test_a_moving_cameras_path_is_kept_as_long_as_positions(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from vigil.incidents.units import purge_positions
    from vigil.ingest.clips import Clips
    from vigil.ingest.geotag import PathPoint

    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    points = [PathPoint(t, 33.0, -117.0, 10.0, None, None) for t in (0.0, 1.0, 2.0)]
    Clips(store).add_path(None, "eagle", 1_700_000_000.0, points)  # 2023-11-14
    Clips(store).add_path(None, "eagle", 1_800_000_000.0, points)  # 2027-01-15
    cut = datetime(2026, 1, 1, tzinfo=UTC)
    with store.session() as s, s.begin():
        assert purge_positions(s, cut, dry_run=True) == 3
        assert purge_positions(s, cut) == 3
    with store.session() as s:
        kept = list(s.scalars(select(CameraPositionRow)))
    assert len(kept) == 3 and all(p.at.year == 2027 for p in kept)
    store.close()


def test_a_long_tracks_trail_is_thinned_keeping_its_ends() -> None:
    import numpy as np

    from vigil.domain import Box, Frame, Track, TrackState
    from vigil.geo import GroundMap
    from vigil.ingest.geotag import MAX_TRAIL, FixedPlacer, GeoTagger

    ground = GroundMap(
        [(0, 0), (1, 0), (1, 1), (0, 1)],
        [(52.001, 4.370), (52.001, 4.3716), (52.0, 4.3716), (52.0, 4.370)],
    )
    geo = GeoTagger(FixedPlacer(ground))
    image = np.zeros((90, 160, 3), np.uint8)
    n = 2 * MAX_TRAIL + 501
    for i in range(n):
        ts = i / 10
        box = Box(10 + i % 100, 40, 10, 20)
        track = Track(7, "person", box, 0.9, TrackState.CONFIRMED, 0.0, ts)
        geo.observe(Frame("c", i, ts, image), [track], True)
    trail = geo.trails[7]
    times = [p[0] for p in trail]
    assert MAX_TRAIL // 2 <= len(trail) <= MAX_TRAIL
    assert times[0] == 0.0 and times[-1] == round((n - 1) / 10, 3) and times == sorted(times)
