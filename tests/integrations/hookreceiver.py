"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 in a thread.

It answers the statuses of its `script` first (one per request), then 200. Like a careful
receiver it verifies the signature itself (hmac, independently of Vigil's code) and dedupes
on the Vigil-Delivery key: `accepted` holds each delivery once. `hold` makes it accept the
next request and then not answer until released (an answer lost on the way back)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Got:
    headers: dict[str, str]
    body: bytes
    signed: bool  # the signature verified with the receiver's secret
    path: str


def verify(secret: bytes, header: str, body: bytes, tolerance_s: float = 300) -> bool:
    """Stripe-style: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, t within tolerance."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - stamp) <= tolerance_s
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))


class Receiver:
    def __init__(self, secret: bytes, script: list[int | tuple[int, str]] | None = None,
                 port: int = 0, on_accept: Callable[[bytes], None] | None = None,
                 ) -> None:  # fmt: skip
        self.secret, self.on_accept = secret, on_accept
        self.script = list(script or [])
        self.got: list[Got] = []
        self.accepted: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.hold = False
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a production receiver

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                receiver.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length", "0")))
        headers = {k: v for k, v in req.headers.items()}
        signed = verify(self.secret, headers.get("Vigil-Signature", ""), body)
        with self.lock:
            self.got.append(Got(headers, body, signed, req.path))
            answer = self.script.pop(0) if self.script else 200
            code, reason = answer if isinstance(answer, tuple) else (answer, None)
            key = headers.get("Vigil-Delivery", "")
            first = 200 <= code < 300 and signed and key not in self.accepted
            if first:
                self.accepted[key] = body  # a repeat is answered 200, not kept
            hold, self.hold = self.hold, False
        if first and self.on_accept is not None:
            self.on_accept(body)
        if hold:
            self.release.wait(30)  # accepted, but the answer comes too late
            return
        req.send_response(code, reason)
        req.send_header("Content-Length", "0")
        req.end_headers()
