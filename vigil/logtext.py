"""User text on its way to a log or a terminal: shown, never obeyed.

A name with a newline must not write a second, forged log line (an `audit anchor ...` say); one
with terminal escape codes must not recolour, move or clear an operator's terminal. `escape`
writes every control or otherwise unprintable character as a visible escape (`\\n`, `\\x1b`,
`\\u2028`) and a backslash as `\\\\`, so the result is one printable line from which the original
can be read back.
"""

from __future__ import annotations

MAX_SHOWN = 200


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
