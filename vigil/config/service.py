"""The service's own sections of vigil.yml: retention, audit, the base map, the bus and the
field."""

from __future__ import annotations

from typing import Literal
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, field_validator

from vigil.sections import Strict

AUDIT_MIN_DAYS = 183  # EU AI Act Art. 26(6): deployers keep the logs at least six months


class RetentionConfig(Strict):
    """How many days each class of data is kept; the purge job deletes what is older."""

    snapshots: int = Field(30, ge=1, le=36500, description="days snapshot pictures are kept")
    events: int = Field(90, ge=1, le=36500, description="days events and tracks are kept")
    plate_reads: int = Field(
        30, ge=1, le=36500, description="days plate reads that raised no alert are kept"
    )
    alerts: int = Field(
        365, ge=1, le=36500, description="days reviewed alerts are kept (candidates wait)"
    )
    audit: int = Field(365, ge=1, le=36500, description="days audit rows are kept (>= 183)")
    recordings: int = Field(7, ge=1, le=36500, description="days continuous footage is kept")
    event_recordings: int = Field(
        30, ge=1, le=36500, description="days footage around events and alerts is kept"
    )
    positions: int = Field(
        7, ge=1, le=36500, description="days units' reported positions are kept (personal data)"
    )

    @field_validator("audit")
    @classmethod
    def _audit_six_months(cls, days: int) -> int:
        if days < AUDIT_MIN_DAYS:
            raise ValueError(
                f"audit logs must be kept at least {AUDIT_MIN_DAYS} days (six months, "
                f"EU AI Act Art. 26(6)); set retention.audit to {AUDIT_MIN_DAYS} or more"
            )
        return days


class FieldConfig(Strict):
    """Units in the field and their phones (/field)."""

    radius_m: float = Field(
        1000, gt=0, le=100_000, description="a field unit sees alerts and incidents this near"
    )
    report_every_s: float = Field(
        5, ge=1, le=600, description="how often the field app reports its position"
    )
    trail_minutes: float = Field(
        10, gt=0, le=60, description="how much of each unit's track the live map draws"
    )
    recent_hours: float = Field(
        12, gt=0, le=168, description="how old an alert near a unit may be for it to be shown"
    )
    max_clock_skew_s: float = Field(
        30, ge=0, le=3600, description="a position dated further in the future is refused"
    )


class AuditConfig(Strict):
    """When audit rows reach the disk (every row is committed before the data is shown)."""

    durability: Literal["batched", "each_row"] = Field(
        "batched",
        description="batched: flushed to disk within sync_interval_s (a power cut can lose at "
        "most that much of the tail, a crash of Vigil nothing); each_row: flushed before "
        "each request is answered (slower)",
    )
    sync_interval_s: float = Field(
        1.0, gt=0, le=60, description="longest time a batched audit row waits for the disk"
    )
    anchors_to_log: bool = Field(
        True,
        description="also print each anchor of the chain's head to the server's log output, "
        "so a copy lives outside the database and data directory (vigil audit verify --anchors)",
    )


def _tile_server(template: str) -> SplitResult:
    """The parts of a tile URL template ({z}/{x}/{y} are not valid URL characters)."""
    return urlsplit(template.replace("{", "").replace("}", ""))


class MapConfig(Strict):
    """The command centre's base map. Without `tiles` it is an offline coordinate grid and the
    browser asks no third party for anything."""

    tiles: str | None = Field(
        None,
        description="tile URL template with {z}, {x} and {y}, e.g. "
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png; operators' browsers fetch tiles from "
        "there, which tells that server their address and where the map looks",
    )
    attribution: str = Field("", max_length=300, description="credit shown on the map (HTML)")
    max_native_zoom: int = Field(19, ge=0, le=24, description="deepest zoom the tiles have")

    @field_validator("tiles")
    @classmethod
    def _template(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = _tile_server(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError(f"map tiles '{url}' must be an http(s) URL")
        missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
        if missing:
            raise ValueError(f"map tiles '{url}' must contain {', '.join(missing)}")
        return url

    @property
    def tile_origin(self) -> str | None:
        """scheme://host[:port] of the tiles (allowed by the pages' content security policy)."""
        if self.tiles is None:
            return None
        parts = _tile_server(self.tiles)
        return f"{parts.scheme}://{parts.netloc}"


class BusConfig(Strict):
    """Where live messages travel. Without `url`: inside one process (`vigil serve`, `vigil
    demo`). With a NATS server: between processes and machines (`vigil worker` + `vigil serve
    --no-cameras`), kept for a while in a JetStream stream so a restarted process catches up."""

    url: str | None = Field(None, description="nats://host:4222 (omit for in-process)")
    prefix: str = Field(
        "vigil",
        pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description="subject prefix and stream name: one per Vigil installation on a server",
    )
    max_age_s: float = Field(
        3600.0, gt=0, le=30 * 86400, description="how long the stream keeps messages to replay"
    )
    max_messages: int = Field(100_000, ge=100, le=100_000_000, description="stream size limit")
    connect_timeout_s: float = Field(5.0, gt=0, le=120, description="wait for the server at start")

    @field_validator("url")
    @classmethod
    def _nats_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("nats", "tls") or not parts.hostname:
            raise ValueError(f"bus url '{url}' must look like nats://host:4222 (or tls://)")
        return url

    @property
    def stream(self) -> str:
        """The JetStream stream's name (letters, digits, - and _ only)."""
        return self.prefix.upper()


class ServerConfig(Strict):
    """How the web app faces the network."""

    secure_cookies: bool = Field(
        False,
        description="mark the session cookie Secure (set it when Vigil is behind HTTPS; a "
        "browser then never sends the cookie over plain HTTP)",
    )
    allowed_hosts: list[str] | None = Field(
        None,
        max_length=100,
        description="host names (and addresses) clients use to reach Vigil; requests naming "
        "another Host are refused (DNS rebinding). Default: loopback names, the listening "
        "address and this machine's name",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, le=1 << 30, description="largest request body accepted (413 above)"
    )
    max_upload_bytes: int = Field(
        500 * 1_048_576,
        ge=1024,
        le=1 << 40,
        description="largest clip accepted by POST /api/ingest (413 above; nothing kept)",
    )

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str] | None) -> list[str] | None:
        for host in hosts or []:
            if not host or any(c in host for c in "/ @?#") or len(host) > 253:
                raise ValueError(f"'{host}' is not a host name or address (no scheme, no path)")
        return hosts
