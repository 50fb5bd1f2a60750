"""vigil.yml: the whole configuration, validated strictly (a typo is an error, with its line).

Coordinates of zones, lines and motion masks are fractions of the image (0 to 1 from the
top-left corner), so a configuration survives a change of stream resolution.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import SplitResult, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vigil import domain
from vigil.errors import ConfigError

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
RelPoint = tuple[Fraction, Fraction]
# The point of a box that must be inside a zone / across a line: the feet in a side view,
# the middle in a top-down view.
Anchor = Literal["bottom_center", "center"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    motion_masks: list[list[RelPoint]] = Field(default_factory=list)
    zones: list[ZoneConfig] = Field(default_factory=list)
    lines: list[LineConfig] = Field(default_factory=list)

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


class DetectorConfig(Strict):
    """Which detector finds objects. "motion" finds anything that moves (no classes), for views
    the object model does not know (e.g. straight down from a mast)."""

    kind: Literal["yolov3-tiny", "onnx", "darknet", "motion"] = "yolov3-tiny"
    path: str | None = Field(None, description="model file for kind onnx (or darknet weights)")
    cfg: str | None = Field(None, description="darknet .cfg for kind darknet")
    # Low: weak detections keep known tracks alive (objects.min_score decides what starts one).
    score_threshold: float = Field(0.1, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _path_when_needed(self) -> DetectorConfig:
        if self.kind in ("onnx", "darknet") and not self.path:
            raise ValueError(f"detector kind '{self.kind}' needs 'path' (the model file)")
        if self.kind == "darknet" and not self.cfg:
            raise ValueError("detector kind 'darknet' needs 'cfg' (the .cfg file)")
        return self


class TrackerConfig(Strict):
    lost_timeout: float = Field(4.0, gt=0.0, le=600.0, description="seconds a lost object is kept")
    min_crossing_frames: int = Field(
        2, ge=1, le=30, description="detections on the new side before a line crossing counts"
    )


RuleEvent = Literal["appear", "zone_enter", "zone_leave", "line_cross", "loiter", "object"]


class RuleConfig(Strict):
    """An alert rule: which events (type, camera, zone or line, direction, labels) raise one."""

    name: str = Field(pattern=r"^[A-Za-z0-9_. -]{1,100}$")
    camera: str | None = Field(None, description="camera id; omit for every camera")
    event: RuleEvent
    zone: str | None = Field(None, description="for zone_enter, zone_leave and loiter")
    line: str | None = Field(None, description="for line_cross")
    direction: Literal["in", "out"] | None = Field(None, description="for line_cross")
    labels: list[str] | None = Field(None, min_length=1, description="omit for every label")

    @model_validator(mode="after")
    def _fields_fit_the_event(self) -> RuleConfig:
        zone_events = ("zone_enter", "zone_leave", "loiter")
        if self.zone is not None and self.event not in zone_events:
            raise ValueError(f"'zone' only applies to {', '.join(zone_events)} rules")
        if self.event == "loiter" and self.zone is None:
            raise ValueError("a loiter rule needs 'zone' (the zone with loiter_seconds)")
        if self.event != "line_cross" and (self.line is not None or self.direction is not None):
            raise ValueError("'line' and 'direction' only apply to line_cross rules")
        return self


AUDIT_MIN_DAYS = 183  # EU AI Act Art. 26(6): deployers keep the logs at least six months


class RetentionConfig(Strict):
    """How many days each class of data is kept; the purge job deletes what is older."""

    snapshots: int = Field(30, ge=1, le=36500, description="days snapshot pictures are kept")
    events: int = Field(90, ge=1, le=36500, description="days events and tracks are kept")
    alerts: int = Field(
        365, ge=1, le=36500, description="days reviewed alerts are kept (candidates wait)"
    )
    audit: int = Field(365, ge=1, le=36500, description="days audit rows are kept (>= 183)")

    @field_validator("audit")
    @classmethod
    def _audit_six_months(cls, days: int) -> int:
        if days < AUDIT_MIN_DAYS:
            raise ValueError(
                f"audit logs must be kept at least {AUDIT_MIN_DAYS} days (six months, "
                f"EU AI Act Art. 26(6)); set retention.audit to {AUDIT_MIN_DAYS} or more"
            )
        return days


class AuditConfig(Strict):
    """When audit rows reach the disk (every row is committed before the data is shown)."""

    durability: Literal["batched", "each_row"] = Field(
        "batched",
        description="batched: flushed to disk within sync_interval_s (a power cut can lose at "
        "most that much of the tail, a crash of Vigil nothing); each_row: flushed before "
        "each request is answered (slower)",
    )
    sync_interval_s: float = Field(
        1.0, gt=0, le=60, description="longest time a batched audit row waits for the disk"
    )
    anchors_to_log: bool = Field(
        True,
        description="also print each anchor of the chain's head to the server's log output, "
        "so a copy lives outside the database and data directory (vigil audit verify --anchors)",
    )


def _tile_server(template: str) -> SplitResult:
    """The parts of a tile URL template ({z}/{x}/{y} are not valid URL characters)."""
    return urlsplit(template.replace("{", "").replace("}", ""))


class MapConfig(Strict):
    """The command centre's base map. Without `tiles` it is an offline coordinate grid and the
    browser asks no third party for anything."""

    tiles: str | None = Field(
        None,
        description="tile URL template with {z}, {x} and {y}, e.g. "
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png; operators' browsers fetch tiles from "
        "there, which tells that server their address and where the map looks",
    )
    attribution: str = Field("", max_length=300, description="credit shown on the map (HTML)")
    max_native_zoom: int = Field(19, ge=0, le=24, description="deepest zoom the tiles have")

    @field_validator("tiles")
    @classmethod
    def _template(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = _tile_server(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError(f"map tiles '{url}' must be an http(s) URL")
        missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
        if missing:
            raise ValueError(f"map tiles '{url}' must contain {', '.join(missing)}")
        return url

    @property
    def tile_origin(self) -> str | None:
        """scheme://host[:port] of the tiles (allowed by the pages' content security policy)."""
        if self.tiles is None:
            return None
        parts = _tile_server(self.tiles)
        return f"{parts.scheme}://{parts.netloc}"


class VigilConfig(Strict):
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    objects: ObjectFilterConfig = Field(default_factory=ObjectFilterConfig)
    motion: MotionConfig = Field(default_factory=MotionConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    cameras: list[CameraConfig] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    map: MapConfig = Field(default_factory=MapConfig)

    @model_validator(mode="after")
    def _unique_camera_ids(self) -> VigilConfig:
        ids = [c.id for c in self.cameras]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"camera ids must be unique; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _rules_name_what_exists(self) -> VigilConfig:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dupes)}")
        for rule in self.rules:
            _check_rule(rule, self.cameras)
        return self

    def camera(self, camera_id: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        known = ", ".join(c.id for c in self.cameras) or "none"
        raise ConfigError(f"no camera '{camera_id}' in the configuration; cameras: {known}")

    def detector_for(self, cam: CameraConfig) -> DetectorConfig:
        return cam.detector or self.detector

    def motion_for(self, cam: CameraConfig) -> MotionConfig:
        return cam.motion or self.motion

    def objects_for(self, cam: CameraConfig) -> ObjectFilterConfig:
        return cam.objects or self.objects


def _check_rule(rule: RuleConfig, cameras: list[CameraConfig]) -> None:
    """The camera, zone and line a rule names must exist (on that camera, or on some camera)."""
    where = f"rule '{rule.name}'"
    scope = cameras
    if rule.camera is not None:
        scope = [c for c in cameras if c.id == rule.camera]
        if not scope:
            known = ", ".join(c.id for c in cameras) or "none"
            raise ValueError(
                f"{where} names camera '{rule.camera}', which is not configured; cameras: {known}"
            )
    on = f"camera '{rule.camera}'" if rule.camera else "any camera"
    if rule.zone is not None:
        zones = [z for c in scope for z in c.zones if z.name == rule.zone]
        if not zones:
            known = ", ".join(sorted({z.name for c in scope for z in c.zones})) or "none"
            raise ValueError(
                f"{where} names zone '{rule.zone}', which is not on {on}; zones: {known}"
            )
        if rule.event == "loiter" and not any(z.loiter_seconds for z in zones):
            raise ValueError(
                f"{where}: zone '{rule.zone}' has no loiter_seconds, so it never "
                "raises loiter events; set loiter_seconds on the zone"
            )
    if rule.line is not None:
        lines = [ln for c in scope for ln in c.lines if ln.name == rule.line]
        if not lines:
            known = ", ".join(sorted({ln.name for c in scope for ln in c.lines})) or "none"
            raise ValueError(
                f"{where} names line '{rule.line}', which is not on {on}; lines: {known}"
            )


def load_config(path: str | Path) -> VigilConfig:
    """Read and validate a vigil.yml; every problem becomes a ConfigError naming its line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file '{p}' does not exist; check the path given to --config"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"config file '{p}' cannot be read ({exc}); it must be a UTF-8 YAML file"
        ) from None
    return parse_config(text, str(p))


def parse_config(text: str, name: str = "vigil.yml") -> VigilConfig:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{name}{where}: not valid YAML ({problem}); fix the syntax there"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{name}: the top level must be a mapping of sections (cameras:, detector:, ...)"
        )
    try:
        return VigilConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err, root, name) for err in exc.errors()]
        raise ConfigError("; ".join(problems)) from None


def _describe(err: Any, root: yaml.Node | None, name: str) -> str:
    loc = tuple(err["loc"])
    path = ".".join(str(p) for p in loc) or "(top level)"
    # An unknown key is pointed at by its own line, not by its value's (a block below it).
    line = _line_of(root, loc, at_key=err["type"] == "extra_forbidden")
    where = f"{name} line {line}" if line else name
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f"allowed keys here: {', '.join(allowed)}" if allowed else "remove it"
        return f"{where}: unknown key '{loc[-1]}' at {path}; {hint}"
    if err["type"] == "missing":
        return f"{where}: {path} is required but missing; add it"
    msg = err["msg"].removeprefix("Value error, ")
    given = err.get("input")
    shown = f" (got {given!r})" if not isinstance(given, dict | list) and given is not None else ""
    return f"{where}: {path}: {msg}{shown}"


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...], at_key: bool = False) -> int | None:
    """The 1-based line of the deepest YAML node on the error's path (of its key if `at_key`)."""
    node, line = root, None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    nxt, line = v, k.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        node = nxt
    if node is not None and not at_key:
        line = node.start_mark.line + 1
    return line


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found by walking `loc` from VigilConfig."""
    current: Any = VigilConfig
    for key in loc:
        current = _unwrap(current)
        if isinstance(key, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif (
            isinstance(current, type)
            and issubclass(current, BaseModel)
            and key in current.model_fields
        ):
            # Not model_fields[key].annotation: a field declared before its model's class
            # (CameraConfig.detector) keeps an unresolved ForwardRef there.
            current = typing.get_type_hints(current)[key]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """X | None -> X."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp
