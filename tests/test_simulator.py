"""The provider simulator, driven by the real `openai` and `anthropic` SDKs over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import gzip
import itertools
import json
import math
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any, Literal

import anthropic
import httpx2
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from pytest_llmops.simulator import (
    ChatTurn,
    ProviderSimulator,
    chain,
    count_tokens,
    extractive_responder,
    fixed_responder,
    keyword_responder,
    tokenize,
)

KEY = "sk-" + "proj-" + "x" * 30  # assembled at run time: never a key-shaped literal
OPENAI_MODEL = "gpt-4o-mini"
CLAUDE = "claude-haiku-4-5"
CLAUDE_BIG = "claude-sonnet-4-6"

SYSTEM = (
    "You are a support assistant. Answer using only the context. Cite sources as [Source: id] after each "
    'sentence. If the answer is not in the context, say "I don\'t have enough information".'
)
CONTEXT = """Context:
[Source: billing-03]
Refunds are processed within 5 business days. Refunds go back to the original payment method.

[Source: billing-07]
Invoices are emailed on the first day of each month.

[Source: account-02]
To reset your password, click "Forgot password" on the login page."""


def rag_prompt(question: str) -> str:
    return f"{CONTEXT}\n\nQuestion: {question}"


@pytest.fixture(scope="module")
def sim() -> Iterator[ProviderSimulator]:
    with ProviderSimulator(idle_timeout_s=120) as simulator:
        yield simulator


@pytest.fixture
def fresh(sim: ProviderSimulator) -> ProviderSimulator:
    sim.reset()
    return sim


@pytest.fixture
def oai(fresh: ProviderSimulator) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=fresh.openai_base_url, api_key=KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def claude(fresh: ProviderSimulator) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=fresh.anthropic_base_url, api_key=KEY, max_retries=0)
    yield client
    client.close()


def ask(client: openai.OpenAI, content: str, **kwargs: Any) -> Any:
    return client.chat.completions.create(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": content}], **kwargs
    )


def simulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("llmops-simulator") and t.is_alive()]


# ---------------------------------------------------------------------------- OpenAI chat


def test_openai_chat_json_has_real_usage_shape_and_headers(oai: openai.OpenAI) -> None:
    raw = oai.chat.completions.with_raw_response.create(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": "How do refunds work?"}]
    )
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o-mini-2024-07-18"
    assert completion.choices[0].finish_reason == "stop"
    text = completion.choices[0].message.content
    assert text
    usage = completion.usage
    assert usage is not None
    assert usage.completion_tokens == count_tokens(text)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0
    assert raw.headers["x-request-id"].startswith("req_")
    assert int(raw.headers["openai-processing-ms"]) >= 0
    assert int(raw.headers["x-ratelimit-remaining-requests"]) < int(raw.headers["x-ratelimit-limit-requests"])
    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["content-encoding"] == "gzip"


def test_openai_chat_stream_without_include_usage_has_no_usage(oai: openai.OpenAI) -> None:
    expected = ask(oai, "How do refunds work?", temperature=0).choices[0].message.content
    chunks = list(ask(oai, "How do refunds work?", temperature=0, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.usage is None for c in chunks)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_openai_chat_stream_with_include_usage_ends_with_usage_chunk(oai: openai.OpenAI) -> None:
    chunks = list(ask(oai, "What is 12 * 12?", stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "12 * 12 = 144"
    assert last.usage.completion_tokens == count_tokens(text)
    assert all(c.usage is None for c in chunks[:-1])


def test_openai_chat_stream_wire_format(fresh: ProviderSimulator) -> None:
    body = {"model": OPENAI_MODEL, "stream": True, "messages": [{"role": "user", "content": "hello"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    plain = httpx2.post(fresh.openai_base_url + "/chat/completions", json=body, headers=headers).text
    with_usage = httpx2.post(
        fresh.openai_base_url + "/chat/completions",
        json={**body, "stream_options": {"include_usage": True}},
        headers=headers,
    ).text
    for text in (plain, with_usage):
        assert text.endswith("data: [DONE]\n\n")
    plain_events = [json.loads(e[6:]) for e in plain.strip().split("\n\n")[:-1]]
    usage_events = [json.loads(e[6:]) for e in with_usage.strip().split("\n\n")[:-1]]
    assert not any("usage" in e for e in plain_events)
    assert all(e["usage"] is None for e in usage_events[:-1])
    assert usage_events[-1]["choices"] == [] and usage_events[-1]["usage"]["total_tokens"] > 0


def test_openai_async_chat_json_and_stream(fresh: ProviderSimulator) -> None:
    async def run() -> tuple[str, str]:
        client = openai.AsyncOpenAI(base_url=fresh.openai_base_url, api_key=KEY, max_retries=0)
        async with client:
            messages: Any = [{"role": "user", "content": rag_prompt("How long do refunds take?")}]
            plain = await client.chat.completions.create(model=OPENAI_MODEL, messages=messages, temperature=0)
            stream = await client.chat.completions.create(
                model=OPENAI_MODEL, messages=messages, temperature=0, stream=True
            )
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return plain.choices[0].message.content or "", "".join(parts)

    plain, streamed = asyncio.run(run())
    assert "5 business days" in plain
    assert streamed == plain


def test_openai_max_tokens_truncates_with_finish_reason_length(oai: openai.OpenAI) -> None:
    full = ask(oai, rag_prompt("How long do refunds take?"), temperature=0)
    cut = ask(oai, rag_prompt("How long do refunds take?"), temperature=0, max_completion_tokens=3)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == 3
    assert full.choices[0].message.content.startswith(cut.choices[0].message.content)


def test_openai_n_returns_that_many_choices(oai: openai.OpenAI) -> None:
    completion = ask(oai, "hi", n=3)
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert completion.usage is not None
    assert completion.usage.completion_tokens == sum(
        count_tokens(c.message.content or "") for c in completion.choices
    )


def test_openai_reasoning_models_bill_reasoning_tokens(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model="o4-mini", messages=[{"role": "user", "content": "hello"}], reasoning_effort="low"
    )
    assert completion.usage is not None and completion.usage.completion_tokens_details is not None
    reasoning = completion.usage.completion_tokens_details.reasoning_tokens
    assert reasoning and reasoning > 0
    assert completion.usage.completion_tokens == reasoning + count_tokens(
        completion.choices[0].message.content or ""
    )


def test_openai_automatic_prompt_caching(oai: openai.OpenAI) -> None:
    long_system = "You are a careful support agent for the billing team. " * 150
    first = oai.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[{"role": "system", "content": long_system}, {"role": "user", "content": "hello"}],
    )
    second = oai.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[
            {"role": "system", "content": long_system},
            {"role": "user", "content": "How do refunds work?"},
        ],
    )
    short = ask(oai, "How do refunds work?")
    assert first.usage is not None and second.usage is not None and short.usage is not None
    assert first.usage.prompt_tokens >= 1024
    assert first.usage.prompt_tokens_details is not None
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details is not None
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached is not None and cached >= 1024 and cached % 128 == 0
    assert second.usage.prompt_tokens - cached < 128 + 20  # everything but the new question and the rounding
    assert short.usage.prompt_tokens_details is not None
    assert short.usage.prompt_tokens_details.cached_tokens == 0


WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "days"],
        },
    },
}


def test_openai_tool_choice_required_answers_with_a_tool_call(oai: openai.OpenAI) -> None:
    completion = ask(oai, "Weather in Paris for 3 days?", tools=[WEATHER_TOOL], tool_choice="required")
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].id.startswith("call_") and calls[0].function.name == "get_weather"
    arguments = json.loads(calls[0].function.arguments)
    assert arguments == {"city": "Paris", "days": 3}

    auto = ask(oai, "Weather in Paris for 3 days?", tools=[WEATHER_TOOL])
    assert auto.choices[0].finish_reason == "stop" and auto.choices[0].message.tool_calls is None


def test_openai_streamed_tool_call_reassembles(oai: openai.OpenAI) -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    chunks = list(
        ask(oai, "Weather in Oslo for 2 days?", tools=[WEATHER_TOOL], tool_choice=named, stream=True)
    )
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].function is not None and deltas[0].function.name == "get_weather"
    arguments = "".join((d.function.arguments or "") for d in deltas if d.function)
    assert json.loads(arguments)["days"] == 2
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


class Citation(BaseModel):
    source_id: str
    quote: str


class Answer(BaseModel):
    answer: str
    confidence: float
    citations: list[Citation]  # a nested model: the schema uses $defs / $ref
    verdict: Literal["supported", "unsupported"]


def test_openai_structured_output_parses_into_the_schema(oai: openai.OpenAI) -> None:
    parsed = oai.chat.completions.parse(
        model=OPENAI_MODEL,
        messages=[{"role": "user", "content": rag_prompt("How long do refunds take?")}],
        response_format=Answer,
        temperature=0,
    )
    result = parsed.choices[0].message.parsed
    assert result is not None and "5 business days" in result.answer
    assert result.verdict == "supported" and len(result.citations) == 1
    json_mode = ask(oai, "How do refunds work?", response_format={"type": "json_object"})
    assert isinstance(json.loads(json_mode.choices[0].message.content or ""), dict)


# ---------------------------------------------------------------------------- OpenAI responses, embeddings...

RESPONSE_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def test_openai_responses_json(oai: openai.OpenAI) -> None:
    response = oai.responses.create(
        model=OPENAI_MODEL,
        instructions=SYSTEM,
        input=[
            {
                "role": "user",
                "content": [{"type": "input_text", "text": rag_prompt("How do I reset my password?")}],
            }
        ],
        temperature=0,
    )
    assert response.status == "completed"
    assert "Forgot password" in response.output_text and "[Source: account-02]" in response.output_text
    assert response.usage is not None
    assert response.usage.output_tokens == count_tokens(response.output_text)
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert response.instructions == SYSTEM


def test_openai_responses_stream_event_sequence(oai: openai.OpenAI) -> None:
    events = list(oai.responses.create(model=OPENAI_MODEL, input="How do refunds work?", stream=True))
    kinds = [e.type for e in events]
    deduplicated = [k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]]
    assert deduplicated == RESPONSE_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response  # type: ignore[union-attr]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert final.output_text == deltas
    assert final.usage is not None and final.usage.output_tokens == kinds.count("response.output_text.delta")


def test_openai_responses_stream_helper_and_truncation(oai: openai.OpenAI) -> None:
    with oai.responses.stream(model=OPENAI_MODEL, input=rag_prompt("How long do refunds take?")) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert final.output_text == text
    cut = oai.responses.create(model=OPENAI_MODEL, input="Tell me about invoices", max_output_tokens=16)
    assert cut.status == "incomplete"
    assert cut.incomplete_details is not None and cut.incomplete_details.reason == "max_output_tokens"
    assert cut.usage is not None and cut.usage.output_tokens == 16


def test_openai_responses_function_call(oai: openai.OpenAI) -> None:
    tool: Any = {"type": "function", **WEATHER_TOOL["function"]}
    response = oai.responses.create(
        model=OPENAI_MODEL, input="Use get_weather for Rome, 5 days", tools=[tool]
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments)["days"] == 5


def test_openai_embeddings(oai: openai.OpenAI) -> None:
    texts = ["refunds take five days", "refunds take five business days", "the cat sat on the mat"]
    result = oai.embeddings.create(model="text-embedding-3-small", input=texts, encoding_format="float")
    vectors = [d.embedding for d in result.data]
    assert [len(v) for v in vectors] == [1536] * 3
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-5 for v in vectors)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > 0.7 > cos(vectors[0], vectors[2])
    assert result.usage.prompt_tokens == sum(count_tokens(t) for t in texts) == result.usage.total_tokens
    again = oai.embeddings.create(model="text-embedding-3-small", input=texts[0], dimensions=64)
    assert len(again.data[0].embedding) == 64
    raw = httpx2.post(
        oai.base_url.join("embeddings"),
        json={"model": "text-embedding-3-small", "input": texts[0], "encoding_format": "base64"},
        headers={"authorization": f"Bearer {KEY}"},
    ).json()
    decoded = base64.b64decode(raw["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(decoded) // 4}f", decoded)) == vectors[0]


def test_openai_moderations_and_models(oai: openai.OpenAI) -> None:
    result = oai.moderations.create(input=["i want to kill them.", "have a nice day"])
    assert [r.flagged for r in result.results] == [True, False]
    assert result.results[0].categories.violence is True
    assert result.results[0].category_scores.violence > 0.5 > result.results[1].category_scores.violence
    raw = httpx2.post(
        oai.base_url.join("moderations"), json={"input": "hello"}, headers={"authorization": f"Bearer {KEY}"}
    ).json()
    assert "usage" not in raw and raw["id"].startswith("modr-")
    assert "gpt-4o-mini" in {m.id for m in oai.models.list().data}


# ---------------------------------------------------------------------------- Anthropic


def test_anthropic_message_json_and_headers(claude: anthropic.Anthropic) -> None:
    raw = claude.messages.with_raw_response.create(
        model=CLAUDE,
        max_tokens=200,
        system=SYSTEM,
        messages=[{"role": "user", "content": rag_prompt("When are invoices emailed?")}],
        extra_body={"temperature": 0},
    )
    message = raw.parse()
    assert message.model == "claude-haiku-4-5-20251001"
    assert message.id.startswith("msg_01") and message.stop_reason == "end_turn"
    text = message.content[0].text  # type: ignore[union-attr]
    assert text == "Invoices are emailed on the first day of each month. [Source: billing-07]"
    assert message.usage.output_tokens == count_tokens(text)
    assert message.usage.cache_read_input_tokens == 0 and message.usage.cache_creation_input_tokens == 0
    assert raw.headers["request-id"].startswith("req_011C")
    assert int(raw.headers["anthropic-ratelimit-requests-remaining"]) > 0


def test_anthropic_create_stream_wire_events(fresh: ProviderSimulator, claude: anthropic.Anthropic) -> None:
    events = list(
        claude.messages.create(
            model=CLAUDE,
            max_tokens=100,
            messages=[{"role": "user", "content": "Tell me about invoices"}],
            stream=True,
        )
    )
    kinds = [e.type for e in events]
    assert kinds[:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    start, delta = events[0], events[-2]
    assert start.type == "message_start" and delta.type == "message_delta"
    assert start.message.usage.output_tokens == 1
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")  # type: ignore[union-attr]
    assert delta.usage.output_tokens == count_tokens(text)
    assert delta.usage.input_tokens == start.message.usage.input_tokens  # cumulative, repeated
    raw = httpx2.post(
        fresh.anthropic_base_url + "/v1/messages",
        json={
            "model": CLAUDE,
            "max_tokens": 50,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        },
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
    ).text
    assert 'event: ping\ndata: {"type": "ping"}\n\n' in raw
    assert " }\n\n" in raw  # padding before a closing brace, as the real API does


def test_anthropic_stream_helper_matches_json(claude: anthropic.Anthropic) -> None:
    messages: Any = [{"role": "user", "content": rag_prompt("How do I reset my password?")}]
    cold: Any = {"temperature": 0}
    plain = claude.messages.create(model=CLAUDE, max_tokens=300, messages=messages, extra_body=cold)
    with claude.messages.stream(model=CLAUDE, max_tokens=300, messages=messages, extra_body=cold) as stream:
        streamed_text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert final.content[0].text == streamed_text == plain.content[0].text  # type: ignore[union-attr]
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.input_tokens == plain.usage.input_tokens


def test_anthropic_async_json_and_stream(fresh: ProviderSimulator) -> None:
    async def run() -> tuple[str, str]:
        client = anthropic.AsyncAnthropic(base_url=fresh.anthropic_base_url, api_key=KEY, max_retries=0)
        async with client:
            messages: Any = [{"role": "user", "content": "What is 7 + 5?"}]
            plain = await client.messages.create(model=CLAUDE, max_tokens=50, messages=messages)
            async with client.messages.stream(model=CLAUDE, max_tokens=50, messages=messages) as stream:
                final = await stream.get_final_message()
            return plain.content[0].text, final.content[0].text  # type: ignore[union-attr]

    assert asyncio.run(run()) == ("7 + 5 = 12", "7 + 5 = 12")


def test_anthropic_max_tokens_required_and_truncation(
    fresh: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    raw = httpx2.post(
        fresh.anthropic_base_url + "/v1/messages",
        json={"model": CLAUDE, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
    )
    assert raw.status_code == 400
    assert raw.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
        "request_id": raw.headers["request-id"],
    }
    with pytest.raises(anthropic.BadRequestError, match="at least one message"):
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=[])
    cut = claude.messages.create(
        model=CLAUDE, max_tokens=4, messages=[{"role": "user", "content": "Tell me more"}]
    )
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 4


def test_anthropic_prompt_caching_creation_then_read(claude: anthropic.Anthropic) -> None:
    manual = "Section: our refund policy covers every purchase made through the online store. " * 120
    system: Any = [{"type": "text", "text": manual, "cache_control": {"type": "ephemeral"}}]

    def call(question: str) -> Any:
        return claude.messages.create(
            model=CLAUDE_BIG, max_tokens=100, system=system, messages=[{"role": "user", "content": question}]
        ).usage

    total = claude.messages.count_tokens(
        model=CLAUDE_BIG, system=system, messages=[{"role": "user", "content": "hello"}]
    ).input_tokens
    first, second = call("hello"), call("How do refunds work?")
    assert first.cache_creation_input_tokens > 1024 and first.cache_read_input_tokens == 0
    assert first.input_tokens + first.cache_creation_input_tokens == total
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert 0 < second.input_tokens < 30  # the cached prefix is not counted again
    short_system: Any = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    short = claude.messages.create(
        model=CLAUDE_BIG, max_tokens=10, system=short_system, messages=[{"role": "user", "content": "hi"}]
    )
    assert short.usage.cache_creation_input_tokens == 0  # below the minimum cacheable length


def test_anthropic_tool_choice_any_answers_with_tool_use(claude: anthropic.Anthropic) -> None:
    tool: Any = {
        "name": "get_weather",
        "description": "Weather",
        "input_schema": WEATHER_TOOL["function"]["parameters"],
    }
    message = claude.messages.create(
        model=CLAUDE,
        max_tokens=200,
        tools=[tool],
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Weather in Lima for 4 days?"}],
    )
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "get_weather" and block.id.startswith("toolu_01")
    assert block.input == {"city": "Lima", "days": 4}
    with claude.messages.stream(
        model=CLAUDE,
        max_tokens=200,
        tools=[tool],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Lima for 4 days?"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "tool_use" and final.content[0].input == block.input


def test_anthropic_beta_path_and_thinking(fresh: ProviderSimulator, claude: anthropic.Anthropic) -> None:
    message = claude.beta.messages.create(
        model=CLAUDE_BIG,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "What is 3 * 4?"}],
        extra_query={"beta": "true"},  # what SDKs that route betas through ?beta=true send
    )
    assert [b.type for b in message.content] == ["thinking", "text"]
    thinking = message.content[0].thinking  # type: ignore[union-attr]
    text = message.content[1].text  # type: ignore[union-attr]
    assert message.usage.output_tokens == count_tokens(thinking) + count_tokens(text)
    assert fresh.requests[-1].query == {"beta": ["true"]} and fresh.requests[-1].path == "/v1/messages"


# ---------------------------------------------------------------------------- errors and auth


def test_openai_429_with_retry_after_is_retried(fresh: ProviderSimulator) -> None:
    fresh.fail_next(429, retry_after=0.05, path="/v1/chat/completions")
    client = openai.OpenAI(base_url=fresh.openai_base_url, api_key=KEY, max_retries=2)
    with client:
        completion = ask(client, "hello")
    assert completion.choices[0].message.content
    seen = [r for r in fresh.requests if r.path == "/v1/chat/completions"]
    assert [r.status for r in seen] == [429, 200]
    assert seen[1].received_at - seen[0].received_at >= 0.045
    assert seen[1].headers.get("x-stainless-retry-count") == "1"


def test_openai_rate_limit_error_body_when_not_retried(oai: openai.OpenAI, fresh: ProviderSimulator) -> None:
    fresh.fail_next(429, retry_after=0.05)
    with pytest.raises(openai.RateLimitError) as info:
        ask(oai, "hello")
    assert info.value.code == "rate_limit_exceeded" and info.value.type == "requests"
    assert info.value.response.headers["retry-after-ms"] == "50"
    fresh.fail_next(500)
    with pytest.raises(openai.InternalServerError) as server_error:
        ask(oai, "hello")
    assert server_error.value.type == "server_error"


def test_anthropic_429_then_success_and_529_overloaded(
    fresh: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    fresh.fail_next(529, path="/v1/messages")
    with pytest.raises(anthropic.OverloadedError) as info:
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 529
    assert info.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}  # type: ignore[index]

    fresh.fail_next(429, retry_after=0.05, path="/v1/messages")
    retrying = anthropic.Anthropic(base_url=fresh.anthropic_base_url, api_key=KEY, max_retries=1)
    with retrying:
        message = retrying.messages.create(
            model=CLAUDE, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert message.content
    assert [r.status for r in fresh.requests[-2:]] == [429, 200]


def test_missing_key_gets_each_providers_401(fresh: ProviderSimulator, oai: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        oai.models.list(extra_headers={"Authorization": openai.Omit()})
    assert info.value.type == "invalid_request_error" and info.value.code is None
    raw = httpx2.post(
        fresh.anthropic_base_url + "/v1/messages",
        json={"model": CLAUDE, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
        headers={"anthropic-version": "2023-06-01"},
    )
    assert raw.status_code == 401
    assert raw.json()["error"] == {"type": "authentication_error", "message": "x-api-key header is required"}
    assert raw.headers["x-should-retry"] == "false"
    with ProviderSimulator(require_auth=False) as open_sim:
        ok = httpx2.post(
            open_sim.openai_base_url + "/chat/completions",
            json={"model": OPENAI_MODEL, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert ok.status_code == 200


def test_unknown_path_and_invalid_json(fresh: ProviderSimulator) -> None:
    auth = {"authorization": f"Bearer {KEY}"}
    missing = httpx2.post(fresh.openai_base_url + "/nope", json={}, headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Invalid URL (POST /v1/nope)"
    broken = httpx2.post(fresh.openai_base_url + "/chat/completions", content=b"{not json", headers=auth)
    assert broken.status_code == 400 and broken.json()["error"]["type"] == "invalid_request_error"
    anthropic_headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    bad = httpx2.post(fresh.anthropic_base_url + "/v1/messages", content=b"[", headers=anthropic_headers)
    assert bad.status_code == 400 and bad.json()["type"] == "error"
    unknown = httpx2.get(fresh.anthropic_base_url + "/v1/nothing", headers=anthropic_headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"


def test_responder_exception_becomes_a_500_naming_it() -> None:
    def broken(turn: ChatTurn) -> str:
        raise ValueError("no answer for you")

    with ProviderSimulator(responder=broken) as sim:
        reply = httpx2.post(
            sim.openai_base_url + "/chat/completions",
            headers={"authorization": f"Bearer {KEY}"},
            json={"model": OPENAI_MODEL, "messages": [{"role": "user", "content": "hi"}]},
        )
    assert reply.status_code == 500
    assert "ValueError: no answer for you" in reply.json()["error"]["message"]


def test_gzip_bodies_and_gzip_streams(fresh: ProviderSimulator) -> None:
    body = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    with httpx2.Client(headers={"authorization": f"Bearer {KEY}", "accept-encoding": "gzip"}) as client:
        with client.stream("POST", fresh.openai_base_url + "/chat/completions", json=body) as response:
            raw = b"".join(response.iter_raw())
        assert raw[:2] == b"\x1f\x8b" and json.loads(gzip.decompress(raw))["object"] == "chat.completion"
        identity = client.post(
            fresh.openai_base_url + "/chat/completions", json=body, headers={"accept-encoding": "identity"}
        )
        assert "content-encoding" not in identity.headers
    with (
        ProviderSimulator(gzip_streams=True) as sim,
        anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key=KEY, max_retries=0) as claude_client,
        claude_client.messages.with_streaming_response.create(
            model=CLAUDE, max_tokens=50, stream=True, messages=[{"role": "user", "content": "hi"}]
        ) as response,
    ):
        assert response.headers["content-encoding"] == "gzip"
        assert "message_stop" in response.text()


# ---------------------------------------------------------------------------- timing


def test_stream_first_chunk_arrives_after_ttfb_not_at_the_end() -> None:
    with (
        ProviderSimulator(ttfb_ms=120, chunk_delay_ms=25) as sim,
        openai.OpenAI(base_url=sim.openai_base_url, api_key=KEY, max_retries=0) as client,
    ):
        start = time.perf_counter()
        stream = ask(client, rag_prompt("How long do refunds take?"), stream=True, temperature=0)
        first = None
        count = 0
        for _ in stream:
            count += 1
            first = first or time.perf_counter() - start
        total = time.perf_counter() - start
    assert first is not None and count > 10
    assert 0.11 <= first < 0.11 + 0.2
    assert total >= 0.12 + (count - 1) * 0.025 * 0.9
    assert total - first > 0.2  # the rest streamed after the first chunk, it was not buffered


def test_latency_ms_delays_json_responses() -> None:
    with (
        ProviderSimulator(latency_ms=150) as sim,
        openai.OpenAI(base_url=sim.openai_base_url, api_key=KEY, max_retries=0) as client,
    ):
        start = time.perf_counter()
        raw = client.chat.completions.with_raw_response.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "hi"}]
        )
        elapsed = time.perf_counter() - start
    assert 0.15 <= elapsed < 1.0
    assert int(raw.headers["openai-processing-ms"]) >= 150


# ---------------------------------------------------------------------------- responders and determinism


def test_extractive_responder_cites_only_when_asked() -> None:
    cited = extractive_responder(ChatTurn.from_text(rag_prompt("How do I reset my password?"), system=SYSTEM))
    assert cited == 'To reset your password, click "Forgot password" on the login page. [Source: account-02]'
    plain = extractive_responder(
        ChatTurn.from_text(rag_prompt("How do I reset my password?"), system="Be brief.")
    )
    assert plain == 'To reset your password, click "Forgot password" on the login page.'


def test_extractive_responder_says_the_fallback_when_unsupported() -> None:
    unsupported = ChatTurn.from_text(rag_prompt("Who founded the company?"), system=SYSTEM)
    assert extractive_responder(unsupported) == "I don't have enough information"
    no_context = ChatTurn.from_text("Who won? If you are not sure, reply 'No idea, sorry'.")
    assert extractive_responder(no_context) == "No idea, sorry"
    generic = extractive_responder(ChatTurn.from_text("How should I structure a database schema?"))
    assert "database schema" in generic


def test_extractive_responder_reads_source_lines_and_exact_replies() -> None:
    prompt = (
        "Refunds take 5 days.\nSource: billing-03\n\nInvoices are monthly.\nSource: billing-07\n\n"
        "Question: how long until refunds arrive? Please cite sources."
    )
    assert extractive_responder(ChatTurn.from_text(prompt)) == "Refunds take 5 days. [Source: billing-03]"
    assert extractive_responder(ChatTurn.from_text("Reply with exactly: pong")) == "pong"
    unlabelled = (
        f"Answer using only the context below. Cite your sources.\n\n{CONTEXT}\n\nHow do I reset my password?"
    )
    answer = extractive_responder(ChatTurn.from_text(unlabelled))
    assert answer == 'To reset your password, click "Forgot password" on the login page. [Source: account-02]'
    assert (
        extractive_responder(ChatTurn.from_text("Answer only using the context: none."))
        != "using the context"
    )


def test_temperature_varies_repeats_but_fresh_servers_reproduce_the_sequence() -> None:
    def answers(temperature: float) -> list[str]:
        with (
            ProviderSimulator() as sim,
            openai.OpenAI(base_url=sim.openai_base_url, api_key=KEY, max_retries=0) as client,
        ):
            return [
                ask(client, rag_prompt("How long do refunds take?"), temperature=temperature)
                .choices[0]
                .message.content
                or ""
                for _ in range(6)
            ]

    hot = answers(1.0)
    assert all(a != b for a, b in itertools.pairwise(hot))  # identical requests in a row differ
    assert all("5 business days" in answer for answer in hot)  # in phrasing, not in substance
    assert answers(1.0) == hot
    cold = answers(0)
    assert len(set(cold)) == 1


def test_custom_responder_chain_passes_on_none(fresh: ProviderSimulator) -> None:
    responder = chain(keyword_responder({"ping": "pong!"}), lambda turn: None, fixed_responder("fallback"))
    assert responder(ChatTurn.from_text("ping please")) == "pong!"
    assert responder(ChatTurn.from_text("other")) == "fallback"
    seen: list[ChatTurn] = []

    def spy(turn: ChatTurn) -> str | None:
        seen.append(turn)
        return None

    with (
        ProviderSimulator(responder=spy) as sim,
        anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key=KEY, max_retries=0) as client,
    ):
        message = client.messages.create(
            model=CLAUDE,
            max_tokens=50,
            system="Be kind.",
            messages=[{"role": "user", "content": "What is 2 + 2?"}],
            extra_body={"temperature": 0.3},
        )
    assert message.content[0].text == "2 + 2 = 4"  # type: ignore[union-attr]
    assert seen[0].provider == "anthropic" and seen[0].system == "Be kind."
    assert seen[0].messages == (("user", "What is 2 + 2?"),) and seen[0].temperature == 0.3


# ---------------------------------------------------------------------------- lifecycle and CLI


def test_idle_watchdog_stops_the_server_and_leaves_no_threads() -> None:
    before = set(simulator_threads())
    sim = ProviderSimulator(idle_timeout_s=2.0).start()
    url = sim.openai_base_url
    reply = httpx2.get(url + "/models", headers={"authorization": f"Bearer {KEY}"})
    assert reply.status_code == 200
    assert sim.wait_stopped(timeout=20)
    assert not sim.running
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(url + "/models", headers={"authorization": f"Bearer {KEY}"})
    time.sleep(0.05)
    assert set(simulator_threads()) <= before


def test_stop_closes_kept_alive_connections(fresh: ProviderSimulator) -> None:
    before = set(simulator_threads())
    sim = ProviderSimulator().start()
    with httpx2.Client(headers={"authorization": f"Bearer {KEY}"}) as client:
        assert client.get(sim.openai_base_url + "/models").status_code == 200  # connection stays open
        sim.stop()
        sim.stop()  # idempotent
    assert set(simulator_threads()) <= before
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.url


def test_requests_are_recorded_and_reset(fresh: ProviderSimulator, oai: openai.OpenAI) -> None:
    ask(oai, "hello", temperature=0)
    (request,) = fresh.requests
    assert (
        request.method == "POST" and request.path == "/v1/chat/completions" and request.provider == "openai"
    )
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json["messages"] == [{"role": "user", "content": "hello"}]
    assert json.loads(request.body) == request.json and request.status == 200
    fresh.fail_next(503)
    fresh.reset()
    assert fresh.requests == []
    assert ask(oai, "hello").choices[0].message.content  # the queued fault was forgotten


def test_a_forgotten_simulator_does_not_keep_the_interpreter_alive() -> None:
    script = """
import httpx2
from pytest_llmops.simulator import ProviderSimulator
sim = ProviderSimulator(idle_timeout_s=None).start()
auth = {"authorization": "Bearer k"}
client = httpx2.Client()
assert client.get(sim.url + "/v1/models", headers=auth).status_code == 200  # kept-alive connection
sim.ttfb_ms = 30_000
try:
    httpx2.get(sim.url + "/v1/models", headers=auth, timeout=0.2)  # still in flight at exit
except httpx2.ReadTimeout:
    print("done")
"""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20)
    assert (result.returncode, result.stdout.strip()) == (0, "done"), result.stderr
    assert time.perf_counter() - start < 15  # not the 30 s the server would still sleep


def test_cli_prints_the_url_and_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest_llmops.simulator",
            "--port",
            "0",
            "--idle-timeout",
            "30",
            "--ttfb-ms",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200 and json.load(response)["object"] == "list"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(request, timeout=1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def test_cli_exits_by_itself_when_idle() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_llmops.simulator", "--idle-timeout", "0.3"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith("http://127.0.0.1:")


# ---------------------------------------------------------------------------- tokenizer


@given(st.text(max_size=300))
def test_tokens_concatenate_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text
    assert count_tokens(text) == len(tokenize(text))


def test_token_rules() -> None:
    assert tokenize("Hello world!") == ["Hello", " world", "!"]
    assert tokenize("internationalization") == ["inte", "rnat", "iona", "liza", "tion"]
    assert tokenize("1234567") == ["123", "456", "7"]
    assert count_tokens("") == 0


def test_the_standalone_simulator_answers_the_llm_judge(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m pytest_llmops.simulator` as the judge's provider, `--llm-judge-mode=always`: usable
    scores, recorded, then replayed with no simulator and no key."""
    from tests.simulator_process import simulator_process

    llm_pytester.makeini("[pytest]\nllm_judge = openai:gpt-4o-mini\n")
    llm_pytester.makepyfile(
        test_judged="""
        import pytest
        from pytest_llmops import checks

        Q = "How long do refunds take?"

        @pytest.mark.llm
        def test_judged():
            good = checks.relevance(Q, "Refunds are processed within 5 business days.")
            assert good.scorer == "judge:openai:gpt-4o-mini" and good.value == 5.0
            bad = checks.relevance(Q, "Our office is closed on Sundays.", threshold=1)
            assert bad.value <= 2.0
            assert checks.correctness("Refunds take 5 days.", "Refunds take 5 business days.").value > 0.5
        """
    )
    with simulator_process("--port", "0") as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url + "/v1")
        recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "--llm-judge-mode=always")
    recorded.assert_outcomes(passed=1)
    for name in with_keys:
        monkeypatch.delenv(name)
    llm_pytester.runpytest("--llm-eval", "--llm-judge-mode=always").assert_outcomes(passed=1)


def test_the_default_responder_answers_judge_rubrics_and_passes_everything_else(
    sim: ProviderSimulator,
) -> None:
    from pytest_llmops.checks.judge import judge_prompts

    messages = judge_prompts().get("relevance").messages(question="What is 2+2?", answer="4")
    client = openai.OpenAI(base_url=sim.openai_base_url, api_key=KEY, max_retries=0)
    verdict = client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
    assert json.loads(verdict.choices[0].message.content or "")["score"] in range(1, 6)
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    assert "score" not in (plain.choices[0].message.content or "")
