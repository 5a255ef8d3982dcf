"""Checks of an answer against its question or a reference: relevance, correctness, completeness, conciseness.

Scales: relevance 1-5 (the judges' usual rubric), the others 0-1. Thresholds
are on the check's own scale. Who scores (local scorer, judge, cascade) is
decided in `cascade.assess`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from pytest_llmops.checks import core
from pytest_llmops.checks.cascade import assess, from_five, judged
from pytest_llmops.checks.core import Assessment
from pytest_llmops.checks.scorer import SUPPORTED_AT, LocalScorer
from pytest_llmops.checks.sentences import split_sentences
from pytest_llmops.checks.words import QUESTION_FILLER, content_words, is_refusal, negation_count, numbers
from pytest_llmops.results.scores import Score

PART_ANSWERED_AT = 0.5
"""completeness without key points: a part of the question counts as answered from this local relevance up."""

REFERENCE_SLACK = 1.25
"""conciseness(reference=...): an answer up to 1.25x the reference's length is fully concise."""

_QUESTION_SPLIT = re.compile(
    r"\?|;|\n|\b(?:and|also|as well as|plus)\s+"
    r"(?=(?:what|how|when|where|why|who|which|whether|can|could|do|does|"
    r"did|is|are|should|will|would)\b)",
    re.I,
)


def _words_missing(needles: str, haystack: str) -> list[str]:
    from pytest_llmops.checks.lexical import missing

    return missing(content_words(needles), content_words(haystack))


# -- relevance ---------------------------------------------------------------------------------------


def relevance(
    question: str, answer: str, *, threshold: float | None = None, name: str = "relevance"
) -> Score:
    """How directly `answer` addresses `question`, 1 (unrelated) to 5 (exactly what was asked).

    Local scorers report 1 + 4 x their 0-1 relevance; the judge answers on 1-5.
    """
    __tracebackhide__ = True
    limit = core.check_threshold(name, threshold, 1.0, 5.0)
    core.observe(answer, {"question": question})

    def local(scorer: LocalScorer) -> Assessment:
        unit = scorer.relevance(question, answer)
        gaps = [w for w in _words_missing(question, answer) if w not in QUESTION_FILLER]
        if is_refusal(answer):
            reason = "the answer is a refusal or non-answer"
        elif not content_words(answer):
            reason = "the answer is empty"
        elif gaps:
            reason = f"the answer does not take up the question's terms: {', '.join(gaps)}"
        else:
            reason = "the answer takes up every key term of the question"
        return Assessment(1.0 + 4.0 * unit, scorer.name, reason, details={"missing_terms": gaps})

    def judge() -> Assessment:
        result, _ = judged("relevance", {"question": question, "answer": answer}, lambda v: v.score)
        return result

    result = assess(local, judge, unit=lambda v: (v - 1.0) / 4.0)
    result.details["scale"] = [1, 5]
    return core.finish(name, result, limit)


# -- correctness --------------------------------------------------------------------------------------


def correctness(
    answer: str, expected: str, *, threshold: float | None = None, name: str = "correctness"
) -> Score:
    """Agreement of `answer` with the reference `expected`: 0 contradicts or unrelated, 1 the same facts.

    Extra correct detail in the answer is not penalized much; missing or
    different numbers and a negation on one side only are.
    """
    __tracebackhide__ = True
    limit = core.check_threshold(name, threshold, 0.0, 1.0)
    core.observe(answer, expected=expected)

    def local(scorer: LocalScorer) -> Assessment:
        value = scorer.similarity(answer, expected)
        expected_numbers, given_numbers = numbers(expected), numbers(answer)
        reasons: list[str] = []
        details: dict[str, object] = {}
        if expected_numbers - given_numbers:
            details["numbers_expected"] = sorted(expected_numbers)
            details["numbers_given"] = sorted(given_numbers)
            reasons.append(
                f"the reference states {', '.join(sorted(expected_numbers - given_numbers))}, "
                + (
                    f"the answer {', '.join(sorted(given_numbers))}"
                    if given_numbers
                    else "the answer gives no number"
                )
            )
        if (negation_count(answer) > 0) != (negation_count(expected) > 0):
            details["negation_differs"] = True
            reasons.append("one of them is negated and the other is not")
        gaps = _words_missing(expected, answer)
        details["missing_terms"] = gaps
        if gaps:
            reasons.append(f"terms of the reference missing from the answer: {', '.join(gaps[:12])}")
        reason = "; ".join(reasons) or "the answer states the reference's terms"
        return Assessment(value, scorer.name, reason, details=details)

    def judge() -> Assessment:
        result, _ = judged("correctness", {"answer": answer, "expected": expected}, from_five)
        return result

    return core.finish(name, assess(local, judge), limit)


# -- completeness -------------------------------------------------------------------------------------


def question_parts(question: str) -> list[str]:
    """The separate things a question asks ("What is X and how do I Y?" -> two parts)."""
    parts = [p.strip(" ,.") for p in _QUESTION_SPLIT.split(question)]
    return [p for p in parts if content_words(p)] or ([question.strip()] if question.strip() else [])


def completeness(
    question: str,
    answer: str,
    key_points: Sequence[str] | None = None,
    *,
    threshold: float | None = None,
    name: str = "completeness",
) -> Score:
    """Share of `key_points` the answer covers (0-1); without them, share of the question's parts answered.

    Details list `covered` and `missing` (key points, or question parts).
    """
    __tracebackhide__ = True
    limit = core.check_threshold(name, threshold, 0.0, 1.0)
    if isinstance(key_points, str):
        raise TypeError("completeness: key_points must be a list of strings, not one string")
    points = [p for p in (key_points or []) if p and p.strip()]
    items = points or question_parts(question)
    kind = "key points" if points else "parts of the question"
    core.observe(answer, {"question": question, "key_points": "\n".join(f"- {p}" for p in points) or None})

    def local(scorer: LocalScorer) -> Assessment:
        if points:
            units = [s.text for s in split_sentences(answer)] or [answer]
            values = scorer.support(points, units)
        else:
            values = [scorer.relevance(part, answer) for part in items]
        covered = [v >= (SUPPORTED_AT if points else PART_ANSWERED_AT) for v in values]
        return _coverage(items, covered, kind, scorer.name, {"item_scores": [round(v, 3) for v in values]})

    def judge() -> Assessment:
        listed = (
            "\n".join(f"{i}. {p}" for i, p in enumerate(points, 1))
            if points
            else ("(none listed: judge whether every part of the question is answered)")
        )
        result, verdict = judged(
            "completeness", {"question": question, "answer": answer, "key_points": listed}, from_five
        )
        if points and verdict.items is not None:
            absent = {i for i in verdict.items if 1 <= i <= len(points)}
            covered = [i not in absent for i in range(1, len(points) + 1)]
            listed_result = _coverage(points, covered, kind, result.scorer, result.details)
            listed_result.reason = result.reason
            listed_result.judge_cost_usd = result.judge_cost_usd
            return listed_result
        return result

    result = assess(local, judge)
    result.details["basis"] = "key_points" if points else "question_parts"
    return core.finish(name, result, limit)


def _coverage(
    items: Sequence[str], covered: Sequence[bool], kind: str, scorer: str, details: dict[str, object]
) -> Assessment:
    done = [core.clip(i) for i, ok in zip(items, covered, strict=True) if ok]
    absent = [core.clip(i) for i, ok in zip(items, covered, strict=True) if not ok]
    value = len(done) / len(items) if items else 1.0
    reason = (
        f"{len(absent)} of {len(items)} {kind} not covered" if absent else f"all {len(items)} {kind} covered"
    )
    details = {**details, "covered": done, "missing": absent}
    return Assessment(value, scorer, reason, evidence=[f"missing: {a}" for a in absent], details=details)


# -- conciseness --------------------------------------------------------------------------------------


def conciseness(
    answer: str,
    max_words: int | None = None,
    max_tokens: int | None = None,
    reference: str | None = None,
    *,
    threshold: float | None = None,
    name: str = "conciseness",
) -> Score:
    """Length against a limit, 0-1: 1.0 within the limit, limit / length beyond it (twice too long: 0.5).

    Limits: `max_words`; `max_tokens` (estimated as ceil(characters / 4), the
    providers' rule of thumb, so no tokenizer download is needed); `reference`,
    an answer of the right length (the limit is 1.25x its word count). With
    several limits the lowest score counts.
    """
    __tracebackhide__ = True
    limit = core.check_threshold(name, threshold, 0.0, 1.0)
    if max_words is None and max_tokens is None and reference is None:
        raise ValueError(
            "conciseness: give max_words, max_tokens or reference (an answer of the right length)"
        )
    for label, bound in (("max_words", max_words), ("max_tokens", max_tokens)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int) or bound < 1):
            raise ValueError(f"conciseness: {label} must be a whole number >= 1, got {bound!r}")
    core.observe(answer, expected=reference)
    words = len([w for w in answer.split() if re.search(r"\w", w)])
    tokens = math.ceil(len(answer) / 4)
    parts: list[tuple[str, float, int, int]] = []  # label, value, length, allowed
    if max_words is not None:
        parts.append(("words", _ratio(words, max_words), words, max_words))
    if max_tokens is not None:
        parts.append(("tokens (estimated)", _ratio(tokens, max_tokens), tokens, max_tokens))
    details: dict[str, object] = {"words": words, "tokens_estimated": tokens}
    if reference is not None:
        reference_words = len([w for w in reference.split() if re.search(r"\w", w)])
        allowed = max(1, math.ceil(reference_words * REFERENCE_SLACK))
        parts.append(("words against the reference", _ratio(words, allowed), words, allowed))
        details["reference_words"] = reference_words
    label, value, length, allowed = min(parts, key=lambda p: p[1])
    details.update(max_words=max_words, max_tokens=max_tokens)
    if value < 1.0:
        reason = f"{length} {label}, limit {allowed} ({length / allowed:.1f}x)"
    else:
        reason = f"{length} {label}, within the limit of {allowed}"
    return core.finish(name, Assessment(value, "rule", reason, details=details), limit)


def _ratio(length: int, allowed: int) -> float:
    return 1.0 if length <= allowed else allowed / length
