"""Responsible-use rule 1: Vigil accepts no model that classifies sensitive traits.

A model's class names are the only honest, cheap signal of what it infers, so every detector
checks them when it loads. Matching is on whole words (a label is split into words first), so
"cage" or "garbage" never trips the word "age", while "age_25-32", "Male", "happyFace" or
"religious_symbol" do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from vigil.errors import ModelError

# Words that name a sensitive trait, or a value of one that models commonly predict. Colour
# words ("black", "white") and regional adjectives ("african", "indian") are left out on purpose:
# vehicle-colour models and animal classes ("African elephant") use them legitimately.
SENSITIVE_WORDS: dict[str, frozenset[str]] = {
    "race or ethnicity": frozenset(
        {"race", "racial", "ethnicity", "ethnic", "caucasian", "hispanic", "latino", "latina",
         "skintone"}
    ),
    "religion": frozenset(
        {"religion", "religious", "muslim", "christian", "jewish", "jew", "hindu", "buddhist",
         "sikh", "hijab", "niqab", "burqa", "kippah", "yarmulke"}
    ),
    "political opinion": frozenset({"political", "politics", "democrat", "republican"}),
    "health": frozenset(
        {"health", "disease", "illness", "sick", "disability", "disabled", "diagnosis",
         "pregnant", "pregnancy", "obese", "obesity", "covid"}
    ),
    "sexual orientation": frozenset(
        {"orientation", "sexuality", "gay", "lesbian", "bisexual", "homosexual", "heterosexual",
         "queer", "transgender"}
    ),
    "sex or gender": frozenset(
        {"sex", "gender", "male", "female", "man", "men", "woman", "women", "boy", "girl", "lady",
         "gentleman"}
    ),
    "age": frozenset(
        {"age", "aged", "child", "children", "kid", "adult", "teen", "teenager", "elderly",
         "senior", "infant", "toddler", "young", "old"}
    ),
    "emotion": frozenset(
        {"emotion", "emotional", "mood", "expression", "happy", "happiness", "sad", "sadness",
         "angry", "anger", "fear", "fearful", "disgust", "disgusted", "surprise", "surprised",
         "contempt", "smile", "smiling", "frown"}
    ),
}  # fmt: skip

# Ordinary object names that happen to contain a sensitive word; removed before matching.
_ORDINARY_PHRASES = re.compile(r"\brace[\s_-]*(car|track|horse|bike)s?\b|\bhorse[\s_-]*race\b")

# Age-bucket classifiers name their classes by range only: "(25-32)", "60+", "0-2".
_AGE_BUCKET = re.compile(r"^\(?\s*\d{1,3}\s*(-\s*\d{1,3}|\+)\s*\)?$")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _words(label: str) -> set[str]:
    text = _ORDINARY_PHRASES.sub(" ", _CAMEL.sub(" ", label).lower())
    words = {w for w in _NON_WORD.split(text) if w}
    # A crude plural fold ("ages", "genders") is enough: the list holds the irregular forms.
    return words | {w[:-1] for w in words if len(w) > 3 and w.endswith("s")}


def sensitive_trait(label: str) -> str | None:
    """The sensitive trait `label` names or implies, or None when it is an ordinary class."""
    if _AGE_BUCKET.match(label.strip()):
        return "age"
    words = _words(label)
    for trait, vocabulary in SENSITIVE_WORDS.items():
        if words & vocabulary:
            return trait
    return None


def check_labels(labels: Iterable[str], model: str = "the model") -> None:
    """Raise ModelError when any label classifies a sensitive trait (responsible-use rule 1)."""
    offending = [(label, trait) for label in labels if (trait := sensitive_trait(label))]
    if offending:
        shown = ", ".join(f"'{label}' ({trait})" for label, trait in offending[:5])
        more = f" and {len(offending) - 5} more" if len(offending) > 5 else ""
        raise ModelError(
            f"{model} is refused because its classes infer sensitive traits: {shown}{more}; "
            "Vigil accepts no model that classifies race, religion, politics, health, sexual "
            "orientation, sex, age or emotion, so use an object model without such classes."
        )
