"""MOTChallenge sequences in and out: public detections to Vigil's tracker, tracks to result files.

A sequence folder holds `seqinfo.ini` (a `[Sequence]` section with name, frameRate, seqLength,
imWidth, imHeight) and `det/det.txt`, one detection a line: `frame,id,x,y,w,h,conf[,...]` with
1-based frames, the box's top-left corner and size in pixels, and id -1. Results are written in
the same format, `frame,id,x,y,w,h,score,-1,-1,-1`, which TrackEval and py-motmetrics read.

Detection scores. Vigil's tracker expects a detection's score to be a probability in 0..1 (its
thresholds: 0.5 to match first, 0.6 to start a track). The public MOT15 detections (an ACF
detector) carry raw classifier margins instead, from about -1 to 140. `logistic_score` maps a
margin c to 1 / (1 + exp(-(c - center) / scale)): Platt scaling, the standard way to turn a
classifier margin into a probability. The constants `MOT15_SCORE_CENTER` = 25 and
`MOT15_SCORE_SCALE` = 18 were fitted once, by maximum likelihood, to whether each detection of
the 7 MOT15 training sequences in ../shared/data/mot15 overlaps a ground-truth person (IoU >= 0.5;
pooled fit 25.2 and 18.4, rounded). They are fixed for every sequence, never tuned per scene
(a user cannot tune per camera either); so a mapped score of 0.5 means "as likely a person as
not", whatever the sequence. Detections that already carry probabilities (e.g. MOT17's FRCNN and
SDP files) should be read with `raw_score`, which only clips to 0..1.
"""

from __future__ import annotations

import configparser
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vigil.domain import Box, Detection, Track, TrackState
from vigil.errors import VigilError
from vigil.tracking.tracker import Tracker, TrackerParams

MOT15_SCORE_CENTER = 25.0
MOT15_SCORE_SCALE = 18.0
LABEL = "person"  # MOTChallenge pedestrian sequences have one class

ScoreMap = Callable[[float], float]


class MotError(VigilError):
    """A MOTChallenge sequence folder or file is missing or malformed."""


def logistic_score(
    center: float = MOT15_SCORE_CENTER, scale: float = MOT15_SCORE_SCALE
) -> ScoreMap:
    """Raw detector margin -> probability in 0..1, 0.5 at `center` (Platt scaling)."""
    if not scale > 0:
        raise ValueError(f"logistic_score needs scale > 0, got {scale}")

    def score(conf: float) -> float:
        z = (conf - center) / scale
        # exp of a large positive number overflows; both branches are the same function.
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    return score


def raw_score(conf: float) -> float:
    """For detections whose confidences are already probabilities: clip to 0..1."""
    return min(max(conf, 0.0), 1.0)


MOT15_SCORE: ScoreMap = logistic_score()


@dataclass(frozen=True, slots=True)
class SeqInfo:
    name: str
    frame_rate: float
    length: int  # frames, numbered 1..length
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class MotSequence:
    """A sequence's info and its detections per frame (`detections[0]` is frame 1)."""

    path: Path
    info: SeqInfo
    detections: list[list[Detection]]

    def timestamp(self, frame: int) -> float:
        """Seconds of media time of 1-based `frame`."""
        return (frame - 1) / self.info.frame_rate


def read_seqinfo(path: Path) -> SeqInfo:
    """Parse a `seqinfo.ini`; errors name the file and the missing or bad key."""
    if not path.is_file():
        raise MotError(
            f"'{path}' is missing; a MOTChallenge sequence folder needs a seqinfo.ini with a "
            "[Sequence] section giving name, frameRate, seqLength, imWidth and imHeight"
        )
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"), source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise MotError(f"'{path}' is not a valid ini file ({first}); fix its syntax") from None
    if not parser.has_section("Sequence"):
        raise MotError(f"'{path}' has no [Sequence] section; add one with frameRate, seqLength")
    sec = parser["Sequence"]

    def number(key: str, kind: type[int] | type[float], example: str) -> float:
        text = sec.get(key, "").strip()
        try:
            value = kind(text)
        except ValueError:
            value = -1
        if not (value > 0 and math.isfinite(value)):
            raise MotError(
                f"'{path}' needs a positive {key} in [Sequence] (found {text or 'nothing'!r}); "
                f"add a line like {key}={example}"
            )
        return value

    return SeqInfo(
        name=sec.get("name", "").strip() or path.parent.name,
        frame_rate=float(number("frameRate", float, "30")),
        length=int(number("seqLength", int, "600")),
        width=int(number("imWidth", int, "1920")),
        height=int(number("imHeight", int, "1080")),
    )


def read_detections(
    path: Path, length: int, score: ScoreMap = MOT15_SCORE
) -> list[list[Detection]]:
    """Parse a MOTChallenge `det.txt` into `length` per-frame lists of person detections.

    `score` maps the file's confidence column to the tracker's 0..1 (see the module docstring).
    Blank lines and lines starting with '#' are skipped; anything else must hold at least
    7 comma-separated numbers with a frame in 1..length, or the error names its line.
    """
    if not path.is_file():
        raise MotError(
            f"'{path}' is missing; put the detections to track there, one per line as "
            "frame,id,x,y,w,h,conf (MOTChallenge det.txt)"
        )
    frames: list[list[Detection]] = [[] for _ in range(length)]
    with path.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                fields = [float(f) for f in text.split(",")]
            except ValueError:
                fields = []
            if len(fields) < 7 or not all(math.isfinite(f) for f in fields[:7]):
                shown = text if len(text) <= 60 else text[:57] + "..."
                raise MotError(
                    f"'{path}' line {n}: expected at least 7 comma-separated numbers "
                    f"frame,id,x,y,w,h,conf, got {shown!r}; fix or remove that line"
                )
            frame = fields[0]
            if frame != int(frame) or not 1 <= frame <= length:
                raise MotError(
                    f"'{path}' line {n}: frame {text.split(',')[0].strip()} is not a whole number "
                    f"in 1..{length} (seqLength in seqinfo.ini); fix the line or seqLength"
                )
            x, y, w, h, conf = fields[2:7]
            frames[int(frame) - 1].append(Detection(Box(x, y, w, h), LABEL, score(conf)))
    return frames


def read_sequence(seq_dir: Path | str, score: ScoreMap = MOT15_SCORE) -> MotSequence:
    """Read a MOTChallenge sequence folder (seqinfo.ini and det/det.txt)."""
    folder = Path(seq_dir)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise MotError(
            f"'{folder}' {what}; give the path of a MOTChallenge sequence folder, the one "
            "holding seqinfo.ini and det/det.txt"
        )
    info = read_seqinfo(folder / "seqinfo.ini")
    dets = read_detections(folder / "det" / "det.txt", info.length, score)
    return MotSequence(folder, info, dets)


@dataclass(frozen=True, slots=True)
class TrackingRun:
    """Tracks shown in each frame (`frames[0]` is frame 1) and the time spent in the tracker."""

    frames: list[list[Track]]
    seconds: float

    @property
    def track_count(self) -> int:
        return len({t.id for tracks in self.frames for t in tracks})


COAST_SECONDS = 0.15


def track_sequence(
    seq: MotSequence, params: TrackerParams | None = None, coast: float = COAST_SECONDS
) -> TrackingRun:
    """Run Vigil's tracker (the live pipeline's) over a sequence, one update per frame.

    Each frame keeps the tracks matched to a detection in that frame (CONFIRMED), and lost
    tracks for `coast` seconds after their last match, at their predicted box: a detector
    that misses a person for one frame should not make the person vanish for that frame (the
    live UI shows lost tracks the same way). `seconds` counts only the update calls.
    """
    tracker = Tracker(params)
    frames: list[list[Track]] = []
    spent = 0.0
    for index, dets in enumerate(seq.detections, start=1):
        t = seq.timestamp(index)
        started = time.perf_counter()
        update = tracker.update(dets, t)
        spent += time.perf_counter() - started
        frames.append(
            [
                tr
                for tr in update.tracks
                if tr.state is TrackState.CONFIRMED
                or (tr.state is TrackState.LOST and t - tr.last_seen <= coast + 1e-9)
            ]
        )
    return TrackingRun(frames, spent)


def _num(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_results(frames: Iterable[Sequence[Track]]) -> list[str]:
    """MOTChallenge result lines `frame,id,x,y,w,h,score,-1,-1,-1` (frames counted from 1)."""
    lines = []
    for frame, tracks in enumerate(frames, start=1):
        for tr in sorted(tracks, key=lambda t: t.id):
            b = tr.box
            coords = ",".join(_num(v, 3) for v in (b.x, b.y, b.w, b.h))
            lines.append(f"{frame},{tr.id},{coords},{_num(tr.score, 4)},-1,-1,-1")
    return lines


def write_results(path: Path | str, frames: Iterable[Sequence[Track]]) -> int:
    """Write `frames` (see `format_results`) to `path`; returns the number of lines."""
    target = Path(path)
    lines = format_results(frames)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    except OSError as exc:
        raise MotError(
            f"cannot write '{target}' ({exc.strerror or exc}); choose another --out path"
        ) from None
    return len(lines)


@dataclass(frozen=True, slots=True)
class ResultRow:
    frame: int
    id: int
    box: Box
    score: float


def read_results(path: Path | str) -> list[ResultRow]:
    """Read a MOTChallenge result file (as written by `write_results`)."""
    source = Path(path)
    if not source.is_file():
        raise MotError(f"'{source}' is missing; give the result file written by vigil track")
    rows = []
    for n, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            f = [float(v) for v in line.split(",")]
            if len(f) < 7:
                raise ValueError
        except ValueError:
            raise MotError(
                f"'{source}' line {n}: expected frame,id,x,y,w,h,score,...; fix or remove it"
            ) from None
        rows.append(ResultRow(int(f[0]), int(f[1]), Box(f[2], f[3], f[4], f[5]), f[6]))
    return rows
