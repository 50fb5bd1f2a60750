"""Reading licence plates in a picture (a whole photo or a vehicle's crop).

The text detector and recogniser are PP-OCRv4's, bundled as ONNX models in the
`rapidocr_onnxruntime` package (Apache-2.0): no download at run time. What is Vigil's own is
choosing the plate among the picture's texts (a car carries model badges, dealer frames,
stickers): every text line of plate length is a candidate, scored by

- the recogniser's confidence,
- the plate formats it fits (`formats.fit`: a read that fits after few changes is most
  likely a plate, and fitting corrects the commonest confusions; one that fits none keeps its
  raw text, with a lower score),
- whether it mixes letters and digits (nearly every plate does; private plates may not),
- its height against the tallest candidate's (the plate of the car in front, not the one behind).

Two-line plates are read as their lines joined, top first, when two candidate lines stack.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from vigil.vision.plates.formats import FORMATS, PlateFormat, fit, normalise

MIN_CHARS, MAX_CHARS = 4, 10
MIN_SIDE, MAX_ASPECT = 8, 40  # pictures smaller or thinner than this hold no readable plate
RAW = 0.75  # a read that fits no format, against 1.0 for one that fits as read
PER_CHANGE = 0.15  # less for each character a format changed
NO_MIX = 0.8  # letters only or digits only
SIZE_POWER = 0.3  # how much a smaller text line (farther away) counts against it


@dataclass(frozen=True, slots=True)
class PlateCandidate:
    text: str  # A-Z and 0-9, corrected to its format if it fits one
    confidence: float  # 0..1: the recogniser's confidence times the plate evidence
    box: tuple[int, int, int, int]  # x, y, w, h in the picture's pixels
    region: str | None  # the format's region, when the text fits one
    raw: str  # what the recogniser read, normalised

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "box": list(self.box),
            "region": self.region,
            "raw": self.raw,
        }


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    score: float
    box: tuple[int, int, int, int]


class PlateReader:
    """`read(image)`: plate candidates in a BGR picture, most likely first.

    The OCR engine loads on first use (about a second) and is shared by the threads of one
    process; a read takes about 200 ms for a 1000×750 photo on one laptop core pair."""

    def __init__(self, formats: tuple[PlateFormat, ...] = FORMATS, text_score: float = 0.3) -> None:
        self.formats = formats
        self.text_score = text_score
        self._engine: Any = None
        self._lock = threading.Lock()

    def _ocr(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR()
            return self._engine

    def lines(self, image: np.ndarray) -> list[_Line]:
        """The picture's text lines: normalised text, confidence, box. A picture too small or
        too thin to hold a line of text has none."""
        height, width = image.shape[:2]
        if min(height, width) < MIN_SIDE or max(height, width) > MAX_ASPECT * min(height, width):
            return []
        engine = self._ocr()
        with self._lock:  # one inference at a time per engine (ONNX sessions use every core)
            found, _ = engine(image, use_cls=False, text_score=self.text_score)
        out = []
        for quad, text, score in found or []:
            pts = np.asarray(quad, dtype=np.float32)
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            box = (int(x0), int(y0), max(1, int(x1 - x0)), max(1, int(y1 - y0)))
            out.append(_Line(normalise(str(text)), float(score), box))
        return out

    def read(self, image: np.ndarray) -> list[PlateCandidate]:
        lines = self.lines(image)
        pool = [ln for ln in lines if MIN_CHARS <= len(ln.text) <= MAX_CHARS]
        pool += _stacked(lines)
        tallest = max((ln.box[3] for ln in pool), default=1)
        best: dict[str, PlateCandidate] = {}
        for ln in pool:
            for c in self._readings(ln, tallest):
                if c.text not in best or c.confidence > best[c.text].confidence:
                    best[c.text] = c
        return sorted(best.values(), key=lambda c: -c.confidence)

    def _readings(self, ln: _Line, tallest: int) -> list[PlateCandidate]:
        size = (ln.box[3] / tallest) ** SIZE_POWER
        options: list[tuple[float, str, str | None]] = [(RAW, ln.text, None)]
        fitted = fit(ln.text, self.formats)
        if fitted is not None:
            options.append((1.0 - PER_CHANGE * fitted.changes, fitted.text, fitted.format.region))
        out = []
        for evidence, text, region in options:
            mixed = any(ch.isdigit() for ch in text) and any(ch.isalpha() for ch in text)
            confidence = ln.score * evidence * (1.0 if mixed else NO_MIX) * size
            out.append(PlateCandidate(text, min(1.0, confidence), ln.box, region, ln.text))
        return out


def _stacked(lines: list[_Line]) -> list[_Line]:
    """Two-line plates: a short line right above another of about the same width and height,
    read as one (top line first)."""
    out = []
    for top in lines:
        for bottom in lines:
            if top is bottom or not 1 <= len(top.text) <= 4 or not 2 <= len(bottom.text) <= 6:
                continue
            tx, ty, tw, th = top.box
            bx, by, bw, bh = bottom.box
            gap = by - (ty + th)
            overlap = min(tx + tw, bx + bw) - max(tx, bx)
            if (
                -0.3 * th <= gap <= 0.6 * th
                and overlap >= 0.5 * min(tw, bw)
                and 0.6 <= th / bh <= 1.6
            ):
                box = (min(tx, bx), ty, max(tx + tw, bx + bw) - min(tx, bx), by + bh - ty)
                score = min(top.score, bottom.score)
                out.append(_Line(top.text + bottom.text, score, box))
    return out
