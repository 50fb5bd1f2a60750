"""A camera's section of vigil.yml, and the detection and tracking settings it may override."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vigil import domain
from vigil.analyzers.registry import AnalyzerConfig
from vigil.config.onvif import OnvifConfig
from vigil.geo.bearing import ViewConfig
from vigil.geo.earth import haversine_m
from vigil.geo.fixed import MAX_SPREAD_M, GroundReferenceConfig
from vigil.ingest.mount import MountConfig
from vigil.sections import Anchor, RelPoint, Strict
from vigil.vision.registry import DetectorConfig


class ObjectFilterConfig(Strict):
    """Which detections count: labels, minimum score and minimum box area."""

    labels: list[str] = Field(
        min_length=1,
        default_factory=lambda: ["person", "car", "truck", "bus", "motorbike", "bicycle"],
    )
    min_score: float = Field(0.4, ge=0.0, le=1.0)
    min_area: float = Field(0.0005, ge=0.0, le=1.0, description="fraction of the image area")


class DetectConfig(Strict):
    fps: float = Field(5.0, gt=0.0, le=60.0, description="most detector runs per second")
    size: int = Field(416, ge=128, le=1280, multiple_of=32, description="detector input side")
    still_recheck: float = Field(
        1.0, gt=0.0, le=60.0, description="seconds between re-checks of objects that stand still"
    )


class MotionConfig(Strict):
    enabled: bool = True
    width: int = Field(192, ge=64, le=640, description="width of the grey image motion is found on")
    threshold: int = Field(20, ge=1, le=255, description="grey-level change that counts as motion")
    min_area: float = Field(0.0015, ge=0.0, le=1.0, description="fraction of the image")
    learning_rate: float = Field(0.02, gt=0.0, le=1.0)


class TrackerConfig(Strict):
    lost_timeout: float = Field(4.0, gt=0.0, le=600.0, description="seconds a lost object is kept")
    min_crossing_frames: int = Field(
        2, ge=1, le=30, description="detections on the new side before a line crossing counts"
    )
    motion_compensation: Literal["auto", "on", "off"] = Field(
        "auto",
        description="move tracks with the picture of a moving camera (global motion between "
        "frames); auto: on when the source carries telemetry or is a body camera's or drone's clip",
    )

    @field_validator("motion_compensation", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: object) -> object:
        # YAML reads a bare on / off as true / false.
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


class ZoneConfig(Strict):
    name: str = Field(min_length=1)
    polygon: list[RelPoint] = Field(min_length=3)
    loiter_seconds: float | None = Field(None, gt=0.0)
    labels: list[str] | None = Field(None, min_length=1, description="omit for every label")
    anchor: Anchor = "bottom_center"


class LineConfig(Strict):
    name: str = Field(min_length=1)
    a: RelPoint
    b: RelPoint
    in_side: Literal["left", "right"] = Field(
        "left", description="side (looking from a to b) an object moves to when it goes in"
    )
    labels: list[str] | None = Field(None, min_length=1, description="omit for every label")
    anchor: Anchor = "bottom_center"

    @model_validator(mode="after")
    def _distinct_ends(self) -> LineConfig:
        if tuple(self.a) == tuple(self.b):
            raise ValueError("a and b must be different points")
        return self


class RecordingConfig(Strict):
    """What a camera's recorder keeps (vigil.recording): its own stream remuxed into short
    fragmented-MP4 segments, no re-encoding."""

    mode: domain.RecordingMode = domain.RecordingMode.OFF
    segment_s: float = Field(10.0, ge=2.0, le=600.0, description="seconds per segment file")
    pre_roll_s: float = Field(
        5.0, ge=0.0, le=120.0, description="events mode: seconds kept before an event"
    )
    post_roll_s: float = Field(
        10.0, ge=0.0, le=600.0, description="events mode: seconds kept after the last event"
    )
    quota_mb: float | None = Field(
        None, gt=0.0, description="disk kept for this camera; oldest unlocked footage goes first"
    )


class CameraConfig(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str = ""
    source: str = Field(min_length=1, description="file path, rtsp:// or http(s):// URL")
    loop: bool = Field(
        False, description="a file source starts again at its end (a demo 'live' camera)"
    )
    lat: float | None = Field(None, ge=-90.0, le=90.0)
    lon: float | None = Field(None, ge=-180.0, le=180.0)
    detect: DetectConfig = Field(default_factory=DetectConfig)
    detector: DetectorConfig | None = None
    motion: MotionConfig | None = None
    objects: ObjectFilterConfig | None = None
    tracker: TrackerConfig | None = None
    motion_masks: list[list[RelPoint]] = Field(default_factory=list)
    zones: list[ZoneConfig] = Field(default_factory=list)
    lines: list[LineConfig] = Field(default_factory=list)
    analyzers: list[AnalyzerConfig] = Field(
        default_factory=list, description="more analyzers of this camera's tracks (by kind)"
    )
    recording: RecordingConfig = Field(default_factory=RecordingConfig)
    ground: GroundReferenceConfig | None = Field(
        None, description="image points with their lat/lon: tracks placed on the map"
    )
    view: ViewConfig | None = Field(
        None, description="a fixed watch camera's pan, field of view and tilt: fire bearings"
    )
    mount: MountConfig | None = Field(
        None, description="a moving camera's lens and height, where its telemetry lacks them"
    )
    onvif: OnvifConfig | None = Field(
        None, description="the camera's ONVIF service: its motion and tamper events"
    )

    @field_validator("motion_masks")
    @classmethod
    def _masks_are_polygons(cls, masks: list[list[RelPoint]]) -> list[list[RelPoint]]:
        for mask in masks:
            if len(mask) < 3:
                raise ValueError("a motion mask needs at least 3 points")
        return masks

    @model_validator(mode="after")
    def _unique_names(self) -> CameraConfig:
        for kind, items in (("zone", self.zones), ("line", self.lines)):
            names = [i.name for i in items]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(
                    f"{kind} names must be unique on a camera; repeated: {', '.join(dupes)}"
                )
        return self

    @model_validator(mode="after")
    def _ground_near_camera(self) -> CameraConfig:
        if self.ground is not None and self.lat is not None and self.lon is not None:
            km = haversine_m((self.lat, self.lon), self.ground.centre()) / 1000
            if km > MAX_SPREAD_M / 1000:
                raise ValueError(
                    f"the ground points lie {km:.1f} km from the camera's lat/lon; a camera sees "
                    "ground near it: check the points' and the camera's coordinates"
                )
        return self

    @model_validator(mode="after")
    def _view_has_a_place(self) -> CameraConfig:
        if self.view is not None and (self.lat is None or self.lon is None):
            raise ValueError(
                "a camera's view: gives bearings from where the camera stands; give the "
                "camera's lat and lon too"
            )
        return self

    @property
    def blurs_faces(self) -> bool:
        """Whether pictures kept of this camera have their faces blurred: so on a camera
        that looks for faces (a `faces` analyzer), where only matches may keep a face."""
        return any(a.kind == "faces" for a in self.analyzers)

    def to_camera(self) -> domain.Camera:
        return domain.Camera(self.id, self.name or self.id, self.source, self.lat, self.lon)

    def zones_px(self, width: int, height: int) -> list[domain.Zone]:
        return [
            domain.Zone(
                z.name,
                tuple((x * width, y * height) for x, y in z.polygon),
                z.loiter_seconds,
                frozenset(z.labels) if z.labels else None,
                z.anchor,
            )
            for z in self.zones
        ]

    def lines_px(self, width: int, height: int) -> list[domain.Line]:
        return [
            domain.Line(
                ln.name,
                (ln.a[0] * width, ln.a[1] * height),
                (ln.b[0] * width, ln.b[1] * height),
                ln.in_side,
                frozenset(ln.labels) if ln.labels else None,
                ln.anchor,
            )
            for ln in self.lines
        ]
