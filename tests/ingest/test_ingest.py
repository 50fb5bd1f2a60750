"""`vigil ingest`: a body-camera or drone clip analysed with its telemetry; its path, tracks and
events placed where they were seen; a unit's clip on that unit's history; audited. Clips
without usable telemetry are analysed all the same, with a note saying so."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import CAR_CLIP
from tests.test_cli import assert_clear_error, vigil
from vigil.config import load_config
from vigil.domain import Telemetry
from vigil.geo import camera_view, haversine_m
from vigil.incidents.units import Units
from vigil.ingest.run import IngestRequest, ingest
from vigil.sources.telemetry import TelemetryTrack, read_telemetry
from vigil.store.db import Store
from vigil.store.tables import AuditRow, CameraPositionRow, ClipRow, EventRow, PositionRow, TrackRow

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "telemetry"
KARMA = FIXTURES / "karma_4s.mp4"
WALK = FIXTURES / "max-heromode_gpmf.mp4"
P4_SRT = FIXTURES / "dji" / "p4_rtk.SRT"
CAR_PARK = ROOT / "examples" / "car-park.yml"
KARMA_START = (33.125368, -117.3310641)  # karma.gpx's first point (gopro2gpx)
WALK_START = (33.12677, -117.3273436)


def _store(data: Path) -> Store:
    return Store(f"sqlite:///{data / 'vigil.db'}")


def _path(store: Store) -> list[CameraPositionRow]:
    with store.session() as s:
        q = select(CameraPositionRow).order_by(CameraPositionRow.media_time)
        return list(s.scalars(q))


def test_a_drone_clip_of_a_unit_goes_on_the_map_and_the_units_history(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = _store(data)
    Units(store).create("EAGLE-1", "drone")
    proc = vigil(
        "ingest", str(KARMA), "--unit", "EAGLE-1", "--ground-alt", "0", "--hfov", "90",
        "--data", str(data),
        "--purpose", "case 2026/15",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "clip 1: camera unit-EAGLE-1, 120 frames" in proc.stdout
    path = _path(store)
    assert len(path) == 120 and path[0].media_time == 0.0
    assert haversine_m((path[0].lat, path[0].lon), KARMA_START) < 1.0
    # A drone's flight, not a jump: under 20 m/s between frames, all within 100 m.
    for a, b in zip(path, path[1:], strict=False):
        dt = b.media_time - a.media_time
        assert dt > 0 and haversine_m((a.lat, a.lon), (b.lat, b.lon)) / dt < 20
    assert max(haversine_m((p.lat, p.lon), KARMA_START) for p in path) < 100
    # A view worked out (the Karma records heading, pitch and roll), the ground at 0 m.
    assert any(p.footprint and any(p.footprint) for p in path)
    with store.session() as s:
        clip = s.scalars(select(ClipRow)).one()
        positions = list(s.scalars(select(PositionRow).order_by(PositionRow.at)))
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "clips.ingest")).one()
    assert clip.status == "done" and clip.telemetry == "gpmf" and clip.unit_id is not None
    # The unit's timeline: the clip's GPS, one a second, source 'clip'.
    assert 3 <= len(positions) <= 5 and {p.source for p in positions} == {"clip"}
    assert all(p.unit_id == clip.unit_id for p in positions)
    assert audit.actor.startswith("cli:") and audit.purpose == "case 2026/15"
    assert audit.object_id == str(clip.id) and audit.details["path_points"] == 120
    store.close()


def test_a_walk_with_a_body_camera_is_a_walk(tmp_path: Path) -> None:
    """max-heromode: a GoPro MAX carried along a car park. Its GPS has no heading: the
    course over the ground gives it once the walker has gone a few metres."""
    proc = vigil("ingest", str(WALK), "--height", "1.3", "--hfov", "100", "--data", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    store = _store(tmp_path)
    path = _path(store)
    assert len(path) == 315 and haversine_m((path[0].lat, path[0].lon), WALK_START) < 1.0
    length = sum(
        haversine_m((a.lat, a.lon), (b.lat, b.lon)) for a, b in zip(path, path[1:], strict=False)
    )
    seconds = path[-1].media_time - path[0].media_time
    assert 10.0 < seconds < 11.0 and 0.5 < length / seconds < 2.5  # walking pace
    headed = [p.heading for p in path if p.heading is not None]
    assert len(headed) > 200  # from about 3 m on
    # The walk goes south-south-east along the building (by the GPS): so does its course.
    assert all(120 < h < 180 for h in headed)
    with store.session() as s:
        tracks = list(s.scalars(select(TrackRow)))
    assert tracks  # the far car (near the horizon: it may not be placed, the note says so)
    placed = [t for t in tracks if t.lat is not None]
    assert all(haversine_m((t.lat or 0, t.lon or 0), WALK_START) < 200 for t in placed)
    if len(placed) < len(tracks):
        assert "not placed on the map" in proc.stdout
    store.close()


def test_tracks_seen_from_a_drone_are_placed_in_its_view(tmp_path: Path) -> None:
    """The car park's clip (seen from above) with a P4 RTK's telemetry: each track's ground
    point lies, seen back through that frame's pose, at its box's bottom centre."""
    store = _store(tmp_path)
    config = load_config(CAR_PARK)
    req = IngestRequest(CAR_CLIP, "test", camera_id="car-park", telemetry=P4_SRT, hfov=84.0)
    result = ingest(store, tmp_path, config, req)
    assert result.placed >= 3 and result.path_points == 377
    track = TelemetryTrack(read_telemetry(CAR_CLIP, P4_SRT))
    with store.session() as s:
        tracks = list(s.scalars(select(TrackRow).where(TrackRow.trail.is_not(None))))
        events = list(s.scalars(select(EventRow).where(EventRow.lat.is_not(None))))
    assert len(tracks) == result.placed and events
    for t in tracks:
        assert t.trail is not None
        when, lat, lon = t.trail[-1]
        sample = track.at(when)
        assert sample is not None
        view = camera_view(_with_fov(sample, 84.0, 768, 432))
        fx, fy = view.to_image(lat, lon) or (math.nan, math.nan)
        x, y, w, h = t.box  # the track's last box (rounded to 0.1 px; may be warped once more
        # by camera-motion compensation after its last detection): within a few pixels
        assert abs(fx * 768 - (x + w / 2)) < 4.0 and abs(fy * 432 - (y + h)) < 4.0
        assert (t.lat, t.lon) == (lat, lon)
    store.close()


def _with_fov(sample: Telemetry, hfov: float, width: int, height: int) -> Telemetry:
    vfov = math.degrees(2 * math.atan(math.tan(math.radians(hfov) / 2) * height / width))
    return replace(sample, hfov=hfov, vfov=vfov)


def _with_ground(tmp_path: Path) -> Path:
    config_file = tmp_path / "vigil.yml"
    ground = (
        "    ground:\n      points:\n"
        "        - {image: [0, 0], lat: 52.0010, lon: 4.3700}\n"
        "        - {image: [1, 0], lat: 52.0010, lon: 4.3716}\n"
        "        - {image: [1, 1], lat: 52.0000, lon: 4.3716}\n"
        "        - {image: [0, 1], lat: 52.0000, lon: 4.3700}\n"
    )
    config_file.write_text(CAR_PARK.read_text().replace("    lines:\n", ground + "    lines:\n"))
    return config_file


def test_vigil_analyze_places_a_fixed_cameras_tracks(tmp_path: Path) -> None:
    config_file = _with_ground(tmp_path)
    proc = vigil("analyze", str(CAR_CLIP), "-c", str(config_file), "--data", str(tmp_path / "d"))
    assert proc.returncode == 0, proc.stderr
    store = _store(tmp_path / "d")
    with store.session() as s:
        tracks = list(s.scalars(select(TrackRow)))
        events = list(s.scalars(select(EventRow).where(EventRow.type == "line_cross")))
    assert len(tracks) >= 3 and all(t.lat is not None and t.trail for t in tracks)
    assert events and all(e.lat is not None and 52.0 <= e.lat <= 52.001 for e in events)
    store.close()


def test_a_fixed_cameras_tracks_are_placed_by_its_ground_map(tmp_path: Path) -> None:
    config = load_config(_with_ground(tmp_path))
    store = _store(tmp_path)
    result = ingest(store, tmp_path, config, IngestRequest(CAR_CLIP, "test", camera_id="car-park"))
    assert result.placed >= 3 and result.path_points == 0  # a fixed camera has no path
    gm = config.camera("car-park").ground
    assert gm is not None
    with store.session() as s:
        tracks = list(s.scalars(select(TrackRow).where(TrackRow.trail.is_not(None))))
    for t in tracks:
        assert t.lat is not None and t.lon is not None
        x, y, w, h = t.box
        lat, lon = gm.ground_map().to_latlon((x + w / 2) / 768, (y + h) / 432) or (0, 0)
        assert abs(lat - t.lat) < 1e-5 and abs(lon - t.lon) < 1e-5  # ~1 m, a few pixels
        assert 52.0 <= t.lat <= 52.001 and 4.37 <= t.lon <= 4.3716
    store.close()


@pytest.mark.parametrize(
    ("extra", "note"),
    [
        ((), "carries no telemetry"),
        (("--telemetry", str(FIXTURES / "dji" / "broken_empty.SRT")), "is empty"),
    ],
)
def test_a_clip_without_usable_telemetry_is_analysed_without_positions(
    tmp_path: Path, extra: tuple[str, ...], note: str
) -> None:
    proc = vigil("ingest", str(CAR_CLIP), "--data", str(tmp_path), *extra)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    notes = [ln for ln in proc.stdout.splitlines() if ln.startswith("note:")]
    assert any(note in ln and "without positions" in ln for ln in notes), proc.stdout
    store = _store(tmp_path)
    with store.session() as s:
        clip = s.scalars(select(ClipRow)).one()
    assert clip.status == "done" and clip.frames == 377 and clip.telemetry is None
    assert note in (clip.note or "") and _path(store) == []
    store.close()


def test_what_cannot_be_ingested_is_one_clear_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    assert_clear_error(
        vigil("ingest", str(text), "--data", str(tmp_path)), "notes.mp4", "not a video"
    )
    assert_clear_error(
        vigil("ingest", str(KARMA), "--unit", "NOBODY", "--data", str(tmp_path)), "no unit"
    )
    assert_clear_error(
        vigil("ingest", str(tmp_path / "gone.mp4"), "--data", str(tmp_path)), "no such file"
    )
    assert_clear_error(
        vigil("ingest", str(KARMA), "--hfov", "200", "--data", str(tmp_path)), "--hfov"
    )


def test_a_clip_is_ingested_into_postgresql_too(tmp_path: Path, pg_url: str) -> None:
    """The same tables on the scaled-out engine: the clip, its path with footprints (JSON),
    the unit's positions."""
    store = Store(pg_url)
    Units(store).create("EAGLE-3", "drone")
    req = IngestRequest(KARMA, "test", unit="EAGLE-3", hfov=90.0, ground_alt=0.0)
    result = ingest(store, tmp_path, load_config(CAR_PARK), req)
    assert result.clip.status == "done" and result.path_points == 120
    assert result.unit_positions >= 3
    path = _path(store)
    assert len(path) == 120 and haversine_m((path[0].lat, path[0].lon), KARMA_START) < 1.0
    assert any(p.footprint and any(p.footprint) for p in path)
    store.close()
