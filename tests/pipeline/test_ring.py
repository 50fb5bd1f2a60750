"""The shared-memory frame ring: newest-frame hand-off, held slots never overwritten."""

from __future__ import annotations

import multiprocessing
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vigil.pipeline.ring import FrameRing, unlink_segment

CTX = multiprocessing.get_context("spawn")


def _name() -> str:
    return f"vigil-test-{os.getpid()}-{secrets.token_hex(3)}"


def _image(value: int, shape: tuple[int, int] = (4, 6)) -> np.ndarray:
    return np.full((*shape, 3), value, np.uint8)


def test_newest_frame_is_taken_and_stale_ones_released() -> None:
    name = _name()
    ring = FrameRing.create(name, 4, 4 * 6 * 3, CTX.Lock())
    try:
        for i in range(3):
            ring.write(_image(i), index=i, timestamp=i / 10, wallclock=100.0 + i)
        info = ring.take_latest()
        assert info is not None and (info.index, info.timestamp, info.wallclock) == (2, 0.2, 102.0)
        assert ring.view(info.slot, info.height, info.width).max() == 2
        assert ring.dropped == 2
        assert ring.take_latest() is None  # nothing new
        ring.release(info.slot)
    finally:
        ring.close()
        ring.unlink()
    assert not Path(f"/dev/shm/{name}").exists()


def test_a_held_slot_is_never_overwritten_while_the_writer_races_ahead() -> None:
    name = _name()
    lock = CTX.Lock()
    ring = FrameRing.create(name, 3, 4 * 6 * 3, lock)
    try:
        ring.write(_image(7), 0, 0.0, 0.0)
        held = ring.take_latest()
        assert held is not None
        for i in range(1, 50):  # the consumer is "slow": it holds slot `held` all along
            slot = ring.write(_image(i % 250), i, i / 10, 0.0)
            assert slot != held.slot
        assert int(ring.view(held.slot, 4, 6).max()) == 7
        ring.release(held.slot)
        newest = ring.take_latest()
        assert newest is not None and newest.index == 49
        ring.release(newest.slot)
    finally:
        ring.close()
        ring.unlink()


def _writer(name: str, lock: Any, count: int) -> None:
    ring = FrameRing.attach(name, 4, 8 * 8 * 3, lock)
    for i in range(count):
        ring.write(np.full((8, 8, 3), i % 256, np.uint8), i, float(i), 0.0)
    ring.close()


def test_frames_cross_a_process_boundary_intact() -> None:
    name = _name()
    lock = CTX.Lock()
    ring = FrameRing.create(name, 4, 8 * 8 * 3, lock)
    try:
        proc = CTX.Process(target=_writer, args=(name, lock, 300))
        proc.start()
        seen = []
        while proc.is_alive() or seen[-1:] != [299]:
            info = ring.take_latest()
            if info is None:
                if not proc.is_alive() and ring.take_latest() is None:
                    break
                continue
            pixels = ring.view(info.slot, info.height, info.width)
            # Every pixel of a slot comes from the same frame: no torn reads.
            assert pixels.min() == pixels.max() == info.index % 256
            seen.append(info.index)
            ring.release(info.slot)
        proc.join(10)
        assert proc.exitcode == 0
        assert seen == sorted(seen) and seen[-1] == 299
    finally:
        ring.close()
        ring.unlink()


def test_too_big_frame_and_too_few_slots_are_refused() -> None:
    name = _name()
    with pytest.raises(ValueError, match="at least 3 slots"):
        FrameRing.create(name, 2, 10, CTX.Lock())
    assert not Path(f"/dev/shm/{name}").exists()
    ring = FrameRing.create(name, 3, 10, CTX.Lock())
    try:
        with pytest.raises(ValueError, match="does not fit"):
            ring.write(_image(1), 0, 0.0, 0.0)
    finally:
        ring.close()
        ring.unlink()
    unlink_segment(name)  # already gone: no error
    assert not Path(f"/dev/shm/{name}").exists()
