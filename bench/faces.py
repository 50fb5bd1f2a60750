"""Face identification on real photos: Vigil's face engine against face_recognition's own.

    .venv/bin/python bench/faces.py             # prints one JSON line (about a minute)
    .venv/bin/python bench/faces.py --runs 5

Reads ../shared/data/faces (override with VIGIL_DATA=/path/to/data). Enrols every photo in
`enroll/<person>/` (one template per usable face), then searches every face in `probe/`:

- rank-1 identification of the enrolled people's faces: the nearest template is theirs and
  within the method's threshold (a face the method does not find, or gates out, is missed);
- false matches of the faces of people who are not enrolled (Kit Harington, a girl), and of
  any face a method finds where the truth has none;
- milliseconds per face found in the probes (detection + alignment + embedding, the median
  of `--runs` timed passes, with the lowest and highest).

The peer, in the same run on the same pictures: face_recognition 1.3.0's default pipeline, dlib's
HOG detector upsampled once, its 5-point landmarks and the same ResNet encoder, a match at
distance 0.6 (its `compare_faces` default). `make bench` installs it with --no-deps (it asks
for the dlib sdist; dlib-bin provides the module): it is no dependency of Vigil's. It finds
its models through pkg_resources, so it needs a setuptools that still ships that (a Python
3.11 venv's setuptools 65 does).

Also printed: the calibration of MATCH_THRESHOLD on this set (vigil/vision/faces/engine.py): the
distances of all same-person and different-person pairs among the usable faces of enrolment
and probe photos together, and the false-match and miss rates a normal fit to each predicts.
The quality gates' defaults and the detector-box mapping were chosen on this set (see
vigil/vision/faces/quality.py): treat its numbers as measured on the data they were set on.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("VIGIL_DATA", ROOT.parent / "shared" / "data"))

from vigil.vision.faces import MATCH_THRESHOLD, FaceEngine  # noqa: E402

PEER_THRESHOLD = 0.6
KIT, GIRL = "kit_harington", "girl"  # not enrolled: no folder in enroll/
# Who is where in each probe (../shared/data/README.md names the people; the positions, as
# fractions of the picture's width and height, are the faces' centres as seen in each photo).
# A found face belongs to the truth face whose centre is within NEAR of its own.
PROBES: dict[str, list[tuple[str, float, float]]] = {
    "obama1.jpg": [("obama", 0.48, 0.42)],
    "obama3.jpg": [("obama", 0.54, 0.19)],
    "obama_partial_face.jpg": [("obama", 0.19, 0.23)],  # cut by the left edge
    "alex_lacamoire1.jpg": [("alex_lacamoire", 0.51, 0.33)],
    # Rose Leslie (enrolled) on the left, Kit Harington (NOT enrolled) on the right.
    "kit_with_rose.jpg": [("rose_leslie", 0.24, 0.23), (KIT, 0.61, 0.20)],
    "johnsnow_test1.jpg": [(KIT, 0.46, 0.22)],  # Kit Harington as Jon Snow, not enrolled
    # Biden left, Obama right, and a girl at the bottom right (not enrolled).
    "obama_and_biden.jpg": [
        ("biden", 0.42, 0.36),
        ("obama", 0.62, 0.34),
        (GIRL, 0.85, 0.79),
    ],
    "two_people.jpg": [("obama", 0.28, 0.19), ("biden", 0.77, 0.23)],  # Obama left, Biden right
}
NEAR = 0.1

Found = tuple[tuple[float, float], np.ndarray | None]  # a face's centre, its embedding or None
Method = Callable[[np.ndarray], list[Found]]


def vigil_method(engine: FaceEngine) -> Method:
    def run(image: np.ndarray) -> list[Found]:
        out: list[Found] = []
        for face in engine.faces(image):
            x, y, w, h = face.box
            out.append(((x + w / 2, y + h / 2), engine.embed(image, face)))
        return out

    return run


def peer_method(fr: Any) -> Method:
    def run(image: np.ndarray) -> list[Found]:
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        boxes = fr.face_locations(rgb)  # HOG, upsampled once: the default
        vectors = fr.face_encodings(rgb, boxes)  # 5-point landmarks: the default
        return [
            (((left + right) / 2, (top + bottom) / 2), np.asarray(v, np.float32))
            for (top, right, bottom, left), v in zip(boxes, vectors, strict=True)
        ]

    return run


def read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {path}")
    return image


def enrol(method: Method, folder: Path) -> dict[str, list[np.ndarray]]:
    templates: dict[str, list[np.ndarray]] = {}
    for person in sorted(p for p in folder.iterdir() if p.is_dir()):
        for photo in sorted(person.iterdir()):
            found = [f for f in method(read(photo)) if f[1] is not None]
            if found:  # the largest is the person: enrolment photos are portraits
                templates.setdefault(person.name, []).append(found[0][1])  # type: ignore[arg-type]
    return templates


def owner(centre: tuple[float, float], shape: tuple[int, ...], truth: list[Any]) -> Any:
    """The truth entry whose face is at `centre`; "extra" when there is none."""
    fx, fy = centre[0] / shape[1], centre[1] / shape[0]
    near = [t for t in truth if abs(t[1] - fx) < NEAR and abs(t[2] - fy) < NEAR]
    return near[0] if near else "extra"


def nearest(vector: np.ndarray, templates: dict[str, list[np.ndarray]]) -> tuple[str, float]:
    scores = {
        name: min(float(np.linalg.norm(vector - t)) for t in ts) for name, ts in templates.items()
    }
    best = min(scores, key=scores.__getitem__)
    return best, scores[best]


def identify(
    method: Method,
    templates: dict[str, list[np.ndarray]],
    probes: dict[str, np.ndarray],
    threshold: float,
) -> tuple[dict[str, Any], int]:
    enrolled = sum(1 for t in PROBES.values() for e in t if e[0] in templates)
    right = nearest_right = false = unusable = faces = 0
    seen: set[tuple[str, int]] = set()
    genuine: list[float] = []
    impostor: list[float] = []
    for name, image in probes.items():
        truth = PROBES[name]
        for centre, vector in method(image):
            faces += 1
            who = owner(centre, image.shape, truth)
            if who != "extra":
                key = (name, truth.index(who))
                if key in seen:
                    continue  # a second box on a face already counted
                seen.add(key)
            if vector is None:
                unusable += 1
                continue
            person, d = nearest(vector, templates)
            if who != "extra" and who[0] in templates:
                nearest_right += person == who[0]
                right += person == who[0] and d <= threshold
                if person == who[0]:
                    genuine.append(d)
            else:
                impostor.append(d)
                false += d <= threshold
    return {
        "rank1": f"{right}/{enrolled}",
        "rank1_rate": round(right / enrolled, 4),
        "nearest_is_right": nearest_right,
        "false_matches": false,
        "not_enrolled_or_extra_faces": len(impostor),
        "gated_out": unusable,
        "largest_right_distance": _round(max(genuine, default=float("nan"))),
        "smallest_wrong_distance": _round(min(impostor, default=float("nan"))),
    }, faces


def _round(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)


def timed(method: Method, probes: dict[str, np.ndarray], runs: int) -> dict[str, float]:
    per_face = []
    for _ in range(runs):
        started = time.perf_counter()
        faces = sum(len(method(image)) for image in probes.values())
        per_face.append((time.perf_counter() - started) * 1000 / max(faces, 1))
    return {
        "median": round(statistics.median(per_face), 1),
        "min": round(min(per_face), 1),
        "max": round(max(per_face), 1),
    }


def calibration(engine: FaceEngine, folder: Path) -> dict[str, Any]:
    """Same-person and different-person distances among all usable faces of the set."""
    labelled: list[tuple[str, np.ndarray]] = []
    for photo in sorted(folder.glob("enroll/*/*")):
        face, vector = engine.best(read(photo))
        if vector is not None:
            labelled.append((photo.parent.name, vector))
    for name, truth in PROBES.items():
        image = read(folder / "probe" / name)
        for face in engine.faces(image):
            x, y, w, h = face.box
            who = owner((x + w / 2, y + h / 2), image.shape, truth)
            vector = engine.embed(image, face)
            if who != "extra" and vector is not None:
                labelled.append((who[0], vector))
    pairs = [
        (a == b, float(np.linalg.norm(va - vb)))
        for (a, va), (b, vb) in itertools.combinations(labelled, 2)
    ]
    same = np.array([d for s, d in pairs if s])
    other = np.array([d for s, d in pairs if not s])

    def tail(x: float) -> float:
        return 0.5 * math.erfc(x / math.sqrt(2))

    fit = {
        str(t): {
            "false_match_rate": float(f"{tail((other.mean() - t) / other.std()):.2g}"),
            "miss_rate": float(f"{tail((t - same.mean()) / same.std()):.2g}"),
        }
        for t in (0.5, 0.55, 0.6)
    }
    return {
        "faces": len(labelled),
        "same_person": _summary(same),
        "different_people": _summary(other),
        "normal_fit": fit,
    }


def _summary(x: np.ndarray) -> dict[str, float]:
    return {
        "pairs": int(x.size),
        "mean": round(float(x.mean()), 3),
        "sd": round(float(x.std()), 3),
        "min": round(float(x.min()), 3),
        "max": round(float(x.max()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed passes per method")
    args = parser.parse_args()
    folder = DATA / "faces"
    if not (folder / "enroll").is_dir():
        raise SystemExit(f"no face set at {folder} (set VIGIL_DATA)")
    try:
        with warnings.catch_warnings():  # face_recognition_models imports pkg_resources
            warnings.simplefilter("ignore")
            import face_recognition as fr
    except ImportError as exc:
        raise SystemExit(
            f"the peer face_recognition cannot be imported ({exc}); `make bench`"
        ) from None
    probes = {name: read(folder / "probe" / name) for name in PROBES}
    engine = FaceEngine()
    methods = {
        "vigil": (vigil_method(engine), MATCH_THRESHOLD),
        "peer": (peer_method(fr), PEER_THRESHOLD),
    }
    result: dict[str, Any] = {
        "bench": "faces",
        "peer_is": "face_recognition 1.3 defaults (dlib HOG upsampled once, 5-point, 0.6)",
    }
    for label, (method, threshold) in methods.items():
        templates = enrol(method, folder / "enroll")
        scores, faces = identify(method, templates, probes, threshold)
        result[label] = {
            "threshold": threshold,
            "enrolled_people": len(templates),
            "probe_faces_found": faces,
            **scores,
            "ms_per_face": timed(method, probes, args.runs),
        }
    result["speedup_vs_peer"] = round(
        result["peer"]["ms_per_face"]["median"] / result["vigil"]["ms_per_face"]["median"], 2
    )
    result["runs"] = args.runs
    result["calibration"] = calibration(engine, folder)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
