"""A ring of frame slots in shared memory: the hand-off from a decoder process to the analysis.

The decoder writes each picture into a free slot and tells the consumer only the slot number;
the consumer takes the newest ready slot, works on it in place (no copy, no pickling) and
gives it back. A small cross-process lock guards the slot states (never the pixels), so the
decoder never overwrites a slot the consumer holds; when the consumer falls behind, the
decoder reuses the oldest unread slot (a live camera drops frames rather than lag).

Layout: a header of one record per slot (state, shape, frame index, timestamps), then the
slots, each `capacity` bytes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

FREE, WRITING, READY, HELD = 0, 1, 2, 3
_HEADER = np.dtype(
    [
        ("state", "<i4"),
        ("height", "<i4"),
        ("width", "<i4"),
        ("_pad", "<i4"),
        ("seq", "<i8"),
        ("index", "<i8"),
        ("timestamp", "<f8"),
        ("wallclock", "<f8"),
    ]
)
_ALIGN = 64
LOCK_TIMEOUT = 2.0  # a peer that died inside the lock must not hang the other side for good


class RingError(RuntimeError):
    """The ring's lock could not be taken: the other side died holding it."""


@dataclass(frozen=True, slots=True)
class SlotInfo:
    slot: int
    seq: int
    index: int
    timestamp: float
    wallclock: float
    height: int
    width: int


def _header_size(slots: int) -> int:
    raw = slots * _HEADER.itemsize
    return (raw + _ALIGN - 1) // _ALIGN * _ALIGN


def ring_size(slots: int, capacity: int) -> int:
    return _header_size(slots) + slots * capacity


class FrameRing:
    """One camera's ring. `create` in the decoder, `attach` in the consumer, same `lock`."""

    def __init__(self, shm: SharedMemory, slots: int, capacity: int, lock: Any) -> None:
        if slots < 3:
            raise ValueError("a ring needs at least 3 slots (one held, one written, one ready)")
        self.shm = shm
        self.name = shm.name
        self.slots = slots
        self.capacity = capacity
        self._lock = lock
        self._header: np.ndarray | None = np.ndarray(
            (slots,), dtype=_HEADER, buffer=shm.buf, offset=0
        )
        self._data_offset = _header_size(slots)
        self._seq = 0
        self.dropped = 0  # frames overwritten before the consumer took them

    @classmethod
    def create(cls, name: str, slots: int, capacity: int, lock: Any) -> FrameRing:
        if slots < 3:
            raise ValueError("a ring needs at least 3 slots (one held, one written, one ready)")
        shm = SharedMemory(name=name, create=True, size=ring_size(slots, capacity))
        ring = cls(shm, slots, capacity, lock)
        ring.header[:] = np.zeros(slots, dtype=_HEADER)
        return ring

    @classmethod
    def attach(cls, name: str, slots: int, capacity: int, lock: Any) -> FrameRing:
        return cls(SharedMemory(name=name), slots, capacity, lock)

    @property
    def header(self) -> np.ndarray:
        if self._header is None:
            raise ValueError("the ring is closed")
        return self._header

    def _acquire(self) -> None:
        if not self._lock.acquire(timeout=LOCK_TIMEOUT):
            raise RingError(f"ring {self.name}: lock not released for {LOCK_TIMEOUT:g} s")

    # -- the decoder's side -----------------------------------------------------------------

    def write(self, image: np.ndarray, index: int, timestamp: float, wallclock: float) -> int:
        """Copy `image` (uint8, HxWx3, at most `capacity` bytes) into a slot; returns it."""
        if image.nbytes > self.capacity:
            raise ValueError(f"a {image.shape} frame does not fit a {self.capacity}-byte slot")
        header = self.header
        self._acquire()
        try:
            free = np.flatnonzero(header["state"] == FREE)
            if free.size:
                slot = int(free[0])
            else:
                ready = np.flatnonzero(header["state"] == READY)
                slot = int(ready[np.argmin(header["seq"][ready])])  # the oldest unread frame
                self.dropped += 1
            header["state"][slot] = WRITING
        finally:
            self._lock.release()
        self.view(slot, image.shape[0], image.shape[1])[...] = image
        self._acquire()
        try:
            self._seq += 1
            record = header[slot]
            record["height"], record["width"] = image.shape[0], image.shape[1]
            record["seq"], record["index"] = self._seq, index
            record["timestamp"], record["wallclock"] = timestamp, wallclock
            record["state"] = READY
        finally:
            self._lock.release()
        return slot

    # -- the consumer's side ----------------------------------------------------------------

    def take_latest(self) -> SlotInfo | None:
        """Hold the newest ready slot (older unread ones are released: they are stale)."""
        header = self.header
        self._acquire()
        try:
            ready = np.flatnonzero(header["state"] == READY)
            if not ready.size:
                return None
            slot = int(ready[np.argmax(header["seq"][ready])])
            for stale in ready:
                if int(stale) != slot:
                    header["state"][stale] = FREE
                    self.dropped += 1
            header["state"][slot] = HELD
            r = header[slot]
            return SlotInfo(
                slot,
                int(r["seq"]),
                int(r["index"]),
                float(r["timestamp"]),
                float(r["wallclock"]),
                int(r["height"]),
                int(r["width"]),
            )
        finally:
            self._lock.release()

    def release(self, slot: int) -> None:
        self._acquire()
        try:
            self.header["state"][slot] = FREE
        finally:
            self._lock.release()

    def view(self, slot: int, height: int, width: int) -> np.ndarray:
        """The slot's pixels in place: valid while the slot is held (consumer) or written."""
        if self._header is None:
            raise ValueError("the ring is closed")
        offset = self._data_offset + slot * self.capacity
        return np.ndarray((height, width, 3), dtype=np.uint8, buffer=self.shm.buf, offset=offset)

    def close(self) -> None:
        """Let go of the mapping (every view of it must be gone); the segment stays."""
        self._header = None
        with contextlib.suppress(BufferError):
            self.shm.close()

    def unlink(self) -> None:
        """Remove the segment from the system (the owner does this once, at the end)."""
        with contextlib.suppress(FileNotFoundError):
            self.shm.unlink()


def unlink_segment(name: str) -> None:
    """Remove a segment by name if it exists (one a dead decoder may have left behind)."""
    try:
        shm = SharedMemory(name=name)
    except FileNotFoundError:
        return
    with contextlib.suppress(BufferError):
        shm.close()
    with contextlib.suppress(FileNotFoundError):
        shm.unlink()
