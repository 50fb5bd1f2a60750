"""The real server: uvicorn + live runner in one process, the demo config, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import read_until, vigil_process
from tests.sources.conftest import free_port
from vigil.config import VigilConfig
from vigil.errors import VigilError
from vigil.server import VigilServer, bind, demo_config, url_for

PASSWORD = "demo-admin-password"


def test_demo_config_has_two_live_cameras_on_a_map_with_a_zone_a_line_and_rules() -> None:
    config = demo_config()
    assert [c.id for c in config.cameras] == ["lobby", "car-park"]
    for cam in config.cameras:
        assert cam.loop and Path(cam.source).is_absolute() and Path(cam.source).is_file()
        assert cam.lat is not None and cam.lon is not None
    lobby, park = config.cameras
    assert abs(lobby.lat - park.lat) < 0.01 and abs(lobby.lon - park.lon) < 0.01  # type: ignore[operator]
    assert [z.name for z in lobby.zones] == ["table"] and [ln.name for ln in park.lines] == [
        "middle"
    ]
    assert park.detector is not None and park.detector.kind == "motion"
    assert {(r.event, r.camera) for r in config.rules} == {
        ("loiter", "lobby"),
        ("line_cross", "car-park"),
    }


def test_port_in_use_and_bad_host_are_clear_errors() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            VigilError, match=f"port {port} on 127.0.0.1 is in use; choose another with --port"
        ):
            bind("127.0.0.1", port)
    with pytest.raises(VigilError, match="cannot listen on host 'no-such-host.invalid'"):
        bind("no-such-host.invalid", 8080)
    with pytest.raises(VigilError, match="port 70000 is not a TCP port"):
        bind("127.0.0.1", 70000)
    assert url_for("0.0.0.0", 8080) == "http://127.0.0.1:8080/"
    assert url_for("::1", 80) == "http://[::1]:80/"


def test_a_camera_whose_model_cannot_load_stops_startup_and_frees_the_port(tmp_path: Path) -> None:
    config = VigilConfig.model_validate(
        {
            "cameras": [
                {"id": "c", "source": "x.mp4", "detector": {"kind": "onnx", "path": "/no.onnx"}}
            ]
        }
    )
    port = free_port()
    with pytest.raises(VigilError, match="no.onnx"):
        VigilServer(config, "127.0.0.1", port, tmp_path, say=lambda _m: None)
    bind("127.0.0.1", port).close()  # the port was given back


@pytest.mark.slow
def test_real_server_pushes_a_pipeline_event_over_the_websocket_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    port = free_port()
    code = (
        "from pathlib import Path; from vigil.server import demo_config, serve; "
        f"serve(demo_config(), '127.0.0.1', {port}, Path({str(tmp_path)!r}))"
    )
    with vigil_process("-c", code, password=PASSWORD) as proc:
        said = read_until(proc, "Vigil is running at", 60)
        assert f"http://127.0.0.1:{port}/" in said
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/healthz").text == "ok"
            assert http.get("/api/events").status_code == 401
            r = http.post("/api/login", json={"username": "admin", "password": PASSWORD})
            assert r.status_code == 200
            cookie = f"vigil_session={http.cookies['vigil_session']}"
            started = time.monotonic()
            event = None
            with connect(
                f"ws://127.0.0.1:{port}/api/ws", additional_headers={"Cookie": cookie}
            ) as ws:
                hello = json.loads(ws.recv(timeout=10))
                assert hello["topic"] == "hello" and len(hello["cameras"]) == 2
                # The clips' first happenings come 7 to 9 s in; allow for a slow start.
                while time.monotonic() - started < 45:
                    message = json.loads(ws.recv(timeout=45))
                    if message["topic"] == "event":
                        event = message
                        break
            assert event is not None, "no event arrived over the WebSocket"
            # Clients send nothing the server reads: a big message ends the socket (1009).
            with connect(
                f"ws://127.0.0.1:{port}/api/ws", additional_headers={"Cookie": cookie}
            ) as big:
                assert json.loads(big.recv(timeout=10))["topic"] == "hello"
                big.send("x" * 65536)
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        big.recv(timeout=10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            assert event["camera"] in ("lobby", "car-park") and event["id"] > 0
            assert time.time() - event["captured_at"] < 5  # pushed as it happened
            stored = http.get(f"/api/events/{event['id']}").json()
            assert stored["type"] == event["type"]
            cams = http.get("/api/cameras").json()
            assert all(c["health"]["online"] for c in cams)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=30) == 0
    leftovers = [n for n in os.listdir("/dev/shm") if n.startswith(f"vigil-{proc.pid}-")]
    assert leftovers == []


def test_a_camera_source_problem_is_one_line_on_the_console(tmp_path: Path) -> None:
    """A newcomer's `vigil serve` with a file that is not there: the console says so, once,
    naming the camera and the path (relative to the config file's folder)."""
    (tmp_path / "vigil.yml").write_text(
        "cameras:\n  - id: gate\n    source: clips/not-there.mp4\n    loop: true\n"
    )
    port = free_port()
    args = ["serve", "-c", str(tmp_path / "vigil.yml"), "--port", str(port)]
    with vigil_process(
        "-m", "vigil", *args, "--data", str(tmp_path / "data"), password=PASSWORD
    ) as proc:
        said = read_until(proc, "camera 'gate' is offline:", 90)
        said += (
            read_until(proc, "Vigil is running at", 60) if "Vigil is running" not in said else ""
        )
        line = next(x for x in said.splitlines() if "camera 'gate' is offline:" in x)
        assert str(tmp_path / "clips" / "not-there.mp4") in line
        # The decoder is retried with a growing wait; the console does not repeat the reason.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            r = http.post("/api/login", json={"username": "admin", "password": PASSWORD})
            cookie = {"vigil_session": r.cookies["vigil_session"]}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                gate = http.get("/api/cameras/gate", cookies=cookie).json()
                if gate["health"]["restarts"] >= 2:
                    break
                time.sleep(0.2)
            assert gate["health"]["restarts"] >= 2, gate
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[1]
        assert (said + rest).count("camera 'gate' is offline:") == 1, said + rest
