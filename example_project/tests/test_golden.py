"""The golden set: every question of data/golden.yaml, answered with the prompt version the app ships.

Set SUPPORTBOT_PROMPT=rag_qa@<version> to run the same suite against another version (see the README's
regression demo)."""

from __future__ import annotations

import pytest

from expectations import meets_expectations
from supportbot import configured_prompt


@pytest.mark.llm(
    prompt=configured_prompt(),
    dataset="../data/golden.yaml",
    budget_usd=0.0005,
    budget_tokens=1200,
    max_latency_ms=1500,
    tags=["golden"],
)
def test_golden(bot, llm_case, llm_usage):
    answer = bot.ask(llm_case["question"])
    meets_expectations(llm_case, answer)
    assert len(llm_usage.calls) == 1, "one model call per question"
    assert llm_usage.output_tokens <= bot.prompt.parameters["max_tokens"]
