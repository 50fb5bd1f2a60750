"""A camera's `onvif:` section: the camera's own ONVIF service, whose PullPoint events (motion,
tampering) become Vigil events and can wake the detector while the motion gate sleeps.

    cameras:
      - id: gate
        source: rtsp://gate.example/stream1
        onvif: {host: 192.0.2.10, port: 80, user: vigil, password_env: VIGIL_GATE_PASSWORD}

The password is never written in vigil.yml: `password_env` names the environment variable
that holds it."""

from __future__ import annotations

import os

from pydantic import Field, model_validator

from vigil.sections import Strict


class OnvifConfig(Strict):
    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]_-]+$")
    port: int = Field(80, ge=1, le=65535, description="the camera's ONVIF (HTTP) port")
    user: str | None = Field(None, min_length=1, max_length=64)
    password_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        description="the environment variable holding the ONVIF user's password",
    )
    events: bool = Field(True, description="subscribe to the camera's motion and tamper events")
    wake_s: float = Field(
        10.0,
        ge=0.0,
        le=600.0,
        description="seconds the detector runs on every frame (at detect.fps) after the "
        "camera reports motion, whatever the motion gate sees; 0: events only",
    )
    subscription_s: float = Field(
        60.0, ge=10.0, le=3600.0, description="how long a subscription lasts before renewal"
    )
    pull_timeout_s: float = Field(
        5.0, ge=1.0, le=60.0, description="how long one PullMessages waits for messages"
    )
    reconnect_min_s: float = Field(1.0, gt=0.0, le=600.0)
    reconnect_max_s: float = Field(60.0, gt=0.0, le=3600.0)

    @model_validator(mode="after")
    def _consistent(self) -> OnvifConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("onvif reconnect_max_s must not be less than reconnect_min_s")
        if self.password_env and not self.user:
            raise ValueError("onvif password_env needs a user")
        if self.pull_timeout_s >= self.subscription_s / 2:
            raise ValueError("onvif pull_timeout_s must be under half of subscription_s")
        return self

    def password(self) -> str | None:
        """The password from the environment (None without password_env or when unset)."""
        return os.environ.get(self.password_env) if self.password_env else None

    @property
    def address(self) -> str:
        """host:port, as said in logs."""
        return f"{self.host}:{self.port}"
