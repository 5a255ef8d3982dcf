"""Amazon Bedrock runtime: Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream.

The model is named only by the URL (`/model/{modelId}/converse`, the id
URL-encoded, `:` as `%3A`): a foundation model id, a cross-region inference
profile (`us.anthropic...`), or an ARN, of which the part after the last `/`
is the id. Bedrock bills by that id, so it is the model we price
(genai-prices' `aws` provider), never the one an Anthropic body names.

Converse usage: `inputTokens` excludes cache reads and writes
(`cacheReadInputTokens`, `cacheWriteInputTokens`); our `input_tokens` counts
every input token, so it is the sum of the three, as `totalTokens` minus
`outputTokens` is. ConverseStream and InvokeModelWithResponseStream answer with
the binary AWS event stream (`recording.eventstream`): usage is in the final
`metadata` event (Converse) or, for an Anthropic body, in the Anthropic events
carried base64-encoded in `chunk` events, with `amazon-bedrock-invocationMetrics`
in the last one. InvokeModel's other model families (Llama, Titan, Nova, ...)
have their own bodies; for them the `x-amzn-bedrock-*-token-count` response
headers, which every InvokeModel response carries, give the counts.

Errors: the exception name is the `x-amzn-ErrorType` header (before the first
`:`), or `__type` in the body; in a stream, an `exception` message.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import unquote

from pytest_llmops.recording.eventstream import EventMessage, iter_messages, looks_like_event_stream
from pytest_llmops.recording.interactions import Interaction, header
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.providers import anthropic, estimate
from pytest_llmops.spend.providers.base import (
    JSONDict,
    as_dict,
    as_int,
    as_str,
    base_call,
    body_json,
    clear_tokens,
    request_json,
    set_input_tokens,
)

PROVIDER = "bedrock"
PATH = re.compile(
    r"/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream|invoke|invoke-with-response-stream)$"
)
KINDS = ("converse", "invoke")


def model_from_path(path: str) -> str | None:
    """The model id a Bedrock path names (decoded; an ARN reduced to its last segment)."""
    match = PATH.search(path)
    if match is None:
        return None
    return unquote(match["model"]).rsplit("/", 1)[-1] or None


def parse(interaction: Interaction, kind: str, endpoint: str) -> LLMCall:
    request = request_json(interaction)
    response = interaction.response
    binary = looks_like_event_stream(response.body)
    match = PATH.search(endpoint)
    operation = match["op"] if match is not None else ("converse-stream" if binary else kind)
    streamed = binary or operation.endswith("stream")
    call = base_call(interaction, PROVIDER, endpoint, request, streamed=streamed)
    recorded_path = interaction.request is not None  # response-only: the endpoint is a placeholder
    call.model = call.request_model = model_from_path(endpoint) if recorded_path else None
    if recorded_path and match is not None and "/" in unquote(match["model"]):
        call.extra["model_arn"] = unquote(match["model"])
    error = as_str((header(response.headers, "x-amzn-errortype") or "").split(":", 1)[0])
    if not call.ok or error is not None:
        body = body_json(response.body)
        call.error_type = error or as_str(body.get("__type")) or "error"
        message = as_str(body.get("message")) or as_str(body.get("Message"))
        if message is not None:
            call.extra["error_message"] = message[:200]
        return call
    if binary:
        messages = list(iter_messages(response.body))
        if operation == "invoke-with-response-stream" or any(m.event_type == "chunk" for m in messages):
            _invoke_stream(call, messages, request if interaction.request is not None else None)
        else:
            _converse_stream(call, messages, request if interaction.request is not None else None)
    elif operation.startswith("converse"):
        body = body_json(response.body)
        _converse_usage(call, as_dict(body.get("usage")))
        stop = as_str(body.get("stopReason"))
        if stop is not None:
            call.extra["stop_reason"] = stop
    else:
        _invoke_json(call, interaction)
    return call


def _converse_usage(call: LLMCall, usage: JSONDict) -> None:
    uncached = as_int(usage.get("inputTokens"))
    read = as_int(usage.get("cacheReadInputTokens")) or 0
    write = as_int(usage.get("cacheWriteInputTokens")) or 0
    set_input_tokens(call, uncached, read, write)
    call.output_tokens = as_int(usage.get("outputTokens"))


def _exception(call: LLMCall, message: EventMessage) -> bool:
    if message.message_type in ("exception", "error"):
        call.error_type = message.exception_type or as_str(message.headers.get(":error-code")) or "error"
        return True
    return False


def _converse_stream(call: LLMCall, messages: list[EventMessage], request: JSONDict | None) -> None:
    usage: JSONDict | None = None
    chars = 0
    for message in messages:
        if _exception(call, message):
            continue
        payload = body_json(message.payload)
        kind = message.event_type
        if kind == "metadata":
            usage = as_dict(payload.get("usage"))
        elif kind == "messageStop":
            stop = as_str(payload.get("stopReason"))
            if stop is not None:
                call.extra["stop_reason"] = stop
        elif kind == "contentBlockDelta":
            delta = as_dict(payload.get("delta"))
            for value in (delta.get("text"), as_dict(delta.get("toolUse")).get("input")):
                chars += len(value) if isinstance(value, str) else 0
            chars += len(as_dict(delta.get("reasoningContent")).get("text") or "")
    if usage:
        _converse_usage(call, usage)
    elif call.error_type is None:
        _estimate(call, request, chars)


def _invoke_json(call: LLMCall, interaction: Interaction) -> None:
    body = body_json(interaction.response.body)
    if body.get("type") == "message" and isinstance(body.get("usage"), dict):
        anthropic.apply_usage(call, body["usage"])
        call.extra["response_model"] = as_str(body.get("model"))
        return
    headers = interaction.response.headers
    inputs = as_int(_int_header(header(headers, "x-amzn-bedrock-input-token-count")))
    outputs = as_int(_int_header(header(headers, "x-amzn-bedrock-output-token-count")))
    if inputs is None and outputs is None:
        return
    read = as_int(_int_header(header(headers, "x-amzn-bedrock-cache-read-input-token-count"))) or 0
    write = as_int(_int_header(header(headers, "x-amzn-bedrock-cache-write-input-token-count"))) or 0
    set_input_tokens(call, inputs, read, write)
    call.output_tokens = outputs


def _invoke_stream(call: LLMCall, messages: list[EventMessage], request: JSONDict | None) -> None:
    usage: JSONDict = {}
    metrics: JSONDict = {}
    chars = 0
    for message in messages:
        if _exception(call, message):
            continue
        encoded = body_json(message.payload).get("bytes")
        if not isinstance(encoded, str):
            continue
        try:
            event = json.loads(base64.b64decode(encoded))
        except (ValueError, UnicodeDecodeError):
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "message_start":
            anthropic.merge_usage(usage, as_dict(event.get("message")).get("usage"))
            call.extra["response_model"] = as_str(as_dict(event.get("message")).get("model"))
        elif kind == "message_delta":
            anthropic.merge_usage(usage, event.get("usage"))
        elif kind == "content_block_delta":
            delta = as_dict(event.get("delta"))
            for key in ("text", "partial_json", "thinking"):
                value = delta.get(key)
                chars += len(value) if isinstance(value, str) else 0
        elif kind == "error":
            call.error_type = as_str(as_dict(event.get("error")).get("type")) or "error"
        if isinstance(event.get("amazon-bedrock-invocationMetrics"), dict):
            metrics = event["amazon-bedrock-invocationMetrics"]
    if usage.get("input_tokens") is not None:
        anthropic.apply_usage(call, usage)
    elif metrics:
        inputs = as_int(metrics.get("inputTokenCount"))
        read = as_int(metrics.get("cacheReadInputTokenCount")) or 0
        write = as_int(metrics.get("cacheWriteInputTokenCount")) or 0
        set_input_tokens(call, inputs, read, write)
        call.output_tokens = as_int(metrics.get("outputTokenCount"))
    elif call.error_type is None:
        _estimate(call, request, chars)


def _int_header(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _estimate(call: LLMCall, request: JSONDict | None, chars: int) -> None:
    """A stream cut short before its usage: estimate from the text, and say so."""
    clear_tokens(call)
    prompt = None
    if request is not None:
        text = json.dumps(request.get("messages", []), ensure_ascii=False) + json.dumps(
            request.get("system", ""), ensure_ascii=False
        )
        prompt = estimate.REPLY_PRIMING_TOKENS + estimate.text_tokens(len(text))
    estimate.fill_estimate(call, prompt, chars)


def is_converse_body(body: JSONDict) -> bool:
    return (
        isinstance(body.get("output"), dict) and "stopReason" in body and isinstance(body.get("usage"), dict)
    )
