"""Post-processing shared by the YOLO detectors: clip, per-class NMS, Detections."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vigil.domain import Box, Detection


def check_thresholds(score_threshold: float, nms_threshold: float) -> None:
    # Thresholds come from user config; a value outside [0, 1] silently returns nothing or
    # everything, so it is refused early with the name of the bad setting.
    for name, value in (("score_threshold", score_threshold), ("nms_threshold", nms_threshold)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")


def select_detections(
    xyxy: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    labels: Sequence[str],
    image_size: tuple[int, int],
    score_threshold: float,
    nms_threshold: float,
) -> list[Detection]:
    """Turn candidate boxes (x1, y1, x2, y2 in image pixels) into the Detections that survive.

    Boxes are clipped to the image (width, height) before NMS so that overlap is measured on what
    is actually visible; boxes with no area left are dropped. NMS runs per class: a person in
    front of a car must not suppress the car.
    """
    keep = scores >= score_threshold
    xyxy, scores, class_ids = xyxy[keep], scores[keep], class_ids[keep]
    if len(scores) == 0:
        return []
    width, height = image_size
    xyxy = xyxy.astype(np.float64, copy=True)
    xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0.0, float(width))
    xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0.0, float(height))
    wh = xyxy[:, 2:] - xyxy[:, :2]
    visible = (wh[:, 0] > 0) & (wh[:, 1] > 0)
    xyxy, wh, scores, class_ids = xyxy[visible], wh[visible], scores[visible], class_ids[visible]
    if len(scores) == 0:
        return []
    rects = np.concatenate([xyxy[:, :2], wh], axis=1).tolist()
    kept = cv2.dnn.NMSBoxesBatched(
        rects,
        scores.astype(float).tolist(),
        class_ids.astype(int).tolist(),
        score_threshold,
        nms_threshold,
    )
    order = sorted(np.asarray(kept, dtype=int).reshape(-1).tolist(), key=lambda i: -scores[i])
    return [
        Detection(Box.from_xyxy(*xyxy[i]), labels[int(class_ids[i])], float(scores[i]))
        for i in order
    ]
