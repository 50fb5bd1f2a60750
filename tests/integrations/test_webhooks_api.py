"""Webhooks in the running app: a dead receiver (connection refused) ends in the dead-letter
list after max_attempts, which an admin reads (audited) and an operator may not (403); the
retry action delivers it, with the same key, once the receiver is up; Prometheus counts it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from sqlalchemy import select

from tests.api.conftest import ADMIN_PASSWORD, CONFIG, FAST_HASH, PASSWORD, login
from tests.integrations.hookreceiver import Receiver
from tests.integrations.takyserver import wait_until
from tests.sources.conftest import free_port
from vigil.api import create_app
from vigil.api.bootstrap import Settings
from vigil.config import VigilConfig
from vigil.domain import Role
from vigil.store.db import Store
from vigil.store.tables import AuditRow

SECRET = "a webhook secret, long enough"


def _app(tmp_path: Path, port: int, store: Store) -> Any:
    hooks = [
        {"name": "dispatch", "url": f"http://127.0.0.1:{port}/in", "secret": SECRET,
         "events": ["zone_enter"], "rules": ["table entry"], "allow_private": True,
         "max_attempts": 3, "retry_base_s": 0.01, "retry_max_s": 0.05, "timeout_s": 5},
    ]  # fmt: skip
    config = VigilConfig.model_validate({**CONFIG, "webhooks": hooks})
    settings = Settings(
        config=config, data_dir=tmp_path, admin_password=ADMIN_PASSWORD,
        login_failure_delay=0.05, password_hasher=FAST_HASH,
    )  # fmt: skip
    return create_app(settings, store=store)


def _dead(client: TestClient) -> list[dict[str, Any]]:
    r = client.get("/api/webhooks/deliveries", params={"state": "dead"})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()
    return items


def test_a_dead_receiver_ends_in_the_dead_letter_list_and_retry_delivers_it(
    tmp_path: Path,
) -> None:
    port = free_port()  # nothing listens there: connection refused
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    app = _app(tmp_path, port, store)
    state = app.state.vigil
    state.users.create("oscar", PASSWORD, Role.OPERATOR, None)
    try:
        operator = TestClient(app)  # requests only: the lifespan runs once, under admin's
        with TestClient(app) as admin:
            login(admin)
            login(operator, "oscar", PASSWORD)
            state.bus.publish({"topic": "event", "id": 5, "camera": "lobby",
                               "type": "zone_enter", "published_at": time.time()})  # fmt: skip
            wait_until(lambda: _dead(admin), 20, "the delivery dead-lettered")
            (dead,) = _dead(admin)
            assert (dead["attempts"], dead["last_status"], dead["webhook"]) == (3, None, "dispatch")
            assert "ConnectError" in dead["last_error"] and dead["event"] == "event.zone_enter"
            (health,) = admin.get("/api/webhooks").json()
            assert (health["state"], health["dead"], health["failed"]) == ("failing", 1, 2)
            assert SECRET not in admin.get("/api/webhooks").text
            # A camera-style status where the live page looks (its LINKS badge): failing.
            health_out = operator.get("/api/health").json()
            link = health_out["integrations"]["webhook:dispatch"]
            assert (link["kind"], link["online"], link["status"]) == ("webhook", False, "failing")
            assert link["server"] == f"127.0.0.1:{port}" and "ConnectError" in link["error"]
            assert health_out["status"] == "degraded"
            r = operator.get("/api/webhooks/deliveries", params={"state": "dead"})
            assert r.status_code == 403
            assert operator.post(f"/api/webhooks/deliveries/{dead['id']}/retry").status_code == 403
            metrics = generate_latest(state.registry).decode()
            assert (
                'vigil_webhook_deliveries_total{outcome="dead",webhook="dispatch"} 1.0' in metrics
            )

            with Receiver(SECRET.encode(), port=port) as rx:
                r = admin.post(f"/api/webhooks/deliveries/{dead['id']}/retry")
                assert r.status_code == 200, r.text
                wait_until(lambda: rx.accepted, 20, "the retried delivery accepted")
                assert list(rx.accepted) == [dead["key"]]
                wait_until(lambda: not _dead(admin), 20, "out of the dead-letter list")
            again = admin.post(f"/api/webhooks/deliveries/{dead['id']}/retry")
            assert again.status_code == 409 and "delivered" in again.json()["detail"]
            assert admin.post("/api/webhooks/deliveries/999/retry").status_code == 404
            (done,) = admin.get("/api/webhooks/deliveries").json()
            assert (done["state"], done["attempts"], done["last_status"]) == ("delivered", 1, 200)
            assert admin.get("/api/webhooks").json()[0]["state"] == "ok"
            assert admin.get("/api/health").json()["integrations"]["webhook:dispatch"]["online"]
        with store.session() as s:
            rows = list(s.scalars(select(AuditRow).where(AuditRow.action.like("webhooks.%"))))
        seen = {(r.actor, r.action, r.details.get("outcome")) for r in rows}
        assert ("admin", "webhooks.deliveries", "ok") in seen
        assert ("oscar", "webhooks.deliveries", "403") in seen
        assert ("admin", "webhooks.retry", "ok") in seen and (
            "oscar",
            "webhooks.retry",
            "403",
        ) in seen
        sent = [r for r in rows if r.action == "webhooks.sent"]  # written at stop
        assert sent and sent[-1].details["counts"]["events"] == 1
    finally:
        store.close()
