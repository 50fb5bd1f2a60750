"""Field positions to the map: an officer's phone reports its position, the command centre's
WebSocket shows it; 200 units every 2 s. Peer: the same server's camera events on the same
socket in the same seconds.

    .venv/bin/python bench/field.py                 # 200 units, every 2 s, 3 runs x 30 s
    .venv/bin/python bench/field.py --postgres      # a temporary database on 127.0.0.1:5432

One real `python -m vigil serve` (bench/latency.py's way: a free port, a temporary data
directory, SQLite unless --postgres) with `--cameras` looping car-park cameras (motion
detector, a line, a zone, a line-cross rule). Set-up through the API as admin: per unit a user
with the field role (POST /api/users) and its unit (POST /api/units); each user logs in once.
Each run: a command-centre client in a process of its own (the phones' work does not delay its
clock readings) opens /api/ws as admin and timestamps every message, while each phone (an
asyncio task, spread evenly over the period, a keep-alive connection each) POSTs
/api/field/positions with a random walk at its kind's speed for `--seconds`.

- field latency: arrival of the `unit` message - the moment the phone sent the report (matched
  by unit id and the position's time, which is that moment to the millisecond).
- HTTP answer (breakdown): the report's round trip. The route publishes the message before it
  writes the audit row and answers, so the answer includes the audit write, the message not.
- event latency (peer): arrival of an `event` message - its `captured_at`.

Per run and as the median (lowest-highest) over runs: p50/p95/p99/max and counts, the latency
split at the server's `received_at` (read from the database: phone -> route, route -> socket),
the report rate achieved, HTTP failures, reports whose message never came, field p95 / event
p95, the CPU of the server, of this client and of other programs, how many server threads were
runnable but waiting for a CPU and the machine's CPU pressure (bench/probes.py), the load
average; at the end what the server kept (positions, audit rows). Target: field p95 < 300 ms
(median over runs) and no report lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import ssl
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

import latency  # noqa: E402 - bench/latency.py: its server, CPU and config helpers
from latency import say  # noqa: E402
from probes import Snapshot, load_average, spread, summary, usage  # noqa: E402

from vigil.domain import Role, UnitKind  # noqa: E402
from vigil.store.db import default_db_url  # noqa: E402

TARGET_P95_MS = 300.0
FIELD_PASSWORD = "field-bench-password"
CENTRE = (52.0116, 4.3571)  # where the units walk (any point would do)
GRACE_S = 3.0  # after the last report, how long messages may still arrive
DEFAULTS = {"units": 200, "every": 2.0, "seconds": 30.0, "runs": 3, "cameras": 1, "seed": 13}
COOKIE = "vigil_session"


# -- the command centre: a process of its own ---------------------------------------------------


def millis(iso: str) -> int:
    return round(datetime.fromisoformat(iso).timestamp() * 1000)


def listen(base: str, cookie: str, pipe: Connection) -> None:
    """Open /api/ws, timestamp every message until told to stop, send back what came."""
    from websockets.sync.client import connect

    units: dict[str, float] = {}  # "unit id:position ms" -> arrival
    events: list[tuple[float, float]] = []  # (capture -> arrival, published -> arrival)
    dropped = 0
    url = base.replace("http://", "ws://") + "/api/ws"
    headers = {"Cookie": f"{COOKIE}={cookie}", "Origin": base}
    with connect(url, additional_headers=headers, max_size=None) as ws:
        hello = json.loads(ws.recv(timeout=30))
        pipe.send(hello.get("topic"))
        cpu0 = sum(os.times()[:2])
        while not pipe.poll():
            try:
                raw = ws.recv(timeout=0.1)
            except TimeoutError:
                continue
            arrived = time.time()
            message = json.loads(raw)
            topic = message.get("topic")
            if topic == "unit" and message.get("position"):
                units[f"{message['id']}:{millis(message['position']['time'])}"] = arrived
            elif topic == "event":
                events.append((arrived - message["captured_at"], arrived - message["published_at"]))
            elif topic == "dropped":
                dropped += int(message["count"])
        cpu = sum(os.times()[:2]) - cpu0
    pipe.recv()
    pipe.send({"units": units, "events": events, "dropped": dropped, "cpu": cpu})


# -- the phones -------------------------------------------------------------------------------


@dataclass
class Phone:
    unit_id: int
    kind: UnitKind
    headers: dict[str, str]
    lat: float
    lon: float
    heading: float

    def step(self, rng: random.Random, seconds: float) -> float:
        """Walk on at the kind's speed, turning a little; the speed in m/s."""
        speed = self.kind.speed_kmh / 3.6 * rng.uniform(0.5, 1.2)
        self.heading = (self.heading + rng.gauss(0, 25)) % 360
        metres, towards = speed * seconds, math.radians(self.heading)
        self.lat += metres * math.cos(towards) / 111_195
        self.lon += metres * math.sin(towards) / 111_195 / math.cos(math.radians(self.lat))
        return speed


def no_cookies() -> CookieJar:
    """A jar that keeps nothing: every phone sends its own session cookie."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def client(base: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.AsyncClient:
    """An HTTP client that keeps no cookie: each request carries the session it is sent as."""
    return httpx.AsyncClient(base_url=base, headers=headers, cookies=no_cookies(), **kw)


async def expect(response: httpx.Response, code: int, what: str) -> Any:
    if response.status_code != code:
        raise SystemExit(f"{what} failed with HTTP {response.status_code}: {response.text[:300]}")
    return response.json()


async def login(base: str, username: str, password: str) -> tuple[str, str]:
    """(session cookie, CSRF token) of a fresh login."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        r = await http.post("/api/login", json={"username": username, "password": password})
        me = await expect(r, 200, f"logging in as {username}")
        return http.cookies[COOKIE], str(me["csrf_token"])


async def enrol(base: str, units: int, rng: random.Random) -> list[Phone]:
    """Create `units` field users and their units as admin; log each user in."""
    cookie, csrf = await login(base, "admin", latency.PASSWORD)
    kinds = list(UnitKind)
    gate = asyncio.Semaphore(4)  # argon2 hashing: a few at a time, as a manager would

    async def one(http: httpx.AsyncClient, i: int) -> Phone:
        name, kind = f"officer-{i:03d}", kinds[i % len(kinds)]
        async with gate:
            body = {"username": name, "password": FIELD_PASSWORD, "role": str(Role.FIELD)}
            await expect(await http.post("/api/users", json=body), 201, f"creating {name}")
            body = {"callsign": f"F-{i:03d}", "kind": str(kind), "user": name}
            unit = await expect(await http.post("/api/units", json=body), 201, "a unit")
            session, token = await login(base, name, FIELD_PASSWORD)
        lat = CENTRE[0] + rng.uniform(-0.01, 0.01)
        lon = CENTRE[1] + rng.uniform(-0.015, 0.015)
        headers = {"Cookie": f"{COOKIE}={session}", "X-CSRF-Token": token}
        return Phone(int(unit["id"]), kind, headers, lat, lon, rng.uniform(0, 360))

    headers = {"Cookie": f"{COOKIE}={cookie}", "X-CSRF-Token": csrf}
    async with client(base, headers, timeout=120) as http:
        return list(await asyncio.gather(*(one(http, i) for i in range(units))))


@dataclass
class Sent:
    at: dict[str, float]  # "unit id:position ms" -> when the phone sent it
    answers: list[float]  # HTTP round trips of the accepted reports
    lags: list[float]  # how late each report left against its schedule
    failures: Counter[str]
    seconds: float


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


async def drive(base: str, phones: list[Phone], every: float, seconds: float, seed: int) -> Sent:
    """Every phone reports every `every` s for `seconds`, the phones spread over the period."""
    sent = Sent({}, [], [], Counter(), 0.0)
    rng = random.Random(seed)
    # A client (and a connection) per phone, as phones have; one pool scanning hundreds of
    # connections per request cost this process more CPU than the server under overload.
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = ssl.create_default_context()  # unused on http://, but each client would build one

    async def phone_loop(phone: Phone, due: float, end: float) -> None:
        async with client(base, phone.headers, timeout=30, limits=one, verify=tls) as http:
            await reports(http, phone, due, end)

    async def reports(http: httpx.AsyncClient, phone: Phone, due: float, end: float) -> None:
        while due < end:
            await asyncio.sleep(max(0.0, due - time.time()))
            speed = phone.step(rng, every)
            at = time.time()
            ms = round(at * 1000)
            position = {
                "lat": round(phone.lat, 7), "lon": round(phone.lon, 7), "time": stamp(ms),
                "accuracy_m": round(rng.uniform(4, 15), 1), "heading": round(phone.heading, 1),
                "speed_mps": round(speed, 2),
            }  # fmt: skip
            try:
                r = await http.post("/api/field/positions", json={"positions": [position]})
            except httpx.HTTPError as exc:
                sent.failures[type(exc).__name__] += 1
            else:
                if r.status_code == 200:
                    sent.at[f"{phone.unit_id}:{ms}"] = at
                    sent.answers.append(time.time() - at)
                else:
                    sent.failures[f"HTTP {r.status_code}"] += 1
            sent.lags.append(at - due)
            due += every

    start = time.time() + 0.5
    end, step = start + seconds, every / len(phones)
    await asyncio.gather(*(phone_loop(p, start + i * step, end) for i, p in enumerate(phones)))
    sent.seconds = time.time() - start
    return sent


async def on_record(base: str) -> dict[str, int]:
    """What the server kept of the reports: positions (the trails of the last hour, at most
    300 a unit) and `field.report` audit rows."""
    cookie, _ = await login(base, "admin", latency.PASSWORD)
    async with client(base, {"Cookie": f"{COOKIE}={cookie}"}, timeout=60) as http:
        r = await http.get("/api/units/trails", params={"minutes": 60})
        trails = await expect(r, 200, "reading the trails")
        rows, cursor = 0, ""
        while True:
            params = {"action": "field.report", "limit": "500"} | (
                {"cursor": cursor} if cursor else {}
            )
            page = await expect(await http.get("/api/audit", params=params), 200, "the audit log")
            rows += len(page["items"])
            if not (cursor := page["next_cursor"]):
                break
    return {"positions_stored": sum(len(t["points"]) for t in trails), "audit_rows": rows}


# -- one run ----------------------------------------------------------------------------------


def received(db_url: str, since: float) -> dict[str, float]:
    """When the server took each report in (`received_at` of its row, read from the database
    while the server runs): splits the latency at that moment."""
    from sqlalchemy import create_engine, select

    from vigil.store.queries import as_utc
    from vigil.store.tables import PositionRow as P

    engine = create_engine(db_url)
    when = datetime.fromtimestamp(since, UTC)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(P.unit_id, P.at, P.received_at).where(P.received_at >= when))
            return {
                f"{u}:{round(as_utc(at).timestamp() * 1000)}": as_utc(r).timestamp()
                for u, at, r in rows
            }
    finally:
        engine.dispose()


def one_run(
    base: str, server: tuple[int, str], phones: list[Phone], args: argparse.Namespace, n: int
):
    server_pid, db_url = server
    admin_cookie, _ = asyncio.run(login(base, "admin", latency.PASSWORD))
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    centre = ctx.Process(target=listen, args=(base, admin_cookie, theirs), daemon=True)
    centre.start()
    if not ours.poll(60) or ours.recv() != "hello":
        raise SystemExit("the command-centre client got no hello on /api/ws in 60 s")
    load_before = os.getloadavg()
    before, since = Snapshot.now(server_pid), time.time()
    sent = asyncio.run(drive(base, phones, args.every, args.seconds, args.seed + n))
    time.sleep(GRACE_S)
    after = Snapshot.now(server_pid)
    ours.send("stop")
    got = ours.recv()
    centre.join(30)
    return measure(sent, got, received(db_url, since), before, after, load_before)


def measure(
    sent: Sent, got: dict[str, Any], taken: dict[str, float], a: Snapshot, b: Snapshot, load: tuple
) -> dict:
    arrivals: dict[str, float] = got["units"]
    field = summary([arrivals[k] - t for k, t in sent.at.items() if k in arrivals])
    event = summary([e[0] for e in got["events"]])
    both = [k for k in sent.at if k in arrivals and k in taken]
    ratio = field["p95_ms"] / max(event["p95_ms"], 0.1) if field["n"] and event["n"] else None
    return {
        "field": field,
        "sent_to_received_at": summary([taken[k] - sent.at[k] for k in both]),
        "received_at_to_socket": summary([arrivals[k] - taken[k] for k in both]),
        "http_answer": summary(sent.answers),
        "event": event,
        "event_bus_to_socket": summary([e[1] for e in got["events"]]),
        "ratio_p95_field_vs_event": round(ratio, 3) if ratio is not None else None,
        "reports_sent": len(sent.lags),
        "reports_accepted": len(sent.at),
        "reports_per_s": round(len(sent.at) / sent.seconds, 1),
        "failures": dict(sent.failures),
        "no_message": len(sent.at) - field["n"],
        "dropped_on_socket": got["dropped"],
        "send_lag": summary(sent.lags),
        **usage(a, b, got["cpu"]),
        "loadavg": {"before": [round(x, 2) for x in load], "after": load_average()},
    }


# -- the whole benchmark ----------------------------------------------------------------------


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=DEFAULTS["units"], help="simulated phones")
    ap.add_argument("--every", type=float, default=DEFAULTS["every"], help="report period, s")
    ap.add_argument("--seconds", type=float, default=DEFAULTS["seconds"], help="per run")
    ap.add_argument("--runs", type=int, default=DEFAULTS["runs"], help="at least 3")
    ap.add_argument("--cameras", type=int, default=DEFAULTS["cameras"], help="live cameras")
    ap.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    ap.add_argument("--postgres", action="store_true", help="a temporary PostgreSQL database")
    args = ap.parse_args()
    if args.runs < 3:
        ap.error("--runs must be at least 3: one run shows no spread")
    if args.units < 1 or args.cameras < 1 or args.every <= 0 or args.seconds < 5:
        ap.error("--units and --cameras must be at least 1, --every > 0, --seconds >= 5")
    return args


def start_server(stack: ExitStack, tmp: Path, cameras: int, db: str | None) -> tuple[str, int, str]:
    config = latency.bench_config(cameras)
    config["cameras"] = config["cameras"][:cameras]  # the car-park cameras, no YOLO lobby
    config["rules"] = [r for r in config["rules"] if "camera" not in r]
    path = tmp / "field.yml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    port = latency.free_port()
    argv = ["serve", "--config", str(path), "--data", str(tmp / "data"), "--port", str(port)]
    server = latency.Server([*argv, *(["--db", db] if db else [])], "Vigil is running at")
    server.start()
    stack.callback(server.stop)
    assert server.proc is not None
    return f"http://127.0.0.1:{port}", server.proc.pid, db or default_db_url(tmp / "data")


def main() -> None:
    args = parse()
    t0, load = time.monotonic(), load_average()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="vigil-field-") as tmp, ExitStack() as stack:
        db = None
        if args.postgres:
            from audit import _database  # bench/audit.py's temporary database

            db = stack.enter_context(_database(True, Path(tmp)))
        base, pid, db_url = start_server(stack, Path(tmp), args.cameras, db)
        say(f"enrolling {args.units} units (users, units, logins) ...")
        e0 = time.monotonic()
        phones = asyncio.run(enrol(base, args.units, random.Random(args.seed)))
        enrol_s = time.monotonic() - e0
        for n in range(args.runs):
            say(f"run {n + 1}/{args.runs}: {args.units} units every {args.every:g} s")
            runs.append(one_run(base, (pid, db_url), phones, args, n))
            f, e = runs[-1]["field"], runs[-1]["event"]
            say(f"  field p95 {f.get('p95_ms')} ms (n {f['n']}), event p95 {e.get('p95_ms')} ms")
        kept = asyncio.run(on_record(base))
    out = result(args, runs, load, enrol_s)
    out["kept"] = {"reports_accepted": sum(r["reports_accepted"] for r in runs), **kept}
    out["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(out))


def result(args: argparse.Namespace, runs: list[dict], load: list[float], enrol_s: float) -> dict:
    params = {k: getattr(args, k) for k in DEFAULTS}

    def over(part: str, key: str = "p95_ms", digits: int = 1) -> dict[str, float] | None:
        found = [r[part][key] for r in runs if r[part].get("n", 1) and key in r[part]]
        return spread(found, digits)

    field95 = [r["field"]["p95_ms"] for r in runs if r["field"]["n"]]
    lost = sum(sum(r["failures"].values()) + r["no_message"] for r in runs)
    ratios = [r["ratio_p95_field_vs_event"] for r in runs if r["ratio_p95_field_vs_event"]]
    return {
        "bench": "field",
        "what": "POST /api/field/positions sent -> its unit message received on /api/ws",
        "peer": "camera events (capture -> the same /api/ws), same server, same seconds",
        "params": {**params, "database": "postgresql" if args.postgres else "sqlite"},
        "defaults": [k for k, v in params.items() if v == DEFAULTS[k]]
        + ([] if args.postgres else ["database"]),
        "machine": {"cores": os.cpu_count(), "loadavg_start": load, "loadavg_end": load_average()},
        **{f"field_{p}": over("field", p) for p in ("p50_ms", "p95_ms", "p99_ms")},
        **{f"event_{p}": over("event", p) for p in ("p50_ms", "p95_ms")},
        "p95_ms_split": {k: over(k) for k in ("sent_to_received_at", "received_at_to_socket")},
        "http_answer_p95_ms": over("http_answer"),
        "ratio_p95_field_vs_event": spread(ratios),
        "reports_per_s": spread([r["reports_per_s"] for r in runs]),
        "server_threads_waiting_for_cpu": over("contention", "server_threads_waiting_for_cpu", 2),
        "machine_cpu_pressure": over("contention", "machine_cpu_pressure", 2),
        "failures": sum(sum(r["failures"].values()) for r in runs),
        "no_message": sum(r["no_message"] for r in runs),
        "target": {"field_p95_ms": TARGET_P95_MS, "lost_reports": 0},
        "pass": len(field95) == len(runs)
        and statistics.median(field95) < TARGET_P95_MS
        and not lost,
        "enrol_seconds": round(enrol_s, 1),
        "runs": runs,
    }


if __name__ == "__main__":
    main()
