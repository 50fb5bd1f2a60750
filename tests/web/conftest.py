"""The app with stored data (from tests/api) for page tests, and a real Vigil server with the
bundled demo plus Debian's Chromium (driven by Playwright) for the browser tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from tests.api.conftest import client, env  # noqa: F401 - fixtures for the page tests
from tests.conftest import need, read_until
from tests.sources.conftest import free_port
from vigil.domain import Box, Event, EventType
from vigil.pipeline.camera import FrameResult
from vigil.pipeline.sinks import StoreSink
from vigil.store.db import Store, default_db_url
from vigil.store.tables import EventRow

CHROMIUM = Path(os.environ.get("VIGIL_TEST_CHROMIUM", "/usr/bin/chromium"))
# Debian's Chromium, never a browser downloaded by `playwright install`.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_PASSWORD = "ui-test-admin-password"
VIEWER_PASSWORD = "ui-test-viewer-password"
VIEWPORT = {"width": 1366, "height": 768}
# The demo's map loads its tiles from OpenStreetMap; offline, the browser logs each failed
# tile as a console error, which is expected here (the map says so and shows its grid).
EXPECTED_CONSOLE = ("tile.openstreetmap.org",)


@dataclass
class Demo:
    """A running `vigil demo`-like server."""

    base: str
    process: subprocess.Popen[str]
    data_dir: Path
    output: list[str] = field(default_factory=list)  # what the server wrote to stderr

    def log_tail(self, lines: int = 60) -> str:
        """The server's last lines of output, for an assertion's message."""
        return "".join(self.output[-lines:])


@dataclass
class Watched:
    """A page and every JavaScript error or console error it produced."""

    page: Any
    errors: list[str] = field(default_factory=list)
    allowed: tuple[str, ...] = EXPECTED_CONSOLE

    def check_no_errors(self) -> None:
        assert self.errors == [], "JavaScript errors in the page:\n" + "\n".join(self.errors)


def require_browser() -> None:
    """Debian's Chromium and the playwright package; under CI=true their absence fails."""
    need(CHROMIUM.is_file(), f"{CHROMIUM} is missing; install Debian's chromium package")
    need(find_spec("playwright") is not None, "playwright is missing; pip install -e '.[dev]'")


@contextlib.contextmanager
def serving(code: str, data: Path) -> Iterator[Demo]:
    """A Vigil server started by Python `code` (which formats `{port}` and `{data}`) on a
    free 127.0.0.1 port, stopped with Ctrl-C after."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", code.format(port=port, data=repr(str(data)))],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD},
    )
    drain: threading.Thread | None = None
    try:
        read_until(proc, "Vigil is running at", 60)
        # Keep reading what the server says, so a full pipe never blocks it; kept for the
        # messages of failing tests (a traceback in the server says why a page went wrong).
        assert proc.stderr is not None
        server = Demo(f"http://127.0.0.1:{port}", proc, data)
        stream = proc.stderr
        drain = threading.Thread(target=lambda: server.output.extend(stream), daemon=True)
        drain.start()
        yield server
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if drain is not None:
            drain.join(timeout=5)  # the server has exited: its stderr is at its end
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo configuration served on a free 127.0.0.1 port, stopped with Ctrl-C after."""
    require_browser()  # before starting a server that nothing could look at
    code = (
        "from pathlib import Path; from vigil.server import demo_config, serve; "
        "serve(demo_config(), '127.0.0.1', {port}, Path({data}))"
    )
    with serving(code, tmp_path_factory.mktemp("vigil-data")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, with a fresh temporary profile (Playwright's launch)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # launch() gives the browser a new temporary profile (user-data dir) every time.
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def open_page(
    browser: Any, allowed: tuple[str, ...] = EXPECTED_CONSOLE, **options: Any
) -> Iterator[Watched]:
    """A fresh browser context at 1366x768 (or as `options` for new_context say: a phone)
    whose JavaScript errors are collected."""
    settings = {"viewport": VIEWPORT, "locale": "en-GB", "timezone_id": "UTC", **options}
    context = browser.new_context(**settings)
    page = context.new_page()
    page.set_default_timeout(20_000)
    watched = Watched(page, allowed=allowed)

    def on_console(message: Any) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "") if message.location else ""
        text = f"{message.text} ({where})"
        if not any(a in text for a in watched.allowed):
            watched.errors.append(f"console: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.errors.append(f"pageerror: {exc}"))
    try:
        yield watched
    finally:
        context.close()


@pytest.fixture
def ui(browser: Any) -> Iterator[Watched]:
    with open_page(browser) as watched:
        yield watched


def log_in(page: Any, base: str, username: str, password: str, path: str = "/") -> None:
    """Log in through the login form, as a person would, and wait for the page to load."""
    page.goto(base + path)
    assert "/login" in page.url  # no session yet: sent to the login form
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.login-form button[type=submit]")
    page.wait_for_url(base + path)
    page.wait_for_selector("body[data-ready='1']")


def add_user(
    base: str, username: str, password: str, role: str, cameras: list[str] | None = None
) -> None:
    """Create a user through the API as the admin (seeing `cameras`, or every camera)."""
    with httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        body = {"username": username, "password": password, "role": role, "cameras": cameras}
        r = http.post("/api/users", json=body, headers=headers)
        assert r.status_code in (200, 201, 409), r.text


def wait_for_events(base: str, count: int, timeout: float) -> None:
    """Until the running pipeline has stored at least `count` events."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        while True:
            params = {"limit": count, "purpose": "UI test: enough events?"}
            items = http.get("/api/events", params=params).json()["items"]
            if len(items) >= count:
                return
            assert time.monotonic() < deadline, f"only {len(items)} events in {timeout:g} s"
            time.sleep(1)


_NEW_LIVE_EVENT = """(before) => {
  const fresh = [...document.querySelectorAll(".feed-item.event[data-live='1']")]
    .find((n) => !before.includes(n.dataset.kind + n.dataset.id));
  return fresh ? fresh.dataset.id : null;
}"""


def feed_keys(page: Any) -> list[str]:
    """Every item in the live feed now, as kind + id."""
    keys: list[str] = page.locator(".feed-item").evaluate_all(
        "ns => ns.map(n => n.dataset.kind + n.dataset.id)"
    )
    return keys


def wait_for_new_event(page: Any, before: list[str], timeout_ms: float) -> str:
    """Until an event pushed over the WebSocket that is not one of `before` is in the feed;
    its id."""
    handle = page.wait_for_function(_NEW_LIVE_EVENT, arg=before, timeout=timeout_ms)
    event_id: str = handle.json_value()
    return event_id


def plate_crop(plate: str) -> np.ndarray:
    """A plate-like picture: dark text on a light plate."""
    image = np.full((56, 240, 3), 235, np.uint8)
    cv2.putText(image, plate, (8, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (20, 20, 20), 3)
    return image


def store_reads(
    data_dir: Path, reads: list[tuple[str, str, float]]
) -> dict[str, tuple[Event, EventRow]]:
    """Plate reads (camera, plate, seconds ago), each with its crop, into the running server's
    database and media folder, as its pipeline's StoreSink stores them; each read's event and
    stored row by plate."""
    store = Store(default_db_url(data_dir))
    try:
        origin = time.time() - 60  # media time 60 s is now
        saved: dict[str, tuple[Event, EventRow]] = {}
        for n, (camera, plate, ago) in enumerate(reads):
            event = Event(
                EventType.PLATE_READ,
                camera,
                60.0 - ago,
                9000 + n,
                "car",
                Box(10, 10, 200, 150),
                0.8,
                attributes={"plate": plate, "plate_confidence": 0.9, "reads": 4, "agreeing": 3},
            ).with_picture(plate_crop(plate))
            result = FrameResult(0, event.time, False, [], [], [], [], [event])
            sink = StoreSink(store, data_dir, camera, origin)
            [(_, row)] = sink.save(None, result)
            saved[plate] = (event, row)
        return saved
    finally:
        store.close()
