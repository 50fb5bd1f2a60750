"""Box overlap matrices and gated one-to-one assignment for the tracker."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from vigil.domain import Box


def boxes_to_xyxy(boxes: Sequence[Box]) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2 of `boxes`."""
    if not boxes:
        return np.zeros((0, 4))
    return np.array([b.xyxy() for b in boxes], dtype=np.float64)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of (N, 4) and (M, 4) x1, y1, x2, y2 boxes.

    Same arithmetic as `Box.iou` (empty or inverted boxes have zero area and zero IoU).
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
    area_a = np.maximum(a[:, 2] - a[:, 0], 0.0) * np.maximum(a[:, 3] - a[:, 1], 0.0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0.0) * np.maximum(b[:, 3] - b[:, 1], 0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    positive = union > 0
    return np.where(positive, inter / np.where(positive, union, 1.0), 0.0)


def assign(similarity: np.ndarray, min_similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Best one-to-one pairs of rows and columns with similarity >= `min_similarity`.

    Returns (rows, cols) of the matched pairs. Like lapjv's `cost_limit` (what ByteTrack uses),
    leaving a row and a column unmatched costs as much as one pair at the limit, so a weak pair is
    never forced just to let other pairs form: this is not "as many matches as possible".
    """
    sim = np.asarray(similarity, dtype=np.float64)
    none = np.zeros(0, dtype=np.intp)
    if sim.size == 0:
        return none, none
    feasible = sim >= min_similarity
    # A row and column that are each other's only feasible partner form a component of their own,
    # and matching them always beats leaving both out. Most targets are like that; taking them
    # first leaves only the crowded ones for the cubic solver.
    row_deg, col_deg = feasible.sum(axis=1), feasible.sum(axis=0)
    only = np.argmax(feasible, axis=1)
    lone = (row_deg == 1) & (col_deg[only] == 1)
    lone_rows, lone_cols = np.flatnonzero(lone), only[lone]
    feasible[lone_rows] = False
    # Rows and columns with no feasible partner cannot change the answer either.
    rows = np.flatnonzero(feasible.any(axis=1))
    cols = np.flatnonzero(feasible.any(axis=0))
    if rows.size == 0:
        return lone_rows, lone_cols
    cost = np.where(feasible[np.ix_(rows, cols)], 1.0 - sim[np.ix_(rows, cols)], np.inf)
    limit = 1.0 - min_similarity
    n, m = cost.shape
    # Square extension: row i may take its own dummy column (cost limit/2), column j its own dummy
    # row (limit/2); dummy rows and columns pair up for free.
    big = np.full((n + m, m + n), np.inf)
    big[:n, :m] = cost
    big[np.arange(n), m + np.arange(n)] = limit / 2
    big[n + np.arange(m), np.arange(m)] = limit / 2
    big[n:, m:] = 0.0
    r, c = linear_sum_assignment(big)
    real = (r < n) & (c < m)
    return (
        np.concatenate([lone_rows, rows[r[real]]]),
        np.concatenate([lone_cols, cols[c[real]]]),
    )
