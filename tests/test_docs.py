"""docs/responsible-use.md names, for each promise, the tests that prove it: they must exist.

A renamed or deleted test would otherwise leave a promise that nothing checks any more.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "responsible-use.md"


def _references(text: str) -> list[tuple[str, str | None]]:
    """(test file, test name or None) for every `tests/...` and `::name` in the text; a bare
    `::name` belongs to the file named last before it."""
    refs: list[tuple[str, str | None]] = []
    current: str | None = None
    for token in re.findall(r"`([^`]+)`", text):
        if token.startswith("tests/"):
            current, _, name = token.partition("::")
            refs.append((current, name or None))
        elif token.startswith("::"):
            assert current is not None, f"{token} comes before any test file"
            refs.append((current, token[2:]))
    return refs


def test_every_test_named_by_the_responsible_use_promises_exists() -> None:
    refs = _references(DOC.read_text(encoding="utf-8"))
    assert len(refs) >= 20  # the document still names its proofs
    missing = []
    for file, name in refs:
        path = ROOT / file
        if not path.is_file():
            missing.append(file)
        elif name is not None and not re.search(
            rf"^def {re.escape(name)}\(", path.read_text(encoding="utf-8"), re.M
        ):
            missing.append(f"{file}::{name}")
    assert not missing, f"docs/responsible-use.md names tests that do not exist: {missing}"


def test_the_reference_reader_follows_bare_names_to_their_file() -> None:
    text = "`tests/a.py::one`, `::two` and `tests/b.py` then `::three`"
    assert _references(text) == [
        ("tests/a.py", "one"),
        ("tests/a.py", "two"),
        ("tests/b.py", None),
        ("tests/b.py", "three"),
    ]


def test_the_readmes_configuration_example_is_a_valid_vigil_yml() -> None:
    """The README's configuration example is what a newcomer copies: it must load."""
    from vigil.config import parse_config

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(detector:.*?)```", readme, re.S)
    assert block is not None, "the README lost its configuration example"
    config = parse_config(block.group(1), "README.md")
    assert [c.id for c in config.cameras] == ["gate", "yard"]
    assert {str(r.event) for r in config.rules} >= {"loiter", "line_cross", "speeding"}
