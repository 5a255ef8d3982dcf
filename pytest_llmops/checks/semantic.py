"""The semantic local scorer: WordLlama embeddings (extra `semantic`), blended with the lexical scorer.

Imported only when a check runs with `llm_scorer = semantic`. WordLlama ships
its weights and tokenizer inside its wheel; they are loaded from the package
folder with downloads disabled, so this works offline and never fetches a
model behind the user's back.

Cosine similarities of WordLlama embeddings are not probabilities: unrelated
sentences land around 0-0.25, paraphrases around 0.45-0.95. Each use maps the
cosine linearly from a measured "unrelated" level (0) to a "same meaning"
level (1), then blends in the lexical score (embeddings cannot tell "5 days"
from "10 days", or "can" from "cannot") and applies the same fact agreement:

- similarity: 0.7 x map(cos, 0.10, 0.70) + 0.3 x lexical;
- relevance:  0.7 x map(cos, 0.10, 0.65) + 0.3 x lexical (a refusal is capped at 0.2);
- support:    0.6 x map(best cos over windows, 0.30, 0.80) + 0.4 x lexical.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

from pytest_llmops.checks import lexical
from pytest_llmops.checks.words import is_refusal

EXTRA_HINT = "install the extra: pip install 'pytest-llmops[semantic]'"


class SemanticScorerUnavailable(RuntimeError):
    """WordLlama is missing or cannot load its bundled weights."""


def _mapped(cos: float, zero: float, one: float) -> float:
    return min(1.0, max(0.0, (cos - zero) / (one - zero)))


def load_model() -> Any:
    """The bundled WordLlama model, loaded from the installed package with downloads disabled."""
    try:
        import wordllama
    except ImportError as exc:
        raise SemanticScorerUnavailable(
            f"llm_scorer = semantic needs WordLlama, which is not installed ({exc}); {EXTRA_HINT}, "
            "or use llm_scorer = lexical"
        ) from None
    folder = Path(wordllama.__file__).parent
    try:
        # The package folder has weights/ and tokenizers/, the layout WordLlama expects of a cache dir.
        return wordllama.WordLlama.load(cache_dir=folder, disable_download=True)
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise SemanticScorerUnavailable(
            f"WordLlama is installed at {folder} but its bundled weights could not be loaded offline "
            f"({exc}). "
            f"Reinstall it ({EXTRA_HINT}), or use llm_scorer = lexical"
        ) from None


class SemanticScorer:
    name = "semantic"
    _shared: ClassVar[SemanticScorer | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model: Any) -> None:
        self.model = model
        self.lexical = lexical.LexicalScorer()

    @classmethod
    def shared(cls) -> SemanticScorer:
        """One model per process: loading takes about a second."""
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls(load_model())
            return cls._shared

    def _cosines(self, left: Sequence[str], right: Sequence[str]) -> list[list[float]]:
        a = self.model.embed(list(left), norm=True)
        b = self.model.embed(list(right), norm=True)
        matrix = a @ b.T
        return [[float(x) for x in row] for row in matrix]

    def similarity(self, answer: str, reference: str) -> float:
        if not answer.strip() or not reference.strip():
            return self.lexical.similarity(answer, reference)
        [[cos]] = self._cosines([answer], [reference])
        blended = 0.7 * _mapped(cos, 0.10, 0.70) + 0.3 * lexical.word_similarity(answer, reference)
        return min(1.0, blended * lexical.similarity_agreement(answer, reference))

    def relevance(self, question: str, answer: str) -> float:
        if not answer.strip() or not question.strip():
            return self.lexical.relevance(question, answer)
        [[cos]] = self._cosines([question], [answer])
        value = 0.7 * _mapped(cos, 0.10, 0.65) + 0.3 * self.lexical.relevance(question, answer)
        return min(value, 0.2) if is_refusal(answer) else value

    def support(self, claims: Sequence[str], evidence: Sequence[str]) -> list[float]:
        units = [u for u in evidence if u.strip()]
        lexical_values = self.lexical.support(claims, units)
        if not claims or not units:
            return lexical_values
        windows = units + [f"{a} {b}" for a, b in pairwise(units)]
        cosines = self._cosines(claims, windows)
        all_text = " ".join(units)
        out: list[float] = []
        for claim, row, lex_value in zip(claims, cosines, lexical_values, strict=True):
            best = max(range(len(row)), key=row.__getitem__)
            factor = lexical.claim_agreement(claim, windows[best], all_text)
            semantic = _mapped(row[best], 0.30, 0.80) * factor
            out.append(min(1.0, 0.6 * semantic + 0.4 * lex_value))
        return out
