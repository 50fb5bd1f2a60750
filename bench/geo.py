"""Camera-to-ground projection on a real aircraft's MISB ST 0601 KLV: the frame centre and
corners Vigil projects from the sensor's position, the platform's attitude, the sensor's
angles and fields of view, against the ones the aircraft's own system encoded in each packet.

    .venv/bin/python bench/geo.py                   # prints one JSON line (a few seconds)
    .venv/bin/python bench/geo.py --klv other.bin --ground-alt 1500 --runs 5

Reads ../shared/data/telemetry/klv/Cheyenne.bin (override with VIGIL_DATA=/path/to/data or
--klv FILE): 407 packets from a manned aircraft over Cheyenne, Wyoming, through Vigil's own
reader (vigil.sources.telemetry.klv.read_klv). Per packet, in the same run:

- vigil: vigil.geo.CameraView, the full model (heading, pitch, roll, then sensor azimuth,
  elevation, roll), on a flat ground at the packet's own frame-centre elevation (tag 25).
- no_platform_pitch_roll (the peer the issue names): the same without the platform's pitch
  and roll.
- ground_fixed: the full model on a ground at one elevation for the whole flight that does
  not come from the packets (--ground-alt; default 1877 m, Cheyenne Regional Airport's
  published field elevation, 6,159 ft).
- along_slant_range: the full model's line of sight out to the encoded slant range (tag 21),
  no ground plane: the direction alone.
- corners: the full model's four corners against the encoded ones (tags 26-33).

Errors are great-circle metres (haversine) to the encoded point (tags 23/24): median, 90th
percentile and worst, the median per quarter of the flight (the spread over its parts), and
the median error per kilometre of slant range. A view that meets no ground (at or above the
horizon) counts as missing. Time: microseconds per packet for a centre and a footprint,
median (lowest-highest) of --runs passes.

Nothing was fitted to this file. The rotation order is ST 0601's as written in
vigil/geo/camera.py (its tests check it on cases worked by hand); the ground elevation of the
main figure is the packet's own tag 25 (the encoder's terrain height at its centre, which a
real system would take from a terrain model), and heights are used as the packets give them
(sensor altitude and tag 25 both above mean sea level: only their difference matters, so
ellipsoid against MSL makes no difference here). While writing the model I also ran two
other rotation orders on this file (the sensor turned before the platform: a 15 km median;
roll before pitch: 29 m); the order kept is the one ST 0601 describes and the hand-worked
tests in tests/geo/test_camera.py fix, and it would be kept had it scored worse.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("VIGIL_DATA", ROOT.parent / "shared" / "data"))
KLV = DATA / "telemetry" / "klv" / "Cheyenne.bin"
CHEYENNE_AIRPORT_M = 1877.0  # KCYS field elevation, 6,159 ft above mean sea level

from vigil.domain import Telemetry  # noqa: E402
from vigil.errors import GeometryError, VigilError  # noqa: E402
from vigil.geo import CameraPose, CameraView, LatLon, haversine_m  # noqa: E402
from vigil.sources.telemetry.klv import read_klv  # noqa: E402

TARGET_MEDIAN_M = 10.0  # the issue: "a median of about 10 m at 3 km slant range"


def stats(errors: list[float | None], quarters: bool = True) -> dict[str, Any]:
    got = [e for e in errors if e is not None]
    out: dict[str, Any] = {"n": len(got), "missing": len(errors) - len(got)}
    if got:
        out |= {
            "median_m": round(statistics.median(got), 1),
            "p90_m": round(float(np.percentile(got, 90)), 1),
            "max_m": round(max(got), 1),
        }
    if quarters:
        parts = np.array_split(np.array([np.nan if e is None else e for e in errors]), 4)
        out["median_by_quarter_m"] = [
            round(float(np.nanmedian(p)), 1) if np.isfinite(p).any() else None for p in parts
        ]
    return out


def centre(t: Telemetry, ground: float, platform: bool = True) -> LatLon | None:
    try:
        return CameraView(CameraPose.from_telemetry(t, platform_attitude=platform), ground).centre()
    except GeometryError:
        return None


def along_slant(t: Telemetry, ground: float) -> LatLon | None:
    if not t.slant_range:
        return None
    view = CameraView(CameraPose.from_telemetry(t), ground)
    lat, lon, _ = view.frame.to_geodetic(view.line_of_sight() * t.slant_range)
    return (lat, lon)


def error(point: LatLon | None, truth: LatLon | None) -> float | None:
    return None if point is None or truth is None else haversine_m(point, truth)


def timed(samples: list[Telemetry], grounds: list[float], runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for t, g in zip(samples, grounds, strict=True):
            view = CameraView(CameraPose.from_telemetry(t), g)
            view.centre()
            view.footprint()
        times.append((time.perf_counter() - start) / len(samples) * 1e6)
    return {
        "us_per_packet": round(statistics.median(times), 1),
        "us_range": [round(min(times), 1), round(max(times), 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--klv", type=Path, default=KLV, help="a raw ST 0601 KLV packet file")
    parser.add_argument("--ground-alt", type=float, default=CHEYENNE_AIRPORT_M)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.klv.is_file():
        raise SystemExit(f"no KLV file at {args.klv}; set VIGIL_DATA or give --klv")
    try:
        packets = list(read_klv(args.klv))
    except VigilError as exc:
        raise SystemExit(f"error: {exc}") from None
    samples = [t for t in packets if t.frame_center is not None and t.frame_center_alt]
    if not samples:
        raise SystemExit(f"{args.klv} has no packet with an encoded frame centre and elevation")
    grounds = [float(t.frame_center_alt) for t in samples]  # type: ignore[arg-type]

    def over(fn: Callable[[Telemetry, float], LatLon | None], fixed: float | None = None) -> dict:
        return stats(
            [
                error(fn(t, g if fixed is None else fixed), t.frame_center)
                for t, g in zip(samples, grounds, strict=True)
            ]
        )

    corner_errors: list[float | None] = []
    for t, g in zip(samples, grounds, strict=True):
        if t.corners is None or t.hfov is None or t.vfov is None:
            continue
        projected = CameraView(CameraPose.from_telemetry(t), g).footprint()
        corner_errors += [error(p, c) for p, c in zip(projected, t.corners, strict=True)]
    slant = [t.slant_range for t in samples if t.slant_range]
    vigil = over(centre)
    per_km = [
        e / (t.slant_range / 1000)
        for t, g in zip(samples, grounds, strict=True)
        if t.slant_range and (e := error(centre(t, g), t.frame_center)) is not None
    ]
    result = {
        "bench": "geo",
        "file": args.klv.name,
        "packets": len(samples),
        "slant_range_m": {
            "median": round(statistics.median(slant)) if slant else None,
            "range": [round(min(slant)), round(max(slant))] if slant else None,
        },
        "ground_alt_tag25_m": [round(min(grounds), 1), round(max(grounds), 1)],
        "vigil": vigil | {"median_m_per_km_slant": round(statistics.median(per_km), 2)},
        "no_platform_pitch_roll": over(lambda t, g: centre(t, g, platform=False)),
        f"ground_fixed_{args.ground_alt:g}m": over(centre, args.ground_alt),
        "along_slant_range": over(along_slant),
        "corners": stats(corner_errors, quarters=False),
        "time": timed(samples, grounds, args.runs),
        "target_median_m": TARGET_MEDIAN_M,
        "runs": args.runs,
        "tuned_on_this_data": False,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
