from pathlib import Path

import pytest
import yaml

from vigil import domain
from vigil.config import (
    CameraConfig,
    MotionConfig,
    ObjectFilterConfig,
    VigilConfig,
    load_config,
    parse_config,
)
from vigil.errors import ConfigError, ModelError
from vigil.vision.darknet import DarknetSettings
from vigil.vision.registry import detector_settings

REPO = Path(__file__).resolve().parents[1]

FULL = """\
detector:
  kind: onnx
  path: models/yolo.onnx
  score_threshold: 0.2
objects:
  labels: [person, car]
  min_score: 0.5
motion:
  width: 160
  threshold: 25
tracker:
  lost_timeout: 6
  min_crossing_frames: 3
cameras:
  - id: gate
    name: Main gate
    source: rtsp://cam.example/gate
    lat: 52.5
    lon: 13.4
    detect:
      fps: 8
      size: 320
    detector:
      kind: motion
    objects:
      labels: [motion]
      min_score: 0.6
      min_area: 0.01
    motion:
      enabled: false
      threshold: 40
    motion_masks:
      - [[0.0, 0.0], [0.25, 0.0], [0.25, 0.5]]
    zones:
      - name: yard
        polygon: [[0.1, 0.2], [0.5, 0.2], [0.5, 0.8], [0.1, 0.8]]
        loiter_seconds: 12
        labels: [person]
        anchor: center
      - name: road
        polygon: [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0]]
    lines:
      - name: door
        a: [0.0, 0.5]
        b: [1.0, 0.25]
        in_side: right
        labels: [person, car]
        anchor: center
  - id: side
    source: side.mp4
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return str(info.value)


# --- valid configurations ----------------------------------------------------------------------


def test_full_config_is_read_with_every_value() -> None:
    cfg = parse_config(FULL)
    assert cfg.detector == detector_settings("onnx", path="models/yolo.onnx", score_threshold=0.2)
    assert cfg.objects.labels == ["person", "car"] and cfg.objects.min_score == 0.5
    assert cfg.motion.width == 160 and cfg.motion.threshold == 25
    assert cfg.tracker.lost_timeout == 6 and cfg.tracker.min_crossing_frames == 3
    assert [c.id for c in cfg.cameras] == ["gate", "side"]

    gate = cfg.camera("gate")
    assert gate.to_camera() == domain.Camera(
        "gate", "Main gate", "rtsp://cam.example/gate", 52.5, 13.4
    )
    assert gate.detect.fps == 8 and gate.detect.size == 320
    assert gate.detect.still_recheck == 1.0  # default kept
    assert gate.motion_masks == [[(0.0, 0.0), (0.25, 0.0), (0.25, 0.5)]]
    assert [z.name for z in gate.zones] == ["yard", "road"]
    assert gate.zones[0].loiter_seconds == 12 and gate.zones[0].anchor == "center"
    assert gate.zones[1].labels is None and gate.zones[1].anchor == "bottom_center"
    assert gate.lines[0].in_side == "right" and gate.lines[0].labels == ["person", "car"]


def test_per_camera_overrides_win_and_others_fall_back_to_the_top_level() -> None:
    cfg = parse_config(FULL)
    gate, side = cfg.camera("gate"), cfg.camera("side")
    assert cfg.detector_for(gate) == detector_settings("motion")
    assert cfg.detector_for(side) is cfg.detector
    assert cfg.motion_for(gate) == MotionConfig(enabled=False, threshold=40)
    assert cfg.motion_for(side) is cfg.motion
    assert cfg.objects_for(gate) == ObjectFilterConfig(
        labels=["motion"], min_score=0.6, min_area=0.01
    )
    assert cfg.objects_for(side) is cfg.objects
    # A camera without a name is shown by its id.
    assert side.to_camera().name == "side"


def test_config_round_trips_through_yaml() -> None:
    cfg = parse_config(FULL)
    again = parse_config(yaml.safe_dump(cfg.model_dump(mode="json")))
    assert again == cfg
    assert again.model_dump() == cfg.model_dump()


def test_empty_text_is_the_default_config() -> None:
    cfg = parse_config("")
    assert cfg == VigilConfig()
    assert cfg.cameras == [] and cfg.detector.kind == "yolov3-tiny"


def test_zones_and_lines_are_scaled_from_fractions_to_pixels() -> None:
    gate = parse_config(FULL).camera("gate")
    yard, road = gate.zones_px(640, 360)
    assert yard == domain.Zone(
        "yard",
        ((64.0, 72.0), (320.0, 72.0), (320.0, 288.0), (64.0, 288.0)),
        12.0,
        frozenset({"person"}),
        "center",
    )
    assert road.polygon == ((320.0, 0.0), (640.0, 0.0), (640.0, 360.0))
    assert road.labels is None and road.loiter_seconds is None and road.anchor == "bottom_center"

    (door,) = gate.lines_px(640, 360)
    assert door == domain.Line(
        "door", (0.0, 180.0), (640.0, 90.0), "right", frozenset({"person", "car"}), "center"
    )
    # x and y scale independently.
    (door2,) = gate.lines_px(100, 1000)
    assert door2.a == (0.0, 500.0) and door2.b == (100.0, 250.0)


# --- misspelt keys -----------------------------------------------------------------------------


def test_misspelt_key_in_a_zone_names_line_path_and_allowed_keys() -> None:
    text = """\
cameras:
  - id: a
    source: x.mp4
    zones:
      - name: z
        polgon: [[0, 0], [1, 0], [1, 1]]
"""
    msg = error_of(text)
    assert "line 6" in msg
    assert "'polgon'" in msg and "cameras.0.zones.0.polgon" in msg
    allowed = msg.split("allowed keys here:")[1]
    for key in ("name", "polygon", "loiter_seconds", "labels", "anchor"):
        assert key in allowed


def test_misspelt_top_level_key_lists_the_sections() -> None:
    msg = error_of("tracker:\n  lost_timeout: 2\ndetectr:\n  kind: onnx\n")
    assert "line 3" in msg and "'detectr'" in msg
    allowed = msg.split("allowed keys here:")[1]
    for key in ("detector", "objects", "motion", "tracker", "cameras"):
        assert key in allowed


@pytest.mark.parametrize(
    ("section", "typo", "expected"),
    [
        # No kind given: the default backend's keys (each backend has its own).
        ("detector", "kindd", ["kind", "score_threshold", "nms_threshold"]),
        ("motion", "treshold", ["enabled", "width", "threshold", "min_area", "learning_rate"]),
        ("objects", "label", ["labels", "min_score", "min_area"]),
        ("detect", "fsp", ["fps", "size", "still_recheck"]),
    ],
)
def test_misspelt_key_in_a_camera_section_lists_that_sections_keys(
    section: str, typo: str, expected: list[str]
) -> None:
    text = f"cameras:\n  - id: a\n    source: x\n    {section}:\n      {typo}: 1\n"
    msg = error_of(text)
    assert "line 5" in msg and f"cameras.0.{section}.{typo}" in msg
    assert "allowed keys here:" in msg, msg
    allowed = [k.strip() for k in msg.split("allowed keys here:")[1].split(",")]
    assert allowed == expected


# --- wrong values ------------------------------------------------------------------------------


def test_negative_fps_names_path_and_line() -> None:
    msg = error_of("cameras:\n  - id: a\n    source: x\n    detect:\n      fps: -1\n")
    assert "line 5" in msg and "cameras.0.detect.fps" in msg and "-1" in msg


def test_point_coordinate_above_one_names_the_exact_coordinate() -> None:
    text = """\
cameras:
  - id: a
    source: x
    zones:
      - name: z
        polygon:
          - [0, 0]
          - [1.5, 0]
          - [1, 1]
"""
    msg = error_of(text)
    assert "line 8" in msg and "cameras.0.zones.0.polygon.1.0" in msg and "1.5" in msg


def test_unknown_in_side_names_path_line_and_choices() -> None:
    text = """\
cameras:
  - id: a
    source: x
    lines:
      - name: l
        a: [0, 0]
        b: [1, 1]
        in_side: up
"""
    msg = error_of(text)
    assert "line 8" in msg and "cameras.0.lines.0.in_side" in msg and "'up'" in msg
    assert "left" in msg and "right" in msg


def test_line_with_equal_ends_is_refused() -> None:
    msg = error_of(
        "cameras:\n  - id: a\n    source: x\n    lines:\n      - name: l\n        a: [0.5, 0.5]\n"
        "        b: [0.5, 0.5]\n"
    )
    assert "cameras.0.lines.0" in msg and "different" in msg and "line 5" in msg


def test_motion_mask_needs_three_points() -> None:
    msg = error_of(
        "cameras:\n  - id: a\n    source: x\n    motion_masks:\n      - [[0, 0], [1, 1]]\n"
    )
    assert "cameras.0.motion_masks" in msg and "3 points" in msg


def test_missing_required_field_names_it() -> None:
    msg = error_of("cameras:\n  - id: a\n    name: b\n")
    assert "cameras.0.source" in msg and "required" in msg and "line 2" in msg


def test_duplicate_camera_ids_are_named() -> None:
    msg = error_of(
        "cameras:\n  - id: a\n    source: x\n  - id: b\n    source: y\n  - id: a\n    source: z\n"
    )
    assert "unique" in msg and "repeated: a" in msg
    assert "repeated: a, b" not in msg


def test_duplicate_zone_and_line_names_on_a_camera_are_named() -> None:
    zone = "{name: z, polygon: [[0, 0], [1, 0], [1, 1]]}"
    msg = error_of(
        f"cameras:\n  - id: a\n    source: x\n    zones:\n      - {zone}\n      - {zone}\n"
    )
    assert "zone names must be unique" in msg and "repeated: z" in msg and "cameras.0" in msg
    line = "{name: l, a: [0, 0], b: [1, 1]}"
    msg = error_of(
        f"cameras:\n  - id: a\n    source: x\n    lines:\n      - {line}\n      - {line}\n"
    )
    assert "line names must be unique" in msg and "repeated: l" in msg
    # The same name on two different cameras is fine.
    parse_config(
        f"cameras:\n  - id: a\n    source: x\n    zones: [{zone}]\n"
        f"  - id: b\n    source: y\n    zones: [{zone}]\n"
    )


def test_same_zone_name_as_a_line_name_is_allowed() -> None:
    cfg = parse_config(
        "cameras:\n  - id: a\n    source: x\n"
        "    zones: [{name: n, polygon: [[0, 0], [1, 0], [1, 1]]}]\n"
        "    lines: [{name: n, a: [0, 0], b: [1, 1]}]\n"
    )
    assert cfg.cameras[0].zones[0].name == cfg.cameras[0].lines[0].name == "n"


def test_bad_camera_id_is_refused() -> None:
    msg = error_of("cameras:\n  - id: 'has space'\n    source: x\n")
    assert "cameras.0.id" in msg and "line 2" in msg


@pytest.mark.parametrize("where", ["top", "camera"])
def test_onnx_detector_without_path_is_refused(where: str) -> None:
    if where == "top":
        msg = error_of("detector: {kind: onnx}\n")
        assert "detector" in msg
    else:
        msg = error_of("cameras:\n  - id: a\n    source: x\n    detector: {kind: onnx}\n")
        assert "cameras.0.detector" in msg and "line 4" in msg
    assert "'onnx'" in msg and "path" in msg


def test_darknet_detector_takes_its_cfg_from_beside_the_weights_unless_given() -> None:
    assert "'darknet' needs 'path'" in error_of("detector: {kind: darknet}\n")
    beside = parse_config("detector: {kind: darknet, path: w.weights}\n").detector
    assert isinstance(beside, DarknetSettings) and beside.cfg is None
    given = parse_config("detector: {kind: darknet, path: w.weights, cfg: y.cfg}\n").detector
    assert isinstance(given, DarknetSettings) and given.cfg == "y.cfg"
    with pytest.raises(ModelError, match=r"'w.cfg' does not exist"):
        beside.load(416)


def test_several_problems_are_all_reported() -> None:
    msg = error_of("detectr: 1\ncameras:\n  - id: a\n    source: x\n    detect: {fps: 0}\n")
    assert "detectr" in msg and "cameras.0.detect.fps" in msg
    assert "line 1" in msg and "line 5" in msg


# --- not YAML / not a mapping / files ----------------------------------------------------------


def test_invalid_yaml_names_its_line() -> None:
    msg = error_of("cameras:\n  - id: a\n    source: [x\n  y: 1\n")
    assert "line 4" in msg and "not valid YAML" in msg


def test_invalid_yaml_message_uses_the_given_name() -> None:
    with pytest.raises(ConfigError, match=r"^site\.yml line 2: not valid YAML"):
        parse_config("a: 1\n\t- b\n", "site.yml")


@pytest.mark.parametrize("text", ["- a\n- b\n", "hello\n", "42\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    assert "top level must be a mapping" in error_of(text)


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "vigil.yml"
    path.write_text(FULL, encoding="utf-8")
    assert load_config(path) == parse_config(FULL)
    assert load_config(str(path)) == parse_config(FULL)


def test_load_config_errors_carry_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "site.yml"
    path.write_text("cameras:\n  - id: a\n    sourse: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "line 3" in str(info.value)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "vigil.yml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "does not exist" in str(info.value)


def test_directory_is_not_readable_as_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(tmp_path) in str(info.value) and "cannot be read" in str(info.value)


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes("cameras:\n  - id: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path)


def test_unknown_camera_lists_known_ids() -> None:
    cfg = parse_config(FULL)
    with pytest.raises(ConfigError) as info:
        cfg.camera("nope")
    assert "'nope'" in str(info.value) and "gate, side" in str(info.value)
    with pytest.raises(ConfigError, match="cameras: none"):
        VigilConfig().camera("x")


# --- bundled examples --------------------------------------------------------------------------

EXPECTED_EXAMPLE_CAMERAS = {"demo.yml": ["lobby"], "car-park.yml": ["car-park"]}


def test_every_example_config_parses() -> None:
    paths = sorted((REPO / "examples").glob("*.yml"))
    assert len(paths) >= 2, paths
    for path in paths:
        cfg = load_config(path)
        assert cfg.cameras, path
        for cam in cfg.cameras:
            assert isinstance(cam, CameraConfig)
            # Every zone and line is usable at a real resolution.
            assert len(cam.zones_px(1280, 720)) == len(cam.zones)
            assert len(cam.lines_px(1280, 720)) == len(cam.lines)
        if path.name in EXPECTED_EXAMPLE_CAMERAS:
            assert [c.id for c in cfg.cameras] == EXPECTED_EXAMPLE_CAMERAS[path.name]
    assert set(EXPECTED_EXAMPLE_CAMERAS) <= {p.name for p in paths}


def test_demo_example_has_its_zone() -> None:
    lobby = load_config(REPO / "examples" / "demo.yml").camera("lobby")
    assert [z.name for z in lobby.zones] == ["table"]
    assert lobby.zones[0].loiter_seconds == 8 and lobby.zones[0].labels == ["person"]


def test_misspelt_key_with_a_block_value_points_at_the_key() -> None:
    text = """\
cameras:
  - id: a
    source: x
    zonez:
      - name: z
        polygon: [[0, 0], [1, 0], [1, 1]]
"""
    msg = error_of(text)
    assert msg.startswith("vigil.yml line 4: unknown key 'zonez' at cameras.0.zonez"), msg
    assert "zones" in msg.split("allowed keys here:")[1]
