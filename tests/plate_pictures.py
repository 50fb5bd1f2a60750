"""Drawn pictures for the plate tests: a car's back with a white licence plate, black text.

Shared by the analyzer's tests (frames drawn in memory) and the full-pipeline video test (the
same car driven across an MP4), so both read the same drawing.
"""

from __future__ import annotations

import cv2
import numpy as np


def car(text: str, scale: float) -> np.ndarray:
    """A car's back with a plate, `scale` times its base size of 300x220 pixels."""
    w, h = int(300 * scale), int(220 * scale)
    img = np.full((h, w, 3), (60, 60, 70), np.uint8)
    size = 1.1 * scale
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, size, max(1, int(2 * scale)))
    x, y = (w - tw) // 2, int(h * 0.75)
    pad = int(8 * scale)
    cv2.rectangle(img, (x - pad, y - th - pad), (x + tw + pad, y + pad), (255, 255, 255), -1)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_DUPLEX, size, (0, 0, 0), max(1, int(2 * scale)))
    return img
