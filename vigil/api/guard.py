"""What every request meets before any route: the Host it names, and the size of its body.

- Host: only the names clients are meant to use (`server.allowed_hosts`; default: loopback
  names, the listening address and this machine's names). A page on another site that makes
  its own name resolve to 127.0.0.1 (DNS rebinding) sends its own Host, and is refused.
- Body: at most `server.max_body_bytes`. A larger Content-Length is refused before anything is
  read (413); a body that grows past the limit while it streams is cut off (413), so no route
  ever reads or parses more than the limit.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import HTTPException

Scope = dict[str, Any]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def default_hosts(listen_host: str | None) -> list[str]:
    """Loopback names, the address listened on and this machine's names."""
    names = [*LOOPBACK_NAMES, "testserver"]  # testserver: the test client's own name
    if listen_host and listen_host not in ("0.0.0.0", "::", ""):
        names.append(listen_host)
    hostname = socket.gethostname()
    names += [hostname, socket.getfqdn(hostname)]
    if listen_host in ("0.0.0.0", "::", ""):
        with contextlib.suppress(OSError):
            names += [str(info[4][0]) for info in socket.getaddrinfo(hostname, None)]
    return sorted({n.lower() for n in names if n})


def host_of(header: str) -> str:
    """The host part of a Host header ("[::1]:8080" -> "::1", "a.example:80" -> "a.example")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RequestGuard:
    """Pure ASGI middleware: the Host check and the body limit."""

    def __init__(
        self,
        app: Any,
        allowed_hosts: Iterable[str],
        max_body_bytes: int,
        uploads: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.allowed = frozenset(h.lower() for h in allowed_hosts)
        self.max_body = max_body_bytes
        self.uploads = dict(uploads or {})  # POST path -> its own limit (a clip upload)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_of(headers.get("host", ""))
        if "*" not in self.allowed and host not in self.allowed:
            await self._refuse_host(scope, send, host)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        limit = self.max_body
        if scope.get("method") == "POST" and scope.get("path") in self.uploads:
            limit = self.uploads[scope["path"]]
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, self._too_large(limit))
            return
        await self.app(scope, self._limited(receive, limit), send)

    def _too_large(self, limit: int) -> str:
        setting = "server.max_body_bytes" if limit == self.max_body else "server.max_upload_bytes"
        return f"the request body is larger than {limit} bytes; send less ({setting})"

    def _limited(self, receive: Any, limit: int) -> Any:
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, self._too_large(limit))
            return message

        return limited

    async def _refuse_host(self, scope: Scope, send: Any, host: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4400})
            return
        shown = host[:60] or "(none)"
        await _answer(
            send,
            400,
            f"requests for host '{shown}' are not served here; "
            "add the name clients use to server.allowed_hosts",
        )


async def _answer(send: Any, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
