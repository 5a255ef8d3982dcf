"""Turn each recording layout we meet, already parsed from YAML or JSON, into `Interaction`s.

Layouts (see the real recordings under tests' shared data):
- vcrpy v1: `interactions:` of `{request, response}`; also its JSON serializer,
  vcrpy's old httpx layout (`response: {content, status_code, ...}`) and
  pydantic-ai's (`parsed_body:` mappings instead of JSON strings);
- HAR 1.2 (`log.entries`, e.g. Polly.js);
- one `{request, response}` object (dd-apm-test-agent);
- one response-only `{status, headers, body}` object.

Every body leaves here decoded (`content_encoding.decode_body`), every header
value is a `list[str]`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pytest_llmops.recording.content_encoding import BodyDecodeError, decode_body
from pytest_llmops.recording.errors import CassetteFormatError
from pytest_llmops.recording.interactions import (
    Headers,
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
    json_error,
)

__all__ = ["interactions_from_data"]


class _Invalid(Exception):
    """A structure problem at `where`; turned into CassetteFormatError with the file's path."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(where, reason)
        self.where = where
        self.reason = reason


def interactions_from_data(data: Any, path: Path) -> list[Interaction]:
    """Recognise the layout of a parsed cassette and read its interactions."""
    try:
        return _dispatch(data)
    except _Invalid as exc:
        raise CassetteFormatError(path, exc.reason, where=exc.where) from None


def _dispatch(data: Any) -> list[Interaction]:
    if data is None:
        return []
    if isinstance(data, dict):
        if "interactions" in data:
            return _vcr_cassette(data)
        log = data.get("log")
        if isinstance(log, dict) and "entries" in log:
            return _har(log)
        if "request" in data and "response" in data:
            return [_single(data)]
        if "status" in data and ("body" in data or "headers" in data):
            return [Interaction(request=None, response=_plain_response(data, "(response)"))]
        keys = ", ".join(map(str, list(data)[:8])) or "none"
        raise _Invalid(
            "(top level)",
            f"not a cassette layout we know (top-level keys: {keys}); expected vcrpy `interactions:`, "
            "HAR `log.entries`, a `{request, response}` object or a `{status, headers, body}` response",
        )
    if isinstance(data, list) and data and isinstance(data[0], dict) and "request" in data[0]:
        raise _Invalid(
            "(top level)",
            "a list of interactions is the pre-1.0 vcrpy layout, which is not supported; "
            "re-record the cassette",
        )
    raise _Invalid("(top level)", f"expected a mapping, got {_kind(data)}")


# --- vcrpy -------------------------------------------------------------------------------------------


def _vcr_cassette(data: dict[str, Any]) -> list[Interaction]:
    version = data.get("version")
    if version is not None and version != 1:
        raise _Invalid("version", f"cassette format version {version!r} is not supported (only 1)")
    items = data["interactions"]
    if items is None:
        return []
    if not isinstance(items, list):
        raise _Invalid("interactions", f"expected a list, got {_kind(items)}")
    return [_vcr_interaction(item, f"interactions[{i}]") for i, item in enumerate(items)]


def _vcr_interaction(item: Any, where: str) -> Interaction:
    item = _mapping(item, where)
    req = _mapping(item.get("request"), f"{where}.request")
    resp = _mapping(item.get("response"), f"{where}.response")

    method = _text(req.get("method"), f"{where}.request.method")
    uri = _text(req.get("uri", req.get("url")), f"{where}.request.uri")
    if "parsed_body" in req:
        raw_body: bytes | None = _json_bytes(req["parsed_body"], f"{where}.request.parsed_body")
    else:
        raw_body = _body_bytes(req.get("body"), f"{where}.request.body")
    request = _request(method, uri, _headers(req.get("headers"), f"{where}.request.headers"), raw_body, where)

    if "status_code" in resp:  # vcrpy < 6 httpx layout: body already decoded, reason not kept
        code = _status_code(resp["status_code"], f"{where}.response.status_code")
        reason = _standard_reason(code)
        body = _body_bytes(resp.get("content"), f"{where}.response.content") or b""
    else:
        code, reason = _status(resp.get("status"), f"{where}.response.status")
        if "parsed_body" in resp:
            body = _json_bytes(resp["parsed_body"], f"{where}.response.parsed_body")
        else:
            body = _body_bytes(resp.get("body"), f"{where}.response.body") or b""
    headers = _headers(resp.get("headers"), f"{where}.response.headers")
    meta = _meta(item.get("metadata"), where)
    if code == 0 and meta.error is None:
        raise _Invalid(
            f"{where}.response.status",
            "status 0 marks a request that got no response, and needs metadata.error (the error the "
            "client raised instead)",
        )
    broken_off = meta.truncated or meta.error is not None
    # Only in our own files (they carry `metadata`): other recorders re-serialize bodies (a YAML block
    # drops the last newline), so their content-length need not match what they stored.
    if not broken_off and "metadata" in item and "body" in resp and "parsed_body" not in resp:
        _check_length(headers, body, f"{where}.response.body")
    response = _response(code, reason, headers, body, where)
    if not broken_off and not meta.extra.get("body_not_json"):
        _check_json(response, f"{where}.response.body")
    recorded_at = item.get("recorded_at")  # pydantic-ai's serializer stamps each interaction
    if meta.recorded_at is None and isinstance(recorded_at, (str, dt.datetime)):
        meta.recorded_at = recorded_at if isinstance(recorded_at, str) else recorded_at.isoformat()
    return Interaction(request=request, response=response, meta=meta)


def _check_length(headers: Headers, body: bytes, where: str) -> None:
    """A body shorter or longer than its own content-length was cut (or edited) after recording.

    Only checked where the stored bytes are the ones the length counted: no content-encoding
    (recorders that store decoded text keep the encoded length beside it).
    """
    lengths, encoded = [], False
    for key, values in headers.items():
        name = key.lower()
        if name == "content-length":
            lengths += values
        elif name == "content-encoding":
            encoded = encoded or any(v.strip().lower() not in ("", "identity") for v in values)
    if encoded:
        return
    for value in lengths:
        if value.strip().isdigit() and int(value) != len(body):
            raise _Invalid(
                where,
                f"the body has {len(body)} bytes but its content-length header says {value.strip()}: "
                "the file was cut off or edited. Re-record the test (--llm-record=rewrite), "
                "or restore the file",
            )


def _check_json(response: RecordedResponse, where: str) -> None:
    """A JSON content type with a body that is not JSON would only fail later, deep in the SDK."""
    problem = json_error(response.content_type, response.body)
    if problem is not None:
        raise _Invalid(
            where,
            f"content-type is {response.content_type} but the body is not valid JSON ({problem}): "
            "the file was cut off or edited. Re-record the test (--llm-record=rewrite), "
            "or restore the file",
        )


def _meta(data: Any, where: str) -> InteractionMeta:
    if data is None:
        return InteractionMeta()
    data = _mapping(data, f"{where}.metadata")
    try:
        return InteractionMeta.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"{where}.metadata", f"invalid value ({exc})") from None


# --- HAR ---------------------------------------------------------------------------------------------


def _har(log: dict[str, Any]) -> list[Interaction]:
    entries = log["entries"]
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise _Invalid("log.entries", f"expected a list, got {_kind(entries)}")
    return [_har_entry(entry, f"log.entries[{i}]") for i, entry in enumerate(entries)]


def _har_entry(entry: Any, where: str) -> Interaction:
    entry = _mapping(entry, where)
    req = _mapping(entry.get("request"), f"{where}.request")
    resp = _mapping(entry.get("response"), f"{where}.response")

    post = req.get("postData")
    body: bytes | None = None
    if post is not None:
        post = _mapping(post, f"{where}.request.postData")
        body = _har_text(post, f"{where}.request.postData")
        if body is None and post.get("params"):
            params = post["params"]
            if not isinstance(params, list):
                raise _Invalid(f"{where}.request.postData.params", f"expected a list, got {_kind(params)}")
            body = urlencode([(str(p.get("name", "")), str(p.get("value", ""))) for p in params]).encode()
    request = _request(
        _text(req.get("method"), f"{where}.request.method"),
        _text(req.get("url"), f"{where}.request.url"),
        _headers(req.get("headers"), f"{where}.request.headers"),
        body,
        where,
    )

    code = _status_code(resp.get("status"), f"{where}.response.status")
    reason = resp.get("statusText")
    content = _mapping(resp.get("content", {}), f"{where}.response.content")
    response = _response(
        code,
        _standard_reason(code) if reason is None else str(reason),
        _headers(resp.get("headers"), f"{where}.response.headers"),
        _har_text(content, f"{where}.response.content") or b"",
        where,
    )
    return Interaction(request=request, response=response, meta=_har_meta(entry))


def _har_text(holder: dict[str, Any], where: str) -> bytes | None:
    text = holder.get("text")
    if text is None:
        return None
    if not isinstance(text, str):
        raise _Invalid(f"{where}.text", f"expected a string, got {_kind(text)}")
    if holder.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _Invalid(f"{where}.text", f"invalid base64 ({exc})") from None
    return text.encode("utf-8", errors="surrogatepass")


def _har_meta(entry: dict[str, Any]) -> InteractionMeta:
    """HAR carries real timings: `time` is the whole exchange, `timings.wait` ends at the first byte."""
    started = entry.get("startedDateTime")
    raw_timings = entry.get("timings")
    timings: dict[str, Any] = raw_timings if isinstance(raw_timings, dict) else {}
    phases = [timings.get(p) for p in ("blocked", "dns", "connect", "send", "wait")]
    ttfb = None
    if _non_negative(phases[-1]) is not None:
        ttfb = sum(_non_negative(p) or 0.0 for p in phases)
    return InteractionMeta(
        recorded_at=started if isinstance(started, str) else None,
        latency_ms=_non_negative(entry.get("time")),
        ttfb_ms=ttfb,
    )


def _non_negative(value: Any) -> float | None:
    """A HAR time in ms; HAR writes -1 for "does not apply"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


# --- single JSON objects -----------------------------------------------------------------------------


def _single(data: dict[str, Any]) -> Interaction:
    req = _mapping(data["request"], "request")
    request = _request(
        _text(req.get("method"), "request.method"),
        _text(req.get("url", req.get("uri")), "request.url"),
        _headers(req.get("headers"), "request.headers"),
        _body_bytes(req.get("body"), "request.body"),
        "request",
    )
    return Interaction(
        request=request, response=_plain_response(_mapping(data["response"], "response"), "response")
    )


def _plain_response(data: dict[str, Any], where: str) -> RecordedResponse:
    status = data.get("status")
    if isinstance(status, dict):
        code, reason = _status(status, f"{where}.status")
    else:
        code = _status_code(status, f"{where}.status")
        reason = str(data["statusText"]) if data.get("statusText") is not None else _standard_reason(code)
    raw = data.get("body")
    body = (
        _json_bytes(raw, f"{where}.body") if isinstance(raw, (dict, list)) and "string" not in raw else None
    )
    if body is None:
        body = _body_bytes(raw, f"{where}.body") or b""
    return _response(code, reason, _headers(data.get("headers"), f"{where}.headers"), body, where)


# --- shared pieces -----------------------------------------------------------------------------------


def _request(method: str, uri: str, headers: Headers, body: bytes | None, where: str) -> RecordedRequest:
    if body is not None:
        body, headers = _decoded(body, headers, f"{where}.request.body")
    return RecordedRequest(method=method, uri=uri, headers=headers, body=body)


def _response(code: int, reason: str, headers: Headers, body: bytes, where: str) -> RecordedResponse:
    body, headers = _decoded(body, headers, f"{where}.response.body")
    return RecordedResponse(status=code, reason=reason, headers=headers, body=body)


def _decoded(body: bytes, headers: Headers, where: str) -> tuple[bytes, Headers]:
    try:
        return decode_body(body, headers)
    except BodyDecodeError as exc:
        raise _Invalid(where, str(exc)) from None


def _headers(raw: Any, where: str) -> Headers:
    """Headers as a dict of lists; names that differ only in case are merged under the first spelling."""
    if raw is None:
        return {}
    pairs: list[tuple[Any, Any]]
    if type(raw) is dict:
        # The common case, kept fast for large cassettes: str names, lists of str, no case-duplicates.
        simple: Headers = {}
        for name, value in raw.items():
            if type(name) is not str or type(value) is not list:
                break
            for item in value:
                if type(item) is not str:
                    break
            else:
                simple[name] = list(value)
                continue
            break
        else:
            if len({name.lower() for name in simple}) == len(simple):
                return simple
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):  # HAR: [{name, value}]
        pairs = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict) or "name" not in item:
                raise _Invalid(f"{where}[{i}]", f"expected a {{name, value}} mapping, got {_kind(item)}")
            pairs.append((item["name"], [item.get("value")]))
    else:
        raise _Invalid(where, f"expected a mapping of header names to values, got {_kind(raw)}")

    out: Headers = {}
    spelled: dict[str, str] = {}
    for name, value in pairs:
        if not isinstance(name, str):
            raise _Invalid(where, f"header name {name!r} is not a string")
        values = value if isinstance(value, list) else [value]
        strings = [_header_value(v, f"{where}.{name}") for v in values if v is not None]
        key = spelled.setdefault(name.lower(), name)
        out.setdefault(key, []).extend(strings)
    return out


def _header_value(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise _Invalid(where, f"expected a string header value, got {_kind(value)}")


def _body_bytes(raw: Any, where: str) -> bytes | None:
    """A body as vcrpy and friends store it: str, bytes (`!!binary`), None, or `{string: ...}`."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        # surrogatepass: a JSON file may hold lone surrogates that were once undecodable bytes.
        return raw.encode("utf-8", errors="surrogatepass")
    if isinstance(raw, dict) and "string" in raw:
        return _body_bytes(raw["string"], f"{where}.string")
    if isinstance(raw, dict) and set(raw) == {"type", "content"}:
        # pydantic-ai's newer serializer: `{type: json, content: <mapping>}` or `{type: text, content: str}`.
        if raw["type"] == "json":
            return _json_bytes(raw["content"], f"{where}.content")
        if raw["type"] == "text":
            return _body_bytes(raw["content"], f"{where}.content")
    if isinstance(raw, list) and all(isinstance(part, bytes) for part in raw):  # vcrpy's iterator bodies
        return b"".join(raw)
    raise _Invalid(where, f"expected a string, bytes or null body, got {_kind(raw)}")


def _json_bytes(value: Any, where: str) -> bytes:
    """A `parsed_body` mapping back to compact JSON bytes."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise _Invalid(where, f"cannot be written back as JSON ({exc})") from None
    return text.encode("utf-8", errors="surrogatepass")


def _json_default(value: Any) -> Any:
    # YAML resolves unquoted timestamps to dates; JSON had them as strings.
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _status(raw: Any, where: str) -> tuple[int, str]:
    if isinstance(raw, dict):
        code = _status_code(raw.get("code"), f"{where}.code")
        message = raw.get("message")
        return code, _standard_reason(code) if message is None else str(message)
    code = _status_code(raw, where)
    return code, _standard_reason(code)


def _status_code(raw: Any, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise _Invalid(where, f"expected an HTTP status code, got {_kind(raw)}")
    try:
        code = int(raw)
    except ValueError:
        raise _Invalid(where, f"expected an HTTP status code, got {raw!r}") from None
    if not (100 <= code <= 999 or code == 0):  # 0: no response (see transport.keep_unanswered)
        raise _Invalid(where, f"HTTP status code {code} is out of range")
    return code


def _standard_reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _Invalid(where, f"expected a mapping, got {_kind(raw)}")
    return raw


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise _Invalid(where, f"expected a non-empty string, got {_kind(raw)}")
    return raw


_KINDS: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string", bytes: "binary data"}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    kind = _KINDS.get(type(value))
    return kind if kind else f"{type(value).__name__} {value!r:.60}"
