"""The billing assistant, an agent: it must look an order up with its tool before answering, never cancel
anything it was not asked to cancel, fill the status card with valid JSON, and keep what the customer
said earlier in a conversation."""

from __future__ import annotations

import pytest
from pytest_llmops import checks

from supportbot.agent import OrderAgent, StatusCard

QUESTION = "What's the order status for A-1042?"


@pytest.mark.llm(tags=["agent"], budget_tokens=3000)
def test_looks_the_order_up_then_answers():
    reply = OrderAgent().ask(QUESTION)
    checks.tool_calls(None, [{"name": "order_status", "arguments": {"order_id": "A-1042"}}])
    checks.trajectory(
        must_call=["order_status"],
        forbid=["cancel_*"],
        max_steps=3,
        max_repeats=1,
        max_step_tokens=1500,
        final_answer=True,
    )
    checks.rubric(
        "states_order_status",
        reply.text,
        criteria="The reply gives the status paid for order A-1042. It never says the order was cancelled.",
        inputs={"question": QUESTION},
        threshold=0.75,
    )


@pytest.mark.llm(tags=["agent"])
def test_status_card_is_valid_json():
    card = OrderAgent().status_card(QUESTION)
    checks.json_output(card, StatusCard)
    assert StatusCard.model_validate_json(card).order_id == "A-1042"


@pytest.mark.llm(dataset="../data/conversations.yaml", tags=["agent", "conversation"])
def test_conversation(llm_conversation):
    agent = OrderAgent()
    conversation = llm_conversation(lambda history: agent.reply(history).text)
    for turn in conversation.with_expected():
        assert turn.expected in turn.reply, f"turn {turn.index}: {turn.reply!r}"
    checks.knowledge_retention(conversation, threshold=0.75)
    checks.role_adherence(conversation, role="Acme Notes billing assistant", threshold=0.75)
