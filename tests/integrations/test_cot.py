"""What Vigil writes as Cursor-on-Target (only what a field unit may see) and how vigil.yml's
`tak:` section is checked."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vigil.config import CameraConfig, VigilConfig, parse_config
from vigil.config.integrations import TakConfig
from vigil.errors import ConfigError
from vigil.integrations import cot

NOW = time.time()
CAM = CameraConfig(id="gate", name="Main gate", source="rtsp://u:pw@10.0.0.9/g", lat=52.0, lon=4.3)
TAK = TakConfig(url="tcp://127.0.0.1:8087", public_url="https://vigil.example.org/")


def iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat()


def alert(**kw: Any) -> dict[str, Any]:
    base = {
        "id": 7, "rule": "gate entry", "camera": "gate", "type": "zone_enter",
        "time": iso(NOW - 60), "status": "candidate", "attributes": {}, "snapshot_url": None,
    }  # fmt: skip
    return {**base, **kw}


def xml(out: cot.Outgoing | None) -> ET.Element:
    assert out is not None
    return ET.fromstring(out.xml)


def test_a_face_match_is_told_only_once_confirmed_and_never_whom_it_matched() -> None:
    face = alert(
        type="face_match", rule="watchlist:stadium",
        attributes={"watchlist": "stadium", "entry": "Jane Doe", "entry_id": 3, "distance": 0.3719},
        snapshot_url="/api/alerts/7/snapshot.jpg",
    )  # fmt: skip
    assert cot.alert_event(face, CAM, TAK, NOW, 3600) is None  # a candidate
    assert cot.alert_event({**face, "status": "dismissed"}, CAM, TAK, NOW, 3600) is None
    cfg = TAK.model_copy(update={"snapshots": True, "plates": True})
    confirmed = cot.alert_event({**face, "status": "acknowledged"}, CAM, cfg, NOW, 3600)
    event = xml(confirmed)
    assert event.get("type") == "b-a-o-tbl" and event.get("uid") == "vigil-alert-7"
    text = confirmed.xml.decode() if confirmed else ""
    # Not the distance either (a digit string no timestamp in the message can hold by chance).
    assert "Jane" not in text and "entry" not in text and "0.3719" not in text
    assert "Face match" in text


def test_plates_and_snapshots_only_as_configured() -> None:
    read = alert(type="plate_read", attributes={"read": "AB123CD", "entry": {"reason": "x"}},
                 snapshot_url="/api/alerts/7/snapshot.jpg")  # fmt: skip
    plain = cot.alert_event(read, CAM, TAK, NOW, 3600)
    assert plain is not None and b"AB123CD" not in plain.xml and b"snapshot" not in plain.xml
    links = [e.get("url") for e in xml(plain).iter("link")]
    assert links == ["https://vigil.example.org/?alert=7"]
    told = cot.alert_event(read, CAM, TAK.model_copy(update={"plates": True, "snapshots": True}),
                           NOW, 3600)  # fmt: skip
    assert told is not None and b"plate AB123CD" in told.xml
    assert "https://vigil.example.org/api/alerts/7/snapshot.jpg" in [
        e.get("url") for e in xml(told).iter("link")
    ]
    assert b"reason" not in told.xml  # the hotlist entry's reason stays in Vigil


def test_a_dismissed_alert_is_withdrawn_an_old_or_unplaced_one_is_not_sent() -> None:
    gone = xml(cot.alert_event(alert(status="dismissed"), CAM, TAK, NOW, 3600))
    assert gone.get("type") == "b-a-o-can" and gone.get("stale") == gone.get("time")
    assert cot.alert_event(alert(time=iso(NOW - 7200)), CAM, TAK, NOW, 3600) is None
    nowhere = CAM.model_copy(update={"lat": None, "lon": None})
    assert cot.alert_event(alert(), nowhere, TAK, NOW, 3600) is None


def unit(**kw: Any) -> dict[str, Any]:
    position = {"lat": 52.01, "lon": 4.36, "accuracy_m": 6.0, "heading": 90.0,
                "time": iso(NOW - 5), "source": "app"}  # fmt: skip
    base = {"id": 3, "callsign": "ALPHA-1", "kind": "drone", "status": "available",
            "user": "anna", "tak_uid": None, "position": position}  # fmt: skip
    return {**base, **kw}


def test_units_as_friendly_units_and_what_is_not_sent() -> None:
    cfg = TAK.model_copy(update={"callsign_prefix": "V "})
    event = xml(cot.unit_event(unit(), cfg, NOW, 12.5))
    assert event.get("type") == "a-f-A" and event.get("uid") == "vigil-unit-3"
    assert event.find("detail/contact").get("callsign") == "V ALPHA-1"  # type: ignore[union-attr]
    assert event.find("detail/__group").get("name") == "Cyan"  # type: ignore[union-attr]
    track = event.find("detail/track")
    assert track is not None and (track.get("course"), track.get("speed")) == ("90.0", "12.50")
    assert b"anna" not in (cot.unit_event(unit(), cfg, NOW) or cot.Outgoing("unit", "", b"")).xml
    assert cot.unit_event(unit(tak_uid="ANDROID-1"), cfg, NOW) is None  # TAK has it already
    assert cot.unit_event(unit(position=None), cfg, NOW) is None
    old = {**unit()["position"], "time": iso(NOW - 3600)}
    assert cot.unit_event(unit(position=old), cfg, NOW) is None
    off = xml(cot.unit_event(unit(status="off_duty"), cfg, NOW))
    assert off.get("stale") == off.get("time")  # withdrawn


def test_incidents_and_cameras_link_to_vigil_and_never_to_a_camera_source() -> None:
    record = {"id": 4, "title": "Fight", "type": "assault", "state": "dispatched",
              "lat": 52.0, "lon": 4.3, "units": [{"callsign": "ALPHA-1"}]}  # fmt: skip
    event = xml(cot.incident_event(record, TAK, NOW))
    assert event.get("type") == "b-a-o-opn" and event.get("uid") == "vigil-incident-4"
    assert event.find("detail/link").get("url") == "https://vigil.example.org/?incident=4"  # type: ignore[union-attr]
    assert "ALPHA-1" in (event.findtext("detail/remarks") or "")
    closed = xml(cot.incident_event({**record, "state": "resolved"}, TAK, NOW))
    assert closed.get("type") == "b-a-o-can"
    assert cot.incident_event({**record, "lat": None}, TAK, NOW) is None
    camera = cot.camera_event(CAM, TAK, NOW)
    assert camera is not None and b"pw@" not in camera.xml and b"10.0.0.9" not in camera.xml
    assert xml(camera).find("detail/__video").get("url") == "https://vigil.example.org/?camera=gate"  # type: ignore[union-attr]
    quiet = cot.camera_event(CAM, TAK.model_copy(update={"public_url": None}), NOW)
    assert quiet is not None and b"url=" not in quiet.xml  # no public_url: no links


@pytest.mark.parametrize(
    ("tak", "problem"),
    [
        ({"url": "http://tak:8087"}, "must look like tcp://host:8087"),
        ({"url": "tcp://tak"}, "must look like tcp://host:8087"),
        ({"url": "tcp://user:pw@tak:8087"}, "no user, path, query"),
        ({"url": "tls://tak:8089"}, "needs cert"),
        ({"url": "tcp://tak:8087", "ca": "/etc/ca.pem"}, "are for a tls:// url"),
        ({"url": "tcp://tak:8087", "public_url": "https://u:p@vigil"}, "no user name, password"),
        ({"url": "tcp://tak:8087", "team": "Pink"}, "is not one of White"),
        ({"url": "tcp://tak:8087", "reconnect_min_s": 5, "reconnect_max_s": 1}, "reconnect_max"),
        ({"url": "tcp://tak:8087", "snapshot": True}, "snapshot"),
    ],
)
def test_a_bad_tak_section_is_one_clear_error(tak: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config(_yaml(tak))


def _yaml(tak: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump({"tak": tak})


def test_tls_needs_files_that_exist(tmp_path: Path) -> None:
    pem = tmp_path / "vigil.pem"
    pem.write_text("x")
    ok = parse_config(_yaml({"url": "tls://tak:8089", "cert": str(pem), "key": str(pem),
                             "ca": str(pem)}))  # fmt: skip
    assert ok.tak is not None and ok.tak.tls and ok.tak.server == "tak:8089"
    with pytest.raises(ConfigError, match="does not exist"):
        parse_config(_yaml({"url": "tls://tak:8089", "cert": str(pem), "key": "/no/key.pem",
                            "ca": str(pem)}))  # fmt: skip
    assert VigilConfig().tak is None  # off unless configured
