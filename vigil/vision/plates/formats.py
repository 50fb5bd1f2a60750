"""Licence-plate formats: which characters a plate of a country or region holds where.

A format is a pattern of character classes, e.g. Croatia's "LL DDD[D] L[L]": two letters,
three or four digits, one or two letters (spaces and dashes on the plate are not part of the
text). `fit(text, formats)` finds the format a read fits with the fewest changes, changing
only what OCR confuses (a letter O where the format has a digit is a 0, a 1 where it has a
letter is an I) or dropping a character that is not on the plate (a sticker or emblem between
the groups, read as a letter or digit), and says how many changes it made. A read that fits a
format is far more likely to be a plate, and fitting corrects the commonest OCR mistakes.

Pattern grammar: `L` a letter, `D` a digit, `A` either; `[X]` optional; spaces are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# OCR's usual confusions, both ways: what a letter read where a digit belongs probably is,
# and the other way round.
AS_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "J": "1", "L": "1", "T": "1",
            "Z": "2", "E": "3", "A": "4", "S": "5", "G": "6", "B": "8"}  # fmt: skip
AS_LETTER = {"0": "O", "1": "I", "2": "Z", "3": "E", "4": "A", "5": "S", "6": "G", "7": "T",
             "8": "B"}  # fmt: skip
PLATE_CHARS = re.compile(r"[^A-Z0-9]")
# Stickers, seals and emblems between a plate's groups are round or shield-shaped and are read
# as a round glyph: dropping one of those costs a change, dropping anything else two.
ROUND = frozenset("0OQD8B")
DROP_ROUND, DROP_OTHER = 1, 2


@dataclass(frozen=True, slots=True)
class PlateFormat:
    region: str  # ISO 3166 code (or code-variant), e.g. HR, US-CA, BR-MERCOSUR
    pattern: str

    @property
    def lengths(self) -> tuple[int, int]:
        slots = _slots(self.pattern)
        return sum(not optional for _, optional in slots), len(slots)


# The formats shipped: the EU countries of the development set and their neighbours, the UK,
# the US (the commonest state patterns) and Brazil (old and Mercosur). Private ("vanity")
# plates fit no format; they are still read, only without the format's help.
FORMATS: tuple[PlateFormat, ...] = (
    PlateFormat("HR", "LL DDD[D] L[L]"),
    PlateFormat("SK", "LL DDD LL"),
    PlateFormat("SI", "LL L[L] DDD"),
    PlateFormat("SI", "LL DDD LL"),
    PlateFormat("IT", "LL DDD LL"),
    PlateFormat("FR", "LL DDD LL"),
    PlateFormat("ES", "DDDD LLL"),
    PlateFormat("PT", "LL DD LL"),
    PlateFormat("PT", "DD LL DD"),
    PlateFormat("CZ", "D L A DDDD"),
    PlateFormat("PL", "LL DDDDD"),
    PlateFormat("PL", "LL DDDL[L]"),
    PlateFormat("PL", "LLL DDDD"),
    PlateFormat("PL", "LLL DDLL"),
    PlateFormat("PL", "LLL L DDD"),
    PlateFormat("HU", "LLL DDD"),
    PlateFormat("HU", "LLLL DDD"),
    PlateFormat("AT", "L[L] DDD[D][D] L[L]"),
    PlateFormat("DE", "L[L][L] L[L] D[D][D][D]"),
    PlateFormat("NL", "LL DDD L"),
    PlateFormat("NL", "D LLL DD"),
    PlateFormat("NL", "DD LLL D"),
    PlateFormat("BE", "D LLL DDD"),
    PlateFormat("RO", "L[L] DD[D] LLL"),
    PlateFormat("BG", "L[L] DDDD LL"),
    PlateFormat("RS", "LL DDD[D] LL"),
    PlateFormat("UK", "LL DD LLL"),
    PlateFormat("US", "LLL DDDD"),
    PlateFormat("US", "D LLL DDD"),
    PlateFormat("US", "DDD LLL"),
    PlateFormat("US", "LLL DDD"),
    PlateFormat("US", "DDD DDDD"),
    PlateFormat("US", "LL DDDDD"),
    PlateFormat("BR", "LLL DDDD"),
    PlateFormat("BR-MERCOSUR", "LLL D L DD"),
)
REGIONS = tuple(sorted({f.region.split("-")[0] for f in FORMATS}))


def formats_for(regions: list[str] | None) -> tuple[PlateFormat, ...]:
    """The formats of these regions (codes as in `REGIONS`; None: all shipped)."""
    if regions is None:
        return FORMATS
    wanted = {r.upper() for r in regions}
    unknown = wanted - set(REGIONS)
    if unknown:
        raise ValueError(
            f"unknown plate region(s) {', '.join(sorted(unknown))}; known: {', '.join(REGIONS)}"
        )
    return tuple(f for f in FORMATS if f.region.split("-")[0] in wanted)


def normalise(text: str) -> str:
    """A–Z and 0–9 only, upper case (spaces, dashes, dots and anything else dropped)."""
    return PLATE_CHARS.sub("", text.upper())


@cache
def _slots(pattern: str) -> tuple[tuple[str, bool], ...]:
    out: list[tuple[str, bool]] = []
    for optional, plain in re.findall(r"\[([LDA])\]|([LDA])", pattern.replace(" ", "")):
        out.append((optional or plain, bool(optional)))
    return tuple(out)


def _as(cls: str, ch: str) -> tuple[str, int] | None:
    """`ch` as a character of class `cls`: itself (cost 0), a confusion (1), or None."""
    if cls == "A" or (cls == "L") == ch.isalpha():
        return ch, 0
    swap = AS_LETTER.get(ch) if cls == "L" else AS_DIGIT.get(ch)
    return (swap, 1) if swap else None


@dataclass(frozen=True, slots=True)
class Fit:
    text: str  # the read, corrected to the format
    format: PlateFormat
    changes: int  # characters changed to fit


def fit_one(text: str, fmt: PlateFormat) -> Fit | None:
    """The read `text` (normalised) in format `fmt` with the fewest changes, or None."""
    slots = _slots(fmt.pattern)
    # best[i][j]: (changes, text) for the first i characters in the first j slots.
    inf = (10**6, "")
    best = [[inf] * (len(slots) + 1) for _ in range(len(text) + 1)]
    best[0][0] = (0, "")
    for j, (_, optional) in enumerate(slots):  # optional slots may stay empty
        if optional and best[0][j][0] < inf[0]:
            best[0][j + 1] = best[0][j]
    for i, ch in enumerate(text):
        for j in range(len(slots) + 1):
            prev = best[i][j]
            if prev[0] >= inf[0]:
                continue
            drop = prev[0] + (DROP_ROUND if ch in ROUND else DROP_OTHER)
            if drop < best[i + 1][j][0]:  # a character that is not on the plate
                best[i + 1][j] = (drop, prev[1])
            if j == len(slots):
                continue
            got = _as(slots[j][0], ch)
            if got is not None and prev[0] + got[1] < best[i + 1][j + 1][0]:
                best[i + 1][j + 1] = (prev[0] + got[1], prev[1] + got[0])
        for j, (_, optional) in enumerate(slots):
            here = best[i + 1][j]
            if optional and here[0] < best[i + 1][j + 1][0]:
                best[i + 1][j + 1] = here
    changes, fitted = best[len(text)][len(slots)]
    return Fit(fitted, fmt, changes) if changes < inf[0] else None


def fit(text: str, formats: tuple[PlateFormat, ...], max_changes: int = 2) -> Fit | None:
    """The format `text` fits with the fewest changes (at most `max_changes`), or None."""
    fits = [f for fmt in formats if (f := fit_one(text, fmt)) and f.changes <= max_changes]
    return min(fits, key=lambda f: f.changes, default=None)
