"""User text on its way to a log or a terminal: shown, never obeyed.

A name with a newline must not write a second, forged log line (an `audit anchor ...` say); one
with terminal escape codes must not recolour, move or clear an operator's terminal. `escape`
writes every control or otherwise unprintable character as a visible escape (`\\n`, `\\x1b`,
`\\u2028`) and a backslash as `\\\\`, so the result is one printable line from which the original
can be read back.
"""

from __future__ import annotations

import logging

from rich.markup import escape as rich_escape

MAX_SHOWN = 200
# One line of user text (a purpose, a legal basis, a reason): three or more characters from the
# first to the last that is not a space or tab, and no control characters. Checks read it the
# same way: only spaces and tabs are trimmed (what counts as "white space" differs between
# regex engines and Python's str.strip()).
ONE_LINE = r"^[ \t]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]+[^\x00-\x20\x7f][ \t]*$"


def escape(text: object, limit: int = MAX_SHOWN) -> str:
    """`text` as one printable line (at most `limit` characters of it, then an ellipsis)."""
    raw = str(text)
    shown = raw[:limit]
    out = []
    for ch in shown:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out) + ("…" if len(raw) > limit else "")


class EscapingFormatter(logging.Formatter):
    """A record's message escaped as one line; each line of a traceback escaped too (so no
    line of the output can hold a tab or an escape code that user text put there)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.msg, record.args
        record.msg, record.args = escape(record.getMessage(), limit=10_000), None
        try:
            text = super().format(record)
        finally:
            record.msg, record.args = saved
        line, _, traceback = text.partition("\n")  # the message is one line now
        if not traceback:
            return line
        return "\n".join([line, *(escape(t, limit=10_000) for t in traceback.split("\n"))])


def configure_logging(level: int = logging.WARNING) -> None:
    """Vigil's log output on stderr, escaped (idempotent)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, EscapingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)


def shown(text: object) -> str:
    """User text for a Rich console: escaped, and no Rich markup in it either."""
    return rich_escape(escape(text, limit=10_000))
