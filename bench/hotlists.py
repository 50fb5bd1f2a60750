"""Hotlist matching: Vigil's index against comparing each read with every entry.

    .venv/bin/python bench/hotlists.py      # prints one JSON line (about 1.5 minutes)
    .venv/bin/python bench/hotlists.py --entries 100000 --reads 12 --runs 1   # about 1.5 minutes

A national stolen-vehicle list holds tens to hundreds of thousands of plates; every plate read
is compared with it. The peer, in the same run on the same list and reads: the plain baseline,
`distance(read, entry)` for every entry (the rule the index must give the same answer as).
Entries are plates drawn in the shipped formats (vigil/vision/plates/formats.py); reads are a
mix of listed plates misread by OCR confusions (O/0, B/8, ...), listed plates with one other
character wrong, and plates not listed. Reported: microseconds per read (median of `--runs`
passes, lowest and highest), hits, and whether both methods found exactly the same hits.
Nothing here was tuned on these numbers; the data is synthetic (seeded).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vigil.rules.hotlists import HotlistIndex, Listed  # noqa: E402
from vigil.vision.plates.formats import FORMATS  # noqa: E402
from vigil.vision.plates.match import LOOKALIKES, TOLERANCE, distance  # noqa: E402

LETTERS, DIGITS = "ABCDEFGHIJKLMNOPRSTUVWXYZ", "0123456789"
FAR = datetime(2100, 1, 1, tzinfo=UTC)
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def plate(rng: random.Random) -> str:
    fmt = rng.choice(FORMATS).pattern
    out = []
    for slot in fmt.replace(" ", "").replace("[", "").replace("]", ""):
        pool = LETTERS if slot == "L" else DIGITS if slot == "D" else LETTERS + DIGITS
        out.append(rng.choice(pool))
    return "".join(out)


def misread(text: str, rng: random.Random, confusions: int, others: int) -> str:
    chars = list(text)
    for _ in range(confusions):
        i = rng.randrange(len(chars))
        group = next((g for g in LOOKALIKES if chars[i] in g), None)
        if group:
            chars[i] = rng.choice([c for c in group if c != chars[i]])
    for _ in range(others):
        chars[rng.randrange(len(chars))] = rng.choice(LETTERS + DIGITS)
    return "".join(chars)


def linear(entries: list[Listed], read: str) -> set[tuple[int, float]]:
    best: dict[int, float] = {}
    for e in entries:
        d = distance(read, e.plate or "")
        if d <= e.tolerance and d < best.get(e.hotlist_id, 99.0):
            best[e.hotlist_id] = d
    return set(best.items())


def timed(fn, reads: list[str]) -> tuple[float, list[set[tuple[int, float]]]]:  # type: ignore[no-untyped-def]
    distance.cache_clear()
    start = time.perf_counter()
    found = [fn(r) for r in reads]
    return (time.perf_counter() - start) / len(reads) * 1e6, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(2026)
    plates = list({plate(rng) for _ in range(args.entries)})
    entries = [
        Listed(i, i % 2, f"list{i % 2}", TOLERANCE, p, None, None, "r", None, FAR)
        for i, p in enumerate(plates)
    ]
    reads = []
    for i in range(args.reads):
        kind = i % 3
        base = rng.choice(plates)
        reads.append(misread(base, rng, 1 + i % 2, 0) if kind == 0 else
                     misread(base, rng, 0, 1) if kind == 1 else plate(rng))  # fmt: skip
    start = time.perf_counter()
    index = HotlistIndex(entries)
    build_s = time.perf_counter() - start

    def indexed(read: str) -> set[tuple[int, float]]:
        return {(h.listed.hotlist_id, h.distance) for h in index.hits(read, NOW)}

    ours, theirs = [], []
    for _ in range(args.runs):
        us, got = timed(indexed, reads)
        ours.append(us)
        us_linear, want = timed(lambda r: linear(entries, r), reads)
        theirs.append(us_linear)
    print(
        json.dumps(
            {
                "entries": len(entries),
                "reads": len(reads),
                "index_build_s": round(build_s, 2),
                "vigil_index_us_per_read": _spread(ours),
                "baseline_every_entry_us_per_read": _spread(theirs),
                "speedup": round(statistics.median(theirs) / statistics.median(ours), 1),
                "reads_with_a_hit": sum(1 for g in got if g),
                "same_hits": got == want,
            }
        )
    )


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


if __name__ == "__main__":
    main()
