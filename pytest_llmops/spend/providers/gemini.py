"""Gemini API (AI Studio and Vertex AI, google-genai or REST): generateContent and streamGenerateContent.

A response is one JSON object (`generateContent`), SSE with one JSON object per
event (`streamGenerateContent?alt=sse`, what google-genai uses), or one JSON
array of those objects (`streamGenerateContent` without `alt=sse`, REST).
Every streamed object carries `usageMetadata` so far; the last one is final.

`usageMetadata` onto `LLMCall`'s meanings: `promptTokenCount` counts every
prompt token, cached ones included (`cachedContentTokenCount` is the cached
part), plus `toolUsePromptTokenCount` for tool-use prompts; output is
`candidatesTokenCount` plus `thoughtsTokenCount`, which Google bills as output
but does not include in the candidates count. Gemini has no paid cache writes
in a request (explicit caches are created, and billed for storage, separately),
so `cache_write_tokens` is 0. The model is `modelVersion` from the response, else
the one in the URL (`models/{model}:generateContent`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from pytest_llmops.recording.interactions import Interaction
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.providers import estimate
from pytest_llmops.spend.providers.base import (
    JSONDict,
    as_dict,
    as_int,
    as_str,
    base_call,
    is_event_stream,
    request_json,
    set_model,
    sse_json,
)

PROVIDER = "gemini"
PATH = re.compile(
    r"/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$", re.IGNORECASE
)


def parse(interaction: Interaction, kind: str, endpoint: str) -> LLMCall:
    request = request_json(interaction)
    match = PATH.search(endpoint)
    streamed = match is not None and match["method"].lower() == "streamgeneratecontent"
    call = base_call(interaction, PROVIDER, endpoint, request, streamed=streamed)
    if match is not None and interaction.request is not None:  # response-only: the endpoint is a placeholder
        call.request_model = call.model = unquote(match["model"])
    chunks = response_objects(interaction)
    if len(chunks) > 1 or is_event_stream(interaction.response):
        call.stream = True
        call.ttft_ms = interaction.meta.ttfb_ms
    usage: JSONDict | None = None
    text_chars = 0
    for chunk in chunks:
        set_model(call, chunk.get("modelVersion"))
        _set_error(call, chunk)
        if isinstance(chunk.get("usageMetadata"), dict):
            usage = chunk["usageMetadata"]
        text_chars += _text_chars(chunk)
        feedback = as_str(as_dict(chunk.get("promptFeedback")).get("blockReason"))
        if feedback is not None:
            call.extra["block_reason"] = feedback
    if usage is not None and as_int(usage.get("promptTokenCount")) is not None:
        apply_usage(call, usage)
    elif call.stream and call.ok and call.error_type is None and chunks:
        _estimate(call, request if interaction.request is not None else None, text_chars)
    return call


def response_objects(interaction: Interaction) -> list[JSONDict]:
    """The response's JSON objects in order: one for a JSON body, one per event or array item for a stream."""
    response = interaction.response
    if is_event_stream(response):
        return [data for _event, data in sse_json(interaction)]
    try:
        value: Any = json.loads(response.body) if response.body else None
    except (ValueError, UnicodeDecodeError):
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def apply_usage(call: LLMCall, usage: JSONDict) -> None:
    prompt = as_int(usage.get("promptTokenCount")) or 0
    tool_prompt = as_int(usage.get("toolUsePromptTokenCount")) or 0
    thoughts = as_int(usage.get("thoughtsTokenCount"))
    candidates = as_int(usage.get("candidatesTokenCount")) or 0
    call.input_tokens = prompt + tool_prompt
    call.cached_input_tokens = as_int(usage.get("cachedContentTokenCount")) or 0
    call.cache_write_tokens = 0
    call.output_tokens = candidates + (thoughts or 0)
    call.reasoning_tokens = thoughts if thoughts is not None else 0
    call.estimated = False
    tier = as_str(usage.get("trafficType"))
    if tier is not None:
        call.extra["traffic_type"] = tier


def is_gemini_body(body: Any) -> bool:
    """A generateContent response object: candidates or usageMetadata, and no OpenAI/Anthropic marker."""
    if not isinstance(body, dict) or "object" in body or "type" in body:
        return False
    return isinstance(body.get("candidates"), list) or (
        isinstance(body.get("usageMetadata"), dict) and "modelVersion" in body
    )


def _set_error(call: LLMCall, chunk: JSONDict) -> None:
    error = chunk.get("error")
    if isinstance(error, dict):
        call.error_type = as_str(error.get("status")) or (
            str(error["code"]) if as_int(error.get("code")) is not None else "error"
        )


def _text_chars(chunk: JSONDict) -> int:
    chars = 0
    candidates = chunk.get("candidates")
    for candidate in candidates if isinstance(candidates, list) else ():
        parts = as_dict(as_dict(candidate).get("content")).get("parts")
        for part in parts if isinstance(parts, list) else ():
            part = as_dict(part)
            if isinstance(part.get("text"), str):
                chars += len(part["text"])
            call = part.get("functionCall")
            if isinstance(call, dict):
                chars += len(json.dumps(call.get("args", {}))) + len(str(call.get("name", "")))
    return chars


def _estimate(call: LLMCall, request: JSONDict | None, streamed_chars: int) -> None:
    """No usage in the recorded stream (cut short, or a proxy dropped it): estimate, and say so."""
    prompt: int | None = None
    if request is not None:
        prompt = estimate.REPLY_PRIMING_TOKENS + estimate.text_tokens(_request_chars(request))
    estimate.fill_estimate(call, prompt, streamed_chars)


def _request_chars(request: JSONDict) -> int:
    chars = 0
    contents = request.get("contents")
    instruction = request.get("systemInstruction") or request.get("system_instruction")
    blocks = [*(contents if isinstance(contents, list) else []), instruction]
    for content in blocks:
        if isinstance(content, str):
            chars += len(content)
            continue
        parts = as_dict(content).get("parts")
        for part in parts if isinstance(parts, list) else ():
            text = as_dict(part).get("text")
            chars += len(text) if isinstance(text, str) else 0
    return chars
