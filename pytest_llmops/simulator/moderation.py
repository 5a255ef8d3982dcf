"""Deterministic moderation results from a small word list per category."""

from __future__ import annotations

import hashlib
import re
from typing import Any

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

_WORDS: dict[str, tuple[str, ...]] = {
    "harassment": ("idiot", "stupid", "loser", "moron"),
    "harassment/threatening": ("kill you", "kill them", "hurt you", "hunt you"),
    "hate": ("subhuman", "vermin"),
    "illicit": ("steal", "shoplift", "counterfeit", "launder"),
    "illicit/violent": ("build a bomb", "make a bomb", "buy a gun illegally"),
    "self-harm": ("kill myself", "hurt myself", "self-harm", "suicide"),
    "self-harm/intent": ("kill myself", "want to die", "end my life"),
    "violence": ("kill", "murder", "stab", "shoot", "bomb", "attack"),
    "violence/graphic": ("gore", "dismember", "mutilate"),
}


def classify(text: str) -> dict[str, Any]:
    """One entry of a moderation response's `results` for `text`."""
    lowered = text.lower()
    hits = {
        category: any(re.search(r"\b" + re.escape(word) + r"\b", lowered) for word in words)
        for category, words in _WORDS.items()
    }
    categories = {name: hits.get(name, False) for name in CATEGORIES}
    scores = {name: _score(text, name, categories[name]) for name in CATEGORIES}
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": scores,
        "category_applied_input_types": {name: ["text"] for name in CATEGORIES},
    }


def _score(text: str, category: str, hit: bool) -> float:
    jitter = int.from_bytes(hashlib.sha256(f"{category}:{text}".encode()).digest()[:4], "big") / 2**32
    return round(0.85 + 0.14 * jitter, 6) if hit else round(1e-6 + 0.01 * jitter**4, 9)
