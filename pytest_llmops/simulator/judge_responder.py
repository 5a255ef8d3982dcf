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
    if name == "custom_criteria":
        return _custom(turn.system, text)
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


# -- custom criteria (checks.rubric) --------------------------------------------------------------------
# A mechanical reader of criteria: each sentence or evaluation step is one requirement, met when the
# output holds half its key words (numbers exactly), or, for a negative one ("never mentions X"),
# when it does not hold them all. Conversations get the three shipped conversation rubrics' own tests.

_RUBRIC_NAME = re.compile(r"^\s*Rubric name:\s*(\S+)", re.M)
_NEGATIVE = re.compile(r"\b(?:not|never|no|without|avoid|avoids|nor)\b|n't\b", re.I)
_CRITERIA_FILLER = frozenset(
    """reply replies response responses output answer answers assistant assistants user users customer
    customers message messages mention mentions mentioned state states stated include includes included
    say says said contain contains should must clearly every each check checks whether give gives given
    keep keeps""".split()  # noqa: SIM905
)
_TURN = re.compile(
    r"^\[(\d+)\]\s+(user|assistant|system|tool):\s?(.*?)(?=^\[\d+\]\s+(?:user|assistant|system|tool):|\Z)",
    re.M | re.S,
)
_FACT = re.compile(r"\b(?=[\w-]*\d)[A-Za-z0-9][\w-]*\b")
_ASKS_AGAIN = re.compile(r"\b(?:what(?:'s| is| was)|could you|can you|please)\b[^?]*\byour\b[^?]*\?", re.I)
_BREAKS_ROLE = re.compile(
    r"\bas an ai\b|\bi am an ai\b|\bi'm an ai\b|\blanguage model\b|\bi am chatgpt\b|\bpretend(?:ing)? to be\b",
    re.I,
)


def _requirements(criteria: str, steps: str) -> list[str]:
    parts = re.split(r"(?<=[.!?;])\s+|\n+", criteria)
    if steps and not steps.startswith("(none"):
        parts += [re.sub(r"^\s*\d+\.\s*", "", line) for line in steps.splitlines()]
    return [p.strip() for p in parts if [w for w in content_words(p) if w not in _CRITERIA_FILLER]]


def _met(requirement: str, output: str) -> bool:
    """A positive requirement is met when the output holds half its key words and all its numbers; a
    negative one ("never says the order was cancelled") is broken only when the output holds all of them."""
    words = [w for w in content_words(requirement) if w not in _CRITERIA_FILLER]
    recall = _recall(words, content_words(output))
    if _NEGATIVE.search(requirement):
        return recall < 1.0
    return recall >= 0.5 and not (numbers(requirement) - numbers(output))


def _custom(system: str, text: str) -> str:
    found = _RUBRIC_NAME.search(system)
    name = found.group(1) if found else ""
    output = _section(text, "output") or ""
    turns = [(m.group(2), m.group(3).strip()) for m in _TURN.finditer(output)]
    if turns and name == "knowledge_retention":
        return _retention(turns)
    if turns and name == "role_adherence":
        return _role(turns, _input(text, "role"))
    if turns and name == "conversation_relevance":
        users = [t for r, t in turns if r == "user"]
        replies = [t for r, t in turns if r == "assistant"]
        return _relevance(users[-1] if users else "", replies[-1] if replies else "")
    requirements = _requirements(_section(system, "criteria") or "", _section(system, "steps") or "")
    if not requirements:
        return _reply(3, "The criteria state nothing checkable.")
    missed = [r for r in requirements if not _met(r, output)]
    share = 1 - len(missed) / len(requirements)
    reason = f"{len(requirements) - len(missed)} of {len(requirements)} criteria met"
    if missed:
        reason += "; missed: " + "; ".join(m.rstrip(".") for m in missed[:3])
    return _reply(_five(share), reason + ".")


def _retention(turns: list[tuple[str, str]]) -> str:
    told: set[str] = set()
    lapses: list[str] = []
    for index, (role, text) in enumerate(turns, 1):
        if role == "user":
            told |= set(_FACT.findall(text))
            continue
        if role != "assistant" or not told:
            continue
        if _ASKS_AGAIN.search(text):
            lapses.append(f"turn {index} asks again for something the user already gave")
        invented = [f for f in _FACT.findall(text) if f not in told and any(_same_shape(f, t) for t in told)]
        if invented:
            lapses.append(f"turn {index} states {invented[0]} where the user said {sorted(told)[0]}")
    if lapses:
        return _reply(1 if len(lapses) > 1 else 2, "; ".join(lapses) + ".")
    return _reply(5, "The assistant keeps everything the user said earlier.")


def _input(text: str, name: str) -> str:
    m = re.search(rf'<input name="{re.escape(name)}">\s*\n?(.*?)\n?\s*</input>', text, re.S)
    return m.group(1).strip() if m else ""


def _same_shape(a: str, b: str) -> bool:
    return re.sub(r"\d", "0", a) == re.sub(r"\d", "0", b)


def _role(turns: list[tuple[str, str]], role: str) -> str:
    replies = [(i, t) for i, (r, t) in enumerate(turns, 1) if r == "assistant"]
    broken = [i for i, t in replies if _BREAKS_ROLE.search(t)]
    if broken:
        share = 1 - len(broken) / len(replies)
        return _reply(min(2, _five(share)), f"turn {broken[0]} breaks the role of {role or 'the assistant'}.")
    return _reply(5, f"Every reply stays in the role of {role or 'the assistant'}.")
