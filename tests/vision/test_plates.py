"""Licence plates: formats and their corrections, the reader on drawn plates (real OCR models),
and `vigil plates` on files good and bad. Real photos are measured in bench/plates.py."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.vision.plates import FORMATS, PlateReader, fit, formats_for, normalise
from vigil.vision.plates.formats import PlateFormat, fit_one
from vigil.vision.plates.match import matches, pattern


@pytest.mark.parametrize(
    ("read", "region", "expected", "changes"),
    [
        ("RK755AJ", "HR", "RK755AJ", 0),  # as read
        ("RK6O5AB", "HR", "RK605AB", 1),  # a letter O where the format has a digit
        ("RK755A1", "HR", "RK755AI", 1),  # a digit 1 where it has a letter
        ("1T483213", "CZ", "1T43213", 1),  # the round sticker between the groups, read as 8
        ("LLL1234", "BR", "LLL1234", 0),
        ("ABC1D23", "BR", "ABC1D23", 0),  # Mercosur
        ("ABC1D2S", "BR", "ABC1D25", 1),  # Mercosur: S read where a digit is
    ],
)
def test_a_read_fits_its_format_with_the_fewest_changes(
    read: str, region: str, expected: str, changes: int
) -> None:
    fitted = fit(read, formats_for([region]))
    assert fitted is not None and (fitted.text, fitted.changes) == (expected, changes)
    assert fitted.format.region.startswith(region)


def test_optional_slots_and_what_fits_nothing() -> None:
    hr = PlateFormat("HR", "LL DDD[D] L[L]")
    assert hr.lengths == (6, 8)
    assert fit_one("ZG1234AB", hr) is not None and fit_one("ZG123A", hr) is not None
    assert fit_one("ZG12A", hr) is None  # too few digits: characters are never made up
    assert fit("GWAGEN", FORMATS, max_changes=0) is None  # a private plate fits no format as read
    assert fit("XXXXXXXXXXXX", FORMATS) is None
    assert normalise(" rk 755-aj ") == "RK755AJ"
    with pytest.raises(ValueError, match="unknown plate region"):
        formats_for(["XX"])


def plate_image(text: str, *, size: int = 2, badge: str | None = None) -> np.ndarray:
    """A grey car-like picture with a white plate with `text` in black (and a smaller badge)."""
    img = np.full((480, 640, 3), 90, np.uint8)
    cv2.rectangle(img, (60, 80), (580, 420), (60, 60, 70), -1)  # the car's back
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, size, 3)
    x, y = 320 - w // 2, 330
    cv2.rectangle(img, (x - 20, y - h - 20), (x + w + 20, y + 20), (255, 255, 255), -1)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_DUPLEX, size, (0, 0, 0), 3, cv2.LINE_AA)
    if badge:
        cv2.putText(img, badge, (420, 150), cv2.FONT_HERSHEY_DUPLEX, 0.8, (230, 230, 230), 2)
    return img


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


def test_the_plate_is_read_and_chosen_over_other_text(reader: PlateReader) -> None:
    found = reader.read(plate_image("RK 755-AJ", badge="4MATIC"))
    assert found and found[0].text == "RK755AJ" and found[0].region == "HR"
    assert 0 < found[0].confidence <= 1
    x, y, w, h = found[0].box
    assert 150 < x + w / 2 < 490 and 250 < y + h / 2 < 360  # where the plate is
    assert [c.confidence for c in found] == sorted((c.confidence for c in found), reverse=True)


def test_a_picture_without_text_has_no_plate(reader: PlateReader) -> None:
    assert reader.read(np.full((240, 320, 3), 128, np.uint8)) == []
    # Before: a 3x5000 picture (a thin crop, a broken frame) raised from inside the OCR.
    for shape in ((1, 1), (3, 5000), (5000, 3), (8, 320), (9, 9), (4000, 8)):
        assert reader.read(np.zeros((*shape, 3), np.uint8)) == [], shape


def test_vigil_plates_reads_files_and_says_which_it_could_not(tmp_path: Path) -> None:
    good = tmp_path / "car.png"
    cv2.imwrite(str(good), plate_image("ZG 1234 AB"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    empty = tmp_path / "wall.png"
    cv2.imwrite(str(empty), np.full((200, 200, 3), 200, np.uint8))
    missing = tmp_path / "missing.jpg"
    r = CliRunner().invoke(
        app, ["plates", str(good), str(broken), str(missing), str(empty), "--json"]
    )
    assert r.exit_code == 1
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert [x["image"] for x in lines] == [str(good), str(empty)]
    assert lines[0]["plates"][0]["text"] == "ZG1234AB" and lines[1]["plates"] == []
    assert set(lines[0]["plates"][0]) == {"text", "confidence", "box", "region", "raw"}
    assert "broken.jpg is not a picture OpenCV can read; skipped" in r.stderr
    assert "missing.jpg does not exist; skipped" in r.stderr
    assert "Traceback" not in r.output
    bad = CliRunner().invoke(app, ["plates", str(good), "--region", "XX"])
    assert bad.exit_code == 2 and "unknown plate region(s) XX" in bad.output


@pytest.mark.parametrize(
    ("read", "listed", "hit"),
    [
        ("AB123CD", "AB123CD", True),
        ("AB123CO", "AB123CD", True),  # D read as O
        ("A8I23CD", "AB123CD", True),  # two confusions: B/8 and 1/I
        ("AB 123-CD", "AB123CD", True),  # spacing does not count
        ("AB123C", "AB123CD", False),  # a character missed: only with a wider tolerance
        ("AB124CD", "AB123CD", False),  # another digit: another plate
        ("XY123CD", "AB123CD", False),
        ("A8I23C0", "AB123CD", False),  # three confusions are too many by default
    ],
)
def test_hotlist_matching_forgives_what_ocr_confuses_and_nothing_else(
    read: str, listed: str, hit: bool
) -> None:
    assert matches(read, listed) is hit
    assert matches("AB123C", "AB123CD", tolerance=1.0)
    assert matches(read, listed, tolerance=0) is (normalise(read) == normalise(listed))


def test_partial_plate_patterns() -> None:
    p = pattern("ab?12*")
    assert (
        p.match("ABC12") and p.match("ABX12345") and not p.match("AB12") and not p.match("XAB112")
    )
    assert pattern("RK 755-AJ").match("RK755AJ")
    assert pattern("*55A*").match("RK755AJ") and not pattern("*56A*").match("RK755AJ")
    for bad in ("", "AB%12", "A" * 31, "AB'; DROP"):
        with pytest.raises(ValueError, match="not a plate pattern"):
            pattern(bad)
