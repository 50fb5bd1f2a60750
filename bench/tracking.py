"""Tracking benchmark: Vigil's tracker against the trackers users know, on MOT15.

    .venv/bin/python bench/tracking.py       # progress on stderr, one JSON line on stdout

Reads the 7 MOTChallenge 2D MOT 2015 training sequences in ../shared/data/mot15 (override with
VIGIL_DATA=/path/to/data, the folder that holds mot15/): their public detections and ground
truth. Needs the bench extra: `make bench`, or `pip install -e '.[bench]'` plus the packages the
Makefile installs with --no-deps (their pins would downgrade numpy or pull opencv-python).

Every tracker gets the same detections, read by `vigil.tracking.mot.read_sequence` with its one
fixed score mapping (raw MOT15 margins squashed to 0..1 probabilities, 0.5 at margin 25): a peer
that thresholds at 0.5 or 0.6 sees the same 0..1 scores as Vigil. The peers, with the settings
their own documentation or MOTChallenge demos use (no tuning here):

- vigil: `vigil.tracking.tracker.Tracker` with its defaults, the live pipeline's tracker, via
  `track_sequence` (the same code as `vigil track`); outputs tracks matched in each frame.
- norfair (Frigate's tracker library): IoU distance with the values of Norfair's own
  MOTChallenge demo (demos/motmetrics4norfair): distance_threshold 0.9 (IoU >= 0.1),
  hit_counter_max 8, pointwise_hit_counter_max 3, detection_threshold 0.5, default Kalman filter;
  no camera-motion estimation (there are no images). Norfair starts tracks from every detection
  it is given, so, like Frigate (min_score 0.5) and that demo, it gets detections scoring >= 0.5.
  Outputs what `update` returns (initialised objects, Kalman estimates), as the demo writes.
- bytetrack, ocsort: Roboflow `trackers` 2.x re-implementations, class defaults, frame_rate set
  to the sequence's (their lost-track buffer is in 30 fps frames and scaled by it); every
  detection is given, they split by score themselves. Outputs detections with a track id.
- motpy: the settings of motpy's MOT16 example (dt = 1/fps, constant acceleration with static
  box size, max_staleness 15, min_iou 0.25). motpy has no score threshold and starts a track
  from every detection, so it gets detections scoring >= 0.5, like Norfair.

Scores: TrackEval (HOTA, CLEAR, Identity; MOT15 benchmark, so no distractor pre-processing)
over the combined set of sequences (its COMBINED_SEQ), plus per-sequence HOTA. py-motmetrics'
MOTA over the same files is reported as an independent check of the evaluation set-up.
Speed: frames per second of the tracker's update calls alone (no file reading, no conversion
of detections to the peer's input type, no scoring), over all sequences, on one CPU thread as
each tracker runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vigil.tracking.mot import MotSequence, read_sequence, track_sequence

ROOT = Path(__file__).resolve().parent.parent

DATA = Path(os.environ.get("VIGIL_DATA", ROOT.parent / "shared" / "data"))
MOT = DATA / "mot15"
SEQUENCES = (
    "ETH-Sunnyday",
    "KITTI-13",
    "KITTI-17",
    "PETS09-S2L1",
    "TUD-Campus",
    "TUD-Stadtmitte",
    "Venice-2",
)
PREFILTER = 0.5  # for peers that start a track from any detection they are given
SPLIT = "MOT15-train"

# One result row: frame (1-based), id, x, y, w, h, score.
Row = tuple[int, int, float, float, float, float, float]
Runner = Callable[[MotSequence], tuple[list[Row], float]]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def numpy2_compat() -> None:
    """Aliases NumPy 2 removed that evaluation packages may still use (py-motmetrics 1.4 calls
    np.asfarray; older TrackEval releases use np.float / np.int / np.bool)."""
    if "asfarray" not in np.__dict__:
        np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]
    for name, kind in (("float", float), ("int", int), ("bool", bool)):
        if name not in np.__dict__:
            setattr(np, name, kind)


def arrays(seq: MotSequence) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per frame: (N, 4) x1, y1, x2, y2 and (N,) scores."""
    out = []
    for dets in seq.detections:
        xyxy = np.array([d.box.xyxy() for d in dets], dtype=np.float64).reshape(-1, 4)
        out.append((xyxy, np.array([d.score for d in dets], dtype=np.float64)))
    return out


def row(frame: int, tid: int, xyxy: Any, score: float) -> Row:
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    return (frame, tid, x1, y1, x2 - x1, y2 - y1, float(score))


# --- the trackers ----------------------------------------------------------------------------


def run_vigil(seq: MotSequence) -> tuple[list[Row], float]:
    run = track_sequence(seq)
    rows = [
        (f, t.id, t.box.x, t.box.y, t.box.w, t.box.h, t.score)
        for f, tracks in enumerate(run.frames, start=1)
        for t in tracks
    ]
    return rows, run.seconds


def run_norfair(seq: MotSequence) -> tuple[list[Row], float]:
    from norfair import Detection, Tracker

    tracker = Tracker(
        distance_function="iou",
        distance_threshold=0.9,
        hit_counter_max=8,
        pointwise_hit_counter_max=3,
        detection_threshold=0.5,
    )
    rows: list[Row] = []
    spent = 0.0
    for f, (xyxy, score) in enumerate(arrays(seq), start=1):
        keep = score >= PREFILTER
        dets = [
            Detection(points=b.reshape(2, 2), scores=np.array([s, s]))
            for b, s in zip(xyxy[keep], score[keep], strict=True)
        ]
        started = time.perf_counter()
        objects = tracker.update(detections=dets)
        spent += time.perf_counter() - started
        for obj in objects:
            est = obj.estimate
            rows.append(row(f, obj.id, est.reshape(-1), obj.last_detection.scores[0]))
    return rows, spent


def _roboflow(make: Callable[[float], Any]) -> Runner:
    def run(seq: MotSequence) -> tuple[list[Row], float]:
        import supervision as sv

        tracker = make(seq.info.frame_rate)
        rows: list[Row] = []
        spent = 0.0
        for f, (xyxy, score) in enumerate(arrays(seq), start=1):
            dets = sv.Detections(
                xyxy=xyxy, confidence=score, class_id=np.zeros(len(score), dtype=int)
            )
            started = time.perf_counter()
            res = tracker.update(dets)
            spent += time.perf_counter() - started
            for b, s, tid in zip(res.xyxy, res.confidence, res.tracker_id, strict=True):
                if tid >= 0:
                    rows.append(row(f, int(tid), b, s))
        return rows, spent

    return run


def _bytetrack(fps: float) -> Any:
    from trackers import ByteTrackTracker

    return ByteTrackTracker(frame_rate=fps)


def _ocsort(fps: float) -> Any:
    from trackers import OCSORTTracker

    return OCSORTTracker(frame_rate=fps)


def run_motpy(seq: MotSequence) -> tuple[list[Row], float]:
    from motpy import Detection, MultiObjectTracker

    tracker = MultiObjectTracker(
        dt=1 / seq.info.frame_rate,
        tracker_kwargs={"max_staleness": 15},
        model_spec="constant_acceleration_and_static_box_size_2d",
        matching_fn_kwargs={"min_iou": 0.25},
    )
    ids: dict[str, int] = {}
    rows: list[Row] = []
    spent = 0.0
    for f, (xyxy, score) in enumerate(arrays(seq), start=1):
        keep = score >= PREFILTER
        dets = [Detection(box=b, score=s) for b, s in zip(xyxy[keep], score[keep], strict=True)]
        started = time.perf_counter()
        tracks = tracker.step(dets)
        spent += time.perf_counter() - started
        for t in tracks:
            tid = ids.setdefault(t.id, len(ids) + 1)
            rows.append(row(f, tid, t.box, t.score if t.score is not None else 1.0))
    return rows, spent


TRACKERS: dict[str, Runner] = {
    "vigil": run_vigil,
    "norfair": run_norfair,
    "bytetrack": _roboflow(_bytetrack),
    "ocsort": _roboflow(_ocsort),
    "motpy": run_motpy,
}


# --- scoring ---------------------------------------------------------------------------------


def write_rows(path: Path, rows: list[Row]) -> None:
    """MOTChallenge result file; ids renumbered 1.. by first appearance (TrackEval wants ints,
    some peers count from 0, motpy uses UUIDs), which changes no metric."""
    dense: dict[int, int] = {}
    lines = []
    for f, tid, x, y, w, h, s in sorted(rows, key=lambda r: (r[0], r[1])):
        new = dense.setdefault(tid, len(dense) + 1)
        lines.append(f"{f},{new},{x:.3f},{y:.3f},{w:.3f},{h:.3f},{s:.4f},-1,-1,-1\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """TrackEval prints its progress on stdout, which is reserved for the JSON line."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def layout(tmp: Path, seqs: list[MotSequence]) -> tuple[Path, Path]:
    """gt/<seq>/{gt/gt.txt, seqinfo.ini} and a seqmap, as TrackEval's MOT reader expects."""
    gt = tmp / "gt"
    for seq in seqs:
        dst = gt / seq.info.name
        (dst / "gt").mkdir(parents=True)
        shutil.copy(seq.path / "gt" / "gt.txt", dst / "gt" / "gt.txt")
        shutil.copy(seq.path / "seqinfo.ini", dst / "seqinfo.ini")
    seqmap = gt / "seqmaps" / f"{SPLIT}.txt"
    seqmap.parent.mkdir(parents=True)
    seqmap.write_text("name\n" + "".join(f"{s.info.name}\n" for s in seqs))
    return gt, seqmap


def trackeval_scores(
    tmp: Path, gt: Path, seqmap: Path, names: list[str], seq_names: list[str]
) -> dict[str, dict[str, Any]]:
    with stdout_to_stderr():
        import trackeval

        evaluator = trackeval.Evaluator(
            {
                "USE_PARALLEL": False,
                "PRINT_RESULTS": False,
                "PRINT_ONLY_COMBINED": True,
                "PRINT_CONFIG": False,
                "TIME_PROGRESS": False,
                "DISPLAY_LESS_PROGRESS": True,
                "OUTPUT_SUMMARY": False,
                "OUTPUT_DETAILED": False,
                "PLOT_CURVES": False,
            }
        )
        dataset = trackeval.datasets.MotChallenge2DBox(
            {
                "GT_FOLDER": str(gt),
                "TRACKERS_FOLDER": str(tmp / "trackers"),
                "OUTPUT_FOLDER": str(tmp / "trackeval-out"),
                "TRACKERS_TO_EVAL": names,
                "BENCHMARK": "MOT15",
                "SPLIT_TO_EVAL": "train",
                "SKIP_SPLIT_FOL": True,
                "SEQMAP_FILE": str(seqmap),
                "TRACKER_SUB_FOLDER": "data",
                "PRINT_CONFIG": False,
            }
        )
        metrics = [
            trackeval.metrics.HOTA({"PRINT_CONFIG": False}),
            trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
            trackeval.metrics.Identity({"PRINT_CONFIG": False}),
        ]
        res, msgs = evaluator.evaluate([dataset], metrics)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if msgs["MotChallenge2DBox"][name] != "Success":
            raise RuntimeError(f"TrackEval failed on {name}: {msgs['MotChallenge2DBox'][name]}")
        per = res["MotChallenge2DBox"][name]
        comb = per["COMBINED_SEQ"]["pedestrian"]
        out[name] = {
            "HOTA": round(100 * float(np.mean(comb["HOTA"]["HOTA"])), 2),
            "MOTA": round(100 * float(comb["CLEAR"]["MOTA"]), 2),
            "IDF1": round(100 * float(comb["Identity"]["IDF1"]), 2),
            "IDSW": int(comb["CLEAR"]["IDSW"]),
            "per_sequence_HOTA": {
                s: round(100 * float(np.mean(per[s]["pedestrian"]["HOTA"]["HOTA"])), 2)
                for s in seq_names
            },
        }
    return out


def motmetrics_mota(tmp: Path, gt: Path, name: str, seq_names: list[str]) -> float:
    """Combined MOTA by py-motmetrics (IoU >= 0.5 match, as TrackEval): an independent check."""
    import motmetrics as mm

    accs = []
    for s in seq_names:
        gt_df = mm.io.loadtxt(str(gt / s / "gt" / "gt.txt"), fmt="mot15-2D", min_confidence=1)
        ts_df = mm.io.loadtxt(str(tmp / "trackers" / name / "data" / f"{s}.txt"), fmt="mot15-2D")
        accs.append(mm.utils.compare_to_groundtruth(gt_df, ts_df, "iou", distth=0.5))
    summary = mm.metrics.create().compute_many(
        accs, metrics=["mota"], names=seq_names, generate_overall=True
    )
    return round(100 * float(summary.loc["OVERALL", "mota"]), 2)


def main() -> None:
    missing = [s for s in SEQUENCES if not (MOT / s / "seqinfo.ini").is_file()]
    if missing:
        sys.exit(f"MOT15 sequences not found under {MOT}: {missing}; set VIGIL_DATA")
    numpy2_compat()
    started = time.perf_counter()
    seqs = [read_sequence(MOT / s) for s in SEQUENCES]
    seq_names = [s.info.name for s in seqs]
    total_frames = sum(s.info.length for s in seqs)
    result: dict[str, Any] = {
        "bench": "tracking",
        "data": f"MOT15 train, {len(seqs)} sequences, {total_frames} frames, public detections",
        "score_map": "1/(1+exp(-(conf-25)/18)), fixed for all sequences",
        "metrics": "TrackEval COMBINED_SEQ; fps = frames / seconds in tracker updates only",
        "trackers": {},
    }
    with tempfile.TemporaryDirectory(prefix="vigil-bench-tracking-") as tmp_name:
        tmp = Path(tmp_name)
        gt, seqmap = layout(tmp, seqs)
        speed: dict[str, float] = {}
        for name, runner in TRACKERS.items():
            seconds = 0.0
            for seq in seqs:
                rows, spent = runner(seq)
                seconds += spent
                write_rows(tmp / "trackers" / name / "data" / f"{seq.info.name}.txt", rows)
                log(f"{name:9} {seq.info.name:15} {seq.info.length:4} frames  {spent:6.2f} s")
            speed[name] = round(total_frames / seconds, 1)
        log("scoring with TrackEval ...")
        scores = trackeval_scores(tmp, gt, seqmap, list(TRACKERS), seq_names)
        for name in TRACKERS:
            check = motmetrics_mota(tmp, gt, name, seq_names)
            mota = scores[name]["MOTA"]
            if abs(check - mota) > 0.5:
                log(f"warning: {name} MOTA {mota} by TrackEval but {check} by motmetrics")
            entry = {k: scores[name][k] for k in ("HOTA", "MOTA", "IDF1", "IDSW")}
            entry["fps"] = speed[name]
            entry["motmetrics_MOTA"] = check
            entry["per_sequence_HOTA"] = scores[name]["per_sequence_HOTA"]
            result["trackers"][name] = entry
            log(
                f"{name:9} HOTA {entry['HOTA']:5.2f}  MOTA {entry['MOTA']:6.2f}  "
                f"IDF1 {entry['IDF1']:5.2f}  IDSW {entry['IDSW']:4}  {entry['fps']:8.1f} fps"
            )
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
