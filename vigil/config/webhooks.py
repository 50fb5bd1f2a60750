"""The `webhooks:` section of vigil.yml: receivers Vigil POSTs signed JSON to (see
vigil.integrations.webhooks). Without it Vigil POSTs nowhere."""

from __future__ import annotations

import ipaddress
import os

from pydantic import Field, field_validator, model_validator

from vigil.domain import EventType
from vigil.sections import Strict

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class WebhookSendConfig(Strict):
    """What a webhook's deliveries may hold beyond the event or alert itself (never face
    data: face-match events and alerts are never delivered)."""

    snapshots: bool = Field(
        False,
        description="keep the snapshot_url (opening it still needs a Vigil login and is "
        "audited); the picture itself is never sent",
    )
    plates: bool = Field(False, description="keep the plate read (attributes.read) of plate events")


class WebhookConfig(Strict):
    """One receiver: events of some types, or the alerts of some rules, POSTed as JSON and
    signed (vigil.integrations.webhooks)."""

    name: str = Field(pattern=NAME_PATTERN)
    url: str = Field(description="http(s)://host/path the deliveries are POSTed to")
    secret: str | None = Field(None, min_length=16, description="the HMAC key (16+ characters)")
    secret_env: str | None = Field(
        None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="or: the environment variable holding it"
    )
    events: list[EventType] | None = Field(None, min_length=1, description="event types to send")
    rules: list[str] | None = Field(None, min_length=1, description="rules whose alerts to send")
    send: WebhookSendConfig = Field(default_factory=WebhookSendConfig)
    timeout_s: float = Field(10.0, gt=0, le=120, description="wait for the receiver's answer")
    max_attempts: int = Field(8, ge=1, le=50, description="then the delivery is dead-lettered")
    retry_base_s: float = Field(1.0, gt=0, le=3600, description="wait before the 2nd attempt")
    retry_max_s: float = Field(600.0, gt=0, le=86400, description="longest wait between two")
    queue_size: int = Field(10_000, ge=10, le=1_000_000, description="deliveries under way")
    allow_private: bool = Field(
        False, description="allow loopback and private addresses (10/8, 192.168/16, ...)"
    )
    deny_networks: list[str] = Field(
        default_factory=list, description="more networks (CIDR) never to deliver to"
    )

    @model_validator(mode="after")
    def _checked(self) -> WebhookConfig:
        from vigil.integrations.netcheck import AddressRefused, check_url

        if (self.secret is None) == (self.secret_env is None):
            raise ValueError(f"webhook '{self.name}' needs one of secret or secret_env")
        if self.secret_env is not None and len(os.environ.get(self.secret_env, "")) < 16:
            raise ValueError(
                f"webhook '{self.name}': set the environment variable {self.secret_env} to "
                "the secret (16 characters or more)"
            )
        if not self.events and not self.rules:
            raise ValueError(f"webhook '{self.name}' needs events (types) or rules (names)")
        if EventType.FACE_MATCH in (self.events or []):
            raise ValueError(f"webhook '{self.name}': face matches are never sent by webhook")
        if self.retry_max_s < self.retry_base_s:
            raise ValueError(f"webhook '{self.name}': retry_max_s is less than retry_base_s")
        try:
            check_url(self.url, allow_private=self.allow_private, deny=self.denied)
        except AddressRefused as exc:
            raise ValueError(f"webhook '{self.name}' url {exc}") from None
        return self

    @field_validator("deny_networks")
    @classmethod
    def _networks(cls, nets: list[str]) -> list[str]:
        for net in nets:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"deny_networks: '{net}' is not a network (10.1.0.0/16)") from None
        return nets

    @property
    def denied(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(n, strict=False) for n in self.deny_networks]

    @property
    def key(self) -> bytes:
        """The HMAC key (from the environment when secret_env names it)."""
        text = self.secret if self.secret is not None else os.environ.get(self.secret_env or "")
        return (text or "").encode()
