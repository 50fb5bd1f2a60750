"""MOTChallenge sequences through `vigil track`: reader, result format, errors, identities.

Synthetic sequences only, written to tmp_path: a user's clone has no ../shared data.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.domain import Box
from vigil.tracking.mot import (
    MOT15_SCORE,
    MotError,
    logistic_score,
    raw_score,
    read_detections,
    read_results,
    read_sequence,
    track_sequence,
)

W, H = 40.0, 80.0
FPS = 10
# Raw MOT15-style detector margins: a clear person, and clutter.
SURE, CLUTTER = 70.0, -0.5


def vigil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args], capture_output=True, text=True, timeout=120
    )


def assert_clear_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def write_sequence(folder: Path, length: int, lines: list[str], fps: int = FPS) -> Path:
    (folder / "det").mkdir(parents=True)
    (folder / "seqinfo.ini").write_text(
        "[Sequence]\n"
        f"name={folder.name}\nimDir=img1\nframeRate={fps}\nseqLength={length}\n"
        "imWidth=640\nimHeight=480\nimExt=.jpg\n"
    )
    (folder / "det" / "det.txt").write_text("".join(line + "\n" for line in lines))
    return folder


def det_line(frame: int, x: float, y: float, conf: float, w: float = W, h: float = H) -> str:
    return f"{frame},-1,{x:.3f},{y:.3f},{w:.3f},{h:.3f},{conf:.3f},-1,-1,-1"


def crossing(folder: Path, frames: int = 40) -> tuple[Path, dict[int, list[tuple[float, ...]]]]:
    """Two people walking towards each other, crossing at frame ~20, with box jitter, a few
    weak detections of them and a flicker of clutter. Returns the folder and, per frame, the
    boxes written."""
    rng = random.Random(7)
    lines: list[str] = []
    boxes: dict[int, list[tuple[float, ...]]] = {}
    for f in range(1, frames + 1):
        a = (20 + 8 * (f - 1) + rng.uniform(-1, 1), 100 + rng.uniform(-1, 1))
        b = (340 - 8 * (f - 1) + rng.uniform(-1, 1), 130 + rng.uniform(-1, 1))
        for x, y in (a, b):
            conf = SURE if rng.random() > 0.15 else 18.0  # sometimes unsure (about 0.4)
            lines.append(det_line(f, x, y, conf))
        if f % 9 == 0:  # clutter far from both
            lines.append(det_line(f, 500 + rng.uniform(0, 50), 350, CLUTTER, 30, 30))
        boxes[f] = [
            tuple(float(v) for v in ln.split(",")[2:6]) for ln in lines if ln.startswith(f"{f},")
        ]
    rng.shuffle(lines)  # det.txt lines need not be in frame order
    return write_sequence(folder, frames, lines), boxes


def test_track_writes_motchallenge_results_with_stable_ids(tmp_path: Path) -> None:
    seq, written = crossing(tmp_path / "CROSS-01")
    res = tmp_path / "out" / "res.txt"
    proc = vigil("track", str(seq), "--out", str(res))
    assert proc.returncode == 0, proc.stderr
    summary = proc.stdout.strip().splitlines()
    assert len(summary) == 1 and "40 frames" in summary[0] and "2 tracks" in summary[0], summary

    lines = res.read_text().splitlines()
    assert lines, "no results written"
    by_id: dict[int, list[tuple[int, float]]] = {}
    for line in lines:
        fields = line.split(",")
        assert len(fields) == 10, line
        assert fields[7:] == ["-1", "-1", "-1"], line
        frame, tid = int(fields[0]), int(fields[1])
        assert 1 <= frame <= 40 and tid >= 1, line
        x, y, w, h, score = (float(v) for v in fields[2:7])
        assert w > 0 and h > 0 and 0 <= score <= 1, line
        by_id.setdefault(tid, []).append((frame, x))
    # Two people, two ids, each kept through the crossing: one id only ever walks right,
    # the other only left, and each is shown for nearly every frame.
    assert sorted(by_id) == [1, 2], by_id.keys()
    directions = set()
    for track in by_id.values():
        track.sort()
        steps = [x2 - x1 for (_, x1), (_, x2) in zip(track, track[1:], strict=False)]
        assert all(s > 0 for s in steps) or all(s < 0 for s in steps), steps
        directions.add(steps[0] > 0)
        assert len(track) >= 36, len(track)
    assert directions == {True, False}

    # Reading the file back gives exactly what the tracker returned, and those boxes lie on
    # the detector's boxes of that frame (filtered, so close but not equal).
    rows = read_results(res)
    run = track_sequence(read_sequence(seq))
    expected = [(f, t.id, t.box) for f, ts in enumerate(run.frames, start=1) for t in ts]
    assert len(rows) == len(expected)
    on_a_detection = 0
    for r, (f, tid, box) in zip(rows, expected, strict=True):
        assert (r.frame, r.id) == (f, tid)
        assert r.box.xyxy() == pytest.approx(box.xyxy(), abs=1e-3)
        best = max((r.box.iou(Box(x, y, w, h)) for x, y, w, h in written[f]), default=0.0)
        on_a_detection += best >= 0.7
    assert on_a_detection >= 0.95 * len(rows)


def test_target_hidden_for_one_second_keeps_its_id(tmp_path: Path) -> None:
    lines = []
    for f in range(1, 51):
        lines.append(det_line(f, 400, 200, SURE))  # someone standing still
        if not 16 <= f <= 25:  # the walker is hidden for 10 frames = 1 s at 10 fps
            lines.append(det_line(f, 30 + 5 * (f - 1), 100, SURE))
    seq = read_sequence(write_sequence(tmp_path / "HIDE-01", 50, lines))
    run = track_sequence(seq)
    walker = [[t.id for t in ts if t.box.y < 150] for ts in run.frames]
    before = {i for ids in walker[2:15] for i in ids}
    after = {i for ids in walker[25:] for i in ids}
    assert len(before) == 1 and after == before, (before, after)
    # Shown at its prediction for the coasting time after the last sighting (frame 16, 0.1 s),
    # then not at all while unseen.
    assert all(ids == [] for ids in walker[16:25])
    assert all(len(ids) == 1 for ids in walker[26:])  # seen again from its first return on
    assert run.track_count == 2


def test_malformed_line_names_its_number(tmp_path: Path) -> None:
    seq = write_sequence(
        tmp_path / "BAD-01",
        10,
        [det_line(1, 10, 10, SURE), det_line(2, 12, 10, SURE), "3,-1,14,10,40,oops,70"],
    )
    proc = vigil("track", str(seq), "--out", str(tmp_path / "res.txt"))
    assert_clear_error(proc, "det.txt", "line 3")
    assert not (tmp_path / "res.txt").exists()


def test_short_line_and_frame_out_of_range(tmp_path: Path) -> None:
    seq = write_sequence(tmp_path / "BAD-02", 10, [det_line(1, 10, 10, SURE), "", "2,-1,1,2,3"])
    assert_clear_error(vigil("track", str(seq), "--out", str(tmp_path / "r.txt")), "line 3")
    det = seq / "det" / "det.txt"
    det.write_text(det_line(1, 10, 10, SURE) + "\n" + det_line(11, 10, 10, SURE) + "\n")
    assert_clear_error(vigil("track", str(seq), "--out", str(tmp_path / "r.txt")), "line 2", "11")


def test_missing_seqinfo_and_det(tmp_path: Path) -> None:
    seq = write_sequence(tmp_path / "NOINFO-01", 5, [det_line(1, 10, 10, SURE)])
    (seq / "seqinfo.ini").unlink()
    err = assert_clear_error(vigil("track", str(seq), "--out", str(tmp_path / "r.txt")))
    assert "seqinfo.ini" in err and "frameRate" in err
    seq2 = write_sequence(tmp_path / "NODET-01", 5, [])
    (seq2 / "det" / "det.txt").unlink()
    assert_clear_error(vigil("track", str(seq2), "--out", str(tmp_path / "r.txt")), "det.txt")
    assert_clear_error(
        vigil("track", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.txt")),
        "nowhere",
        "does not exist",
    )


def test_seqinfo_without_frame_rate(tmp_path: Path) -> None:
    seq = write_sequence(tmp_path / "NORATE-01", 5, [det_line(1, 10, 10, SURE)])
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=x\nseqLength=5\n")
    with pytest.raises(MotError, match="frameRate"):
        read_sequence(seq)


def test_score_mapping_is_fixed_monotonic_and_bounded(tmp_path: Path) -> None:
    assert MOT15_SCORE(25.0) == pytest.approx(0.5)
    assert MOT15_SCORE(25.0 + 18.0) == pytest.approx(1 / (1 + math.exp(-1)))
    margins = [-1e6, -10, 0, 10, 25, 40, 70, 140, 1e6]
    mapped = [MOT15_SCORE(c) for c in margins]
    assert mapped == sorted(mapped) and mapped[0] >= 0.0 and mapped[-1] <= 1.0
    assert raw_score(1.7) == 1.0 and raw_score(-0.2) == 0.0 and raw_score(0.42) == 0.42
    with pytest.raises(ValueError):
        logistic_score(scale=0)
    det = tmp_path / "det.txt"
    det.write_text("1,-1,0,0,10,20,0.9\n")
    assert read_detections(det, 1, raw_score)[0][0].score == 0.9
    assert read_detections(det, 1)[0][0].score == pytest.approx(MOT15_SCORE(0.9))
