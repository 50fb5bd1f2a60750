"""`vigil telemetry FILE [--sidecar SRT] --json`: one JSON line per sample; errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.sources.conftest import CAR_CLIP
from tests.sources.klv_build import st0601_packet
from vigil.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "telemetry"
runner = CliRunner()


def _lines(args: list[str]) -> list[dict]:
    r = runner.invoke(app, ["telemetry", *args, "--json"])
    assert r.exit_code == 0, r.output
    return [json.loads(line) for line in r.stdout.splitlines()]


def test_gopro_clip_one_line_per_fix() -> None:
    rows = _lines([str(FIXTURES / "karma_4s.mp4")])
    assert len(rows) == 15
    assert [r["t"] for r in rows] == sorted(r["t"] for r in rows)
    for r in rows:
        assert {"t", "lat", "lon", "alt", "heading", "pitch", "roll"} <= set(r)
        assert r["source"] == "gpmf" and "projected_center" not in r  # no gimbal angles


def test_klv_with_an_encoded_frame_centre_and_the_projected_one(tmp_path: Path) -> None:
    # A sensor 1000 m above flat ground at 0 m, heading north, looking 45 degrees down:
    # the frame centre is about 1000 m north of it; the packet encodes that centre too.
    path = tmp_path / "flight.bin"
    values = {13: 47.0, 14: 8.0, 15: 1000.0, 5: 0.0, 6: 0.0, 7: 0.0, 18: 0.0, 19: -45.0}
    values |= {20: 0.0, 16: 30.0, 17: 20.0, 23: 47.009, 24: 8.0, 25: 0.0}
    path.write_bytes(b"".join(st0601_packet(1.7e9 + i, values) for i in range(3)))
    rows = _lines([str(path)])
    assert [r["t"] for r in rows] == [0.0, 1.0, 2.0]
    for r in rows:
        assert r["frame_center"] == pytest.approx([47.009, 8.0], abs=1e-6)
        lat, lon = r["projected_center"]
        assert abs(lat - 47.009) < 0.0003 and abs(lon - 8.0) < 0.0003  # within ~30 m
        assert r["sensor_elevation"] == pytest.approx(-45.0)
        assert r["frame_center_alt"] == pytest.approx(0.0, abs=0.2)


def test_dji_sidecar_with_gimbal_angles_is_projected() -> None:
    rows = _lines([str(CAR_CLIP), "--sidecar", str(FIXTURES / "dji" / "p4_rtk.SRT")])
    assert len(rows) == 55 and all(r["source"] == "dji-srt" for r in rows)
    assert all("projected_center" in r for r in rows)


def test_a_partly_broken_srt_prints_the_good_blocks_and_a_warning() -> None:
    r = runner.invoke(app, ["telemetry", str(FIXTURES / "dji" / "broken_incomplete.SRT"), "--json"])
    assert r.exit_code == 0
    assert len(r.stdout.splitlines()) == 19
    assert "warning:" in r.stderr and "block 20 (line 115)" in r.stderr


def test_a_truncated_klv_file_prints_the_packets_before_the_cut(tmp_path: Path) -> None:
    data = (FIXTURES / "realflight.bin").read_bytes()
    path = tmp_path / "cut.bin"
    path.write_bytes(data[:-100])
    r = runner.invoke(app, ["telemetry", str(path), "--json"])
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 18
    assert "truncated" in r.stderr


def _error(args: list[str]) -> str:
    r = runner.invoke(app, ["telemetry", *args, "--json"])
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in r.stderr
    return lines[0]


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    assert "carries no telemetry" in _error([str(CAR_CLIP)])
    assert "is empty" in _error([str(FIXTURES / "dji" / "broken_empty.SRT")])
    assert "does not exist" in _error([str(tmp_path / "missing.mp4")])
    assert "no readable MISB ST 0601" in _error(
        [str(FIXTURES / "DynamicConstantMISMMSPacketData.bin")]
    )
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x00\x01 not telemetry " * 40)
    assert "neither a DJI .SRT nor a raw KLV" in _error([str(CAR_CLIP), "--sidecar", str(junk)])
