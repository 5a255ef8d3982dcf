"""Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed`), as the `ollama` client and REST callers use it.

A streamed answer (the default) is newline-delimited JSON, one object per
token; only the last, `"done": true`, carries the counts: `prompt_eval_count`
(the prompt, all of it: Ollama's own prompt cache is not reported apart) and
`eval_count` (generated tokens, thinking included), with `done_reason` and the
durations in nanoseconds. `"stream": false` answers that final object with the
whole text. `/api/embed` reports `prompt_eval_count` only; the legacy
`/api/embeddings` reports nothing. Ollama has no prompt-cache billing, so the
cache fields are 0 once counts are known.

A stream cut off before its `done` line carries no counts: they are estimated
from the text (`estimate`) and flagged. Calls are unpriced (a self-hosted
server, `pricing.SELF_HOSTED`) unless the user's price file names the model.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_llmops.recording.interactions import Interaction, split_lines
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.providers import estimate, tool_calls
from pytest_llmops.spend.providers.base import (
    JSONDict,
    as_dict,
    as_int,
    as_str,
    base_call,
    request_json,
    set_model,
)

PROVIDER = "ollama"
KINDS = {
    "/api/chat": "ollama_chat",
    "/api/generate": "ollama_generate",
    "/api/embed": "ollama_embed",
    "/api/embeddings": "ollama_embeddings",
}
ENDPOINTS = {kind: path for path, kind in KINDS.items()}
_DURATIONS = ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")


def kind_of_path(path: str) -> str | None:
    """The Ollama endpoint a URL path ends with (under any prefix a proxy adds), else None."""
    path = path.rstrip("/").lower()
    return next((kind for suffix, kind in KINDS.items() if path.endswith(suffix)), None)


def parse(interaction: Interaction, kind: str, endpoint: str) -> LLMCall:
    request = request_json(interaction)
    objects = response_objects(interaction)
    streamed = len(objects) > 1 or interaction.response.is_json_lines
    call = base_call(interaction, PROVIDER, endpoint, request, streamed=streamed)
    if kind == "ollama_embeddings":  # the legacy endpoint reports no counts
        _set_error(call, objects)
        return call
    if kind == "ollama_embed":
        body = objects[-1] if objects else {}
        set_model(call, body.get("model"))
        _set_error(call, objects)
        prompt = as_int(body.get("prompt_eval_count"))
        if prompt is not None:
            call.input_tokens, call.output_tokens = prompt, 0
            call.cached_input_tokens = call.cache_write_tokens = call.reasoning_tokens = 0
        return call
    final: JSONDict | None = None
    chars = 0
    calls: list[dict[str, Any]] = []
    for item in objects:
        set_model(call, item.get("model"))
        message = as_dict(item.get("message"))
        chars += _text_chars(item, message)
        calls.extend(tool_calls.from_chat_message(message) if message else ())
        if item.get("done") is True:
            final = item
    call.tool_calls = calls
    _set_error(call, objects)
    if final is not None:
        _apply_final(call, final)
    elif call.ok and call.error_type is None and objects:
        _estimate(call, request if interaction.request is not None else None, kind, chars)
    return call


def response_objects(interaction: Interaction) -> list[JSONDict]:
    """The response's JSON objects in order: one for a JSON body (however a cassette indents it), one per
    line for a stream (also one labelled `application/json` or not labelled); a line cut in half (a
    broken-off stream) is skipped."""
    response = interaction.response
    body = response.body
    if not body.strip():
        return []
    if not response.is_json_lines:
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            pass
        else:
            return [value] if isinstance(value, dict) else []
    out: list[JSONDict] = []
    for line in split_lines(body):
        text = line.strip(b"\x1e \t\r\n")
        if not text:
            continue
        try:
            value = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def is_ollama_body(body: Any) -> bool:
    """An `/api/chat` or `/api/generate` object (a stream's line or the whole answer), or an `/api/embed`
    answer: Ollama's field names, and none of OpenAI's or Anthropic's markers."""
    if not isinstance(body, dict) or "object" in body or "type" in body or "choices" in body:
        return False
    if isinstance(body.get("done"), bool) and "created_at" in body:
        return isinstance(body.get("message"), dict) or isinstance(body.get("response"), str)
    return isinstance(body.get("embeddings"), list) and "model" in body and "data" not in body


def kind_of_body(body: JSONDict) -> str:
    if isinstance(body.get("embeddings"), list):
        return "ollama_embed"
    return "ollama_chat" if isinstance(body.get("message"), dict) else "ollama_generate"


def _apply_final(call: LLMCall, final: JSONDict) -> None:
    prompt = as_int(final.get("prompt_eval_count"))
    generated = as_int(final.get("eval_count"))
    reason = as_str(final.get("done_reason"))
    if reason is not None:
        call.extra["done_reason"] = reason
    durations = {name: value for name in _DURATIONS if (value := as_int(final.get(name))) is not None}
    if durations:
        call.extra["durations_ns"] = durations
    if prompt is None and generated is None:
        if reason in ("load", "unload"):  # loading a model: nothing was processed
            prompt = generated = 0
        else:
            return
    call.input_tokens = prompt if prompt is not None else 0
    call.output_tokens = generated if generated is not None else 0
    call.cached_input_tokens = call.cache_write_tokens = 0
    call.reasoning_tokens = None  # thinking is counted in eval_count, but not apart
    call.estimated = False


def _set_error(call: LLMCall, objects: list[JSONDict]) -> None:
    """Ollama's errors are `{"error": "message"}`, as the whole body or as a stream's last line."""
    for item in objects:
        error = item.get("error")
        if isinstance(error, str) and error:
            call.error_type = "error"
            call.extra["error_message"] = error[:300]
        elif isinstance(error, dict):
            call.error_type = as_str(error.get("type")) or "error"


def _text_chars(item: JSONDict, message: JSONDict) -> int:
    chars = 0
    for holder, key in ((message, "content"), (message, "thinking"), (item, "response"), (item, "thinking")):
        value = holder.get(key)
        chars += len(value) if isinstance(value, str) else 0
    for call in message.get("tool_calls") or [] if isinstance(message.get("tool_calls"), list) else []:
        function = as_dict(as_dict(call).get("function"))
        chars += len(str(function.get("name", ""))) + len(json.dumps(function.get("arguments", {})))
    return chars


def _estimate(call: LLMCall, request: JSONDict | None, kind: str, streamed_chars: int) -> None:
    """A stream cut off before its `done` line: estimate, and say so."""
    prompt: int | None = None
    if request is not None:
        if kind == "ollama_chat":
            prompt = estimate.prompt_tokens(request)
        else:
            text = "".join(v for k in ("system", "prompt") if isinstance(v := request.get(k), str))
            prompt = estimate.REPLY_PRIMING_TOKENS + estimate.text_tokens(len(text))
    estimate.fill_estimate(call, prompt, streamed_chars)
