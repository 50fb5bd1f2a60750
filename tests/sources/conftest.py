"""Fixtures for source tests: the demo clip and a real RTSP server on 127.0.0.1."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import vigil

CAR_CLIP = Path(vigil.__file__).parent / "assets" / "car-detection.mp4"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
# Debian's python has `gi` (GStreamer bindings); the project's venv has not.
SYSTEM_PYTHON = Path(os.environ.get("VIGIL_TEST_GST_PYTHON", "/usr/bin/python3"))


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_tool(message: str) -> None:
    """In CI a missing tool is a broken CI image, so fail loudly; locally just skip."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: install it in .ci/run instead of skipping)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


class RtspServer:
    """The rtsp_server.py script as a subprocess that the test can kill and restart."""

    def __init__(self, port: int, mount: str = "/cam") -> None:
        self.port = port
        self.mount = mount
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}{self.mount}"

    def start(self, timeout: float = 15.0) -> None:
        assert self.proc is None, "already running"
        cmd = [str(SYSTEM_PYTHON), str(SERVER_SCRIPT), "--port", str(self.port)]
        cmd += ["--mount", self.mount]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.strip() == "ready":
                    return
                if line:
                    seen.append(line.rstrip())
            if self.proc.poll() is not None:
                break
        self.kill()
        raise AssertionError(f"RTSP test server did not start on port {self.port}: {seen}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


@pytest.fixture(scope="session")
def rtsp_tools() -> None:
    """Skip (or fail in CI) unless /usr/bin/python3 has GStreamer's RTSP server and x264."""
    if not SYSTEM_PYTHON.exists():
        missing_tool(f"{SYSTEM_PYTHON} is missing; the RTSP test server runs under it")
    check = subprocess.run(
        [str(SYSTEM_PYTHON), str(SERVER_SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check.returncode != 0:
        missing_tool(
            "the RTSP test server cannot run: "
            f"{(check.stdout + check.stderr).strip() or 'exit ' + str(check.returncode)}; "
            "install gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gst-1.0 "
            "gstreamer1.0-plugins-{base,good,ugly}"
        )


@pytest.fixture
def rtsp_server(rtsp_tools: None) -> Iterator[RtspServer]:
    server = RtspServer(free_port())
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.signal(signal.SIGCONT)  # a test may have paused it
        server.kill()
