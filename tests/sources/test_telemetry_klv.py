"""MISB ST 0601 KLV: raw packet files, checksums, damage reported and stepped over."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from vigil.sources.telemetry.common import TelemetryError
from vigil.sources.telemetry.klv import (
    UAS_LS_KEY,
    checksum,
    decode_packet,
    read_klv,
    split_packets,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "telemetry"
REALFLIGHT = FIXTURES / "realflight.bin"
SPEC_SAMPLE = FIXTURES / "DynamicConstantMISMMSPacketData.bin"


def _packets(path: Path) -> list[bytes]:
    return list(split_packets(path.read_bytes(), str(path), pytest.fail))


def test_realflight_reads_every_packet_in_time_order() -> None:
    problems: list[str] = []
    samples = list(read_klv(REALFLIGHT, on_problem=problems.append))
    assert problems == []
    assert len(samples) == 19
    times = [s.t for s in samples]
    assert times[0] == 0.0 and times == sorted(times) and times[-1] > 1.0
    # The mission id in the packets says "12/09/2019 14:07:01": the timestamps agree.
    first = dt.datetime.fromtimestamp(samples[0].wallclock or 0, dt.UTC)
    assert (first.year, first.month, first.day, first.hour) == (2019, 9, 12, 14)
    for s in samples:
        assert s.source == "klv"
        # A Tekever AR5 flying off the Portuguese coast (Peniche): near 39.35 N, 9.32 W.
        assert s.lat is not None and s.lon is not None
        assert abs(s.lat - 39.35) < 0.2 and abs(s.lon + 9.32) < 0.2
        assert s.frame_center is None  # the source encodes its frame centre as "unknown"
        assert s.heading is not None and 0 <= s.heading < 360
        assert s.alt is not None  # only the ellipsoid height (tag 75) is carried


def test_every_realflight_checksum_verifies_and_one_changed_byte_does_not() -> None:
    for packet in _packets(REALFLIGHT):
        assert checksum(packet[:-2]) == int.from_bytes(packet[-2:], "big")
    changed = bytearray(_packets(REALFLIGHT)[0])
    changed[40] ^= 0x01
    with pytest.raises(ValueError, match="bad checksum"):
        decode_packet(bytes(changed))


def test_spec_sample_values_match_the_published_table() -> None:
    """The ST 0601 example packet (also ST 0902's): the values the standard lists for it.
    Its checksum is wrong as published (klvdata computes the same 0x3e1e), so it is
    decoded with verify=False here and refused by the reader below."""
    packet = decode_packet(SPEC_SAMPLE.read_bytes(), verify=False)
    f = packet.fields
    assert packet.unix_time == pytest.approx(1231798102.0)  # 2009-01-12 22:08:22 UTC
    expected = {
        "heading": 159.9744,
        "pitch": -0.4315,
        "roll": 3.4058,
        "lat": 60.1768229669783,
        "lon": 128.426759042045,
        "alt": 14190.72,
        "hfov": 144.5713,
        "vfov": 152.6436,
        "sensor_azimuth": 160.719211474396,
        "sensor_elevation": -168.792324833941,
        "sensor_roll": 176.865437690584,
        "slant_range": 68590.98,
        "center_lat": -10.5423886331461,
        "center_lon": 29.157890122923,
        "frame_center_alt": 3216.037,
    }
    for name, value in expected.items():
        assert f[name] == pytest.approx(value, rel=1e-6, abs=2e-4), name


def test_a_bad_checksum_is_reported_and_a_file_of_only_bad_packets_is_an_error() -> None:
    problems: list[str] = []
    with pytest.raises(TelemetryError, match="no readable MISB ST 0601 KLV packet"):
        list(read_klv(SPEC_SAMPLE, on_problem=problems.append))
    assert len(problems) == 1 and "packet 1" in problems[0] and "bad checksum" in problems[0]


def test_a_damaged_packet_in_the_middle_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    packets = _packets(REALFLIGHT)
    broken = bytearray(packets[5])
    broken[30] ^= 0xFF
    path = tmp_path / "damaged.bin"
    path.write_bytes(b"".join(packets[:5]) + bytes(broken) + b"".join(packets[6:]))
    problems: list[str] = []
    samples = list(read_klv(path, on_problem=problems.append))
    assert len(samples) == 18
    assert len(problems) == 1 and "packet 6" in problems[0]


def test_a_truncated_file_reads_up_to_the_cut(tmp_path: Path) -> None:
    data = REALFLIGHT.read_bytes()
    path = tmp_path / "cut.bin"
    path.write_bytes(data[: len(data) - 50])
    problems: list[str] = []
    samples = list(read_klv(path, on_problem=problems.append))
    assert len(samples) == 18
    assert len(problems) == 1 and "truncated" in problems[0]


def test_garbage_between_packets_is_skipped(tmp_path: Path) -> None:
    packets = _packets(REALFLIGHT)
    path = tmp_path / "noisy.bin"
    path.write_bytes(packets[0] + b"\x00" * 37 + b"".join(packets[1:]))
    problems: list[str] = []
    assert len(list(read_klv(path, on_problem=problems.append))) == 19
    assert problems and "37 bytes" in problems[0]


@pytest.mark.parametrize("content", [None, b"", b"not klv at all\n" * 10, UAS_LS_KEY])
def test_unusable_files_are_one_clear_error(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "x.bin"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TelemetryError) as err:
        list(read_klv(path, on_problem=lambda _m: None))
    message = str(err.value)
    assert "x.bin" in message and "\n" not in message
