"""Faces: detection with landmarks, embeddings that tell people apart, quality gates that
refuse bad crops (saying why), any picture size, the Detector plug-in, and an engine that
writes nothing anywhere. Real photos from tests/fixtures/faces (see its CREDITS.md); the shared
face set is measured in bench/faces.py."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from vigil.errors import ModelError
from vigil.vision.faces import (
    BLURRED,
    MATCH_THRESHOLD,
    TOO_SMALL,
    TURNED_AWAY,
    FaceEngine,
    FaceGates,
    distance,
    is_match,
)
from vigil.vision.faces.models import CENTERFACE, free_io_shapes, model_file
from vigil.vision.faces.quality import geometry_reason, turn

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "faces"


def picture(name: str) -> np.ndarray:
    image = cv2.imread(str(FIXTURES / name))
    assert image is not None, name
    return image


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine()


@pytest.fixture(scope="module")
def embeddings(engine: FaceEngine) -> dict[str, np.ndarray]:
    found = {}
    for name in ("obama_portrait.jpg", "obama_press.jpg", "biden_portrait.jpg"):
        face, vector = engine.best(picture(name))
        assert face is not None and vector is not None, name
        found[name] = vector
    return found


def test_a_face_is_found_with_its_box_score_and_five_landmarks(engine: FaceEngine) -> None:
    faces = engine.faces(picture("obama_portrait.jpg"))
    assert len(faces) == 1
    face = faces[0]
    x, y, w, h = face.box
    assert 120 < w < 250 and 150 < h < 320 and face.score > 0.8 and face.usable
    assert len(face.landmarks) == 5
    for px, py in face.landmarks:
        assert x <= px <= x + w and y <= py <= y + h
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks
    assert lx < nx < rx and mlx < mrx  # left to right as the picture shows them
    assert max(ly, ry) < ny < min(mly, mry)  # eyes above the nose above the mouth
    assert face.quality.reason is None and face.quality.sharpness is not None


def test_the_same_person_is_within_the_threshold_and_other_people_beyond(
    embeddings: dict[str, np.ndarray],
) -> None:
    obama, press, biden = (
        embeddings[n] for n in ("obama_portrait.jpg", "obama_press.jpg", "biden_portrait.jpg")
    )
    assert obama.shape == (128,) and obama.dtype == np.float32
    assert distance(obama, press) < MATCH_THRESHOLD - 0.1  # 0.34 here
    assert distance(obama, biden) > MATCH_THRESHOLD + 0.15  # 0.85
    assert distance(press, biden) > MATCH_THRESHOLD + 0.15
    assert is_match(obama, press) and not is_match(obama, biden)
    assert distance(obama, obama) == 0.0


def test_of_several_faces_best_takes_the_largest_usable_one(engine: FaceEngine) -> None:
    image = picture("rose_and_kit.jpg")  # Rose Leslie on the left, Kit Harington larger
    faces = engine.faces(image)
    assert len(faces) == 2 and all(f.usable for f in faces)
    face, vector = engine.best(image)
    assert face is not None and vector is not None
    assert face.box[0] > image.shape[1] / 3 and face.area == max(f.area for f in faces)
    gated = FaceEngine(gates=FaceGates(min_size=60))  # now only Kit's face is large enough
    assert [f.quality.reason for f in gated.faces(image)].count(TOO_SMALL) == 1


def _on_canvas(face_image: np.ndarray, scale: float) -> np.ndarray:
    small = cv2.resize(face_image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((320, 320, 3), 128, np.uint8)
    canvas[100 : 100 + small.shape[0], 100 : 100 + small.shape[1]] = small
    return canvas


def test_a_tiny_face_is_found_but_refused_as_too_small(engine: FaceEngine) -> None:
    tiny = _on_canvas(picture("obama_portrait.jpg"), 0.15)  # a face about 25 px wide
    faces = engine.faces(tiny)
    assert len(faces) == 1 and faces[0].box[2] < 40
    assert faces[0].quality.reason == TOO_SMALL and not faces[0].usable
    assert faces[0].quality.sharpness is None  # no chip was made for it
    assert engine.embed(tiny, faces[0]) is None
    face, vector = engine.best(tiny)
    assert face is faces[0] or face == faces[0]
    assert vector is None


def test_a_blurred_face_is_refused_as_blurred(engine: FaceEngine) -> None:
    image = picture("obama_portrait.jpg")
    width = engine.faces(image)[0].box[2]
    blurred = cv2.GaussianBlur(image, (0, 0), 0.03 * width)
    faces = engine.faces(blurred)
    assert len(faces) == 1 and faces[0].quality.reason == BLURRED
    sharp = engine.faces(image)[0].quality.sharpness
    assert sharp is not None and faces[0].quality.sharpness is not None
    assert faces[0].quality.sharpness < engine.gates.min_sharpness < sharp
    assert engine.embed(blurred, faces[0]) is None


def test_a_face_turned_away_is_refused_by_the_nose_against_the_eyes() -> None:
    frontal = ((40.0, 50.0), (80.0, 50.0), (60.0, 70.0), (45.0, 90.0), (75.0, 90.0))
    profile = ((40.0, 50.0), (55.0, 50.0), (30.0, 70.0), (35.0, 90.0), (50.0, 90.0))
    assert turn(frontal) == pytest.approx(0.0)
    assert turn(profile) == pytest.approx(-(47.5 - 30.0) / 15.0)
    tilted = ((40.0, 50.0), (80.0, 90.0), (65.0, 65.0), (0.0, 0.0), (0.0, 0.0))  # head tilted
    assert turn(tilted) == pytest.approx(((5 * 40 + -5 * 40) / (40 * 40 * 2)), abs=1e-9)
    gates = FaceGates()
    assert geometry_reason(gates, 100, turn(frontal)) is None
    assert geometry_reason(gates, 100, turn(profile)) == TURNED_AWAY
    assert geometry_reason(gates, 100, turn(((5.0, 5.0),) * 5)) == TURNED_AWAY  # eyes on a spot
    assert geometry_reason(gates, 20, turn(profile)) == TOO_SMALL  # the first gate failed


def test_a_mirrored_profile_turns_the_other_way(engine: FaceEngine) -> None:
    image = picture("rose_and_kit.jpg")
    faces = sorted(engine.faces(image), key=lambda f: f.box[0])
    mirrored = sorted(engine.faces(cv2.flip(image, 1)), key=lambda f: -f.box[0])
    for face, mirror in zip(faces, mirrored, strict=True):
        assert mirror.quality.turn == pytest.approx(-face.quality.turn, abs=0.05)


@pytest.mark.parametrize("shape", [(1, 1), (17, 23), (33, 31), (333, 301)])
def test_any_picture_size_is_taken(engine: FaceEngine, shape: tuple[int, int]) -> None:
    portrait = picture("obama_portrait.jpg")
    h, w = shape
    image = cv2.resize(portrait, (w, h)) if h < 100 else portrait[:h, :w]
    faces = engine.faces(np.ascontiguousarray(image))
    if h < 100:
        assert all(not f.usable for f in faces)
    else:
        assert len(faces) == 1 and faces[0].usable
        x, y, fw, fh = faces[0].box
        assert x >= 0 and y >= 0 and x + fw <= w and y + fh <= h


def test_a_large_picture_is_shrunk_for_the_detector_and_found_in_its_own_pixels(
    engine: FaceEngine, embeddings: dict[str, np.ndarray]
) -> None:
    image = picture("obama_portrait.jpg")
    big = cv2.resize(image, None, fx=4.0, fy=4.0, interpolation=cv2.INTER_CUBIC)  # 1356x1440
    small = engine.faces(image)[0]
    face, vector = engine.best(big)
    assert face is not None and vector is not None
    # CenterFace's box of a face this large (about 450 px where it looks) is loose, but it
    # lands on the face in the big picture's pixels, and the alignment makes up for it.
    centre = np.array([face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2]) / 4
    expected = np.array([small.box[0] + small.box[2] / 2, small.box[1] + small.box[3] / 2])
    assert np.linalg.norm(centre - expected) < 0.15 * small.box[2]
    assert distance(vector, embeddings["obama_portrait.jpg"]) < 0.15


def test_the_detector_runs_on_the_cpu_and_the_model_takes_any_size() -> None:
    import onnx
    import onnxruntime as ort

    model = free_io_shapes(model_file(*CENTERFACE).read_bytes())
    onnx.checker.check_model(onnx.load_from_string(model))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert [i.name for i in session.get_inputs()] == ["input.1"]  # the weights are not inputs
    heat, *_ = session.run(None, {"input.1": np.zeros((2, 3, 64, 96), np.float32)})
    assert heat.shape == (2, 1, 16, 24)


def test_a_missing_model_package_is_a_model_error_naming_the_fix() -> None:
    with pytest.raises(ModelError, match=r"make setup"):
        model_file("no_such_package_vigil", "model.dat")
    with pytest.raises(ModelError, match=r"not an ONNX model"):
        free_io_shapes(b"\x08\x07")  # a varint field, no graph


def test_faces_as_a_detector_backend() -> None:
    from vigil.vision.registry import load_detector

    detector = load_detector("faces", min_score=0.6)
    assert tuple(detector.labels) == ("face",) and not detector.needs_every_frame
    found = detector.detect(picture("rose_and_kit.jpg"))
    assert len(found) == 2 and {d.label for d in found} == {"face"}
    assert all(d.score >= 0.6 and d.box.w > 40 for d in found)


def test_the_engine_writes_nothing_and_logs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Responsible-use rule 3: crops and templates of faces live in memory only."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    caplog.set_level(logging.DEBUG)
    fresh = FaceEngine()  # loads its models here, in the empty folder
    for name in ("rose_and_kit.jpg", "obama_press.jpg"):
        image = picture(name)
        for face in fresh.faces(image):
            fresh.embed(image, face)
    assert list(tmp_path.iterdir()) == []
    assert [r for r in caplog.records if r.name.startswith("vigil")] == []
