"""Token estimates for the one common case with no usage at all: an OpenAI chat
stream recorded without `stream_options.include_usage`.

The rule is deliberately simple and documented rather than clever: one token
per 4 characters of text (rounded up), OpenAI's own rule of thumb for English,
plus the chat format's fixed costs (3 tokens per message, 1 more for a `name`,
3 to prime the reply). Expect ±25% on English prose, worse for code and
non-Latin scripts; images and audio in the prompt are not counted. Calls
filled from here carry `estimated=True`, so budgets and reports can show them
as approximate; nothing estimated is ever presented as recorded.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_llmops.spend.calls import LLMCall

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3


def text_tokens(chars: int) -> int:
    """Tokens for `chars` characters of text: ceil(chars / 4)."""
    return -(-chars // CHARS_PER_TOKEN)


def prompt_tokens(request: dict[str, Any]) -> int | None:
    """Estimated prompt tokens of a chat completions request; None without a `messages` list."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        return None
    tokens = REPLY_PRIMING_TOKENS
    for message in messages:
        tokens += TOKENS_PER_MESSAGE
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("name"), str):
            tokens += TOKENS_PER_NAME
        tokens += text_tokens(_message_chars(message))
    tools = request.get("tools") or request.get("functions")
    if isinstance(tools, list) and tools:
        # Tool schemas are sent to the model as text; their JSON length is a fair proxy.
        tokens += text_tokens(len(json.dumps(tools, separators=(",", ":"))))
    return tokens


def delta_chars(choice: Any) -> int:
    """Characters of generated text in one streamed chat choice (content, refusal, reasoning, tool calls)."""
    if not isinstance(choice, dict):
        return 0
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return 0
    chars = 0
    for key in ("content", "refusal", "reasoning", "reasoning_content"):
        value = delta.get(key)
        if isinstance(value, str):
            chars += len(value)
    return chars + _tool_call_chars(delta.get("tool_calls"))


def fill_chat_estimate(call: LLMCall, request: dict[str, Any] | None, streamed_chars: int) -> None:
    """Fill `call`'s tokens from the request and the streamed text, and flag them as estimated.

    Without a recorded request the prompt side stays unknown (None).
    """
    fill_estimate(call, prompt_tokens(request) if request is not None else None, streamed_chars)


def fill_estimate(call: LLMCall, prompt: int | None, streamed_chars: int) -> None:
    """Set `call`'s tokens to estimates (`prompt`, None when unknown; the output from the streamed
    text) and flag them as estimated, for every provider's stream that ended before its usage."""
    call.input_tokens = prompt
    call.cached_input_tokens = call.cache_write_tokens = 0 if prompt is not None else None
    call.output_tokens = text_tokens(streamed_chars)
    call.reasoning_tokens = None
    call.estimated = True


def _message_chars(message: dict[str, Any]) -> int:
    chars = 0
    content = message.get("content")
    if isinstance(content, str):
        chars += len(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                chars += len(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                chars += len(part["text"])
    return chars + _tool_call_chars(message.get("tool_calls"))


def _tool_call_chars(tool_calls: Any) -> int:
    chars = 0
    if isinstance(tool_calls, list):
        for tool_call in tool_calls:
            function = tool_call.get("function") if isinstance(tool_call, dict) else None
            if isinstance(function, dict):
                for key in ("name", "arguments"):
                    value = function.get(key)
                    chars += len(value) if isinstance(value, str) else 0
    return chars
