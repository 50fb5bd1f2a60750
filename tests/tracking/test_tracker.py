from collections.abc import Callable, Iterable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.domain import Box, Detection, Track, TrackState
from vigil.tracking.matching import assign, boxes_to_xyxy, iou_matrix
from vigil.tracking.tracker import Tracker, TrackerParams, TrackerUpdate

W, H = 40.0, 80.0


def det(x: float, y: float, score: float = 0.9, label: str = "person") -> Detection:
    return Detection(Box(x, y, W, H), label, score)


def run(
    tracker: Tracker, times: Iterable[float], dets_at: Callable[[float], list[Detection]]
) -> list[TrackerUpdate]:
    return [tracker.update(dets_at(t), t) for t in times]


def ticks(start: float, stop: float, dt: float) -> list[float]:
    return [round(start + k * dt, 6) for k in range(int(round((stop - start) / dt)))]


def ids(tracks: list[Track], state: TrackState | None = None) -> set[int]:
    return {t.id for t in tracks if state is None or t.state is state}


# --- matching helpers ------------------------------------------------------------------------

# Sizes are empty/inverted or at least 0.01 px: below that, x2 - x1 in floating point no longer
# gives back w (catastrophic cancellation), which says nothing about the code under test.
size_st = st.one_of(st.floats(-5, 0, allow_nan=False), st.floats(0.01, 80, allow_nan=False))
box_st = st.builds(
    Box,
    st.floats(-100, 100, allow_nan=False),
    st.floats(-100, 100, allow_nan=False),
    size_st,
    size_st,
)


@given(a=st.lists(box_st, max_size=6), b=st.lists(box_st, max_size=6))
def test_iou_matrix_equals_pairwise_box_iou(a: list[Box], b: list[Box]) -> None:
    m = iou_matrix(boxes_to_xyxy(a), boxes_to_xyxy(b))
    assert m.shape == (len(a), len(b))
    expected = np.array([[x.iou(y) for y in b] for x in a]).reshape(len(a), len(b))
    assert np.allclose(m, expected, rtol=1e-9, atol=1e-12)


def test_assign_respects_the_gate_and_does_not_force_weak_pairs() -> None:
    sim = np.array([[0.9, 0.3], [0.3, 0.0]])
    rows, cols = assign(sim, 0.2)
    # Maximising the number of matches would take (0,1) and (1,0); the clear pair wins instead.
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 0)]
    rows, cols = assign(np.array([[0.1, 0.15]]), 0.2)
    assert rows.size == 0 and cols.size == 0
    rows, cols = assign(np.zeros((0, 3)), 0.2)
    assert rows.size == 0


# --- single targets --------------------------------------------------------------------------


def test_still_object_at_10hz_keeps_one_id() -> None:
    tr = Tracker(TrackerParams(smooth_boxes=False))
    c = tr.params.confirm_hits
    ups = run(tr, ticks(0, 20, 0.1), lambda t: [det(100, 100)])
    assert all(not u.ended for u in ups)
    seen = set().union(*(ids(u.tracks) for u in ups))
    assert seen == {1}
    assert all(u.tracks == [] for u in ups[: c - 1])  # a first sighting is not yet a track
    assert all(u.tracks[0].state is TrackState.CONFIRMED for u in ups[c - 1 :])
    last = ups[-1].tracks[0]
    assert last.box == Box(100, 100, W, H)  # the detection, not the filter's estimate
    assert last.first_seen == 0.0 and last.last_seen == pytest.approx(19.9)
    assert last.hits == 200


def test_still_object_at_1hz_irregular_keeps_one_id() -> None:
    tr = Tracker()
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(0.7, 1.6, size=25)).tolist()
    ups = run(tr, times, lambda t: [det(300 + rng.normal(0, 1), 200 + rng.normal(0, 1))])
    assert set().union(*(ids(u.tracks) for u in ups)) == {1}
    assert all(not u.ended for u in ups)
    assert tr.finish(times[-1])[0].hits == 25


def test_moving_object_at_1hz_keeps_one_id() -> None:
    tr = Tracker()
    ups = run(tr, [float(k) for k in range(15)], lambda t: [det(100 + 15 * t, 100)])
    assert set().union(*(ids(u.tracks) for u in ups)) == {1}


def test_hidden_for_one_second_comes_back_with_old_id() -> None:
    tr = Tracker()
    speed = 60.0  # px/s: the box moves 1.5 widths while hidden

    def dets(t: float) -> list[Detection]:
        return [] if 2.0 <= t < 3.0 else [det(50 + speed * t, 100)]

    ups = run(tr, ticks(0, 5, 0.1), dets)
    hidden = [u for t, u in zip(ticks(0, 5, 0.1), ups, strict=True) if 2.0 <= t < 3.0]
    assert all(u.tracks and u.tracks[0].state is TrackState.LOST for u in hidden)
    # While lost, the shown box follows the prediction along the path.
    assert hidden[-1].tracks[0].box.x == pytest.approx(50 + speed * 2.9, abs=10)
    assert set().union(*(ids(u.tracks) for u in ups)) == {1}
    assert ups[-1].tracks[0].state is TrackState.CONFIRMED
    assert all(not u.ended for u in ups)


def test_gone_past_timeout_ends_once_with_its_times() -> None:
    tr = Tracker()
    times = ticks(0, 10, 0.1)
    ups = run(tr, times, lambda t: [det(100, 100)] if t < 2.0 else [])
    ended = [(t, e) for t, u in zip(times, ups, strict=True) for e in u.ended]
    assert len(ended) == 1
    t_end, e = ended[0]
    assert e.id == 1 and e.state is TrackState.REMOVED
    assert e.first_seen == 0.0 and e.last_seen == pytest.approx(1.9)
    assert e.box == Box(100, 100, W, H) and e.score == 0.9 and e.hits == 20
    assert t_end - e.last_seen > tr.params.lost_timeout
    assert t_end - e.last_seen <= tr.params.lost_timeout + 0.1 + 1e-9
    assert tr.finish(10.0) == []


def test_timeout_works_with_sparse_updates() -> None:
    tr = Tracker(TrackerParams(confirm_hits=2))
    tr.update([det(0, 0)], 0.0)
    tr.update([det(0, 0)], 1.0)
    assert ids(tr.update([], 2.0).tracks, TrackState.LOST) == {1}
    u = tr.update([], 10.0)
    assert [e.id for e in u.ended] == [1] and u.tracks == []


def test_one_frame_false_positives_never_end() -> None:
    tr = Tracker()
    rng = np.random.default_rng(0)
    times = ticks(0, 10, 0.1)
    ups = run(tr, times, lambda t: [det(*rng.uniform(0, 2000, 2))])
    assert all(not u.ended and not u.tracks for u in ups)
    assert tr.finish(10.0) == []


def test_low_score_detections_keep_a_track_but_start_none() -> None:
    tr = Tracker()
    times = ticks(0, 8, 0.1)
    ups = run(tr, times, lambda t: [det(100 + 20 * t, 100, 0.9 if t < 1 else 0.3)])
    assert set().union(*(ids(u.tracks) for u in ups)) == {1}
    assert all(not u.ended for u in ups)
    assert ups[-1].tracks[0].state is TrackState.CONFIRMED and ups[-1].tracks[0].score == 0.3

    fresh = Tracker()
    ups = run(fresh, times, lambda t: [det(100, 100, 0.3), det(500, 100, 0.55)])
    assert all(not u.tracks and not u.ended for u in ups)


def test_labels_never_associate() -> None:
    tr = Tracker()
    times = ticks(0, 2, 0.1)
    ups = run(tr, times, lambda t: [det(100, 100, label="person"), det(102, 101, label="car")])
    last = {t.label: t.id for t in ups[-1].tracks}
    assert last == {"person": 1, "car": 2} or last == {"person": 2, "car": 1}
    # The car vanishes; the person's detection must not keep the car alive.
    ups = run(tr, ticks(2, 6, 0.1), lambda t: [det(100, 100, label="person")])
    ended = [e for u in ups for e in u.ended]
    assert [e.label for e in ended] == ["car"]


def test_finish_ends_confirmed_and_lost_tracks() -> None:
    tr = Tracker(TrackerParams(confirm_hits=2))
    run(tr, ticks(0, 1, 0.1), lambda t: [det(0, 0), det(500, 0)] if t < 0.5 else [det(0, 0)])
    tr.update([det(900, 0)], 1.0)  # tentative: dropped silently
    ended = tr.finish(1.0)
    assert [e.id for e in ended] == [1, 2]
    assert all(e.state is TrackState.REMOVED for e in ended)
    assert ended[1].last_seen == pytest.approx(0.4)
    assert tr.update([det(0, 0)], 1.1).tracks == []  # fresh start, ids keep increasing
    assert ids(tr.update([det(0, 0)], 1.2).tracks) == {3}


def test_time_going_backwards_is_clamped() -> None:
    tr = Tracker(TrackerParams(confirm_hits=2))
    tr.update([det(0, 0)], 5.0)
    u = tr.update([det(0, 0)], 4.0)
    assert u.tracks[0].first_seen == 5.0 and u.tracks[0].last_seen == 5.0
    with pytest.raises(ValueError):
        tr.update([], float("nan"))


def test_bad_detections_are_ignored() -> None:
    tr = Tracker()
    bad = [
        Detection(Box(0, 0, 0, 10), "person", 0.9),
        Detection(Box(float("nan"), 0, 10, 10), "person", 0.9),
        Detection(Box(0, 0, 10, 10), "person", float("inf")),
    ]
    ups = run(tr, ticks(0, 1, 0.1), lambda t: bad)
    assert all(not u.tracks for u in ups)


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="low_score"):
        TrackerParams(low_score=0.6, high_score=0.5)
    with pytest.raises(ValueError, match="match_iou"):
        TrackerParams(match_iou=0.0)
    with pytest.raises(ValueError, match="confirm_hits"):
        TrackerParams(confirm_hits=0)


def test_confirm_on_first_hit() -> None:
    tr = Tracker(TrackerParams(confirm_hits=1))
    assert ids(tr.update([det(0, 0)], 0.0).tracks) == {1}


# --- several targets -------------------------------------------------------------------------


def test_crossing_targets_keep_their_ids() -> None:
    tr = Tracker(TrackerParams(smooth_boxes=False))  # exact detection boxes back
    speed = 100.0

    def dets(t: float) -> list[Detection]:
        return [det(100 + speed * t, 100), det(500 - speed * t, 110)]

    times = ticks(0, 4, 0.1)
    ups = run(tr, times, dets)
    first = {round(t.box.x): t.id for t in ups[2].tracks}
    a, b = first[round(100 + speed * 0.2)], first[round(500 - speed * 0.2)]
    for t, u in zip(times[2:], ups[2:], strict=True):
        by_id = {tr_.id: tr_ for tr_ in u.tracks}
        assert set(by_id) == {a, b}
        assert by_id[a].box.x == pytest.approx(100 + speed * t)
        assert by_id[b].box.x == pytest.approx(500 - speed * t)


def test_150_targets_on_a_grid_keep_150_ids() -> None:
    tr = Tracker()
    rng = np.random.default_rng(7)
    gx, gy = np.meshgrid(np.arange(15) * 100.0, np.arange(10) * 120.0)
    origin = np.stack([gx.ravel(), gy.ravel()], axis=1)
    velocity = rng.uniform(-20, 20, size=origin.shape)
    step = 0.1

    def dets(t: float) -> list[Detection]:
        pos = origin + velocity * t + rng.normal(0, 1.0, size=origin.shape)
        return [
            Detection(Box(x, y, 30, 60), "person", float(s))
            for (x, y), s in zip(pos, rng.uniform(0.75, 1.0, len(pos)), strict=True)
        ]

    ups = run(tr, [k * step for k in range(50)], dets)
    c = tr.params.confirm_hits
    assert all(len(u.tracks) == 150 for u in ups[c - 1 :])
    assert ids(ups[c - 1].tracks) == ids(ups[-1].tracks) == set(range(1, 151))
    assert all(t.state is TrackState.CONFIRMED for t in ups[-1].tracks)
    assert all(not u.ended for u in ups)


# --- properties over random streams ----------------------------------------------------------

det_st = st.builds(
    Detection,
    st.builds(
        Box,
        st.floats(0, 200, allow_nan=False),
        st.floats(0, 200, allow_nan=False),
        st.floats(5, 80, allow_nan=False),
        st.floats(5, 80, allow_nan=False),
    ),
    st.sampled_from(["person", "car"]),
    st.floats(0, 1, allow_nan=False),
)
stream_st = st.lists(
    st.tuples(st.floats(0, 2, allow_nan=False), st.lists(det_st, max_size=8)), max_size=30
)


@settings(max_examples=80, deadline=None)
@given(stream=stream_st, confirm=st.integers(1, 3))
def test_ids_are_unique_and_never_reused(
    stream: list[tuple[float, list[Detection]]], confirm: int
) -> None:
    tr = Tracker(TrackerParams(confirm_hits=confirm))
    t = 0.0
    ended_ids: set[int] = set()
    max_id = 0
    for dt, dets in stream:
        t += dt
        u = tr.update(dets, t)
        shown = [x.id for x in u.tracks]
        assert len(shown) == len(set(shown)) and all(i > 0 for i in shown)
        assert all(x.state in (TrackState.CONFIRMED, TrackState.LOST) for x in u.tracks)
        gone = [x.id for x in u.ended]
        assert len(gone) == len(set(gone)) and not set(gone) & set(shown)
        assert not (set(shown) | set(gone)) & ended_ids
        new = sorted(set(shown) - set(range(1, max_id + 1)))
        assert new == list(range(max_id + 1, max_id + 1 + len(new)))  # dense, increasing
        max_id = max([max_id, *shown])
        for e in u.ended:
            assert e.state is TrackState.REMOVED and e.first_seen <= e.last_seen <= t
        ended_ids |= set(gone)
    final = tr.finish(t + 1)
    assert not {e.id for e in final} & ended_ids
    assert all(e.first_seen <= e.last_seen for e in final)


def _assignment_cost(sim: np.ndarray, pairs: list[tuple[int, int]], min_sim: float) -> float:
    limit = 1.0 - min_sim
    unmatched = sim.shape[0] + sim.shape[1] - 2 * len(pairs)
    return sum(1.0 - sim[r, c] for r, c in pairs) + unmatched * limit / 2


def _best_cost(sim: np.ndarray, min_sim: float) -> float:
    """Exhaustive search over all partial matchings of a tiny matrix."""
    n, m = sim.shape

    def go(r: int, used: frozenset[int], pairs: list[tuple[int, int]]) -> float:
        if r == n:
            return _assignment_cost(sim, pairs, min_sim)
        best = go(r + 1, used, pairs)
        for c in range(m):
            if c not in used and sim[r, c] >= min_sim:
                best = min(best, go(r + 1, used | {c}, [*pairs, (r, c)]))
        return best

    return go(0, frozenset(), [])


@settings(max_examples=150, deadline=None)
@given(
    sim=st.integers(0, 4).flatmap(
        lambda n: st.integers(0, 4).flatmap(
            lambda m: st.lists(
                st.lists(
                    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0]), min_size=m, max_size=m
                ),
                min_size=n,
                max_size=n,
            ).map(lambda rows: np.array(rows, dtype=float).reshape(n, m))
        )
    ),
    min_sim=st.sampled_from([0.2, 0.3, 0.5]),
)
def test_assign_is_optimal_and_gated(sim: np.ndarray, min_sim: float) -> None:
    rows, cols = assign(sim, min_sim)
    pairs = list(zip(rows.tolist(), cols.tolist(), strict=True))
    assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
    assert all(sim[r, c] >= min_sim for r, c in pairs)
    assert _assignment_cost(sim, pairs, min_sim) == pytest.approx(_best_cost(sim, min_sim))


def test_crossing_with_the_far_target_occluded_keeps_ids() -> None:
    tr = Tracker()
    speed = 100.0

    def dets(t: float) -> list[Detection]:
        a = det(100 + speed * t, 100)
        b = det(500 - speed * t, 110)
        return [a] if 1.7 <= t < 2.3 else [a, b]  # b passes behind a

    times = ticks(0, 4, 0.1)
    ups = run(tr, times, dets)
    start = {round(t.box.x): t.id for t in ups[2].tracks}
    end = {round(t.box.x): t.id for t in ups[-1].tracks}
    assert start[round(100 + speed * 0.2)] == end[round(100 + speed * 3.9)]
    assert start[round(500 - speed * 0.2)] == end[round(500 - speed * 3.9)]
    assert set().union(*(ids(u.tracks) for u in ups)) == {1, 2}


def test_lost_duplicate_of_a_matched_track_ends_at_once() -> None:
    tr = Tracker()
    # A detector that fires twice on one object makes two tracks...
    run(tr, ticks(0, 1, 0.1), lambda t: [det(100, 100), det(101, 101, 0.8)])
    # ...when it fires once, the unmatched twin lies on the live one: end it, don't show a ghost.
    u = tr.update([det(100, 100)], 1.0)
    assert [t.id for t in u.tracks] == [1] and [e.id for e in u.ended] == [2]
    assert u.ended[0].last_seen == pytest.approx(0.9)
