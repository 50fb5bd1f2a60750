"""What the app is built from: its settings, its state (store, users, alerts, bus, camera
directory, audit log, metrics), and what happens on a first start (the first admin)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from itsdangerous import URLSafeTimedSerializer
from prometheus_client import CollectorRegistry, Counter

from vigil import __version__
from vigil.api import auth, system
from vigil.api.deps import AppState
from vigil.audit.lockout import LockoutPolicy, LoginGate
from vigil.audit.log import AuditLog
from vigil.bus import Bus
from vigil.config import VigilConfig
from vigil.incidents.incidents import Incidents
from vigil.incidents.units import Units
from vigil.integrations.onvif_events import OnvifCollector
from vigil.pipeline.directory import CameraDirectory
from vigil.recording.locks import camera_window
from vigil.rules.engine import AlertService, RuleEngine
from vigil.store.alerts import Alerts
from vigil.store.db import Store
from vigil.store.users import Users

SYSTEM_ACTOR = "system"


def _print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Settings:
    """How the server runs. Secrets (admin password, metrics token) may come from the
    environment: VIGIL_ADMIN_PASSWORD, VIGIL_METRICS_TOKEN."""

    config: VigilConfig
    data_dir: Path
    db_url: str | None = None
    secure_cookies: bool = False  # set behind HTTPS (or server.secure_cookies in vigil.yml)
    listen_host: str | None = None  # what the server listens on (for the default allowed hosts)
    session_hours: float = 12.0
    login_failure_delay: float = 1.0  # seconds every failed login waits
    login_lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    admin_password: str | None = None
    metrics_token: str | None = None
    announce: Callable[[str], None] = _print_to_stderr  # tells the generated admin password
    password_hasher: PasswordHasher | None = None  # argon2id defaults when None
    on_started: Callable[[], None] | None = None  # called once the app serves requests

    @classmethod
    def from_env(cls, config: VigilConfig, data_dir: Path, **kw: Any) -> Settings:
        kw.setdefault("admin_password", os.environ.get("VIGIL_ADMIN_PASSWORD") or None)
        kw.setdefault("metrics_token", os.environ.get("VIGIL_METRICS_TOKEN") or None)
        return cls(config=config, data_dir=data_dir, **kw)


def build_state(
    settings: Settings,
    store: Store,
    bus: Bus,
    cameras: CameraDirectory,
    alert_service: AlertService | None = None,
) -> AppState:
    config = settings.config
    registry = CollectorRegistry(auto_describe=True)
    units = Units(
        store,
        bus,
        retention_days=config.retention.positions,
        max_skew_s=config.field.max_clock_skew_s,
    )
    alerts = alert_service or AlertService(
        Alerts(store), bus, RuleEngine(config.rules), data_dir=settings.data_dir
    )
    state = AppState(
        config=config,
        data_dir=settings.data_dir,
        store=store,
        users=Users(store, settings.password_hasher),
        alerts=alerts,
        bus=bus,
        cameras=cameras,
        signer=URLSafeTimedSerializer(auth.load_secret(settings.data_dir), salt="vigil-session"),
        session_seconds=settings.session_hours * 3600.0,
        secure_cookies=settings.secure_cookies or config.server.secure_cookies,
        login_failure_delay=settings.login_failure_delay,
        login_lockout=settings.login_lockout,
        login_gate=LoginGate(store),
        metrics_token=settings.metrics_token,
        registry=registry,
        login_failures=Counter("vigil_login_failures", "failed login attempts", registry=registry),
        audit=AuditLog(
            store,
            settings.data_dir,
            durability=config.audit.durability,
            sync_interval=config.audit.sync_interval_s,
            witness=settings.announce if config.audit.anchors_to_log else None,
        ),
        units=units,
        incidents=Incidents(store, units, bus, lock_window=camera_window(config.cameras)),
    )
    registry.register(system.LiveCollector(state))
    registry.register(OnvifCollector())  # this process's cameras' ONVIF event subscriptions
    return state


def record_first_start(state: AppState, settings: Settings) -> None:
    """On an empty database: the first admin (its password shown once, if generated), on the
    record. Every start: the configured cameras are in the cameras table."""
    first_start = state.users.count() == 0
    generated = state.users.ensure_admin(settings.admin_password)
    if settings.admin_password is not None and not first_start:
        settings.announce(
            "VIGIL_ADMIN_PASSWORD is set, but it applies at the first start only (users exist "
            "already); to set a password now: vigil users set-password admin"
        )
    if generated is not None:
        settings.announce(
            f"Created the first user: admin, password {generated}\n"
            "It is shown only this once; change it after logging in (the Password button)."
        )
    for cam in settings.config.cameras:
        state.store.save_camera(cam.to_camera())
    if first_start:
        state.audit.append(
            SYSTEM_ACTOR,
            "users.create",
            "user",
            "admin",
            details={
                "role": "admin",
                "password": "generated, shown once" if generated else "given by the operator",
            },
        )


def record_service(state: AppState, action: str) -> None:
    """`system.start` / `system.stop`: when the service ran, so an auditor sees the gaps."""
    details: dict[str, Any] = {}
    if action == "system.start":
        details = {
            "version": __version__,
            "cameras": [c.id for c in state.config.cameras],
            "live": state.cameras.live,
        }
    state.audit.append(SYSTEM_ACTOR, action, details=details)
