"""OpenAI (and OpenAI-compatible gateways): chat completions, Responses, embeddings, moderations, audio.

The same format is spoken by Azure OpenAI and by OpenAI-compatible servers
(Mistral, Groq, Together, DeepSeek, vLLM, Ollama, gateways...). Which one
served a call decides its price list, so `compatible_provider` names it: by
path shape first (Azure's `/openai/deployments/{deployment}/...`), then by body
markers (Azure's `prompt_filter_results`, Ollama's `fp_ollama` fingerprint,
vLLM's `prompt_logprobs` / `kv_transfer_params`), then by the host when it is
a known provider's. Anything else stays "openai": the model name then decides
the price, and an unknown model is unpriced. Self-hosted servers (vLLM,
Ollama) have no price list: their calls are unpriced unless the user's price
file names the model.

Usage variants: Groq reports stream usage in the last chunk's `x_groq.usage`;
Mistral and Together send usage in the final chunk without being asked; Azure
starts a stream with a chunk that has no choices and an empty `model`.

Token fields follow `LLMCall`'s normalized meanings, which OpenAI already uses:
`prompt_tokens`/`input_tokens` include cached tokens and `completion_tokens`/
`output_tokens` include reasoning tokens. OpenAI has no paid cache writes, so
`cache_write_tokens` is 0 whenever usage is known.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from pytest_llmops.recording.interactions import Interaction
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.providers import estimate, tool_calls
from pytest_llmops.spend.providers.base import (
    JSONDict,
    as_dict,
    as_int,
    as_str,
    base_call,
    body_json,
    is_event_stream,
    request_json,
    set_model,
    sse_json,
    usage_extras,
)

PROVIDER = "openai"


# Chat completions and embeddings say prompt/completion; the Responses API says input/output.
_CHAT_USAGE = ("prompt", "completion")
_RESPONSES_USAGE = ("input", "output")
_RESPONSE_EVENTS_WITH_BODY = frozenset(
    f"response.{state}" for state in ("created", "in_progress", "completed", "incomplete", "failed")
)


# Hosts of providers that speak the OpenAI format, as genai-prices names them.
_HOSTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), provider)
    for pattern, provider in (
        (
            r"(^|\.)(openai\.azure\.com|cognitiveservices\.azure\.com|services\.ai\.azure\.com|azure-api\.net)$",
            "azure",
        ),
        (r"^api\.mistral\.ai$", "mistral"),
        (r"^api\.groq\.com$", "groq"),
        (r"^api\.together\.(xyz|ai)$", "together"),
        (r"^api\.deepseek\.com$", "deepseek"),
        (r"^api\.x\.ai$", "x-ai"),
        (r"^(api\.)?openrouter\.ai$", "openrouter"),
        (r"^api\.fireworks\.ai$", "fireworks"),
        (r"^api\.cerebras\.ai$", "cerebras"),
        (r"^api\.perplexity\.ai$", "perplexity"),
        (r"^api\.moonshot\.(ai|cn)$", "moonshotai"),
    )
)
OLLAMA_PORT = 11434


def compatible_provider(interaction: Interaction, first_body: JSONDict) -> str:
    """Which provider served an OpenAI-shaped exchange: path shape, then body markers, then host."""
    request = interaction.request
    path = request.path if request is not None else ""
    if path.startswith("/openai/deployments/") or "prompt_filter_results" in first_body:
        return "azure"
    if first_body.get("system_fingerprint") == "fp_ollama":
        return "ollama"
    if "prompt_logprobs" in first_body or "kv_transfer_params" in first_body:
        return "vllm"
    if request is None:
        return PROVIDER
    host = request.host.rsplit("@", 1)[-1]
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    name = name.lower()
    if port == str(OLLAMA_PORT):
        return "ollama"
    return _host_provider(name)


@functools.lru_cache(maxsize=256)
def _host_provider(name: str) -> str:
    """The OpenAI-compatible provider a host name belongs to (a run talks to a few hosts, every call asks)."""
    for pattern, provider in _HOSTS:
        if pattern.search(name):
            return provider
    return PROVIDER


def parse(interaction: Interaction, kind: str, endpoint: str) -> LLMCall:
    request = request_json(interaction)
    streamed = is_event_stream(interaction.response)
    call = base_call(interaction, PROVIDER, endpoint, request, streamed=streamed)
    # A JSON body is read once, here; its readers below only look at it.
    body = {} if streamed else body_json(interaction.response.body)
    call.provider = compatible_provider(interaction, _first_chunk(interaction) if streamed else body)
    if kind == "chat":
        if streamed:
            _chat_stream(call, interaction, request)
        else:
            _chat_json(call, body)
    elif kind == "responses":
        if streamed:
            _responses_stream(call, interaction)
        else:
            _responses_json(call, body)
    elif kind == "embeddings":
        _embeddings_json(call, body)
    elif kind in ("transcriptions", "translations"):
        _audio_usage(call, _transcript_done(interaction) if streamed else body)
    else:  # moderations: no usage is ever reported, so tokens stay unknown.
        set_model(call, body.get("model"))
        _set_error(call, body)
    return call


def _first_chunk(interaction: Interaction) -> JSONDict:
    """A stream's first chunk (Azure's first chunk names no model but carries `prompt_filter_results`,
    which is also a marker)."""
    for _event, chunk in sse_json(interaction):
        return chunk
    return {}


def error_type(body: JSONDict) -> tuple[str | None, str | None]:
    """(type, code) of an OpenAI-shaped error body; gateways put a bare message or a number in places."""
    error = body.get("error")
    if isinstance(error, str):
        return ("error" if error else None), None  # a bare message names no type
    if not isinstance(error, dict):
        return None, None
    code = error.get("code")
    code_text = as_str(code) or (str(code) if isinstance(code, int) and not isinstance(code, bool) else None)
    return as_str(error.get("type")) or code_text, code_text


def _set_error(call: LLMCall, body: JSONDict) -> None:
    kind, code = error_type(body)
    if kind is not None:
        call.error_type = kind
    if code is not None and code != kind:
        call.extra["error_code"] = code


def _apply_usage(call: LLMCall, usage: JSONDict, names: tuple[str, str]) -> None:
    inp, out = (f"{names[0]}_tokens", f"{names[1]}_tokens")
    input_tokens = as_int(usage.get(inp))
    call.input_tokens = input_tokens
    call.output_tokens = as_int(usage.get(out))
    if input_tokens is not None:
        call.cached_input_tokens = as_int(as_dict(usage.get(f"{inp}_details")).get("cached_tokens")) or 0
        call.cache_write_tokens = 0
    call.reasoning_tokens = as_int(as_dict(usage.get(f"{out}_details")).get("reasoning_tokens"))
    known = {inp, f"{inp}_details", out, f"{out}_details", "total_tokens"}
    extras = usage_extras(usage, known)
    if extras:
        call.extra["usage"] = extras


def _response_level_extras(call: LLMCall, body: JSONDict) -> None:
    tier = as_str(body.get("service_tier"))
    if tier is not None:
        call.extra["service_tier"] = tier
    # OpenRouter and similar gateways name the upstream that served an OpenAI-shaped request.
    upstream = as_str(body.get("provider"))
    if upstream is not None:
        call.extra["upstream_provider"] = upstream


def _transcript_done(interaction: Interaction) -> JSONDict:
    """A streamed transcription's `transcript.text.done` event, which carries the usage ({} when the
    stream was cut before it: audio tokens cannot be estimated from text, so the usage stays unknown)."""
    for _event, data in sse_json(interaction):
        if data.get("type") == "transcript.text.done":
            return data
    return {}


def _audio_usage(call: LLMCall, body: JSONDict) -> None:
    """A transcription's usage: tokens (the gpt-4o transcribe models; audio tokens are priced apart) or
    the audio's duration (whisper-1, billed by the minute: no tokens, so no cost is claimed). The `text`,
    `srt` and `vtt` formats are plain text and report nothing."""
    _set_error(call, body)
    usage = as_dict(body.get("usage"))
    if usage.get("type") == "duration":
        seconds = usage.get("seconds")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            call.extra["audio_seconds"] = seconds
        return
    if usage.get("type") != "tokens":
        return
    _apply_usage(call, {k: v for k, v in usage.items() if k != "type"}, _RESPONSES_USAGE)
    audio = as_int(as_dict(usage.get("input_token_details")).get("audio_tokens"))
    if audio:
        call.extra["input_audio_tokens"] = audio


def _chat_json(call: LLMCall, body: JSONDict) -> None:
    set_model(call, body.get("model"))
    call.tool_calls = tool_calls.from_chat_body(body)
    _set_error(call, body)
    _response_level_extras(call, body)
    usage = body.get("usage")
    if isinstance(usage, dict):
        _apply_usage(call, usage, _CHAT_USAGE)


def _chat_stream(call: LLMCall, interaction: Interaction, request: JSONDict) -> None:
    usage: JSONDict | None = None
    model: Any = None
    streamed_chars = 0
    chunks: list[JSONDict] = []
    for _event, chunk in sse_json(interaction):
        chunks.append(chunk)
        if model is None and as_str(chunk.get("model")):
            model = chunk["model"]
            _response_level_extras(call, chunk)
        if "error" in chunk:
            _set_error(call, chunk)
        if isinstance(chunk.get("usage"), dict):
            usage = chunk["usage"]  # sent once, in the final chunk; the last one wins regardless
        elif isinstance(as_dict(chunk.get("x_groq")).get("usage"), dict):
            usage = chunk["x_groq"]["usage"]  # Groq's place for it
        choices = chunk.get("choices")
        if isinstance(choices, list):
            streamed_chars += sum(estimate.delta_chars(choice) for choice in choices)
    set_model(call, model)
    call.tool_calls = tool_calls.from_chat_stream(chunks)
    if usage is not None:
        _apply_usage(call, usage, _CHAT_USAGE)
    elif call.ok and call.error_type is None:
        # No `stream_options.include_usage`: the stream carries no counts at all.
        recorded_request = request if interaction.request is not None else None
        estimate.fill_chat_estimate(call, recorded_request, streamed_chars)


def _responses_json(call: LLMCall, body: JSONDict) -> None:
    set_model(call, body.get("model"))
    call.tool_calls = tool_calls.from_responses_body(body)
    _set_error(call, body)
    _response_level_extras(call, body)
    status = as_str(body.get("status"))
    if status is not None and status != "completed":
        call.extra["response_status"] = status
    usage = body.get("usage")
    if isinstance(usage, dict):
        _apply_usage(call, usage, _RESPONSES_USAGE)


def _responses_stream(call: LLMCall, interaction: Interaction) -> None:
    final: JSONDict | None = None
    for event, data in sse_json(interaction):
        kind = as_str(data.get("type")) or event
        if kind in _RESPONSE_EVENTS_WITH_BODY and isinstance(data.get("response"), dict):
            final = data["response"]
        elif kind == "error":
            # Older streams: {"type": "error", "code": ..., "message": ...}; newer nest an `error` object.
            if isinstance(data.get("error"), dict):
                _set_error(call, data)
            else:
                code = data.get("code")
                call.error_type = as_str(code) or (str(code) if isinstance(code, int) else None) or "error"
    if final is not None:
        before = call.error_type
        _responses_json(call, final)
        if call.error_type is None:
            call.error_type = before


def _embeddings_json(call: LLMCall, body: JSONDict) -> None:
    set_model(call, body.get("model"))
    _set_error(call, body)
    usage = body.get("usage")
    if isinstance(usage, dict):
        prompt = as_int(usage.get("prompt_tokens"))
        if prompt is not None:
            call.input_tokens = prompt
            call.cached_input_tokens = call.cache_write_tokens = 0
            call.output_tokens = call.reasoning_tokens = 0
