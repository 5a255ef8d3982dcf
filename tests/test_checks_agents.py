"""Checks for structured outputs, tool calls, trajectories, custom rubrics, conversations and similarity.

SDK objects come from the real openai/anthropic clients talking to the simulator; recorded tool calls
come from the real cassettes of other projects (tests/data/real-cassettes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from pydantic import BaseModel, Field

from pytest_llmops import checks
from pytest_llmops.checks import settings
from pytest_llmops.checks.judge import JudgeError
from pytest_llmops.checks.similarity_check import bleu, rouge_l, tokenize_13a
from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.results.baseline import judge_of
from pytest_llmops.simulator import ProviderSimulator
from pytest_llmops.simulator.judge_responder import with_judge
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.providers import builtin_parse_call
from tests.real_cassettes import REAL_CASSETTES

ORDER_TOOL = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}},
    "required": ["order_id"],
}
CHAT_TOOLS = [{"type": "function", "function": {"name": "order_status", "parameters": ORDER_TOOL}}]
QUESTION = "What is the order status of A-1042?"


@pytest.fixture(scope="module")
def agent_sim() -> Iterator[ProviderSimulator]:
    with ProviderSimulator(responder=with_judge(), idle_timeout_s=60) as sim:
        yield sim


@pytest.fixture
def oai(agent_sim: ProviderSimulator) -> openai.OpenAI:
    agent_sim.reset()
    return openai.OpenAI(api_key="sk-test", base_url=agent_sim.openai_base_url, max_retries=0)


@pytest.fixture
def claude(agent_sim: ProviderSimulator) -> anthropic.Anthropic:
    agent_sim.reset()
    return anthropic.Anthropic(api_key="sk-ant-test", base_url=agent_sim.anthropic_base_url, max_retries=0)


@pytest.fixture
def judge_on(agent_sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings.configure(judge="openai:gpt-4o-mini", mode="always", base_url=agent_sim.openai_base_url)
    yield
    settings.reset()


def recorded(name: str) -> list[LLMCall]:
    calls = [builtin_parse_call(i) for i in load_interactions(REAL_CASSETTES / name)]
    return [c for c in calls if c is not None]


# -- json_output ------------------------------------------------------------------------------------


class Reply(BaseModel):
    answer: str
    order_id: str
    days: int = Field(ge=0)


SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"qty": {"minimum": 1}}}},
    },
    "required": ["answer", "items"],
    "additionalProperties": False,
}


def test_json_output_passes_a_structured_reply_from_the_sdk(oai: openai.OpenAI) -> None:
    parsed = oai.chat.completions.parse(
        model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}], response_format=Reply
    )
    assert checks.json_output(parsed, Reply).value == 1.0
    assert checks.json_output(parsed.choices[0].message.content, Reply.model_json_schema()).value == 1.0
    assert checks.json_output(parsed.choices[0].message.parsed).details["valid_json"] is True
    response = oai.responses.create(
        model="gpt-4o-mini",
        input=QUESTION,
        text={"format": {"type": "json_schema", "name": "reply", "schema": Reply.model_json_schema()}},
    )
    assert checks.json_output(response, Reply.model_json_schema()).value == 1.0


def test_json_output_fails_free_text_from_the_sdk(oai: openai.OpenAI) -> None:
    plain = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(checks.CheckFailed, match=r"json_output 0.0 < threshold 1.0 \(rule\): not valid JSON"):
        checks.json_output(plain, Reply)


def test_json_output_scores_the_share_of_valid_fields_and_names_the_failing_paths() -> None:
    data = {"answer": "ok", "items": [{"qty": 2}, {"qty": 0}, {"qty": 3}], "note": "x"}
    with pytest.raises(checks.CheckFailed) as failed:
        checks.json_output(data, SCHEMA)
    score = failed.value.score
    assert score.details["failing_paths"] == ["$.items[1].qty", "$.note"]
    assert score.value == pytest.approx(1 - 2 / 5)  # 5 leaves, 2 failing
    message = str(failed.value)
    assert "$.items[1].qty: 0 is less than the minimum of 1" in message
    assert "$.note: field is not allowed by the schema" in message
    missing = checks.json_output('{"items": []}', SCHEMA, threshold=None)
    assert missing.details["failing_paths"] == ["$.answer"] and missing.value == 0.5
    assert checks.json_output('"just a string"', SCHEMA, threshold=None).value == 0.0  # wrong root type


def test_json_output_with_a_pydantic_model_uses_its_validation() -> None:
    assert (
        checks.json_output('{"answer": "a", "order_id": "A-1", "days": "3"}', Reply).value == 1.0
    )  # coerced
    with pytest.raises(checks.CheckFailed) as failed:
        checks.json_output({"answer": "a", "days": -1}, Reply)
    assert failed.value.score.details["failing_paths"] == ["$.days", "$.order_id"]
    assert "$.order_id: required field is missing" in str(failed.value)


def test_json_output_without_schema_is_a_json_check_and_names_a_fence() -> None:
    assert checks.json_output('{"a": [1, 2]}').value == 1.0
    with pytest.raises(checks.CheckFailed, match="wrapped in a ``` code fence"):
        checks.json_output('```json\n{"a": 1}\n```')
    with pytest.raises(ValueError, match="not a valid JSON Schema"):
        checks.json_output("{}", {"type": "no-such-type"})


# -- tool_calls -------------------------------------------------------------------------------------


def test_tool_calls_from_openai_chat_responses_and_anthropic(
    oai: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    expected = [{"name": "order_status", "arguments": {"order_id": "A-1042"}}]
    chat = oai.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}], tools=CHAT_TOOLS
    )
    assert checks.tool_calls(chat, expected).value == 1.0
    assert checks.tool_calls(chat.choices[0].message, expected).value == 1.0
    assert checks.tool_calls(chat.choices[0].message.tool_calls, expected).value == 1.0
    responses = oai.responses.create(
        model="gpt-4o-mini",
        input=QUESTION,
        tools=[{"type": "function", "name": "order_status", "parameters": ORDER_TOOL, "strict": False}],
    )
    assert checks.tool_calls(responses, expected).value == 1.0
    message = claude.messages.create(
        model="claude-haiku-4-5",
        max_tokens=200,
        messages=[{"role": "user", "content": QUESTION}],
        tools=[{"name": "order_status", "input_schema": ORDER_TOOL}],
    )
    assert checks.tool_calls(message, expected).value == 1.0
    assert checks.tool_calls(message.content, ["order_status"]).value == 1.0


def test_tool_calls_name_every_mismatch(oai: openai.OpenAI) -> None:
    chat = oai.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}], tools=CHAT_TOOLS
    )
    with pytest.raises(checks.CheckFailed) as failed:
        checks.tool_calls(chat, [{"name": "order_status", "arguments": {"order_id": "A-9"}}, "refund"])
    text = str(failed.value)
    assert "order_id: expected 'A-9', got 'A-1042'" in text and "missing call: refund" in text
    assert failed.value.score.value == 0.0
    none_expected = checks.tool_calls(chat, [], threshold=None)
    assert (
        none_expected.value == 0.0
        and "unexpected call 1: order_status" in none_expected.details["mismatches"][0]
    )


def test_tool_call_arguments_exact_subset_and_predicates() -> None:
    made = [{"name": "search", "arguments": {"query": "refund policy", "limit": 5}}]
    assert (
        checks.tool_calls(
            made, [{"name": "search", "arguments": {"query": "refund policy"}}], arguments="subset"
        ).value
        == 1.0
    )
    with pytest.raises(checks.CheckFailed, match="limit: not expected"):
        checks.tool_calls(made, [{"name": "search", "arguments": {"query": "refund policy"}}])
    predicate = {"name": "search", "arguments": {"query": lambda q: "refund" in q, "limit": 5.0}}
    assert checks.tool_calls(made, [predicate]).value == 1.0
    with pytest.raises(checks.CheckFailed, match="a value accepted by is_short"):

        def is_short(q: str) -> bool:
            return len(q) < 5

        checks.tool_calls(made, [{"name": "search", "arguments": {"query": is_short}}], arguments="subset")
    assert checks.tool_calls(made, ["sea*"]).value == 1.0  # a glob names a family of tools


def test_tool_calls_ordered_counts_the_longest_in_order_run() -> None:
    made = [{"name": n, "arguments": {}} for n in ("search", "lookup", "answer")]
    assert checks.tool_calls(made, ["lookup", "search", "answer"]).value == 1.0
    with pytest.raises(checks.CheckFailed) as failed:
        checks.tool_calls(made, ["lookup", "search", "answer"], ordered=True)
    score = failed.value.score
    assert score.details["precision"] == score.details["recall"] == pytest.approx(2 / 3, abs=1e-3)
    assert any("out of order" in line for line in score.details["mismatches"])


@pytest.mark.parametrize(
    ("cassette", "expected"),
    [
        (
            "traceloop__openllmetry/packages__opentelemetry-instrumentation-openai__tests__traces__cassettes__"
            "test_functions__test_open_ai_function_calls_tools_parallel.yaml",
            [
                {"name": "get_current_weather", "arguments": {"location": "San Francisco"}},
                {"name": "get_current_weather", "arguments": {"location": "Boston"}},
            ],
        ),
        (
            "traceloop__openllmetry/packages__opentelemetry-instrumentation-openai__tests__traces__cassettes__"
            "test_chat__test_chat_tools_streaming.yaml",
            [{"name": "get_current_weather", "arguments": {"location": "San Francisco"}}],
        ),
        (
            "simonw__llm/tests__cassettes__test_openai_responses__test_responses_tool_use.yaml",
            [{"name": "multiply", "arguments": {"a": 1231, "b": 2331}}],
        ),
        (
            "traceloop__openllmetry/packages__opentelemetry-instrumentation-anthropic__tests__cassettes__"
            "test_messages__test_anthropic_tools_streaming_legacy.yaml",
            [
                {"name": "get_weather", "arguments": {"location": "San Francisco, CA"}},
                {"name": "get_time", "arguments": {"timezone": "America/Los_Angeles"}},
            ],
        ),
        (
            "pydantic__pydantic-ai/tests__models__cassettes__test_anthropic__test_multiple_parallel_tool_calls.yaml",
            [
                {"name": "retrieve_entity_info", "arguments": {"name": n}}
                for n in ("Alice", "Bob", "Charlie", "Daisy")
            ],
        ),
        (
            "pydantic__pydantic-ai/tests__models__cassettes__test_openai_responses__test_openai_responses_stream.yaml",
            [{"name": "get_capital", "arguments": {"country": "France"}}],
        ),
        (
            "Mirascope__mirascope/typescript__tests__e2e__output__cassettes__tools__openai_completions__"
            "streams-tool-calls-and-resumes-with-results.har",
            [
                {"name": "secret_retrieval_tool", "arguments": {"password": "mellon"}},
                {"name": "secret_retrieval_tool", "arguments": {"password": "radiance"}},
            ],
        ),
    ],
)
def test_tool_calls_read_from_real_recordings(cassette: str, expected: list[dict[str, Any]]) -> None:
    calls = recorded(cassette)[:1]
    assert checks.tool_calls(calls, expected, arguments="subset", ordered=True).value == 1.0
    wrong = [{**e, "arguments": {k: "elsewhere" for k in e["arguments"]}} for e in expected]
    with pytest.raises(checks.CheckFailed, match="wrong arguments in call 1"):
        checks.tool_calls(calls, wrong, arguments="subset")


def test_tool_calls_outside_an_llm_test_need_actual() -> None:
    with pytest.raises(ValueError, match=r"mark the test @pytest\.mark\.llm"):
        checks.tool_calls(None, ["search"])


# -- trajectory -------------------------------------------------------------------------------------


def step(*tools: str, tokens: int = 100, **args: Any) -> LLMCall:
    return LLMCall(
        "openai",
        "chat.completions",
        model="gpt-4o-mini",
        input_tokens=tokens,
        output_tokens=0,
        latency_ms=100.0,
        tool_calls=[{"name": t, "arguments": args, "id": None} for t in tools],
    )


def test_trajectory_holds_for_a_well_behaved_agent() -> None:
    calls = [step("search"), step("lookup_order"), step()]
    score = checks.trajectory(
        calls,
        must_call=["search"],
        before={"search": "lookup_order"},
        order=["search", "lookup_order"],
        max_steps=6,
        forbid=["delete_*"],
        max_repeats=1,
        max_step_tokens=500,
        final_answer=True,
    )
    assert score.value == 1.0 and score.details["tools"] == ["search", "lookup_order"]
    assert [s["tools"] for s in score.details["steps"]] == [["search"], ["lookup_order"], []]


def test_trajectory_names_each_broken_rule() -> None:
    calls = [
        step("lookup_order"),
        step("search", q="x"),
        step("search", q="x"),
        step("search", q="x"),
        step("delete_account", tokens=9000),
    ]
    with pytest.raises(checks.CheckFailed) as failed:
        checks.trajectory(
            calls,
            must_call=["refund"],
            before={"search": "lookup_order"},
            max_steps=4,
            forbid=["delete_*"],
            max_repeats=2,
            max_step_tokens=4000,
            final_answer=True,
        )
    text = str(failed.value)
    for expected in (
        "must_call refund: refund was never called",
        "search before lookup_order: lookup_order (call 1) came before search (call 2)",
        "max_steps 4: 5 LLM steps, at most 4 allowed",
        "forbid delete_*: called forbidden delete_account (step 5)",
        'max_repeats 2: search({"q": "x"}) called 3 times',
        "max_step_tokens 4000: step 5 (gpt-4o-mini): 9000, limit 4000",
        "final_answer: the last step calls a tool instead of answering",
    ):
        assert expected in text, expected
    assert failed.value.score.value == 0.0


def test_trajectory_over_a_real_recording_catches_a_repeated_call() -> None:
    calls = recorded(
        "traceloop__openllmetry/packages__opentelemetry-instrumentation-openai__tests__traces__cassettes__"
        "test_responses__test_responses_tool_calls.yaml"
    )[:1]
    assert checks.trajectory(calls, must_call=["get_weather"], max_steps=1).value == 1.0
    with pytest.raises(checks.CheckFailed, match=r'get_weather\(\{"location": "London"\}\) called 2 times'):
        checks.trajectory(calls, max_repeats=1)


def test_trajectory_needs_a_rule() -> None:
    with pytest.raises(ValueError, match="at least one rule"):
        checks.trajectory([step()])


# -- rubric -----------------------------------------------------------------------------------------

CRITERIA = "The reply apologizes for the delay. It gives the order number A-1042. It never mentions refunds."


def test_rubric_passes_and_fails_with_the_judges_reason(judge_on: None, agent_sim: ProviderSimulator) -> None:
    good = checks.rubric(
        "tone", "Sorry for the delay! Order A-1042 ships tomorrow.", criteria=CRITERIA, threshold=0.75
    )
    assert good.value == 1.0 and good.scorer == "judge:openai:gpt-4o-mini"
    assert (
        good.details["judge_prompt"] == "custom_criteria@1.0.0" and len(good.details["rubric_sha256"]) == 64
    )
    system = agent_sim.requests[-1].json["messages"][0]["content"]
    assert "Rubric: custom_criteria." in system and CRITERIA in system
    with pytest.raises(checks.CheckFailed) as failed:
        checks.rubric("tone", "Your refund is on the way.", criteria=CRITERIA, threshold=0.75)
    assert "tone 0.0 < threshold 0.75 (judge openai:gpt-4o-mini, prompt custom_criteria@1.0.0)" in str(
        failed.value
    )
    assert "It never mentions refunds" in str(failed.value)


def test_rubric_steps_and_inputs_reach_the_judge(judge_on: None, agent_sim: ProviderSimulator) -> None:
    score = checks.rubric(
        "next_step",
        "Track order A-1042 in your account.",
        criteria="The reply tells the customer to track the order.",
        steps=["Check the reply names the order A-1042."],
        inputs={"question": "Where is it?"},
    )
    assert score.value == 1.0
    sent = agent_sim.requests[-1].json["messages"]
    assert "1. Check the reply names the order A-1042." in sent[0]["content"]
    assert '<input name="question">\nWhere is it?\n</input>' in sent[1]["content"]
    plain = checks.rubric(
        "next_step",
        "Track order A-1042 in your account.",
        criteria="The reply tells the customer to track the order.",
    )
    assert plain.details["rubric_sha256"] != score.details["rubric_sha256"]  # steps are part of the rubric


def test_rubric_from_a_prompt_file_carries_its_hash(judge_on: None, tmp_path: Any) -> None:
    from pytest_llmops.prompts import PromptRegistry

    (tmp_path / "order.yaml").write_text(
        "name: order_rubric\nversion: 1.0.0\ntemplate: |\n  The reply gives the order number {order_id}.\n"
    )
    registry = PromptRegistry.load(tmp_path)
    settings.use_prompts(registry.get)
    score = checks.rubric(
        "order", "Order A-1042 ships.", criteria="prompt:order_rubric@1.0.0", inputs={"order_id": "A-1042"}
    )
    assert score.value == 1.0 and score.details["rubric_prompt"] == "order_rubric@1.0.0"
    assert score.details["rubric_sha256"] == registry.get("order_rubric@1.0.0").sha256
    with pytest.raises(ValueError, match="needs inputs order_id"):
        checks.rubric("order", "x", criteria=registry.get("order_rubric"))
    with pytest.raises(ValueError, match=r"prompt 'nope@1\.0\.0'"):
        checks.rubric("order", "x", criteria="prompt:nope@1.0.0")


def test_rubric_without_a_judge_is_an_error_not_a_guess() -> None:
    with pytest.raises(JudgeError, match="scored only by an LLM judge, and no LLM judge is configured"):
        checks.rubric("tone", "hi", criteria=CRITERIA)


def test_rubric_in_cascade_mode_always_asks_the_judge(
    agent_sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with settings.configured(judge="openai:gpt-4o-mini", mode="cascade", base_url=agent_sim.openai_base_url):
        score = checks.rubric("tone", "Sorry for the delay with A-1042.", criteria=CRITERIA)
    assert score.scorer.startswith("judge:") and "no local scorer" in score.details["cascade"]


def test_a_changed_rubric_is_not_comparable_in_the_baseline() -> None:
    from pytest_llmops.results.baseline import _judge_difference

    base = judge_of({"judge": "openai:x", "rubric_sha256": "a" * 64}, "judge:openai:x")
    now = judge_of({"judge": "openai:x", "rubric_sha256": "b" * 64}, "judge:openai:x")
    assert (
        _judge_difference(base, now)
        == "rubric criteria changed (sha256 aaaaaaaaaaaa in the baseline, bbbbbbbbbbbb now)"
    )
    assert _judge_difference(base, dict(base or {})) is None


# -- conversations ----------------------------------------------------------------------------------

KEPT = [
    {"role": "user", "content": "Hi, my order number is A-1042."},
    {"role": "assistant", "content": "Thanks! How can I help with order A-1042?"},
    {"role": "user", "content": "When will it arrive?"},
    {"role": "assistant", "content": "Order A-1042 arrives on Friday."},
]


def test_conversation_checks_pass_a_good_conversation(judge_on: None) -> None:
    assert checks.knowledge_retention(KEPT, threshold=0.75).value == 1.0
    assert checks.role_adherence(KEPT, role="Acme support agent", threshold=0.75).value == 1.0
    assert checks.conversation_relevance(KEPT, threshold=0.5).value >= 0.5


def test_conversation_checks_fail_a_forgetful_or_off_role_one(judge_on: None) -> None:
    forgot = [*KEPT[:3], {"role": "assistant", "content": "Sure, what is your order number?"}]
    with pytest.raises(checks.CheckFailed, match="turn 4 asks again"):
        checks.knowledge_retention(forgot, threshold=0.75)
    wrong = [*KEPT[:3], {"role": "assistant", "content": "Order A-1043 arrives on Friday."}]
    with pytest.raises(checks.CheckFailed, match="turn 4 states A-1043 where the user said A-1042"):
        checks.knowledge_retention(wrong, threshold=0.75)
    broke = [*KEPT[:3], {"role": "assistant", "content": "As an AI language model I cannot track parcels."}]
    with pytest.raises(checks.CheckFailed, match="breaks the role of Acme support agent"):
        checks.role_adherence(broke, role="Acme support agent", threshold=0.75)
    with pytest.raises(ValueError, match="no assistant turn"):
        checks.knowledge_retention([("user", "hi")])


# -- similarity -------------------------------------------------------------------------------------

# Reference values printed by sacrebleu 2.x (`sentence_bleu(h, [r]).score / 100`) and rouge-score 0.1.2
# (`RougeScorer(["rougeL"]).score(r, h)["rougeL"].fmeasure`).
PUBLISHED = [
    ("The cat sat on the mat.", "The cat is sitting on the mat.", 0.423837, 0.769231),
    (
        "Refunds take 5 business days, e.g. to U.S. cards.",
        "Refunds are processed within 5 business days.",
        0.096726,
        0.444444,
    ),
    ("hello", "hello world", 0.367879, 0.666667),
    ("the the the the", "the cat", 0.159736, 0.333333),
    (
        "Dr. Smith's fee: $1,000.50 -- paid 2024-05-03!",
        "Dr. Smith's fee was $1,000.50, paid on 2024-05-03.",
        0.428353,
        None,
    ),
    ("Completely different words here", "The quick brown fox jumps over the lazy dog", 0.0, 0.0),
]


@pytest.mark.parametrize(("output", "reference", "bleu_value", "rouge_value"), PUBLISHED)
def test_bleu_and_rouge_l_match_the_reference_implementations(
    output: str, reference: str, bleu_value: float, rouge_value: float | None
) -> None:
    assert bleu(output, [reference])[0] == pytest.approx(bleu_value, abs=1e-6)
    if rouge_value is not None:
        assert rouge_l(output, reference) == pytest.approx(rouge_value, abs=1e-6)


def test_13a_tokenizer_splits_punctuation_but_not_numbers() -> None:
    assert tokenize_13a("It costs $1,000.50, right?") == ["It", "costs", "$", "1,000.50", ",", "right", "?"]


def test_similarity_methods_record_and_fail() -> None:
    assert checks.similarity("abcd", "abce", method="edit").value == pytest.approx(0.75)
    assert checks.similarity(
        "The cat sat", ["The cat sat on the mat", "a cat sat"], method="bleu"
    ).value == pytest.approx(1.0)
    score = checks.similarity("the cat", ["a dog", "the cat sat"], method="rouge_l")
    assert score.details["best_reference"] == 1 and score.name == "similarity_rouge_l"
    with pytest.raises(checks.CheckFailed, match=r"similarity_rouge_l 0.0 < threshold 0.5 \(rule\)"):
        checks.similarity("nothing alike", "the cat sat", threshold=0.5)
    with pytest.raises(ValueError, match="method must be one of"):
        checks.similarity("a", "b", method="cosine")


def test_embedding_similarity_tells_paraphrase_from_unrelated() -> None:
    pytest.importorskip("wordllama")
    close = checks.similarity(
        "Refunds take five business days.",
        "A refund is processed within 5 business days.",
        method="embedding",
    )
    far = checks.similarity(
        "Refunds take five business days.", "Our office is in Berlin.", method="embedding"
    )
    assert close.value > far.value + 0.2 and close.scorer == "semantic"


# -- the simulator in multi-turn agent conversations -------------------------------------------------


def test_simulator_takes_a_tool_argument_from_an_earlier_turn(oai: openai.OpenAI) -> None:
    history = [
        {"role": "user", "content": "Hi, my order number is A-1042."},
        {"role": "assistant", "content": "Thanks! How can I help?"},
        {"role": "user", "content": "Can you check the order status?"},
    ]
    reply = oai.chat.completions.create(model="gpt-4o-mini", messages=history, tools=CHAT_TOOLS)
    assert (
        checks.tool_calls(reply, [{"name": "order_status", "arguments": {"order_id": "A-1042"}}]).value == 1.0
    )


def test_simulator_recalls_what_the_user_said_earlier(
    oai: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    history = [
        {"role": "user", "content": "Hi, I'm Dana. My order number is A-1042."},
        {"role": "assistant", "content": "Hello! How can I help you today?"},
        {"role": "user", "content": "What was my order number again?"},
    ]
    chat = oai.chat.completions.create(model="gpt-4o-mini", messages=history)
    assert chat.choices[0].message.content == "You told me earlier: your order number is A-1042."
    message = claude.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=history)
    assert "A-1042" in message.content[0].text
    single = oai.chat.completions.create(model="gpt-4o-mini", messages=history[-1:])
    assert "A-1042" not in (single.choices[0].message.content or "")  # nothing said before: nothing recalled


def test_recorded_tool_calls_survive_the_report_round_trip() -> None:
    [call] = recorded("simonw__llm/tests__cassettes__test_openai_responses__test_responses_tool_use.yaml")[:1]
    again = LLMCall.from_dict(call.to_dict())
    assert again.tool_calls == call.tool_calls and again.tool_calls[0]["name"] == "multiply"
    assert "tool_calls" not in LLMCall("openai", "chat.completions").to_dict()  # kept small when empty
