"""With sampling on (temperature 1.2) the wording changes from run to run; the facts must not. Each
question runs three times and passes when at least two runs pass."""

from __future__ import annotations

import pytest

from expectations import answers_correctly
from supportbot import SupportBot, configured_prompt


@pytest.mark.llm(
    prompt=configured_prompt(), repeat=3, min_pass_rate=0.66, max_latency_ms=1500, tags=["sampling"]
)
@pytest.mark.parametrize("case_id", ["refund-annual", "enable-2fa", "sync-conflict"])
def test_answer_is_stable_when_sampling(case_id, golden, llm_prompt, retriever):
    case = golden[case_id]
    bot = SupportBot.from_env(llm_prompt, retriever=retriever, temperature=1.2)
    answers_correctly(case, bot.ask(case["question"]))
