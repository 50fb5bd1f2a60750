"""The `mqtt:` section of vigil.yml: an MQTT broker Vigil publishes to (counts, events, alerts,
Home Assistant discovery) and takes alert acknowledgements from.

Without an `mqtt:` section Vigil talks to no broker (the default)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator, model_validator

from vigil.sections import Strict

TOPIC_PART = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # no '/', '+', '#': one level of a topic
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
PASSWORD_ENV = "VIGIL_MQTT_PASSWORD"  # the broker password, kept out of vigil.yml


class MqttSendConfig(Strict):
    """What may leave Vigil through the broker beyond counts, events and alerts (never a face
    picture, a face template or whom a face matched)."""

    snapshots: bool = Field(
        False,
        description="give events and alerts the path of their snapshot (opening it still "
        "needs a Vigil login and is audited); the picture itself is never published",
    )
    plates: bool = Field(False, description="publish the plate text of plate reads")


class MqttCommandUser(Strict):
    """Who may send commands: a name, the Vigil user it acts as, and the secret it proves
    itself with (in the command's payload: an anonymous broker cannot say who published)."""

    vigil_user: str = Field(min_length=1, description="the Vigil user (operator or above)")
    token: str = Field(min_length=16, description="the secret the command must carry")


class MqttCommandsConfig(Strict):
    user_map: dict[str, MqttCommandUser] = Field(
        default_factory=dict,
        description="<name in the command's payload>: {vigil_user, token}; empty: no command "
        "is taken",
    )


class MqttConfig(Strict):
    """An MQTT broker (Mosquitto, EMQX, Home Assistant's add-on) Vigil joins as a client."""

    url: str = Field(description="mqtt://host:1883 or mqtts://host:8883 (TLS)")
    username: str | None = Field(None, description="broker login (else from the url)")
    password: str | None = Field(
        None, description=f"broker password (else from the url, else ${PASSWORD_ENV})"
    )
    ca: Path | None = Field(None, description="mqtts: the CA of the broker's certificate")
    client_id: str | None = Field(None, max_length=64, description="MQTT client id")
    topic_prefix: str = Field("vigil", description="first level of every topic Vigil uses")
    discovery: bool = Field(True, description="publish Home Assistant MQTT discovery")
    discovery_prefix: str = Field("homeassistant", description="Home Assistant's prefix")
    send: MqttSendConfig = Field(default_factory=MqttSendConfig)
    commands: MqttCommandsConfig = Field(default_factory=MqttCommandsConfig)
    keepalive_s: int = Field(30, ge=5, le=3600, description="the broker ends a silent link")
    reconnect_min_s: float = Field(1.0, gt=0, le=600, description="first wait to reconnect")
    reconnect_max_s: float = Field(60.0, gt=0, le=3600, description="longest wait to reconnect")
    queue_size: int = Field(
        1000, ge=10, le=1_000_000, description="messages kept while the broker is away"
    )
    count_every_s: float = Field(
        300, ge=1, le=3600, description="how often the numbers sent go to the audit log"
    )

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, url: str) -> str:
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError(f"mqtt url '{url}' has a port that is not a number") from None
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(
                f"mqtt url '{url}' must look like mqtt://host:1883 or mqtts://host:8883"
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"mqtt url '{url}' is scheme://[user:password@]host[:port] only")
        return url

    @field_validator("topic_prefix", "discovery_prefix")
    @classmethod
    def _topic_part(cls, value: str) -> str:
        if not TOPIC_PART.match(value):
            raise ValueError(
                f"mqtt prefix '{value}' must be 1-64 letters, digits, '_' or '-' (no '/', "
                "'+' or '#')"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MqttConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("mqtt reconnect_max_s must not be less than reconnect_min_s")
        if self.ca is not None and not self.tls:
            raise ValueError("mqtt ca is for an mqtts:// url; remove it or use mqtts://")
        if self.ca is not None and not self.ca.is_file():
            raise ValueError(f"mqtt ca '{self.ca}' does not exist; check the path")
        return self

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or DEFAULT_PORTS[parts.scheme]

    @property
    def login(self) -> tuple[str | None, str | None]:
        parts = urlsplit(self.url)
        user = self.username or (unquote(parts.username) if parts.username else None)
        password = self.password or (unquote(parts.password) if parts.password else None)
        return user, password or os.environ.get(PASSWORD_ENV) or None

    @property
    def server(self) -> str:
        """host:port, as said in logs, health and the audit log (never a password)."""
        return f"{self.host}:{self.port}"
