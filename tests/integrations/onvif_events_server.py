"""A small ONVIF event service for the tests: a real HTTP SOAP 1.2 server answering what an
ONVIF client asks of a camera's events (GetServices, GetSystemDateAndTime,
CreatePullPointSubscription, PullMessages as a long poll, Renew, Unsubscribe) with ONVIF's
own XML. ipycam, the test camera, has no events service.

With a user and password it checks each request's WS-Security UsernameToken (PasswordDigest,
as ONVIF devices do) and answers an unauthenticated one with a 401 NotAuthorized fault.
`push()` queues a notification for the next PullMessages.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
}
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:tev="http://www.onvif.org/ver10/events/wsdl" '
    'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" '
    'xmlns:wsa5="http://www.w3.org/2005/08/addressing" '
    'xmlns:ter="http://www.onvif.org/ver10/error" '
    'xmlns:tns1="http://www.onvif.org/ver10/topics">'
    "<s:Body>{body}</s:Body></s:Envelope>"
)
SERVICES = (
    ("http://www.onvif.org/ver10/device/wsdl", "/onvif/device_service"),
    ("http://www.onvif.org/ver10/events/wsdl", "/onvif/events_service"),
)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _seconds(duration: str | None, default: float) -> float:
    match = re.fullmatch(r"PT(?:(\d+)M)?(\d+(?:\.\d+)?)S", (duration or "").strip())
    if not match:
        return default
    return int(match.group(1) or 0) * 60 + float(match.group(2))


class EventsServer:
    """Start with `start()`; `url` is its device service; `stop()` ends it."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.user, self.password = user, password
        self.calls: Counter[str] = Counter()
        self.refused = 0
        self._queue: list[str] = []
        self._cond = threading.Condition()
        self._subscriptions: dict[str, datetime] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EventsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, call: str, count: int = 1, timeout: float = 20.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.calls[call] >= count:
                return True
            time.sleep(0.05)
        return False

    def push(self, topic: str, data: dict[str, str], source: dict[str, str] | None = None,
             operation: str = "Changed") -> None:  # fmt: skip
        """Queue one notification (`topic` as a camera writes it: tns1:VideoSource/...)."""

        def items(d: dict[str, str]) -> str:
            return "".join(f"<tt:SimpleItem Name={quoteattr(k)} Value={quoteattr(v)}/>"
                           for k, v in d.items())  # fmt: skip

        src = source if source is not None else {"VideoSourceConfigurationToken": "VideoSource_1"}
        message = (
            "<wsnt:NotificationMessage>"
            '<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
            f"{topic}</wsnt:Topic>"
            "<wsnt:Message>"
            f'<tt:Message UtcTime="{_iso(_now())}" PropertyOperation="{operation}">'
            f"<tt:Source>{items(src)}</tt:Source><tt:Data>{items(data)}</tt:Data>"
            "</tt:Message></wsnt:Message></wsnt:NotificationMessage>"
        )
        with self._cond:
            self._queue.append(message)
            self._cond.notify_all()

    # -- answering -------------------------------------------------------------------------

    def _authorised(self, root: ET.Element) -> bool:
        if not self.user:
            return True
        token = root.find(".//wsse:UsernameToken", NS)
        if token is None:
            return False
        name = token.findtext("wsse:Username", "", NS)
        pw = token.find("wsse:Password", NS)
        nonce = token.findtext("wsse:Nonce", "", NS)
        created = token.findtext("wsu:Created", "", NS)
        if name != self.user or pw is None or not pw.text:
            return False
        if "PasswordText" in (pw.get("Type") or ""):
            return pw.text == self.password
        raw = base64.b64decode(nonce) + created.encode() + (self.password or "").encode()
        return base64.b64encode(hashlib.sha1(raw).digest()).decode() == pw.text.strip()

    def answer(self, path: str, body: bytes) -> tuple[int, str]:
        root = ET.fromstring(body)
        request = root.find("s:Body", NS)
        if request is None or len(request) == 0:
            return 400, self._fault("s:Sender", "ter:InvalidArgVal", "no request in the body")
        element = request[0]
        action = element.tag.rsplit("}", 1)[-1]
        if not self._authorised(root):
            self.refused += 1
            return 401, self._fault("s:Sender", "ter:NotAuthorized", "Sender not Authorized")
        self.calls[action] += 1
        handler = getattr(self, f"_do_{action}", None)
        if handler is None:
            return 400, self._fault("s:Sender", "ter:ActionNotSupported", action)
        return 200, ENVELOPE.format(body=handler(path, element))

    def _fault(self, code: str, subcode: str, reason: str) -> str:
        return ENVELOPE.format(
            body=f"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}"
            f'</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">{reason}'
            "</s:Text></s:Reason></s:Fault>"
        )

    def _do_GetSystemDateAndTime(self, _path: str, _el: ET.Element) -> str:  # noqa: N802
        t = _now()
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            "<tt:UTCDateTime>"
            f"<tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute>"
            f"<tt:Second>{t.second}</tt:Second></tt:Time>"
            f"<tt:Date><tt:Year>{t.year}</tt:Year><tt:Month>{t.month}</tt:Month>"
            f"<tt:Day>{t.day}</tt:Day></tt:Date>"
            "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    def _do_GetServices(self, _path: str, _el: ET.Element) -> str:  # noqa: N802
        services = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{self.base}{path}"
            "</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>"
            "</tds:Version></tds:Service>"
            for ns, path in SERVICES
        )
        return f"<tds:GetServicesResponse>{services}</tds:GetServicesResponse>"

    def _do_CreatePullPointSubscription(self, _path: str, el: ET.Element) -> str:  # noqa: N802
        asked = el.findtext("{*}InitialTerminationTime")
        now = _now()
        ends = now + timedelta(seconds=_seconds(asked, 60))
        name = f"/onvif/subscription/{len(self._subscriptions) + 1}"
        self._subscriptions[name] = ends
        return (
            "<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>"
            f"<wsa5:Address>{self.base}{name}</wsa5:Address></tev:SubscriptionReference>"
            f"<wsnt:CurrentTime>{_iso(now)}</wsnt:CurrentTime>"
            f"<wsnt:TerminationTime>{_iso(ends)}</wsnt:TerminationTime>"
            "</tev:CreatePullPointSubscriptionResponse>"
        )

    def _do_PullMessages(self, path: str, el: ET.Element) -> str:  # noqa: N802
        wait = min(_seconds(el.findtext("{*}Timeout"), 5), 10)
        limit = int(el.findtext("{*}MessageLimit") or 100)
        with self._cond:
            self._cond.wait_for(lambda: bool(self._queue), timeout=wait)
            taken, self._queue = self._queue[:limit], self._queue[limit:]
        now = _now()
        ends = self._subscriptions.get(path, now)
        return (
            f"<tev:PullMessagesResponse><tev:CurrentTime>{_iso(now)}</tev:CurrentTime>"
            f"<tev:TerminationTime>{_iso(ends)}</tev:TerminationTime>{''.join(taken)}"
            "</tev:PullMessagesResponse>"
        )

    def _do_Renew(self, path: str, el: ET.Element) -> str:  # noqa: N802
        now = _now()
        ends = now + timedelta(seconds=_seconds(el.findtext("{*}TerminationTime"), 60))
        self._subscriptions[path] = ends
        return (
            f"<wsnt:RenewResponse><wsnt:TerminationTime>{_iso(ends)}</wsnt:TerminationTime>"
            f"<wsnt:CurrentTime>{_iso(now)}</wsnt:CurrentTime></wsnt:RenewResponse>"
        )

    def _do_Unsubscribe(self, path: str, _el: ET.Element) -> str:  # noqa: N802
        self._subscriptions.pop(path, None)
        return "<wsnt:UnsubscribeResponse/>"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    status, text = server.answer(self.path, self.rfile.read(length))
                except ET.ParseError:
                    status, text = 400, server._fault("s:Sender", "ter:InvalidArgVal", "not XML")
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
