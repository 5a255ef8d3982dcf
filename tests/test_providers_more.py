"""Gemini, Bedrock, Azure and OpenAI-compatible adapters on hand-made interactions: JSON and streams,
usage, model, cost, errors, unpriced unknown models, estimates."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from pytest_llmops.recording.eventstream import encode_message
from pytest_llmops.recording.interactions import Interaction, InteractionMeta
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.pricing import PriceTable, UserPrice, price_call
from pytest_llmops.spend.providers import detect
from tests.test_providers import chat_body, chunk, make, parse, sse

WHEN = "2025-06-01T00:00:00Z"


def genai(model: str, provider: str, inp: int, out: int, cached: int = 0, written: int = 0) -> float:
    from datetime import datetime

    usage = Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=cached, cache_write_tokens=written)
    when = datetime.fromisoformat(WHEN.replace("Z", "+00:00"))
    return float(calc_price(usage, model, provider_id=provider, genai_request_timestamp=when).total_price)


def priced(interaction: Interaction) -> LLMCall:
    interaction.meta.recorded_at = WHEN
    call = parse(interaction)
    call.cost_usd = price_call(call)
    return call


# --- Gemini ---------------------------------------------------------------------------------------

GEMINI = "/v1beta/models/gemini-2.5-flash:generateContent"
GEMINI_STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
GEMINI_REQUEST = {"contents": [{"role": "user", "parts": [{"text": "How long do refunds take? " * 4}]}]}


def gemini_body(
    text: str = "Five days.", model: str | None = "gemini-2.5-flash", **usage: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "candidates": [
            {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": usage,
        "responseId": "abc",
    }
    if model:
        body["modelVersion"] = model
    return body


def test_gemini_json_usage_with_cached_thoughts_and_tool_prompt() -> None:
    usage = dict(
        promptTokenCount=1200, cachedContentTokenCount=1024, candidatesTokenCount=40, thoughtsTokenCount=300,
        toolUsePromptTokenCount=15, totalTokenCount=1555,
    )  # fmt: skip
    call = priced(make(GEMINI, gemini_body(**usage), request=GEMINI_REQUEST))
    assert (call.provider, call.endpoint, call.model, call.stream) == (
        "gemini",
        GEMINI,
        "gemini-2.5-flash",
        False,
    )
    assert (call.input_tokens, call.cached_input_tokens, call.cache_write_tokens) == (1215, 1024, 0)
    assert (call.output_tokens, call.reasoning_tokens) == (340, 300)
    assert call.cost_usd == pytest.approx(genai("gemini-2.5-flash", "google", 1215, 340, cached=1024))


def test_gemini_model_from_the_response_else_from_the_path() -> None:
    versioned = parse(
        make("/v1beta/models/gemini-2.0-flash:generateContent", gemini_body(model="gemini-2.0-flash-001"))
    )
    assert (versioned.request_model, versioned.model) == ("gemini-2.0-flash", "gemini-2.0-flash-001")
    bare = parse(make("/v1beta/models/gemini-2.0-flash:generateContent", gemini_body(model=None)))
    assert bare.model == "gemini-2.0-flash"


def test_gemini_vertex_paths_are_recognised() -> None:
    path = "/v1beta1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:generateContent"
    call = parse(
        make(path, gemini_body(model="gemini-2.0-flash-001", promptTokenCount=3, candidatesTokenCount=2))
    )
    assert (call.provider, call.model, call.input_tokens, call.output_tokens) == (
        "gemini",
        "gemini-2.0-flash-001",
        3,
        2,
    )


def gemini_chunks() -> list[dict[str, Any]]:
    first = gemini_body("Five", promptTokenCount=12, totalTokenCount=12)
    del first["candidates"][0]["finishReason"]
    last = gemini_body(
        " days.", promptTokenCount=12, candidatesTokenCount=4, thoughtsTokenCount=20, totalTokenCount=36
    )
    return [first, last]


def test_gemini_sse_stream_takes_the_last_usage() -> None:
    body = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in gemini_chunks()).encode()
    meta = InteractionMeta(ttfb_ms=120.0, latency_ms=400.0)
    call = priced(make(GEMINI_STREAM + "?alt=sse", body, request=GEMINI_REQUEST, meta=meta))
    assert call.stream and call.ttft_ms == 120.0 and not call.estimated
    assert (call.input_tokens, call.output_tokens, call.reasoning_tokens) == (12, 24, 20)
    assert call.cost_usd == pytest.approx(genai("gemini-2.5-flash", "google", 12, 24))


def test_gemini_json_array_stream_without_alt_sse() -> None:
    body = ("[" + "\n,\r\n".join(json.dumps(c, indent=2) for c in gemini_chunks()) + "\n]").encode()
    call = parse(make(GEMINI_STREAM, body, request=GEMINI_REQUEST))
    assert call.stream and (call.input_tokens, call.output_tokens) == (12, 24)
    response_only = parse(make(None, body))
    assert (response_only.provider, response_only.output_tokens) == ("gemini", 24)


def test_gemini_stream_without_usage_is_estimated_and_says_so() -> None:
    chunks = gemini_chunks()
    for c in chunks:
        del c["usageMetadata"]
    body = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()
    call = parse(make(GEMINI_STREAM + "?alt=sse", body, request=GEMINI_REQUEST))
    assert call.estimated
    assert call.output_tokens == 3  # "Five days." is 10 characters: ceil(10 / 4)
    assert call.input_tokens is not None and call.input_tokens > 20


def test_gemini_errors_and_unknown_models() -> None:
    error = {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}
    call = priced(make(GEMINI, error, status=429))
    assert call.error_type == "RESOURCE_EXHAUSTED" and call.input_tokens is None and call.cost_usd == 0.0
    unknown = priced(
        make(
            "/v1beta/models/gemini-99-ultra:generateContent",
            gemini_body(model="gemini-99-ultra", promptTokenCount=5, candidatesTokenCount=5),
        )
    )
    assert unknown.has_usage and unknown.cost_usd is None  # unpriced, never $0


def test_gemini_response_only_recognised_by_body() -> None:
    call = parse(make(None, gemini_body(promptTokenCount=5, candidatesTokenCount=1)))
    assert (call.provider, call.endpoint, call.extra["endpoint_inferred"]) == (
        "gemini", "/v1beta/models/{model}:generateContent", True,
    )  # fmt: skip
    assert parse(make(None, gemini_body(model=None, promptTokenCount=5))).model is None


def test_bedrock_response_only_bodies_name_no_model() -> None:
    converse = parse(make(None, converse_body(inputTokens=3, outputTokens=1)))
    assert (converse.provider, converse.model, converse.input_tokens) == ("bedrock", None, 3)
    stream = parse(make(None, converse_stream_body(), content_type="application/vnd.amazon.eventstream"))
    assert (stream.provider, stream.model, stream.output_tokens) == ("bedrock", None, 6)


# --- Bedrock --------------------------------------------------------------------------------------

CLAUDE_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
CONVERSE = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"


def converse_body(**usage: Any) -> dict[str, Any]:
    return {
        "metrics": {"latencyMs": 300},
        "output": {"message": {"content": [{"text": "Five days."}], "role": "assistant"}},
        "stopReason": "end_turn",
        "usage": usage,
    }


def test_bedrock_converse_json_cache_tokens_and_model_from_the_url() -> None:
    usage = dict(
        inputTokens=2, outputTokens=5, cacheReadInputTokens=1322, cacheWriteInputTokens=0, totalTokens=1329
    )
    call = priced(make(CONVERSE, converse_body(**usage), request={"messages": []}))
    assert (call.provider, call.model, call.request_model) == ("bedrock", CLAUDE_ID, CLAUDE_ID)
    assert (call.input_tokens, call.cached_input_tokens, call.cache_write_tokens, call.output_tokens) == (
        1324,
        1322,
        0,
        5,
    )
    assert call.extra["stop_reason"] == "end_turn"
    assert call.cost_usd == pytest.approx(genai(CLAUDE_ID, "aws", 1324, 5, cached=1322))


def test_bedrock_arn_and_inference_profile_models() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0"
    path = "/model/" + arn.replace(":", "%3A").replace("/", "%2F") + "/converse"
    call = priced(make(path, converse_body(inputTokens=10, outputTokens=3, totalTokens=13)))
    assert call.model == "us.amazon.nova-lite-v1:0" and call.extra["model_arn"] == arn
    assert call.cost_usd == pytest.approx(genai("amazon.nova-lite-v1:0", "aws", 10, 3))
    unknown = priced(
        make("/model/acme.secret-model-v9%3A0/converse", converse_body(inputTokens=10, outputTokens=3))
    )
    assert unknown.cost_usd is None


def frame(kind: str, payload: dict[str, Any], message_type: str = "event") -> bytes:
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": message_type}
    return encode_message(headers, json.dumps({**payload, "p": "abc"}).encode())


def converse_stream_body(with_metadata: bool = True) -> bytes:
    frames = [
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Five days, "}}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "usually."}}),
        frame("contentBlockStop", {"contentBlockIndex": 0}),
        frame("messageStop", {"stopReason": "end_turn"}),
    ]
    if with_metadata:
        frames.append(
            frame(
                "metadata",
                {
                    "usage": {"inputTokens": 9, "outputTokens": 6, "totalTokens": 15},
                    "metrics": {"latencyMs": 200},
                },
            )
        )
    return b"".join(frames)


def test_bedrock_converse_stream_usage_from_the_metadata_event() -> None:
    interaction = make(CONVERSE + "-stream", converse_stream_body(), content_type="application/vnd.amazon.eventstream",
                       request={"messages": [{"role": "user", "content": [{"text": "How long?"}]}]}, meta=InteractionMeta(ttfb_ms=50.0))  # fmt: skip
    call = priced(interaction)
    assert call.stream and call.ttft_ms == 50.0 and not call.estimated
    assert (call.input_tokens, call.output_tokens) == (9, 6)
    assert call.cost_usd == pytest.approx(genai(CLAUDE_ID, "aws", 9, 6))
    response_only = parse(
        make(None, converse_stream_body(), content_type="application/vnd.amazon.eventstream")
    )
    assert (response_only.provider, response_only.output_tokens) == ("bedrock", 6)


def test_bedrock_stream_cut_before_metadata_is_estimated() -> None:
    call = parse(
        make(CONVERSE + "-stream", converse_stream_body(with_metadata=False), request={"messages": []})
    )
    assert call.estimated and call.output_tokens == 5  # 19 characters of text


def test_bedrock_stream_exception_and_http_errors() -> None:
    body = converse_stream_body(with_metadata=False) + encode_message(
        {
            ":exception-type": "throttlingException",
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        b'{"message":"Too many tokens"}',
    )
    call = parse(make(CONVERSE + "-stream", body))
    assert call.error_type == "throttlingException" and not call.estimated
    header = {
        "x-amzn-ErrorType": ["ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"]
    }
    throttled = priced(make(CONVERSE, {"message": "Too many requests"}, status=429, headers=header))
    assert throttled.error_type == "ThrottlingException" and throttled.cost_usd == 0.0
    assert throttled.extra["error_message"] == "Too many requests"


def anthropic_message(**usage: Any) -> dict[str, Any]:
    return {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "usage": usage,
    }  # fmt: skip


def test_bedrock_invoke_anthropic_body_priced_by_the_url_model() -> None:
    path = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke"
    usage = dict(
        input_tokens=10, cache_read_input_tokens=100, cache_creation_input_tokens=20, output_tokens=7
    )
    call = priced(make(path, anthropic_message(**usage), request={"anthropic_version": "bedrock-2023-05-31"}))
    assert (call.model, call.extra["response_model"]) == (CLAUDE_ID, "claude-3-5-haiku-20241022")
    assert (call.input_tokens, call.cached_input_tokens, call.cache_write_tokens, call.output_tokens) == (
        130,
        100,
        20,
        7,
    )
    assert call.cost_usd == pytest.approx(genai(CLAUDE_ID, "aws", 130, 7, cached=100, written=20))


def test_bedrock_invoke_other_families_count_from_the_token_headers() -> None:
    headers = {"x-amzn-bedrock-input-token-count": ["21"], "x-amzn-bedrock-output-token-count": ["8"]}
    llama = {"generation": "Hi", "prompt_token_count": 21, "generation_token_count": 8, "stop_reason": "stop"}
    call = priced(make("/model/meta.llama3-1-8b-instruct-v1%3A0/invoke", llama, headers=headers))
    assert (call.model, call.input_tokens, call.output_tokens) == ("meta.llama3-1-8b-instruct-v1:0", 21, 8)
    assert call.cost_usd == pytest.approx(genai("meta.llama3-1-8b-instruct-v1:0", "aws", 21, 8))


def test_bedrock_invoke_with_response_stream_chunks() -> None:
    events = [
        {
            "type": "message_start",
            "message": {
                "model": "claude-3-5-haiku-20241022",
                "usage": {"input_tokens": 11, "output_tokens": 1},
            },
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}},
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {"inputTokenCount": 11, "outputTokenCount": 4},
        },
    ]
    body = b"".join(
        frame("chunk", {"bytes": base64.b64encode(json.dumps(e).encode()).decode()}) for e in events
    )
    call = parse(make("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke-with-response-stream", body))
    assert call.stream and (call.input_tokens, call.output_tokens, call.cache_write_tokens) == (11, 4, 0)
    assert detect(make("/model/x/invoke-with-response-stream", body)) is not None


# --- Azure and OpenAI-compatible servers ----------------------------------------------------------


def test_azure_deployment_path_priced_from_azures_list() -> None:
    body = {
        **chat_body("gpt-4o-2024-08-06", prompt_tokens=100, completion_tokens=20),
        "prompt_filter_results": [],
    }
    call = priced(make("/openai/deployments/prod-chat/chat/completions?api-version=2024-10-21", body,
                       request={"messages": []}, host="https://corp-gateway.internal"))  # fmt: skip
    assert (call.provider, call.model) == ("azure", "gpt-4o-2024-08-06")
    assert call.cost_usd == pytest.approx(genai("gpt-4o", "azure", 100, 20))


def test_azure_stream_whose_first_chunk_names_no_model() -> None:
    preamble = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0}],
    }
    body = sse(
        (None, preamble),
        (None, chunk("Hi")),
        (None, chunk(usage={"prompt_tokens": 5, "completion_tokens": 1}, choices=False)),
        (None, "[DONE]"),
    )
    call = parse(
        make("/openai/deployments/d/chat/completions", body, request={"messages": [], "stream": True})
    )
    assert (call.provider, call.model, call.input_tokens) == ("azure", chunk("Hi")["model"], 5)


@pytest.mark.parametrize(
    ("host", "path", "model", "provider"),
    [
        ("https://api.mistral.ai", "/v1/chat/completions", "mistral-small-latest", "mistral"),
        ("https://api.groq.com", "/openai/v1/chat/completions", "llama-3.3-70b-versatile", "groq"),
        (
            "https://api.together.xyz",
            "/v1/chat/completions",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "together",
        ),
        ("https://api.deepseek.com", "/chat/completions", "deepseek-chat", "deepseek"),
        ("https://my-resource.openai.azure.com", "/openai/v1/chat/completions", "gpt-4o-mini", "azure"),
    ],
)
def test_compatible_servers_named_by_host_and_priced_from_their_list(
    host: str, path: str, model: str, provider: str
) -> None:
    call = priced(
        make(
            path,
            chat_body(model, prompt_tokens=40, completion_tokens=10),
            request={"messages": []},
            host=host,
        )
    )
    assert (call.provider, call.model, call.endpoint) == (provider, model, path)
    assert call.cost_usd == pytest.approx(genai(model, provider, 40, 10))


def test_groq_stream_usage_in_x_groq() -> None:
    final = {
        **chunk(choices=False),
        "x_groq": {"id": "req_1", "usage": {"prompt_tokens": 30, "completion_tokens": 6, "queue_time": 0.01}},
    }
    body = sse((None, chunk("Hi")), (None, final), (None, "[DONE]"))
    call = parse(
        make(
            "/openai/v1/chat/completions",
            body,
            request={"messages": [], "stream": True},
            host="https://api.groq.com",
        )
    )
    assert (call.provider, call.input_tokens, call.output_tokens, call.estimated) == ("groq", 30, 6, False)


@pytest.mark.parametrize(
    ("host", "marker", "provider"),
    [
        ("http://localhost:11434", {}, "ollama"),
        ("http://gpu-box:8080", {"system_fingerprint": "fp_ollama"}, "ollama"),
        ("http://gpu-box:8000", {"prompt_logprobs": None, "kv_transfer_params": None}, "vllm"),
    ],
)
def test_self_hosted_servers_are_unpriced_unless_the_price_file_names_the_model(
    host: str, marker: dict[str, Any], provider: str
) -> None:
    body = {**chat_body("llama3.2", prompt_tokens=40, completion_tokens=10), **marker}
    call = priced(make("/v1/chat/completions", body, request={"messages": []}, host=host))
    assert call.provider == provider and call.has_usage
    assert call.cost_usd is None  # never the price of some hosted llama, never $0
    table = PriceTable({"llama3.2": UserPrice(input=0.0, output=0.0, cached_input=0.0, cache_write=0.0)})
    assert price_call(call, table) == 0.0


def test_unknown_hosts_stay_openai() -> None:
    call = parse(
        make(
            "/v1/chat/completions",
            chat_body(prompt_tokens=1, completion_tokens=1),
            host="https://llm.corp.example",
        )
    )
    assert call.provider == "openai"
