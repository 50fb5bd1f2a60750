"""Sections of vigil.yml for the systems Vigil talks to: `tak` (a TAK server, Cursor-on-Target).

Without a `tak:` section Vigil talks to no TAK server (the default)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from vigil.sections import Strict

# The team colours TAK clients know (ATAK's <__group name=...>).
TAK_TEAMS = (
    "White", "Yellow", "Orange", "Magenta", "Red", "Maroon", "Purple", "Dark Blue", "Blue",
    "Cyan", "Teal", "Green", "Dark Green", "Brown",
)  # fmt: skip


class TakSendConfig(Strict):
    """What Vigil sends to the TAK server (each only what a field unit may see)."""

    units: bool = Field(True, description="Vigil's units with a recent position")
    cameras: bool = Field(True, description="cameras with a position, linked to their page")
    incidents: bool = Field(True, description="incidents under way, linked to their page")
    alerts: bool = Field(
        True,
        description="alerts of cameras with a position (a face match only once two people "
        "confirmed it, and never whom it matched)",
    )


class TakConfig(Strict):
    """A TAK server (TAK Server, FreeTAKServer, taky) that Vigil joins as a client: it sends
    Cursor-on-Target for units, cameras, incidents and alerts, and turns the positions of
    ATAK / WinTAK / iTAK users into units."""

    url: str = Field(description="tcp://host:8087 or tls://host:8089")
    cert: Path | None = Field(None, description="tls: the client certificate (PEM or .p12)")
    key: Path | None = Field(None, description="tls: the client certificate's key (PEM)")
    ca: Path | None = Field(None, description="tls: the CA that signed the server's certificate")
    verify_hostname: bool = Field(
        True, description="tls: the server's certificate must name the url's host"
    )
    uid_prefix: str = Field(
        "vigil-",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$",
        description="start of the uid of everything Vigil sends (vigil-incident-7); events "
        "coming back with it are Vigil's own and ignored",
    )
    callsign_prefix: str = Field(
        "", pattern=r"^[A-Za-z0-9 _.\-/]{0,16}$", description="put before every callsign sent"
    )
    team: str = Field("Cyan", description=f"the TAK team of Vigil's units: {', '.join(TAK_TEAMS)}")
    public_url: str | None = Field(
        None,
        description="https://vigil.example.org: where TAK users open Vigil's pages (links of "
        "incidents and alerts, the cameras' video); without it nothing sent has a link",
    )
    send: TakSendConfig = Field(default_factory=TakSendConfig)
    snapshots: bool = Field(
        False,
        description="give alerts a link to their snapshot (opening it still needs a Vigil "
        "login and is audited); the picture itself is never sent",
    )
    plates: bool = Field(False, description="say the plate read in a plate alert's remarks")
    stale_s: float = Field(
        120, ge=30, le=86400, description="how long what Vigil sends stays on TAK maps"
    )
    max_position_age_s: float = Field(
        600, ge=10, le=86400, description="a unit whose last position is older is not sent"
    )
    reconnect_min_s: float = Field(1.0, gt=0, le=600, description="first wait to reconnect")
    reconnect_max_s: float = Field(60.0, gt=0, le=3600, description="longest wait to reconnect")
    connect_timeout_s: float = Field(10.0, gt=0, le=120, description="wait for the server")
    queue_size: int = Field(
        1000,
        ge=10,
        le=1_000_000,
        description="messages kept while the server is away (one per object: a newer one "
        "replaces the older; beyond this the oldest is dropped, and counted)",
    )
    count_every_s: float = Field(
        300,
        ge=10,
        le=3600,
        description="how often the numbers sent are written to the audit log (also at each "
        "disconnect and stop)",
    )

    @field_validator("url")
    @classmethod
    def _tak_url(cls, url: str) -> str:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
            raise ValueError(f"tak url '{url}' must look like tcp://host:8087 or tls://host:8089")
        if parts.username or parts.password or parts.path not in ("", "/") or parts.query:
            raise ValueError(f"tak url '{url}' is scheme://host:port only (no user, path, query)")
        return url

    @field_validator("team")
    @classmethod
    def _team(cls, team: str) -> str:
        if team not in TAK_TEAMS:
            raise ValueError(f"tak team '{team}' is not one of {', '.join(TAK_TEAMS)}")
        return team

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"tak public_url '{url}' must be an http(s) URL")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError(
                f"tak public_url '{url}' must hold no user name, password, query or fragment "
                "(it is sent to every TAK user)"
            )
        return url.rstrip("/")

    @model_validator(mode="after")
    def _tls_files(self) -> TakConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("tak reconnect_max_s must not be less than reconnect_min_s")
        if not self.tls:
            if self.cert or self.key or self.ca:
                raise ValueError("tak cert, key and ca are for a tls:// url; remove them")
            return self
        if self.cert is None or self.ca is None:
            raise ValueError(
                "a tls:// TAK server needs cert (Vigil's client certificate) and ca (the CA "
                "of the server's certificate)"
            )
        if self.key is None and self.cert.suffix.lower() != ".p12":
            raise ValueError("tak key is needed with a PEM cert (a .p12 holds its own key)")
        for what, path in (("cert", self.cert), ("key", self.key), ("ca", self.ca)):
            if path is not None and not path.is_file():
                raise ValueError(f"tak {what} '{path}' does not exist; check the path")
        return self

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "tls"

    @property
    def server(self) -> str:
        """host:port, as said in logs and the audit log."""
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port}"
