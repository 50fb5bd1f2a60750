"""The camera directory: what the web app may know of the running cameras.

The API never reaches into a camera worker: it asks a `CameraDirectory` for health, counters,
the newest picture and the tracks on it. `LocalDirectory` answers from the cameras of this
process (`vigil serve`, `vigil demo`); `vigil.bus.remote.RemoteDirectory` answers over NATS
from `vigil worker` processes elsewhere; `NoCameras` serves a web app without cameras.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from vigil.domain import Box, Track, TrackState
from vigil.pipeline.health import CameraStatus

if TYPE_CHECKING:
    from vigil.pipeline.live import LiveRunner


@dataclass(frozen=True, slots=True)
class LivePicture:
    """A camera's newest analysed picture as JPEG (boxes drawn or not)."""

    camera_id: str
    seq: int  # grows with every analysed frame
    wallclock: float  # UNIX time the frame was captured
    width: int
    height: int
    jpeg: bytes


@dataclass(frozen=True, slots=True)
class LiveTracks:
    """The objects tracked on a camera's newest analysed picture."""

    camera_id: str
    seq: int
    wallclock: float
    width: int
    height: int
    tracks: tuple[Track, ...]
    counts: Mapping[str, Mapping[str, int]]  # counting line -> direction -> count

    def to_json(self) -> dict[str, Any]:
        return {
            "camera": self.camera_id,
            "seq": self.seq,
            "wallclock": self.wallclock,
            "width": self.width,
            "height": self.height,
            "tracks": [
                {
                    "id": t.id,
                    "label": t.label,
                    "state": str(t.state),
                    "score": t.score,
                    "box": t.box.as_list(),
                    "first_seen": t.first_seen,
                    "last_seen": t.last_seen,
                }
                for t in self.tracks
            ],
            "counts": {k: dict(v) for k, v in self.counts.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LiveTracks:
        tracks = tuple(
            Track(
                int(t["id"]),
                str(t["label"]),
                Box(*t["box"]),
                float(t["score"]),
                TrackState(t["state"]),
                float(t["first_seen"]),
                float(t["last_seen"]),
            )
            for t in data["tracks"]
        )
        return cls(
            str(data["camera"]),
            int(data["seq"]),
            float(data["wallclock"]),
            int(data["width"]),
            int(data["height"]),
            tracks,
            {k: dict(v) for k, v in data["counts"].items()},
        )


@dataclass(frozen=True, slots=True)
class CameraCounters:
    """What a camera produced since its worker started (for the metrics endpoint)."""

    events: Mapping[str, int] = field(default_factory=dict)  # event type -> count
    alerts: int = 0


class CameraDirectory(Protocol):
    @property
    def live(self) -> bool:
        """Whether cameras run for this directory at all (False: stored data only)."""

    def statuses(self) -> dict[str, CameraStatus]:
        """Health of every camera known to run (by camera id)."""

    def counters(self) -> dict[str, CameraCounters]: ...

    def picture(self, camera_id: str, boxes: bool, known_seq: int = -1) -> LivePicture | None:
        """The newest picture; None if there is none, or if it is the one numbered
        `known_seq` (a stream asks for the next picture; a restarted worker counts anew)."""

    def tracks(self, camera_id: str) -> LiveTracks | None: ...


class NoCameras:
    """A web app that runs no cameras and hears of none: stored data only."""

    live = False

    def statuses(self) -> dict[str, CameraStatus]:
        return {}

    def counters(self) -> dict[str, CameraCounters]:
        return {}

    def picture(self, camera_id: str, boxes: bool, known_seq: int = -1) -> LivePicture | None:
        return None

    def tracks(self, camera_id: str) -> LiveTracks | None:
        return None


class LocalDirectory:
    """The cameras of this process's live runner."""

    live = True

    def __init__(self, runner: LiveRunner) -> None:
        self._runner = runner

    def statuses(self) -> dict[str, CameraStatus]:
        return self._runner.status()

    def counters(self) -> dict[str, CameraCounters]:
        return {cid: w.counters() for cid, w in self._runner.workers.items()}

    def picture(self, camera_id: str, boxes: bool, known_seq: int = -1) -> LivePicture | None:
        worker = self._runner.worker(camera_id)
        return None if worker is None else worker.view.picture(boxes, known_seq)

    def tracks(self, camera_id: str) -> LiveTracks | None:
        worker = self._runner.worker(camera_id)
        return None if worker is None else worker.view.tracks()
