"""Small drawn scenes for the fire tests: a ragged flame, a compact lamp, a static
flame-coloured patch, a drifting smoke plume over a fixed (or panning) textured background.
They test the principles the detector rests on, on pictures whose truth is known by
construction; the real-video tests use tests/fixtures/fire/house6_3s.mp4."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HOUSE6 = FIXTURES / "fire" / "house6_3s.mp4"
HOUSE6_BOXES = FIXTURES / "fire" / "house6_3s_boxes.json"
NO_FIRE = FIXTURES / "video" / "short_hamilton_clip.mp4"
FACE = FIXTURES / "video" / "biden_enrol.jpg"


def house6_boxes() -> dict[int, list[tuple[int, int, int, int]]]:
    data = json.loads(HOUSE6_BOXES.read_text())
    return {int(k): [tuple(b) for b in v] for k, v in data["boxes_xywh"].items()}


def flame_photo(width: int = 480, height: int = 360, seed: int = 3) -> np.ndarray:
    """A dark scene with a ragged flame: tongues of red, orange, hot yellow and a
    yellow-white core, with fine structure (the single-image mode's cues)."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), (30, 35, 40), np.uint8)
    base_x, base_y = width // 2, int(height * 0.8)
    layers = [((30, 40, 200), 1.0), ((20, 120, 250), 0.75), ((60, 210, 255), 0.5)]
    for colour, scale in layers:
        for _ in range(9):  # tongues of different heights and leans
            top = (
                base_x + int(rng.normal(0, 35 * scale)),
                base_y - int(rng.uniform(90, 210) * scale),
            )
            half = int(rng.uniform(14, 30) * scale)
            pts = np.array([[base_x - half * 2, base_y], top, [base_x + half * 2, base_y]])
            cv2.fillPoly(img, [pts.astype(np.int32) + [int(rng.normal(0, 12)), 0]], colour)
    cv2.ellipse(img, (base_x, base_y - 25), (22, 30), 0, 0, 360, (170, 245, 255), -1)
    sparks = rng.integers(0, 2, (height, width)).astype(bool) & (img[..., 2] > 150)
    img[sparks] = np.clip(img[sparks].astype(int) + 35, 0, 255).astype(np.uint8)
    return img


def lamp_photo(width: int = 480, height: int = 360) -> np.ndarray:
    """A compact glowing lamp: a red-orange disc with a white centre, on a dark wall."""
    img = np.full((height, width, 3), (40, 40, 45), np.uint8)
    centre = (width // 2, height // 2)
    cv2.circle(img, centre, 60, (40, 90, 230), -1)
    cv2.circle(img, centre, 40, (90, 180, 255), -1)
    cv2.circle(img, centre, 20, (250, 250, 255), -1)
    return cv2.GaussianBlur(img, (0, 0), 2.0)


def textured_background(width: int = 320, height: int = 180, seed: int = 1) -> np.ndarray:
    """Dark green-brown texture: vegetation seen from a watch tower."""
    rng = np.random.default_rng(seed)
    noise = (rng.random((height * 2, width * 2, 3)) * 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(noise, (0, 0), 1.0)
    return (blurred * np.array([0.35, 0.55, 0.4])).astype(np.uint8)


def plume_frames(
    frames: int = 360, start: int = 120, fps: float = 30.0, pan: float = 0.0, seed: int = 1
) -> Iterator[np.ndarray]:
    """A fixed (pan 0) or panning (pixels per frame) camera over the texture; from frame
    `start` a grey plume rises, grows and drifts over it (light, soft, semi-transparent)."""
    big = textured_background(seed=seed)
    height, width = 180, 320
    rng = np.random.default_rng(seed + 1)
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(frames):
        x0 = int(i * pan) % width
        f = big[:height, x0 : x0 + width].astype(np.float32)
        if i >= start:
            t = (i - start) / fps
            r = 15 + 6 * t
            cx, cy = 160 + 3 * np.sin(t * 2), 110 - 4 * t
            a = 0.75 * np.exp(-(((xx - cx) / r) ** 2 + ((yy - cy) / (1.3 * r)) ** 2))
            a *= 0.85 + 0.15 * np.sin(xx / 7 + t * 3) * np.cos(yy / 9 - t * 2)
            f = f * (1 - a[..., None]) + 200 * a[..., None]
        noisy = f + rng.normal(0, 1.5, f.shape)
        yield np.clip(noisy, 0, 255).astype(np.uint8)


def static_patch_frames(frames: int = 90, seed: int = 2) -> Iterator[np.ndarray]:
    """A parked red-orange object (flame colour, a bright highlight) that never changes,
    with sensor noise: colour without flicker."""
    rng = np.random.default_rng(seed)
    scene = np.full((240, 320, 3), (90, 100, 95), np.uint8)
    cv2.rectangle(scene, (120, 90), (200, 150), (40, 110, 235), -1)
    cv2.rectangle(scene, (150, 100), (170, 115), (150, 235, 255), -1)
    for _ in range(frames):
        noisy = scene.astype(np.float32) + rng.normal(0, 1.5, scene.shape)
        yield np.clip(noisy, 0, 255).astype(np.uint8)
