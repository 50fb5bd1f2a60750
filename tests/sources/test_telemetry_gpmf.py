"""GoPro GPMF in MP4: the Karma drone's GPS and attitude, a GoPro MAX walk, GPS5 and GPS9."""

from __future__ import annotations

import datetime as dt
import math
import struct
from pathlib import Path

import numpy as np
import pytest

import vigil
from vigil.domain import Telemetry
from vigil.sources.telemetry.common import TelemetryError
from vigil.sources.telemetry.gpmf import decode_payloads, read_gpmf

FIXTURES = Path(__file__).parents[1] / "fixtures" / "telemetry"
KARMA = FIXTURES / "karma_4s.mp4"
WALK = FIXTURES / "max-heromode_gpmf.mp4"
NO_TELEMETRY = Path(vigil.__file__).parent / "assets" / "car-detection.mp4"


def _metres(a: Telemetry, b: Telemetry) -> tuple[float, float]:
    """(north, east) metres from a to b (equirectangular: fine over tens of metres)."""
    assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
    k = math.cos(math.radians(a.lat))
    return (b.lat - a.lat) * 111_195.0, (b.lon - a.lon) * 111_195.0 * k


def _windows(samples: list[Telemetry], seconds: float) -> list[tuple[Telemetry, Telemetry]]:
    """Pairs of samples about `seconds` apart (GPS noise dominates over shorter spans)."""
    pairs = []
    for i, a in enumerate(samples):
        b = next((s for s in samples[i:] if s.t - a.t >= seconds), None)
        if b is not None:
            pairs.append((a, b))
    return pairs


def test_karma_track_is_the_drone_flying_north_west_along_the_coast() -> None:
    samples = list(read_gpmf(KARMA))
    assert len(samples) >= 12  # GPRI fixes at about 4 Hz over 4 s
    times = [s.t for s in samples]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert 0.0 <= times[0] < 0.5 and 3.0 < times[-1] <= 4.0
    for s in samples:
        assert s.source == "gpmf" and s.fix == 3
        # Carlsbad, California: the beach where the sample was flown.
        assert s.lat is not None and abs(s.lat - 33.1254) < 0.002
        assert s.lon is not None and abs(s.lon + 117.3311) < 0.002
        assert s.alt is not None and 0 < s.alt < 100
    for a, b in _windows(samples, 1.0):
        north, east = _metres(a, b)
        moved = math.hypot(north, east) / (b.t - a.t)
        reported = float(np.mean([s.speed_mps for s in samples if a.t <= s.t <= b.t]))
        # Positions and times agree with the receiver's own speed: timing and scaling right.
        assert moved == pytest.approx(reported, abs=0.6)
        if moved > 1.0:
            course = math.degrees(math.atan2(east, north)) % 360
            # The flight controller's yaw (ATTD) points where the drone goes (it flies forward).
            assert a.heading is not None
            assert abs((a.heading - course + 180) % 360 - 180) < 10


def test_karma_attitude_is_the_flight_controllers_in_degrees() -> None:
    samples = list(read_gpmf(KARMA))
    assert all(None not in (s.heading, s.pitch, s.roll) for s in samples)
    # Accelerating forward from a hover a multirotor pitches its nose down, not over 45 degrees.
    assert all(-45 < (s.pitch or 0) < 5 for s in samples)
    assert min(s.pitch or 0 for s in samples) < -5
    assert all(abs(s.roll or 0) < 30 for s in samples)


def test_max_heromode_track_is_a_walk() -> None:
    samples = list(read_gpmf(WALK))
    assert len(samples) > 150  # GPS5 at 18 Hz over 10.5 s
    assert all(s.fix == 3 for s in samples)
    times = [s.t for s in samples]
    assert times == sorted(times) and times[-1] > 10.0
    path = sum(math.hypot(*_metres(a, b)) for a, b in zip(samples, samples[1:], strict=False))
    straight = math.hypot(*_metres(samples[0], samples[-1]))
    duration = times[-1] - times[0]
    # Walking pace (0.5 - 2 m/s); along a line past the cars, not back and forth.
    assert 0.5 < path / duration < 2.0 and straight > 0.8 * path
    speeds = [math.hypot(*_metres(a, b)) / (b.t - a.t) for a, b in _windows(samples, 1.0)]
    assert max(speeds) < 2.5
    assert np.mean(speeds) == pytest.approx(np.mean([s.speed_mps for s in samples]), abs=0.3)
    # GPSU: the camera's UTC clock, 2019-11-18 about 23:45.
    first = dt.datetime.fromtimestamp(samples[0].wallclock or 0, dt.UTC)
    assert (first.year, first.month, first.day, first.hour) == (2019, 11, 18, 23)
    # A chest-height camera is near upright (tilt from its gravity vector).
    assert all(abs(s.pitch or 0) < 30 and abs(s.roll or 0) < 30 for s in samples)


def test_a_clip_without_telemetry_is_one_clear_error() -> None:
    with pytest.raises(TelemetryError, match="no GoPro GPMF telemetry") as err:
        read_gpmf(NO_TELEMETRY)
    assert "car-detection.mp4" in str(err.value) and "\n" not in str(err.value)


def test_a_file_that_is_not_a_video_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("not a video\n")
    with pytest.raises(TelemetryError, match="not a video file"):
        read_gpmf(path)


# -- GPS5 and GPS9: payloads written to GoPro's documented layout ------------------------


def _item(key: str, type_: str, size: int, repeat: int, data: bytes) -> bytes:
    header = key.encode() + type_.encode() + bytes([size]) + repeat.to_bytes(2, "big")
    return header + data + b"\0" * (-len(data) % 4)


def _nest(key: str, *items: bytes) -> bytes:
    body = b"".join(items)
    return _item(key, "\0", 1, len(body), body)


FIXES = [  # lat, lon, alt, 2-D speed, 3-D speed
    (47.3769021, 8.5417233, 408.123, 1.25, 1.31),
    (47.3769134, 8.5417310, 408.301, 1.31, 1.36),
    (47.3769250, 8.5417402, 408.412, 1.40, 1.44),
]
UTC = dt.datetime(2023, 5, 6, 10, 11, 12, 500000, tzinfo=dt.UTC)


def _gps5_payload() -> bytes:
    scal = (10_000_000, 10_000_000, 1000, 1000, 100)
    rows = b"".join(
        struct.pack(">5i", *(round(v * s) for v, s in zip(fix, scal, strict=True))) for fix in FIXES
    )
    return _nest(
        "DEVC",
        _nest(
            "STRM",
            _item("GPSF", "L", 4, 1, struct.pack(">I", 3)),
            _item("GPSU", "U", 16, 1, UTC.strftime("%y%m%d%H%M%S.%f")[:16].encode()),
            _item("SCAL", "l", 4, 5, struct.pack(">5i", *scal)),
            _item("GPS5", "l", 20, len(FIXES), rows),
        ),
    )


def _gps9_payload() -> bytes:
    scal = (10_000_000, 10_000_000, 1000, 1000, 100, 1, 1000, 100, 1)
    days = (UTC - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).days
    midnight = UTC.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = b""
    for i, fix in enumerate(FIXES):
        secs = (UTC - midnight).total_seconds() + i * 0.1
        values = (*fix, days, secs, 1.5, 3)
        ints = [round(v * s) for v, s in zip(values, scal, strict=True)]
        rows += struct.pack(">7i2H", *ints)
    return _nest(
        "DEVC",
        _nest(
            "STRM",
            _item("SCAL", "l", 4, 9, struct.pack(">9i", *scal)),
            _item("TYPE", "c", 1, 9, b"lllllllSS"),
            _item("GPS9", "?", 32, len(FIXES), rows),
        ),
    )


def test_gps9_and_gps5_of_the_same_fixes_agree() -> None:
    five = decode_payloads([(_gps5_payload(), 2.0, 0.3)], "gps5")
    nine = decode_payloads([(_gps9_payload(), 2.0, 0.3)], "gps9")
    assert len(five) == len(nine) == len(FIXES)
    for a, b, fix in zip(five, nine, FIXES, strict=True):
        assert a.t == pytest.approx(b.t) and 2.0 <= a.t < 2.3
        for s in (a, b):
            assert (s.lat, s.lon, s.alt, s.speed_mps) == pytest.approx(fix[:4], abs=1e-7)
            assert s.fix == 3
        assert a.wallclock == pytest.approx(b.wallclock, abs=1e-3)
    assert five[0].wallclock == pytest.approx(UTC.timestamp(), abs=1e-3)


def test_gps9_is_preferred_when_a_payload_has_both() -> None:
    both = _nest("DEVC", _gps9_payload()[8:], _gps5_payload()[8:])
    samples = decode_payloads([(both, 0.0, 1.0)], "both")
    assert len(samples) == len(FIXES)
    assert samples[1].wallclock == pytest.approx(UTC.timestamp() + 0.1, abs=1e-3)


def test_a_damaged_payload_is_reported_and_the_others_read() -> None:
    good = _gps5_payload()
    cut = good[: len(good) - 12]
    problems: list[str] = []
    samples = decode_payloads([(good, 0.0, 1.0), (cut, 1.0, 1.0)], "clip", problems.append)
    assert len(samples) == len(FIXES)
    assert len(problems) == 1 and "payload 2" in problems[0] and "damaged" in problems[0]
