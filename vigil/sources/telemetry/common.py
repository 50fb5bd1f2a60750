"""What the telemetry readers share: the error they raise and how they report damage.

A reader yields `vigil.domain.Telemetry` values in time order. Damage it can step over (one
bad packet, one unreadable block) is reported through `on_problem` (by default a logged
warning, with the user's text escaped) and reading goes on; input with nothing usable in it
raises `TelemetryError`, one line naming the file and what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from vigil.errors import SourceError
from vigil.logtext import escape

log = logging.getLogger("vigil.sources.telemetry")

Problem = Callable[[str], None]


class TelemetryError(SourceError):
    """A telemetry file or stream that cannot be read: missing, empty, malformed."""


class NoTelemetry(TelemetryError):
    """A readable video that carries no telemetry of the kind asked for."""


def log_problem(message: str) -> None:
    """The default report: a warning (messages escape the user text they quote)."""
    log.warning("%s", message)


def check_file(path: Path, what: str) -> None:
    """A missing or empty file fails early with a message naming it."""
    if not path.exists():
        raise TelemetryError(f"{what} file '{escape(path)}' does not exist; check the path")
    if path.is_dir():
        raise TelemetryError(f"'{escape(path)}' is a folder, not a {what} file; check the path")
    if path.stat().st_size == 0:
        raise TelemetryError(
            f"{what} file '{escape(path)}' is empty; copy it again from the camera or drone"
        )
