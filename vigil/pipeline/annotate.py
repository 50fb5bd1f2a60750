"""Drawing the analysis onto frames: separate from the logic that produced it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vigil.domain import Line, Track, TrackState, Zone
from vigil.errors import VigilError

_GREEN, _AMBER, _CYAN, _MAGENTA, _GREY = (
    (80, 220, 80),
    (0, 190, 255),
    (255, 200, 0),
    (200, 80, 255),
    (160, 160, 160),
)


def _color(track_id: int) -> tuple[int, int, int]:
    """A stable, distinct colour per track id."""
    hue = (track_id * 47) % 180
    bgr = cv2.cvtColor(np.array([[[hue, 200, 255]]], np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


class Annotator:
    """Draws zones, lines (with counts), tracks and the detector's state on a frame copy."""

    def __init__(self, zones: Sequence[Zone], lines: Sequence[Line]) -> None:
        self.zones, self.lines = list(zones), list(lines)

    def draw(
        self,
        image: np.ndarray,
        tracks: Sequence[Track],
        *,
        detected: bool = False,
        counts: Mapping[str, Mapping[str, int]] | None = None,
        caption: str = "",
    ) -> np.ndarray:
        out = image.copy()
        for zone in self.zones:
            pts = np.array(zone.polygon, np.int32)
            cv2.polylines(out, [pts], True, _CYAN, 2, cv2.LINE_AA)
            cv2.putText(
                out, zone.name, tuple(pts[0]), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _CYAN, 1, cv2.LINE_AA
            )
        for line in self.lines:
            a, b = tuple(map(int, line.a)), tuple(map(int, line.b))
            cv2.line(out, a, b, _MAGENTA, 2, cv2.LINE_AA)
            c = (counts or {}).get(line.name, {})
            label = f"{line.name} in {c.get('in', 0)} out {c.get('out', 0)}"
            cv2.putText(out, label, a, cv2.FONT_HERSHEY_SIMPLEX, 0.5, _MAGENTA, 1, cv2.LINE_AA)
        for t in tracks:
            lost = t.state == TrackState.LOST
            color = _GREY if lost else _color(t.id)
            x1, y1, x2, y2 = map(int, t.box.xyxy())
            cv2.rectangle(out, (x1, y1), (x2, y2), color, 1 if lost else 2, cv2.LINE_AA)
            text = f"{t.label} #{t.id}" + (" lost" if lost else f" {t.score:.2f}")
            cv2.putText(
                out,
                text,
                (x1, max(12, y1 - 4)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45,
                color,
                1,
                cv2.LINE_AA,
            )
        status = _GREEN if detected else _AMBER
        cv2.circle(out, (14, 14), 6, status, -1, cv2.LINE_AA)
        if caption:
            cv2.putText(
                out,
                caption,
                (26, 19),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.5,
                (255, 255, 255),
                1,
                cv2.LINE_AA,
            )
        return out


class VideoWriter:
    """H.264 MP4 writer on PyAV (bundled FFmpeg, no system ffmpeg needed)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._container = av.open(str(path), mode="w")
        except (OSError, av.error.FFmpegError) as exc:
            raise VigilError(
                f"cannot write the annotated video '{path}' ({exc}); choose a writable path"
            ) from None
        rate = max(1, round(fps * 1000))
        self._stream = self._container.add_stream("libx264", rate=Fraction(rate, 1000))
        self._stream.width, self._stream.height = size[0] - size[0] % 2, size[1] - size[1] % 2
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "26", "preset": "veryfast"}

    def write(self, image: np.ndarray) -> None:
        h, w = self._stream.height, self._stream.width
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:h, :w]), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
