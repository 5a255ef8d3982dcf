"""How a live request finds its recording: a canonical key, and a readable diff when it finds none.

The key is built once per request and looked up in a dict, so replay cost does
not grow with the size of the cassette.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pytest_llmops.recording.interactions import RecordedRequest
from pytest_llmops.recording.multipart import match_form, parse_form
from pytest_llmops.recording.secrets import CREDENTIAL_QUERY_PARAMS
from pytest_llmops.recording.token_bodies import TOKEN_REQUEST_FIELDS, is_token_request, token_form

MATCH_FIELDS = ("method", "scheme", "host", "port", "path", "query", "body")
DEFAULT_MATCH_ON = ("method", "path", "query", "body")

TOKEN_FORM_KEY = "application/x-www-form-urlencoded"
"""The one key of a form-encoded OAuth token request's canonical form (its pairs, sorted, secrets left out)."""
FORM_KEY = "multipart/form-data"
"""The one key of a multipart body's canonical form: no JSON body is taken for a form, nor a form for one."""

MatchKey = tuple[str, ...]
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _unserializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _make_canonical_encode() -> Callable[[Any], str]:
    """`_CANONICAL.encode`, with its C encoder built once instead of per call (it runs per replayed call).
    Without the circular check: a cycle ends in RecursionError instead of ValueError."""
    from json import encoder

    make, escape = getattr(encoder, "c_make_encoder", None), getattr(encoder, "c_encode_basestring", None)
    if make is None or escape is None:  # no C accelerator: the standard path
        return _CANONICAL.encode
    iterencode = make(None, _unserializable, escape, None, ":", ",", True, False, True)

    def encode(value: Any) -> str:
        return "".join(iterencode(value, 0))

    return encode


_canonical_encode: Callable[[Any], str] = _make_canonical_encode()


@dataclass(frozen=True, slots=True)
class Matcher:
    """Which parts of a request identify it. `ignore` lists dotted JSON paths dropped from the body."""

    match_on: tuple[str, ...] = DEFAULT_MATCH_ON
    ignore: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def build(cls, match_on: Iterable[str] = DEFAULT_MATCH_ON, ignore: Iterable[str] = ()) -> Matcher:
        fields = tuple(dict.fromkeys(match_on))
        unknown = [f for f in fields if f not in MATCH_FIELDS]
        if unknown:
            raise ValueError(f"unknown match field(s) {unknown}; known: {', '.join(MATCH_FIELDS)}")
        paths = tuple(tuple(p.split(".")) for p in dict.fromkeys(ignore) if p)
        return cls(fields, paths)

    def key(self, request: RecordedRequest, body: str | None = None) -> MatchKey:
        """The request's match key. `body` is its canonical body when the caller already has it
        (`canonical_json` of the object a client serializes), so the bytes are not parsed again."""
        fields = _uri_fields(request.uri)
        if self.match_on == DEFAULT_MATCH_ON:  # the common case, without the loop: it runs per call
            return (
                request.method.upper(),
                fields["path"],
                fields["query"],
                self.canonical_body(request.body) if body is None else body,
            )
        out: list[str] = []
        for field in self.match_on:
            if field == "method":
                out.append(request.method.upper())
            elif field == "body":
                out.append(self.canonical_body(request.body) if body is None else body)
            else:
                out.append(fields[field])
        return tuple(out)

    def canonical_body(self, body: bytes | None) -> str:
        """JSON with sorted keys and ignored fields removed; a multipart form as its fields (its boundary is
        random per request), ignored fields removed too; other bodies as text."""
        if not body:
            return ""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parts = parse_form(body)
            if parts is not None:
                data = {FORM_KEY: match_form(parts)}
                for path in self.ignore:
                    _drop_path(data[FORM_KEY], path)
                return _canonical_encode(data)
            pairs = token_form(body)
            if pairs is not None:
                return _canonical_encode(
                    {TOKEN_FORM_KEY: sorted(p for p in pairs if p[0] not in TOKEN_REQUEST_FIELDS)}
                )
            return body.decode("utf-8", "replace")
        data = _without_token_secrets(data)
        for path in self.ignore:
            _drop_path(data, path)
        return _stable_client_ids(_canonical_encode(data))

    def canonical_json(self, value: Any) -> str | None:
        """The canonical body of the request `json=value` sends, computed from the object (no
        serializing and parsing back, on every replayed call); None when it cannot be computed so.

        Equal to `canonical_body(json.dumps(value).encode())` whenever it is a canonical form at
        all, and every recorded key is one: JSON turns non-string keys into strings, and only
        when that changes their order, or makes two keys one, does the result differ, and then
        its keys are out of order (or repeated), which no canonical form is. So a key from this
        either finds the recording the bytes would find, or finds nothing, and the caller then
        looks up with the bytes (`Recorder.find`). Ignored fields are dropped from a copy, which
        takes only plain data with string keys (None otherwise), since a path names string keys.
        """
        value = _without_token_secrets(value)
        if self.ignore:
            value = _json_copy(value)
            if value is _NOT_PLAIN:
                return None
            for path in self.ignore:
                _drop_path(value, path)
        try:
            return _stable_client_ids(_canonical_encode(value))
        except (TypeError, ValueError, RecursionError):
            return None

    def pretty_body(self, body: bytes | None) -> str:
        canonical = self.canonical_body(body)
        try:
            return json.dumps(json.loads(canonical), sort_keys=True, indent=2, ensure_ascii=False)
        except ValueError:
            return canonical


_NOT_PLAIN = object()


def _without_token_secrets(data: Any) -> Any:
    """An OAuth token request without its secrets: recorded scrubbed, and sent in a replay with whatever the
    test has (no secret at all in CI), it is the same request."""
    if not is_token_request(data):
        return data
    return {k: v for k, v in data.items() if k not in TOKEN_REQUEST_FIELDS}


# Ids a client library makes up for each run and sends back in the next request, where the provider gave
# none: pydantic-ai names Gemini's function calls (which carry no id) `pyd_ai_<uuid4 hex>` and echoes the
# name in the function call and its response. As JSON string values only.
_CLIENT_ID = re.compile(r'"(pyd_ai_[0-9a-f]{32})"')
_CLIENT_ID_MARKERS = ("pyd_ai_",)


def _stable_client_ids(canonical: str) -> str:
    """`canonical` with each made-up client id replaced by its rank of first appearance: the same request
    on another run is the same key, and which call a response answers still counts."""
    if not any(marker in canonical for marker in _CLIENT_ID_MARKERS):
        return canonical
    ranks: dict[str, str] = {}

    def rank(found: re.Match[str]) -> str:
        name = ranks.get(found.group(1))
        if name is None:
            name = ranks[found.group(1)] = f'"<client id {len(ranks) + 1}>"'
        return name

    return _CLIENT_ID.sub(rank, canonical)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _json_copy(value: Any, depth: int = 0) -> Any:
    """A copy of plain JSON data (dicts with string keys, lists, tuples, which become lists as in JSON,
    str, int, float, bool, None; no subclasses), to drop ignored fields from; else `_NOT_PLAIN`."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if depth > 200:
        return _NOT_PLAIN
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                return _NOT_PLAIN
            copied = _json_copy(item, depth + 1)
            if copied is _NOT_PLAIN:
                return _NOT_PLAIN
            out[key] = copied
        return out
    if kind is list or kind is tuple:
        items = []
        for item in value:
            copied = _json_copy(item, depth + 1)
            if copied is _NOT_PLAIN:
                return _NOT_PLAIN
            items.append(copied)
        return items
    return _NOT_PLAIN


@functools.lru_cache(maxsize=4096)
def _uri_fields(uri: str) -> dict[str, str]:
    """The match fields a URL gives, cached: a test suite calls few URLs, many times."""
    parts = urlsplit(uri)
    try:
        port = str(parts.port or "")
    except ValueError:  # not a number: matched as written
        port = parts.netloc.rpartition(":")[2]
    return {
        "path": parts.path.rstrip("/") or "/",
        "query": _canonical_query(parts.query) if parts.query else "",
        "host": (parts.hostname or "").lower(),
        "scheme": parts.scheme.lower(),
        "port": port,
    }


def _canonical_query(query: str) -> str:
    pairs = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k.lower() not in CREDENTIAL_QUERY_PARAMS
    ]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _drop_path(data: Any, path: tuple[str, ...]) -> None:
    """Remove a dotted path; `*` walks every list element or mapping value."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if isinstance(data, list):
        # Only descend: dropping a list element would shift the others.
        if head == "*":
            children = list(data)
        elif head.isdigit() and int(head) < len(data):
            children = [data[int(head)]]
        else:
            children = []
        for child in children if rest else []:
            _drop_path(child, rest)
    elif isinstance(data, dict):
        if head == "*":
            for value in data.values():
                _drop_path(value, rest)
        elif head in data:
            if rest:
                _drop_path(data[head], rest)
            else:
                del data[head]


def closest(request: RecordedRequest, candidates: Sequence[RecordedRequest], matcher: Matcher) -> int | None:
    """Index of the recorded request most like `request`: same method and path first, then body similarity."""
    if not candidates:
        return None
    path = urlsplit(request.uri).path.rstrip("/")
    same_route = [
        i
        for i, c in enumerate(candidates)
        if c.method.upper() == request.method.upper() and urlsplit(c.uri).path.rstrip("/") == path
    ]
    pool = same_route or list(range(len(candidates)))
    if len(pool) == 1:
        return pool[0]
    sent = matcher.pretty_body(request.body)
    best, best_ratio = pool[0], -1.0
    for i in pool[:500]:
        ratio = difflib.SequenceMatcher(
            None, sent, matcher.pretty_body(candidates[i].body), autojunk=False
        ).quick_ratio()
        if ratio > best_ratio:
            best, best_ratio = i, ratio
    return best


def body_diff(
    recorded: RecordedRequest, sent: RecordedRequest, matcher: Matcher, *, max_lines: int = 60
) -> str:
    """Unified diff of the canonical JSON bodies, recorded first."""
    lines = list(
        difflib.unified_diff(
            matcher.pretty_body(recorded.body).splitlines(),
            matcher.pretty_body(sent.body).splitlines(),
            fromfile="recorded",
            tofile="sent",
            lineterm="",
            n=2,
        )
    )
    if not lines:
        if (
            recorded.method.upper() != sent.method.upper()
            or urlsplit(recorded.uri).path != urlsplit(sent.uri).path
        ):
            return f"  recorded: {recorded.method} {urlsplit(recorded.uri).path}\n  sent:     {sent.method} {urlsplit(sent.uri).path}"
        return "  (bodies are equal; the difference is in the query string or host)"
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... {len(lines) - max_lines} more diff lines"]
    return "\n".join("  " + line for line in lines)
