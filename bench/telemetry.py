"""Telemetry readers against independent decoders of the same files, in the same run.

    .venv/bin/python bench/telemetry.py            # prints one JSON line (a few seconds)
    .venv/bin/python bench/telemetry.py --runs 9

Reads ../shared/data/telemetry/ (override with VIGIL_DATA=/path/to/data):

- karma_gpx: karma.mp4's GPS track through Vigil's GPMF reader (vigil.sources.telemetry.gpmf)
  against karma.gpx, the track gopro2gpx (GPL-3.0, another GPMF decoder; its output file is
  read, its code is not used) wrote for the same video: for each GPX point the nearest
  decoded fix, in metres (haversine) and in altitude; whether the matches come in the GPX's
  order; and the spread between the GPX's time steps and the matched fixes' time steps.
- gpmf_peer: py-gpmf-parser (Apache-2.0, Python bindings of GoPro's own C gpmf-parser) on
  GPS5 of max-heromode.mp4 and GPRI of karma.mp4: largest position difference (metres),
  largest difference of sample times (s: the two place samples in a payload differently),
  and the time to read each file, median (lowest-highest) of --runs.
- klv_peer: klvdata (MIT, the Python ST 0601 parser on PyPI) on Cheyenne.bin and
  realflight.bin: packets each reads, the largest difference per field over all packets,
  and the time per file.

Nothing here was tuned: the readers follow the formats' documents; these files are the only
real ones of their kinds at hand, and the readers' tests check invariants on small fixtures.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("VIGIL_DATA", ROOT.parent / "shared" / "data")) / "telemetry"

from vigil.domain import Telemetry  # noqa: E402
from vigil.geo import haversine_m  # noqa: E402
from vigil.sources.telemetry import read_gpmf, read_klv  # noqa: E402

GPX_NS = {"g": "http://www.topografix.com/GPX/1/1"}
KLV_FIELDS = {  # Telemetry field: klvdata's element name
    "lat": "SensorLatitude",
    "lon": "SensorLongitude",
    "alt": "SensorTrueAltitude",
    "heading": "PlatformHeadingAngle",
    "pitch": "PlatformPitchAngle",
    "roll": "PlatformRollAngle",
    "sensor_azimuth": "SensorRelativeAzimuthAngle",
    "sensor_elevation": "SensorRelativeElevationAngle",
    "sensor_roll": "SensorRelativeRollAngle",
    "hfov": "SensorHorizontalFieldOfView",
    "vfov": "SensorVerticalFieldOfView",
    "slant_range": "SlantRange",
    "frame_center_lat": "FrameCenterLatitude",
    "frame_center_lon": "FrameCenterLongitude",
}


def timed(fn: Callable[[], Any], runs: int) -> tuple[Any, dict[str, float]]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return result, {
        "median_ms": round(statistics.median(times), 2),
        "min_ms": round(min(times), 2),
        "max_ms": round(max(times), 2),
    }


def karma_gpx(runs: int) -> dict[str, Any]:
    samples, timing = timed(lambda: list(read_gpmf(DATA / "karma.mp4")), runs)
    root = ET.parse(DATA / "karma.gpx").getroot()
    points = []
    for pt in root.iterfind(".//g:trkpt", GPX_NS):
        when = datetime.fromisoformat(pt.findtext("g:time", "", GPX_NS).replace("Z", "+00:00"))
        ele = float(pt.findtext("g:ele", "nan", GPX_NS))
        points.append((float(pt.get("lat", "nan")), float(pt.get("lon", "nan")), ele, when))
    fixes = [s for s in samples if s.lat is not None and s.lon is not None]
    matches = []
    for lat, lon, ele, _when in points:
        i = min(range(len(fixes)), key=lambda i: haversine_m((lat, lon), _pos(fixes[i])))
        matches.append((i, haversine_m((lat, lon), _pos(fixes[i])), ele - (fixes[i].alt or 0)))
    order = [i for i, _, _ in matches]
    steps = [
        (fixes[b[0]].t - fixes[a[0]].t) - (pb[3] - pa[3]).total_seconds()
        for a, b, pa, pb in zip(matches, matches[1:], points, points[1:], strict=False)
    ]
    distances = [d for _, d, _ in matches]
    return {
        "gpx_points": len(points),
        "decoded_fixes": len(fixes),
        "max_m": round(max(distances), 3),
        "median_m": round(statistics.median(distances), 3),
        "max_alt_m": round(max(abs(a) for _, _, a in matches), 3),
        "in_order": order == sorted(order) and len(set(order)) == len(order),
        "time_step_spread_s": [round(min(steps), 3), round(max(steps), 3)],
        "vigil_read": timing,
    }


def _pos(s: Telemetry) -> tuple[float, float]:
    assert s.lat is not None and s.lon is not None
    return (s.lat, s.lon)


def _peer_gpmf(path: Path, key: str) -> tuple[Any, Any]:
    from py_gpmf_parser.gopro_telemetry_extractor import GoProTelemetryExtractor

    extractor = GoProTelemetryExtractor(str(path))
    extractor.open_source()
    try:
        return extractor.extract_data(key)
    finally:
        extractor.close_source()


def _read_gpmf_list(path: Path) -> list[Telemetry]:
    return list(read_gpmf(path))


def gpmf_peer(runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key, cols in (
        ("max-heromode.mp4", "GPS5", (0, 1, 2)),
        ("karma.mp4", "GPRI", (1, 2, 3)),
    ):
        path = DATA / name
        ours, our_time = timed(functools.partial(_read_gpmf_list, path), runs)
        (values, times), peer_time = timed(functools.partial(_peer_gpmf, path, key), runs)
        pairs = list(zip(ours, values, times, strict=False))
        out[name] = {
            "key": key,
            "samples": [len(ours), len(values)],
            "max_position_m": round(
                max(haversine_m(_pos(s), (row[cols[0]], row[cols[1]])) for s, row, _ in pairs), 4
            ),
            "max_alt_m": round(max(abs((s.alt or 0) - row[cols[2]]) for s, row, _ in pairs), 4),
            "max_time_s": round(max(abs(s.t - t) for s, _, t in pairs), 3),
            "vigil": our_time,
            "py_gpmf_parser": peer_time,
            "ratio": round(our_time["median_ms"] / peer_time["median_ms"], 2),
        }
    return out


def _klvdata_read(path: Path) -> tuple[list[dict[str, float]], str | None]:
    """klvdata's packets, and where and how it stopped if it could not read them all."""
    import klvdata

    rows: list[dict[str, float]] = []
    with path.open("rb") as f:
        packets = iter(klvdata.StreamParser(f))
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return rows, None
            except Exception as exc:  # the peer's failure is a result, not a crash
                return rows, f"stopped at packet {len(rows) + 1}: {type(exc).__name__}"
            row: dict[str, float] = {}
            for item in packet.items.values():
                name = type(item).__name__
                value = getattr(item, "value", None)
                inner = getattr(value, "value", None)
                if isinstance(inner, float | int):
                    row[name] = float(inner)
            rows.append(row)


def _ours(s: Telemetry, field: str) -> float | None:
    if field.startswith("frame_center_"):
        return None if s.frame_center is None else s.frame_center[field.endswith("lon")]
    value = getattr(s, field)
    return None if value is None else float(value)


def _read_klv_list(path: Path) -> list[Telemetry]:
    return list(read_klv(path))


def klv_peer(runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("Cheyenne.bin", "realflight.bin"):
        path = DATA / "klv" / name
        ours, our_time = timed(functools.partial(_read_klv_list, path), runs)
        (peer, peer_error), peer_time = timed(functools.partial(_klvdata_read, path), runs)
        peer_ms = peer_time["median_ms"]
        diffs: dict[str, float] = {}
        for s, row in zip(ours, peer, strict=False):
            for field, element in KLV_FIELDS.items():
                a, b = _ours(s, field), row.get(element)
                if a is not None and b is not None and math.isfinite(b):
                    d = abs(a - b)
                    if field in ("heading", "sensor_azimuth", "sensor_roll"):
                        d = min(d, 360 - d)
                    diffs[field] = max(diffs.get(field, 0.0), d)
        out[name] = {
            "packets": [len(ours), len(peer)],
            "klvdata_error": peer_error,
            "max_diff": {k: float(f"{v:.3g}") for k, v in sorted(diffs.items())},
            "vigil": our_time,
            "klvdata": peer_time,
            # A peer that stopped at the first packet did not do the same work: no ratio.
            "ratio": None if peer_error else round(our_time["median_ms"] / peer_ms, 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (DATA / "karma.mp4").exists():
        sys.exit(f"error: {DATA} has no karma.mp4; set VIGIL_DATA to the shared data folder")
    result = {
        "bench": "telemetry",
        "runs": args.runs,
        "karma_gpx": karma_gpx(args.runs),
        "gpmf_peer": gpmf_peer(args.runs),
        "klv_peer": klv_peer(args.runs),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
