"""Placing cameras by measured cost (no Ray needed: the rule on its own)."""

from __future__ import annotations

import pytest

from vigil.pipeline.cluster.placement import NoRoom, Placement


def two_nodes(asks: float = 0.5) -> Placement:
    p = Placement(asks)
    p.add_node("a", 2.0)
    p.add_node("b", 2.0)
    return p


def test_equal_cameras_spread_over_equal_nodes() -> None:
    p = two_nodes()
    nodes = [p.place(f"cam{i}") for i in range(4)]
    assert sorted(nodes) == ["a", "a", "b", "b"]


def test_a_measured_heavy_camera_is_balanced_by_light_ones() -> None:
    p = two_nodes()
    heavy = p.place("heavy")
    p.measured("heavy", 1.2)  # cores it was seen to use
    for i in range(3):
        p.place(f"light{i}")
        p.measured(f"light{i}", 0.2)
    other = "b" if heavy == "a" else "a"
    assert p.node_of("light0") == other and p.node_of("light1") == other
    # 1.2 against 0.4: the next one goes to the lighter node too
    assert p.loads() == {heavy: 1.2, other: 0.6}


def test_a_nodes_capacity_counts_the_cpus_each_actor_asks() -> None:
    p = Placement(1.0)
    p.add_node("small", 1.0)
    p.add_node("big", 4.0)
    assert [p.place(f"c{i}") for i in range(5)].count("small") == 1
    with pytest.raises(NoRoom, match="lower runner.camera_cpus"):
        p.place("one-too-many")


def test_a_lost_node_gives_back_its_cameras_and_they_move() -> None:
    p = two_nodes()
    for i in range(4):
        p.place(f"cam{i}")
    moved = p.remove_node("b")
    assert len(moved) == 2
    for cam in moved:
        assert p.place(cam) == "a"
    assert p.loads() == {"a": 2.0}


def test_a_suspect_node_is_avoided_while_others_have_room() -> None:
    p = two_nodes(asks=1.0)
    p.place("x")  # on a
    assert p.place("y", avoid=frozenset({"b"})) == "a"
    # nowhere else left: the suspect node is used rather than none
    assert p.place("z", avoid=frozenset({"b"})) == "b"


def test_a_restarted_camera_keeps_its_measured_cost() -> None:
    p = two_nodes()
    p.place("cam")
    p.measured("cam", 0.9)
    p.release("cam")
    p.place("cam")
    assert sorted(p.loads().values()) == [0.0, 0.9]


def test_a_dead_actors_own_error_is_what_the_camera_shows() -> None:
    from vigil.pipeline.cluster.supervisor import cause_of

    wrapped = RuntimeError(
        "The actor died because of an error raised in its creation task, "
        'ray::CameraHost.__init__()\nTraceback (most recent call last):\n  File "x", line 1\n'
        "vigil.errors.ModelError: the model file /m.onnx does not exist; check detector.path"
    )
    assert cause_of(wrapped) == (
        "vigil.errors.ModelError: the model file /m.onnx does not exist; check detector.path"
    )
    assert cause_of(ValueError("no named error inside")) == "ValueError"
