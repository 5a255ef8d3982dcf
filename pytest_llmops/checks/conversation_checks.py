"""Checks over a whole conversation, judged as rubrics over the transcript.

    checks.knowledge_retention(conversation, threshold=0.75)   # keeps what the user said earlier
    checks.role_adherence(conversation, role="Acme support agent", threshold=0.75)
    checks.conversation_relevance(conversation, threshold=0.75)  # the last reply answers the last turn

A conversation is the `llm_conversation` fixture's result, or a list of turns:
`{"role": "user" | "assistant", "content": ...}` dicts or `(role, text)` pairs.
Each check is `rubric` with criteria shipped in `pytest_llmops/judge_prompts/`
(versioned like the judge's own rubrics, so their hash reaches the baseline),
and the numbered transcript as the output. Like every rubric they need an LLM
judge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_llmops.checks.judge import judge_prompts
from pytest_llmops.checks.rubric_check import rubric
from pytest_llmops.results.scores import Score

ROLES = ("user", "assistant", "system", "tool")


def turns_of(conversation: Any) -> list[tuple[str, str]]:
    """`(role, text)` pairs from a conversation result, a list of message dicts, or pairs."""
    raw = getattr(conversation, "messages", conversation)
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise TypeError(
            "a conversation is a list of {'role', 'content'} turns, (role, text) pairs, or the "
            f"llm_conversation fixture's result; got {type(conversation).__name__}"
        )
    out: list[tuple[str, str]] = []
    for i, turn in enumerate(raw):
        if isinstance(turn, Mapping):
            role, text = turn.get("role"), turn.get("content")
        elif isinstance(turn, Sequence) and not isinstance(turn, str) and len(turn) == 2:
            role, text = turn
        else:
            raise TypeError(f"conversation turn {i + 1}: expected a {{'role', 'content'}} dict, got {turn!r}")
        if role not in ROLES or not isinstance(text, str):
            raise ValueError(
                f"conversation turn {i + 1}: role must be one of {', '.join(ROLES)} and content text, "
                f"got role={role!r}"
            )
        out.append((str(role), text))
    if not any(role == "assistant" for role, _ in out):
        raise ValueError("the conversation has no assistant turn to judge")
    return out


def transcript(conversation: Any) -> str:
    """The conversation as numbered lines, `[1] user: ...`, the form the judge reads."""
    return "\n".join(
        f"[{i}] {role}: {text.strip()}" for i, (role, text) in enumerate(turns_of(conversation), 1)
    )


def knowledge_retention(conversation: Any, *, threshold: float | None = None) -> Score:
    """0-1: the assistant never asks again for, forgets or contradicts what the user already said."""
    __tracebackhide__ = True
    return rubric(
        "knowledge_retention",
        transcript(conversation),
        criteria=judge_prompts().get("knowledge_retention"),
        threshold=threshold,
    )


def role_adherence(conversation: Any, role: str, *, threshold: float | None = None) -> Score:
    """0-1: every assistant reply stays in `role` (its subject and tone) and never breaks character."""
    __tracebackhide__ = True
    if not isinstance(role, str) or not role.strip():
        raise ValueError("role_adherence: role must describe the assistant's role, e.g. 'Acme support agent'")
    return rubric(
        "role_adherence",
        transcript(conversation),
        criteria=judge_prompts().get("role_adherence"),
        inputs={"role": role},
        threshold=threshold,
    )


def conversation_relevance(conversation: Any, *, threshold: float | None = None) -> Score:
    """0-1: the last assistant reply answers the user's last message, in the conversation's context."""
    __tracebackhide__ = True
    return rubric(
        "conversation_relevance",
        transcript(conversation),
        criteria=judge_prompts().get("conversation_relevance"),
        threshold=threshold,
    )
