"""Comparing plates: a distance that knows OCR's confusions, and partial-plate patterns.

`distance(read, listed)` is an edit distance in which swapping characters OCR confuses
(O/0, I/1, B/8, S/5, Z/2, G/6, ...) costs `CONFUSION` instead of 1, so a hotlist entry
`AB123CD` is near a read `AB12JCD`-style miss only where the misread is a likely one, and a
different plate (another letter or digit) is far. `matches(read, listed, tolerance)` is the
hotlist test.

`pattern(text)` turns a partial plate as an investigator types it (`AB?12*`: `?` one
character, `*` any run, spaces and dashes ignored) into a compiled regular expression on
normalised plate text.
"""

from __future__ import annotations

import re
from functools import cache

from vigil.vision.plates.formats import AS_DIGIT, AS_LETTER, normalise

CONFUSION = 0.3  # the cost of swapping two characters OCR confuses (any other swap costs 1)
# Characters OCR takes for one another on plates: any two of one group are a confusion.
LOOKALIKES = ("O0DQU", "I1LJT", "B8", "S5", "Z2", "G6C", "A4", "E3")
_PAIRS = frozenset(
    {frozenset(p) for p in (*AS_DIGIT.items(), *AS_LETTER.items())}
    | {frozenset((a, b)) for group in LOOKALIKES for a in group for b in group if a != b}
)


def _classes() -> dict[str, str]:
    """Each character's confusion class (the pairs joined transitively), named by its least
    member: two plates that differ by confusions only have the same `canonical` text."""
    parent: dict[str, str] = {}

    def root(ch: str) -> str:
        while parent.get(ch, ch) != ch:
            ch = parent[ch]
        return ch

    for pair in _PAIRS:
        a, b = sorted(root(ch) for ch in pair)
        if a != b:
            parent[b] = a
    return {ch: root(ch) for pair in _PAIRS for ch in pair}


_CLASS = str.maketrans(_classes())


def canonical(text: str) -> str:
    """Normalised plate text with each character replaced by its confusion class."""
    return normalise(text).translate(_CLASS)


PATTERN_CHARS = re.compile(r"^[A-Z0-9?*]{1,30}$")
# The same, as typed (any case, with spaces, dots and dashes), for a query parameter's schema.
PATTERN_TYPED = r"^[ .-]*[A-Za-z0-9?*][A-Za-z0-9?* .-]*$"
PATTERN_HELP = "letters, digits, ? for one character and * for any run (e.g. AB?12*)"


def swap_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return CONFUSION if frozenset((a, b)) in _PAIRS else 1.0


@cache
def distance(read: str, listed: str) -> float:
    """Edit distance between two plate texts (normalised first), confusions cheap."""
    a, b = normalise(read), normalise(listed)
    previous = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        current = [float(i)]
        for j, cb in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + swap_cost(ca, cb))
            )
        previous = current
    return previous[-1]


TOLERANCE = 2 * CONFUSION  # two confusions, and no other difference


def matches(read: str, listed: str, tolerance: float = TOLERANCE) -> bool:
    """Whether a read is the listed plate, allowing `tolerance` (default: two confusions and
    no other difference; 1.0 also forgives one character missed or another one)."""
    return distance(read, listed) <= tolerance


def cleaned_pattern(text: str) -> str:
    """A partial plate as typed (any case, spaces, dots, dashes) in the form it is stored."""
    return re.sub(r"[\s\-.]", "", text.upper())


def pattern(text: str) -> re.Pattern[str]:
    """A partial plate (`AB?12*`) as a regular expression on normalised plate text."""
    cleaned = cleaned_pattern(text)
    if not PATTERN_CHARS.match(cleaned):
        raise ValueError(f"'{text[:40]}' is not a plate pattern; use {PATTERN_HELP}")
    body = "".join("." if ch == "?" else ".*" if ch == "*" else re.escape(ch) for ch in cleaned)
    return re.compile(f"^{body}$")


def like(text: str) -> str:
    """A partial plate (`AB?12*`) as a SQL LIKE pattern on stored plates (`AB_12%`)."""
    pattern(text)  # the same check and message
    return cleaned_pattern(text).replace("?", "_").replace("*", "%")


def canonical_pattern(text: str) -> re.Pattern[str]:
    """A partial plate as a regular expression on `canonical` text: `AB?12*` also finds a
    read `A8X12...` (B and 8 are one class), as OCR would give it."""
    return pattern(cleaned_pattern(text).translate(_CLASS))
