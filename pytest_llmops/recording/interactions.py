"""The in-memory model of one recorded HTTP exchange, whatever file format it came from.

Bodies are always held decoded (no content-encoding left on them), so every
consumer (replay, usage parsing, `inspect`) sees the same bytes the app saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

Headers = dict[str, list[str]]


def header(headers: Headers, name: str) -> str | None:
    """First value of a header, looked up case-insensitively."""
    lowered = name.lower()
    for key, values in headers.items():
        if key.lower() == lowered and values:
            return values[0]
    return None


@dataclass(slots=True)
class RecordedRequest:
    method: str
    uri: str
    headers: Headers = field(default_factory=dict)
    body: bytes | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def host(self) -> str:
        return urlsplit(self.uri).netloc

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is absent or not JSON."""
        return _parse_json(self.body)

    def fields(self) -> dict[str, Any]:
        """What the request asks: its JSON object, or an upload's text fields (`model`, ...); else {}."""
        data = self.json()
        if isinstance(data, dict):
            return data
        if data is None and self.body and self.body.startswith(b"--"):
            from pytest_llmops.recording.multipart import form_fields

            return dict(form_fields(self.body) or {})
        return {}


@dataclass(slots=True)
class RecordedResponse:
    status: int
    reason: str = ""
    headers: Headers = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return (header(self.headers, "content-type") or "").split(";")[0].strip().lower()

    @property
    def is_sse(self) -> bool:
        return is_sse(self.content_type, self.body)

    @property
    def is_json_lines(self) -> bool:
        return is_json_lines(self.content_type)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return None if self.is_sse else _parse_json(self.body)


@dataclass(slots=True)
class InteractionMeta:
    """What we know about how an exchange happened, beyond its bytes.

    `latency_ms` is request sent to last byte received; `ttfb_ms` is request
    sent to first body byte (the number that matters for streams). Foreign
    cassettes carry neither, so both may be None.
    """

    recorded_at: str | None = None
    latency_ms: float | None = None
    ttfb_ms: float | None = None
    attempts: int | None = None
    truncated: bool = False
    error: dict[str, str] | None = None
    """How a response that broke off ended: `{type, message}` of the client library's transport error
    (e.g. `RemoteProtocolError`), raised again in replay after the recorded body."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.recorded_at is not None:
            out["recorded_at"] = self.recorded_at
        if self.latency_ms is not None:
            out["latency_ms"] = round(self.latency_ms, 3)
        if self.ttfb_ms is not None:
            out["ttfb_ms"] = round(self.ttfb_ms, 3)
        if self.attempts is not None and self.attempts > 1:
            out["attempts"] = self.attempts
        if self.truncated:
            out["truncated"] = True
        if self.error is not None:
            out["error"] = dict(self.error)
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> InteractionMeta:
        if not data:
            return cls()
        known = {"recorded_at", "latency_ms", "ttfb_ms", "attempts", "truncated", "error"}
        error = data.get("error")
        if error is not None and not isinstance(error, dict):
            raise ValueError(f"error: expected a mapping of type and message, got {error!r:.60}")
        return cls(
            recorded_at=_opt_str(data.get("recorded_at")),
            latency_ms=_opt_float(data.get("latency_ms")),
            ttfb_ms=_opt_float(data.get("ttfb_ms")),
            attempts=int(data["attempts"]) if data.get("attempts") is not None else None,
            truncated=bool(data.get("truncated", False)),
            error=None if error is None else {str(k): str(v) for k, v in error.items()},
            extra={k: v for k, v in data.items() if k not in known},
        )


@dataclass(slots=True)
class Interaction:
    """One request and the response it got. `request` is None for response-only recordings."""

    request: RecordedRequest | None
    response: RecordedResponse
    meta: InteractionMeta = field(default_factory=InteractionMeta)


def is_sse(content_type: str, body: bytes) -> bool:
    """Whether a body of this (lower-case, parameterless) content type is a server-sent event stream."""
    if content_type == "text/event-stream":
        return True
    # Some recorders drop headers, or label a stream application/json; an SSE body still starts
    # with a field, where a JSON body starts with a brace.
    if content_type not in ("", "application/json", "text/plain"):
        return False
    head = body[:64].lstrip()
    return head.startswith((b"event:", b"data:", b":"))


JSON_LINES_TYPES = frozenset(
    {
        "application/x-ndjson",  # Ollama, Elasticsearch bulk, most servers
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-lines",
        "application/x-ldjson",
        "application/ldjson",
        "application/json-seq",  # RFC 7464: each record starts with RS (0x1E) and ends with a newline
        "application/stream+json",  # Spring WebFlux
        "application/x-json-stream",  # Docker Engine API
    }
)
"""Content types of a stream of JSON values one per line: a server writes (and flushes) a line at a time,
so a replay serves them a line at a time too."""


def is_json_lines(content_type: str) -> bool:
    """Whether a body of this (lower-case, parameterless) content type is JSON values one per line."""
    return content_type in JSON_LINES_TYPES


def split_lines(body: bytes) -> list[bytes]:
    """A JSON-lines body one line per piece, each with its newline (a last line without one kept as is):
    joined again, the pieces are the body byte for byte."""
    pieces: list[bytes] = []
    start = 0
    while True:
        end = body.find(b"\n", start)
        if end < 0:
            break
        pieces.append(body[start : end + 1])
        start = end + 1
    if start < len(body):
        pieces.append(body[start:])
    return pieces


def json_error(content_type: str, body: bytes) -> str | None:
    """Why a body whose content type says JSON (or JSON lines) does not parse as such; None when it
    does, or when it is empty, SSE, or not labelled JSON."""
    if "json" not in content_type or is_sse(content_type, body) or not body.strip():
        return None
    if not is_json_lines(content_type):
        try:
            json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return str(exc)
        return None
    for number, line in enumerate(split_lines(body), 1):
        text = line.strip(b"\x1e \t\r\n")
        if not text:
            continue
        try:
            json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            return f"line {number}: {exc}"
    return None


def _parse_json(body: bytes | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
