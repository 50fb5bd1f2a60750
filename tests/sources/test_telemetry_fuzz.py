"""Damaged telemetry never crashes a reader: real files with bytes changed, cut or inserted
either read (with problems reported) or raise TelemetryError, nothing else."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.domain import Telemetry
from vigil.sources.telemetry import TelemetryError
from vigil.sources.telemetry.dji_srt import read_dji_srt
from vigil.sources.telemetry.gpmf import decode_payloads
from vigil.sources.telemetry.klv import read_klv

FIXTURES = Path(__file__).parents[1] / "fixtures" / "telemetry"
REALFLIGHT = (FIXTURES / "realflight.bin").read_bytes()
P4_RTK = (FIXTURES / "dji" / "p4_rtk.SRT").read_bytes()
AIR2S = (FIXTURES / "dji" / "air2s.srt").read_bytes()


def _gpmf_payloads() -> list[bytes]:
    with av.open(str(FIXTURES / "karma_4s.mp4")) as c:
        track = next(s for s in c.streams if s.type == "data")
        return [bytes(p) for p in c.demux(track) if p.size]


PAYLOADS = _gpmf_payloads()
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with a few bytes changed, a piece cut out, or junk put in."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        at = draw(st.integers(0, max(0, len(out) - 1)))
        if kind == "flip" and out:
            out[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del out[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=32))
        else:
            del out[at:]
    return bytes(out)


def _sane(samples: list[Telemetry]) -> None:
    times = [s.t for s in samples]
    assert times == sorted(times)
    for s in samples:
        for value in (s.lat, s.lon, s.alt, s.heading):
            assert value is None or math.isfinite(value)
        assert s.lat is None or -90 <= s.lat <= 90
        assert s.lon is None or -180 <= s.lon <= 180


@FUZZ
@given(data=damaged(REALFLIGHT))
def test_damaged_klv(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("klv") / "x.bin"
    path.write_bytes(data)
    with contextlib.suppress(TelemetryError):
        _sane(list(read_klv(path, on_problem=lambda _m: None)))


@FUZZ
@given(data=st.one_of(damaged(P4_RTK), damaged(AIR2S)))
def test_damaged_srt(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("srt") / "x.SRT"
    path.write_bytes(data)
    with contextlib.suppress(TelemetryError):
        _sane(list(read_dji_srt(path, on_problem=lambda _m: None)))


@FUZZ
@given(index=st.integers(0, len(PAYLOADS) - 1), data=st.data())
def test_damaged_gpmf_payload(index: int, data: st.DataObject) -> None:
    payloads = list(PAYLOADS)
    payloads[index] = data.draw(damaged(payloads[index]))
    problems: list[str] = []
    spans = [(p, float(i), 1.001) for i, p in enumerate(payloads)]
    _sane(decode_payloads(spans, "clip", problems.append))
