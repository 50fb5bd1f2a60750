"""The Analyzer seam: one step of a camera's tracks in, events out.

An analyzer keeps its per-track state inside and has one verb, `update(step)`. A step is
what the tracker made of one frame: the tracks it holds, the tracks that ended, the time
and (when there is one) the frame itself, for analyzers that look at pixels (plates, faces).
Only tracks matched on this step (state CONFIRMED) should move an analyzer: a lost track's
box is a guess, and a guess must not cross a line or break a speed limit.

A kind of analyzer that is configured per camera (`analyzers:` in a camera's section) is one
module with its config section (an `AnalyzerSettings` subclass with `kind: Literal[...]`
whose `build()` makes the analyzer) and one line in `vigil.analyzers.registry.KINDS`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vigil.domain import Event, EventType, Frame, Point, Track, TrackState
from vigil.sections import Strict

if TYPE_CHECKING:
    from vigil.config.camera import CameraConfig
    from vigil.store.db import Store


@dataclass(frozen=True, slots=True)
class TrackedFrame:
    """What an analyzer sees of one step of a camera's pipeline."""

    camera_id: str
    time: float  # media time of the step, seconds
    tracks: Sequence[Track]  # every track the tracker holds after this step
    ended: Sequence[Track] = ()  # tracks that ended on this step (for good)
    # The picture; None at the end of the source. Live, it lies in shared memory that is
    # reused after the step: an analyzer copies what it keeps of it.
    frame: Frame | None = None


@runtime_checkable
class Analyzer(Protocol):
    def update(self, step: TrackedFrame) -> list[Event]:
        """The events this step raises."""


@runtime_checkable
class Counting(Protocol):
    """An analyzer that keeps counts to show on the picture (a counting line)."""

    @property
    def name(self) -> str: ...

    @property
    def counts(self) -> Mapping[str, int]: ...


class AnalyzerSettings(Strict):
    """An analyzer's entry in a camera's `analyzers:` list. Subclasses narrow `kind`."""

    kind: str

    def build(
        self,
        camera: CameraConfig,
        frame_size: tuple[int, int],
        services: AnalyzerServices | None = None,
    ) -> Analyzer:
        """The analyzer for this camera, whose frames have `frame_size` (width, height);
        `services` holds what the runner offers (the database) to analyzers that need it."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class AnalyzerServices:
    """What a runner hands to analyzers beyond frames: the store (the faces analyzer reads
    the watchlists in force from it). A runner without one passes None."""

    store: Store | None = None


def matched(step: TrackedFrame, labels: frozenset[str] | None) -> Iterator[Track]:
    """The step's tracks that were matched on it (CONFIRMED), of the wanted labels."""
    for track in step.tracks:
        if track.state == TrackState.CONFIRMED and (labels is None or track.label in labels):
            yield track


def track_event(
    kind: EventType,
    camera_id: str,
    time: float,
    track: Track,
    *,
    start: float | None = None,
    end: float | None = None,
    **attributes: object,
) -> Event:
    """An event about one track, where it is now."""
    return Event(
        kind,
        camera_id,
        time,
        track.id,
        track.label,
        track.box,
        track.score,
        start=start,
        end=end,
        attributes=attributes,
    )


@dataclass
class Streak:
    """A settled value that changes only after `min_frames` agreeing observations (the jitter
    guard of zones and lines)."""

    settled: object = None
    candidate: object = None
    count: int = 0
    last_settled_point: Point | None = None
    first_candidate_point: Point | None = None

    def observe(self, value: object, point: Point, min_frames: int) -> bool:
        """Returns True when the settled value changed to `value` on this observation."""
        if value == self.settled:
            self.candidate, self.count = None, 0
            self.last_settled_point = point
            return False
        if value != self.candidate:
            self.candidate, self.count, self.first_candidate_point = value, 0, point
        self.count += 1
        if self.count >= min_frames:
            self.settled, self.candidate, self.count = value, None, 0
            self.last_settled_point = point
            return True
        return False
