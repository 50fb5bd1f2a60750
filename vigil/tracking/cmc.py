"""Camera-motion compensation: how the whole picture moved between frames of a moving camera.

A body camera or a drone moves, so everything in its picture moves, parked cars included; a
tracker that predicts boxes in image coordinates then looks for each object where the camera no
longer shows it. As BoT-SORT and StrongSORT do (their "GMC", sparse variant), the global motion
between consecutive frames is estimated from sparse optical flow: corners
(`cv2.goodFeaturesToTrack`) on a small grey copy of the previous frame, followed into the new one
by pyramidal Lucas-Kanade (`cv2.calcOpticalFlowPyrLK`), and a 4-degree-of-freedom affine
(rotation, uniform scale, shift: `cv2.estimateAffinePartial2D`) fitted with RANSAC, so objects
that move on their own are outliers. Corners inside the boxes of current tracks are left out
(they are the things that may move on their own). The tracker then moves every track's Kalman
state by that affine before it predicts and associates (`Tracker.compensate`).

The tracker runs only on the frames the detector sees (motion-gated, every 0.1-1 s), but the
picture moves between them; `CameraMotion.observe` is fed every decoded frame and chains the
frame-to-frame estimates, and `take` hands the tracker the motion since its last update.

An estimate that cannot be trusted (a blank or uniform picture, too few corners or inliers, a cut
to another scene, a scale change no camera makes in one frame) counts as no motion: identity,
reported once per `CameraMotion` in the log, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

from vigil.domain import Box

log = logging.getLogger(__name__)

WORK_WIDTH = 320  # px: the grey copy flow is found on (BoT-SORT halves 1080p frames: ~960)
MAX_CORNERS = 150
MIN_POINTS = 12  # corners followed into the new frame, and RANSAC inliers, below which: identity
MIN_INLIER_FRACTION = 0.3  # of the followed corners; less: the picture changed, not moved
MAX_SCALE_STEP = 0.15  # |scale - 1| in one frame beyond which an estimate is refused
RANSAC_PX = 1.0  # reprojection threshold on the work image (about 2.7 px on a 848-px frame)
MIN_CONTRAST = 2.0  # grey-level standard deviation below which a picture is blank
BOX_MARGIN = 0.1  # track boxes masked out grown by this fraction on each side

IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def identity() -> np.ndarray:
    """The 2x3 affine of no motion (a fresh copy)."""
    return IDENTITY.copy()


def compose(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """The 2x3 affine of applying `earlier`, then `later`."""
    m = np.vstack([later, [0.0, 0.0, 1.0]]) @ np.vstack([earlier, [0.0, 0.0, 1.0]])
    return m[:2]


class CameraMotion:
    """Frame-to-frame global motion of one camera's picture, in that camera's frame pixels."""

    def __init__(self, frame_size: tuple[int, int], work_width: int = WORK_WIDTH) -> None:
        fw, fh = frame_size
        if fw <= 0 or fh <= 0:
            raise ValueError(f"CameraMotion needs a positive frame size, got {frame_size}")
        width = min(work_width, fw)
        self.work_size = (width, max(8, round(fh * width / fw)))
        self._sx = fw / self.work_size[0]
        self._sy = fh / self.work_size[1]
        self._prev: np.ndarray | None = None
        self._since = identity()  # chained motion since the last `take`
        self._warned = False
        self.failures = 0  # frames whose estimate was refused (identity used)
        self.frames = 0

    def observe(self, image: np.ndarray, exclude: Sequence[Box] = ()) -> np.ndarray:
        """Feed the next decoded frame; returns its motion from the previous frame (2x3 affine
        in frame pixels: a point at p in the previous frame is at A @ [p, 1] in this one) and
        adds it to the motion `take` will return. `exclude`: boxes (frame pixels, as seen in
        the previous frame) whose corners may move on their own, such as current tracks'."""
        grey = self._grey(image)
        prev, self._prev = self._prev, grey
        self.frames += 1
        if prev is None:
            return identity()
        small, why = estimate(prev, grey, self._mask(prev.shape, exclude))
        if small is None:
            self._fail(why)
            return identity()
        step = self._to_frame(small)
        self._since = compose(step, self._since)
        return step

    def take(self) -> np.ndarray:
        """The chained motion since the previous `take` (identity if none), and start anew."""
        out, self._since = self._since, identity()
        return out

    def reset(self) -> None:
        """Forget the previous frame (a gap in the video: the next frame starts over)."""
        self._prev = None
        self._since = identity()

    def _grey(self, image: np.ndarray) -> np.ndarray:
        # Bilinear, not area averaging: 5-10x cheaper, and corners survive the aliasing.
        small = cv2.resize(image, self.work_size, interpolation=cv2.INTER_LINEAR)
        return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small

    def _mask(self, shape: tuple[int, ...], boxes: Sequence[Box]) -> np.ndarray | None:
        if not boxes:
            return None
        mask = np.full(shape[:2], 255, np.uint8)
        for b in boxes:
            dx, dy = b.w * BOX_MARGIN, b.h * BOX_MARGIN
            x1, y1 = int((b.x - dx) / self._sx), int((b.y - dy) / self._sy)
            x2, y2 = int((b.x2 + dx) / self._sx) + 1, int((b.y2 + dy) / self._sy) + 1
            mask[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = 0
        return mask

    def _to_frame(self, small: np.ndarray) -> np.ndarray:
        """An affine on the work image -> the same motion in frame pixels: S A S^-1."""
        s = np.diag([self._sx, self._sy, 1.0])
        s_inv = np.diag([1.0 / self._sx, 1.0 / self._sy, 1.0])
        return (s @ np.vstack([small, [0.0, 0.0, 1.0]]) @ s_inv)[:2]

    def _fail(self, why: str) -> None:
        self.failures += 1
        if not self._warned:
            self._warned = True
            log.warning(
                "camera motion: no estimate for a frame (%s); tracks are not moved for it "
                "(told once per camera)",
                why,
            )


def estimate(
    prev: np.ndarray, grey: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray | None, str]:
    """The 2x3 partial affine taking `prev` to `grey` (same-size grey images), or None and why.

    `mask`: 0 where corners must not be taken from (if that leaves too few, the whole image is
    used: a frame full of tracked objects still has a background between them, and RANSAC
    treats the objects that move as outliers)."""
    if float(prev.std()) < MIN_CONTRAST or float(grey.std()) < MIN_CONTRAST:
        return None, "a blank or uniform picture"
    pts = _corners(prev, mask)
    if pts is None and mask is not None:
        pts = _corners(prev, None)
    if pts is None:
        return None, "too few corners: a blank or uniform picture"
    moved, status, _err = cv2.calcOpticalFlowPyrLK(
        prev, grey, pts, np.empty_like(pts), winSize=(11, 11), maxLevel=2
    )
    ok = status.reshape(-1).astype(bool)
    if int(ok.sum()) < MIN_POINTS:
        return None, f"only {int(ok.sum())} corners followed into the next frame"
    src, dst = pts[ok], moved[ok]
    affine, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX
    )
    n_in = 0 if inliers is None else int(inliers.sum())
    if affine is None or n_in < max(MIN_POINTS, MIN_INLIER_FRACTION * len(src)):
        return None, f"{n_in} of {len(src)} corners agree on one motion (a cut?)"
    scale = float(np.hypot(affine[0, 0], affine[1, 0]))
    if not np.isfinite(affine).all() or abs(scale - 1.0) > MAX_SCALE_STEP:
        return None, f"an implausible zoom of {scale:.2f} in one frame"
    return affine.astype(np.float64), ""


def _corners(grey: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
    min_distance = max(3, grey.shape[1] // 64)
    pts = cv2.goodFeaturesToTrack(
        grey, MAX_CORNERS, qualityLevel=0.01, minDistance=min_distance, blockSize=3, mask=mask
    )
    if pts is None or len(pts) < MIN_POINTS:
        return None
    return pts.astype(np.float32)
