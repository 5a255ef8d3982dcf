"""Replies the endpoint modules hand to the server, and the byte-level details they share.

Endpoints build a `JsonReply` or an `SseReply` (events already serialized) or
raise `ApiError`; the server adds timing, headers, compression and chunking.
The JSON styles copy the real APIs byte for byte where clients might notice:
OpenAI pretty-prints its JSON bodies, Anthropic sends compact JSON and pads
some SSE `data:` lines with spaces before the closing brace.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
HEX = "0123456789abcdef"


@dataclass(slots=True)
class JsonReply:
    payload: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class SseReply:
    """A streamed body, one chunk per event: SSE unless `content_type` says otherwise (Gemini's
    JSON-array stream, Bedrock's binary event stream)."""

    events: list[bytes]
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/event-stream; charset=utf-8"


Reply = JsonReply | SseReply


class ApiError(Exception):
    """An error response; each provider module renders it in its own body shape."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        self.details = list(details or [])


def pretty(value: Any, *, newline: bool = True) -> bytes:
    """OpenAI's JSON body style: two-space indent, non-ASCII kept, trailing newline."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + ("\n" if newline else "")).encode()


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sse(data: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def padded(data: str, seed: str) -> str:
    """Anthropic-style padding: 0-15 spaces before the final closing brace, chosen by `seed`."""
    spaces = hashlib.sha256(seed.encode()).digest()[0] % 16
    return data[:-1] + " " * spaces + "}" if data.endswith("}") else data


def token_string(material: str, length: int, alphabet: str = ALNUM) -> str:
    """A deterministic string of `length` characters of `alphabet`, derived from `material`."""
    out: list[str] = []
    counter = 0
    while len(out) < length:
        block = hashlib.sha256(f"{counter}:{material}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in block)
        counter += 1
    return "".join(out[:length])
