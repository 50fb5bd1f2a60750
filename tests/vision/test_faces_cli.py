"""`vigil faces compare`: two pictures, and a pairs CSV as JSON lines, where a picture without
a usable face, a missing or unreadable file gives a reason and the other pairs go through."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.vision.faces import MATCH_THRESHOLD

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "faces"
OBAMA, PRESS, BIDEN = (
    FIXTURES / n for n in ("obama_portrait.jpg", "obama_press.jpg", "biden_portrait.jpg")
)
runner = CliRunner()


def test_two_pictures_of_one_person_match_and_of_two_people_do_not() -> None:
    same = runner.invoke(app, ["faces", "compare", str(OBAMA), str(PRESS)])
    assert same.exit_code == 0, same.output
    assert "obama_press.jpg: match (distance 0.3" in same.output
    assert f"threshold {MATCH_THRESHOLD}" in same.output
    other = runner.invoke(app, ["faces", "compare", str(OBAMA), str(BIDEN), "--json"])
    assert other.exit_code == 0, other.output
    line = json.loads(other.stdout)
    assert line["match"] is False and line["distance"] > MATCH_THRESHOLD
    assert line["file_x"] == str(OBAMA)


def test_a_missing_picture_or_a_wrong_call_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["faces", "compare", str(OBAMA), str(tmp_path / "no.jpg")])
    assert missing.exit_code == 2
    assert missing.output.strip().startswith("error:") and "no.jpg does not exist" in missing.output
    assert "Traceback" not in missing.output and len(missing.output.strip().splitlines()) == 1
    one = runner.invoke(app, ["faces", "compare", str(OBAMA)])
    assert one.exit_code == 2 and "Give two pictures" in one.output
    (tmp_path / "bad.csv").write_text("a,b\nx.jpg,y.jpg\n")
    bad = runner.invoke(app, ["faces", "compare", "--pairs", str(tmp_path / "bad.csv")])
    assert bad.exit_code == 2 and "no columns file_x,file_y" in bad.output
    assert "Traceback" not in bad.output


@pytest.fixture()
def pairs_csv(tmp_path: Path) -> Path:
    shutil.copy(PRESS, tmp_path / "press.jpg")  # named relative to the CSV's folder
    cv2.imwrite(str(tmp_path / "wall.png"), np.full((200, 300, 3), 200, np.uint8))
    portrait = cv2.imread(str(OBAMA))
    tiny = np.full((320, 320, 3), 128, np.uint8)
    small = cv2.resize(portrait, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)
    tiny[100 : 100 + small.shape[0], 100 : 100 + small.shape[1]] = small
    cv2.imwrite(str(tmp_path / "far.png"), tiny)
    (tmp_path / "notes.jpg").write_text("not a picture")
    rows = [
        (str(OBAMA), "press.jpg"),  # a match
        (str(OBAMA), str(BIDEN)),  # two people
        (str(OBAMA), "wall.png"),  # no face at all
        ("far.png", str(OBAMA)),  # a face too small to compare
        ("notes.jpg", "missing.jpg"),  # unreadable, and missing
        ("press.jpg", str(OBAMA)),  # still compared after the failures
    ]
    path = tmp_path / "pairs.csv"
    path.write_text("file_x,file_y,note\n" + "".join(f"{x},{y},-\n" for x, y in rows))
    return path


def test_pairs_as_json_lines_with_a_reason_for_each_pair_that_cannot_be_compared(
    pairs_csv: Path,
) -> None:
    result = runner.invoke(app, ["faces", "compare", "--pairs", str(pairs_csv), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["file_x"], r["file_y"]) for r in lines][0] == (str(OBAMA), "press.jpg")
    match, other, wall, far, broken, again = lines
    assert match["match"] is True and 0 < match["distance"] <= MATCH_THRESHOLD
    assert "reason" not in match
    assert other["match"] is False and other["distance"] > MATCH_THRESHOLD
    assert wall == {
        "file_x": str(OBAMA),
        "file_y": "wall.png",
        "match": False,
        "distance": None,
        "reason": "no face in file_y",
    }
    assert far["match"] is False and far["reason"] == "file_x: face too small"
    assert broken["match"] is False
    assert broken["reason"] == ("file_x: is not a picture OpenCV can read; file_y: does not exist")
    assert again["match"] is True and again["distance"] == match["distance"]


def test_pairs_as_text_name_each_pair_and_its_verdict(pairs_csv: Path) -> None:
    result = runner.invoke(app, ["faces", "compare", "--pairs", str(pairs_csv)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert lines[0].endswith(f"threshold {MATCH_THRESHOLD})") and ": match (" in lines[0]
    assert lines[2].endswith("wall.png: no match: no face in file_y")


def test_the_help_says_the_largest_usable_face_is_compared() -> None:
    result = runner.invoke(app, ["faces", "compare", "--help"])
    assert result.exit_code == 0
    assert "largest usable" in " ".join(result.output.split())
