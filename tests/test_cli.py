"""The `vigil` command as a user meets it: clear one-line errors, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CAR_CLIP


def vigil(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args], capture_output=True, text=True, timeout=timeout
    )


def assert_clear_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_version() -> None:
    proc = vigil("version")
    assert proc.returncode == 0 and proc.stdout.startswith("vigil ")


def test_missing_video_file(tmp_path: Path) -> None:
    proc = vigil("analyze", str(tmp_path / "nope.mp4"), "--data", str(tmp_path / "d"))
    assert_clear_error(proc, "nope.mp4", "does not exist")


def test_file_that_is_not_video(tmp_path: Path) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("not a video at all\n" * 20)
    proc = vigil("analyze", str(fake), "--data", str(tmp_path / "d"))
    assert_clear_error(proc, "holiday.mp4", "not a video")
    assert fake.read_text() == "not a video at all\n" * 20


def test_bad_config_key_names_line_and_allowed_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "vigil.yml"
    cfg.write_text("cameras:\n  - id: gate\n    source: x.mp4\n    zonez: []\n")
    proc = vigil("analyze", str(CAR_CLIP), "--config", str(cfg), "--data", str(tmp_path / "d"))
    line = assert_clear_error(proc, "line 4", "zonez", "zones")
    assert "allowed keys" in line


def test_missing_config_file(tmp_path: Path) -> None:
    proc = vigil("analyze", str(CAR_CLIP), "--config", str(tmp_path / "none.yml"))
    assert_clear_error(proc, "none.yml", "does not exist")


@pytest.mark.timeout(60)
def test_unreachable_rtsp_gives_up_after_a_bounded_wait(tmp_path: Path) -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/cam"
    started = time.monotonic()
    proc = vigil("analyze", url, "--max-wait", "3", "--data", str(tmp_path / "d"))
    elapsed = time.monotonic() - started
    assert_clear_error(proc, url, "cannot connect")
    assert elapsed < 30


def test_corrupt_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "vigil.db"
    db.write_bytes(b"precious bytes that are not SQLite" * 100)
    proc = vigil("analyze", str(CAR_CLIP), "--db", f"sqlite:///{db}", "--data", str(tmp_path / "d"))
    assert_clear_error(proc, "not a database")
    assert db.read_bytes() == b"precious bytes that are not SQLite" * 100


def test_unwritable_events_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = vigil(
        "analyze",
        str(CAR_CLIP),
        "--events",
        str(blocker / "events.jsonl"),
        "--data",
        str(tmp_path / "d"),
    )
    assert_clear_error(proc, "events.jsonl")


def test_several_cameras_need_a_choice(tmp_path: Path) -> None:
    cfg = tmp_path / "vigil.yml"
    cfg.write_text("cameras:\n  - {id: a, source: x.mp4}\n  - {id: b, source: y.mp4}\n")
    proc = vigil("analyze", str(CAR_CLIP), "--config", str(cfg), "--data", str(tmp_path / "d"))
    assert_clear_error(proc, "--camera")
    proc = vigil(
        "analyze",
        str(CAR_CLIP),
        "--config",
        str(cfg),
        "--camera",
        "zz",
        "--data",
        str(tmp_path / "d"),
    )
    assert_clear_error(proc, "no camera 'zz'", "a, b")


def _camera_config(tmp_path: Path, bus: str = "") -> Path:
    cfg = tmp_path / "vigil.yml"
    cfg.write_text(
        f"{bus}cameras:\n  - id: car-park\n    source: {CAR_CLIP}\n    loop: true\n"
        "    detector: {kind: motion}\n"
    )
    return cfg


def test_a_worker_without_a_bus_says_to_set_bus_url(tmp_path: Path) -> None:
    proc = vigil("worker", "--config", str(_camera_config(tmp_path)), "--data", str(tmp_path))
    assert_clear_error(proc, "vigil worker publishes over NATS", "set bus.url")


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_an_unreachable_nats_server_is_one_clear_error(tmp_path: Path, command: str) -> None:
    port = free_port()  # nothing listens there
    cfg = _camera_config(
        tmp_path, f'bus: {{url: "nats://127.0.0.1:{port}", connect_timeout_s: 1}}\n'
    )
    args = [command, "--config", str(cfg), "--data", str(tmp_path)]
    if command == "serve":
        args += ["--no-cameras", "--port", str(free_port())]
    started = time.monotonic()
    proc = vigil(*args, timeout=60)
    assert_clear_error(proc, f"cannot reach the NATS server at nats://127.0.0.1:{port}", "bus.url")
    assert time.monotonic() - started < 30


def test_a_bus_url_that_is_not_nats_is_a_config_error(tmp_path: Path) -> None:
    cfg = _camera_config(tmp_path, 'bus: {url: "http://127.0.0.1:4222"}\n')
    proc = vigil("worker", "--config", str(cfg), "--data", str(tmp_path))
    assert_clear_error(proc, "line 1", "bus.url", "nats://host:4222")
