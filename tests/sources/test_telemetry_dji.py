"""DJI .SRT sidecars: each dialect's position and time, attitude and gimbal, broken files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from vigil.domain import Telemetry
from vigil.sources.telemetry.common import TelemetryError
from vigil.sources.telemetry.dji_srt import read_dji_srt, relative_sensor_angles

DJI = Path(__file__).parents[1] / "fixtures" / "telemetry" / "dji"


def _read(name: str) -> tuple[list[Telemetry], list[str]]:
    problems: list[str] = []
    return list(read_dji_srt(DJI / name, on_problem=problems.append)), problems


# (file, blocks, first lat, first lon, seconds between blocks, a place the drone was)
DIALECTS = [
    ("mavic_pro.SRT", 468, -20.2533, 149.0251, 1.0),  # Queensland, Australia
    ("matrice_300.srt", 381, 36.6146, -6.1120, 1.0),  # Cadiz, Spain (lat first)
    ("p4_rtk.SRT", 55, -34.237922, -58.851745, 1.0),  # Buenos Aires province
    ("air2s.srt", 17, 41.424724, 2.234156, 0.0333),  # Barcelona
    ("mavic_air2.srt", 25, 41.420684, 2.162162, 0.0167),  # Barcelona
]


@pytest.mark.parametrize(("name", "blocks", "lat", "lon", "step"), DIALECTS)
def test_each_dialect_reads_every_block(
    name: str, blocks: int, lat: float, lon: float, step: float
) -> None:
    samples, problems = _read(name)
    assert problems == []
    assert len(samples) == blocks
    assert samples[0].lat == pytest.approx(lat) and samples[0].lon == pytest.approx(lon)
    times = [s.t for s in samples]
    assert times == sorted(times)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert sum(gaps) / len(gaps) == pytest.approx(step, rel=0.05)
    for s in samples:
        assert s.source == "dji-srt"
        # A drone's flight stays within a few km of where it started.
        assert abs((s.lat or 0) - lat) < 0.05 and abs((s.lon or 0) - lon) < 0.05


def test_heights_are_above_the_take_off_point_and_altitudes_absolute() -> None:
    pro, _ = _read("mavic_pro.SRT")
    assert pro[0].rel_alt == pytest.approx(1.9) and pro[0].alt is None
    assert max(s.rel_alt or 0 for s in pro) > 20  # it flew up
    rtk, _ = _read("p4_rtk.SRT")
    # HOME (..., -57.98m) plus H 85.80m
    assert rtk[0].rel_alt == pytest.approx(85.80) and rtk[0].alt == pytest.approx(27.82)
    air, _ = _read("air2s.srt")
    assert air[0].alt == pytest.approx(117.0) and air[0].rel_alt is None


def test_p4_rtk_aircraft_attitude_and_gimbal() -> None:
    samples, _ = _read("p4_rtk.SRT")
    first = samples[0]  # F.PRY (2.7°, -7.0°, 110.1°), G.PRY (-24.4°, 0.0°, 110.4°)
    assert (first.pitch, first.roll, first.heading) == pytest.approx((2.7, -7.0, 110.1))
    assert first.speed_mps == 0.0 and samples[1].speed_mps == pytest.approx(2.88)
    # The gimbal looks about 24° down and straight ahead of the aircraft.
    assert first.sensor_elevation is not None and -32 < first.sensor_elevation < -20
    assert first.sensor_azimuth is not None
    assert abs((first.sensor_azimuth + 180) % 360 - 180) < 10
    # The course over the ground: it flies sideways (course ~ heading - 90°), rolled left,
    # as a multirotor does; F.PRY's second value is the roll.
    a, b = samples[5], samples[7]
    k = math.cos(math.radians(a.lat or 0))
    east, north = ((b.lon or 0) - (a.lon or 0)) * k, (b.lat or 0) - (a.lat or 0)
    course = math.degrees(math.atan2(east, north))
    assert abs(((course - (a.heading or 0)) + 180) % 360 - 180 + 90) < 30
    assert (a.roll or 0) < -10


def test_relative_sensor_angles_undo_the_aircraft_attitude() -> None:
    # Level aircraft: the gimbal's angles less the heading.
    assert relative_sensor_angles((0, 0, 90), (-30, 0, 120)) == pytest.approx((30, -30, 0))
    # Nose 10° up: a gimbal level with the horizon points 10° down relative to the body.
    az, el, roll = relative_sensor_angles((10, 0, 0), (0, 0, 0))
    assert (az, el) == pytest.approx((0, -10)) and roll % 360 == pytest.approx(0, abs=1e-9)


def test_a_file_cut_off_mid_block_keeps_the_good_blocks_and_names_the_bad() -> None:
    samples, problems = _read("broken_incomplete.SRT")
    assert len(samples) == 19
    assert len(problems) == 1 and "block 20 (line 115)" in problems[0]
    samples, problems = _read("broken_incomplete2.SRT")
    assert len(samples) == 4  # blocks 3 and 6 stop inside their position
    assert [p.split("block ")[1].split(" ")[0] for p in problems] == ["3", "6"]


def test_an_empty_srt_is_one_clear_error() -> None:
    with pytest.raises(TelemetryError, match="is empty") as err:
        read_dji_srt(DJI / "broken_empty.SRT")
    assert "broken_empty.SRT" in str(err.value)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary",
        b"1\n00:00:00,000 --> 00:00:01,000\nHello, this is a film subtitle\n\n",
        b"just some text\n",
    ],
)
def test_a_file_without_dji_telemetry_is_one_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "clip.SRT"
    path.write_bytes(content)
    with pytest.raises(TelemetryError) as err:
        read_dji_srt(path, on_problem=lambda _m: None)
    assert "clip.SRT" in str(err.value) and "\n" not in str(err.value)


def test_a_position_out_of_range_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.SRT"
    text = (DJI / "mavic_pro.SRT").read_text().split("\n\n")
    text[1] = text[1].replace("GPS(149.0251,-20.2533", "GPS(149.0251,-120.2533")
    path.write_text("\n\n".join(text))
    problems: list[str] = []
    samples = list(read_dji_srt(path, on_problem=problems.append))
    assert len(samples) == 467
    assert len(problems) == 1 and "block 2 " in problems[0] and "-120.2533" in problems[0]
