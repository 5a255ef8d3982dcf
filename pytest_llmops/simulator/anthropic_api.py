"""The Anthropic wire format: messages (JSON and SSE), count_tokens, models.

Shapes follow real recordings: compact JSON, `message_start` carrying the
input and cache counts with `output_tokens: 1`, a `ping` after the first
`content_block_start`, `message_delta` with *cumulative* usage that repeats the
input and cache counts (newer API versions do), data lines padded with spaces
before the closing brace, and `input_tokens` that exclude cache reads and
writes. Errors are `{"type": "error", "error": {...}, "request_id": ...}`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import catalog
from .caching import Block, CacheUsage
from .engine import CallContext, Completion, OutputSpec, ToolChoice, ToolSpec
from .tokens import tokenize
from .wire import BASE58, ApiError, JsonReply, Reply, SseReply, compact, padded, sse

Handler = Callable[[CallContext, Mapping[str, Any]], Reply]

_IMAGE_TOKENS = 1200
_TOOL_SYSTEM_TOKENS = {"auto": 346, "none": 346, "required": 313, "named": 313}
"""Tokens of the system prompt Anthropic adds when tools are present (per its pricing docs)."""
_STOP_REASON = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "stop_sequence": "stop_sequence",
}
_DEFAULT_THINKING_BUDGET = 1024

REQUEST_LIMIT = 4_000
INPUT_TOKEN_LIMIT = 2_000_000
OUTPUT_TOKEN_LIMIT = 400_000


# ---------------------------------------------------------------------------- errors and headers


def error_payload(error: ApiError, request_id: str) -> bytes:
    body = {
        "type": "error",
        "error": {"type": error.error_type, "message": error.message},
        "request_id": request_id,
    }
    return compact(body).encode()


def missing_key_error() -> ApiError:
    return ApiError(401, "authentication_error", "x-api-key header is required")


def invalid_json_error(detail: str) -> ApiError:
    return ApiError(400, "invalid_request_error", f"There was an issue with your request body: {detail}")


def not_found_error(method: str, path: str) -> ApiError:
    return ApiError(404, "not_found_error", "Not Found")


def status_error(status: int) -> ApiError:
    """An injected failure, in the shape the real API uses for `status`."""
    known = {
        400: ("invalid_request_error", "Invalid request (simulated failure)."),
        401: ("authentication_error", "invalid x-api-key"),
        403: ("permission_error", "Your API key does not have permission to use the specified resource."),
        404: ("not_found_error", "Not Found"),
        413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
        429: (
            "rate_limit_error",
            "Number of requests has exceeded your per-minute rate limit "
            "(https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. "
            "Please try again later.",
        ),
        500: ("api_error", "Internal server error"),
        503: ("api_error", "Service unavailable"),
        504: ("timeout_error", "Request timed out"),
        529: ("overloaded_error", "Overloaded"),
    }
    default = (
        ("invalid_request_error", "Request failed (simulated).") if status < 500 else ("api_error", "Error")
    )
    error_type, message = known.get(status, default)
    return ApiError(status, error_type, message)


def headers(request_id: str, remaining_requests: int, remaining_tokens: int) -> dict[str, str]:
    reset = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = {"request-id": request_id, "anthropic-organization-id": "00000000-0000-4000-8000-00000000510a"}
    limits = {
        "requests": (REQUEST_LIMIT, remaining_requests),
        "tokens": (INPUT_TOKEN_LIMIT + OUTPUT_TOKEN_LIMIT, remaining_tokens),
        "input-tokens": (INPUT_TOKEN_LIMIT, min(remaining_tokens, INPUT_TOKEN_LIMIT)),
        "output-tokens": (OUTPUT_TOKEN_LIMIT, OUTPUT_TOKEN_LIMIT),
    }
    for name, (limit, remaining) in limits.items():
        out[f"anthropic-ratelimit-{name}-limit"] = str(limit)
        out[f"anthropic-ratelimit-{name}-remaining"] = str(max(remaining, 0))
        out[f"anthropic-ratelimit-{name}-reset"] = reset
    return out


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


# ---------------------------------------------------------------------------- prompt reading


def _ttl(block: Any) -> str | None:
    control = block.get("cache_control") if isinstance(block, Mapping) else None
    if not isinstance(control, Mapping):
        return None
    return "1h" if control.get("ttl") == "1h" else "5m"


def _block_text(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text") or "")
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return "\n".join(_block_text(b) for b in content if isinstance(b, Mapping))
        return "" if content is None else str(content)
    if kind == "tool_use":
        return f"[tool call: {block.get('name', '')}({compact(block.get('input', {}))})]"
    if kind == "document":
        source = block.get("source")
        if isinstance(source, Mapping) and source.get("type") == "text":
            return str(source.get("data") or "")
        return "[document]"
    if kind == "image":
        return "[image]"
    return ""


def _block_tokens(block: Mapping[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "image":
        return ["<image:" + compact(block.get("source", {}))[:64] + ">"] + ["<image>"] * (_IMAGE_TOKENS - 1)
    if kind in ("thinking", "redacted_thinking"):
        return []  # earlier turns' thinking is stripped from the context
    return tokenize(_block_text(block))


def _system(body: Mapping[str, Any]) -> tuple[str, list[Block]]:
    system = body.get("system")
    if system is None:
        return "", []
    if isinstance(system, str):
        return system, [Block(tokenize(system))]
    if not isinstance(system, list):
        raise _bad("system: Input should be a valid string or list of text blocks")
    texts: list[str] = []
    blocks: list[Block] = []
    for block in system:
        if not isinstance(block, Mapping) or block.get("type") != "text":
            raise _bad("system: Input should be a valid list of text blocks")
        texts.append(str(block.get("text") or ""))
        blocks.append(Block(tokenize(texts[-1]), _ttl(block)))
    return "\n\n".join(texts), blocks


def _messages(body: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[Block]]:
    messages = body.get("messages")
    if messages is None:
        raise _bad("messages: Field required")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages: at least one message is required")
    convo: list[tuple[str, str]] = []
    blocks: list[Block] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
            raise _bad(f"messages.{index}: Input does not match the expected shape.")
        role = str(message["role"])
        content = message.get("content")
        frame = ["\n\n", role.capitalize(), ":"]
        if isinstance(content, str):
            convo.append((role, content))
            blocks.append(Block([*frame, *tokenize(content)]))
            continue
        if not isinstance(content, list):
            raise _bad(f"messages.{index}.content: Input should be a valid string or list")
        texts: list[str] = []
        for position, block in enumerate(content):
            if not isinstance(block, Mapping):
                raise _bad(f"messages.{index}.content.{position}: Input should be a valid dictionary")
            pieces = _block_tokens(block)
            blocks.append(Block([*frame, *pieces] if position == 0 else pieces, _ttl(block)))
            if block.get("type") == "tool_result":
                convo.append(("tool", _block_text(block)))
            elif block.get("type") not in ("thinking", "redacted_thinking"):
                texts.append(_block_text(block))
        if texts:
            convo.append((role, "\n".join(t for t in texts if t)))
    return convo, blocks


def _tools(body: Mapping[str, Any]) -> tuple[list[ToolSpec], ToolChoice, list[Block]]:
    raw = body.get("tools") or []
    choice_value = body.get("tool_choice")
    choice = ToolChoice("auto")
    if isinstance(choice_value, Mapping):
        kind = choice_value.get("type")
        if kind == "any":
            choice = ToolChoice("required")
        elif kind == "tool":
            choice = ToolChoice("named", str(choice_value.get("name")))
        elif kind == "none":
            choice = ToolChoice("none")
    tools: list[ToolSpec] = []
    blocks: list[Block] = []
    if raw:
        blocks.append(Block(["<tool-system>"] * _TOOL_SYSTEM_TOKENS[choice.mode]))
    for tool in raw:
        if not isinstance(tool, Mapping):
            continue
        definition = {k: v for k, v in tool.items() if k != "cache_control"}
        blocks.append(Block(tokenize(compact(definition)), _ttl(tool)))
        if "input_schema" in tool:
            tools.append(
                ToolSpec(
                    str(tool.get("name", "")), str(tool.get("description") or ""), tool.get("input_schema")
                )
            )
    return tools, choice, blocks


def _output(body: Mapping[str, Any]) -> OutputSpec:
    fmt = body.get("output_format")
    config = body.get("output_config")
    if fmt is None and isinstance(config, Mapping):
        fmt = config.get("format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        return OutputSpec(json_mode=True, schema=fmt.get("schema"))
    return OutputSpec()


def _thinking(body: Mapping[str, Any], max_tokens: int) -> int:
    thinking = body.get("thinking")
    if not isinstance(thinking, Mapping) or thinking.get("type") == "disabled":
        return 0
    if thinking.get("type") == "adaptive":
        return min(_DEFAULT_THINKING_BUDGET, max_tokens // 2)
    budget = thinking.get("budget_tokens", _DEFAULT_THINKING_BUDGET)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1024:
        raise _bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    if budget >= max_tokens:
        raise _bad(
            f"`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
            f"at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-"
            f"context-window-size (max_tokens={max_tokens}, budget_tokens={budget})"
        )
    return budget


def _prompt(
    body: Mapping[str, Any],
) -> tuple[str, list[tuple[str, str]], list[ToolSpec], ToolChoice, list[Block]]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model: Field required")
    tools, choice, tool_blocks = _tools(body)
    system, system_blocks = _system(body)
    convo, message_blocks = _messages(body)
    automatic = _ttl(body)
    if automatic and message_blocks:
        # Top-level `cache_control`: the breakpoint is the last block of the conversation.
        message_blocks[-1] = Block(message_blocks[-1].tokens, automatic)
    return (
        system,
        convo,
        tools,
        choice,
        [*tool_blocks, *system_blocks, *message_blocks, Block(["<|end|>"] * 3)],
    )


# ---------------------------------------------------------------------------- endpoints


def messages(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    system, convo, tools, choice, blocks = _prompt(body)
    model = str(body["model"])
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise _bad("max_tokens: Field required")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise _bad("max_tokens: Input should be greater than or equal to 1")
    budget = _thinking(body, max_tokens)
    stop = [s for s in body.get("stop_sequences") or [] if isinstance(s, str)]

    total = sum(len(b.tokens) for b in blocks)
    cache = ctx.engine.anthropic_cache.observe(model, blocks, catalog.anthropic_min_cacheable_tokens(model))
    params = {k: v for k, v in body.items() if k not in ("messages", "system", "tools", "model", "stream")}
    turn = ctx.turn(
        provider="anthropic",
        endpoint="messages",
        model=model,
        system=system,
        messages=convo,
        params=params,
        tools=tools,
        request=body,
    )
    completion = ctx.engine.complete(
        turn,
        tools=tools,
        choice=choice,
        output=_output(body),
        max_tokens=max_tokens,
        stop=stop,
        reasoning_budget=budget,
        thinking=budget > 0,
    )
    prefill = convo[-1][1] if convo and convo[-1][0] == "assistant" else ""
    if prefill and completion.text.startswith(prefill):
        completion.text = completion.text[len(prefill) :]

    content = _content_blocks(ctx, completion)
    usage = _usage(total, cache, completion.output_tokens)
    message = {
        "model": ctx.engine.served("anthropic", model),
        "id": ctx.new_id("msg_01", 22, BASE58),
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": _STOP_REASON[completion.finish],
        "stop_sequence": completion.stop_sequence,
        "usage": usage,
    }
    if body.get("stream"):
        return SseReply(_stream(message, completion), {"cache-control": "no-cache"})
    return JsonReply(compact(message).encode())


def _usage(total: int, cache: CacheUsage, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": total - cache.read - cache.written,
        "cache_creation_input_tokens": cache.written,
        "cache_read_input_tokens": cache.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.written_5m,
            "ephemeral_1h_input_tokens": cache.written_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _content_blocks(ctx: CallContext, completion: Completion) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if completion.reasoning_text:
        signature = ctx.stable_id("Eo", 200, f"signature:{completion.reasoning_text}", BASE58)
        blocks.append({"type": "thinking", "thinking": completion.reasoning_text, "signature": signature})
    if completion.text or (not completion.tool_calls and not blocks):
        blocks.append({"type": "text", "text": completion.text})
    for call in completion.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": ctx.new_id("toolu_01", 22, BASE58),
                "name": call.name,
                "input": json.loads(call.arguments),
            }
        )
    return blocks


def _stream(message: Mapping[str, Any], completion: Completion) -> list[bytes]:
    events: list[bytes] = []
    msg_id = str(message["id"])

    def emit(kind: str, payload: Mapping[str, Any], pad: bool = True) -> None:
        data = compact({"type": kind, **payload})
        events.append(sse(padded(data, f"{msg_id}:{len(events)}") if pad else data, kind))

    usage = dict(message["usage"])
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    emit("message_start", {"message": start})
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "text":
            emit("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
        elif kind == "thinking":
            emit(
                "content_block_start",
                {"index": index, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
            )
        else:
            emit("content_block_start", {"index": index, "content_block": {**block, "input": {}}})
        if index == 0:
            events.append(sse('{"type": "ping"}', "ping"))
        if kind == "text":
            for piece in _groups(tokenize(block["text"])):
                emit("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": piece}})
        elif kind == "thinking":
            for piece in _groups(tokenize(block["thinking"])):
                emit(
                    "content_block_delta",
                    {"index": index, "delta": {"type": "thinking_delta", "thinking": piece}},
                )
            emit(
                "content_block_delta",
                {"index": index, "delta": {"type": "signature_delta", "signature": block["signature"]}},
            )
        else:
            arguments = compact(block["input"])
            for piece in ["", *(arguments[i : i + 12] for i in range(0, len(arguments), 12))]:
                emit(
                    "content_block_delta",
                    {"index": index, "delta": {"type": "input_json_delta", "partial_json": piece}},
                )
        emit("content_block_stop", {"index": index})
    if not message["content"]:
        events.append(sse('{"type": "ping"}', "ping"))
    cumulative = {
        k: usage[k]
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    }
    emit(
        "message_delta",
        {
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
            "usage": cumulative,
        },
    )
    emit("message_stop", {})
    return events


def _groups(pieces: Sequence[str]) -> list[str]:
    """Deltas as Anthropic sends them: one token first, then several tokens per event."""
    if not pieces:
        return []
    return [pieces[0], *("".join(pieces[i : i + 8]) for i in range(1, len(pieces), 8))]


def count_tokens(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    blocks = _prompt(body)[4]
    return JsonReply(compact({"input_tokens": sum(len(b.tokens) for b in blocks)}).encode())


def list_models(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    data = catalog.anthropic_models()
    payload = {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    return JsonReply(compact(payload).encode())


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/messages"): messages,
    ("POST", "/v1/messages/count_tokens"): count_tokens,
    ("GET", "/v1/models"): list_models,
}
