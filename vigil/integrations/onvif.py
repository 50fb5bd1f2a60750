"""ONVIF cameras: found by WS-Discovery, read with onvif-zeep-async (device information, media
profiles, stream URIs), written out as vigil.yml camera blocks (`vigil cameras discover`,
`vigil cameras add`).

WS-Discovery is a multicast probe (239.255.255.250:3702) from every non-loopback IPv4
address of this machine; cameras answer with their service address (XAddrs). It does not
cross routers, and does not work on loopback: a camera in another subnet is added by
address (`vigil cameras add HOST[:PORT]`).

The password is never printed unless asked for (`--show-password`): a block's `source:` is
the stream URI without it, and its `onvif:` section names the environment variable that
holds it (`password_env`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import yaml

from vigil.errors import VigilError
from vigil.logtext import escape

log = logging.getLogger(__name__)
NVT_NS = "http://www.onvif.org/ver10/network/wsdl"  # dn:NetworkVideoTransmitter
NAME_SCOPE = "onvif://www.onvif.org/name/"
DEFAULT_TIMEOUT_S = 10.0


class OnvifError(VigilError):
    """An ONVIF camera cannot be found, reached or read."""


@dataclass(frozen=True, slots=True)
class Found:
    """A device that answered the WS-Discovery probe."""

    epr: str  # its endpoint reference (urn:uuid:...)
    xaddrs: tuple[str, ...]  # its device service URLs
    scopes: tuple[str, ...]

    @property
    def name(self) -> str | None:
        for scope in self.scopes:
            if scope.startswith(NAME_SCOPE):
                return unquote(scope[len(NAME_SCOPE) :])
        return None

    @property
    def host_port(self) -> tuple[str, int]:
        """The host and port of its first http(s) service address."""
        for xaddr in self.xaddrs:
            parts = urlsplit(xaddr)
            if parts.scheme in ("http", "https") and parts.hostname:
                return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        raise OnvifError(f"device {escape(self.epr, 80)} answered with no http service address")


@dataclass(frozen=True, slots=True)
class Profile:
    token: str
    name: str
    uri: str | None  # the RTSP stream URI; None where the camera gave none
    encoding: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Device:
    host: str
    port: int
    manufacturer: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    name: str | None = None  # from the discovery scopes, where it was discovered
    profiles: tuple[Profile, ...] = field(default_factory=tuple)


# -- discovery ---------------------------------------------------------------------------------


def local_addresses() -> list[str]:
    """The IPv4 addresses WS-Discovery probes from (not loopback, not link-local)."""
    import socket

    from wsdiscovery.util import _getNetworkAddrs

    return [str(a) for a in _getNetworkAddrs(socket.AF_INET)]


def discover(
    timeout: float = 3.0, scope: str | None = None, interface: str | None = None
) -> list[Found]:
    """The ONVIF video transmitters that answer a WS-Discovery probe within `timeout`.

    `scope`: only devices with this scope (onvif://www.onvif.org/name/Lobby...).
    `interface`: probe from this local address only."""
    from wsdiscovery import QName, Scope
    from wsdiscovery.discovery import ThreadedWSDiscovery

    addresses = local_addresses()
    if interface is not None and interface not in addresses:
        shown = ", ".join(addresses) or "none"
        raise OnvifError(
            f"--interface {escape(interface, 60)} is not an address of this machine that "
            f"WS-Discovery can use (these are: {shown})"
        )
    if not addresses:
        raise OnvifError(
            "this machine has no network address to probe from (only loopback); WS-Discovery "
            "needs a network interface with multicast: add the camera with `vigil cameras add`"
        )
    wsd = ThreadedWSDiscovery()
    wsd.start()
    try:
        if interface is not None:
            for other in addresses:
                if other != interface:
                    wsd.removeSourceAddr(other)
        services = wsd.searchServices(
            types=[QName(NVT_NS, "NetworkVideoTransmitter")],
            scopes=[Scope(scope)] if scope else None,
            timeout=timeout,
        )
        found = [
            Found(
                str(s.getEPR()),
                tuple(str(x) for x in s.getXAddrs()),
                tuple(str(sc.getValue()) for sc in s.getScopes()),
            )
            for s in services
        ]
    finally:
        wsd.stop()
    return sorted(found, key=lambda f: f.xaddrs)


def nothing_found(timeout: float, scope: str | None, interface: str | None) -> OnvifError:
    where = interface or ", ".join(local_addresses())
    what = f" with scope {escape(scope, 100)}" if scope else ""
    return OnvifError(
        f"no ONVIF camera{what} answered a WS-Discovery probe from {where} within {timeout:g} s; "
        "discovery needs multicast (239.255.255.250, UDP 3702) on the camera's network segment "
        "(not across routers, not on loopback): check the interface, try a longer --timeout, or "
        "add the camera by address with `vigil cameras add HOST[:PORT]`"
    )


# -- reading a device --------------------------------------------------------------------------


def parse_address(text: str) -> tuple[str, int]:
    """HOST, HOST:PORT, [v6]:PORT or http://HOST:PORT/... -> (host, port); port 80 by default."""
    raw = text.strip()
    parts = urlsplit(raw if "://" in raw else f"http://{raw}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = -1
    host = parts.hostname or ""
    if not host or port <= 0 or not re.fullmatch(r"[A-Za-z0-9.:_-]+", host):
        raise OnvifError(f"'{escape(text, 100)}' is not a camera address; give HOST or HOST:PORT")
    return host, port


def read(
    host: str, port: int, user: str | None, password: str | None, timeout: float = DEFAULT_TIMEOUT_S
) -> Device:
    """The device's information, media profiles and their stream URIs; OnvifError naming the
    problem (nothing answers, credentials refused, not ONVIF, no answer in time)."""
    where = f"{host}:{port}"
    try:
        return asyncio.run(asyncio.wait_for(_read(host, port, user, password), timeout))
    except TimeoutError:
        raise OnvifError(
            f"ONVIF device {where} did not answer within {timeout:g} s; check the address and "
            "port, or give it longer with --timeout"
        ) from None
    except OnvifError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line naming it
        raise explain(exc, where, user) from None


async def _read(host: str, port: int, user: str | None, password: str | None) -> Device:
    from onvif import ONVIFCamera

    cam = ONVIFCamera(host, port, user or "", password or "", adjust_time=True)
    try:
        await cam.update_xaddrs()
        mgmt = await cam.create_devicemgmt_service()
        info = await mgmt.GetDeviceInformation()
        media = await cam.create_media_service()
        profiles = []
        for p in await media.GetProfiles() or []:
            profiles.append(await _profile(media, p))
    finally:
        with contextlib.suppress(Exception):
            await cam.close()
    return Device(
        host, port, _text(info, "Manufacturer"), _text(info, "Model"),
        _text(info, "SerialNumber"), _text(info, "FirmwareVersion"), profiles=tuple(profiles),
    )  # fmt: skip


async def _profile(media: Any, p: Any) -> Profile:
    token = str(p.token)
    uri: str | None = None
    with contextlib.suppress(Exception):  # a profile without a stream (metadata, audio)
        answer = await media.GetStreamUri(
            {"StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
             "ProfileToken": token}
        )  # fmt: skip
        uri = str(answer.Uri) if getattr(answer, "Uri", None) else None
    enc = getattr(p, "VideoEncoderConfiguration", None)
    res = getattr(enc, "Resolution", None)
    return Profile(
        token, str(getattr(p, "Name", "") or token), uri,
        str(enc.Encoding) if enc is not None and getattr(enc, "Encoding", None) else None,
        int(res.Width) if res is not None else None, int(res.Height) if res is not None else None,
    )  # fmt: skip


def _text(obj: Any, name: str) -> str:
    value = getattr(obj, name, None)
    return str(value).strip() if value is not None else ""


def explain(exc: BaseException, where: str, user: str | None) -> OnvifError:
    """One line for what went wrong talking to an ONVIF device."""
    chain = _chain(exc)
    text = " ".join(f"{type(e).__name__} {e}" for e in chain).lower()
    if any(isinstance(e, TimeoutError) for e in chain) or "timeout" in text:
        return OnvifError(f"ONVIF device {where} did not answer in time; check the address")
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connect call failed" in text:
        return OnvifError(
            f"nothing accepts connections at {where}; check the address and the camera's ONVIF "
            "port (often 80, 8080 or 8000) and that ONVIF is turned on in the camera"
        )
    auth = ("notauthorized", "not authorized", "unauthorized", "401", "authority failure")
    if any(word in text for word in auth):
        who = f"user '{escape(user, 64)}'" if user else "no user (give --user and --password-env)"
        return OnvifError(
            f"ONVIF device {where} refused the credentials of {who}; check the user and the "
            "password (and that the camera's clock is roughly right)"
        )
    if "support service" in text:  # onvif-zeep-async: "Device doesn`t support service: ..."
        return OnvifError(
            f"ONVIF device {where} does not offer the service asked of it ({escape(exc, 120)})"
        )
    if isinstance(exc, OSError | ConnectionError) or "cannot connect" in text:
        return OnvifError(f"cannot reach {where} ({escape(exc, 120)}); check the address")
    return OnvifError(
        f"{where} does not answer as an ONVIF device ({escape(type(exc).__name__, 40)}: "
        f"{escape(exc, 160)}); check that the address is the camera's ONVIF service"
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


# -- vigil.yml blocks --------------------------------------------------------------------------


def camera_id(device: Device, profile: Profile, many: bool) -> str:
    """A camera id for vigil.yml from the device's name (or model, or host) and profile."""
    base = device.name or device.model or device.host
    if many:
        base = f"{base}-{profile.name or profile.token}"
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", base.strip().lower()).strip("_.-")
    return (cleaned or "camera")[:64]


def stream_source(uri: str, user: str | None, password: str | None, show: bool) -> str:
    """The stream URI with the user in it; with the password only when `show`."""
    parts = urlsplit(uri)
    if not user or parts.username:
        if parts.password and not show:
            netloc = f"{parts.username}@{_hostport(parts)}"
            return urlunsplit(parts._replace(netloc=netloc))
        return uri
    secret = f":{quote(password, safe='')}" if show and password else ""
    netloc = f"{quote(user, safe='')}{secret}@{_hostport(parts)}"
    return urlunsplit(parts._replace(netloc=netloc))


def _hostport(parts: Any) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def camera_blocks(
    device: Device,
    user: str | None,
    password: str | None,
    password_env: str | None,
    show_password: bool = False,
) -> list[dict[str, Any]]:
    """One vigil.yml camera per profile with a stream URI (the camera's `cameras:` items)."""
    streams = [p for p in device.profiles if p.uri]
    blocks: list[dict[str, Any]] = []
    taken: set[str] = set()
    for profile in streams:
        assert profile.uri is not None
        cid = camera_id(device, profile, len(streams) > 1)
        while cid in taken:
            cid = f"{cid[:60]}-{len(taken)}"
        taken.add(cid)
        what = " ".join(x for x in (device.manufacturer, device.model) if x)
        size = f" {profile.width}x{profile.height}" if profile.width and profile.height else ""
        block: dict[str, Any] = {
            "id": cid,
            "name": f"{device.name or what or device.host} ({profile.name}{size})",
            "source": stream_source(profile.uri, user, password, show_password),
            "onvif": {"host": device.host, "port": device.port},
        }
        if user:
            block["onvif"]["user"] = user
            if password_env:
                block["onvif"]["password_env"] = password_env
        blocks.append(block)
    return blocks


def blocks_yaml(device: Device, blocks: Sequence[dict[str, Any]], user: str | None) -> str:
    """The blocks as YAML under a comment naming the device (and how to add a password)."""
    what = " ".join(x for x in (device.manufacturer, device.model, device.firmware) if x)
    head = [f"# ONVIF {device.host}:{device.port}: {what or 'unknown model'}"]
    if device.serial:
        head[0] += f", serial {device.serial}"
    if not blocks:
        head.append("# no profile with an RTSP stream URI")
        return "\n".join(head) + "\n"
    if user and not any(urlsplit(b["source"]).password for b in blocks):
        head.append(
            "# source: the stream URI without the password; vigil.yml does not read it from the"
        )
        head.append("# environment, so put it in the URI yourself if the stream asks for one")
    body = yaml.safe_dump(list(blocks), sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(head) + "\n" + body
