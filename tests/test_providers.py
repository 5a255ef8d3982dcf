"""Built-in adapters on hand-made interactions: every endpoint as JSON and SSE, errors, estimates, traps."""

from __future__ import annotations

import json
from typing import Any

import pluggy
import pytest

from pytest_llmops import hookspecs
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.providers import BuiltinProviders, builtin_parse_call, detect, estimate


def sse(*events: tuple[str | None, Any]) -> bytes:
    """An SSE body; `data` may be a dict (JSON) or a raw string such as "[DONE]"."""
    blocks = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data)
        blocks.append((f"event: {name}\n" if name else "") + f"data: {text}\n\n")
    return "".join(blocks).encode()


def make(
    path: str | None,
    response: Any,
    *,
    request: dict[str, Any] | None = None,
    status: int = 200,
    host: str = "https://api.example.test",
    content_type: str | None = None,
    meta: InteractionMeta | None = None,
    headers: dict[str, list[str]] | None = None,
) -> Interaction:
    if isinstance(response, bytes):
        body = response
        is_stream = body.lstrip().startswith((b"data:", b"event:"))
        content_type = content_type or ("text/event-stream" if is_stream else "application/json")
    else:
        body = json.dumps(response).encode()
        content_type = content_type or "application/json"
    req = None
    if path is not None:
        req = RecordedRequest(
            method="POST",
            uri=host + path,
            headers={"content-type": ["application/json"]},
            body=json.dumps(request or {}).encode(),
        )
    resp_headers = {"content-type": [content_type], **(headers or {})}
    return Interaction(
        req, RecordedResponse(status=status, headers=resp_headers, body=body), meta or InteractionMeta()
    )


def parse(interaction: Interaction) -> LLMCall:
    call = builtin_parse_call(interaction)
    assert call is not None
    return call


# --- OpenAI chat completions ----------------------------------------------------------------------


def chat_body(model: str = "gpt-4o-mini-2024-07-18", **usage: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": usage,
    }


def test_chat_json_reads_openai_usage_as_is() -> None:
    usage: dict[str, Any] = {
        "prompt_tokens": 1500,
        "completion_tokens": 300,
        "total_tokens": 1800,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 128},
    }
    interaction = make(
        "/v1/chat/completions",
        chat_body(**usage),
        request={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        host="http://127.0.0.1:8765",
        meta=InteractionMeta(recorded_at="2025-01-02T03:04:05Z", latency_ms=812.5, ttfb_ms=300.0),
    )
    call = parse(interaction)
    assert (call.provider, call.endpoint, call.stream, call.status) == (
        "openai",
        "/v1/chat/completions",
        False,
        200,
    )
    assert call.model == "gpt-4o-mini-2024-07-18"
    assert call.request_model == "gpt-4o-mini"
    # OpenAI's prompt_tokens already includes cached tokens, completion_tokens includes reasoning.
    assert call.input_tokens == usage["prompt_tokens"]
    assert call.cached_input_tokens == 1024
    assert call.cache_write_tokens == 0
    assert call.output_tokens == usage["completion_tokens"]
    assert call.reasoning_tokens == 128
    assert not call.estimated
    assert call.latency_ms == 812.5
    assert call.ttft_ms is None  # time to first byte is time to first token only for streams
    assert call.recorded_at == "2025-01-02T03:04:05Z"
    assert call.error_type is None
    assert call.extra == {}


def test_chat_json_without_usage_details_has_no_cached_tokens_and_unknown_reasoning() -> None:
    call = parse(
        make("/v1/chat/completions", chat_body(prompt_tokens=12, completion_tokens=3, total_tokens=15))
    )
    assert (call.input_tokens, call.cached_input_tokens, call.output_tokens) == (12, 0, 3)
    assert call.reasoning_tokens is None


def test_endpoint_is_the_path_without_query_on_any_host() -> None:
    interaction = make(
        "/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21",
        chat_body(prompt_tokens=1, completion_tokens=1),
        host="https://my-resource.openai.azure.com",
    )
    call = parse(interaction)
    assert call.provider == "azure"  # Azure's deployment path: priced from Azure's list
    assert call.endpoint == "/openai/deployments/prod-4o/chat/completions"


def chunk(
    content: str | None = None, *, usage: Any = None, choices: bool = True, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-2024-08-06",
        **extra,
    }
    data["choices"] = [{"index": 0, "delta": {"content": content}, "finish_reason": None}] if choices else []
    if usage is not None:
        data["usage"] = usage
    return data


def test_chat_stream_with_include_usage_reads_the_final_chunk() -> None:
    body = sse(
        (None, chunk("Hel", usage=None)),
        (None, chunk("lo", usage=None)),
        (
            None,
            chunk(
                choices=False,
                usage={
                    "prompt_tokens": 40,
                    "completion_tokens": 2,
                    "prompt_tokens_details": {"cached_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0},
                },
            ),
        ),
        (None, "[DONE]"),
    )
    interaction = make(
        "/v1/chat/completions",
        body,
        request={"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True}},
        meta=InteractionMeta(latency_ms=900.0, ttfb_ms=120.0),
    )
    call = parse(interaction)
    assert call.stream
    assert (call.input_tokens, call.cached_input_tokens, call.output_tokens, call.reasoning_tokens) == (
        40,
        0,
        2,
        0,
    )
    assert call.model == "gpt-4o-2024-08-06"
    assert not call.estimated
    assert call.ttft_ms == 120.0
    assert call.latency_ms == 900.0


def test_chat_stream_without_usage_is_estimated_and_flagged() -> None:
    prompt = "Tell me a joke about a very patient pytest plugin."
    pieces = ["Why did ", "the test ", "pass? It ", "was mocked."]
    body = sse(*((None, chunk(p)) for p in pieces), (None, "[DONE]"))
    request = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    call = parse(make("/v1/chat/completions", body, request=request))
    assert call.estimated
    # The documented rule: ceil(chars / 4), plus 3 per message and 3 to prime the reply.
    assert call.input_tokens == -(-len(prompt) // 4) + 3 + 3
    assert call.output_tokens == -(-len("".join(pieces)) // 4)
    assert call.cached_input_tokens == 0
    assert call.reasoning_tokens is None


def test_estimate_counts_tool_calls_both_ways() -> None:
    request = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "weather?"}], "name": "ann"},
            {
                "role": "assistant",
                "tool_calls": [{"function": {"name": "get_weather", "arguments": '{"c":"Oslo"}'}}],
            },
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather"}}],
    }
    tools_json = json.dumps(request["tools"], separators=(",", ":"))
    expected = 3 + (3 + 1 + estimate.text_tokens(len("weather?")))
    expected += 3 + estimate.text_tokens(len("get_weather") + len('{"c":"Oslo"}'))
    expected += estimate.text_tokens(len(tools_json))
    assert estimate.prompt_tokens(request) == expected
    choice = {"delta": {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}}
    assert estimate.delta_chars(choice) == 3


def test_stream_labelled_json_is_still_read_as_a_stream() -> None:
    body = sse((None, chunk("abcd")), (None, "[DONE]"))
    call = parse(
        make("/v1/chat/completions", body, content_type="application/json", request={"messages": []})
    )
    assert call.stream
    assert call.estimated
    assert call.output_tokens == 1


def test_chat_stream_error_chunk_sets_error_and_is_not_estimated() -> None:
    body = sse((None, chunk("partial")), (None, {"error": {"type": "server_error", "message": "boom"}}))
    call = parse(make("/v1/chat/completions", body, request={"messages": []}))
    assert call.error_type == "server_error"
    assert not call.estimated
    assert call.input_tokens is None


def test_gateway_extras_and_response_model_are_kept() -> None:
    usage = {
        "prompt_tokens": 57,
        "completion_tokens": 17,
        "total_tokens": 74,
        "cost": 0.00007159,
        "is_byok": False,
    }
    body = sse(
        (None, chunk("x", provider="Novita", model="moonshotai/kimi-k2")),
        (None, chunk(None, usage=usage, provider="Novita", model="moonshotai/kimi-k2")),
        (None, "[DONE]"),
    )
    call = parse(make("/v1/chat/completions", body, request={"model": "gpt-4.1-mini", "stream": True}))
    assert call.model == "moonshotai/kimi-k2"
    assert call.request_model == "gpt-4.1-mini"
    assert call.extra["usage"] == {"cost": 0.00007159, "is_byok": False}
    assert call.extra["upstream_provider"] == "Novita"
    assert (call.input_tokens, call.output_tokens) == (57, 17)


@pytest.mark.parametrize(
    ("error", "expected_type", "expected_code"),
    [
        (
            {"type": "invalid_request_error", "code": "invalid_api_key", "message": "no"},
            "invalid_request_error",
            "invalid_api_key",
        ),
        ({"code": 429, "message": "Rate limit exceeded"}, "429", None),
        ({"type": "", "code": "rate_limit_exceeded"}, "rate_limit_exceeded", None),
        ("Upstream timed out", "error", None),
    ],
)
def test_openai_error_bodies(error: Any, expected_type: str, expected_code: str | None) -> None:
    call = parse(make("/v1/chat/completions", {"error": error}, status=401, request={"model": "gpt-4o"}))
    assert call.status == 401
    assert not call.ok
    assert call.error_type == expected_type
    assert call.extra.get("error_code") == expected_code
    assert call.model == "gpt-4o"
    assert not call.has_usage
    assert not call.estimated


# --- OpenAI Responses API -------------------------------------------------------------------------


def responses_usage() -> dict[str, Any]:
    return {
        "input_tokens": 2048,
        "input_tokens_details": {"cached_tokens": 1536},
        "output_tokens": 700,
        "output_tokens_details": {"reasoning_tokens": 512},
        "total_tokens": 2748,
    }


def test_responses_json() -> None:
    body = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "o4-mini-2025-04-16",
        "service_tier": "flex",
        "usage": responses_usage(),
        "error": None,
    }
    call = parse(make("/v1/responses", body, request={"model": "o4-mini", "input": "hi"}))
    assert (call.endpoint, call.model, call.request_model) == (
        "/v1/responses",
        "o4-mini-2025-04-16",
        "o4-mini",
    )
    assert (call.input_tokens, call.cached_input_tokens, call.cache_write_tokens) == (2048, 1536, 0)
    assert (call.output_tokens, call.reasoning_tokens) == (700, 512)
    assert call.extra["service_tier"] == "flex"


def test_responses_stream_reads_the_completed_event() -> None:
    start = {
        "id": "resp_1",
        "object": "response",
        "status": "in_progress",
        "model": "gpt-4.1-nano",
        "usage": None,
    }
    done = {**start, "status": "completed", "usage": responses_usage()}
    body = sse(
        ("response.created", {"type": "response.created", "response": start}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "Once"}),
        ("response.completed", {"type": "response.completed", "response": done}),
    )
    call = parse(make("/v1/responses", body, request={"model": "gpt-4.1-nano", "stream": True}))
    assert call.stream
    assert (call.input_tokens, call.cached_input_tokens, call.output_tokens) == (2048, 1536, 700)
    assert not call.estimated


def test_responses_stream_error_event() -> None:
    start = {"id": "resp_1", "object": "response", "status": "in_progress", "model": "gpt-4.1", "usage": None}
    body = sse(
        ("response.created", {"type": "response.created", "response": start}),
        ("error", {"type": "error", "code": "server_error", "message": "boom", "sequence_number": 2}),
    )
    call = parse(make("/v1/responses", body, request={"model": "gpt-4.1", "stream": True}))
    assert call.error_type == "server_error"
    assert call.input_tokens is None
    assert not call.estimated  # only chat streams without include_usage are estimated


def test_failed_response_names_its_error() -> None:
    failed = {
        "id": "r",
        "object": "response",
        "status": "failed",
        "model": "gpt-4.1",
        "usage": None,
        "error": {"code": "server_error", "message": "x"},
    }
    body = sse(("response.failed", {"type": "response.failed", "response": failed}))
    call = parse(make("/v1/responses", body))
    assert call.error_type == "server_error"
    assert call.extra["response_status"] == "failed"


# --- embeddings and moderations -------------------------------------------------------------------


def test_embeddings_have_input_tokens_only() -> None:
    body = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": "AAAA"}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }
    call = parse(make("/v1/embeddings", body, request={"model": "text-embedding-3-small", "input": "x"}))
    assert (call.input_tokens, call.cached_input_tokens, call.output_tokens) == (8, 0, 0)
    assert call.endpoint == "/v1/embeddings"


def test_moderations_report_no_usage_so_tokens_stay_unknown() -> None:
    body = {"id": "modr-1", "model": "omni-moderation-2024-09-26", "results": [{"flagged": False}]}
    call = parse(make("/v1/moderations", body, request={"model": "omni-moderation-latest", "input": "x"}))
    assert call.model == "omni-moderation-2024-09-26"
    assert not call.has_usage
    assert not call.estimated


# --- Anthropic messages ---------------------------------------------------------------------------


def test_anthropic_json_sums_uncached_cache_read_and_cache_write_input() -> None:
    usage = {
        "input_tokens": 4,
        "cache_creation_input_tokens": 1163,
        "cache_read_input_tokens": 2000,
        "output_tokens": 187,
        "service_tier": "standard",
        "cache_creation": {"ephemeral_5m_input_tokens": 163, "ephemeral_1h_input_tokens": 1000},
    }
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [{"type": "text", "text": "hi"}],
        "usage": usage,
    }
    call = parse(make("/v1/messages?beta=true", body, request={"model": "claude-sonnet-4-0"}))
    assert (call.provider, call.endpoint) == ("anthropic", "/v1/messages")
    assert call.input_tokens == 4 + 1163 + 2000
    assert call.cached_input_tokens == 2000
    assert call.cache_write_tokens == 1163
    assert call.output_tokens == 187
    assert call.reasoning_tokens is None  # not reported by this response
    assert call.extra["cache_write_1h_tokens"] == 1000
    assert (call.model, call.request_model) == ("claude-sonnet-4-20250514", "claude-sonnet-4-0")


def test_anthropic_reports_thinking_tokens_as_reasoning() -> None:
    usage = {"input_tokens": 52, "output_tokens": 221, "output_tokens_details": {"thinking_tokens": 65}}
    body = {"type": "message", "model": "claude-sonnet-4-6", "content": [], "usage": usage}
    call = parse(make("/v1/messages", body))
    assert (call.output_tokens, call.reasoning_tokens) == (221, 65)


def anthropic_stream(start_usage: dict[str, Any], *delta_usages: dict[str, Any]) -> bytes:
    events: list[tuple[str | None, Any]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "model": "claude-3-5-sonnet-20240620",
                    "content": [],
                    "usage": start_usage,
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        ),
    ]
    events += [
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": u})
        for u in delta_usages
    ]
    events.append(("message_stop", {"type": "message_stop"}))
    return sse(*events)


def test_anthropic_stream_old_style_takes_input_from_start_and_output_from_delta() -> None:
    body = anthropic_stream(
        {
            "input_tokens": 4,
            "cache_creation_input_tokens": 1165,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        },
        {"output_tokens": 201},
    )
    call = parse(make("/v1/messages", body, request={"stream": True}))
    assert call.stream
    assert (call.input_tokens, call.cached_input_tokens, call.cache_write_tokens) == (4 + 1165, 0, 1165)
    assert call.output_tokens == 201


def test_anthropic_stream_cumulative_delta_repeating_input_is_not_double_counted() -> None:
    start = {
        "input_tokens": 43,
        "cache_creation_input_tokens": 10,
        "cache_read_input_tokens": 1000,
        "output_tokens": 1,
    }
    body = anthropic_stream(
        start,
        {
            "input_tokens": 43,
            "cache_creation_input_tokens": 10,
            "cache_read_input_tokens": 1000,
            "output_tokens": 150,
        },
        {
            "input_tokens": 43,
            "cache_creation_input_tokens": 10,
            "cache_read_input_tokens": 1000,
            "output_tokens": 282,
        },
    )
    call = parse(make("/v1/messages", body))
    assert call.input_tokens == 43 + 10 + 1000  # not twice, not three times
    assert call.cached_input_tokens == 1000
    assert call.cache_write_tokens == 10
    assert call.output_tokens == 282  # the last cumulative value, not 1 + 150 + 282


def test_anthropic_stream_null_in_a_later_delta_keeps_the_earlier_count() -> None:
    body = anthropic_stream(
        {"input_tokens": 20, "cache_read_input_tokens": 5, "output_tokens": 1},
        {"input_tokens": None, "cache_read_input_tokens": None, "output_tokens": 30},
    )
    call = parse(make("/v1/messages", body))
    assert (call.input_tokens, call.cached_input_tokens, call.output_tokens) == (25, 5, 30)


@pytest.mark.parametrize(("status", "kind"), [(529, "overloaded_error"), (429, "rate_limit_error")])
def test_anthropic_error_json(status: int, kind: str) -> None:
    body = {"type": "error", "error": {"type": kind, "message": "try later"}}
    call = parse(make("/v1/messages", body, status=status, request={"model": "claude-3-opus-20240229"}))
    assert (call.status, call.error_type, call.model) == (status, kind, "claude-3-opus-20240229")
    assert not call.has_usage


def test_anthropic_error_event_mid_stream() -> None:
    body = anthropic_stream({"input_tokens": 12, "output_tokens": 1})
    body += sse(("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    call = parse(make("/v1/messages", body))
    assert call.error_type == "overloaded_error"
    assert call.input_tokens == 12


# --- recognising traffic --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "provider", "endpoint"),
    [
        (
            {
                "type": "message",
                "model": "claude-3-haiku-20240307",
                "usage": {"input_tokens": 1, "output_tokens": 2},
            },
            "anthropic",
            "/v1/messages",
        ),
        (
            anthropic_stream({"input_tokens": 1, "output_tokens": 1}, {"output_tokens": 3}),
            "anthropic",
            "/v1/messages",
        ),
        (chat_body(prompt_tokens=1, completion_tokens=1), "openai", "/v1/chat/completions"),
        (sse((None, chunk("a")), (None, "[DONE]")), "openai", "/v1/chat/completions"),
        ({"object": "response", "model": "gpt-4.1", "usage": responses_usage()}, "openai", "/v1/responses"),
        (
            {"object": "list", "data": [{"object": "embedding"}], "usage": {"prompt_tokens": 3}},
            "openai",
            "/v1/embeddings",
        ),
        ({"id": "modr-9", "model": "omni-moderation-latest", "results": []}, "openai", "/v1/moderations"),
    ],
)
def test_response_only_recordings_are_recognised_by_body_shape(
    response: Any, provider: str, endpoint: str
) -> None:
    call = parse(make(None, response))
    assert (call.provider, call.endpoint) == (provider, endpoint)
    assert call.extra["endpoint_inferred"] is True
    assert call.request_model is None


def test_unknown_path_falls_back_to_body_shape_and_keeps_the_real_path() -> None:
    found = detect(make("/gateway/generate", chat_body(prompt_tokens=3, completion_tokens=4)))
    assert found == ("openai", "chat", "/gateway/generate")


@pytest.mark.parametrize(
    ("path", "response"),
    [
        ("/health", {"status": "ok"}),
        ("/v1/threads/thread_1/messages", {"object": "thread.message", "id": "msg_1"}),
        ("/v1/messages/count_tokens", {"input_tokens": 12}),
        ("/v1/models", {"object": "list", "data": [{"object": "model", "id": "gpt-4o"}]}),
    ],
)
def test_other_traffic_is_not_an_llm_call(path: str, response: Any) -> None:
    assert builtin_parse_call(make(path, response)) is None


# --- robustness -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not json at all",
        b"<html><body>502 Bad Gateway</body></html>",
        b"[1, 2, 3]",
        b"",
        json.dumps({"object": "chat.completion", "usage": "lots"}).encode(),
        json.dumps(
            {"object": "chat.completion", "usage": {"prompt_tokens": "12", "completion_tokens": True}}
        ).encode(),
        json.dumps({"model": 42, "usage": {"prompt_tokens": -5, "completion_tokens": 1.5}}).encode(),
        b'data: {"object":"chat.completion.chunk","choices":[{"delta":{"content":"cut',
        b"event: message_start\ndata: not-json\n\n",
    ],
)
def test_odd_bodies_never_raise_and_invent_nothing(body: bytes) -> None:
    for path in ("/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings"):
        call = parse(make(path, body, status=502, content_type="application/json"))
        assert call.status == 502
        assert call.input_tokens is None
        assert call.output_tokens is None


def test_an_adapter_crash_still_returns_what_the_exchange_tells(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_llmops.spend.providers import openai

    def broken(*args: Any) -> LLMCall:
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(openai, "parse", broken)
    call = parse(
        make(
            "/v1/chat/completions",
            chat_body(prompt_tokens=1, completion_tokens=1),
            request={"model": "gpt-4o"},
            status=200,
        )
    )
    assert (call.provider, call.endpoint, call.status, call.request_model) == (
        "openai",
        "/v1/chat/completions",
        200,
        "gpt-4o",
    )
    assert call.extra["parse_error"] == "RuntimeError: adapter bug"
    assert not call.has_usage


def test_recorded_at_falls_back_to_the_date_header() -> None:
    interaction = make(
        "/v1/chat/completions",
        chat_body(prompt_tokens=1, completion_tokens=1),
        headers={"Date": ["Tue, 23 Jul 2025 14:54:09 GMT"]},
    )
    assert parse(interaction).recorded_at == "2025-07-23T14:54:09Z"
    interaction.meta = InteractionMeta(recorded_at="2025-07-24T00:00:00Z")
    assert parse(interaction).recorded_at == "2025-07-24T00:00:00Z"


# --- the hook -------------------------------------------------------------------------------------


def test_builtin_providers_answer_last_through_the_hook() -> None:
    class UserPlugin:
        @pytest.hookimpl
        def pytest_llmops_parse_call(self, interaction: Interaction) -> LLMCall | None:
            if interaction.request is not None and interaction.request.path == "/mine":
                return LLMCall(provider="mine", endpoint="/mine")
            return None

    pm = pluggy.PluginManager("pytest")
    pm.add_hookspecs(hookspecs)
    pm.register(BuiltinProviders())
    pm.register(UserPlugin())
    ours = pm.hook.pytest_llmops_parse_call(interaction=make("/mine", {"object": "chat.completion"}))
    assert ours.provider == "mine"
    builtin = pm.hook.pytest_llmops_parse_call(
        interaction=make("/v1/chat/completions", chat_body(prompt_tokens=2, completion_tokens=3))
    )
    assert (builtin.provider, builtin.input_tokens) == ("openai", 2)
    assert pm.hook.pytest_llmops_parse_call(interaction=make("/health", {"ok": True})) is None


def test_an_unsplittable_uri_is_not_an_llm_call() -> None:
    interaction = make("/v1/chat/completions", chat_body(prompt_tokens=1, completion_tokens=1))
    assert interaction.request is not None
    interaction.request.uri = "http://[::1/v1/chat/completions"
    assert builtin_parse_call(interaction) is None
