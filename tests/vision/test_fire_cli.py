"""`vigil fire`: photos in single-image mode, a video through the fire-watch pipeline, and
files that cannot be read (one line each, the others still done, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
from typer.testing import CliRunner

from tests.vision.fire_scenes import FACE, HOUSE6, flame_photo
from vigil.cli import app

runner = CliRunner()


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_photos_give_one_json_line_each_in_still_mode(tmp_path: Path) -> None:
    flame = tmp_path / "flame.png"
    cv2.imwrite(str(flame), flame_photo())
    result = runner.invoke(app, ["fire", str(flame), str(FACE), "--json"])
    assert result.exit_code == 0, result.output
    first, second = _lines(result.stdout)
    assert first["image"] == str(flame) and first["mode"] == "still"
    detections = first["detections"]
    assert isinstance(detections, list) and [d["label"] for d in detections] == ["fire"]
    assert 0.0 <= detections[0]["score"] <= 1.0 and len(detections[0]["box"]) == 4
    assert second == {"image": str(FACE), "mode": "still", "detections": []}


def test_unreadable_files_are_one_line_each_and_the_rest_still_go_through(
    tmp_path: Path,
) -> None:
    broken_photo = tmp_path / "broken.jpg"
    broken_photo.write_bytes(b"not a picture")
    broken_video = tmp_path / "broken.mp4"
    broken_video.write_bytes(b"not a video")
    missing = tmp_path / "missing.png"
    files = [missing, broken_photo, broken_video, tmp_path, FACE]
    result = runner.invoke(app, ["fire", *map(str, files), "--json"])
    assert result.exit_code == 2
    assert [line["image"] for line in _lines(result.stdout)] == [str(FACE)]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4
    assert "is a folder; name the photos or videos in it" in errors[3]
    assert "missing.png does not exist" in errors[0]
    assert "broken.jpg is not a picture" in errors[1] and "JPEG, PNG" in errors[1]
    assert "broken.mp4" in errors[2] and "check that it is a complete video" in errors[2]
    assert "Traceback" not in result.output


def test_a_bad_sensitivity_is_one_line() -> None:
    result = runner.invoke(app, ["fire", str(FACE), "--sensitivity", "extreme"])
    assert result.exit_code == 2
    assert "--sensitivity must be one of low, normal, high" in result.stderr
    assert "Traceback" not in result.output


def test_a_video_gives_one_line_per_fire_event_within_two_seconds() -> None:
    result = runner.invoke(app, ["fire", str(HOUSE6), "--json"])
    assert result.exit_code == 0, result.output
    events = _lines(result.stdout)
    assert len(events) == 1  # one fire, not one per frame or per flicker
    event = events[0]
    assert event["type"] == "fire" and event["label"] == "fire"
    assert event["camera"] == "house6_3s" and event["sensitivity"] == "normal"
    assert isinstance(event["time"], float) and event["time"] <= 2.0  # flame from frame 0
    start = event["start"]
    assert event["first_seen"] == start and isinstance(start, float) and start <= event["time"]


def test_a_video_as_a_configured_camera_carries_its_bearing(tmp_path: Path) -> None:
    config = tmp_path / "vigil.yml"
    config.write_text(
        "cameras:\n"
        "  - id: north-tower\n"
        "    source: rtsp://tower.invalid/live\n"
        "    lat: 13.75\n"
        "    lon: 100.5\n"
        "    view: {heading_deg: 10.0, hfov_deg: 50.0}\n"
        "    detector: {kind: fire}\n"
    )
    result = runner.invoke(app, ["fire", str(HOUSE6), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "north-tower" not in result.stderr
    table = result.stdout
    assert "fire watch" in table and "fire" in table and "deg" in table  # the bearing column
