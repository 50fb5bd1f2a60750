"""A live camera on the map: its tracks and events placed (its frames' telemetry, else its
`ground:` section), a moving camera's path kept (a point a second, in camera_positions) and
its view published on the bus (topic `view`: where it is and the ground quadrilateral it
sees, at most twice a second) for the live map's footprint."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from vigil.bus import Bus, Topic
from vigil.config import CameraConfig
from vigil.domain import Frame
from vigil.ingest.clips import Clips
from vigil.ingest.geotag import FixedPlacer, FrameView, GeoTagger, MovingPlacer
from vigil.store.db import Store

PUBLISH_EVERY_S = 0.5
PATH_EVERY_S = 1.0


@dataclass
class LivePlacer:
    """A frame with telemetry through the moving camera's pose; one without through the
    camera's ground map, if it has one."""

    moving: MovingPlacer = field(default_factory=MovingPlacer)
    fixed: FixedPlacer | None = None

    @property
    def problem(self) -> str | None:
        return self.moving.problem

    def view(self, frame: Frame) -> FrameView | None:
        if frame.telemetry is not None:
            return self.moving.view(frame)
        return self.fixed.view(frame) if self.fixed is not None else None


def view_message(camera_id: str, frame: Frame, view: FrameView) -> dict[str, object] | None:
    """The bus message of a moving camera's view (None for a fixed camera's)."""
    if view.position is None:
        return None
    corners = None
    if view.footprint is not None:
        corners = [list(c) if c is not None else None for c in view.footprint]
    return {
        "topic": str(Topic.VIEW),
        "camera": camera_id,
        "time": frame.wallclock or time.time(),
        "lat": view.position[0],
        "lon": view.position[1],
        "alt": view.alt,
        "heading": view.heading,
        "footprint": corners,
    }


def camera_tagger(camera: CameraConfig, *, path_every: float | None = PATH_EVERY_S) -> GeoTagger:
    """A camera's tagger: frames with telemetry through their pose (its `mount:` filling in),
    others through its `ground:` map; nothing placed for a camera with neither."""
    fixed = FixedPlacer(camera.ground.ground_map()) if camera.ground else None
    mount = camera.mount
    moving = MovingPlacer(
        hfov=mount.hfov, height=mount.height, ground_alt=mount.ground_alt
    ) if mount is not None else MovingPlacer()  # fmt: skip
    return GeoTagger(LivePlacer(moving, fixed), path_every=path_every)


class LiveGeo:
    """One live camera's placing (see the module's note)."""

    def __init__(self, camera: CameraConfig, store: Store, bus: Bus | None) -> None:
        self.camera, self.bus = camera, bus
        self.clips = Clips(store)
        self.geo: GeoTagger | None = None
        self.origin = 0.0
        self._published = -1e9

    def start(self, origin: float) -> GeoTagger:
        """A new stream: a fresh tagger (tracks start again)."""
        self.geo = camera_tagger(self.camera)
        self.origin = origin
        return self.geo

    def after(self, frame: Frame | None) -> None:
        """After the frame was stored: its view onto the bus, the path into the store."""
        geo = self.geo
        if geo is None:
            return
        points = geo.take_path()
        if points:
            self.clips.add_path(None, self.camera.id, self.origin, points)
        if frame is None or self.bus is None or frame.timestamp - self._published < PUBLISH_EVERY_S:
            return
        view = geo.last_view
        message = view_message(self.camera.id, frame, view) if view is not None else None
        if message is not None:
            self._published = frame.timestamp
            self.bus.publish(message)
