"""The Gemini API (Google AI Studio, `generativelanguage.googleapis.com`) wire format.

`POST /v1beta/models/{model}:generateContent` answers a pretty-printed JSON
object; `:streamGenerateContent?alt=sse` answers SSE whose events are single
lines of JSON separated by CRLF pairs; `:streamGenerateContent` without
`alt=sse` streams one JSON array (`[{...}\\n,\\r\\n{...}\\n]`) as it goes.
`:countTokens` counts a prompt. The key travels in `x-goog-api-key` (or the
`key` query parameter).

Usage is `usageMetadata`: `promptTokenCount` (cached tokens included, also
reported as `cachedContentTokenCount` when the implicit cache hits),
`candidatesTokenCount` (visible answer), `thoughtsTokenCount` (thinking, billed
as output but not part of the candidates count) and `totalTokenCount`, their
sum. Every streamed chunk carries usage; the last one has the final counts and
the `finishReason`. Gemini 2.5+ models think by default, and thinking counts
against `maxOutputTokens`, as on the real API.

Errors are `{"error": {"code", "message", "status"}}` with gRPC status names;
a 429 carries a `RetryInfo` detail (and `retry-after` when the fault sets one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .engine import CallContext, Completion, OutputSpec, ToolChoice, ToolSpec
from .tokens import count_json_tokens, tokenize
from .wire import ALNUM, ApiError, JsonReply, Reply, SseReply

Handler = Callable[[CallContext, Mapping[str, Any]], Reply]

PATH = re.compile(r"^/(?:v1|v1beta|v1alpha)/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$")

_IMAGE_TOKENS = 258
_DEFAULT_THINKING = 64
"""Hidden thinking tokens a thinking model spends when the request sets no budget (dynamic thinking)."""
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_FINISH = {"stop": "STOP", "stop_sequence": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}


def is_gemini_path(path: str) -> bool:
    return PATH.match(path) is not None


# ---------------------------------------------------------------------------- errors and headers


def error_payload(error: ApiError) -> bytes:
    body: dict[str, Any] = {
        "code": error.status,
        "message": error.message,
        "status": error.error_type,
    }
    if error.details:
        body["details"] = error.details
    return _pretty({"error": body})


def error_headers() -> dict[str, str]:
    return {"content-type": "application/json; charset=UTF-8", "vary": "Origin, X-Origin, Referer"}


def has_key(headers: Mapping[str, str], query: Mapping[str, Sequence[str]]) -> bool:
    key = headers.get("x-goog-api-key", "").strip() or "".join(query.get("key", [])).strip()
    bearer = headers.get("authorization", "")
    return bool(key) or (bearer.lower().startswith("bearer ") and bool(bearer[7:].strip()))


def missing_key_error() -> ApiError:
    return ApiError(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API.",
    )


def invalid_json_error() -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.")


def not_found_error(method: str, path: str) -> ApiError:
    match = PATH.match(path)
    if match is not None:
        return ApiError(
            404,
            "NOT_FOUND",
            f"models/{match['model']} is not found for API version v1beta, or is not supported for "
            f"{match['method']}. Call ListModels to see the list of available models and their supported "
            "methods.",
        )
    return ApiError(404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")


def status_error(status: int, model: str | None) -> ApiError:
    """An injected failure, in the shape the real API uses for `status`."""
    messages = {
        400: "Request contains an invalid argument.",
        401: "Request had invalid authentication credentials.",
        403: "The caller does not have permission",
        404: f"models/{model or 'gemini-2.5-flash'} is not found for API version v1beta.",
        429: "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
        500: "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
        503: "The model is overloaded. Please try again later.",
        504: "The request timed out. Please try again.",
    }
    name = _STATUS_NAMES.get(status, "INVALID_ARGUMENT" if status < 500 else "INTERNAL")
    return ApiError(status, name, messages.get(status, "Request failed (simulated)."))


def add_retry_after(error: ApiError, seconds: float) -> None:
    """A 429's `RetryInfo.retryDelay` detail, as Google sends it, plus a `retry-after` header."""
    text = str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"
    error.details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{text}s"})


def success_headers(processing_ms: int) -> dict[str, str]:
    return {
        "vary": "Origin, X-Origin, Referer",
        "server": "scaffolding on HTTPServer2",
        "server-timing": f"gfet4t7; dur={processing_ms}",
        "x-xss-protection": "0",
        "x-frame-options": "SAMEORIGIN",
        "x-content-type-options": "nosniff",
    }


def _bad(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


def _get(mapping: Mapping[str, Any], name: str) -> Any:
    """A field by its camelCase name or its snake_case twin: the API's JSON parser accepts both, and
    google-genai sends some nested fields (e.g. `thinking_budget`) in snake case."""
    if name in mapping:
        return mapping[name]
    return mapping.get(re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), name))


def _pretty(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode() + b"\n"


def _line(value: Any) -> str:
    """The SSE data style: one line, `": "` after keys but no space after commas."""
    return json.dumps(value, separators=(",", ": "), ensure_ascii=False)


# ---------------------------------------------------------------------------- prompt reading


def _part_text(part: Mapping[str, Any]) -> str:
    if isinstance(part.get("text"), str):
        return str(part["text"])
    call = _get(part, "functionCall")
    if isinstance(call, Mapping):
        return f"[tool call: {call.get('name', '')}({json.dumps(call.get('args', {}))})]"
    response = _get(part, "functionResponse")
    if isinstance(response, Mapping):
        return json.dumps(response.get("response", {}), ensure_ascii=False)
    return ""


def _part_tokens(part: Mapping[str, Any]) -> list[str]:
    if _get(part, "inlineData") is not None or _get(part, "fileData") is not None:
        return ["<image>"] * _IMAGE_TOKENS
    if part.get("thought") is True:
        return []  # earlier turns' thoughts are not sent back to the model
    return tokenize(_part_text(part))


def _system(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    instruction = _get(body, "systemInstruction")
    if instruction is None:
        return "", []
    if isinstance(instruction, str):
        return instruction, tokenize(instruction)
    if not isinstance(instruction, Mapping) or not isinstance(instruction.get("parts"), list):
        raise _bad(
            "Invalid value at 'system_instruction' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)"
        )
    texts = [_part_text(p) for p in instruction["parts"] if isinstance(p, Mapping)]
    text = "\n".join(t for t in texts if t)
    return text, tokenize(text)


def _contents(body: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise _bad("* GenerateContentRequest.contents: contents is not specified\n")
    convo: list[tuple[str, str]] = []
    pieces: list[str] = []
    for index, content in enumerate(contents):
        if not isinstance(content, Mapping) or not isinstance(content.get("parts"), list):
            raise _bad(
                f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty.\n"
            )
        role = content.get("role") or "user"
        if role not in ("user", "model", "function"):
            raise _bad(f"Please use a valid role: user, model. (got {role!r})")
        parts = [p for p in content["parts"] if isinstance(p, Mapping)]
        pieces.extend(["<start_of_turn>", str(role)])
        for part in parts:
            pieces.extend(_part_tokens(part))
        responses = [p for p in parts if isinstance(_get(p, "functionResponse"), Mapping)]
        if responses:
            convo.extend(("tool", _part_text(p)) for p in responses)
            continue
        text = "\n".join(t for t in (_part_text(p) for p in parts if p.get("thought") is not True) if t)
        convo.append(("assistant" if role == "model" else "user", text))
    return convo, pieces


def _tools(body: Mapping[str, Any]) -> tuple[list[ToolSpec], ToolChoice, list[str]]:
    tools: list[ToolSpec] = []
    pieces: list[str] = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, Mapping):
            continue
        for declaration in _get(tool, "functionDeclarations") or []:
            if not isinstance(declaration, Mapping) or not declaration.get("name"):
                continue
            schema = _get(declaration, "parametersJsonSchema") or declaration.get("parameters")
            tools.append(
                ToolSpec(
                    str(declaration["name"]),
                    str(declaration.get("description") or ""),
                    _json_schema(schema) if isinstance(schema, Mapping) else None,
                )
            )
            pieces.extend(["<tool>"] * count_json_tokens(dict(declaration)))
    config = _get(body, "toolConfig") or {}
    calling = _get(config, "functionCallingConfig") if isinstance(config, Mapping) else None
    calling = calling if isinstance(calling, Mapping) else {}
    mode = str(calling.get("mode") or "AUTO").upper()
    allowed = _get(calling, "allowedFunctionNames")
    choice = ToolChoice("auto")
    if mode == "NONE":
        choice = ToolChoice("none")
    elif mode == "ANY":
        if isinstance(allowed, list) and len(allowed) == 1:
            choice = ToolChoice("named", str(allowed[0]))
        else:
            choice = ToolChoice("required")
    elif mode == "VALIDATED" and isinstance(allowed, list):
        # Calls or text, as AUTO (with the calls held to their schemas); a call only to an allowed function.
        tools = [t for t in tools if t.name in {str(a) for a in allowed}]
    return tools, choice, pieces


def _json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Gemini's OpenAPI-style schema (`type: OBJECT`) as JSON Schema (`type: object`)."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {k: _json_schema(v) if isinstance(v, Mapping) else v for k, v in value.items()}
        elif key == "items" and isinstance(value, Mapping):
            out[key] = _json_schema(value)
        else:
            out[key] = value
    return out


def _generation_config(body: Mapping[str, Any]) -> Mapping[str, Any]:
    config = _get(body, "generationConfig") or {}
    if not isinstance(config, Mapping):
        raise _bad("Invalid value at 'generation_config'")
    return config


def _output(config: Mapping[str, Any]) -> OutputSpec:
    if _get(config, "responseMimeType") != "application/json":
        return OutputSpec()
    schema = _get(config, "responseJsonSchema") or _get(config, "responseSchema")
    return OutputSpec(json_mode=True, schema=_json_schema(schema) if isinstance(schema, Mapping) else None)


def thinks(model: str) -> bool:
    """Gemini 2.5 and later think before answering unless told not to."""
    match = re.search(r"gemini-(\d+(?:\.\d+)?)", model)
    return match is not None and float(match.group(1)) >= 2.5


def _thinking(model: str, config: Mapping[str, Any]) -> tuple[int, bool]:
    """(thinking budget, whether thoughts are returned)."""
    thinking = _get(config, "thinkingConfig")
    thinking = thinking if isinstance(thinking, Mapping) else {}
    include = _get(thinking, "includeThoughts") is True
    if not thinks(model):
        return 0, False
    budget = _get(thinking, "thinkingBudget")
    if isinstance(budget, bool) or (budget is not None and not isinstance(budget, int)):
        raise _bad("Invalid value at 'generation_config.thinking_config.thinking_budget' (TYPE_INT32)")
    if budget == 0:
        return 0, False
    if budget is None or budget < 0:
        return _DEFAULT_THINKING, include
    return budget, include


# ---------------------------------------------------------------------------- endpoints


def generate_content(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    match = PATH.match(ctx.path)
    assert match is not None
    model = match["model"]
    streaming = match["method"] == "streamGenerateContent"
    config = _generation_config(body)
    system, system_pieces = _system(body)
    convo, pieces = _contents(body)
    tools, choice, tool_pieces = _tools(body)
    prompt = [*tool_pieces, *system_pieces, *pieces, "<start_of_turn>", "model"]
    cached = ctx.engine.gemini_cache.observe(model, prompt)
    max_tokens = _get(config, "maxOutputTokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise _bad("Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32)")
    budget, include_thoughts = _thinking(model, config)
    stop = [s for s in _get(config, "stopSequences") or [] if isinstance(s, str)]
    params = {k: v for k, v in config.items() if k not in ("thinkingConfig", "thinking_config")}
    turn = ctx.turn(
        provider="gemini",
        endpoint="generateContent",
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
        output=_output(config),
        max_tokens=max_tokens,
        stop=stop,
        reasoning_budget=budget,
        thinking=include_thoughts,
    )
    usage = _usage(len(prompt), cached, completion)
    response_id = ctx.new_id("", 22, ALNUM)
    if streaming:
        chunks = _chunks(ctx.engine.served("gemini", model), response_id, completion, usage)
        if "sse" in ctx.query.get("alt", []):
            return SseReply([f"data: {_line(c)}\r\n\r\n".encode() for c in chunks])
        pretty = [json.dumps(c, indent=2, ensure_ascii=False) for c in chunks]
        pieces_out = ["[" + pretty[0]] + [f"\n,\r\n{p}" for p in pretty[1:]]
        pieces_out[-1] += "\n]"
        return SseReply([p.encode() for p in pieces_out], content_type="application/json; charset=UTF-8")
    candidate = {
        "content": {"parts": _parts(completion), "role": "model"},
        "finishReason": _FINISH[completion.finish],
        "index": 0,
    }
    payload = {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": ctx.engine.served("gemini", model),
        "responseId": response_id,
    }
    return JsonReply(_pretty(payload), headers={"content-type": "application/json; charset=UTF-8"})


def _parts(completion: Completion) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if completion.reasoning_text:
        parts.append({"text": completion.reasoning_text, "thought": True})
    for call in completion.tool_calls:
        parts.append({"functionCall": {"name": call.name, "args": json.loads(call.arguments)}})
    if not completion.tool_calls:
        parts.append({"text": completion.text})
    return parts


def _usage(prompt_tokens: int, cached: int, completion: Completion) -> dict[str, Any]:
    candidates = completion.text_tokens + completion.tool_tokens
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt_tokens + candidates + completion.reasoning_tokens,
    }
    if cached:
        usage["cachedContentTokenCount"] = cached
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt_tokens}]
    if cached:
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    if completion.reasoning_tokens:
        usage["thoughtsTokenCount"] = completion.reasoning_tokens
    return usage


def _chunks(
    model: str, response_id: str, completion: Completion, usage: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Streamed chunks: thoughts, then text in groups of tokens (function calls arrive whole);
    each carries the usage so far, the last the final usage and the finish reason."""
    groups: list[dict[str, Any]] = []
    if completion.reasoning_text:
        groups.append({"text": completion.reasoning_text, "thought": True})
    if completion.tool_calls:
        groups.extend(
            {"functionCall": {"name": c.name, "args": json.loads(c.arguments)}} for c in completion.tool_calls
        )
    else:
        pieces = tokenize(completion.text)
        # A short first chunk, then several tokens per chunk.
        cuts = [0, *range(2, len(pieces), 8)] if len(pieces) > 2 else [0]
        texts = ["".join(pieces[a:b]) for a, b in zip(cuts, [*cuts[1:], len(pieces)], strict=True)] or [""]
        groups.extend({"text": text} for text in texts)
    prompt = usage["promptTokenCount"]
    thoughts = usage.get("thoughtsTokenCount", 0)
    chunks: list[dict[str, Any]] = []
    for index, part in enumerate(groups):
        last = index == len(groups) - 1
        candidate: dict[str, Any] = {"content": {"parts": [part], "role": "model"}, "index": 0}
        if last:
            candidate["finishReason"] = _FINISH[completion.finish]
            chunk_usage: Mapping[str, Any] = usage
        else:
            chunk_usage = {"promptTokenCount": prompt, "totalTokenCount": prompt + thoughts}
            if thoughts:
                chunk_usage = {**chunk_usage, "thoughtsTokenCount": thoughts}
        chunks.append(
            {
                "candidates": [candidate],
                "usageMetadata": dict(chunk_usage),
                "modelVersion": model,
                "responseId": response_id,
            }
        )
    return chunks


def count_tokens(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    request = _get(body, "generateContentRequest")
    source = request if isinstance(request, Mapping) else body
    _, system_pieces = _system(source)
    _, pieces = _contents(source)
    total = len(system_pieces) + len(pieces)
    payload = {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}
    return JsonReply(_pretty(payload), headers={"content-type": "application/json; charset=UTF-8"})


_METHODS: dict[str, Handler] = {
    "generateContent": generate_content,
    "streamGenerateContent": generate_content,
    "countTokens": count_tokens,
}


def route(method: str, path: str) -> Handler | None:
    match = PATH.match(path)
    if method != "POST" or match is None:
        return None
    return _METHODS.get(match["method"])
