from collections.abc import Iterable, Sequence
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.analyzers.base import TrackedFrame
from vigil.analyzers.lines import LineCounter, segments_intersect
from vigil.analyzers.zones import ZoneWatcher
from vigil.domain import Box, Event, EventType, Line, Point, Track, TrackState, Zone

CAM = "cam"
BW, BH = 20.0, 40.0  # box size of every scripted track

# A square zone from (100, 100) to (300, 300).
SQUARE = ((100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0))


def track(
    at: Point,
    t: float,
    *,
    id: int = 1,
    label: str = "person",
    state: TrackState = TrackState.CONFIRMED,
    first_seen: float = 0.0,
) -> Track:
    """A track whose box has its bottom-centre (the default anchor) at `at`."""
    x, y = at
    return Track(id, label, Box(x - BW / 2, y - BH, BW, BH), 0.8, state, first_seen, t)


def step(tracks: Sequence[Track], t: float, ended: Sequence[Track] = ()) -> TrackedFrame:
    return TrackedFrame(CAM, t, tracks, ended)


def feed(
    analyzer: ZoneWatcher | LineCounter,
    path: Iterable[Point],
    *,
    t0: float = 0.0,
    dt: float = 1.0,
    **kw: object,
) -> list[tuple[float, list[Event]]]:
    """Feed one track along `path`, one point per update; returns (time, events) per update."""
    out = []
    for k, p in enumerate(path):
        t = t0 + k * dt
        out.append((t, analyzer.update(step([track(p, t, **kw)], t))))  # type: ignore[arg-type]
    return out


def flat(steps: Sequence[tuple[float, list[Event]]]) -> list[Event]:
    return [e for _, evs in steps for e in evs]


def kinds(events: Iterable[Event]) -> list[EventType]:
    return [e.type for e in events]


OUT, IN = (50.0, 200.0), (200.0, 200.0)


# --- zones -------------------------------------------------------------------------------------


def test_zone_enter_and_leave_once_each_after_min_frames() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE), min_frames=2)
    steps = feed(w, [OUT, IN, IN, IN, IN, OUT, OUT, OUT])
    per_step = [kinds(evs) for _, evs in steps]
    assert per_step == [[], [], [EventType.ZONE_ENTER], [], [], [], [EventType.ZONE_LEAVE], []]

    enter, leave = flat(steps)
    assert enter.time == 2.0 and enter.track_id == 1 and enter.label == "person"
    assert enter.camera_id == CAM and enter.attributes == {"zone": "yard"}
    assert enter.box == track(IN, 2.0).box
    assert leave.time == 6.0 and leave.start == 2.0 and leave.end == 6.0
    assert leave.attributes == {"zone": "yard"}
    assert leave.to_json()["start"] == 2.0 and leave.to_json()["zone"] == "yard"


@pytest.mark.parametrize("min_frames", [1, 2, 3, 4])
def test_zone_enter_needs_min_frames_consecutive_observations(min_frames: int) -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE), min_frames=min_frames)
    steps = feed(w, [OUT] + [IN] * 6)
    enter_times = [t for t, evs in steps for e in evs if e.type is EventType.ZONE_ENTER]
    assert enter_times == [float(min_frames)]


def test_one_frame_jitter_across_the_border_gives_nothing() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE), min_frames=2)
    # Outside, one frame in, out again: nothing.
    assert flat(feed(w, [OUT, IN, OUT, IN, OUT, OUT, IN, OUT])) == []
    # Once settled inside, one frame out does not make it leave.
    steps = feed(w, [IN, IN, OUT, IN, OUT, IN, IN], t0=10)
    assert kinds(flat(steps)) == [EventType.ZONE_ENTER]


def test_a_track_starting_inside_enters_and_a_track_never_inside_gives_nothing() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE), min_frames=2)
    assert kinds(flat(feed(w, [IN, IN, IN]))) == [EventType.ZONE_ENTER]
    assert flat(feed(w, [OUT, (400.0, 400.0), (0.0, 0.0), OUT], id=2)) == []


def test_tracks_are_followed_independently() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE), min_frames=2)
    events: list[Event] = []
    # Track 1 goes in while track 2 stays out, interleaved in the same updates.
    for t, (p1, p2) in enumerate([(OUT, IN), (IN, OUT), (IN, OUT), (IN, IN)]):
        events += w.update(step([track(p1, t, id=1), track(p2, t, id=2)], t))
    assert [(e.type, e.track_id, e.time) for e in events] == [(EventType.ZONE_ENTER, 1, 2)]


def test_loiter_fires_once_after_loiter_seconds_with_the_entry_time_as_start() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE, loiter_seconds=5.0), min_frames=2)
    steps = feed(w, [OUT, IN] + [IN] * 20, dt=0.5)
    enter = [e for e in flat(steps) if e.type is EventType.ZONE_ENTER]
    assert [e.time for e in enter] == [1.0]
    loiters = [(t, e) for t, evs in steps for e in evs if e.type is EventType.LOITER]
    assert len(loiters) == 1
    t, loiter = loiters[0]
    assert t == 6.0  # 5 s after the entry at t=1, not a frame earlier
    assert loiter.time == 6.0 and loiter.start == 1.0 and loiter.end == 6.0
    assert loiter.attributes == {"zone": "yard", "seconds": 5.0}
    # Still inside much later: no second loiter for the same visit.
    assert not [e for e in flat(feed(w, [IN] * 10, t0=20.0)) if e.type is EventType.LOITER]


def test_loiter_not_before_loiter_seconds_and_again_on_a_new_visit() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE, loiter_seconds=5.0), min_frames=1)
    # Inside 0..4 (4 s), out, back in at 6 and stays to 12.
    path = [IN] * 5 + [OUT] + [IN] * 7
    steps = feed(w, path)
    events = flat(steps)
    assert kinds(events) == [
        EventType.ZONE_ENTER,
        EventType.ZONE_LEAVE,
        EventType.ZONE_ENTER,
        EventType.LOITER,
    ]
    leave, loiter = events[1], events[3]
    assert leave.start == 0.0 and leave.end == 5.0
    assert loiter.start == 6.0 and loiter.time == 11.0


def test_zone_without_loiter_seconds_never_loiters() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE), min_frames=1)
    assert kinds(flat(feed(w, [IN] * 100))) == [EventType.ZONE_ENTER]


def test_zone_labels_filter_out_other_classes() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE, loiter_seconds=1.0, labels=frozenset({"person"})), 1)
    assert flat(feed(w, [OUT, IN, IN, IN, OUT], label="car")) == []
    person = flat(feed(w, [OUT, IN, IN, IN, OUT], id=2))
    assert kinds(person) == [EventType.ZONE_ENTER, EventType.LOITER, EventType.ZONE_LEAVE]
    assert {e.label for e in person} == {"person"}


def test_anchor_center_and_bottom_center_differ() -> None:
    # Bottom-centre at (200, 110): inside the square; centre at (200, 90): above it.
    foot = (200.0, 110.0)
    box = track(foot, 0).box
    assert box.bottom_center == foot and box.center[1] < 100.0

    feet = ZoneWatcher(CAM, Zone("yard", SQUARE, anchor="bottom_center"), min_frames=1)
    middle = ZoneWatcher(CAM, Zone("yard", SQUARE, anchor="center"), min_frames=1)
    assert kinds(flat(feed(feet, [foot, foot]))) == [EventType.ZONE_ENTER]
    assert flat(feed(middle, [foot, foot])) == []
    # Lower the box until its centre is inside too: now the centre zone sees it.
    low = (200.0, 200.0)
    assert kinds(flat(feed(middle, [low, low], t0=2))) == [EventType.ZONE_ENTER]


def test_track_ending_inside_leaves_at_its_last_seen() -> None:
    an = ZoneWatcher(CAM, Zone("yard", SQUARE), min_frames=2)
    events: list[Event] = []
    for t in range(4):
        events += an.update(step([track(IN, float(t))], float(t), []))
    assert kinds(events) == [EventType.ZONE_ENTER]
    # The tracker lost it after t=3 and removes it at t=7.
    ended = track(IN, 3.0, state=TrackState.REMOVED)
    out = an.update(step([], 7.0, [ended]))
    assert kinds(out) == [EventType.ZONE_LEAVE]
    assert out[0].time == 3.0 and out[0].start == 1.0 and out[0].end == 3.0
    assert out[0].track_id == 1 and out[0].attributes == {"zone": "yard"}
    # Ended again (or a later update with the same id ended): nothing more.
    assert an.update(step([], 8.0, [ended])) == []


def test_track_ending_outside_or_unseen_gives_nothing() -> None:
    an = ZoneWatcher(CAM, Zone("yard", SQUARE), min_frames=2)
    for t in range(3):
        an.update(step([track(OUT, float(t))], float(t), []))
    assert an.update(step([], 3.0, [track(OUT, 2.0, state=TrackState.REMOVED)])) == []
    assert an.update(step([], 3.0, [track(IN, 2.0, id=9, state=TrackState.REMOVED)])) == []
    # Only one frame inside (not settled) before ending: no leave either.
    an.update(step([track(OUT, 4.0, id=3)], 4.0, []))
    an.update(step([track(IN, 5.0, id=3)], 5.0, []))
    assert an.update(step([], 6.0, [track(IN, 5.0, id=3, state=TrackState.REMOVED)])) == []


@pytest.mark.parametrize("state", [TrackState.LOST, TrackState.TENTATIVE, TrackState.REMOVED])
def test_unconfirmed_tracks_never_move_a_zone(state: TrackState) -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE, loiter_seconds=1.0), min_frames=1)
    assert flat(feed(w, [OUT, IN, IN, IN, OUT, OUT], state=state)) == []
    # Settled inside by confirmed observations, then a lost box wanders out: no leave.
    assert kinds(flat(feed(w, [IN], id=2))) == [EventType.ZONE_ENTER]
    assert flat(feed(w, [OUT, OUT, OUT], id=2, t0=1.0, state=state)) == []


def test_lost_observations_do_not_count_towards_min_frames() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE), min_frames=2)
    events = w.update(step([track(OUT, 0)], 0))
    events += w.update(step([track(IN, 1)], 1))
    events += w.update(step([track(IN, 2, state=TrackState.LOST)], 2))
    assert events == []
    assert kinds(w.update(step([track(IN, 3)], 3))) == [EventType.ZONE_ENTER]


def test_zone_border_counts_as_inside() -> None:
    w = ZoneWatcher(CAM, Zone("yard", SQUARE))
    assert w.contains((100.0, 200.0)) and w.contains((300.0, 300.0))
    assert not w.contains((99.0, 200.0)) and not w.contains((200.0, 301.0))


def test_zone_polygon_need_not_be_convex() -> None:
    # An L shape: the notch (250, 250) is outside.
    ell = Zone(
        "ell",
        ((0.0, 0.0), (300.0, 0.0), (300.0, 100.0), (100.0, 100.0), (100.0, 300.0), (0.0, 300.0)),
    )
    w = ZoneWatcher(CAM, ell)
    assert w.contains((50.0, 250.0)) and w.contains((250.0, 50.0))
    assert not w.contains((250.0, 250.0))


# --- lines -------------------------------------------------------------------------------------

# Horizontal line across x in [0, 200] at y = 100. Looking from a to b (towards +x) in image
# coordinates (y down), "left" is up the image (smaller y).
HLINE = Line("road", (0.0, 100.0), (200.0, 100.0), in_side="left")
BELOW, BELOW2, ABOVE, ABOVE2 = (100.0, 150.0), (100.0, 140.0), (100.0, 60.0), (100.0, 50.0)


def test_side_convention_in_image_coordinates() -> None:
    c = LineCounter(CAM, HLINE)
    assert c.side((100.0, 50.0)) == "left"
    assert c.side((100.0, 150.0)) == "right"
    assert c.side((100.0, 100.0)) is None
    # A line drawn downwards: looking along +y in an image, "left" is +x.
    down = LineCounter(CAM, Line("v", (100.0, 0.0), (100.0, 200.0)))
    assert down.side((150.0, 50.0)) == "left" and down.side((50.0, 50.0)) == "right"


def test_moving_up_across_a_left_in_line_counts_in() -> None:
    c = LineCounter(CAM, HLINE, min_frames=2)
    steps = feed(c, [BELOW, BELOW2, ABOVE, ABOVE2, ABOVE2])
    assert [kinds(evs) for _, evs in steps] == [[], [], [], [EventType.LINE_CROSS], []]
    (ev,) = flat(steps)
    assert ev.time == 3.0 and ev.track_id == 1 and ev.label == "person"
    assert ev.attributes == {"line": "road", "direction": "in"}
    assert c.counts == {"in": 1, "out": 0}


def test_moving_down_counts_out() -> None:
    c = LineCounter(CAM, HLINE, min_frames=2)
    (ev,) = flat(feed(c, [ABOVE, ABOVE2, BELOW, BELOW2]))
    assert ev.attributes["direction"] == "out"
    assert c.counts == {"in": 0, "out": 1}


def test_in_side_right_swaps_the_directions() -> None:
    c = LineCounter(CAM, Line("road", HLINE.a, HLINE.b, in_side="right"), min_frames=2)
    (ev,) = flat(feed(c, [BELOW, BELOW2, ABOVE, ABOVE2]))
    assert ev.attributes["direction"] == "out"
    (ev,) = flat(feed(c, [ABOVE, ABOVE2, BELOW, BELOW2], id=2))
    assert ev.attributes["direction"] == "in"
    assert c.counts == {"in": 1, "out": 1}


def test_vertical_line_direction() -> None:
    # Line drawn downwards at x = 100: "left" is +x, so moving right goes "in".
    c = LineCounter(CAM, Line("door", (100.0, 0.0), (100.0, 200.0), in_side="left"), min_frames=1)
    (ev,) = flat(feed(c, [(50.0, 100.0), (150.0, 100.0)]))
    assert ev.attributes["direction"] == "in"


def test_passing_beside_the_end_of_the_segment_does_not_count() -> None:
    c = LineCounter(CAM, HLINE, min_frames=2)
    beside = [(300.0, 150.0), (300.0, 140.0), (300.0, 60.0), (300.0, 50.0), (300.0, 40.0)]
    assert flat(feed(c, beside)) == []
    left_of_a = [(-50.0, 50.0), (-50.0, 60.0), (-50.0, 150.0), (-50.0, 160.0)]
    assert flat(feed(c, left_of_a, id=2)) == []
    assert c.counts == {"in": 0, "out": 0}


def test_going_round_the_end_then_back_through_the_segment_counts_once() -> None:
    c = LineCounter(CAM, HLINE, min_frames=1)
    path = [(300.0, 150.0), (300.0, 50.0), (100.0, 50.0), (100.0, 150.0)]
    events = flat(feed(c, path))
    assert [e.attributes["direction"] for e in events] == ["out"]
    assert c.counts == {"in": 0, "out": 1}


def test_crossing_is_judged_where_it_happened_not_where_it_was_confirmed() -> None:
    # Through the segment (x 100 -> 150 at the line), then off beyond its end while the
    # min_frames confirmation comes in: it did cross, and counts.
    c = LineCounter(CAM, HLINE, min_frames=2)
    through_then_away = [BELOW, (100.0, 140.0), (150.0, 60.0), (500.0, 60.0)]
    assert [e.attributes["direction"] for e in flat(feed(c, through_then_away))] == ["in"]
    # Beside the end (x 300), then into the segment's range while confirming: no crossing.
    c = LineCounter(CAM, HLINE, min_frames=2)
    beside_then_over = [(300.0, 150.0), (300.0, 140.0), (300.0, 60.0), (100.0, 60.0)]
    assert flat(feed(c, beside_then_over)) == []
    assert c.counts == {"in": 0, "out": 0}


def test_jitter_on_the_line_counts_nothing() -> None:
    c = LineCounter(CAM, HLINE, min_frames=2)
    jitter = [(100.0, 105.0), (100.0, 95.0)] * 10
    assert flat(feed(c, [BELOW, BELOW2] + jitter)) == []
    assert c.counts == {"in": 0, "out": 0}


def test_crossing_and_coming_back_counts_one_in_and_one_out() -> None:
    c = LineCounter(CAM, HLINE, min_frames=2)
    events = flat(feed(c, [BELOW, BELOW2, ABOVE, ABOVE2, ABOVE, BELOW, BELOW2, BELOW]))
    assert [e.attributes["direction"] for e in events] == ["in", "out"]
    assert c.counts == {"in": 1, "out": 1}


def test_first_sight_on_one_side_is_not_a_crossing() -> None:
    for min_frames in (1, 2, 3):
        c = LineCounter(CAM, HLINE, min_frames=min_frames)
        assert flat(feed(c, [ABOVE] * 5)) == []
        assert c.counts == {"in": 0, "out": 0}


def test_points_exactly_on_the_line_are_skipped() -> None:
    c = LineCounter(CAM, HLINE, min_frames=2)
    on = (100.0, 100.0)
    steps = feed(c, [BELOW, BELOW2, on, on, ABOVE, on, ABOVE2])
    assert [e.attributes["direction"] for e in flat(steps)] == ["in"]
    assert steps[-1][1] and not steps[4][1]  # counted on the second point really above


def test_line_labels_and_anchor() -> None:
    c = LineCounter(CAM, Line("road", HLINE.a, HLINE.b, labels=frozenset({"car"})), min_frames=1)
    assert flat(feed(c, [BELOW, ABOVE])) == []  # a person
    assert len(flat(feed(c, [BELOW, ABOVE], id=2, label="car"))) == 1
    # Centre anchor: the box centre is BH/2 above its foot, so a foot just below the line
    # already has its centre above it.
    mid = LineCounter(CAM, Line("road", HLINE.a, HLINE.b, anchor="center"), min_frames=1)
    feet = LineCounter(CAM, Line("road", HLINE.a, HLINE.b), min_frames=1)
    path = [(100.0, 150.0), (100.0, 110.0)]
    assert len(flat(feed(mid, path))) == 1
    assert flat(feed(feet, path)) == []


@pytest.mark.parametrize("state", [TrackState.LOST, TrackState.TENTATIVE])
def test_unconfirmed_tracks_never_cross(state: TrackState) -> None:
    c = LineCounter(CAM, HLINE, min_frames=2)
    feed(c, [BELOW, BELOW2])
    # The tracker's guess drifts across the line: no count.
    assert flat(feed(c, [ABOVE, ABOVE2, ABOVE2], t0=2.0, state=state)) == []
    # One real observation above is not min_frames yet; the second one is.
    assert flat(feed(c, [ABOVE], t0=5.0)) == []
    assert [e.attributes["direction"] for e in flat(feed(c, [ABOVE2], t0=6.0))] == ["in"]
    assert c.counts == {"in": 1, "out": 0}


def test_ended_track_forgets_its_side() -> None:
    an = LineCounter(CAM, HLINE, min_frames=1)
    an.update(step([track(BELOW, 0.0)], 0.0, []))
    assert an.update(step([], 1.0, [track(BELOW, 0.0, state=TrackState.REMOVED)])) == []
    # The id comes back (a new object) above the line: a first sighting, not a crossing.
    assert an.update(step([track(ABOVE, 2.0)], 2.0, [])) == []
    assert an.counts == {"in": 0, "out": 0}


def test_zones_and_lines_see_the_same_steps() -> None:
    zone = Zone("top", ((0.0, 0.0), (200.0, 0.0), (200.0, 99.0), (0.0, 99.0)))
    analyzers = [ZoneWatcher(CAM, zone, min_frames=2), LineCounter(CAM, HLINE, min_frames=2)]

    def run(s: TrackedFrame) -> list[Event]:
        return [e for a in analyzers for e in a.update(s)]

    events: list[Event] = []
    for t, p in enumerate([BELOW, BELOW2, ABOVE, ABOVE2, ABOVE]):
        events += run(step([track(p, float(t))], float(t), []))
    assert [(e.type, e.time) for e in events] == [
        (EventType.ZONE_ENTER, 3.0),
        (EventType.LINE_CROSS, 3.0),
    ]
    out = run(step([], 6.0, [track(ABOVE, 4.0, state=TrackState.REMOVED)]))
    assert [(e.type, e.time, e.start) for e in out] == [(EventType.ZONE_LEAVE, 4.0, 3.0)]


# --- segments_intersect ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p1", "p2", "q1", "q2", "expected"),
    [
        ((0, 0), (2, 2), (0, 2), (2, 0), True),  # an X
        ((0, 0), (1, 1), (2, 0), (3, -1), False),  # apart
        ((0, 0), (2, 0), (1, 0), (1, 5), True),  # T: an end touches the other's middle
        ((0, 0), (2, 0), (1, 1), (1, 5), False),  # T that stops short
        ((0, 0), (2, 0), (2, 0), (3, 3), True),  # shared end point
        ((0, 0), (2, 0), (1, 0), (3, 0), True),  # collinear, overlapping
        ((0, 0), (1, 0), (2, 0), (3, 0), False),  # collinear, apart
        ((0, 0), (4, 0), (1, 0), (2, 0), True),  # collinear, one inside the other
        ((0, 0), (0, 2), (1, 0), (1, 2), False),  # parallel
        ((0, 0), (2, 2), (3, 3), (5, 0), False),  # would meet on the extension only
        ((1, 1), (1, 1), (0, 0), (2, 2), True),  # a point on a segment
        ((1, 2), (1, 2), (0, 0), (2, 2), False),  # a point off it
        ((1, 1), (1, 1), (1, 1), (1, 1), True),  # the same point
        ((100, 150), (100, 50), (0, 100), (200, 100), True),
        ((300, 150), (300, 50), (0, 100), (200, 100), False),
    ],
)
def test_segments_intersect_cases(
    p1: Point, p2: Point, q1: Point, q2: Point, expected: bool
) -> None:
    assert segments_intersect(p1, p2, q1, q2) is expected


def _reference(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Exact, independent check: is there a point p1 + t r = q1 + u s with t, u in [0, 1]?"""
    P1, P2, Q1, Q2 = (tuple(Fraction(c) for c in pt) for pt in (p1, p2, q1, q2))

    def sub(a: tuple, b: tuple) -> tuple:
        return (a[0] - b[0], a[1] - b[1])

    def cross(a: tuple, b: tuple) -> Fraction:
        return a[0] * b[1] - a[1] * b[0]

    def dot(a: tuple, b: tuple) -> Fraction:
        return a[0] * b[0] + a[1] * b[1]

    r, s, qp = sub(P2, P1), sub(Q2, Q1), sub(Q1, P1)
    denom = cross(r, s)
    if denom != 0:
        t, u = cross(qp, s) / denom, cross(qp, r) / denom
        return 0 <= t <= 1 and 0 <= u <= 1
    if r == (0, 0) and s == (0, 0):
        return P1 == Q1
    if r == (0, 0):  # p is a point: on segment q?
        return cross(s, sub(P1, Q1)) == 0 and 0 <= dot(sub(P1, Q1), s) <= dot(s, s)
    if cross(qp, r) != 0:  # parallel, not on one line
        return False
    # On one line: do the parameter intervals overlap?
    t0, t1 = dot(qp, r) / dot(r, r), dot(sub(Q2, P1), r) / dot(r, r)
    return max(min(t0, t1), 0) <= min(max(t0, t1), 1)


# Small integer coordinates: exact in floating point, and touching / collinear cases are common.
coord = st.integers(-6, 6).map(float)
point = st.tuples(coord, coord)


@given(point, point, point, point)
def test_segments_intersect_matches_an_exact_reference(
    p1: Point, p2: Point, q1: Point, q2: Point
) -> None:
    assert segments_intersect(p1, p2, q1, q2) == _reference(p1, p2, q1, q2)


@given(point, point, point, point)
def test_segments_intersect_is_symmetric(p1: Point, p2: Point, q1: Point, q2: Point) -> None:
    got = segments_intersect(p1, p2, q1, q2)
    assert segments_intersect(q1, q2, p1, p2) == got
    assert segments_intersect(p2, p1, q1, q2) == got
    assert segments_intersect(p1, p2, q2, q1) == got
    assert segments_intersect(q2, q1, p2, p1) == got
