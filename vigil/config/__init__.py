"""vigil.yml: the whole configuration, validated strictly (a typo is an error, with its line).

Coordinates of zones, lines and motion masks are fractions of the image (0 to 1 from the
top-left corner), so a configuration survives a change of stream resolution.

The sections live in their own modules (camera, rules, service) and each plug-in owns its
section class: detector backends in `vigil.vision` (chosen by `kind` through
`vigil.vision.registry`), analyzers in `vigil.analyzers` (through `vigil.analyzers.registry`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from vigil.config.camera import (
    CameraConfig,
    DetectConfig,
    LineConfig,
    MotionConfig,
    ObjectFilterConfig,
    RecordingConfig,
    TrackerConfig,
    ZoneConfig,
)
from vigil.config.integrations import TakConfig
from vigil.config.loader import load_config as _load
from vigil.config.loader import parse_config as _parse
from vigil.config.mqtt import MqttConfig
from vigil.config.rules import RuleConfig, check_rule
from vigil.config.runner import RunnerConfig
from vigil.config.service import (
    AUDIT_MIN_DAYS,
    AuditConfig,
    BusConfig,
    FieldConfig,
    MapConfig,
    RetentionConfig,
    ServerConfig,
)
from vigil.config.webhooks import WebhookConfig
from vigil.errors import ConfigError
from vigil.sections import Anchor, Fraction, RelPoint, Strict
from vigil.vision.base import DetectorSettings
from vigil.vision.registry import DetectorConfig, detector_settings

__all__ = [
    "AUDIT_MIN_DAYS",
    "Anchor",
    "AuditConfig",
    "BusConfig",
    "CameraConfig",
    "DetectConfig",
    "DetectorConfig",
    "DetectorSettings",
    "Fraction",
    "LineConfig",
    "MapConfig",
    "MotionConfig",
    "MqttConfig",
    "ObjectFilterConfig",
    "RecordingConfig",
    "RelPoint",
    "RetentionConfig",
    "RuleConfig",
    "RunnerConfig",
    "FieldConfig",
    "ServerConfig",
    "Strict",
    "TakConfig",
    "TrackerConfig",
    "VigilConfig",
    "ZoneConfig",
    "load_config",
    "parse_config",
]


class VigilConfig(Strict):
    detector: DetectorConfig = Field(default_factory=detector_settings)
    objects: ObjectFilterConfig = Field(default_factory=ObjectFilterConfig)
    motion: MotionConfig = Field(default_factory=MotionConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    cameras: list[CameraConfig] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    map: MapConfig = Field(default_factory=MapConfig)
    bus: BusConfig = Field(default_factory=BusConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    field: FieldConfig = Field(default_factory=FieldConfig)
    tak: TakConfig | None = None  # a TAK server to join (vigil.integrations.tak); none: off
    webhooks: list[WebhookConfig] = Field(default_factory=list)  # signed POSTs; none: off
    mqtt: MqttConfig | None = None  # an MQTT broker (vigil.integrations.mqtt); none: off
    runner: RunnerConfig = Field(default_factory=RunnerConfig)  # in-process, or on Ray

    @model_validator(mode="after")
    def _unique_camera_ids(self) -> VigilConfig:
        ids = [c.id for c in self.cameras]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"camera ids must be unique; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _webhooks_name_what_exists(self) -> VigilConfig:
        names = [w.name for w in self.webhooks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"webhook names must be unique; repeated: {', '.join(dupes)}")
        rules = {r.name for r in self.rules}
        for hook in self.webhooks:
            unknown = sorted(set(hook.rules or []) - rules)
            if unknown:
                raise ValueError(
                    f"webhook '{hook.name}' names no rule {', '.join(unknown)}; rules: "
                    f"{', '.join(sorted(rules)) or 'none'}"
                )
        return self

    @model_validator(mode="after")
    def _rules_name_what_exists(self) -> VigilConfig:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dupes)}")
        for rule in self.rules:
            check_rule(rule, self.cameras)
        return self

    def camera(self, camera_id: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        known = ", ".join(c.id for c in self.cameras) or "none"
        raise ConfigError(f"no camera '{camera_id}' in the configuration; cameras: {known}")

    def detector_for(self, cam: CameraConfig) -> DetectorSettings:
        return cam.detector or self.detector

    def motion_for(self, cam: CameraConfig) -> MotionConfig:
        return cam.motion or self.motion

    def objects_for(self, cam: CameraConfig) -> ObjectFilterConfig:
        return cam.objects or self.objects

    def tracker_for(self, cam: CameraConfig) -> TrackerConfig:
        return cam.tracker or self.tracker


def load_config(path: str | Path) -> VigilConfig:
    """Read and validate a vigil.yml; every problem becomes a ConfigError naming its line."""
    config: VigilConfig = _load(path, VigilConfig)
    return config


def parse_config(text: str, name: str = "vigil.yml") -> VigilConfig:
    config: VigilConfig = _parse(text, name, VigilConfig)
    return config
