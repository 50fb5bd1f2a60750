"""What the annotator draws, measured from the drawn pixels: labels grow with the picture and
stay readable on any background; lines keep in proportion; the detector dot only when asked."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.domain import Box, Line, Track, TrackState, Zone
from vigil.pipeline.annotate import Annotator

GREY = 128


def _picture(width: int, height: int, value: int = GREY) -> np.ndarray:
    return np.full((height, width, 3), value, np.uint8)


def _track(width: int, height: int) -> Track:
    """A confirmed track in the middle of the picture: its label has room above the box."""
    box = Box(width * 0.4, height * 0.4, width * 0.2, height * 0.3)
    return Track(7, "person", box, 0.87, TrackState.CONFIRMED, 0.0, 1.0)


def _label_text_rows(width: int, height: int, value: int = GREY) -> tuple[int, float]:
    """Height in pixels of the text drawn above a track's box, and how far (0-255) the text
    differs in brightness from the background it is drawn on."""
    track = _track(width, height)
    out = Annotator([], []).draw(_picture(width, height, value), [track])
    top = int(track.box.y)
    above = out[:top].astype(int)
    drawn = np.any(np.abs(above - value) > 0, axis=2)
    assert drawn.any(), "no label above the box"
    # The label's background is the most common drawn colour; the text is what differs from it.
    colours, counts = np.unique(above[drawn], axis=0, return_counts=True)
    fill = colours[np.argmax(counts)]
    text = drawn & (np.abs(above - fill).sum(axis=2) > 120)
    rows = np.flatnonzero(text.any(axis=1))
    assert rows.size, "the label has no text that stands out from its background"
    luma = np.array([0.114, 0.587, 0.299])
    contrast = abs(float(above[text].mean(axis=0) @ luma) - float(fill @ luma))
    return int(rows[-1] - rows[0] + 1), contrast


def test_label_text_grows_with_the_frame_and_stays_readable() -> None:
    small, small_contrast = _label_text_rows(640, 360)
    hd, _ = _label_text_rows(1280, 720)
    full, full_contrast = _label_text_rows(1920, 1080)
    assert full >= 20, f"text is {full} px tall on a 1920x1080 picture"
    assert small >= 9, f"text is {small} px tall on a 640x360 picture"
    assert small < hd < full
    assert full >= 2 * small
    assert min(small_contrast, full_contrast) > 100


@pytest.mark.parametrize("background", [0, 255])
def test_labels_read_on_black_and_on_white_pictures(background: int) -> None:
    _, contrast = _label_text_rows(1280, 720, background)
    assert contrast > 100


def _thickness(column: np.ndarray, value: int = GREY) -> int:
    """How many pixels along `column` (a line across a drawn edge) differ from the picture."""
    return int(np.any(np.abs(column.astype(int) - value) > 0, axis=1).sum())


def test_box_and_line_thickness_keep_in_proportion() -> None:
    def measure(width: int, height: int) -> tuple[int, int]:
        track = _track(width, height)
        line = Line("middle", (0.0, height * 0.9), (float(width - 1), height * 0.9))
        out = Annotator([], [line]).draw(_picture(width, height), [track])
        mid = int(track.box.y + track.box.h / 2)
        left = int(track.box.x)
        box_edge = _thickness(out[mid, left - 20 : left + 20])
        line_width = _thickness(out[int(height * 0.9) - 20 : int(height * 0.9) + 20, width - 5])
        return box_edge, line_width

    small_box, small_line = measure(640, 360)
    big_box, big_line = measure(1920, 1080)
    assert small_box >= 2 and small_line >= 2
    assert big_box >= 3 and big_line >= 3
    assert big_box > small_box and big_line > small_line


def test_zone_label_stays_inside_the_picture_at_its_bottom_edge() -> None:
    width, height = 1920, 1080
    zone = Zone("table", ((800.0, float(height - 2)), (1200.0, float(height - 2)), (1000.0, 900.0)))
    out = Annotator([zone], []).draw(_picture(width, height), [])
    # The label is drawn (kept inside the picture), not cut off below its bottom edge.
    region = out[height - 80 :, 780:1000].astype(int)
    assert (np.abs(region - GREY).sum(axis=2) > 200).sum() > 100


def test_the_detector_dot_is_drawn_only_when_its_state_is_given() -> None:
    width, height = 640, 360
    plain = Annotator([], []).draw(_picture(width, height), [])
    assert (plain == GREY).all()  # nothing to draw, no dot of unknown meaning either
    gated = Annotator([], []).draw(_picture(width, height), [], detected=False, caption="gated")
    ran = Annotator([], []).draw(_picture(width, height), [], detected=True, caption="DETECT")
    corner_gated = gated[:30, :30].reshape(-1, 3).astype(int)
    corner_ran = ran[:30, :30].reshape(-1, 3).astype(int)
    amber = (corner_gated[:, 2] > 200) & (corner_gated[:, 0] < 60)  # BGR: red high, blue low
    green = (corner_ran[:, 1] > 180) & (corner_ran[:, 2] < 120)
    assert amber.sum() > 10 and green.sum() > 10
