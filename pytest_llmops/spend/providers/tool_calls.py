"""The tool calls a response asked for, read from the provider's JSON (whole bodies and stream events).

Each call becomes `{"name": str, "arguments": ..., "id": str | None}`:
`arguments` is the decoded JSON object when the model sent valid JSON (the
usual case), else the raw text, so a check can name a malformed call rather
than lose it. Shapes read:

- OpenAI chat: `choices[0].message.tool_calls[].function` (and the legacy
  `function_call`); in a stream, `delta.tool_calls[]` pieces joined by index;
- OpenAI Responses: `output[]` items of type `function_call` (and
  `custom_tool_call`, whose `input` is free text);
- Anthropic Messages: `content[]` blocks of type `tool_use` (and
  `server_tool_use`); in a stream, `content_block_start` plus the
  `input_json_delta` pieces of the same block index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

ToolCallDict = dict[str, Any]


def arguments_value(raw: Any) -> Any:
    """Arguments as data: a JSON text decoded, an object kept, anything unreadable kept as text."""
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError:
            return raw
    if raw is None:
        return {}
    return raw


def _call(name: Any, arguments: Any, call_id: Any) -> ToolCallDict:
    return {
        "name": str(name or ""),
        "arguments": arguments_value(arguments),
        "id": str(call_id) if call_id else None,
    }


def from_chat_message(message: Mapping[str, Any]) -> list[ToolCallDict]:
    out: list[ToolCallDict] = []
    for item in message.get("tool_calls") or []:
        if not isinstance(item, Mapping):
            continue
        function = item.get("function") if isinstance(item.get("function"), Mapping) else {}
        custom = item.get("custom") if isinstance(item.get("custom"), Mapping) else {}
        if function:
            out.append(_call(function.get("name"), function.get("arguments"), item.get("id")))
        elif custom:
            out.append(_call(custom.get("name"), custom.get("input"), item.get("id")))
    legacy = message.get("function_call")
    if isinstance(legacy, Mapping):
        out.append(_call(legacy.get("name"), legacy.get("arguments"), None))
    return out


def from_chat_body(body: Mapping[str, Any]) -> list[ToolCallDict]:
    """The first choice's calls (with `n` > 1 the other choices are alternatives, not more calls)."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return []
    message = choices[0].get("message")
    return from_chat_message(message) if isinstance(message, Mapping) else []


def from_chat_stream(chunks: Iterable[Mapping[str, Any]]) -> list[ToolCallDict]:
    parts: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            continue
        for choice in choices:
            if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if not isinstance(delta, Mapping):
                continue
            for position, piece in enumerate(delta.get("tool_calls") or []):
                if not isinstance(piece, Mapping):
                    continue
                index = piece.get("index", position)
                slot = parts.setdefault(index if isinstance(index, int) else position, {"args": []})
                if piece.get("id"):
                    slot["id"] = piece["id"]
                function = piece.get("function")
                if isinstance(function, Mapping):
                    # Sent once by OpenAI; some gateways repeat it in every piece, none split it.
                    if function.get("name") and not slot.get("name"):
                        slot["name"] = str(function["name"])
                    if isinstance(function.get("arguments"), str):
                        slot["args"].append(function["arguments"])
    return [
        _call(slot.get("name"), "".join(slot["args"]), slot.get("id")) for _, slot in sorted(parts.items())
    ]


def from_responses_body(body: Mapping[str, Any]) -> list[ToolCallDict]:
    out: list[ToolCallDict] = []
    for item in body.get("output") or []:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "function_call":
            out.append(_call(item.get("name"), item.get("arguments"), item.get("call_id") or item.get("id")))
        elif kind == "custom_tool_call":
            out.append(_call(item.get("name"), item.get("input"), item.get("call_id") or item.get("id")))
    return out


def from_anthropic_body(body: Mapping[str, Any]) -> list[ToolCallDict]:
    out: list[ToolCallDict] = []
    for block in body.get("content") or []:
        if isinstance(block, Mapping) and block.get("type") in ("tool_use", "server_tool_use"):
            out.append(_call(block.get("name"), block.get("input"), block.get("id")))
    return out


def from_anthropic_stream(events: Iterable[Mapping[str, Any]]) -> list[ToolCallDict]:
    blocks: dict[int, dict[str, Any]] = {}
    for event in events:
        kind = event.get("type")
        index = event.get("index")
        if not isinstance(index, int):
            continue
        if kind == "content_block_start":
            block = event.get("content_block")
            if isinstance(block, Mapping) and block.get("type") in ("tool_use", "server_tool_use"):
                start = block.get("input")
                blocks[index] = {
                    "name": block.get("name"),
                    "id": block.get("id"),
                    "start": start if isinstance(start, Mapping) and start else None,
                    "args": [],
                }
        elif kind == "content_block_delta" and index in blocks:
            delta = event.get("delta")
            if isinstance(delta, Mapping) and delta.get("type") == "input_json_delta":
                blocks[index]["args"].append(str(delta.get("partial_json") or ""))
    out: list[ToolCallDict] = []
    for _, block in sorted(blocks.items()):
        text = "".join(block["args"])
        arguments = text if text.strip() else (block["start"] or {})
        out.append(_call(block["name"], arguments, block["id"]))
    return out
