"""Evaluation checks for LLM answers: each returns a `Score`, records it into the running llm test,
and, given a threshold, fails the test with a message that says why.

    from pytest_llmops import checks

    checks.relevance(question, answer, threshold=4)          # 1-5
    checks.correctness(answer, expected, threshold=0.7)      # 0-1
    checks.grounding(answer, context, threshold=0.9)         # share of supported sentences
    checks.citations(answer, sources, check_support=True)
    checks.safety(answer)                                    # fails on PII, secrets, injection, toxicity
    checks.record_score("latency_s", 1.2, threshold=2.0, higher_is_better=False)
    checks.record_output(answer, inputs={"question": question})   # the answer the report shows
    checks.run("toxicity", answer, threshold=0.2)            # a check registered by a plugin

    checks.json_output(reply, schema=OrderReply)              # valid JSON, share of valid fields
    checks.tool_calls(response, [{"name": "lookup_order", "arguments": {"order_id": "A-1042"}}])
    checks.trajectory(must_call=["search"], forbid=["delete_*"], max_steps=6)
    checks.rubric("tone", answer, criteria="Polite, apologizes, offers a next step.", threshold=0.75)
    checks.similarity(answer, reference, method="rouge_l", threshold=0.5)
    checks.knowledge_retention(conversation, threshold=0.75)

Who scores is configured once (`--llm-judge`, `llm_judge_mode`, `llm_scorer`;
see `settings.configure`): a local scorer (lexical by default, semantic with
the `semantic` extra), an LLM judge, or both in cascade (`cascade`).

Importing this package is cheap (standard library only): rapidfuzz, the SDKs,
PyYAML and WordLlama are imported when a check that needs them runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmops.checks.answers import completeness, conciseness, correctness, relevance
    from pytest_llmops.checks.citation_check import citations
    from pytest_llmops.checks.conversation_checks import (
        conversation_relevance,
        knowledge_retention,
        role_adherence,
        transcript,
    )
    from pytest_llmops.checks.core import CheckFailed
    from pytest_llmops.checks.custom import record_output, record_score
    from pytest_llmops.checks.grounding_check import grounding
    from pytest_llmops.checks.judge import JudgeError
    from pytest_llmops.checks.registry import REGISTRY, CheckRegistry
    from pytest_llmops.checks.rubric_check import rubric
    from pytest_llmops.checks.safety_check import safety
    from pytest_llmops.checks.settings import CheckSettings, configure
    from pytest_llmops.checks.similarity_check import similarity
    from pytest_llmops.checks.structured import json_output
    from pytest_llmops.checks.tools import tool_calls
    from pytest_llmops.checks.trajectory_check import trajectory
    from pytest_llmops.results.scores import Score

__all__ = [
    "REGISTRY",
    "CheckFailed",
    "CheckRegistry",
    "CheckSettings",
    "JudgeError",
    "Score",
    "citations",
    "completeness",
    "conciseness",
    "configure",
    "conversation_relevance",
    "correctness",
    "grounding",
    "json_output",
    "knowledge_retention",
    "record_output",
    "record_score",
    "relevance",
    "role_adherence",
    "rubric",
    "run",
    "safety",
    "similarity",
    "tool_calls",
    "trajectory",
    "transcript",
]

# Loaded on first access: the plugin session imports `checks.settings` in every --llm-eval run, and
# that must not pay for every check module.
_LAZY = {
    "completeness": "answers",
    "conciseness": "answers",
    "correctness": "answers",
    "relevance": "answers",
    "citations": "citation_check",
    "CheckFailed": "core",
    "record_output": "custom",
    "record_score": "custom",
    "grounding": "grounding_check",
    "JudgeError": "judge",
    "REGISTRY": "registry",
    "CheckRegistry": "registry",
    "safety": "safety_check",
    "CheckSettings": "settings",
    "configure": "settings",
    "json_output": "structured",
    "tool_calls": "tools",
    "trajectory": "trajectory_check",
    "rubric": "rubric_check",
    "similarity": "similarity_check",
    "knowledge_retention": "conversation_checks",
    "role_adherence": "conversation_checks",
    "conversation_relevance": "conversation_checks",
    "transcript": "conversation_checks",
}


def __getattr__(name: str) -> Any:
    if name == "Score":
        from pytest_llmops.results.scores import Score

        return Score
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_llmops.checks' has no attribute {name!r}")
    value = getattr(import_module(f"pytest_llmops.checks.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def run(name: str, /, *args: Any, threshold: float | None = None, **kwargs: Any) -> Any:
    """Run a check by name: a built-in one or one registered by a plugin (`pytest_llmops_register_checks`)."""
    __tracebackhide__ = True
    from pytest_llmops.checks.registry import REGISTRY

    return REGISTRY.run(name, *args, threshold=threshold, **kwargs)
