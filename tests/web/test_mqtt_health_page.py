"""The live page shows the MQTT link's health in its top bar (hidden without an `mqtt:`
section): a broker that cannot be reached is `0/1` in red, its reason in the title."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tests.integrations.takyserver import wait_until
from tests.sources.conftest import free_port
from tests.web.conftest import EXPECTED_CONSOLE, log_in, open_page
from vigil.api.deps import state_of
from vigil.config import VigilConfig
from vigil.domain import Role
from vigil.server import VigilServer

PASSWORD = "mqtt-page-test-password"


def test_an_unreachable_broker_is_red_in_the_top_bar(browser: Any, tmp_path: Path) -> None:
    config = VigilConfig.model_validate(
        {
            "cameras": [{"id": "gate", "source": "rtsp://10.0.0.9/gate"}],
            "mqtt": {"url": f"mqtt://127.0.0.1:{free_port()}", "reconnect_min_s": 0.2},
        }
    )
    said: list[str] = []
    server = VigilServer(config, "127.0.0.1", free_port(), tmp_path, cameras=False, say=said.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: any("Vigil is running" in s for s in said), 30, "vigil serve started")
        state = state_of(server.server.config.app)
        state.users.create("boss", PASSWORD, Role.SUPERVISOR)
        link = state.extra["mqtt"]
        wait_until(lambda: link.status == "unreachable", 20, "the broker found unreachable")
        # The camera is not run here (--no-cameras): its live picture answers 503.
        with open_page(browser, allowed=(*EXPECTED_CONSOLE, "/mjpeg")) as watched:
            page = watched.page
            log_in(page, server.url.rstrip("/"), "boss", PASSWORD)
            stat = page.locator("#stat-links")
            stat.wait_for(state="visible")
            assert stat.locator(".stat-v").text_content() == "0/1"
            assert stat.get_attribute("data-tone") == "bad"
            assert "mqtt 127.0.0.1" in (stat.get_attribute("title") or "")
            assert "unreachable" in (stat.get_attribute("title") or "")
            watched.check_no_errors()
    finally:
        server.stop()
        thread.join(30)
