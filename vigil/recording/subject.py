"""The subject of an export: the one face left unblurred, followed from frame to frame.

The exporter names it by a point in the picture at a time ("the face under (0.62, 0.35) at
08:00:03"). From the frame nearest that time the face is followed forwards and backwards: in
each next frame the detected face that overlaps the last one most (IoU at least MIN_IOU) is
the subject's. A face lost for more than MAX_MISSED frames is not looked for again: from there
on every face is blurred, the safe side. Two faces crossing can swap; the manifest says where
the subject was followed, and the clip should be reviewed before it leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigil.vision.faces.redact import Box

MIN_IOU = 0.3
MAX_MISSED = 5  # frames the detector may lose the face before the subject is let go
SEED_SEARCH = 5  # frames either side of the named time to find the face under the point


@dataclass(frozen=True, slots=True)
class SubjectFace:
    """The face under (x, y) (fractions of the picture) at `offset` seconds into the clip."""

    offset: float
    x: float
    y: float


def iou(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = min(ax1, bx1) - max(a[0], b[0])
    h = min(ay1, by1) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _under(boxes: Sequence[Box], px: float, py: float) -> Box | None:
    inside = [b for b in boxes if b[0] <= px <= b[0] + b[2] and b[1] <= py <= b[1] + b[3]]
    return min(inside, key=lambda b: b[2] * b[3], default=None)  # the smallest: the nearest


def _seed(
    faces: Sequence[Sequence[Box]], times: Sequence[float], who: SubjectFace, size: tuple[int, int]
) -> tuple[int, Box] | None:
    """The frame nearest the named time (or one a few frames away) with a face under the point."""
    if not times:
        return None
    nearest = min(range(len(times)), key=lambda i: abs(times[i] - who.offset))
    px, py = who.x * size[0], who.y * size[1]
    for d in range(SEED_SEARCH + 1):
        for i in (nearest - d, nearest + d):
            if 0 <= i < len(faces) and (box := _under(faces[i], px, py)) is not None:
                return i, box
    return None


def _closest(boxes: Sequence[Box], last: Box) -> Box | None:
    return max(boxes, key=lambda b: iou(b, last), default=None)


def follow(
    faces: Sequence[Sequence[Box]], times: Sequence[float], who: SubjectFace, size: tuple[int, int]
) -> list[Box | None]:
    """Per frame, the subject's box among the faces found (None where it is not followed)."""
    kept: list[Box | None] = [None] * len(faces)
    seed = _seed(faces, times, who, size)
    if seed is None:
        return kept
    start, box = seed
    kept[start] = box
    for step in (1, -1):
        last, missed, i = box, 0, start + step
        while 0 <= i < len(faces) and missed <= MAX_MISSED:
            best = _closest(faces[i], last)
            if best is not None and iou(best, last) >= MIN_IOU:
                kept[i], last, missed = best, best, 0
            else:
                missed += 1
            i += step
    return kept
