"""Anthropic Messages API, JSON and SSE.

Anthropic's `input_tokens` excludes cache reads and cache writes; our
`input_tokens` counts every input token processed, so it is the sum of the
three. In a stream, `message_start` carries the input and cache counts and
each `message_delta.usage` is cumulative (newer streams repeat the input and
cache counts there): the last value of each field wins, nothing is added up.
"""

from __future__ import annotations

from pytest_llmops.recording.interactions import Interaction
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.providers.base import (
    JSONDict,
    as_dict,
    as_int,
    as_str,
    base_call,
    body_json,
    is_event_stream,
    request_json,
    set_input_tokens,
    set_model,
    sse_json,
)
from pytest_llmops.spend.providers.tool_calls import from_anthropic_body, from_anthropic_stream

PROVIDER = "anthropic"


def parse(interaction: Interaction, kind: str, endpoint: str) -> LLMCall:
    streamed = is_event_stream(interaction.response)
    call = base_call(interaction, PROVIDER, endpoint, request_json(interaction), streamed=streamed)
    if streamed:
        _stream(call, interaction)
    else:
        body = body_json(interaction.response.body)
        set_model(call, body.get("model"))
        _set_error(call, body)
        call.tool_calls = from_anthropic_body(body)
        usage = body.get("usage")
        if isinstance(usage, dict):
            apply_usage(call, usage)
    return call


def apply_usage(call: LLMCall, usage: JSONDict) -> None:
    """Normalize one (merged) Anthropic usage object onto `call`."""
    uncached = as_int(usage.get("input_tokens"))
    cache_read = as_int(usage.get("cache_read_input_tokens")) or 0
    cache_write = as_int(usage.get("cache_creation_input_tokens")) or 0
    set_input_tokens(call, uncached, cache_read, cache_write)
    call.output_tokens = as_int(usage.get("output_tokens"))
    call.reasoning_tokens = as_int(as_dict(usage.get("output_tokens_details")).get("thinking_tokens"))
    # 1-hour cache writes cost more than 5-minute ones; pricing needs the split.
    write_1h = as_int(as_dict(usage.get("cache_creation")).get("ephemeral_1h_input_tokens"))
    if write_1h:
        call.extra["cache_write_1h_tokens"] = write_1h
    web_searches = as_int(as_dict(usage.get("server_tool_use")).get("web_search_requests"))
    if web_searches:
        call.extra["web_searches"] = web_searches
    tier = as_str(usage.get("service_tier"))
    if tier is not None:
        call.extra["service_tier"] = tier


def _set_error(call: LLMCall, body: JSONDict) -> None:
    error = body.get("error")
    if isinstance(error, dict):
        call.error_type = as_str(error.get("type")) or call.error_type or "error"
    elif body.get("type") == "error":
        call.error_type = call.error_type or "error"


def _stream(call: LLMCall, interaction: Interaction) -> None:
    usage: JSONDict = {}
    events: list[JSONDict] = []
    for event, data in sse_json(interaction):
        events.append(data)
        kind = as_str(data.get("type")) or event
        if kind == "message_start":
            message = as_dict(data.get("message"))
            set_model(call, message.get("model"))
            merge_usage(usage, message.get("usage"))
        elif kind == "message_delta":
            merge_usage(usage, data.get("usage"))
        elif kind == "error":
            _set_error(call, data)
    call.tool_calls = from_anthropic_stream(events)
    if usage:
        apply_usage(call, usage)


def merge_usage(usage: JSONDict, update: object) -> None:
    """Last value of each field wins; a null sent later does not erase a count sent earlier."""
    for key, value in as_dict(update).items():
        if value is not None:
            usage[key] = value
