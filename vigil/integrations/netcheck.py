"""Where Vigil may send an outbound HTTP request (webhooks): http(s) URLs only, and never to
an address a server-side request forgery aims at.

Never: link-local addresses (169.254.0.0/16, fe80::/10: where clouds put their instance
metadata), the metadata endpoints themselves (169.254.169.254, fd00:ec2::254,
metadata.google.internal), unspecified, multicast and reserved addresses, and whatever
networks vigil.yml adds (`deny_networks`). Loopback and private networks (10/8, 172.16/12,
192.168/16, 100.64/10, fc00::/7) only with an explicit `allow_private: true`.

The URL is checked when vigil.yml is read (an IP literal, a metadata name) and its host is
resolved again at every delivery, each address checked, and the request sent to the checked
address (so a name that resolves somewhere else by then, DNS rebinding, is refused)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in effect


class AddressRefused(ValueError):
    """An address or URL Vigil will not send to; the message says why and what to change."""


def _unwrapped(ip: IP) -> IP:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def refusal(
    address: str, *, allow_private: bool = False, deny: Iterable[Network] = ()
) -> str | None:
    """Why `address` (an IP literal) may not be sent to; None when it may."""
    try:
        ip = _unwrapped(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return f"'{address}' is not an IP address"
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if any(ip in net for net in LINK_LOCAL):
        return f"{ip} is link-local (where cloud metadata services answer)"
    for net in deny:
        if ip.version == net.version and ip in net:
            return f"{ip} is in {net}, which deny_networks refuses"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return f"{ip} is not an address to send to (unspecified, multicast or reserved)"
    if ip.is_loopback and not allow_private:
        return f"{ip} is loopback; set allow_private: true to deliver to this machine"
    if (ip.is_private or ip in SHARED) and not allow_private:
        return f"{ip} is a private address; set allow_private: true to deliver inside the network"
    return None


def check_url(url: str, *, allow_private: bool = False, deny: Iterable[Network] = ()) -> str:
    """The URL if Vigil may send to it as written (scheme, host; an IP literal checked);
    AddressRefused naming the problem otherwise. A host name is checked at delivery."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused(f"'{url}' must be an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise AddressRefused(f"'{url}' has a port that is not a number") from None
    if parts.username or parts.password:
        raise AddressRefused(f"'{url}' must hold no user name or password; use the secret")
    host = parts.hostname.rstrip(".").lower()
    if host in METADATA_HOSTS:
        raise AddressRefused(f"'{host}' is a cloud metadata service; webhooks never go there")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return url  # a name: resolved and checked at each delivery
    why = refusal(host, allow_private=allow_private, deny=deny)
    if why is not None:
        raise AddressRefused(f"'{url}': {why}")
    return url
