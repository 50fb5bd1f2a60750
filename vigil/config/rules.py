"""Alert rules in vigil.yml: which events (type, camera, zone or line, direction, labels)
raise a candidate alert. The event types come from the vocabulary (`domain.EventType`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeVar

from pydantic import Field, model_validator

from vigil.config.camera import CameraConfig
from vigil.domain import EventType, events_about
from vigil.sections import Strict

T = TypeVar("T")


class RuleConfig(Strict):
    """An alert rule: which events (type, camera, zone or line, direction, labels) raise one."""

    name: str = Field(pattern=r"^[A-Za-z0-9_. -]{1,100}$")
    camera: str | None = Field(None, description="camera id; omit for every camera")
    event: EventType
    zone: str | None = Field(None, description="for events in a zone (enter, leave, loiter)")
    line: str | None = Field(None, description="for line_cross")
    direction: Literal["in", "out"] | None = Field(None, description="for line_cross")
    labels: list[str] | None = Field(None, min_length=1, description="omit for every label")

    @model_validator(mode="after")
    def _fields_fit_the_event(self) -> RuleConfig:
        zone_events = ", ".join(events_about("zone"))
        line_events = ", ".join(events_about("line"))
        place = self.event.info.place
        if self.zone is not None and place != "zone":
            raise ValueError(f"'zone' only applies to {zone_events} rules")
        if self.event == EventType.LOITER and self.zone is None:
            raise ValueError("a loiter rule needs 'zone' (the zone with loiter_seconds)")
        if place != "line" and (self.line is not None or self.direction is not None):
            raise ValueError(f"'line' and 'direction' only apply to {line_events} rules")
        return self


def check_rule(rule: RuleConfig, cameras: Sequence[CameraConfig]) -> None:
    """The camera, zone and line a rule names must exist (on that camera, or on some camera)."""
    where = f"rule '{rule.name}'"
    scope = list(cameras)
    if rule.camera is not None:
        scope = [c for c in cameras if c.id == rule.camera]
        if not scope:
            known = ", ".join(c.id for c in cameras) or "none"
            raise ValueError(
                f"{where} names camera '{rule.camera}', which is not configured; cameras: {known}"
            )
    on = f"camera '{rule.camera}'" if rule.camera else "any camera"
    if rule.zone is not None:
        zones = _named(where, "zone", rule.zone, [(z.name, z) for c in scope for z in c.zones], on)
        if rule.event == EventType.LOITER and not any(z.loiter_seconds for z in zones):
            raise ValueError(
                f"{where}: zone '{rule.zone}' has no loiter_seconds, so it never "
                "raises loiter events; set loiter_seconds on the zone"
            )
    if rule.line is not None:
        _named(where, "line", rule.line, [(ln.name, ln) for c in scope for ln in c.lines], on)


def _named(where: str, kind: str, name: str, known: list[tuple[str, T]], on: str) -> list[T]:
    """The places (zones or lines of the rule's cameras) called `name`; a ValueError that
    lists the names there are when there is none."""
    found = [place for place_name, place in known if place_name == name]
    if not found:
        names = ", ".join(sorted({n for n, _ in known})) or "none"
        raise ValueError(f"{where} names {kind} '{name}', which is not on {on}; {kind}s: {names}")
    return found
