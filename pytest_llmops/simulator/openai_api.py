"""The OpenAI wire format: chat completions, responses, embeddings, moderations, models.

Shapes follow real recordings (see tests/data/real-cassettes): pretty-printed
JSON bodies, `chat.completion.chunk` streams ending in `data: [DONE]` with a
usage chunk (`choices: []`) only under `stream_options.include_usage`, the
Responses API's typed event sequence with `sequence_number`s, and usage with
`prompt_tokens_details` / `completion_tokens_details` (chat) or
`input_tokens_details` / `output_tokens_details` (responses).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from . import audio, catalog, embeddings, moderation
from .engine import CallContext, Completion, OutputSpec, ToolChoice, ToolSpec
from .responders import ChatTurn
from .tokens import count_tokens, tokenize
from .wire import HEX, ApiError, JsonReply, Reply, SseReply, compact, pretty, sse, token_string

Handler = Callable[[CallContext, Mapping[str, Any]], Reply]

_IMAGE_TOKENS = 85
_FINISH = {"stop": "stop", "stop_sequence": "stop", "length": "length", "tool_calls": "tool_calls"}


# ---------------------------------------------------------------------------- errors and headers


def error_payload(error: ApiError) -> bytes:
    body = {
        "error": {
            "message": error.message,
            "type": error.error_type,
            "param": error.param,
            "code": error.code,
        }
    }
    return (json.dumps(body, indent=4) + "\n").encode()


def missing_key_error() -> ApiError:
    return ApiError(
        401,
        "invalid_request_error",
        "You didn't provide an API key. You need to provide your API key in an Authorization header using "
        "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (i.e. YOUR_KEY), when "
        "using HTTP Basic Auth. You can obtain an API key from https://platform.openai.com/account/api-keys.",
    )


def invalid_json_error() -> ApiError:
    return ApiError(
        400,
        "invalid_request_error",
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid "
        "JSON.)",
    )


def not_found_error(method: str, path: str) -> ApiError:
    return ApiError(404, "invalid_request_error", f"Invalid URL ({method} {path})")


def status_error(status: int, model: str | None) -> ApiError:
    """An injected failure, in the shape the real API uses for `status`."""
    model = model or "gpt-4o-mini"
    known: dict[int, tuple[str, str, str | None]] = {
        400: ("invalid_request_error", "Invalid request (simulated failure).", None),
        401: ("invalid_request_error", "Incorrect API key provided.", "invalid_api_key"),
        403: ("invalid_request_error", "You are not allowed to sample from this model.", None),
        404: (
            "invalid_request_error",
            f"The model `{model}` does not exist or you do not have access to it.",
            "model_not_found",
        ),
        429: (
            "requests",
            f"Rate limit reached for {model} in organization org-simulator on requests per min "
            "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more.",
            "rate_limit_exceeded",
        ),
        500: (
            "server_error",
            "The server had an error while processing your request. Sorry about that!",
            None,
        ),
        502: ("server_error", "Bad gateway.", None),
        503: ("server_error", "The server is overloaded or not ready yet.", None),
        504: ("server_error", "Gateway timeout.", None),
        529: ("server_error", "The server is overloaded or not ready yet.", None),
    }
    default = ("server_error", "The server had an error processing your request.", None)
    if status < 500:
        default = ("invalid_request_error", "Request failed (simulated).", None)
    error_type, message, code = known.get(status, default)
    return ApiError(status, error_type, message, code=code)


def headers(
    request_id: str, processing_ms: int, remaining_requests: int, remaining_tokens: int
) -> dict[str, str]:
    return {
        "x-request-id": request_id,
        "openai-organization": "org-simulator",
        "openai-project": "proj_simulator",
        "openai-processing-ms": str(processing_ms),
        "openai-version": "2020-10-01",
        "x-ratelimit-limit-requests": str(REQUEST_LIMIT),
        "x-ratelimit-limit-tokens": str(TOKEN_LIMIT),
        "x-ratelimit-remaining-requests": str(max(remaining_requests, 0)),
        "x-ratelimit-remaining-tokens": str(max(remaining_tokens, 0)),
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-reset-tokens": "0s",
        "access-control-expose-headers": "X-Request-ID",
        "x-content-type-options": "nosniff",
    }


REQUEST_LIMIT = 10_000
TOKEN_LIMIT = 30_000_000


def _bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request_error", message, param=param, code=code)


def _require(body: Mapping[str, Any], name: str) -> Any:
    value = body.get(name)
    if value is None:
        raise _bad(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    return value


def _model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("you must provide a model parameter")
    return model


def _positive_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(
            f"Invalid '{name}': integer below minimum value. "
            f"Expected a value >= 1, but got {value!r} instead.",
            param=name,
            code="integer_below_min_value",
        )
    return value


def _mapping(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = body.get(name)
    return value if isinstance(value, Mapping) else {}


def _stop_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return []


def _fingerprint(ctx: CallContext, model: str) -> str:
    return ctx.stable_id("fp_", 10, f"fingerprint:{model}", HEX)


def _obfuscation(material: str) -> str:
    size = 1 + hashlib.sha256(material.encode()).digest()[0] % 15
    return token_string(material, size)


# ---------------------------------------------------------------------------- prompt reading


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, Mapping):
        return ""
    kind = part.get("type")
    if kind in ("text", "input_text", "output_text"):
        return str(part.get("text") or "")
    if kind == "refusal":
        return str(part.get("refusal") or "")
    if kind in ("image_url", "input_image", "image"):
        return "[image]"
    if kind in ("input_audio", "audio"):
        return "[audio]"
    if kind in ("file", "input_file"):
        return "[file]"
    return ""


def _content(content: Any) -> tuple[str, list[str]]:
    """Text of a message's content, and its prompt token pieces (images count a fixed amount)."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, tokenize(content)
    texts: list[str] = []
    pieces: list[str] = []
    for part in content if isinstance(content, list) else [content]:
        text = _part_text(part)
        if isinstance(part, Mapping) and part.get("type") in ("image_url", "input_image", "image"):
            ref = json.dumps(part, sort_keys=True, default=str)
            pieces.append("<image:" + hashlib.sha256(ref.encode()).hexdigest() + ">")
            pieces.extend(["<image>"] * (_IMAGE_TOKENS - 1))
        else:
            pieces.extend(tokenize(text))
        if text:
            texts.append(text)
    return "\n".join(texts), pieces


def _framed(role: str, pieces: Sequence[str]) -> list[str]:
    """A message as the model sees it: about 3 tokens of framing plus the role and content."""
    return ["<|start|>", role, *pieces, "<|end|>", "\n"]


_PRIMING = ["<|start|>", "assistant", "<|message|>"]


def _tool_prompt(tools: Any) -> list[str]:
    return tokenize(compact(tools)) if tools else []


def _chat_prompt(messages: list[Any]) -> tuple[str, list[tuple[str, str]], list[str]]:
    system_parts: list[str] = []
    convo: list[tuple[str, str]] = []
    pieces: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or "role" not in message:
            raise _bad(
                f"Invalid value for 'messages[{index}]': expected an object with a 'role'.",
                param=f"messages[{index}]",
            )
        role = str(message["role"])
        text, content_pieces = _content(message.get("content"))
        for call in message.get("tool_calls") or []:
            function = call.get("function", {}) if isinstance(call, Mapping) else {}
            call_text = f"{function.get('name', '')}({function.get('arguments', '')})"
            content_pieces = [*content_pieces, *tokenize(call_text)]
            text = (text + "\n" if text else "") + f"[tool call: {call_text}]"
        if message.get("name"):
            content_pieces = [*tokenize(str(message["name"])), *content_pieces]
        pieces.extend(_framed(role, content_pieces))
        if role in ("system", "developer"):
            system_parts.append(text)
        elif role in ("tool", "function"):
            convo.append(("tool", text))
        else:
            convo.append((role, text))
    pieces.extend(_PRIMING)
    return "\n\n".join(p for p in system_parts if p), convo, pieces


def _params(body: Mapping[str, Any], *, drop: set[str], max_tokens: int | None) -> dict[str, Any]:
    params = {k: v for k, v in body.items() if k not in drop}
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    return params


def _reasoning_budget(model: str, effort: Any) -> int:
    if not catalog.is_reasoning_model(model):
        return 0
    return catalog.REASONING_EFFORT_TOKENS.get(
        str(effort or "medium"), catalog.REASONING_EFFORT_TOKENS["medium"]
    )


def _chat_tools(body: Mapping[str, Any]) -> tuple[list[ToolSpec], ToolChoice]:
    tools: list[ToolSpec] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, Mapping) and isinstance(tool.get("function"), Mapping):
            fn = tool["function"]
            tools.append(
                ToolSpec(str(fn.get("name", "")), str(fn.get("description") or ""), fn.get("parameters"))
            )
    return tools, _tool_choice(body.get("tool_choice"), nested=True)


def _tool_choice(value: Any, *, nested: bool) -> ToolChoice:
    if value in ("none", "auto", "required"):
        return ToolChoice(value)
    if isinstance(value, Mapping) and value.get("type") == "function":
        name = value.get("function", {}).get("name") if nested else value.get("name")
        if name is None and not nested:
            name = value.get("function", {}).get("name")
        return ToolChoice("named", str(name))
    return ToolChoice("auto")


def _chat_output(value: Any) -> OutputSpec:
    if isinstance(value, Mapping):
        if value.get("type") == "json_object":
            return OutputSpec(json_mode=True)
        if value.get("type") == "json_schema":
            spec = value.get("json_schema") or {}
            return OutputSpec(
                json_mode=True, schema=spec.get("schema") if isinstance(spec, Mapping) else None
            )
    return OutputSpec()


# ---------------------------------------------------------------------------- chat completions


def chat_completions(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    model = _model(body)
    messages = _require(body, "messages")
    if not isinstance(messages, list) or not messages:
        raise _bad(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty "
            "array instead.",
            param="messages",
            code="empty_array",
        )
    n = _positive_int(body, "n") or 1
    max_tokens = _positive_int(body, "max_completion_tokens") or _positive_int(body, "max_tokens")
    tools, choice = _chat_tools(body)
    system, convo, pieces = _chat_prompt(messages)
    pieces = [*_tool_prompt(body.get("tools")), *pieces]
    cached = ctx.engine.openai_cache.observe(model, pieces)
    params = _params(
        body, drop={"messages", "tools", "model", "stream", "stream_options"}, max_tokens=max_tokens
    )
    turn = ctx.turn(
        provider="openai",
        endpoint="chat.completions",
        model=model,
        system=system,
        messages=convo,
        params=params,
        tools=tools,
        request=body,
    )
    completions = [
        ctx.engine.complete(
            turn if i == 0 else _sample(turn, i),
            tools=tools,
            choice=choice,
            output=_chat_output(body.get("response_format")),
            max_tokens=max_tokens,
            stop=_stop_list(body.get("stop")),
            reasoning_budget=_reasoning_budget(model, body.get("reasoning_effort")),
        )
        for i in range(n)
    ]
    completion_tokens = sum(c.output_tokens for c in completions)
    usage = {
        "prompt_tokens": len(pieces),
        "completion_tokens": completion_tokens,
        "total_tokens": len(pieces) + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": sum(c.reasoning_tokens for c in completions),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    head = {
        "id": ctx.new_id("chatcmpl-", 29),
        "object": "chat.completion.chunk" if body.get("stream") else "chat.completion",
        "created": int(time.time()),
        "model": ctx.engine.served("openai", model),
    }
    call_ids = [[ctx.new_id("call_", 24) for _ in c.tool_calls] for c in completions]
    if body.get("stream"):
        return SseReply(_chat_stream(ctx, body, head, completions, call_ids, usage))
    choices = []
    for index, (completion, ids) in enumerate(zip(completions, call_ids, strict=True)):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if completion.tool_calls else completion.text,
            "refusal": None,
            "annotations": [],
        }
        if completion.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call_id, call in zip(ids, completion.tool_calls, strict=True)
            ]
        choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": None,
                "finish_reason": _FINISH[completion.finish],
            }
        )
    payload = {
        **head,
        "choices": choices,
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": _fingerprint(ctx, model),
    }
    return JsonReply(pretty(payload))


def _sample(turn: ChatTurn, index: int) -> ChatTurn:
    return replace(turn, sample=index)


def _chat_stream(
    ctx: CallContext,
    body: Mapping[str, Any],
    head: Mapping[str, Any],
    completions: Sequence[Completion],
    call_ids: Sequence[Sequence[str]],
    usage: Mapping[str, Any],
) -> list[bytes]:
    options = _mapping(body, "stream_options")
    include_usage = bool(options.get("include_usage"))
    obfuscate = options.get("include_obfuscation", True) is not False
    base = {**head, "service_tier": "default", "system_fingerprint": _fingerprint(ctx, str(body["model"]))}
    events: list[bytes] = []

    def emit(choices: list[dict[str, Any]], final_usage: Mapping[str, Any] | None = None) -> None:
        chunk: dict[str, Any] = {**base, "choices": choices}
        if include_usage:
            chunk["usage"] = final_usage
        if obfuscate:
            chunk["obfuscation"] = _obfuscation(f"{head['id']}:{len(events)}")
        events.append(sse(compact(chunk)))

    def choice(index: int, delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}]

    for index, (completion, ids) in enumerate(zip(completions, call_ids, strict=True)):
        if completion.tool_calls:
            for position, (call_id, call) in enumerate(zip(ids, completion.tool_calls, strict=True)):
                start = {
                    "index": position,
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }
                delta: dict[str, Any] = {"tool_calls": [start]}
                if position == 0:
                    delta = {"role": "assistant", "content": None, **delta, "refusal": None}
                emit(choice(index, delta))
                for piece in _json_pieces(call.arguments):
                    emit(
                        choice(index, {"tool_calls": [{"index": position, "function": {"arguments": piece}}]})
                    )
        else:
            emit(choice(index, {"role": "assistant", "content": "", "refusal": None}))
            for piece in tokenize(completion.text):
                emit(choice(index, {"content": piece}))
        emit(choice(index, {}, _FINISH[completion.finish]))
    if include_usage:
        emit([], usage)
    events.append(b"data: [DONE]\n\n")
    return events


def _json_pieces(arguments: str) -> list[str]:
    """Tool-call arguments as the API streams them: a few characters at a time."""
    return [arguments[i : i + 6] for i in range(0, len(arguments), 6)]


# ---------------------------------------------------------------------------- responses


def _responses_prompt(body: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]], list[str]]:
    system_parts: list[str] = []
    convo: list[tuple[str, str]] = []
    pieces: list[str] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        system_parts.append(instructions)
        pieces.extend(_framed("developer", tokenize(instructions)))
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type", "message")
        if kind == "message" or "role" in item:
            role = str(item.get("role", "user"))
            text, content_pieces = _content(item.get("content"))
            pieces.extend(_framed(role, content_pieces))
            if role in ("system", "developer"):
                system_parts.append(text)
            else:
                convo.append((role, text))
        elif kind == "function_call":
            call_text = f"{item.get('name', '')}({item.get('arguments', '')})"
            pieces.extend(_framed("assistant", tokenize(call_text)))
            convo.append(("assistant", f"[tool call: {call_text}]"))
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else _content(output)[0]
            pieces.extend(_framed("tool", tokenize(text)))
            convo.append(("tool", text))
    pieces.extend(_PRIMING)
    return "\n\n".join(p for p in system_parts if p), convo, pieces


def _responses_tools(body: Mapping[str, Any]) -> list[ToolSpec]:
    tools: list[ToolSpec] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, Mapping) and tool.get("type") == "function":
            tools.append(
                ToolSpec(
                    str(tool.get("name", "")), str(tool.get("description") or ""), tool.get("parameters")
                )
            )
    return tools


def _responses_output(body: Mapping[str, Any]) -> OutputSpec:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if isinstance(fmt, Mapping):
        if fmt.get("type") == "json_object":
            return OutputSpec(json_mode=True)
        if fmt.get("type") == "json_schema":
            return OutputSpec(json_mode=True, schema=fmt.get("schema"))
    return OutputSpec()


def responses(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    model = _model(body)
    if body.get("input") is None and body.get("previous_response_id") is None:
        raise _bad("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    max_tokens = _positive_int(body, "max_output_tokens")
    tools = _responses_tools(body)
    system, convo, pieces = _responses_prompt(body)
    pieces = [*_tool_prompt(body.get("tools")), *pieces]
    cached = ctx.engine.openai_cache.observe(model, pieces)
    reasoning = _mapping(body, "reasoning")
    effort = reasoning.get("effort")
    params = _params(body, drop={"input", "tools", "model", "stream", "instructions"}, max_tokens=max_tokens)
    turn = ctx.turn(
        provider="openai",
        endpoint="responses",
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
        choice=_tool_choice(body.get("tool_choice"), nested=False),
        output=_responses_output(body),
        max_tokens=max_tokens,
        reasoning_budget=_reasoning_budget(model, effort),
    )
    usage = {
        "input_tokens": len(pieces),
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion.output_tokens,
        "output_tokens_details": {"reasoning_tokens": completion.reasoning_tokens},
        "total_tokens": len(pieces) + completion.output_tokens,
    }
    incomplete = completion.finish == "length"
    output: list[dict[str, Any]] = []
    if completion.reasoning_tokens:
        output.append({"id": ctx.new_id("rs_", 50, HEX), "type": "reasoning", "summary": []})
    for call in completion.tool_calls:
        output.append(
            {
                "id": ctx.new_id("fc_", 50, HEX),
                "type": "function_call",
                "status": "completed",
                "arguments": call.arguments,
                "call_id": ctx.new_id("call_", 24),
                "name": call.name,
            }
        )
    if not completion.tool_calls and (completion.text or not incomplete):
        output.append(
            {
                "id": ctx.new_id("msg_", 50, HEX),
                "type": "message",
                "status": "incomplete" if incomplete else "completed",
                "content": [
                    {"type": "output_text", "annotations": [], "logprobs": [], "text": completion.text}
                ],
                "role": "assistant",
            }
        )
    created = int(time.time())
    final = _response_object(
        ctx.new_id("resp_", 50, HEX),
        body,
        ctx.engine.served("openai", model),
        created,
        status="incomplete" if incomplete else "completed",
        output=output,
        usage=usage,
    )
    if body.get("stream"):
        return SseReply(_responses_stream(final))
    return JsonReply(pretty(final, newline=False))


def _response_object(
    response_id: str,
    body: Mapping[str, Any],
    model: str,
    created: int,
    *,
    status: str,
    output: list[dict[str, Any]],
    usage: Mapping[str, Any] | None,
) -> dict[str, Any]:
    reasoning = _mapping(body, "reasoning")
    text = _mapping(body, "text")
    done = status in ("completed", "incomplete")
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "completed_at": created if done else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {
            "format": text.get("format", {"type": "text"}),
            "verbosity": text.get("verbosity", "medium"),
        },
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": list(body.get("tools") or []),
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _responses_stream(final: Mapping[str, Any]) -> list[bytes]:
    events: list[bytes] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(sse(compact({"type": kind, **fields, "sequence_number": len(events)}), kind))

    pending = {
        **final,
        "status": "in_progress",
        "completed_at": None,
        "incomplete_details": None,
        "output": [],
        "usage": None,
    }
    emit("response.created", response=pending)
    emit("response.in_progress", response=pending)
    for index, item in enumerate(final["output"]):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            part = {"type": "output_text", "annotations": [], "logprobs": []}
            emit(
                "response.output_item.added",
                item={**item, "status": "in_progress", "content": []},
                output_index=index,
            )
            emit(
                "response.content_part.added",
                content_index=0,
                item_id=item["id"],
                output_index=index,
                part={**part, "text": ""},
            )
            for piece in tokenize(text):
                emit(
                    "response.output_text.delta",
                    content_index=0,
                    delta=piece,
                    item_id=item["id"],
                    logprobs=[],
                    obfuscation=_obfuscation(f"{item['id']}:{len(events)}"),
                    output_index=index,
                )
            emit(
                "response.output_text.done",
                content_index=0,
                item_id=item["id"],
                logprobs=[],
                output_index=index,
                text=text,
            )
            emit(
                "response.content_part.done",
                content_index=0,
                item_id=item["id"],
                output_index=index,
                part={**part, "text": text},
            )
        elif item["type"] == "function_call":
            emit(
                "response.output_item.added",
                item={**item, "status": "in_progress", "arguments": ""},
                output_index=index,
            )
            for piece in _json_pieces(item["arguments"]):
                emit(
                    "response.function_call_arguments.delta",
                    delta=piece,
                    item_id=item["id"],
                    obfuscation=_obfuscation(f"{item['id']}:{len(events)}"),
                    output_index=index,
                )
            emit(
                "response.function_call_arguments.done",
                arguments=item["arguments"],
                item_id=item["id"],
                name=item["name"],
                output_index=index,
            )
        else:
            emit("response.output_item.added", item=item, output_index=index)
        emit("response.output_item.done", item=item, output_index=index)
    emit("response.incomplete" if final["status"] == "incomplete" else "response.completed", response=final)
    return events


# ---------------------------------------------------------------------------- embeddings, moderations, models


def _embedding_inputs(value: Any) -> list[tuple[str, int]]:
    """Each input as (text to embed, token count); token-id arrays are embedded by their ids."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _bad(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/"
            "api-reference.",
            param="input",
        )
    if all(isinstance(v, int) for v in value):
        value = [value]
    out: list[tuple[str, int]] = []
    for item in value:
        if isinstance(item, str) and item:
            out.append((item, count_tokens(item)))
        elif isinstance(item, list) and item and all(isinstance(v, int) for v in item):
            out.append(("tokens:" + ",".join(map(str, item)), len(item)))
        else:
            raise _bad(
                "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/"
                "api-reference.",
                param="input",
            )
    return out


def embeddings_endpoint(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    model = _model(body)
    inputs = _embedding_inputs(_require(body, "input"))
    native = catalog.EMBEDDING_DIMENSIONS.get(model, catalog.DEFAULT_EMBEDDING_DIMENSIONS)
    dimensions = _positive_int(body, "dimensions")
    if dimensions is not None and model == "text-embedding-ada-002":
        raise _bad("This model does not support specifying dimensions.", param="dimensions")
    size = min(dimensions or native, native)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise _bad(
            f"Invalid value for 'encoding_format': {encoding!r}. Supported values are: 'float' and 'base64'.",
            param="encoding_format",
        )
    data = []
    for index, (text, _) in enumerate(inputs):
        vector = embeddings.embed(text, size)
        value: Any = embeddings.to_base64(vector) if encoding == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": value})
    tokens = sum(n for _, n in inputs)
    payload = {
        "object": "list",
        "data": data,
        "model": ctx.engine.served("openai", model),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return JsonReply(pretty(payload))


def moderations(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    value = _require(body, "input")
    model = str(body.get("model") or "omni-moderation-latest")
    if isinstance(value, str):
        texts = [value]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        texts = list(value)
    elif isinstance(value, list):
        texts = ["\n".join(_part_text(p) for p in value)]
    else:
        raise _bad("'$.input' is invalid.", param="input")
    payload = {
        "id": ctx.new_id("modr-", 29),
        "model": ctx.engine.served("openai", model),
        "results": [moderation.classify(text) for text in texts],
    }
    return JsonReply(pretty(payload, newline=False))


def list_models(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    return JsonReply(pretty({"object": "list", "data": catalog.openai_models()}))


def retrieve_model(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    name = ctx.path.rsplit("/", 1)[-1]
    for model in catalog.openai_models():
        if model["id"] == name:
            return JsonReply(pretty(model))
    raise ApiError(
        404,
        "invalid_request_error",
        f"The model '{name}' does not exist or you do not have access to it.",
        code="model_not_found",
    )


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/chat/completions"): chat_completions,
    ("POST", "/v1/responses"): responses,
    ("POST", "/v1/embeddings"): embeddings_endpoint,
    ("POST", "/v1/moderations"): moderations,
    ("POST", "/v1/audio/transcriptions"): audio.transcriptions,
    ("POST", "/v1/audio/translations"): audio.translations,
    ("GET", "/v1/models"): list_models,
}
PREFIX_ROUTES: dict[tuple[str, str], Handler] = {("GET", "/v1/models/"): retrieve_model}
