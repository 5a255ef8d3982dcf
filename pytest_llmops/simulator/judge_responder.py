"""A deterministic LLM judge for the simulator, so judge runs can be recorded and replayed in tests.

It answers requests built from pytest-llmops' judge rubrics (their system
text says "Rubric: <name>.") in the strict output format, with a score worked
out lexically from the tagged sections of the request (`<question>`,
`<answer>`, `<reference>`, `<context>`, ...): word overlap plus agreement of
numbers and negation, the same kind of evidence a careful reader weighs.
Everything else passes to the next responder:

    ProviderSimulator(responder=with_judge())   # judge first, then the extractive default

After the format reminder (`judge_format_reminder`) it answers from the
first request's sections, as a model would. Standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pytest_llmops.checks.words import (
    QUESTION_FILLER,
    asks_quantity,
    content_words,
    is_refusal,
    negation_count,
    numbers,
)

from .responders import ChatTurn, Responder, chain, extractive_responder

__all__ = ["judge_responder", "with_judge"]

_RUBRIC = re.compile(r"\bRubric:\s*([a-z_]+)\.", re.I)
SUPPORTED_AT = 0.6


def with_judge(responder: Responder = extractive_responder) -> Responder:
    """`responder`, with judge requests answered by `judge_responder` first."""
    return chain(judge_responder, responder)


def _section(text: str, tag: str) -> str | None:
    m = re.search(rf"<{tag}>\s*\n?(.*?)\n?\s*</{tag}>", text, re.S)
    return m.group(1).strip() if m else None


def _recall(needles: Sequence[str], haystack: Sequence[str]) -> float:
    if not needles:
        return 1.0
    hay = set(haystack)
    return sum(1 for n in needles if n in hay) / len(needles)


def _supported(claim: str, evidence: str) -> bool:
    words = content_words(claim)
    if not words:
        return True
    if numbers(claim) - numbers(evidence):
        return False
    return _recall(words, content_words(evidence)) >= SUPPORTED_AT


def _five(share: float) -> int:
    return 1 + round(4 * max(0.0, min(1.0, share)))


def _numbered(block: str) -> list[tuple[int, str]]:
    return [(int(m.group(1)), m.group(2).strip()) for m in re.finditer(r"^\s*(\d+)\.\s+(.*)$", block, re.M)]


def _reply(score: int, reason: str, **lists: list[int]) -> str:
    return json.dumps({"score": score, "reason": reason, **lists})


def judge_responder(turn: ChatTurn) -> str | None:
    """A verdict in JSON for a judge rubric request; None for anything else."""
    rubric = _RUBRIC.search(turn.system) or next(
        (m for m in (_RUBRIC.search(t) for r, t in turn.messages if r == "system") if m), None
    )
    if rubric is None:
        return None
    text = "\n".join(t for role, t in turn.messages if role == "user")
    name = rubric.group(1).lower()
    if name == "relevance":
        return _relevance(_section(text, "question") or "", _section(text, "answer") or "")
    if name == "correctness":
        return _correctness(_section(text, "answer") or "", _section(text, "reference") or "")
    if name == "completeness":
        return _completeness(_section(text, "answer") or "", _section(text, "key_points") or "")
    if name == "grounding":
        return _grounding(_section(text, "context") or "", _section(text, "answer_sentences") or "")
    if name == "citation_support":
        return _citation_support(_section(text, "sources") or "", _section(text, "claims") or "")
    return _reply(3, f"unknown rubric {name}")


def _relevance(question: str, answer: str) -> str:
    if is_refusal(answer) or not content_words(answer):
        return _reply(2, "The answer does not address the question; it is a refusal or empty.")
    wanted = [w for w in content_words(question) if w not in QUESTION_FILLER] or list(content_words(question))
    share = _recall(wanted, content_words(answer))
    if asks_quantity(question) and numbers(answer):
        share = min(1.0, share + 0.2)
    return _reply(_five(share), f"The answer takes up {share:.0%} of the question's key terms.")


def _correctness(answer: str, reference: str) -> str:
    share = _recall(content_words(reference), content_words(answer))
    notes = []
    if numbers(reference) - numbers(answer):
        share *= 0.3
        notes.append("its numbers differ from the reference")
    if (negation_count(answer) > 0) != (negation_count(reference) > 0):
        share *= 0.5
        notes.append("it negates what the reference states, or the reverse")
    reason = f"The answer states {share:.0%} of the reference's facts" + (
        f"; {'; '.join(notes)}." if notes else "."
    )
    return _reply(_five(share), reason)


def _completeness(answer: str, key_points: str) -> str:
    points = _numbered(key_points)
    if not points:
        return _reply(_five(1.0 if content_words(answer) else 0.0), "No key points were listed.", missing=[])
    missing = [n for n, point in points if not _supported(point, answer)]
    share = 1 - len(missing) / len(points)
    return _reply(
        _five(share), f"{len(points) - len(missing)} of {len(points)} key points covered.", missing=missing
    )


def _grounding(context: str, sentences: str) -> str:
    claims = _numbered(sentences)
    if not claims:
        return _reply(5, "There is nothing to check.", unsupported=[])
    bad = [n for n, claim in claims if not _supported(claim, context)]
    share = 1 - len(bad) / len(claims)
    reason = f"{len(claims) - len(bad)} of {len(claims)} sentences are supported by the context."
    return _reply(_five(share), reason, unsupported=bad)


def _citation_support(sources: str, claims: str) -> str:
    texts = {
        m.group(1).strip(): m.group(2).strip()
        for m in re.finditer(r"^\[([^\]\n]+)\]\s*(.*?)(?=^\[|\Z)", sources, re.M | re.S)
    }
    items = _numbered(claims)
    bad: list[int] = []
    for number, line in items:
        cited = re.search(r"\(cites:\s*([^)]*)\)\s*$", line)
        ids = [i.strip() for i in cited.group(1).split(",")] if cited else []
        claim = line[: cited.start()] if cited else line
        evidence = " ".join(texts.get(i, "") for i in ids)
        if not _supported(claim, evidence):
            bad.append(number)
    share = 1 - len(bad) / len(items) if items else 1.0
    reason = f"{len(items) - len(bad)} of {len(items)} claims are supported by the sources they cite."
    return _reply(_five(share), reason, unsupported=bad)
