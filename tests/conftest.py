"""Shared fixtures: bundled clips, a per-test PostgreSQL database, the CI rule for missing tools."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

ASSETS = Path(str(resources.files("vigil") / "assets"))
PERSON_CLIP = ASSETS / "one-by-one-person-detection.mp4"
CAR_CLIP = ASSETS / "car-detection.mp4"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get(
    "VIGIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NATS_URL = os.environ.get("VIGIL_TEST_NATS_URL", "nats://127.0.0.1:4222")


@contextlib.contextmanager
def vigil_process(*argv: str, password: str) -> Iterator[subprocess.Popen[str]]:
    """`python ARGV...` (e.g. "-m", "vigil", "serve", ...) with the first admin's password and
    its stderr piped (read it with `read_until`); killed at the end if it still runs."""
    proc = subprocess.Popen(
        [sys.executable, *argv],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "VIGIL_ADMIN_PASSWORD": password},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Read a child's stderr until a line contains `marker`; fail with what it said."""
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            line = proc.stderr.readline()
            seen += line
            if marker in line:
                return seen
        if proc.poll() is not None:
            break
    raise AssertionError(f"server did not print {marker!r} in {timeout:g} s; it said:\n{seen}")


def need(condition: bool, why: str) -> None:
    """Skip when a tool is missing on a developer's machine; under CI=true, fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required tool missing under CI: {why}")
    pytest.skip(why)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy

    try:
        admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("select 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        need(False, f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc})")
        raise
    name = f"vigil_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def engine_url(engine: str, request: pytest.FixtureRequest) -> str:
    """A database for a test parametrised by engine: a SQLite file in its tmp_path, or a
    fresh PostgreSQL database (`pg_url`)."""
    if engine == "sqlite":
        return f"sqlite:///{request.getfixturevalue('tmp_path') / 'vigil.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A migrated Vigil store, once on SQLite and once on a fresh PostgreSQL database."""
    from vigil.store.db import Store

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vigil.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    s = Store(url)
    try:
        yield s
    finally:
        s.close()


def _nats_streams(action: str, prefix: str = "") -> Any:
    """'check' the server has JetStream, or 'delete' the stream of a test's prefix."""
    import asyncio

    import nats

    async def run() -> Any:
        nc = await nats.connect(NATS_URL, connect_timeout=3, max_reconnect_attempts=0)
        try:
            js = nc.jetstream()
            if action == "delete":
                with contextlib.suppress(Exception):
                    await js.delete_stream(prefix.upper())
                return None
            return await js.account_info()
        finally:
            await nc.close()

    # In a thread of its own: the caller may have an event loop running (Playwright's).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=30)


@pytest.fixture
def nats_prefix() -> Iterator[str]:
    """A subject prefix (and stream) of one test's own on the real NATS server; its stream
    is deleted afterwards."""
    try:
        _nats_streams("check")
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable server here"
        need(False, f"NATS with JetStream at {NATS_URL} is not reachable ({exc!r})")
        raise
    prefix = f"vt{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        _nats_streams("delete", prefix)
