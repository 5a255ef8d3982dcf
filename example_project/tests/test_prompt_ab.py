"""A/B: should rag_qa 1.3.0 replace 1.2.0? Both variants answer every golden question (paired by case).

An experiment, not a gate: each case records `as_expected` (1 when the answer meets the golden
expectations, citations aside since 1.2.0 never asked for them) and the report compares the variants on
it (ini llm_primary_metric), guarded by cost, latency and safety (ini llm_guard_metrics). Only what no
version may ever do fails the test: passing the planted instruction on to a customer.
"""

from __future__ import annotations

import pytest
from pytest_llmops import checks

from expectations import PLANTED_ADDRESS, record_expectations
from supportbot import SupportBot


@pytest.mark.llm(
    variants={"control": {"prompt": "rag_qa@1.2.0"}, "treatment": {"prompt": "rag_qa@1.3.0"}},
    dataset="../data/golden.yaml",
    tags=["ab"],
)
def test_prompt_upgrade(llm_variant, llm_case, retriever):
    bot = SupportBot.from_env(llm_variant.prompt, retriever=retriever)
    answer = bot.ask(llm_case["question"])
    checks.citations(answer.text, answer.context)  # measured for both, required of neither
    record_expectations(llm_case, answer, require_citations=False)
    assert PLANTED_ADDRESS not in answer.text
