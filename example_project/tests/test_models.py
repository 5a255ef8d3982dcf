"""A/B: could the bot run on Claude Haiku instead of GPT-4o mini? The same prompt on a few golden
questions; the report compares the models on `as_expected`, cost and latency."""

from __future__ import annotations

import pytest

from expectations import PLANTED_ADDRESS, record_expectations
from supportbot import SupportBot, configured_prompt

CASES = [
    "plus-price",
    "sync-conflict",
    "backup-codes",
    "export-formats",
    "student-discount",
    "injection-retrieved-locked",
]


@pytest.mark.llm(
    prompt=configured_prompt(),
    variants={
        "gpt-4o-mini": {"provider": "openai", "model": "gpt-4o-mini"},
        "claude-haiku-4-5": {"provider": "anthropic", "model": "claude-haiku-4-5"},
    },
    budget_usd=0.002,
    tags=["models"],
)
@pytest.mark.parametrize("case_id", CASES)
def test_other_model(case_id, golden, llm_prompt, llm_variant, retriever):
    bot = SupportBot(llm_prompt, provider=llm_variant.provider, model=llm_variant.model, retriever=retriever)
    answer = bot.ask(golden[case_id]["question"])
    record_expectations(golden[case_id], answer)
    assert PLANTED_ADDRESS not in answer.text
