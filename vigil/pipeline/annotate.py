"""Drawing the analysis onto frames: separate from the logic that produced it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_CAPTION_BG = (24, 24, 24)


def _color(track_id: int) -> tuple[int, int, int]:
    """A stable, distinct colour per track id."""
    hue = (track_id * 47) % 180
    bgr = cv2.cvtColor(np.array([[[hue, 200, 255]]], np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def _shade(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """A dark version of `color`: a label's background, on which white text always reads."""
    return (color[0] * 9 // 20, color[1] * 9 // 20, color[2] * 9 // 20)


@dataclass(frozen=True, slots=True)
class Style:
    """Sizes for one frame size: text and lines grow with the picture, so a label reads the
    same on a 360p stream shown small and on a 4K one shown large."""

    font_scale: float
    text_thickness: int
    line: int  # zones, counting lines and tracked boxes
    thin: int  # boxes of lost tracks
    pad: int  # around a label's text, inside its background

    @classmethod
    def for_size(cls, width: int, height: int) -> Style:
        # In proportion to the picture, because pictures are shown scaled to fit: a 1080p
        # camera in a tile is drawn at a third of its size. Capital letters are about 3% of
        # the picture's shorter side (a portrait phone picture scales like a landscape one),
        # 35 px on a 1080p picture, 11 px at the least.
        side = max(1, min(width, height))
        scale = max(0.5, side / 680)
        line = max(2, round(side / 200))
        return cls(
            scale, max(1, round(scale * 2.4)), line, max(1, line // 2), max(2, round(scale * 4))
        )


def _label(
    out: np.ndarray,
    text: str,
    at: tuple[int, int],
    color: tuple[int, int, int],
    style: Style,
    *,
    above: bool = True,
) -> None:
    """White `text` on a box filled with a dark shade of `color`, its bottom-left corner at
    `at` (top-left when not `above`, or when there is no room above), inside the picture."""
    (tw, th), base = cv2.getTextSize(text, _FONT, style.font_scale, style.text_thickness)
    pad = style.pad
    bw, bh = tw + 2 * pad, th + base + 2 * pad
    height, width = out.shape[:2]
    x, y = at
    top = y - bh if above and y - bh >= 0 else y
    x = min(max(0, x), max(0, width - bw))
    top = min(max(0, top), max(0, height - bh))
    cv2.rectangle(out, (x, top), (x + bw - 1, top + bh - 1), _shade(color), cv2.FILLED)
    cv2.putText(
        out,
        text,
        (x + pad, top + pad + th),
        _FONT,
        style.font_scale,
        (255, 255, 255),
        style.text_thickness,
        cv2.LINE_AA,
    )


class Annotator:
    """Draws zones, lines (with counts), tracks and the detector's state on a frame copy;
    text and lines are sized for the frame (`Style.for_size`)."""

    def __init__(self, zones: Sequence[Zone], lines: Sequence[Line]) -> None:
        self.zones, self.lines = list(zones), list(lines)

    def draw(
        self,
        image: np.ndarray,
        tracks: Sequence[Track],
        *,
        detected: bool | None = None,
        counts: Mapping[str, Mapping[str, int]] | None = None,
        caption: str = "",
    ) -> np.ndarray:
        """A copy of `image` with the analysis drawn. `detected` (the detector ran on this
        frame: green dot, or it was gated: amber) and `caption` are drawn top-left when
        given; without them there is no dot."""
        out = image.copy()
        height, width = out.shape[:2]
        style = Style.for_size(width, height)
        for zone in self.zones:
            pts = np.array(zone.polygon, np.int32)
            cv2.polylines(out, [pts], True, _CYAN, style.line, cv2.LINE_AA)
            _label(out, zone.name, (int(pts[0][0]), int(pts[0][1])), _CYAN, style, above=False)
        for line in self.lines:
            a, b = (int(line.a[0]), int(line.a[1])), (int(line.b[0]), int(line.b[1]))
            cv2.line(out, a, b, _MAGENTA, style.line, cv2.LINE_AA)
            c = (counts or {}).get(line.name, {})
            label = f"{line.name} in {c.get('in', 0)} out {c.get('out', 0)}"
            _label(out, label, a, _MAGENTA, style)
        for t in tracks:
            lost = t.state == TrackState.LOST
            color = _GREY if lost else _color(t.id)
            x1, y1, x2, y2 = map(int, t.box.xyxy())
            cv2.rectangle(out, (x1, y1), (x2, y2), color, style.thin if lost else style.line)
            text = f"{t.label} #{t.id}" + (" lost" if lost else f" {t.score:.2f}")
            _label(out, text, (x1, y1), color, style)
        if detected is not None or caption:
            self._caption(out, detected, caption, style)
        return out

    @staticmethod
    def _caption(out: np.ndarray, detected: bool | None, caption: str, style: Style) -> None:
        (tw, th), base = cv2.getTextSize(
            caption or " ", _FONT, style.font_scale, style.text_thickness
        )
        pad = style.pad
        r = max(3, th // 2)
        dot = 2 * r + pad if detected is not None else 0
        bh = th + base + 2 * pad
        cv2.rectangle(out, (0, 0), (dot + tw + 2 * pad, bh), _CAPTION_BG, cv2.FILLED)
        if detected is not None:
            center = (pad + r, pad + th // 2 + 1)
            cv2.circle(out, center, r, _GREEN if detected else _AMBER, -1, cv2.LINE_AA)
        if caption:
            org = (dot + pad, pad + th)
            thick = style.text_thickness
            cv2.putText(
                out, caption, org, _FONT, style.font_scale, (255, 255, 255), thick, cv2.LINE_AA
            )


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
