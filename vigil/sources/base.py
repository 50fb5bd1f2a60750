"""The Source seam: anything that yields Frames for one camera."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from vigil.domain import CameraHealth, Frame


@runtime_checkable
class Source(Protocol):
    camera_id: str

    @property
    def fps(self) -> float | None:
        """Nominal frame rate, when the source knows it."""

    @property
    def total_frames(self) -> int | None:
        """Number of frames for a finite source (a file), else None."""

    def frames(self) -> Iterator[Frame]:
        """Yield frames in order until the source ends (files) or close() is called."""

    def health(self) -> CameraHealth:
        """Connection state right now."""

    def close(self) -> None:
        """Stop reading and release the connection; frames() then returns."""
