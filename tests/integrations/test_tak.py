"""Vigil on a real TAK server (taky on 127.0.0.1): a TAK user's position becomes a unit,
what Vigil opens reaches the TAK user as CoT, Vigil rides out the server going away, and
what it sent is counted in the transparency report and in Prometheus."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from sqlalchemy import func, select

from tests.integrations.takyserver import Atak, Taky, make_certificates, need_taky, wait_until
from tests.sources.conftest import free_port
from vigil.api.deps import AppState, state_of
from vigil.audit.report import transparency_report
from vigil.config import VigilConfig
from vigil.domain import Alert, AlertStatus, EventType, Position, UnitKind
from vigil.integrations.tak import STATE_KEY, TakLink
from vigil.server import VigilServer
from vigil.store.alerts import Alerts
from vigil.store.tables import PositionRow, UnitRow

GATE = (52.0116, 4.3571)
PUBLIC = "https://vigil.example.org"
SECRET = "s3cret-pass"  # in the camera's source address: it must never reach TAK


def vigil_config(url: str, **tak: Any) -> VigilConfig:
    return VigilConfig.model_validate(
        {
            "cameras": [
                {
                    "id": "gate",
                    "name": "Main gate",
                    "source": f"rtsp://viewer:{SECRET}@10.0.0.9/gate",
                    "lat": GATE[0],
                    "lon": GATE[1],
                }
            ],
            "tak": {
                "url": url,
                "public_url": PUBLIC,
                "reconnect_min_s": 0.2,
                "reconnect_max_s": 1.0,
                "stale_s": 30,
                **tak,
            },
        }
    )


@dataclass
class Running:
    server: VigilServer
    state: AppState
    data_dir: Path

    @property
    def link(self) -> TakLink:
        link: TakLink = self.state.extra[STATE_KEY]
        return link


@contextlib.contextmanager
def vigil(config: VigilConfig, data_dir: Path) -> Iterator[Running]:
    """`vigil serve --no-cameras` in a thread, until the block ends."""
    said: list[str] = []
    server = VigilServer(config, "127.0.0.1", free_port(), data_dir, cameras=False, say=said.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: any("Vigil is running" in s for s in said), 30, "vigil serve started")
        state = state_of(server.server.config.app)
        yield Running(server, state, data_dir)
    finally:
        server.stop()
        thread.join(30)
        assert not thread.is_alive(), "vigil serve did not stop"


def test_a_tak_user_becomes_a_unit_and_sees_what_vigil_sends_through_a_server_restart(
    tmp_path: Path,
) -> None:
    need_taky()
    port = free_port()
    taky = Taky(port).start()
    atak = Atak(port, "ANDROID-5f2c9e", "ALPHA-1")
    started = datetime.now(UTC) - timedelta(seconds=1)
    try:
        with vigil(vigil_config(f"tcp://127.0.0.1:{port}"), tmp_path / "data") as run:
            link, state = run.link, run.state
            wait_until(lambda: link.connected, 10, "Vigil connected to taky")
            atak.connect()

            # A TAK user's position becomes a Vigil unit within 2 s.
            sent_at = time.monotonic()
            atak.send(atak.position_xml(52.0101, 4.3602, course=270, speed=1.2))
            unit = wait_until(
                lambda: (u := state.units.of_tak("ANDROID-5f2c9e")) and u.lat and u,
                2.0,
                "the TAK user's position as a unit",
            )
            latency = time.monotonic() - sent_at
            print(f"TAK position -> Vigil unit: {latency * 1000:.0f} ms")
            assert (unit.callsign, unit.kind, unit.position_source) == ("ALPHA-1", "foot", "tak")
            assert abs(unit.lat - 52.0101) < 1e-4 and abs(unit.lon - 4.3602) < 1e-4
            assert unit.heading == 270 and unit.accuracy_m == 8.0

            # Vigil's own unit and an incident it opens reach the TAK user as CoT.
            own = state.units.create("BRAVO-2", UnitKind.CAR)
            state.units.report(
                own.id, [Position(52.012, 4.358, time.time(), 5.0, 45.0, 8.0)], "app"
            )
            first = state.incidents.open("Fight at the gate", "operator", lat=GATE[0], lon=GATE[1])
            incident = wait_until(
                lambda: atak.seen(f"vigil-incident-{first.id}"), 5, "the incident at the TAK user"
            )
            assert incident.get("type") == "b-a-o-opn"
            point = incident.find("point")
            assert point is not None
            assert (float(point.get("lat", 0)), float(point.get("lon", 0))) == GATE
            link_el = incident.find("detail/link")
            assert link_el is not None and link_el.get("url") == f"{PUBLIC}/?incident={first.id}"
            contact = incident.find("detail/contact")
            assert contact is not None and "Fight at the gate" in str(contact.get("callsign"))

            bravo = wait_until(lambda: atak.seen(f"vigil-unit-{own.id}"), 5, "BRAVO-2 at TAK")
            assert bravo.get("type") == "a-f-G-E-V"
            assert bravo.find("detail/contact").get("callsign") == "BRAVO-2"
            track = bravo.find("detail/track")
            assert track is not None and (track.get("course"), track.get("speed")) == (
                "45.0",
                "8.00",
            )
            camera = wait_until(lambda: atak.seen("vigil-camera-gate"), 5, "the camera at TAK")
            video = camera.find("detail/__video")
            assert video is not None and video.get("url") == f"{PUBLIC}/?camera=gate"
            assert f"vigil-unit-{unit.id}" not in atak.raw_text()  # the user's own, not echoed
            assert SECRET not in atak.raw_text() and "10.0.0.9" not in atak.raw_text()

            # The server goes away: Vigil keeps what it is to send and reconnects by itself.
            taky.kill()
            atak.close()
            wait_until(lambda: not link.connected, 10, "Vigil noticed taky is gone")
            second = state.incidents.open("Car alarm", "operator", lat=52.0131, lon=4.3555)
            alert = Alerts(state.store).create(
                Alert("gate entry", "gate", EventType.ZONE_ENTER, time.time(), "person")
            )
            state.alerts.review(alert.id, AlertStatus.ACKNOWLEDGED, "operator", "seen it")
            wait_until(lambda: len(link.queue) >= 2, 5, "the incident and alert in the queue")
            taky.start()
            atak.connect()
            wait_until(lambda: link.connects >= 2, 10, "Vigil reconnected to the new taky")
            wait_until(lambda: len(link.queue) == 0, 5, "the queue sent")
            queued = (f"vigil-alert-{alert.id}", f"vigil-incident-{second.id}")
            wait_until(
                lambda: all(uid in taky.received_from_anonymous() for uid in queued),
                5,
                "the queued alert and incident at the restarted taky",
            )
            # The TAK user sees the incident: at once if it was back before Vigil, else with
            # the refresh (every stale_s / 2), as anyone joining later does.
            atak.send(atak.position_xml(52.0102, 4.3603))
            again = wait_until(
                lambda: atak.seen(f"vigil-incident-{second.id}"), 20, "the queued incident"
            )
            assert again.get("type") == "b-a-o-opn"

            metrics = generate_latest(state.registry).decode()
            assert 'vigil_tak_sent_total{kind="incident"}' in metrics
            assert "vigil_tak_connected 1.0" in metrics and "vigil_tak_queue_depth 0.0" in metrics
        sent = dict(run.link.sent)  # all it sent, up to its stop
        report = transparency_report(run.state.store, run.data_dir, started)
    finally:
        atak.stop()
        taky.kill()
    # What was sent is in the audit log, so the report counts it after the server stopped.
    assert report.tak_sent == {k: sent.get(k, 0) for k in ("unit", "camera", "incident", "alert")}
    assert report.tak_sent["incident"] >= 2 and report.tak_sent["unit"] >= 1
    assert report.tak_sent["alert"] == 1
    assert report.tak_sent["camera"] >= 2  # once per connection
    assert (
        "| incident | " in report.to_markdown() and report.to_json()["tak_sent"] == report.tak_sent
    )


class RawServer:
    """A TAK server that sends whatever the test gives it (taky itself drops broken XML and
    rewrites what it relays, so Vigil's own guard is tested against a server that does not)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conn: socket.socket | None = None
        self.got = b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.conn, _ = self.sock.accept()
        while chunk := self.conn.recv(65536):
            self.got += chunk

    def send(self, *events: bytes) -> None:
        assert self.conn is not None
        for data in events:
            self.conn.sendall(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.sock.close()


def test_broken_cot_is_a_logged_rejection_and_nothing_is_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    need_taky()  # the ATAK-like position reports are written with pytak
    raw = RawServer()
    user = Atak(0, "ANDROID-77aa", "DELTA-4")  # writes CoT only; never connects
    future = datetime.now(UTC) + timedelta(hours=1)

    def user_event(**kw: Any) -> bytes:
        return user.position_xml(52.01, 4.36, **kw)

    no_point = re.sub(rb"<point [^>]*/>", b"", user_event())
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<event uid="x" type="a-f-G-U-C">&b;</event>'
    )
    broken: dict[str, list[bytes]] = {
        "xml": [b"<event uid='x' type='a-f-G'><point lat=</event>", bomb],
        "point": [no_point, user_event(uid="ANDROID-nan").replace(b'lat="52.01"', b'lat="nan"')],
        "position": [
            user_event(uid="ANDROID-95").replace(b'lat="52.01"', b'lat="95.0"'),
            user_event(time=future.strftime("%Y-%m-%dT%H:%M:%S.000Z")),
        ],  # fmt: skip
        "no_fix": [user_event(ce=9999999.0)],
        "callsign": [user_event(callsign="DELTA\n4 forged line")],
        "size": [b"<event uid='big' type='a-f-G-U-C'>" + b"x" * 70_000 + b"</event>"],
        "unit": [user_event(uid="ANDROID-golf", callsign="GOLF-7")],  # a Vigil unit's callsign
    }
    ignored = [
        user_event(uid="vigil-unit-99"),  # Vigil's own, come back
        user_event(uid="ANDROID-h", type="a-h-G"),  # not a friendly unit
        b'<event version="2.0" uid="takPong" type="t-x-c-t-r" how="h-g-i-g-o"><point/></event>',
    ]
    try:
        with vigil(vigil_config(f"tcp://127.0.0.1:{raw.port}"), tmp_path / "data") as run:
            link = run.link
            wait_until(lambda: link.connected and raw.conn is not None, 10, "Vigil connected")
            run.state.units.create("GOLF-7", UnitKind.FOOT)
            with caplog.at_level(logging.WARNING, "vigil.integrations.tak"):
                raw.send(*(e for events in broken.values() for e in events), *ignored)
                raw.send(user_event(uid="ANDROID-ok", callsign="ECHO-5"))  # then a good one
                wait_until(
                    lambda: (u := run.state.units.of_tak("ANDROID-ok")) and u.position_at,
                    5,
                    "the good event after them",
                )
            assert dict(link.rejected) == {k: len(v) for k, v in broken.items()}
            assert link.ignored == len(ignored) and link.connects == 1  # no reconnect needed
            with run.state.store.session() as s:
                units = {u.callsign: u.tak_uid for u in s.scalars(select(UnitRow))}
                assert units == {"GOLF-7": None, "ECHO-5": "ANDROID-ok"}
                assert s.scalar(select(func.count()).select_from(PositionRow)) == 1
            refused = [
                r.getMessage() for r in caplog.records if "refused an event" in r.getMessage()
            ]
            assert len(refused) == sum(len(v) for v in broken.values())
            assert any("(95, 4.36) is not on the Earth" in m for m in refused)
            assert any("in the future" in m for m in refused)
            assert any("no position fix" in m for m in refused)
            assert any("has no <point>" in m for m in refused)
            forged = next(m for m in refused if "forged line" in m)
            assert "\n" not in forged and "DELTA\\n4" in forged  # escaped: one log line
            assert b"vigil-camera-gate" in raw.got  # and Vigil kept sending meanwhile
    finally:
        raw.close()
        user.stop()


def test_over_tls_with_client_certificates(tmp_path: Path) -> None:
    need_taky()
    certs = make_certificates(tmp_path)
    port = free_port()
    taky = Taky(port, tls=certs["server"]).start()
    atak = Atak(port, "ANDROID-tls1", "FOXTROT-6", tls=certs["atak"])
    mine = certs["vigil"]
    config = vigil_config(
        f"tls://127.0.0.1:{port}", cert=str(mine["cert"]), key=str(mine["key"]), ca=str(mine["ca"])
    )
    try:
        with vigil(config, tmp_path / "data") as run:
            wait_until(lambda: run.link.connected, 10, "Vigil connected over TLS")
            atak.connect()
            atak.send(atak.position_xml(52.02, 4.37))
            wait_until(
                lambda: (u := run.state.units.of_tak("ANDROID-tls1")) and u.position_at,
                2.0,
                "the TLS user's position as a unit",
            )
            opened = run.state.incidents.open("Smoke", "operator", lat=52.02, lon=4.37)
            seen = wait_until(lambda: atak.seen(f"vigil-incident-{opened.id}"), 5, "incident")
            assert seen.get("type") == "b-a-o-opn"
    finally:
        atak.stop()
        taky.kill()
