"""Agent-style tests as a user writes them: a tool loop and a conversation, recorded against the simulator
(app and judge calls in one cassette), then replayed offline with no key, checked by tool_calls,
trajectory, json_output, rubric and the conversation checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_llmops.simulator import ProviderSimulator
from pytest_llmops.simulator.judge_responder import with_judge

AGENT_SUITE = """
import json, os
import pytest
from openai import OpenAI
from pytest_llmops import checks

ORDERS = {"A-1042": {"status": "shipped", "eta": "Friday"}}
TOOLS = [{"type": "function", "function": {
    "name": "order_status", "description": "Look up an order",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}]


def agent(client, messages):
    for _ in range(4):
        reply = client.chat.completions.create(model="gpt-4o-mini", temperature=0, messages=messages, tools=TOOLS)
        message = reply.choices[0].message
        if not message.tool_calls:
            return message.content
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            order = ORDERS.get(json.loads(call.function.arguments)["order_id"], {"status": "unknown"})
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(order)})
    return ""


@pytest.mark.llm
def test_agent_looks_up_then_answers():
    client = OpenAI()
    answer = agent(client, [{"role": "user", "content": "What is the order status of A-1042?"}])
    checks.tool_calls(None, [{"name": "order_status", "arguments": {"order_id": "A-1042"}}])
    checks.trajectory(must_call=["order_status"], forbid=[os.environ.get("FORBID", "delete_*")],
                      max_steps=3, max_repeats=1, final_answer=True)
    checks.rubric("states_status", answer, criteria="The reply gives the status shipped.", threshold=0.75)


ORDER_SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}


@pytest.mark.llm
def test_streamed_tool_calls_are_read_from_the_recorded_stream():
    from anthropic import Anthropic

    question = [{"role": "user", "content": "What is the order status of A-1042?"}]
    stream = OpenAI().chat.completions.create(model="gpt-4o-mini", messages=question, tools=TOOLS, stream=True)
    for _ in stream:
        pass
    with Anthropic().messages.stream(
        model="claude-haiku-4-5", max_tokens=200, messages=question,
        tools=[{"name": "order_status", "input_schema": ORDER_SCHEMA}],
    ) as events:
        events.get_final_message()
    expected = {"name": "order_status", "arguments": {"order_id": "A-1042"}}
    checks.tool_calls(None, [expected, expected], ordered=True)


@pytest.mark.llm(dataset="conversations.yaml")
def test_conversation(llm_conversation):
    client = OpenAI()
    forgetful = os.environ.get("FORGETFUL") == "1"

    def reply(history):
        if forgetful and len(history) > 1:
            return "Sorry, what is your order number?"
        return client.chat.completions.create(model="gpt-4o-mini", temperature=0, messages=history).choices[0].message.content

    conversation = llm_conversation(reply)
    for turn in conversation.with_expected():
        assert turn.expected in turn.reply
    checks.knowledge_retention(conversation, threshold=0.75)
"""

CONVERSATIONS = """
- id: order_followup
  conversation:
    - user: Hi, my order number is A-1042.
    - user: Thanks! What was my order number again?
      expected: A-1042
"""


@pytest.fixture
def judge_sim() -> Iterator[ProviderSimulator]:
    with ProviderSimulator(responder=with_judge(), idle_timeout_s=60) as sim:
        yield sim


def test_agent_and_conversation_record_then_replay_offline(
    pytester: pytest.Pytester,
    judge_sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", judge_sim.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", judge_sim.anthropic_base_url)
    pytester.makeini("[pytest]\nllm_judge = openai:gpt-4o-mini\n")
    pytester.makepyfile(test_agent=AGENT_SUITE)
    (pytester.path / "conversations.yaml").write_text(CONVERSATIONS)
    pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=3)
    recorded = len(judge_sim.requests)
    # tool call and answer, rubric; two streams; two turns, one conversation rubric
    assert recorded == 2 + 1 + 2 + 2 + 1

    for name in with_keys:
        monkeypatch.delenv(name)
    report = pytester.path / "r.json"
    replay = pytester.runpytest("--llm-eval", f"--llm-report-json={report}")
    replay.assert_outcomes(passed=3)
    assert len(judge_sim.requests) == recorded  # offline

    monkeypatch.setenv("FORBID", "order_*")
    broken = pytester.runpytest("--llm-eval", "-k", "looks_up")
    broken.assert_outcomes(failed=1)
    broken.stdout.fnmatch_lines(["*forbid order_*: called forbidden order_status (step 1)*"])


def test_a_forgetful_conversation_fails_its_checks(
    pytester: pytest.Pytester,
    judge_sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", judge_sim.openai_base_url)
    monkeypatch.setenv("FORGETFUL", "1")
    pytester.makeini("[pytest]\nllm_judge = openai:gpt-4o-mini\n")
    pytester.makepyfile(test_agent=AGENT_SUITE)
    (pytester.path / "conversations.yaml").write_text(CONVERSATIONS.replace("      expected: A-1042\n", ""))
    result = pytester.runpytest("--llm-eval", "--llm-record=once", "-k", "conversation")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*knowledge_retention 0.25 < threshold 0.75*turn 4 asks again*"])


def test_a_malformed_conversation_row_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agent=AGENT_SUITE)
    (pytester.path / "conversations.yaml").write_text("- id: bad\n  conversation:\n    - bot: hello\n")
    result = pytester.runpytest("--llm-eval", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["*conversations.yaml, case bad (line 1), turn 1: give exactly one of 'user' or 'assistant'*"]
    )
