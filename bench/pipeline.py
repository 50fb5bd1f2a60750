"""Pipeline benchmark: speed, detector calls and peak memory, motion gating on vs off.

    .venv/bin/python bench/pipeline.py            # prints one JSON line (about 3 minutes)
    .venv/bin/python bench/pipeline.py --runs 5

Reads the videos from ../shared/data/video (override with VIGIL_DATA=/path/to/data). Each run
happens in a fresh child process so its peak memory (max RSS) is its own. The peer is the same
pipeline with motion gating off (detector on every frame up to detect.fps), in the same run.
Each case runs `--runs` times per mode (default 3), gated and ungated interleaved; speeds are
given as the median with the lowest and highest run, and the speed-up is the median of the
per-round ratios. Detector calls, tracks and memory are the same in every run (the pipeline
is deterministic); only wall time varies.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("VIGIL_DATA", ROOT.parent / "shared" / "data"))
CASES = {
    # name: (video, config or None for the default detector with these labels)
    "person-room": ("one-by-one-person-detection.mp4", ROOT / "examples" / "demo.yml"),
    "car-park-yolo": ("car-detection.mp4", None),
    "car-park-motion": ("car-detection.mp4", ROOT / "examples" / "car-park.yml"),
}


def run_one(video: Path, config_path: Path | None, gate: bool) -> dict[str, float]:
    from vigil.config import CameraConfig, ObjectFilterConfig, VigilConfig, load_config
    from vigil.pipeline.analyze import run_analysis
    from vigil.pipeline.camera import CameraPipeline, detector_for_camera
    from vigil.sources import open_source

    if config_path is None:
        config = VigilConfig(objects=ObjectFilterConfig(labels=["car", "truck", "bus"]))
        cam = CameraConfig(id="bench", source=str(video))
    else:
        config = load_config(config_path)
        cam = config.cameras[0].model_copy(update={"source": str(video)})
    source = open_source(cam.id, str(video))
    frames = source.frames()
    first = next(frames)
    pipeline = CameraPipeline(
        cam,
        config,
        detector_for_camera(config, cam),
        (first.width, first.height),
        motion_gating=gate,
    )
    started = time.perf_counter()
    summary = run_analysis(itertools.chain([first], frames), pipeline, source.fps)
    wall = time.perf_counter() - started
    minutes = summary.media_seconds / 60
    return {
        "x_realtime": round(summary.media_seconds / wall, 2),
        "detector_calls": summary.detector_calls,
        "detector_calls_per_min": round(summary.detector_calls / minutes, 1),
        "detect_fraction": round(summary.detect_fraction, 3),
        "frames": summary.frames,
        "tracks": dict(summary.tracks_by_label),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def child(name: str, gate: bool) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", name, "--gate" if gate else "--no-gate"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def run_case(name: str, runs: int) -> dict[str, object]:
    rounds = [(child(name, True), child(name, False)) for _ in range(runs)]
    gated, ungated = rounds[-1]
    return {
        "gated": {**gated, "x_realtime": spread([g["x_realtime"] for g, _ in rounds])},
        "ungated": {**ungated, "x_realtime": spread([u["x_realtime"] for _, u in rounds])},
        "runs": runs,
        "speedup_vs_ungated": spread([g["x_realtime"] / u["x_realtime"] for g, u in rounds]),
        "detector_call_ratio": round(
            gated["detector_calls"] / max(1, ungated["detector_calls"]), 3
        ),
        "peak_rss_ratio": round(gated["peak_rss_mb"] / ungated["peak_rss_mb"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one")
    parser.add_argument("--gate", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--runs", type=int, default=3, help="runs per case and mode (>= 3)")
    args = parser.parse_args()
    if args.one:
        video, cfg = CASES[args.one]
        print(json.dumps(run_one(DATA / "video" / video, cfg, args.gate)))
        return
    if args.runs < 3:
        parser.error("--runs must be at least 3: one run shows no spread")
    missing = [v for v, _ in CASES.values() if not (DATA / "video" / v).exists()]
    if missing:
        sys.exit(f"benchmark videos not found under {DATA / 'video'}: {missing}; set VIGIL_DATA")
    result: dict[str, object] = {
        "bench": "pipeline",
        "peer": "same pipeline, motion gating off",
        "cases": {},
    }
    for name in CASES:
        result["cases"][name] = run_case(name, args.runs)  # type: ignore[index]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
