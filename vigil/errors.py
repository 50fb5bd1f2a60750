"""Errors a user can cause. Each carries one sentence naming the problem and the fix.

The CLI prints `error: <message>` and exits non-zero; it never shows a traceback for these.
"""


class VigilError(Exception):
    """A problem the user can fix; str(err) is the whole message."""

    exit_code = 2


class ConfigError(VigilError):
    """vigil.yml is missing, unreadable or invalid."""


class SourceError(VigilError):
    """A video file or camera cannot be opened or read."""


class ModelError(VigilError):
    """A model file is missing or not usable."""


class NotFound(VigilError):
    """What a request names does not exist (the API answers 404)."""


class Conflict(VigilError):
    """The request clashes with what is stored: a taken name, a decision already made (409)."""


class Invalid(VigilError):
    """The request is well formed but cannot be done as asked: a bad line, a missing reason
    (422)."""


class GeometryError(VigilError):
    """A camera's position, attitude or ground reference cannot place what it sees on the
    ground: no field of view, a line of sight above the horizon, a camera below its ground."""
