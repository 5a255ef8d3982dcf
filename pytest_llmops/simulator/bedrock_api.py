"""The Amazon Bedrock runtime wire format: Converse, ConverseStream, InvokeModel (Anthropic body).

Routes (the model id is URL-encoded in the path, `:` as `%3A`):
- `POST /model/{modelId}/converse`: JSON `{output.message, stopReason, usage, metrics}`;
  the body names no model, only the URL does.
- `POST /model/{modelId}/converse-stream`: `application/vnd.amazon.eventstream`, binary
  frames (`recording.eventstream`) with `:event-type` messageStart, contentBlockStart (tool
  use), contentBlockDelta, contentBlockStop, messageStop, metadata{usage, metrics}. Each
  payload carries a `p` field of padding letters, as Bedrock's do.
- `POST /model/{modelId}/invoke` with an Anthropic Messages body
  (`anthropic_version: bedrock-2023-05-31`, no `model`): the Anthropic JSON answer plus the
  `x-amzn-bedrock-*-token-count` headers.
- `POST /model/{modelId}/invoke-with-response-stream`: `chunk` events whose payload is
  `{"bytes": base64(one Anthropic stream event)}`; the last carries
  `amazon-bedrock-invocationMetrics`.

Converse usage: `inputTokens` excludes cache reads and writes (`cacheReadInputTokens`,
`cacheWriteInputTokens`, present when the request has a `cachePoint`), `totalTokens` is the
sum of all. Errors: an `x-amzn-ErrorType` header naming the exception (botocore reads the code
from it) and a `{"message": ...}` body; throttling is `ThrottlingException` 429.
Requests must be signed (SigV4 `Authorization`, any credentials) or carry a Bedrock API key
(`Authorization: Bearer`).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from pytest_llmops.recording.eventstream import CONTENT_TYPE, encode_message

from . import anthropic_api, catalog
from .caching import Block
from .engine import CallContext, Completion, ToolChoice, ToolSpec
from .tokens import count_json_tokens, tokenize
from .wire import HEX, ApiError, JsonReply, Reply, SseReply, compact, token_string

Handler = Callable[[CallContext, Mapping[str, Any]], Reply]

PATH = re.compile(
    r"^/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream|invoke|invoke-with-response-stream)$"
)
_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|global|us-gov|jp|au|ca)\.")
_ERROR_NAMESPACE = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
_IMAGE_TOKENS = 1200
_STOP_REASON = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "stop_sequence": "stop_sequence",
}
_DEFAULT_MAX_TOKENS = 4096
_PAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def is_bedrock_path(path: str) -> bool:
    return PATH.match(path) is not None


def model_id(path: str) -> str:
    match = PATH.match(path)
    return unquote(match["model"]) if match is not None else ""


def anthropic_model(model: str) -> str | None:
    """`anthropic.claude-3-5-haiku-20241022-v1:0` (or a cross-region profile / ARN of one) ->
    `claude-3-5-haiku-20241022`; None for other vendors' models."""
    name = model.rsplit("/", 1)[-1]
    name = _REGION_PREFIX.sub("", name)
    if not name.startswith("anthropic."):
        return None
    return re.sub(r"-v\d+(?::\d+)?$", "", name.removeprefix("anthropic."))


# ---------------------------------------------------------------------------- errors and headers

_ERRORS = {
    400: ("ValidationException", "Malformed input request, please reformat your input and try again."),
    403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    404: (
        "ResourceNotFoundException",
        "Could not resolve the foundation model from the provided model identifier.",
    ),
    408: ("ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
    424: ("ModelErrorException", "The model encountered an error processing the request."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: (
        "InternalServerException",
        "The server encountered an error processing the request. Try again later.",
    ),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}


def request_id(ctx: CallContext) -> str:
    raw = token_string(f"{ctx.seq}:bedrock-request", 32, HEX)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def error_payload(error: ApiError) -> bytes:
    return compact({"message": error.message}).encode()


def error_headers(error: ApiError, request_id: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": error.error_type + _ERROR_NAMESPACE,
    }


def has_key(headers: Mapping[str, str], query: Mapping[str, Sequence[str]]) -> bool:
    auth = headers.get("authorization", "")
    if auth.startswith("AWS4-HMAC-SHA256 ") and "Credential=" in auth and "Signature=" in auth:
        return True
    return auth.lower().startswith("bearer ") and bool(auth[7:].strip())


def missing_key_error() -> ApiError:
    return ApiError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")


def invalid_json_error() -> ApiError:
    return ApiError(
        400, "ValidationException", "Malformed input request, please reformat your input and try again."
    )


def not_found_error(method: str, path: str) -> ApiError:
    return ApiError(404, "UnknownOperationException", f"Unknown operation {method} {path}")


def status_error(status: int, model: str | None) -> ApiError:
    default = ("ValidationException", "Request failed (simulated).") if status < 500 else _ERRORS[500]
    error_type, message = _ERRORS.get(status, default)
    return ApiError(status, error_type, message)


def success_headers(request_id: str) -> dict[str, str]:
    return {"x-amzn-RequestId": request_id}


def _bad(message: str) -> ApiError:
    return ApiError(400, "ValidationException", message)


# ---------------------------------------------------------------------------- Converse


def _block_text(block: Mapping[str, Any]) -> str:
    if isinstance(block.get("text"), str):
        return str(block["text"])
    use = block.get("toolUse")
    if isinstance(use, Mapping):
        return f"[tool call: {use.get('name', '')}({compact(use.get('input', {}))})]"
    result = block.get("toolResult")
    if isinstance(result, Mapping):
        parts = result.get("content") or []
        texts = [
            str(p["text"]) if isinstance(p.get("text"), str) else compact(p.get("json", {}))
            for p in parts
            if isinstance(p, Mapping)
        ]
        return "\n".join(texts)
    if "image" in block or "document" in block:
        return "[attachment]"
    return ""


def _block_tokens(block: Mapping[str, Any]) -> list[str]:
    if "image" in block:
        return ["<image>"] * _IMAGE_TOKENS
    if "reasoningContent" in block:
        return []
    return tokenize(_block_text(block))


def _blocks(items: Sequence[Any], frame: list[str], where: str) -> tuple[list[Block], list[str]]:
    """Cache blocks (a `cachePoint` marks the end of the block before it) and the texts."""
    blocks: list[Block] = []
    texts: list[str] = []
    pending: list[str] = list(frame)
    for position, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _bad(
                f"1 validation error detected: Value at '{where}.{position + 1}' failed to satisfy constraint"
            )
        if "cachePoint" in item:
            blocks.append(Block(pending, "5m"))
            pending = []
            continue
        pending.extend(_block_tokens(item))
        if "reasoningContent" not in item:
            texts.append(_block_text(item))
    if pending:
        blocks.append(Block(pending))
    return blocks, texts


def _converse_prompt(
    body: Mapping[str, Any],
) -> tuple[str, list[tuple[str, str]], list[ToolSpec], ToolChoice, list[Block]]:
    messages = body.get("messages")
    if messages is None:
        raise _bad(
            "1 validation error detected: Value null at 'messages' failed to satisfy constraint: "
            "Member must not be null"
        )
    if not isinstance(messages, list) or not messages:
        raise _bad(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        )
    tool_blocks: list[Block] = []
    tools: list[ToolSpec] = []
    choice = ToolChoice("auto")
    config = body.get("toolConfig")
    if isinstance(config, Mapping):
        pending: list[str] = []
        for tool in config.get("tools") or []:
            if not isinstance(tool, Mapping):
                continue
            if "cachePoint" in tool:
                tool_blocks.append(Block(pending, "5m"))
                pending = []
                continue
            spec = tool.get("toolSpec")
            if isinstance(spec, Mapping) and spec.get("name"):
                schema = spec.get("inputSchema")
                schema = schema.get("json") if isinstance(schema, Mapping) else None
                tools.append(ToolSpec(str(spec["name"]), str(spec.get("description") or ""), schema))
                pending.extend(["<tool>"] * count_json_tokens(dict(spec)))
        if pending:
            tool_blocks.append(Block(pending))
        chosen = config.get("toolChoice")
        if isinstance(chosen, Mapping):
            if "any" in chosen:
                choice = ToolChoice("required")
            elif isinstance(chosen.get("tool"), Mapping):
                choice = ToolChoice("named", str(chosen["tool"].get("name")))
    system_blocks, system_texts = _blocks(body.get("system") or [], [], "system")
    convo: list[tuple[str, str]] = []
    message_blocks: list[Block] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
            raise _bad(
                f"1 validation error detected: Value at 'messages.{index + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"
            )
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise _bad(
                f"The content field in the Message object at messages.{index} is empty. Add a ContentBlock object to the content field and try again."
            )
        role = str(message["role"])
        blocks, texts = _blocks(
            content, ["\n\n", role.capitalize(), ":"], f"messages.{index + 1}.member.content"
        )
        message_blocks.extend(blocks)
        results = [b for b in content if isinstance(b, Mapping) and "toolResult" in b]
        if results:
            convo.extend(("tool", _block_text(b)) for b in results)
        else:
            convo.append((role, "\n".join(t for t in texts if t)))
    return "\n".join(system_texts), convo, tools, choice, [*tool_blocks, *system_blocks, *message_blocks]


def _reasoning_budget(body: Mapping[str, Any]) -> int:
    extra = body.get("additionalModelRequestFields")
    thinking = extra.get("thinking") if isinstance(extra, Mapping) else None
    if isinstance(thinking, Mapping) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        return budget if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0 else 1024
    return 0


def converse(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    model = model_id(ctx.path)
    system, convo, tools, choice, blocks = _converse_prompt(body)
    config = body.get("inferenceConfig")
    config = config if isinstance(config, Mapping) else {}
    max_tokens = config.get("maxTokens", _DEFAULT_MAX_TOKENS)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise _bad(
            "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    stop = [s for s in config.get("stopSequences") or [] if isinstance(s, str)]
    total = sum(len(b.tokens) for b in blocks)
    has_cache_point = any(b.ttl for b in blocks)
    cache = ctx.engine.bedrock_cache.observe(model, blocks, 1024)
    budget = _reasoning_budget(body)
    turn = ctx.turn(
        provider="bedrock",
        endpoint="converse",
        model=model,
        system=system,
        messages=convo,
        params=dict(config),
        tools=tools,
        request={**body, "model": model},
    )
    completion = ctx.engine.complete(
        turn,
        tools=tools,
        choice=choice,
        max_tokens=max_tokens,
        stop=stop,
        reasoning_budget=budget,
        thinking=budget > 0,
    )
    uncached = total - cache.read - cache.written
    usage: dict[str, Any] = {
        "inputTokens": uncached,
        "outputTokens": completion.output_tokens,
        "totalTokens": total + completion.output_tokens,
    }
    if has_cache_point:
        usage["cacheReadInputTokens"] = cache.read
        usage["cacheWriteInputTokens"] = cache.written
    content = _content(ctx, completion)
    latency = max(1, round((time.monotonic() - ctx.received_at) * 1000)) if ctx.received_at else 1
    stop_reason = _STOP_REASON[completion.finish]
    if PATH.match(ctx.path)["op"] == "converse-stream":  # type: ignore[index]
        return SseReply(
            _converse_events(ctx, content, stop_reason, usage, latency), content_type=CONTENT_TYPE
        )
    payload = {
        "metrics": {"latencyMs": latency},
        "output": {"message": {"content": content, "role": "assistant"}},
        "stopReason": stop_reason,
        "usage": usage,
    }
    return JsonReply(compact(payload).encode(), headers={"content-type": "application/json"})


def _content(ctx: CallContext, completion: Completion) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if completion.reasoning_text:
        signature = ctx.stable_id("Eo", 120, f"signature:{completion.reasoning_text}")
        content.append(
            {
                "reasoningContent": {
                    "reasoningText": {"text": completion.reasoning_text, "signature": signature}
                }
            }
        )
    if completion.text or not completion.tool_calls:
        content.append({"text": completion.text})
    for call in completion.tool_calls:
        content.append(
            {
                "toolUse": {
                    "toolUseId": ctx.new_id("tooluse_", 22),
                    "name": call.name,
                    "input": json.loads(call.arguments),
                }
            }
        )
    return content


def _event(ctx: CallContext, kind: str, payload: Mapping[str, Any], index: int) -> bytes:
    padding = token_string(f"{ctx.seq}:{index}:pad", 1 + index * 7 % 23, _PAD)
    data = compact({**payload, "p": padding}).encode()
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, data)


def _converse_events(
    ctx: CallContext,
    content: Sequence[Mapping[str, Any]],
    stop_reason: str,
    usage: Mapping[str, Any],
    latency: int,
) -> list[bytes]:
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    for index, block in enumerate(content):
        if "toolUse" in block:
            use = block["toolUse"]
            events.append(
                (
                    "contentBlockStart",
                    {
                        "contentBlockIndex": index,
                        "start": {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}},
                    },
                )
            )
            arguments = compact(use["input"])
            for i in range(0, len(arguments), 16):
                events.append(
                    (
                        "contentBlockDelta",
                        {"contentBlockIndex": index, "delta": {"toolUse": {"input": arguments[i : i + 16]}}},
                    )
                )
        elif "reasoningContent" in block:
            reasoning = block["reasoningContent"]["reasoningText"]
            for piece in tokenize(reasoning["text"]):
                events.append(
                    (
                        "contentBlockDelta",
                        {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}},
                    )
                )
            events.append(
                (
                    "contentBlockDelta",
                    {
                        "contentBlockIndex": index,
                        "delta": {"reasoningContent": {"signature": reasoning["signature"]}},
                    },
                )
            )
        else:
            for piece in tokenize(block["text"]) or [""]:
                events.append(("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}}))
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
    events.append(("messageStop", {"stopReason": stop_reason}))
    events.append(("metadata", {"usage": dict(usage), "metrics": {"latencyMs": latency}}))
    return [_event(ctx, kind, payload, i) for i, (kind, payload) in enumerate(events)]


# ---------------------------------------------------------------------------- InvokeModel (Anthropic body)


def invoke(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    model = model_id(ctx.path)
    name = anthropic_model(model)
    if name is None:
        raise _bad(
            f"The simulator speaks only the Anthropic body on InvokeModel; {model!r} is not an Anthropic model. "
            "Use the Converse API for other models."
        )
    if "model" in body:
        raise _bad(
            "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again."
        )
    if "stream" in body:
        raise _bad(
            "Malformed input request: #: extraneous key [stream] is not permitted, please reformat your input and try again."
        )
    if not isinstance(body.get("anthropic_version"), str):
        raise _bad(
            "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again."
        )
    streaming = PATH.match(ctx.path)["op"] == "invoke-with-response-stream"  # type: ignore[index]
    request = {k: v for k, v in body.items() if k != "anthropic_version"}
    request["model"] = name
    if streaming:
        request["stream"] = True
    try:
        reply = anthropic_api.messages(ctx, request)
    except ApiError as error:
        raise ApiError(
            error.status,
            "ValidationException" if error.status == 400 else status_error(error.status, model).error_type,
            error.message,
        ) from None
    if isinstance(reply, JsonReply):
        message = json.loads(reply.payload)
        message["model"] = catalog.resolve("anthropic", name)
        usage = message["usage"]
        inputs = (
            usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
        )
        headers = {
            "content-type": "application/json",
            "x-amzn-bedrock-input-token-count": str(inputs),
            "x-amzn-bedrock-output-token-count": str(usage["output_tokens"]),
            "x-amzn-bedrock-invocation-latency": str(
                max(1, round((time.monotonic() - ctx.received_at) * 1000)) if ctx.received_at else 1
            ),
        }
        return JsonReply(compact(message).encode(), headers=headers)
    decoded = [_sse_data(event) for event in reply.events]
    events = [e for e in decoded if e is not None and e.get("type") != "ping"]
    start = events[0]["message"]["usage"]
    final = events[-2]["usage"] if len(events) >= 2 else {}
    metrics = {
        "inputTokenCount": start.get("input_tokens", 0),
        "outputTokenCount": final.get("output_tokens", 0),
        "invocationLatency": max(1, round((time.monotonic() - ctx.received_at) * 1000))
        if ctx.received_at
        else 1,
        "firstByteLatency": 1,
    }
    if start.get("cache_read_input_tokens") or start.get("cache_creation_input_tokens"):
        metrics["cacheReadInputTokenCount"] = start.get("cache_read_input_tokens", 0)
        metrics["cacheWriteInputTokenCount"] = start.get("cache_creation_input_tokens", 0)
    events[-1] = {**events[-1], "amazon-bedrock-invocationMetrics": metrics}
    frames = []
    for index, event in enumerate(events):
        encoded = base64.b64encode(compact(event).encode()).decode("ascii")
        frames.append(_event(ctx, "chunk", {"bytes": encoded}, index))
    return SseReply(frames, content_type=CONTENT_TYPE)


def _sse_data(event: bytes) -> dict[str, Any] | None:
    for line in event.decode().splitlines():
        if line.startswith("data:"):
            value = json.loads(line[5:])
            return value if isinstance(value, dict) else None
    return None


_OPS: dict[str, Handler] = {
    "converse": converse,
    "converse-stream": converse,
    "invoke": invoke,
    "invoke-with-response-stream": invoke,
}


def route(method: str, path: str) -> Handler | None:
    match = PATH.match(path)
    if method != "POST" or match is None:
        return None
    return _OPS[match["op"]]
