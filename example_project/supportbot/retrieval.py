"""BM25 retrieval over the passages (bm25s, imported on first use: it pulls in numpy)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from supportbot.corpus import Passage, load_passages

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    """a an and are as at be by can do does for from how i if in is it my of on or so that the this to
    was we what when where which who why will with you your""".split()  # noqa: SIM905
)


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
        self._index: Any = None

    def _bm25(self) -> Any:
        if self._index is None:
            import bm25s

            index = bm25s.BM25()
            index.index([tokenize(f"{p.title} {p.text}") for p in self.passages], show_progress=False)
            self._index = index
        return self._index

    def search(self, question: str, k: int = 3) -> list[Passage]:
        """The `k` best passages, best first; passages sharing no word with the question are left out."""
        tokens = tokenize(question)
        if not tokens:
            return []
        ids, scores = self._bm25().retrieve([tokens], k=min(k, len(self.passages)), show_progress=False)
        return [self.passages[int(i)] for i, s in zip(ids[0], scores[0], strict=True) if s > 0]
