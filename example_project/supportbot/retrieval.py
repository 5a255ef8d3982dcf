"""BM25 retrieval over the passages: Okapi BM25 as Lucene scores it, in plain Python (the help center is a
few dozen passages, so an index is a dict of term counts per passage, built once per `Retriever`)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from supportbot.corpus import Passage, load_passages

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    """a an and are as at be by can do does for from how i if in is it my of on or so that the this to
    was we what when where which who why will with you your""".split()  # noqa: SIM905
)
K1 = 1.5
"""Term-frequency saturation."""
B = 0.75
"""Length normalisation: 0 ignores a passage's length, 1 divides by it fully."""


def _stem(word: str) -> str:
    """Strip a plural or verb ending, enough for "refunds"/"refund" and "syncing"/"sync" to meet."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


class Retriever:
    """Top-k passages for a question. Deterministic: the same question always gets the same passages."""

    def __init__(self, passages: Sequence[Passage] | None = None) -> None:
        self.passages = list(passages) if passages is not None else load_passages()
        self._weights: dict[str, list[tuple[int, float]]] | None = None

    def _index(self) -> dict[str, list[tuple[int, float]]]:
        """Term -> (passage position, BM25 weight of the term in that passage), for every term of every passage.

        The weight is idf * tf / (tf + K1 * (1 - B + B * length / mean length)), idf = ln(1 + (N - df + 0.5) /
        (df + 0.5)): Lucene's BM25, whose idf is never negative.
        """
        if self._weights is None:
            counts = [Counter(tokenize(f"{p.title} {p.text}")) for p in self.passages]
            lengths = [sum(c.values()) for c in counts]
            mean = sum(lengths) / len(lengths) if lengths else 1.0
            df = Counter(term for c in counts for term in c)
            n = len(counts)
            weights: dict[str, list[tuple[int, float]]] = {}
            for position, (terms, length) in enumerate(zip(counts, lengths, strict=True)):
                norm = K1 * (1 - B + B * length / mean)
                for term, tf in terms.items():
                    idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                    weights.setdefault(term, []).append((position, idf * tf / (tf + norm)))
            self._weights = weights
        return self._weights

    def search(self, question: str, k: int = 3) -> list[Passage]:
        """The `k` best passages, best first; passages sharing no word with the question are left out.

        A word repeated in the question counts once per occurrence; equal scores keep the articles' order.
        """
        index = self._index()
        scores: dict[int, float] = {}
        for term in tokenize(question):
            for position, weight in index.get(term, ()):
                scores[position] = scores.get(position, 0.0) + weight
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [self.passages[position] for position, score in best if score > 0]
