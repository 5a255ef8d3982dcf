"""What every check does with its result: hold it to the threshold, record it, fail readably.

The score is recorded into the running llm test *before* a failure is raised,
so a failing test keeps its scores for the report and the baseline. Outside
an llm test (a plain test, a script) the check only returns or raises.

A failed check raises `CheckFailed`, an AssertionError, so pytest reports it
as an ordinary test failure. Its first line says what failed, by how much, who
said so and why:

    relevance 2.0 < threshold 4.0 (judge openai:gpt-4o-mini, prompt relevance@1.0.0): The answer ...

and the following lines list the evidence (unsupported sentences, unknown
citations, findings). The check functions' own frames are hidden from the
traceback (`__tracebackhide__`), so it points at the test's line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_llmops.results.scores import Score

MAX_LISTED = 10
"""Evidence lines shown in a failure message; the details keep more."""


@dataclass(slots=True)
class Assessment:
    """A check's value with who produced it and why, before it becomes a Score.

    `reason` is the one-line why (the judge's rationale, or the local
    scorer's finding); `evidence` the lines listed under it when the check fails.
    """

    value: float
    scorer: str
    reason: str = ""
    evidence: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    judge_cost_usd: float | None = None


class CheckFailed(AssertionError):
    """A check's score missed its threshold. `score` is the recorded Score."""

    __module__ = "pytest_llmops.checks"

    def __init__(self, message: str, score: Score) -> None:
        super().__init__(message)
        self.score = score


def fmt(value: float) -> str:
    """A score for people: 2.0, 0.75, 0.833 -> 0.83, 12.5."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def provenance(score: Score) -> str:
    """Who produced the value, for the failure line: the judge and rubric, or the local scorer."""
    details = score.details
    if score.scorer.startswith("judge:"):
        text = f"judge {score.scorer[len('judge:') :]}"
        if details.get("judge_prompt"):
            text += f", prompt {details['judge_prompt']}"
        if details.get("escalated"):
            local = f"{details.get('local_scorer', 'local')} {fmt(details.get('local_value', 0))}"
            text += f", escalated from {local}"
        return text
    if score.scorer in ("lexical", "semantic"):
        return f"{score.scorer} scorer"
    return score.scorer


def failure_message(score: Score, reason: str = "", evidence: Sequence[str] = ()) -> str:
    assert score.threshold is not None
    if score.meets(score.threshold):  # failed for another reason (e.g. an unknown citation)
        op = ">=" if score.higher_is_better else "<="
        head = f"{score.name} {fmt(score.value)} {op} threshold {fmt(score.threshold)} but failed"
    else:
        op = "<" if score.higher_is_better else ">"
        head = f"{score.name} {fmt(score.value)} {op} threshold {fmt(score.threshold)}"
    head += f" ({provenance(score)})"
    if reason:
        head += f": {reason}"
    lines = [head]
    shown = list(evidence[:MAX_LISTED])
    lines += [f"  {line}" for line in shown]
    if len(evidence) > MAX_LISTED:
        lines.append(f"  ... and {len(evidence) - MAX_LISTED} more (see the score's details in the report)")
    return "\n".join(lines)


def record(score: Score) -> None:
    """Add `score` to the running llm test's record; nothing outside one."""
    from pytest_llmops import context

    ctx = context.current()
    if ctx is not None:
        ctx.add_score(score)


def as_text(value: Any) -> str:
    """An input as the report shows it: a text as is, chunks one per paragraph, id -> text as "[id] text"."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "\n\n".join(f"[{k}] {v}" for k, v in value.items())
    if isinstance(value, Sequence):
        return "\n\n".join(str(v) for v in value)
    return str(value)


def observe(
    output: str, inputs: Mapping[str, Any] | None = None, expected: str | None = None, rank: int = 2
) -> None:
    """Tell the running llm test which text was scored, and against what, so the report can show the
    answer beside the baseline's (see `TestContext.observe`); nothing outside an llm test."""
    from pytest_llmops import context

    ctx = context.current()
    if ctx is not None:
        texts = {k: as_text(v) for k, v in (inputs or {}).items() if v is not None}
        ctx.observe(output, texts, expected, rank)


def conclude(score: Score, reason: str = "", evidence: Sequence[str] = ()) -> Score:
    """Decide `passed` from the threshold, record the score, and raise CheckFailed when it missed."""
    __tracebackhide__ = True
    if score.threshold is not None and score.passed is None:
        score.passed = score.meets(score.threshold)
    record(score)
    if score.passed is False:
        raise CheckFailed(failure_message(score, reason, evidence), score)
    return score


def check_threshold(name: str, threshold: float | None, low: float, high: float) -> float | None:
    """The threshold as a float; a ValueError naming the check when it is off the check's scale."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        raise ValueError(f"{name}: threshold must be a number, got {threshold!r}")
    if not low <= threshold <= high:
        raise ValueError(
            f"{name}: threshold {threshold!r} is outside the score's scale {fmt(low)}-{fmt(high)}"
        )
    return float(threshold)


def clip(text: str, limit: int = 300) -> str:
    """A quoted piece of an answer for details and messages, cut when long."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def jsonable(details: dict[str, Any]) -> dict[str, Any]:
    """Details as plain JSON types (they ride the TestReport across xdist workers)."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [convert(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if value is None or isinstance(value, str | int | float | bool):
            return value
        return str(value)

    converted: dict[str, Any] = convert(details)
    return converted


def finish(name: str, result: Assessment, threshold: float | None, *, higher_is_better: bool = True) -> Score:
    """Turn an assessment into a Score (reason kept in details), then `conclude` it."""
    __tracebackhide__ = True
    score = Score(
        name=name,
        value=float(result.value),
        threshold=threshold,
        higher_is_better=higher_is_better,
        scorer=result.scorer,
        details=jsonable(result.details),
        judge_cost_usd=result.judge_cost_usd,
    )
    if result.reason:
        score.details.setdefault("reason", result.reason)
    score.details.setdefault("scale", [0, 1])  # the built-in checks score 0-1, relevance (1-5) says so
    return conclude(score, result.reason, result.evidence)
