"""Two processes, one system: `vigil worker` runs the camera and publishes over the real NATS
server, `vigil serve --no-cameras` runs the web app; both on the real PostgreSQL. In a real
browser the live feed shows the worker's events and the tile its pictures; killing the
worker shows the camera offline, starting it again brings it back, without restarting the
web app."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import CAR_CLIP, NATS_URL, read_until
from tests.sources.conftest import free_port
from tests.web.conftest import (
    ADMIN_PASSWORD,
    Watched,
    feed_keys,
    log_in,
    require_browser,
    wait_for_new_event,
)
from vigil.store.db import Store
from vigil.store.tables import AuditRow

pytestmark = pytest.mark.slow

EVENT_WAIT_MS = 60_000  # the clip's first car crosses 5 to 8 s in
STATE_WAIT_MS = 30_000


def two_process_config(prefix: str) -> str:
    return f"""\
bus: {{url: "{NATS_URL}", prefix: {prefix}}}
cameras:
  - id: car-park
    name: Car park
    source: {CAR_CLIP}
    loop: true
    lat: 52.0017
    lon: 4.3726
    detector: {{kind: motion}}
    objects: {{labels: [motion], min_score: 0.5, min_area: 0.01}}
    lines:
      - {{name: middle, a: [0.0, 0.5], b: [1.0, 0.5], anchor: center}}
rules:
  - {{name: car park entry, camera: car-park, event: line_cross, line: middle, direction: in}}
"""


@dataclass
class Process:
    args: list[str]
    marker: str
    proc: subprocess.Popen[str] | None = None
    drain: threading.Thread | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", *self.args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD},
            start_new_session=True,  # its own process group: the decoders go with it
        )
        read_until(self.proc, self.marker, 90)
        assert self.proc.stderr is not None
        self.drain = threading.Thread(target=self.proc.stderr.read, daemon=True)
        self.drain.start()

    def kill(self) -> None:
        """SIGKILL to the whole group: no goodbye, as a crash or a lost machine."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reap()

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            self._reap()
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait()
        self._reap()
        return code

    def _reap(self) -> None:
        if self.drain is not None:
            self.drain.join(timeout=5)
            self.drain = None
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()


@dataclass
class System:
    base: str
    web: Process
    worker: Process
    db: str
    data: Path


@pytest.fixture
def system(tmp_path: Path, pg_url: str, nats_prefix: str) -> Iterator[System]:
    require_browser()
    config = tmp_path / "vigil.yml"
    config.write_text(two_process_config(nats_prefix))
    port = free_port()
    common = ["--config", str(config), "--db", pg_url, "--data", str(tmp_path / "data")]
    web = Process(["serve", *common, "--no-cameras", "--port", str(port)], "Vigil is running at")
    worker = Process(["worker", *common], "camera worker is running")
    try:
        web.start()
        worker.start()
        yield System(f"http://127.0.0.1:{port}", web, worker, pg_url, tmp_path / "data")
        assert worker.stop() == 0
        assert web.stop() == 0
        _both_processes_kept_one_audit_chain(pg_url, tmp_path / "data")
    finally:
        worker.stop()
        web.stop()


def _both_processes_kept_one_audit_chain(db: str, data: Path) -> None:
    """Both processes appended to the one hash chain; it verifies, and when the cameras ran
    is on it: two worker starts (the first worker was killed: no stop), one stop."""
    verify = subprocess.run(
        [sys.executable, "-m", "vigil", "audit", "verify", "--db", db, "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    store = Store(db)
    try:
        with store.session() as s:
            rows = s.scalars(select(AuditRow).where(AuditRow.actor == "system")).all()
    finally:
        store.close()
    worker = [r.action for r in rows if r.details.get("process") == "camera worker"]
    assert worker.count("system.start") == 2, worker
    assert [r.action for r in rows].count("system.stop") >= 2  # the worker's and the web's


def _tile_state(page: Any, state: str) -> None:
    page.wait_for_selector(f".tile.{state}[data-camera='car-park']", timeout=STATE_WAIT_MS)


def _picture_arrives(page: Any) -> None:
    page.wait_for_function(
        "() => { const i = document.querySelector('.tile img'); return i && i.naturalWidth > 0 }",
        timeout=STATE_WAIT_MS,
    )


def test_the_web_app_shows_a_worker_process_and_survives_its_death(
    system: System, ui: Watched
) -> None:
    page = ui.page
    log_in(page, system.base, "admin", ADMIN_PASSWORD)
    _tile_state(page, "online")
    _picture_arrives(page)
    before = feed_keys(page)
    first = wait_for_new_event(page, before, EVENT_WAIT_MS)
    assert page.locator(f".feed-item.event[data-id='{first}']").get_attribute("data-camera") == (
        "car-park"
    )
    assert page.locator("#link-state").inner_text() == "LIVE"

    system.worker.kill()
    _tile_state(page, "offline")
    offline = page.locator(".tile[data-camera='car-park'] .tile-error").inner_text()
    assert "camera worker stopped reporting" in offline
    page.wait_for_selector(".cam-marker.offline[data-camera='car-park']")

    system.worker.start()  # the web app was not restarted
    _tile_state(page, "online")
    page.wait_for_selector(".cam-marker.online[data-camera='car-park']")
    wait_for_new_event(page, feed_keys(page), EVENT_WAIT_MS)
    _picture_arrives(page)
    assert page.locator("#link-state").inner_text() == "LIVE"
    ui.check_no_errors()
