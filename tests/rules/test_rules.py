"""Alert rules: strict config, matching, alerts stored and pushed, reviews recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from vigil.bus import LocalBus
from vigil.config import parse_config
from vigil.domain import Box, Camera, Event, EventType
from vigil.errors import ConfigError
from vigil.rules.engine import AlertService, RuleEngine
from vigil.store.alerts import AlertConflict, AlertError, Alerts
from vigil.store.db import Store

CAMERAS = """
cameras:
  - id: lobby
    source: a.mp4
    zones:
      - name: table
        polygon: [[0, 0], [1, 0], [1, 1]]
        loiter_seconds: 8
      - name: door
        polygon: [[0, 0], [1, 0], [1, 1]]
  - id: park
    source: b.mp4
    lines:
      - name: middle
        a: [0, 0.5]
        b: [1, 0.5]
"""


def config(rules: str) -> Any:
    return parse_config(CAMERAS + "rules:\n" + rules, "vigil.yml")


def test_valid_rules_load() -> None:
    cfg = config(
        """
  - name: loiter at table
    camera: lobby
    event: loiter
    zone: table
    labels: [person]
  - name: inbound
    camera: park
    event: line_cross
    line: middle
    direction: in
  - name: any door entry
    event: zone_enter
    zone: door
"""
    )
    assert [r.name for r in cfg.rules] == ["loiter at table", "inbound", "any door entry"]
    assert cfg.rules[1].direction == "in"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            "  - {name: r, camera: nowhere, event: object}\n",
            "rule 'r' names camera 'nowhere', which is not configured; cameras: lobby, park",
        ),
        (
            "  - {name: r, camera: lobby, event: zone_enter, zone: bar}\n",
            "rule 'r' names zone 'bar', which is not on camera 'lobby'; zones: door, table",
        ),
        (
            "  - {name: r, camera: lobby, event: line_cross, line: middle}\n",
            "rule 'r' names line 'middle', which is not on camera 'lobby'; lines: none",
        ),
        (
            "  - {name: r, event: loiter, zone: door}\n",
            "zone 'door' has no loiter_seconds",
        ),
        ("  - {name: r, event: loiter}\n", "a loiter rule needs 'zone'"),
        ("  - {name: r, event: object, zone: door}\n", "'zone' only applies to"),
        (
            "  - {name: r, event: zone_enter, zone: door, direction: in}\n",
            "'line' and 'direction' only apply to line_cross rules",
        ),
        ("  - {name: r, event: line_cross, direction: up}\n", "direction"),
        ("  - {name: r, event: blaze}\n", "event"),
        ("  - {name: r, event: object, colour: red}\n", "unknown key 'colour'"),
        (
            "  - {name: r, event: object}\n  - {name: r, event: loiter, zone: table}\n",
            "rule names must be unique; repeated: r",
        ),
    ],
)
def test_bad_rules_are_config_errors_naming_the_problem(rules: str, message: str) -> None:
    with pytest.raises(ConfigError, match="vigil.yml") as err:
        config(rules)
    assert message in str(err.value)


def _event(kind: EventType, camera: str = "lobby", label: str = "person", **attrs: Any) -> Event:
    return Event(kind, camera, 10.0, 3, label, Box(1, 2, 3, 4), 0.8, attributes=attrs)


def test_matching_by_type_camera_zone_line_direction_labels() -> None:
    cfg = config(
        """
  - {name: table loiter, camera: lobby, event: loiter, zone: table, labels: [person]}
  - {name: inbound, camera: park, event: line_cross, line: middle, direction: in}
  - {name: door, event: zone_enter, zone: door}
"""
    )
    engine = RuleEngine(cfg.rules)

    def names(event: Event) -> list[str]:
        return [r.name for r in engine.matching(event)]

    assert names(_event(EventType.LOITER, zone="table")) == ["table loiter"]
    assert names(_event(EventType.LOITER, label="dog", zone="table")) == []
    assert names(_event(EventType.ZONE_ENTER, zone="table")) == []
    assert names(_event(EventType.ZONE_ENTER, zone="door")) == ["door"]
    assert names(_event(EventType.LINE_CROSS, "park", "car", line="middle", direction="in")) == [
        "inbound"
    ]
    assert names(_event(EventType.LINE_CROSS, "park", "car", line="middle", direction="out")) == []
    assert names(_event(EventType.LINE_CROSS, "lobby", "car", line="middle", direction="in")) == []


def test_zone_event_raises_stored_and_published_alert_then_review(tmp_path: Path) -> None:
    cfg = config("  - {name: door entry, camera: lobby, event: zone_enter, zone: door}\n")
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    store.save_camera(Camera("lobby", "Lobby", "a.mp4"))

    async def main() -> list[dict]:
        bus = LocalBus()
        sub = bus.subscribe(["alert"])
        service = AlertService(Alerts(store), bus, RuleEngine(cfg.rules))
        entering = _event(EventType.ZONE_ENTER, zone="door")
        other = _event(EventType.ZONE_LEAVE, zone="door")
        rows = store.save_results(
            "lobby", 1_700_000_000.0, [], [entering, other], ["s/x.jpg", None]
        )
        (alert,) = service.raise_for(zip([entering, other], rows, strict=True))
        assert (alert.rule, alert.status, alert.event_id, alert.snapshot) == (
            "door entry",
            "candidate",
            rows[0].id,
            "s/x.jpg",
        )
        assert alert.time == rows[0].time
        with pytest.raises(AlertError, match="needs a reason"):
            service.review(alert.id, "dismissed", "olga", None)
        reviewed = service.review(alert.id, "acknowledged", "olga", "sent a guard")
        assert (reviewed.reviewed_by, reviewed.reason) == ("olga", "sent a guard")
        with pytest.raises(AlertConflict):
            service.review(alert.id, "dismissed", "pete", "changed my mind")
        return [await sub.get(timeout=1), await sub.get(timeout=1)]  # type: ignore[list-item]

    raised, reviewed = asyncio.run(main())
    assert raised["topic"] == "alert" and raised["status"] == "candidate"
    assert raised["camera"] == "lobby" and raised["rule"] == "door entry"
    assert raised["snapshot_url"] == f"/api/alerts/{raised['id']}/snapshot.jpg"
    assert reviewed["status"] == "acknowledged" and reviewed["reviewed_by"] == "olga"
    assert reviewed["reviewed_at"] is not None
    store.close()


def test_an_appear_rule_raises_as_soon_as_the_object_is_confirmed() -> None:
    """e.g. intrusion: a person anywhere on the park camera raises an alert at once."""
    cfg = config("  - {name: person in park, camera: park, event: appear, labels: [person]}\n")
    engine = RuleEngine(cfg.rules)
    assert [r.name for r in engine.matching(_event(EventType.APPEAR, "park"))] == ["person in park"]
    assert engine.matching(_event(EventType.APPEAR, "park", "car")) == []
    assert engine.matching(_event(EventType.OBJECT, "park")) == []
    with pytest.raises(ConfigError) as err:
        config("  - {name: bad, event: appear, zone: table}\n")
    assert "'zone' only applies to" in str(err.value)
