"""Telemetry at a frame's time, and file sources whose frames carry it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sources.conftest import CAR_CLIP
from vigil.domain import Telemetry
from vigil.errors import SourceError
from vigil.sources import FileSource, open_source
from vigil.sources.telemetry import TelemetryTrack, read_gpmf

FIXTURES = Path(__file__).parents[1] / "fixtures" / "telemetry"


def _sample(t: float, **values: float) -> Telemetry:
    return Telemetry(t=t, source="test", **values)  # type: ignore[arg-type]


def test_interpolates_between_samples_and_angles_the_short_way() -> None:
    track = TelemetryTrack(
        [_sample(0.0, lat=10.0, heading=350.0), _sample(1.0, lat=11.0, heading=10.0)]
    )
    mid = track.at(0.25)
    assert mid is not None and mid.t == 0.25
    assert mid.lat == pytest.approx(10.25)
    assert mid.heading == pytest.approx(355.0)  # not 265: through north
    assert track.at(1.0) == _sample(1.0, lat=11.0, heading=10.0)


def test_nearest_within_max_age_and_nothing_beyond() -> None:
    track = TelemetryTrack([_sample(5.0, lat=1.0), _sample(9.0, lat=2.0)], max_age=1.0)
    assert track.at(5.8) is not None and track.at(5.8).lat == 1.0  # type: ignore[union-attr]
    assert track.at(8.5) is not None and track.at(8.5).lat == 2.0  # type: ignore[union-attr]
    assert track.at(7.0) is None  # 2 s from either: the gap is too long to bridge
    assert track.at(3.9) is None and track.at(10.2) is None
    nearest = TelemetryTrack([_sample(0.0, lat=1.0), _sample(1.0, lat=2.0)], interpolated=False)
    assert nearest.at(0.4).lat == 1.0 and nearest.at(0.6).lat == 2.0  # type: ignore[union-attr]


def test_a_gopro_clip_s_frames_carry_the_gps_at_their_time() -> None:
    clip = FIXTURES / "karma_4s.mp4"
    samples = list(read_gpmf(clip))
    frames = list(FileSource("karma", clip).frames())
    assert len(frames) == 120
    # Frames one frame apart over the 4 s (a clip whose frames all sat at 0 s would meet only
    # the first fix), and the position moving with them.
    gaps = [b.timestamp - a.timestamp for a, b in zip(frames, frames[1:], strict=False)]
    assert all(abs(g - 1001 / 30000) < 1e-3 for g in gaps)
    lats = [f.telemetry.lat or 0.0 for f in frames if f.telemetry is not None]
    assert lats == sorted(lats) and lats[-1] - lats[0] > 1e-4  # > 11 m north
    with_position = [f for f in frames if f.telemetry is not None]
    # From the first fix (0.08 s) on, every frame has one.
    assert len(with_position) >= 117
    for frame in with_position:
        t = frame.telemetry
        assert t is not None and t.t == frame.timestamp and t.source == "gpmf"
        ts = frame.timestamp
        before = max((s for s in samples if s.t <= ts), key=lambda s: s.t, default=None)
        after = min((s for s in samples if s.t >= ts), key=lambda s: s.t, default=None)
        lats = [s.lat for s in (before, after) if s is not None and s.lat is not None]
        # Between the fixes either side of it (the drone flies north: lat increases).
        assert min(lats) - 1e-9 <= (t.lat or 0) <= max(lats) + 1e-9


def test_a_sidecar_gives_a_clip_its_telemetry() -> None:
    source = open_source("drone", str(CAR_CLIP), telemetry=str(FIXTURES / "dji" / "p4_rtk.SRT"))
    frames = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 40:
            break
    source.close()
    assert all(f.telemetry is not None and f.telemetry.source == "dji-srt" for f in frames)
    assert frames[0].telemetry.heading == pytest.approx(110.1)  # type: ignore[union-attr]


def test_a_clip_without_telemetry_has_frames_without_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        source = FileSource("cam", CAR_CLIP)
        frames = [f for _, f in zip(range(5), source.frames(), strict=False)]
    assert len(frames) == 5 and all(f.telemetry is None for f in frames)
    assert source.telemetry is None and not caplog.records


def test_a_broken_sidecar_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="is empty"):
        FileSource("drone", CAR_CLIP, telemetry=FIXTURES / "dji" / "broken_empty.SRT")
    with pytest.raises(SourceError, match="neither a DJI .SRT nor a raw KLV"):
        FileSource("drone", CAR_CLIP, telemetry=CAR_CLIP)
