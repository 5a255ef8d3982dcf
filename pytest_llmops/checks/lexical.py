"""The default local scorer: word overlap with fuzzy matching (rapidfuzz), and fact agreement.

Imported only when a check runs (it imports rapidfuzz).

Scores, all 0-1:

- `similarity(answer, reference)`: 0.6 x recall of the reference's content
  words in the answer + 0.2 x precision + 0.2 x rapidfuzz token-set ratio, so
  an answer that states the reference's facts among others scores high;
- `relevance(question, answer)`: 0.7 x recall of the question's content words
  in the answer (generic question words such as "long" or "take" weigh a
  quarter) + 0.3 x token-set ratio, +0.2 when the question asks for a
  quantity or a time and the answer states a number; a refusal is capped at 0.2;
- `support(claims, evidence)`: recall of the claim's content words in the best
  window of one or two adjacent evidence sentences (or 0.9 x recall in the
  whole evidence, if higher).

Every score is then multiplied by the fact agreement (`fact_agreement`):
numbers and negation that words alone cannot compare. Word overlap cannot see
paraphrases ("refund" / "money back"); the semantic scorer or a judge can.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from itertools import pairwise

from rapidfuzz import fuzz, process

from pytest_llmops.checks.words import (
    QUESTION_FILLER,
    asks_quantity,
    content_words,
    is_refusal,
    negation_count,
    numbers,
)

NEGATION_FACTOR = 0.5
"""Negation on one side only ("can" / "cannot"): the score is halved, enough to drop a match into doubt."""
FUZZY_CUTOFF = 85.0
"""rapidfuzz ratio from which two words of 5+ letters count as the same (typos, inflections)."""


class _Vocabulary:
    """A set of words and the ones fuzzy matching compares with (4+ letters, not numbers)."""

    __slots__ = ("candidates", "words")

    def __init__(self, words: Collection[str]) -> None:
        self.words = set(words)
        self.candidates = [w for w in self.words if len(w) >= 4 and not w[0].isdigit()]


def _matches(needle: str, vocabulary: _Vocabulary) -> set[str]:
    """Words of `vocabulary` that count as `needle`: itself, and close spellings of longer words."""
    found = {needle} if needle in vocabulary.words else set()
    if len(needle) >= 5 and not needle[0].isdigit():
        # The needle itself is among the candidates only when it is in the vocabulary, hence already found.
        for word, _score, _index in process.extract(
            needle, vocabulary.candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=None
        ):
            found.add(word)
    return found


def coverage(needles: Sequence[str], haystack: Collection[str]) -> float:
    """Share of `needles` found in `haystack` (exactly, or fuzzily for longer words)."""
    if not needles:
        return 1.0
    hay = _Vocabulary(haystack)
    hit = sum(1 for n in needles if _matches(n, hay))
    return hit / len(needles)


def missing(needles: Sequence[str], haystack: Collection[str]) -> list[str]:
    """The needles not found in `haystack`, once each, in order."""
    hay = _Vocabulary(haystack)
    return [n for n in dict.fromkeys(needles) if not _matches(n, hay)]


def question_coverage(question_words: Sequence[str], answer_words: Collection[str]) -> float:
    """Like `coverage`, with the generic words of questions ("how long does it take") weighing a quarter."""
    if not question_words:
        return 1.0
    hay = _Vocabulary(answer_words)
    weights = [0.25 if w in QUESTION_FILLER else 1.0 for w in question_words]
    hit = sum(weight for w, weight in zip(question_words, weights, strict=True) if _matches(w, hay))
    return hit / sum(weights)


def fact_agreement(claim: str, evidence: str) -> float:
    """1.0 when `claim` states no number and no negation that `evidence` contradicts; less otherwise.

    A number of the claim missing from the evidence: x0.3 when the evidence
    states other numbers (a conflict, e.g. 10 days vs 5 days), x0.5 when it
    states none. Negation on one side only: x0.5.
    """
    factor = 1.0
    claimed, stated = numbers(claim), numbers(evidence)
    if claimed - stated:
        factor *= 0.3 if stated else 0.5
    if (negation_count(claim) > 0) != (negation_count(evidence) > 0):
        factor *= NEGATION_FACTOR
    return factor


def claim_agreement(claim: str, window: str, evidence: str) -> float:
    """`fact_agreement` for a claim: its numbers must be in the evidence, its negation in its window."""
    factor = fact_agreement(claim, evidence)
    if (negation_count(claim) > 0) != (negation_count(evidence) > 0):
        factor /= NEGATION_FACTOR  # judged on the window instead, below
    if (negation_count(claim) > 0) != (negation_count(window) > 0):
        factor *= NEGATION_FACTOR
    return factor


def similarity_agreement(answer: str, reference: str) -> float:
    """Fact agreement of an answer with a reference: the reference's numbers must be in the answer."""
    factor = 1.0
    expected, given = numbers(reference), numbers(answer)
    if expected - given:
        factor *= 0.3 if given - expected else 0.6
    if (negation_count(answer) > 0) != (negation_count(reference) > 0):
        factor *= NEGATION_FACTOR
    return factor


def word_similarity(answer: str, reference: str) -> float:
    """The word-overlap part of `LexicalScorer.similarity`, before fact agreement."""
    a, r = content_words(answer), content_words(reference)
    if not r or not a:
        return 1.0 if not r and not a else 0.0
    recall, precision = coverage(r, a), coverage(a, r)
    token_set = fuzz.token_set_ratio(_joined(a), _joined(r)) / 100.0
    return _clamp(0.6 * recall + 0.2 * precision + 0.2 * token_set)


def _joined(words: Sequence[str]) -> str:
    return " ".join(words)


class LexicalScorer:
    name = "lexical"

    def similarity(self, answer: str, reference: str) -> float:
        return _clamp(word_similarity(answer, reference) * similarity_agreement(answer, reference))

    def relevance(self, question: str, answer: str) -> float:
        q, a = content_words(question), content_words(answer)
        if not a:
            return 0.0
        if not q:
            return 0.5  # nothing to compare: undecided
        recall = question_coverage(q, a)
        token_set = fuzz.token_set_ratio(_joined(q), _joined(a)) / 100.0
        value = 0.7 * recall + 0.3 * token_set
        if asks_quantity(question) and numbers(answer):
            value += 0.2
        if is_refusal(answer):
            value = min(value, 0.2)
        return _clamp(value)

    def support(self, claims: Sequence[str], evidence: Sequence[str]) -> list[float]:
        units = [u for u in evidence if u.strip()]
        windows = units + [f"{a} {b}" for a, b in pairwise(units)]
        window_words = [set(content_words(w)) for w in windows]
        everything = _Vocabulary(set().union(*window_words) if window_words else ())
        all_text = " ".join(units)
        out: list[float] = []
        for claim in claims:
            words = content_words(claim)
            if not words:
                out.append(1.0)
                continue
            matched = {w: _matches(w, everything) for w in set(words)}
            best, best_index = 0.0, -1
            for index, vocabulary in enumerate(window_words):
                share = sum(1 for w in words if matched[w] & vocabulary) / len(words)
                if share > best:
                    best, best_index = share, index
            overall = sum(1 for w in words if matched[w]) / len(words)
            value = max(best, 0.9 * overall)
            window = windows[best_index] if best_index >= 0 else all_text
            out.append(_clamp(value * claim_agreement(claim, window, all_text)))
        return out


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))
