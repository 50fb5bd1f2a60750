"""A real TAK server for the tests (taky, PyPI, MIT) on 127.0.0.1, and a TAK user's client
(pytak's connection and CoT helpers) that reads what the server relays to it."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import need


def need_taky() -> None:
    """taky and pytak must be installed (`make setup`); under CI their absence fails."""
    for module in ("taky", "pytak"):
        need(
            importlib.util.find_spec(module) is not None,
            f"{module} is not installed; run make setup (or .venv/bin/pip install {module})",
        )


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """The condition's first true value, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.02)


def _pytak() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it says aiohttp is missing: not needed here
        import pytak
    return pytak


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Taky:
    """`python -m taky.cot` with a config of its own: plain TCP, or TLS with `tls` (paths of
    ca, cert, key) requiring a client certificate."""

    def __init__(self, port: int, tls: dict[str, Path] | None = None) -> None:
        self.port, self.tls = port, tls
        self.root = Path(tempfile.mkdtemp(prefix="taky"))  # short: it holds a Unix socket
        self.log = self.root / "taky.log"
        self.cot_log = self.root / "cot"  # what each client sent it (taky's log_cot)
        self.cot_log.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> Path:
        ssl = "enabled = false\n"
        if self.tls is not None:
            ssl = (
                "enabled = true\nclient_cert_required = true\n"
                f"ca = {self.tls['ca']}\ncert = {self.tls['cert']}\nkey = {self.tls['key']}\n"
                f"cert_db = {self.root / 'cert-db.txt'}\n"
            )
        path = self.root / "taky.conf"
        path.write_text(
            f"[taky]\nhostname = 127.0.0.1\nbind_ip = 127.0.0.1\nroot_dir = {self.root}\n"
            f"[cot_server]\nport = {self.port}\nlog_cot = {self.cot_log}\n"
            f"[dp_server]\nupload_path = {self.root / 'dp'}\n"
            f"[ssl]\n{ssl}"
        )
        return path

    def start(self) -> Taky:
        conf = self._config()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "taky.cot", "-c", str(conf), "-l", "info"],
                stdout=out,
                stderr=out,
            )
        wait_until(lambda: self._up(), 20, f"taky listening on {self.port}")
        return self

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"taky exited: {self.log.read_text(errors='replace')}")
        return _accepts(self.port)

    def received_from_anonymous(self) -> str:
        """What clients that never said who they are (Vigil) sent to this server."""
        return "".join(p.read_text(errors="replace") for p in self.cot_log.glob("anonymous-*"))

    def kill(self) -> None:
        """Gone at once, as a crashed server or a pulled cable (SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def make_certificates(where: Path) -> dict[str, dict[str, Path]]:
    """A CA, a server certificate for 127.0.0.1 and client certificates for Vigil and a TAK
    user, made with taky's own tools (as `takyctl setup` and `build_client` do)."""
    from taky.util import anc

    ca = (where / "ca.crt", where / "ca.key")
    anc.make_ca(str(ca[0]), str(ca[1]))
    made: dict[str, dict[str, Path]] = {}
    for name, host, server in (("server", "127.0.0.1", True), ("vigil", "vigil", False),
                               ("atak", "atak", False)):  # fmt: skip
        anc.make_cert(
            path=str(where), f_name=name, hostname=host, cert_pw="atakatak",
            cert_auth=(str(ca[0]), str(ca[1])), dump_pem=True, is_server_cert=server,
        )  # fmt: skip
        made[name] = {"ca": ca[0], "cert": where / f"{name}.crt", "key": where / f"{name}.key"}
    return made


class Atak:
    """A TAK user's client: connects with pytak, sends its own position (pytak's CoT
    helpers, with the <takv>, <contact> and <__group> an ATAK sends) and keeps every event the
    server relays to it (raw bytes and parsed)."""

    def __init__(
        self, port: int, uid: str, callsign: str, tls: dict[str, Path] | None = None
    ) -> None:
        self.port, self.uid, self.callsign, self.tls = port, uid, callsign, tls
        self.raw: list[bytes] = []
        self.events: list[ET.Element] = []
        self._lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._writer: asyncio.StreamWriter | None = None
        self._reading: Any = None

    def _call(self, coro: Any, timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def connect(self) -> Atak:
        self._call(self._connect())
        return self

    async def _connect(self) -> None:
        pytak = _pytak()
        settings = {"COT_URL": f"tcp://127.0.0.1:{self.port}"}
        if self.tls is not None:
            settings = {
                "COT_URL": f"tls://127.0.0.1:{self.port}",
                "PYTAK_TLS_CLIENT_CERT": str(self.tls["cert"]),
                "PYTAK_TLS_CLIENT_KEY": str(self.tls["key"]),
                "PYTAK_TLS_CLIENT_CAFILE": str(self.tls["ca"]),
            }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pytak's own use of deprecated TLS options
            reader, self._writer = await pytak.protocol_factory(settings)
        self._reading = asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                data = await reader.readuntil(b"</event>")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            start = data.find(b"<event")
            with self._lock:
                self.raw.append(data)
                self.events.append(ET.fromstring(data[start:]))

    def position_xml(self, lat: float, lon: float, **kw: Any) -> bytes:
        """This user's own position report, as ATAK writes it (pytak's CoT helpers)."""
        pytak = _pytak()

        detail = pytak.cot_detail(
            ET.Element("takv", device="Pixel", platform="ATAK-CIV", os="34", version="5.1"),
            ET.Element("__group", name="Cyan", role="Team Member"),
            ET.Element(
                "track", course=str(kw.pop("course", 90.0)), speed=str(kw.pop("speed", 1.5))
            ),
            flow_tag=False,
        )
        event = pytak.cot_event(
            lat=lat, lon=lon, ce=kw.pop("ce", 8.0), uid=kw.pop("uid", self.uid),
            cot_type=kw.pop("type", "a-f-G-U-C"), detail=detail,
            callsign=kw.pop("callsign", self.callsign), stale=60,
        )  # fmt: skip
        if "time" in kw:
            event.set("time", kw.pop("time"))
        assert not kw, kw
        return bytes(pytak.serialize_cot(event))

    def send(self, data: bytes) -> None:
        async def write() -> None:
            assert self._writer is not None
            self._writer.write(data)
            await self._writer.drain()

        self._call(write())

    def seen(self, uid: str) -> ET.Element | None:
        """The newest event about `uid` relayed to this client."""
        with self._lock:
            found = [e for e in self.events if e.get("uid") == uid]
        return found[-1] if found else None

    def raw_text(self) -> str:
        with self._lock:
            return b"".join(self.raw).decode("utf-8", "replace")

    def close(self) -> None:
        async def shut() -> None:
            if self._reading is not None:
                self._reading.cancel()
            if self._writer is not None:
                self._writer.close()

        self._call(shut())

    def stop(self) -> None:
        self.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
