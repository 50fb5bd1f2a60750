"""Camera-motion compensation benchmark: its cost at 30/60/100 targets, and what it does to the
tracks of a walking camera.

    .venv/bin/python bench/cmc.py                 # one JSON line on stdout, progress on stderr
    .venv/bin/python bench/cmc.py --repeats 5 --thumbs /tmp/cmc-thumbs

Reads ../shared/data/telemetry/max-heromode.mp4 (override with VIGIL_DATA=/path/to/data, the
folder that holds telemetry/): 10.5 s, 848x480, 29.97 fps, a walk along a car park at chest
height (a body-camera stand-in); the GoPro's GPMF telemetry is in the file.

1. Speed. The clip's 315 real frames with N synthetic targets (N = 30, 60, 100 at once: boxes
   of 20-80 px that move with the picture, by the clip's own frame-to-frame motion as
   `CameraMotion` finds it with nothing masked, and at their own speed; one that leaves the
   picture is replaced by a new target elsewhere; 1 px of detection noise, score 0.9), one
   tracker update a frame (the detector on every frame: the worst case). Peer in the same run:
   the same tracker without compensation. With it, a frame costs `CameraMotion.observe` (the
   frame's motion, current tracks' boxes masked) plus `Tracker.compensate` plus the update.
   Per-frame wall time (mean, p95) and this thread's CPU time, each repeat interleaved, reported
   as the median of the repeats with the lowest and highest; OpenCV on one thread. Then, once
   (deterministic), identity: ID switches (a target's track id changing, CLEAR MOT's count) and
   the fraction of target-frames covered by a confirmed track, updating on every frame and on
   one in 6 (5 detections a second, the pipeline's default). The targets move by the same
   estimator's motion, so this shows what the tracker gains from a right estimate, not how right
   the estimate is (tests/tracking/test_cmc.py checks that: known warps within 1 px).
2. Tracks. The real pipeline (`CameraPipeline`: motion gate, the default detector YOLOv3-tiny at
   416, 5 detections a second, the default tracker; `--detect-size`, `--detect-fps` change
   those) over the clip as `vigil analyze` reads it (`FileSource`, telemetry attached, so
   `motion_compensation: auto` turns compensation on), and again with `motion_compensation:
   off`. Both runs see the same detections: the detector's
   answers are kept by picture hash and replayed to the second run (each frame is still decoded
   and detected by the real detector once). Reported: vehicle tracks (car, truck, bus) shown,
   their lengths (first to last detection), and the frame-to-frame estimates that failed.
   `--thumbs DIR` writes, per run, a sheet with a row per vehicle track (its first, middle and
   last detection, boxed) to tell by eye which car each track is on.
No parameter of cmc.py was tuned on this clip: the constants are BoT-SORT's kind of values,
chosen before the clip was run, except the work width (320) and Lucas-Kanade window (11 px,
2 pyramid levels), chosen on this clip's per-frame timing, not on its tracks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vigil.domain import Box, Detection, TrackState
from vigil.tracking.cmc import CameraMotion
from vigil.tracking.tracker import Tracker

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("VIGIL_DATA", ROOT.parent / "shared" / "data"))
CLIP = DATA / "telemetry" / "max-heromode.mp4"
TARGETS = (30, 60, 100)
VEHICLES = ("car", "truck", "bus")
REALTIME_MS = 1000 / 29.97


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def decode(path: Path) -> tuple[list[np.ndarray], float]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        return [f.to_ndarray(format="bgr24") for f in container.decode(stream)], fps


# --- 1. speed -------------------------------------------------------------------------------


def picture_motion(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The clip's own frame-to-frame motion (nothing masked), to move the targets with it."""
    h, w = images[0].shape[:2]
    motion = CameraMotion((w, h))
    return [motion.observe(image) for image in images]


def synthetic(
    n: int, steps: list[np.ndarray], size: tuple[int, int], seed: int
) -> tuple[list[list[Detection]], list[list[int]]]:
    """N boxes in the picture: each frame they move with it (the clip's camera motion) and by
    their own speed; one that leaves the picture is replaced by a new target somewhere else.
    Returns each frame's detections and which target each one is."""
    rng = np.random.default_rng(seed)
    fw, fh = size
    frame = np.array([fw, fh], dtype=np.float64)

    def place(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wh = rng.uniform(20, 80, (k, 2))
        return wh, rng.uniform(wh / 2, frame - wh / 2, (k, 2)), rng.uniform(-3, 3, (k, 2))

    wh, centre, vel = place(n)  # vel: px per frame
    who = np.arange(n)
    next_id = n
    dets, ids = [], []
    for step in steps:
        centre = centre @ step[:, :2].T + step[:, 2] + vel
        gone = np.flatnonzero(((centre < 0) | (centre > frame)).any(axis=1))
        if len(gone):
            wh[gone], centre[gone], vel[gone] = place(len(gone))
            who[gone] = np.arange(next_id, next_id + len(gone))
            next_id += len(gone)
        noisy = centre - wh / 2 + rng.normal(0, 1.0, centre.shape)
        dets.append([Detection(Box(*p, *s), "person", 0.9) for p, s in zip(noisy, wh, strict=True)])
        ids.append(who.tolist())
    return dets, ids


def time_tracker(
    images: Sequence[np.ndarray], dets: list[list[Detection]], fps: float, cmc: bool
) -> dict[str, Any]:
    tracker = Tracker()
    h, w = images[0].shape[:2]
    motion = CameraMotion((w, h)) if cmc else None
    wall, cpu = [], []
    shown: list[Any] = []
    for k, (image, frame_dets) in enumerate(zip(images, dets, strict=True)):
        started, cpu0 = time.perf_counter(), time.thread_time()
        if motion is not None:
            motion.observe(image, [t.box for t in shown])
            tracker.compensate(motion.take())
        shown = tracker.update(frame_dets, k / fps).tracks
        cpu.append(time.thread_time() - cpu0)
        wall.append(time.perf_counter() - started)
    live = sum(t.state is TrackState.CONFIRMED for t in shown)
    return {
        "ms_mean": 1000 * float(np.mean(wall[1:])),
        "ms_p95": 1000 * float(np.percentile(wall[1:], 95)),
        "cpu_ms_mean": 1000 * float(np.mean(cpu[1:])),
        "tracks_confirmed_at_end": live,
    }


def identities(
    images: Sequence[np.ndarray],
    dets: list[list[Detection]],
    who: list[list[int]],
    fps: float,
    cmc: bool,
    every: int,
) -> dict[str, Any]:
    """The same targets tracked from one frame in `every` (CMC still follows every frame):
    each target's track id where a confirmed track is matched to it (IoU >= 0.5), and how
    often that id changes (ID switches, as CLEAR MOT counts them)."""
    from vigil.tracking.matching import boxes_to_xyxy, iou_matrix

    tracker = Tracker()
    h, w = images[0].shape[:2]
    motion = CameraMotion((w, h)) if cmc else None
    shown: list[Any] = []
    last_id: dict[int, int] = {}
    switches = covered = looks = 0
    for k, (image, frame_dets) in enumerate(zip(images, dets, strict=True)):
        if motion is not None:
            motion.observe(image, [t.box for t in shown])
        if k % every:
            continue
        if motion is not None:
            tracker.compensate(motion.take())
        now = k / fps
        shown = tracker.update(frame_dets, now).tracks
        live = [t for t in shown if t.state is TrackState.CONFIRMED and t.last_seen == now]
        looks += len(frame_dets)
        if not live:
            continue
        iou = iou_matrix(
            boxes_to_xyxy([d.box for d in frame_dets]), boxes_to_xyxy([t.box for t in live])
        )
        for j, row in enumerate(iou):
            best = int(np.argmax(row))
            if row[best] < 0.5:
                continue
            covered += 1
            target, tid = who[k][j], live[best].id
            switches += target in last_id and last_id[target] != tid
            last_id[target] = tid
    return {"id_switches": switches, "covered": round(covered / max(looks, 1), 3)}


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def speed(images: list[np.ndarray], fps: float, repeats: int) -> dict[str, Any]:
    h, w = images[0].shape[:2]
    steps = picture_motion(images)
    out: dict[str, Any] = {}
    for n in TARGETS:
        dets, who = synthetic(n, steps, (w, h), seed=n)
        runs: dict[str, list[dict[str, Any]]] = {"without_cmc": [], "with_cmc": []}
        for _ in range(repeats):
            for name, cmc in (("without_cmc", False), ("with_cmc", True)):
                runs[name].append(time_tracker(images, dets, fps, cmc))
        entry: dict[str, Any] = {}
        for name, rs in runs.items():
            entry[name] = {
                key: spread([r[key] for r in rs]) for key in ("ms_mean", "ms_p95", "cpu_ms_mean")
            }
            entry[name]["tracks_confirmed_at_end"] = rs[-1]["tracks_confirmed_at_end"]
        entry["realtime_at_30fps"] = entry["with_cmc"]["ms_p95"]["median"] < REALTIME_MS
        for name, cmc in (("without_cmc", False), ("with_cmc", True)):
            for every in (1, 6):
                entry[name][f"identity_every_{every}"] = identities(
                    images, dets, who, fps, cmc, every
                )
        out[str(n)] = entry
        log(
            f"{n:3} targets: without {entry['without_cmc']['ms_mean']['median']:6.2f} ms, "
            f"with {entry['with_cmc']['ms_mean']['median']:6.2f} ms a frame "
            f"(p95 {entry['with_cmc']['ms_p95']['median']:.2f}); at 5 fps ID switches "
            f"{entry['without_cmc']['identity_every_6']['id_switches']} without, "
            f"{entry['with_cmc']['identity_every_6']['id_switches']} with"
        )
    return out


# --- 2. tracks on the walk ------------------------------------------------------------------


class Replay:
    """The real detector, asked once per picture; its answers replayed for the same picture."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector
        self.labels = detector.labels
        self.needs_every_frame = detector.needs_every_frame
        self.answers: dict[bytes, list[Detection]] = {}
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        key = hashlib.blake2b(image.tobytes(), digest_size=16).digest()
        if key not in self.answers:
            self.calls += 1
            self.answers[key] = self.detector.detect(image)
        return list(self.answers[key])


def walk(path: Path, cam: Any, detector: Replay, mode: str, thumbs: Path | None) -> dict[str, Any]:
    from vigil.config import TrackerConfig, VigilConfig
    from vigil.pipeline.camera import CameraPipeline
    from vigil.sources import open_source

    config = VigilConfig(tracker=TrackerConfig(motion_compensation=mode))
    source = open_source(cam.id, str(path))
    matched: dict[int, list[tuple[int, Box]]] = {}  # track id -> (frame, box) where detected
    pictures: dict[int, np.ndarray] = {}
    pipeline: CameraPipeline | None = None
    last_t = 0.0
    for frame in source.frames():
        if pipeline is None:
            size = (frame.width, frame.height)
            pipeline = CameraPipeline(cam, config, detector, size)
        result = pipeline.process(frame)
        last_t = frame.timestamp
        if not result.detected:
            continue
        for t in result.tracks:
            if t.label in VEHICLES and t.state is TrackState.CONFIRMED:
                matched.setdefault(t.id, []).append((frame.index, t.box))
                if thumbs is not None:
                    pictures[frame.index] = frame.image
    fps = source.fps or 30.0
    source.close()
    assert pipeline is not None
    pipeline.finish(last_t)
    cm = pipeline.camera_motion
    if thumbs is not None:
        write_thumbs(
            thumbs / f"{mode}-{cam.detect.size}-{cam.detect.fps:g}fps.png", matched, pictures
        )
    lengths = sorted(((m[-1][0] - m[0][0]) / fps for m in matched.values()), reverse=True)
    return {
        "compensation": cm is not None,
        "vehicle_tracks": len(matched),
        "track_seconds": [round(x, 1) for x in lengths],
        "tracks_over_1s": sum(x >= 1.0 for x in lengths),
        "detector_calls": pipeline.stats.detector_calls,
        "cmc_frames": cm.frames if cm else 0,
        "cmc_failed_frames": cm.failures if cm else 0,
    }


def write_thumbs(
    path: Path, matched: dict[int, list[tuple[int, Box]]], pictures: dict[int, np.ndarray]
) -> None:
    """One row per track: its first, middle and last detection, boxed, 2x around the box."""
    rows = []
    for tid, seen in sorted(matched.items()):
        cells = []
        for index, box in (seen[0], seen[len(seen) // 2], seen[-1]):
            pic = pictures[index].copy()
            x1, y1, x2, y2 = (int(v) for v in box.xyxy())
            cv2.rectangle(pic, (x1, y1), (x2, y2), (0, 0, 255), 1)
            cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
            crop = pic[max(0, cy - 50) : cy + 50, max(0, cx - 90) : cx + 90]
            cell = cv2.resize(crop, (360, 200), interpolation=cv2.INTER_CUBIC)
            text = f"id {tid} frame {index}"
            cv2.putText(cell, text, (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 255, 255), 2)
            cells.append(cell)
        rows.append(np.hstack(cells))
    if rows:
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.vstack(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--thumbs", type=Path, help="write a picture of each vehicle track here")
    ap.add_argument("--detect-fps", type=float, default=5.0, help="detect.fps of the walk")
    ap.add_argument("--detect-size", type=int, default=416, help="detect.size of the walk")
    args = ap.parse_args()
    if not CLIP.is_file():
        sys.exit(f"{CLIP} not found; set VIGIL_DATA to the folder that holds telemetry/")
    cv2.setNumThreads(1)
    started = time.perf_counter()
    images, fps = decode(CLIP)
    log(f"{CLIP.name}: {len(images)} frames at {fps:.2f} fps")
    result: dict[str, Any] = {
        "bench": "cmc",
        "data": f"{CLIP.name}, {len(images)} frames {images[0].shape[1]}x{images[0].shape[0]}",
        "speed": {
            "what": "ms a frame in the tracker (+ CameraMotion.observe and compensate with "
            "CMC), one update a frame, synthetic targets on the clip's real frames",
            "repeats": args.repeats,
            "realtime_budget_ms": round(REALTIME_MS, 1),
            "targets": speed(images, fps, args.repeats),
        },
    }
    from vigil.config import CameraConfig, DetectConfig, VigilConfig
    from vigil.pipeline.camera import detector_for_camera

    detect = DetectConfig(fps=args.detect_fps, size=args.detect_size)
    cam = CameraConfig(id="walk", source=str(CLIP), detect=detect)
    detector = Replay(detector_for_camera(VigilConfig(), cam))
    walks = {}
    for mode in ("off", "auto"):
        walks[mode] = walk(CLIP, cam, detector, mode, args.thumbs)
        log(f"walk, motion_compensation {mode}: {walks[mode]}")
    result["walk"] = {
        "what": f"default pipeline (YOLOv3-tiny, motion gate) at detect.size {detect.size}, "
        f"detect.fps {detect.fps:g}; vehicle tracks shown; same detections in both runs",
        "without_cmc": walks["off"],
        "with_cmc": walks["auto"],
        "detector_runs": detector.calls,
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
