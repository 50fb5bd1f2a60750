"""A ByteTrack-style multi-object tracker for detections that arrive at irregular times.

Association per update (ByteTrack, Zhang et al. 2022), only between the same label:
1. high-score detections vs confirmed and lost tracks (Kalman-predicted boxes), IoU optionally
   fused with the detection score;
2. low-score detections vs the confirmed tracks still unmatched: a partly occluded object
   keeps its track though the detector is unsure of it, without low scores starting tracks;
3. tentative tracks vs the high-score detections left over;
then unmatched sure detections start tentative tracks. All ages are in seconds, not frames,
because motion-gated detection calls the tracker at 10 Hz one moment and 1 Hz the next.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vigil.domain import Box, Detection, Track, TrackState
from vigil.tracking.kalman import BoxKalman, KalmanParams, cxcywh_to_xyxy, xyxy_to_cxcywh
from vigil.tracking.matching import assign, boxes_to_xyxy, iou_matrix


@dataclass(frozen=True, slots=True)
class TrackerParams:
    high_score: float = 0.5  # detections at or above take part in stage 1
    low_score: float = 0.1  # detections below are ignored; between low and high: stage 2 only
    new_track_score: float = 0.7  # a detection must be this sure to start a track
    match_iou: float = 0.25  # stage 1 minimum (buffered) IoU (IoU x score when fuse_score)
    second_match_iou: float = 0.5  # stage 2 minimum IoU; strict since low scores are doubtful
    tentative_match_iou: float = 0.3  # stage 3 minimum IoU (x score when fuse_score)
    fuse_score: bool = True  # prefer sure detections when overlaps are close (ByteTrack MOT17)
    confirm_hits: int = 3  # matches before a track gets an id and is shown
    max_tentative_age: float = 0.5  # s a not-yet-confirmed track may go unseen before it is dropped
    lost_timeout: float = 3.0  # s since the last match before a lost track ends
    duplicate_iou: float = 0.85  # a lost track this close to a matched one is the same object
    # Let low-score detections (stage 2) re-acquire lost tracks too. With motion gating a
    # still object is re-checked about once a second; one weak look must not end it.
    low_revives_lost: bool = True
    # Stage after the two ByteTrack stages: unmatched tracks against the remaining sure
    # detections by the box where each track was last seen (0 turns it off).
    recover_iou: float = 0.7
    # Stage 1 compares boxes grown by this fraction of their size on every side (buffered IoU,
    # C-BIoU): fast or erratic motion between detections still overlaps.
    match_buffer: float = 0.2
    # Show a matched track at its filtered (Kalman) box rather than the raw detection box: the
    # detector's jitter is smoothed away, and zones and lines see a steadier point.
    smooth_boxes: bool = True
    kalman: KalmanParams = field(default_factory=KalmanParams)

    def __post_init__(self) -> None:
        if not 0 <= self.low_score <= self.high_score:
            raise ValueError(f"TrackerParams needs 0 <= low_score <= high_score, got {self}")
        for name in ("match_iou", "second_match_iou", "tentative_match_iou"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"TrackerParams.{name} must be in (0, 1], got {self}")
        if self.confirm_hits < 1:
            raise ValueError(f"TrackerParams.confirm_hits must be >= 1, got {self.confirm_hits}")
        if self.lost_timeout < 0 or self.max_tentative_age < 0:
            raise ValueError(f"TrackerParams timeouts must be >= 0 seconds, got {self}")


@dataclass(frozen=True, slots=True)
class TrackerUpdate:
    tracks: list[Track]  # confirmed (matched now) and lost tracks, by id
    ended: list[Track]  # confirmed tracks removed in this update, state REMOVED


@dataclass(slots=True)
class _Rec:
    """Mutable bookkeeping of one track; its Kalman state lives in the tracker's arrays."""

    label: str
    box: Box  # last matched detection box
    score: float  # last matched detection score
    first_seen: float
    last_seen: float
    state: TrackState
    id: int = 0  # 0 until confirmed: shown ids stay dense, with no gaps for false positives
    hits: int = 1


@dataclass(frozen=True, slots=True)
class _Dets:
    xyxy: np.ndarray
    score: np.ndarray
    label: np.ndarray
    items: list[Detection]


class Tracker:
    """Turns detections over time into tracks with stable ids (one tracker per camera)."""

    def __init__(self, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        self._kf = BoxKalman(self.params.kalman)
        self._recs: list[_Rec] = []
        self._mean = np.zeros((0, 8))  # row i belongs to self._recs[i]
        self._cov = np.zeros((0, 8, 8))
        self._time: float | None = None
        self._next_id = 1

    def update(self, detections: Sequence[Detection], timestamp: float) -> TrackerUpdate:
        """Advance to `timestamp` (seconds; earlier than the last one counts as the last one)."""
        p = self.params
        t = self._advance(timestamp)
        dets = self._usable(detections)
        recs = self._recs
        pred = cxcywh_to_xyxy(self._mean[:, :4])
        last = boxes_to_xyxy([r.box for r in recs])
        labels = np.array([r.label for r in recs], dtype=object)
        by_state: dict[TrackState, list[int]] = {s: [] for s in TrackState}
        for i, r in enumerate(recs):
            by_state[r.state].append(i)
        high = np.flatnonzero(dets.score >= p.high_score)
        low = np.flatnonzero(dets.score < p.high_score)

        def associate(
            tracks: list[int],
            cand: np.ndarray,
            min_sim: float,
            fuse: bool,
            boxes: np.ndarray = pred,
            buffer: float = 0.0,
        ) -> tuple[list[tuple[int, int]], list[int], np.ndarray]:
            ti = np.asarray(tracks, dtype=np.intp)
            if len(ti) == 0 or len(cand) == 0:
                return [], list(tracks), cand
            sim = iou_matrix(_buffered(boxes[ti], buffer), _buffered(dets.xyxy[cand], buffer))
            if fuse:
                sim = sim * dets.score[cand][None, :]
            sim[labels[ti][:, None] != dets.label[cand][None, :]] = 0.0
            r, c = assign(sim, min_sim)
            taken = set(ti[r].tolist())
            left_t = [i for i in tracks if i not in taken]
            return (
                list(zip(ti[r].tolist(), cand[c].tolist(), strict=True)),
                left_t,
                np.delete(cand, c),
            )

        pool = by_state[TrackState.CONFIRMED] + by_state[TrackState.LOST]
        m1, left, high_left = associate(
            pool, high, p.match_iou, p.fuse_score, buffer=p.match_buffer
        )
        second: tuple[TrackState, ...] = (TrackState.CONFIRMED,)
        if p.low_revives_lost:
            second = (TrackState.CONFIRMED, TrackState.LOST)
        retry = [i for i in left if recs[i].state in second]
        m2, _, _ = associate(retry, low, p.second_match_iou, False)
        m_rec: list[tuple[int, int]] = []
        if p.recover_iou > 0:
            # OC-SORT's observation-centric recovery: a track the prediction lost may still sit
            # where it was last seen (an object that stopped after moving; the long gaps of
            # motion-gated detection make the prediction run on with the old speed).
            rest = [i for i in left if i not in {a for a, _ in m2}]
            m_rec, _, high_left = associate(rest, high_left, p.recover_iou, False, boxes=last)
        tentative = by_state[TrackState.TENTATIVE]
        m3, _, high_left = associate(tentative, high_left, p.tentative_match_iou, p.fuse_score)

        matched = self._apply(m1 + m2 + m_rec + m3, dets, t)
        ended = self._retire(matched, t)
        self._spawn([dets.items[j] for j in high_left if dets.score[j] >= p.new_track_score], t)
        return TrackerUpdate(tracks=self._visible(), ended=ended)

    def compensate(self, affine: np.ndarray) -> None:
        """The picture moved (a moving camera): `affine` (2x3, old image points to new ones;
        `vigil.tracking.cmc.CameraMotion.take`) moves every track, its Kalman state and the box
        where it was last seen, before the next `update` predicts and associates."""
        a = np.asarray(affine, dtype=np.float64).reshape(2, 3)
        if not self._recs or not np.isfinite(a).all():
            return
        self._mean, self._cov = self._kf.warp(self._mean, self._cov, a)
        scale = float(np.sqrt(abs(np.linalg.det(a[:, :2]))))
        last = xyxy_to_cxcywh(boxes_to_xyxy([r.box for r in self._recs]))
        last[:, :2] = last[:, :2] @ a[:, :2].T + a[:, 2]
        last[:, 2:] *= scale
        for r, (x1, y1, x2, y2) in zip(self._recs, cxcywh_to_xyxy(last).tolist(), strict=True):
            r.box = Box.from_xyxy(x1, y1, x2, y2)

    def finish(self, timestamp: float) -> list[Track]:
        """End every remaining confirmed track (end of the video); tentative ones are dropped."""
        self._advance(timestamp)
        ended = [
            self._public(i, TrackState.REMOVED)
            for i, r in enumerate(self._recs)
            if r.state is not TrackState.TENTATIVE
        ]
        self._recs = []
        self._mean, self._cov = self._mean[:0], self._cov[:0]
        return sorted(ended, key=lambda tr: tr.id)

    def _advance(self, timestamp: float) -> float:
        t = float(timestamp)
        if not math.isfinite(t):
            raise ValueError(f"tracker timestamp must be a finite number of seconds, got {t}")
        # Clamping keeps first_seen <= last_seen and dt >= 0 if a source's clock steps back.
        if self._time is not None:
            t = max(t, self._time)
        dt = 0.0 if self._time is None else t - self._time
        self._time = t
        if self._recs and dt > 0:
            self._mean, self._cov = self._kf.predict(self._mean, self._cov, dt)
            # A box can only shrink so far: a fast-shrinking estimate must not invert.
            np.maximum(self._mean[:, 2:4], 1.0, out=self._mean[:, 2:4])
        return t

    def _usable(self, detections: Sequence[Detection]) -> _Dets:
        low = self.params.low_score
        items = [
            d
            for d in detections
            if d.score >= low
            and d.box.w > 0
            and d.box.h > 0
            and math.isfinite(d.box.x + d.box.y + d.box.w + d.box.h + d.score)
        ]
        return _Dets(
            xyxy=boxes_to_xyxy([d.box for d in items]),
            score=np.array([d.score for d in items], dtype=np.float64),
            label=np.array([d.label for d in items], dtype=object),
            items=items,
        )

    def _apply(self, pairs: list[tuple[int, int]], dets: _Dets, t: float) -> set[int]:
        if not pairs:
            return set()
        ti = np.array([i for i, _ in pairs], dtype=np.intp)
        dj = np.array([j for _, j in pairs], dtype=np.intp)
        self._mean[ti], self._cov[ti] = self._kf.update(
            self._mean[ti], self._cov[ti], xyxy_to_cxcywh(dets.xyxy[dj])
        )
        for i, j in pairs:
            r, d = self._recs[i], dets.items[j]
            r.box, r.score, r.last_seen, r.hits = d.box, d.score, t, r.hits + 1
            if r.state is TrackState.LOST:
                r.state = TrackState.CONFIRMED
            elif r.state is TrackState.TENTATIVE and r.hits >= self.params.confirm_hits:
                self._confirm(r)
        return set(ti.tolist())

    def _confirm(self, r: _Rec) -> None:
        r.state, r.id = TrackState.CONFIRMED, self._next_id
        self._next_id += 1

    def _retire(self, matched: set[int], t: float) -> list[Track]:
        """Mark misses lost, end lost tracks past their time, drop stale tentative ones."""
        p, recs = self.params, self._recs
        for i, r in enumerate(recs):
            if r.state is TrackState.CONFIRMED and i not in matched:
                r.state = TrackState.LOST
                # ByteTrack freezes the size of an unseen object: extrapolated growth is noise.
                self._mean[i, 6:8] = 0.0
        ended: list[int] = []
        keep = np.ones(len(recs), dtype=bool)
        for i, r in enumerate(recs):
            if r.state is TrackState.LOST and t - r.last_seen > p.lost_timeout:
                ended.append(i)
            elif r.state is TrackState.TENTATIVE and t - r.last_seen > p.max_tentative_age:
                keep[i] = False
        ended += self._duplicates(matched, set(ended))
        out = [self._public(i, TrackState.REMOVED) for i in ended]
        keep[ended] = False
        self._recs = [r for r, k in zip(recs, keep, strict=True) if k]
        self._mean, self._cov = self._mean[keep], self._cov[keep]
        return sorted(out, key=lambda tr: tr.id)

    def _duplicates(self, matched: set[int], ending: set[int]) -> list[int]:
        """Lost tracks lying on a matched track of the same label: the object was re-acquired
        under a new id, so the old one would only be shown twice and then time out."""
        recs = self._recs
        lost = [i for i, r in enumerate(recs) if r.state is TrackState.LOST and i not in ending]
        live = [i for i in matched if recs[i].state is TrackState.CONFIRMED]
        if not lost or not live:
            return []
        iou = iou_matrix(
            cxcywh_to_xyxy(self._mean[lost, :4]), boxes_to_xyxy([recs[i].box for i in live])
        )
        same = np.array([[recs[a].label == recs[b].label for b in live] for a in lost])
        dup = ((iou > self.params.duplicate_iou) & same).any(axis=1)
        return [i for i, d in zip(lost, dup, strict=True) if d]

    def _spawn(self, items: list[Detection], t: float) -> None:
        if not items:
            return
        mean, cov = self._kf.initiate(xyxy_to_cxcywh(boxes_to_xyxy([d.box for d in items])))
        for d in items:
            r = _Rec(d.label, d.box, d.score, t, t, TrackState.TENTATIVE)
            if self.params.confirm_hits <= 1:
                self._confirm(r)
            self._recs.append(r)
        self._mean = np.concatenate([self._mean, mean])
        self._cov = np.concatenate([self._cov, cov])

    def _visible(self) -> list[Track]:
        shown = (TrackState.CONFIRMED, TrackState.LOST)
        out = [self._public(i, r.state) for i, r in enumerate(self._recs) if r.state in shown]
        return sorted(out, key=lambda tr: tr.id)

    def _public(self, i: int, state: TrackState) -> Track:
        r = self._recs[i]
        box = r.box
        # LOST: the estimate, not the last sighting (where to look for the object now).
        # CONFIRMED (matched now): the filtered box, when smoothing is on.
        if state is TrackState.LOST or (state is TrackState.CONFIRMED and self.params.smooth_boxes):
            x1, y1, x2, y2 = cxcywh_to_xyxy(self._mean[i, :4])[0].tolist()
            box = Box.from_xyxy(x1, y1, x2, y2)
        return Track(
            id=r.id,
            label=r.label,
            box=box,
            score=r.score,
            state=state,
            first_seen=r.first_seen,
            last_seen=r.last_seen,
            hits=r.hits,
        )


def _buffered(xyxy: np.ndarray, fraction: float) -> np.ndarray:
    """Boxes grown by `fraction` of their width / height on each side."""
    if fraction == 0.0 or len(xyxy) == 0:
        return xyxy
    w = (xyxy[:, 2] - xyxy[:, 0]) * fraction
    h = (xyxy[:, 3] - xyxy[:, 1]) * fraction
    return xyxy + np.stack([-w, -h, w, h], axis=1)
