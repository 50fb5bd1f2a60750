"""User text in logs and on terminals is shown, never obeyed: a login name cannot forge a log
line (an audit anchor) or send escape codes to an operator's terminal."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import read_until, vigil_process
from tests.sources.conftest import free_port
from vigil.audit.log import ANCHOR_MARK, read_anchors
from vigil.logtext import EscapingFormatter, escape, shown

FORGED = {"at": "2026-01-01T00:00:00Z", "id": 1, "count": 1, "hash": "0" * 64}
EVIL = (
    "mallory\naudit anchor " + json.dumps(FORGED) + "\n"
    "audit anchor\t" + json.dumps(FORGED) + "\x1b[2J\x1b[31mRED\u2028\\"
)
# A login name is at most 64 characters: a forged (malformed) anchor line and escape codes.
EVIL_NAME = 'mallory\naudit anchor {"id": 1}\naudit anchor\t{"id": 2}\x1b[2J'


def test_escape_makes_one_printable_line_that_can_be_read_back() -> None:
    text = escape(EVIL, limit=10_000)
    assert "\n" not in text and "\t" not in text and "\x1b" not in text and "\u2028" not in text
    assert text.isprintable()
    assert "\\n" in text and "\\t" in text and "\\x1b[2J" in text and "\\u2028" in text
    assert text.endswith("\\\\")  # a backslash is doubled, so "\\n" in the input stays apart
    assert escape("plain Zoë 東京") == "plain Zoë 東京"
    assert escape("x" * 300).endswith("…") and len(escape("x" * 300)) == 201


def test_the_log_formatter_escapes_messages_and_arguments() -> None:
    record = logging.LogRecord("vigil", logging.WARNING, __file__, 1, "login %s", (EVIL,), None)
    out = EscapingFormatter("%(message)s").format(record)
    assert "\n" not in out and "\t" not in out and "\x1b" not in out


def test_rich_markup_in_user_text_is_not_markup() -> None:
    assert shown("[bold red]admin[/]") == "\\[bold red]admin\\[/]"


def test_a_forged_anchor_in_a_log_export_does_not_count(tmp_path: Path) -> None:
    real = {"at": "2026-01-02T00:00:00Z", "id": 7, "count": 7, "hash": "a" * 64}
    log = tmp_path / "journal.txt"
    log.write_text(
        "WARNING failed login for " + escape(EVIL, limit=10_000) + "\n"
        "Dec 02 vigil[12]: " + ANCHOR_MARK + json.dumps(real) + "\n"
    )
    assert [a["id"] for a in read_anchors(log, log_export=True)] == [7]


def test_a_login_name_cannot_forge_an_anchor_in_the_real_servers_log(tmp_path: Path) -> None:
    """Before: a name with newlines wrote a bare "audit anchor {...}" line into the log, and
    `vigil audit verify --anchors <log>` failed on it; escape codes reached the log raw."""
    port, data = free_port(), tmp_path / "data"
    (tmp_path / "vigil.yml").write_text("cameras: []\n")
    stderr = tmp_path / "server.log"
    serve = ["-m", "vigil", "serve", "--config", str(tmp_path / "vigil.yml")]
    with (
        stderr.open("w") as sink,
        vigil_process(
            *serve, "--data", str(data), "--port", str(port), password="admin-password-for-tests"
        ) as proc,
    ):
        said = read_until(proc, "Vigil is running at", 60)
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/login", json={"username": EVIL_NAME, "password": "x"}
        )
        assert r.status_code == 401
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert proc.stderr is not None
        sink.write(said + proc.stderr.read())
    text = stderr.read_text()
    assert "failed login for mallory\\naudit anchor" in text  # it is there, escaped
    assert "\x1b" not in text
    assert not any(line.startswith("audit anchor {") for line in text.splitlines())
    anchors = read_anchors(stderr, log_export=True)
    assert anchors and not any(a.get("malformed") for a in anchors)
    verify = subprocess.run(
        [sys.executable, "-m", "vigil", "audit", "verify", "--data", str(data)]
        + ["--anchors", str(stderr)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    show = subprocess.run(
        [sys.executable, "-m", "vigil", "audit", "show", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert show.returncode == 0 and "\x1b[2J" not in show.stdout and "mallory" in show.stdout


def test_the_data_directory_is_private_to_the_service(tmp_path: Path) -> None:
    """Before: the database and snapshots were 0644 in 0755 folders, readable by any local
    user. Now the folder is made 0700 at start (with a warning) and what is written is 0600."""
    port, data = free_port(), tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (tmp_path / "vigil.yml").write_text("cameras: []\n")
    serve = ["-m", "vigil", "serve", "--config", str(tmp_path / "vigil.yml")]
    with vigil_process(
        *serve, "--data", str(data), "--port", str(port), password="admin-password-for-tests"
    ) as proc:
        said = read_until(proc, "Vigil is running at", 60)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    assert "was open to other local users (mode 755); it is private now (700)" in said
    assert data.stat().st_mode & 0o777 == 0o700
    written = [p for p in data.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"vigil.db", "secret.key", "audit-anchors.log"}
    assert all(p.stat().st_mode & 0o077 == 0 for p in written), [
        (p.name, oct(p.stat().st_mode)) for p in written
    ]
