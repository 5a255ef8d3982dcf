"""The local scorer interface, and picking one by name.

A local scorer answers three questions on a 0-1 scale, with no network:
how close an answer is to a reference (`similarity`), how well an answer
addresses a question (`relevance`), and how well each claim is backed by some
evidence (`support`). Checks build their scores from these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

SUPPORTED_AT = 0.6
"""A claim (an answer sentence, a key point) counts as supported by evidence from this local support up."""


class LocalScorer(Protocol):
    name: str

    def similarity(self, answer: str, reference: str) -> float:
        """Agreement of `answer` with `reference` (0 unrelated or contradicting, 1 the same facts)."""
        ...

    def relevance(self, question: str, answer: str) -> float:
        """How directly `answer` addresses `question` (0 off topic or a refusal, 1 on point)."""
        ...

    def support(self, claims: Sequence[str], evidence: Sequence[str]) -> list[float]:
        """For each claim, how well the evidence units (sentences) back it (1 stated there, 0 not at all)."""
        ...


def local_scorer(name: str) -> LocalScorer:
    """The scorer called `name` ("lexical" or "semantic"), imported on first use."""
    if name == "lexical":
        from pytest_llmops.checks.lexical import LexicalScorer

        return LexicalScorer()
    if name == "semantic":
        from pytest_llmops.checks.semantic import SemanticScorer

        return SemanticScorer.shared()
    raise ValueError(f"unknown local scorer {name!r}; use lexical or semantic (ini llm_scorer)")
