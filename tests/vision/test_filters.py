from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.domain import Box, Detection
from vigil.vision.filters import ObjectFilter


def det(label: str, score: float, w: float, h: float) -> Detection:
    return Detection(Box(10, 10, w, h), label, score)


PERSON_BIG = det("person", 0.9, 50, 100)  # area 5000
PERSON_WEAK = det("person", 0.3, 50, 100)
PERSON_TINY = det("person", 0.9, 5, 10)  # area 50
CAR = det("car", 0.6, 100, 50)  # area 5000
CAT = det("cat", 0.5, 20, 20)  # area 400
ALL = [PERSON_BIG, PERSON_WEAK, PERSON_TINY, CAR, CAT]


def test_default_filter_keeps_everything_in_order() -> None:
    assert ObjectFilter().apply(ALL) == ALL


def test_label_whitelist() -> None:
    assert ObjectFilter(labels={"car", "cat"}).apply(ALL) == [CAR, CAT]


def test_min_score_and_area_bounds() -> None:
    assert ObjectFilter(min_score=0.5).apply(ALL) == [PERSON_BIG, PERSON_TINY, CAR, CAT]
    assert ObjectFilter(min_area=400).apply(ALL) == [PERSON_BIG, PERSON_WEAK, CAR, CAT]
    assert ObjectFilter(min_area=100, max_area=1000).apply(ALL) == [CAT]


def test_per_label_thresholds_replace_the_global_ones_for_that_label_only() -> None:
    f = ObjectFilter(min_score=0.55, min_area=100, per_label={"person": (0.2, 1000)})
    assert f.apply(ALL) == [PERSON_BIG, PERSON_WEAK, CAR]  # cat 0.5 < 0.55; tiny person < 1000
    assert f.thresholds("person") == (0.2, 1000)
    assert f.thresholds("car") == (0.55, 100)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_score": 1.5},
        {"min_area": -1},
        {"min_area": 10, "max_area": 5},
        {"per_label": {"car": (-0.1, 0)}},
    ],
)
def test_impossible_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ObjectFilter(**kwargs)


LABELS = ["person", "car", "cat", "dog"]
detections = st.builds(
    det,
    st.sampled_from(LABELS),
    st.floats(0, 1),
    st.floats(0, 500),
    st.floats(0, 500),
)
filters = st.builds(
    lambda labels, score, lo, span, per_label: ObjectFilter(
        labels=labels,
        min_score=score,
        min_area=lo,
        max_area=None if span is None else lo + span,
        per_label=per_label,
    ),
    st.none() | st.sets(st.sampled_from(LABELS)),
    st.floats(0, 1),
    st.floats(0, 50_000),
    st.none() | st.floats(0, 250_000),
    st.dictionaries(st.sampled_from(LABELS), st.tuples(st.floats(0, 1), st.floats(0, 50_000))),
)


@given(filters, st.lists(detections, max_size=30))
def test_filter_never_returns_a_violation_and_never_drops_a_match(
    f: ObjectFilter, items: list[Detection]
) -> None:
    kept = f.apply(items)
    for d in kept:
        min_score, min_area = f.per_label.get(d.label, (f.min_score, f.min_area))
        assert f.labels is None or d.label in f.labels
        assert d.score >= min_score and d.box.area >= min_area
        assert f.max_area is None or d.box.area <= f.max_area
    dropped = [d for d in items if d not in kept]
    for d in dropped:
        min_score, min_area = f.per_label.get(d.label, (f.min_score, f.min_area))
        assert (
            (f.labels is not None and d.label not in f.labels)
            or d.score < min_score
            or d.box.area < min_area
            or (f.max_area is not None and d.box.area > f.max_area)
        )
    # Kept items stay in their original order.
    assert kept == [d for d in items if d in kept]
