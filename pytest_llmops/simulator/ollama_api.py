"""Ollama's native API (`ollama serve`, port 11434) wire format, as the `ollama` Python client speaks it.

`POST /api/chat` and `POST /api/generate` stream by default: newline-delimited
JSON (`application/x-ndjson`, chunked, no content-length), one compact object
per line and per token, the last with `"done": true`, the `done_reason` and the
counts and durations; `"stream": false` answers the same final object with the
whole text (`application/json; charset=utf-8`). `POST /api/embed` (and the
legacy `/api/embeddings`), `GET /api/tags`, `POST /api/show`, `GET /api/version`
and `GET /api/ps` answer JSON. No key: a local server has none.

Usage is `prompt_eval_count` (prompt tokens) and `eval_count` (generated
tokens); durations are nanoseconds (`total_duration`, `load_duration`,
`prompt_eval_duration`, `eval_duration`). Sampling settings travel in
`options` (`num_predict` caps the answer, `temperature`, `stop`, `seed`);
`format` is `"json"` or a JSON schema; tool calls come back whole in
`message.tool_calls` with their arguments as an object.

Errors are `{"error": "..."}`: an unknown model is a 404 naming it
(`model "x" not found, try pulling it first`), a bad request a 400 with Go's
JSON decoder message or the server's check, an unknown route gin's plain-text
`404 page not found`. Only the models in `MODELS` are "pulled".
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import embeddings
from .engine import CallContext, Completion, OutputSpec, ToolChoice, ToolSpec
from .tokens import count_json_tokens, count_tokens, tokenize
from .wire import ApiError, JsonReply, Reply, SseReply

Handler = Callable[[CallContext, Mapping[str, Any]], Reply]

NDJSON = "application/x-ndjson"
JSON_TYPE = "application/json; charset=utf-8"
VERSION = "0.12.6"
_TOKEN_NS = 16_500_000
"""Nanoseconds the simulated model takes per generated token (reported in `eval_duration`)."""
PAGE_NOT_FOUND = "page_not_found"
"""`ApiError.error_type` of an unknown route: gin answers it in plain text, not JSON."""


@dataclass(frozen=True, slots=True)
class LocalModel:
    family: str
    parameter_size: str
    quantization: str
    size: int
    capabilities: tuple[str, ...]
    embedding_length: int = 4096
    context_length: int = 131072


MODELS: dict[str, LocalModel] = {
    "llama3.2:latest": LocalModel("llama", "3.2B", "Q4_K_M", 2019393189, ("completion", "tools"), 3072),
    "llama3.1:8b": LocalModel("llama", "8.0B", "Q4_K_M", 4920753328, ("completion", "tools")),
    "llama3:latest": LocalModel("llama", "8.0B", "Q4_0", 4661224676, ("completion",), context_length=8192),
    "mistral:latest": LocalModel("llama", "7.2B", "Q4_K_M", 4113301824, ("completion", "tools"), 4096, 32768),
    "qwen3:latest": LocalModel("qwen3", "8.2B", "Q4_K_M", 5225376047, ("completion", "tools", "thinking")),
    "gemma3:latest": LocalModel("gemma3", "4.3B", "Q4_K_M", 3338801804, ("completion", "vision"), 2560),
    "deepseek-r1:latest": LocalModel("qwen2", "8.2B", "Q4_K_M", 5225376047, ("completion", "thinking"), 3584),
    "nomic-embed-text:latest": LocalModel("nomic-bert", "137M", "F16", 274302450, ("embedding",), 768, 2048),
    "all-minilm:latest": LocalModel("bert", "23M", "F16", 45960996, ("embedding",), 384, 512),
}
"""The models this server has "pulled", by their full `name:tag`; a name without a tag means `:latest`."""

_MODIFIED_AT = "2025-09-01T10:00:00.000000000Z"


def is_ollama_path(path: str) -> bool:
    """Everything under `/api/` is Ollama's (an unknown route gets its `404 page not found`)."""
    return path.startswith("/api/")


# ---------------------------------------------------------------------------- errors and headers


def error_payload(error: ApiError) -> bytes:
    if error.error_type == PAGE_NOT_FOUND:
        return error.message.encode()
    return _go_json({"error": error.message}).encode()


def error_headers(error: ApiError) -> dict[str, str]:
    plain = error.error_type == PAGE_NOT_FOUND
    return {"content-type": "text/plain" if plain else JSON_TYPE}


def has_key(headers: Mapping[str, str], query: Mapping[str, Any]) -> bool:
    return True  # a local Ollama takes no key


def missing_key_error() -> ApiError:  # never raised: `has_key` always holds
    return ApiError(401, "unauthorized", "unauthorized")


def not_found_error(method: str, path: str) -> ApiError:
    return ApiError(404, PAGE_NOT_FOUND, "404 page not found")


def invalid_json_error(body: bytes) -> ApiError:
    """What the server's Go JSON decoder says about a body that is not a JSON object."""
    if not body.strip():
        return _bad("missing request body")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        first = body.lstrip()[:1].decode("latin-1")
        return _bad(f"invalid character '{first}' looking for beginning of value")
    kind = {list: "array", str: "string", bool: "bool", int: "number", float: "number"}.get(
        type(value), "null"
    )
    return _bad(f"json: cannot unmarshal {kind} into Go value of type api.Request")


def status_error(status: int, model: str | None) -> ApiError:
    """An injected failure, as a local Ollama (or its cloud) words it."""
    messages = {
        400: "invalid request",
        401: "unauthorized",
        403: "forbidden",
        404: model_not_found(model or "llama3.2").message,
        429: "too many requests, please try again later",
        500: "an error was encountered while running the model: unexpected EOF",
        502: "bad gateway",
        503: "server busy, please try again.  maximum pending requests exceeded",
        504: "gateway timeout",
    }
    return ApiError(status, "error", messages.get(status, "request failed (simulated)"))


def model_not_found(model: str) -> ApiError:
    return ApiError(404, "error", f"model {json.dumps(model)} not found, try pulling it first")


def _bad(message: str) -> ApiError:
    return ApiError(400, "error", message)


def _go_json(value: Any) -> str:
    """Go's `json.Marshal`: compact, non-ASCII kept, `<`, `>` and `&` escaped (they occur only in strings)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _now(later_ns: int = 0) -> str:
    """Go's RFC 3339 with nanoseconds, trailing zeros trimmed (`later_ns` from now)."""
    ns = time.time_ns() + later_ns
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    digits = f"{fraction:09d}".rstrip("0")
    return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"


# ---------------------------------------------------------------------------- requests


def _find(name: Any) -> tuple[str, LocalModel]:
    """The pulled model a request names, or the 400/404 the server answers."""
    if not isinstance(name, str) or not name.strip():
        raise _bad("model is required")
    full = name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"
    found = MODELS.get(full.lower())
    if found is None:
        raise model_not_found(name)
    return full, found


def _options(body: Mapping[str, Any]) -> Mapping[str, Any]:
    options = body.get("options")
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise _bad("json: cannot unmarshal into Go struct field of type map[string]interface {}")
    for key, kind in (("num_predict", int), ("seed", int), ("num_ctx", int)):
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise _bad(f"option {json.dumps(key)} must be of type {'integer' if kind is int else 'float'}")
    temperature = options.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise _bad('option "temperature" must be of type float')
    return options


def _output(body: Mapping[str, Any]) -> OutputSpec:
    fmt = body.get("format")
    if fmt in (None, ""):
        return OutputSpec()
    if fmt == "json":
        return OutputSpec(json_mode=True)
    if isinstance(fmt, Mapping):
        return OutputSpec(json_mode=True, schema=fmt)
    raise _bad(f'invalid format: {json.dumps(fmt)}; expected "json" or a valid JSON schema')


def _stop(options: Mapping[str, Any]) -> list[str]:
    stop = options.get("stop")
    if isinstance(stop, str):
        return [stop]
    return [s for s in stop if isinstance(s, str)] if isinstance(stop, list) else []


def _max_tokens(options: Mapping[str, Any]) -> int | None:
    value = options.get("num_predict")
    return int(value) if isinstance(value, int | float) and value > 0 else None  # -1, -2: no cap


def _thinking(full: str, model: LocalModel, body: Mapping[str, Any]) -> bool:
    think = body.get("think")
    wants = think is not None and think is not False
    if "thinking" not in model.capabilities:
        if wants:
            raise _bad(f"{json.dumps(full.removesuffix(':latest'))} does not support thinking")
        return False
    return think is None or wants  # a thinking model thinks unless told not to


def _stream(body: Mapping[str, Any]) -> bool:
    return body.get("stream") is not False


def _tools(body: Mapping[str, Any], full: str, model: LocalModel) -> tuple[list[ToolSpec], int]:
    raw = body.get("tools")
    if not raw:
        return [], 0
    if not isinstance(raw, list):
        raise _bad("json: cannot unmarshal into Go struct field ChatRequest.tools of type api.Tools")
    if "tools" not in model.capabilities:
        raise _bad(f"registry.ollama.ai/library/{full} does not support tools")
    specs: list[ToolSpec] = []
    for tool in raw:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not function.get("name"):
            continue
        parameters = function.get("parameters")
        specs.append(
            ToolSpec(
                str(function["name"]),
                str(function.get("description") or ""),
                parameters if isinstance(parameters, Mapping) else None,
            )
        )
    return specs, count_json_tokens(raw)


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            arguments = json.dumps(function.get("arguments", {}), ensure_ascii=False)
            text += f"[tool call: {function.get('name', '')}({arguments})]"
    return text


def _conversation(body: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]], int]:
    """(system text, (role, text) turns, prompt tokens as the chat template lays them out)."""
    raw = body.get("messages")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise _bad("json: cannot unmarshal into Go struct field ChatRequest.messages of type []api.Message")
    system: list[str] = []
    turns: list[tuple[str, str]] = []
    tokens = 0
    for message in raw:
        if not isinstance(message, Mapping):
            raise _bad("json: cannot unmarshal into Go struct field ChatRequest.messages of type api.Message")
        role = str(message.get("role") or "")
        text = _message_text(message)
        images = message.get("images")
        tokens += 4 + count_tokens(text) + (768 * len(images) if isinstance(images, list) else 0)
        if role == "system":
            system.append(text)
        else:
            turns.append((role if role in ("user", "assistant", "tool") else "user", text))
    return "\n".join(system), turns, tokens + 3


# ---------------------------------------------------------------------------- answers


def _metrics(prompt_tokens: int, completion: Completion, load_ns: int) -> dict[str, int]:
    """Counts and plausible durations (nanoseconds) for the final object."""
    generated = completion.output_tokens
    prompt_ns = 40_000_000 + prompt_tokens * 1_100_000
    eval_ns = generated * _TOKEN_NS
    return {
        "total_duration": load_ns + prompt_ns + eval_ns + 1_250_000,
        "load_duration": load_ns,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": prompt_ns,
        "eval_count": generated,
        "eval_duration": eval_ns,
    }


def _done_reason(completion: Completion) -> str:
    return "length" if completion.finish == "length" else "stop"


def _tool_calls(ctx: CallContext, completion: Completion) -> list[dict[str, Any]]:
    return [
        {
            "id": ctx.new_id("call_", 8, "0123456789abcdefghijklmnopqrstuvwxyz"),
            "function": {"index": index, "name": call.name, "arguments": json.loads(call.arguments)},
        }
        for index, call in enumerate(completion.tool_calls)
    ]


def _lines(objects: list[dict[str, Any]]) -> SseReply:
    return SseReply([(_go_json(o) + "\n").encode() for o in objects], content_type=NDJSON)


def _json(value: Mapping[str, Any]) -> JsonReply:
    return JsonReply(_go_json(value).encode(), headers={"content-type": JSON_TYPE})


def _complete(
    ctx: CallContext,
    body: Mapping[str, Any],
    *,
    endpoint: str,
    full: str,
    model: LocalModel,
    system: str,
    turns: list[tuple[str, str]],
    tools: list[ToolSpec],
) -> Completion:
    options = _options(body)
    thinking = _thinking(full, model, body)
    turn = ctx.turn(
        provider="ollama",
        endpoint=endpoint,
        model=str(body.get("model")),
        system=system,
        messages=turns,
        params=options,
        tools=tools,
        request=body,
    )
    return ctx.engine.complete(
        turn,
        tools=tools,
        choice=ToolChoice("auto"),
        output=_output(body),
        max_tokens=_max_tokens(options),
        stop=_stop(options),
        reasoning_budget=96 if thinking else 0,
        thinking=thinking,
    )


def chat(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    name = body.get("model")
    full, model = _find(name)
    if "completion" not in model.capabilities:
        raise _bad(f"{json.dumps(name)} does not support chat")
    system, turns, prompt_tokens = _conversation(body)
    tools, tool_tokens = _tools(body, full, model)
    _output(body)
    _thinking(full, model, body)
    head = {"model": name, "created_at": _now()}
    if not turns and not system:  # an empty chat loads the model
        done = {**head, "message": {"role": "assistant", "content": ""}, "done_reason": "load", "done": True}
        return _lines([done]) if _stream(body) else _json(done)
    completion = _complete(
        ctx, body, endpoint="chat", full=full, model=model, system=system, turns=turns, tools=tools
    )
    metrics = _metrics(prompt_tokens + tool_tokens, completion, 24_000_000 + ctx.seq % 7 * 1_000_000)
    calls = _tool_calls(ctx, completion)
    if not _stream(body):
        message: dict[str, Any] = {"role": "assistant", "content": completion.text}
        if completion.reasoning_text:
            message["thinking"] = completion.reasoning_text
        if calls:
            message["tool_calls"] = calls
        return _json(
            {**head, "message": message, "done_reason": _done_reason(completion), "done": True, **metrics}
        )
    lines: list[dict[str, Any]] = []
    for piece in tokenize(completion.reasoning_text):
        lines.append(
            {
                **head,
                "message": {"role": "assistant", "content": "", "thinking": piece},
                "done": False,
            }
        )
    for piece in tokenize(completion.text):
        lines.append({**head, "message": {"role": "assistant", "content": piece}, "done": False})
    if calls:
        lines.append(
            {
                **head,
                "message": {"role": "assistant", "content": "", "tool_calls": calls},
                "done": False,
            }
        )
    final = {"role": "assistant", "content": ""}
    lines.append({**head, "message": final, "done_reason": _done_reason(completion), "done": True, **metrics})
    return _lines(_stamped(lines))


def generate(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    name = body.get("model")
    full, model = _find(name)
    if "completion" not in model.capabilities:
        raise _bad(f"{json.dumps(name)} does not support generate")
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise _bad("json: cannot unmarshal into Go struct field GenerateRequest.prompt of type string")
    _output(body)
    _thinking(full, model, body)
    head = {"model": name, "created_at": _now()}
    if not prompt:  # an empty prompt loads the model
        done = {**head, "response": "", "done": True, "done_reason": "load"}
        return _lines([done]) if _stream(body) else _json(done)
    system = body.get("system") if isinstance(body.get("system"), str) else ""
    completion = _complete(
        ctx,
        body,
        endpoint="generate",
        full=full,
        model=model,
        system=str(system),
        turns=[("user", prompt)],
        tools=[],
    )
    prompt_tokens = 3 + count_tokens(prompt) + (4 + count_tokens(str(system)) if system else 0)
    metrics = _metrics(prompt_tokens, completion, 24_000_000 + ctx.seq % 7 * 1_000_000)
    context = _context(f"{system}\n{prompt}", completion.reasoning_text + completion.text, prompt_tokens)
    final: dict[str, Any] = {
        "done": True,
        "done_reason": _done_reason(completion),
        "context": context,
        **metrics,
    }
    if not _stream(body):
        answer: dict[str, Any] = {**head, "response": completion.text}
        if completion.reasoning_text:
            answer["thinking"] = completion.reasoning_text
        return _json({**answer, **final})
    lines: list[dict[str, Any]] = [
        {**head, "response": "", "thinking": piece, "done": False}
        for piece in tokenize(completion.reasoning_text)
    ]
    lines.extend({**head, "response": piece, "done": False} for piece in tokenize(completion.text))
    lines.append({**head, "response": "", **final})
    return _lines(_stamped(lines))


def _stamped(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stream's lines stamped a token's generation time apart, as a model writes them."""
    for index, line in enumerate(lines):
        line["created_at"] = _now(index * _TOKEN_NS)
    return lines


def _context(prompt: str, answer: str, prompt_tokens: int) -> list[int]:
    """`/api/generate`'s `context`: the conversation's token ids (stand-ins derived from the pieces)."""
    pieces = [*tokenize(prompt)[:prompt_tokens], *tokenize(answer)]
    return [int.from_bytes(hashlib.sha256(p.encode()).digest()[:4], "big") % 128000 for p in pieces]


def _float32(value: float) -> float:
    """The shortest decimal that reads back as the same float32, as Go prints a `float32`."""
    packed = struct.pack("<f", value)
    for digits in range(6, 10):
        short = float(f"{value:.{digits}g}")
        if struct.pack("<f", short) == packed:
            return short
    return value


def embed(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    name = body.get("model")
    _, model = _find(name)
    raw = body.get("input")
    if isinstance(raw, str):
        texts = [raw] if raw else []
    elif isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        texts = list(raw)
    elif raw is None:
        texts = []
    else:
        raise _bad("invalid input type")
    dimensions = body.get("dimensions")
    size = model.embedding_length
    if isinstance(dimensions, int) and not isinstance(dimensions, bool) and 0 < dimensions < size:
        size = dimensions
    vectors = [[_float32(v) for v in embeddings.embed(text, size)] for text in texts]
    tokens = sum(count_tokens(t) + 2 for t in texts)
    load_ns = 8_000_000 + ctx.seq % 5 * 1_000_000
    return _json(
        {
            "model": name,
            "embeddings": vectors,
            "total_duration": load_ns + 5_000_000 + tokens * 250_000,
            "load_duration": load_ns,
            "prompt_eval_count": tokens,
        }
    )


def embeddings_legacy(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    """`/api/embeddings` (deprecated): one `prompt`, one float64 `embedding`, no counts."""
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise _bad("model is required")
    _, model = _find(name)
    prompt = body.get("prompt")
    if not prompt:
        return _json({"embedding": []})
    return _json({"embedding": embeddings.embed(str(prompt), model.embedding_length)})


def _details(model: LocalModel) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": model.family,
        "families": [model.family],
        "parameter_size": model.parameter_size,
        "quantization_level": model.quantization,
    }


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def tags(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    models = [
        {
            "name": name,
            "model": name,
            "modified_at": _MODIFIED_AT,
            "size": model.size,
            "digest": _digest(name),
            "details": _details(model),
        }
        for name, model in MODELS.items()
    ]
    return _json({"models": models})


def show(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    name = body.get("model") or body.get("name")
    if not isinstance(name, str) or not name:
        raise _bad("model is required")
    try:
        full, model = _find(name)
    except ApiError:
        raise ApiError(404, "error", f"model '{name}' not found") from None
    parameters = model.parameter_size
    count = int(float(parameters[:-1]) * (1e9 if parameters.endswith("B") else 1e6))
    info = {
        "general.architecture": model.family,
        "general.parameter_count": count,
        f"{model.family}.context_length": model.context_length,
        f"{model.family}.embedding_length": model.embedding_length,
    }
    return _json(
        {
            "license": "",
            "modelfile": f'# Modelfile generated by "ollama show"\nFROM {full}\n',
            "parameters": 'stop                           "<|eot_id|>"',
            "template": "{{ .Prompt }}",
            "details": _details(model),
            "model_info": info,
            "capabilities": list(model.capabilities),
            "modified_at": _MODIFIED_AT,
        }
    )


def version(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    return _json({"version": VERSION})


def running(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    return _json({"models": []})


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/api/chat"): chat,
    ("POST", "/api/generate"): generate,
    ("POST", "/api/embed"): embed,
    ("POST", "/api/embeddings"): embeddings_legacy,
    ("GET", "/api/tags"): tags,
    ("POST", "/api/show"): show,
    ("GET", "/api/version"): version,
    ("GET", "/api/ps"): running,
}


def route(method: str, path: str) -> Handler | None:
    return ROUTES.get((method, path.rstrip("/") or "/"))
