"""What every adapter fills the same way: status, stream, latency, time, request model.

Recorded bodies are untrusted: every reader here returns None (or skips) on a
value of the wrong type instead of raising, so one odd recording never breaks
a test run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from pytest_llmops.recording.interactions import Interaction, RecordedResponse, header
from pytest_llmops.spend.calls import LLMCall

JSONDict = dict[str, Any]


def as_int(value: Any) -> int | None:
    """A token count from JSON: ints (and integral floats) only, never bools or strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def as_dict(value: Any) -> JSONDict:
    return value if isinstance(value, dict) else {}


def is_event_stream(response: RecordedResponse) -> bool:
    """SSE by body first (some recorders label a recorded stream `application/json`), else by header."""
    head = response.body[:16].lstrip()
    if head.startswith((b"data:", b"event:")):
        return True
    if head.startswith((b"{", b"[")):
        return False
    return response.is_sse


def body_json(body: bytes | None) -> JSONDict:
    """A body's JSON object; {} when it is absent, not JSON, or not an object."""
    if not body:
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def request_json(interaction: Interaction) -> JSONDict:
    """The request's JSON object; for a multipart upload (an audio transcription), its text fields."""
    return interaction.request.fields() if interaction.request is not None else {}


def sse_json(interaction: Interaction) -> Iterator[tuple[str | None, JSONDict]]:
    """(event name, JSON data) for each SSE event whose data is a JSON object.

    `[DONE]` sentinels, comments, keep-alives and malformed events are skipped:
    a stream cut short still yields everything before the cut.
    """
    from pytest_llmops.recording.sse import iter_events

    for event in iter_events(interaction.response.body):
        data = event.data
        if not data or data[0] != "{":
            continue
        try:
            parsed = json.loads(data)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            yield event.event, parsed


def base_call(
    interaction: Interaction, provider: str, endpoint: str, request: JSONDict, *, streamed: bool
) -> LLMCall:
    """The call fields that do not depend on the provider's body format.

    `streamed` says the response body is an event stream; a request asking for
    a stream that got a JSON error back still counts as a stream.
    """
    response = interaction.response
    meta = interaction.meta
    stream = streamed or request.get("stream") is True
    call = LLMCall(
        provider=provider,
        endpoint=endpoint,
        request_model=as_str(request.get("model")),
        stream=stream,
        status=response.status,
        latency_ms=meta.latency_ms,
        ttft_ms=meta.ttfb_ms if stream else None,
        recorded_at=meta.recorded_at or _date_header(interaction),
    )
    call.model = call.request_model
    return call


def _date_header(interaction: Interaction) -> str | None:
    """The response's `Date` as ISO 8601: foreign cassettes carry no meta, and pricing
    at the time of recording keeps a replayed cost the same tomorrow."""
    raw = header(interaction.response.headers, "date")
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def set_model(call: LLMCall, value: Any) -> None:
    """The response's model wins over the request's: it is what actually ran (and is billed)."""
    model = as_str(value)
    if model is not None:
        call.model = model


def set_input_tokens(call: LLMCall, uncached: int | None, cache_read: int, cache_write: int) -> None:
    """Providers that count cache reads and writes apart from the rest of the prompt (Anthropic, Bedrock):
    `input_tokens` is the whole prompt, as for every provider; unknown stays unknown."""
    if uncached is None:
        return
    call.input_tokens = uncached + cache_read + cache_write
    call.cached_input_tokens = cache_read
    call.cache_write_tokens = cache_write


def clear_tokens(call: LLMCall) -> None:
    call.input_tokens = call.cached_input_tokens = call.cache_write_tokens = None
    call.output_tokens = call.reasoning_tokens = None
    call.estimated = False


def usage_extras(usage: JSONDict, known: set[str]) -> JSONDict:
    """Usage fields a gateway adds beyond the provider's own (e.g. OpenRouter's `cost`)."""
    return {k: v for k, v in usage.items() if k not in known}
