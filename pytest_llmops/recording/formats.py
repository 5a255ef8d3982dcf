"""Read every cassette format we meet into `Interaction`s, and write our own.

Reading sniffs the format from the content (the file name only breaks ties
and names the file in errors); see `cassette_layouts` for the layouts.

Our files are plain vcrpy v1 cassettes, so vcrpy and pytest-recording replay
them, written for review: JSON bodies pretty-printed, streams and other
multi-line text as literal blocks, bytes that are not UTF-8 as `!!binary`,
and our per-interaction `metadata:` beside `request`/`response`, which vcrpy
ignores. Round trip: `loads_interactions(dump_interactions(x))` equals `x`
except that JSON bodies may be re-indented, with `content-length` following.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pytest_llmops.recording.errors import CassetteFormatError
from pytest_llmops.recording.interactions import (
    Headers,
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.recording.parse_cache import ParseCache, read_bytes
from pytest_llmops.recording.yaml_emitter import FlowMap, FlowSeq
from pytest_llmops.recording.yaml_io import dump_cassette, load_yaml

__all__ = ["CassetteFormatError", "dump_interactions", "load_interactions", "loads_interactions"]

_JSON_SUFFIXES = frozenset({".json", ".har"})


_parse_cache: ParseCache | None = None


def use_parse_cache(folder: Path | None) -> None:
    """Keep parsed cassettes in `folder` by content hash (the session points it into pytest's cache
    folder); None turns caching off."""
    global _parse_cache
    _parse_cache = ParseCache(folder) if folder is not None else None


def load_interactions(path: Path) -> list[Interaction]:
    """Read a cassette file of any supported format. A missing file raises FileNotFoundError.

    With the parse cache on, what is kept per content is the interactions after every check (`_row`
    of each), so a cached file skips the YAML reader, the layout checks and the body decoding: it is
    a hash, a `marshal.loads` and the objects. A file that fails a check is never kept, so it fails
    the same way on every run.
    """
    data = read_bytes(path)
    if _parse_cache is None:
        return loads_interactions(data, path=path)
    # A file named .json must be valid JSON, where a .yaml holding the same bytes falls back to YAML.
    kind = "json" if path.suffix.lower() in _JSON_SUFFIXES else ""
    rows = _parse_cache.load(data, lambda: [_row(x) for x in loads_interactions(data, path=path)], kind=kind)
    try:
        return [_from_row(row) for row in rows]
    except (TypeError, ValueError):  # an entry of another shape (damaged, hand-made): read the file itself
        return loads_interactions(data, path=path)


def _row(interaction: Interaction) -> tuple[Any, ...]:
    """An interaction as plain data `marshal` keeps (tuples, dicts, lists, str, bytes, numbers)."""
    request, response, meta = interaction.request, interaction.response, interaction.meta
    return (
        None if request is None else (request.method, request.uri, request.headers, request.body),
        (response.status, response.reason, response.headers, response.body),
        (
            meta.recorded_at,
            meta.latency_ms,
            meta.ttfb_ms,
            meta.attempts,
            meta.truncated,
            meta.error,
            meta.extra,
        ),
    )


def _from_row(row: tuple[Any, ...]) -> Interaction:
    request, response, meta = row
    return Interaction(
        None if request is None else RecordedRequest(*request),
        RecordedResponse(*response),
        InteractionMeta(*meta),
    )


def loads_interactions(text: str | bytes, *, path: Path) -> list[Interaction]:
    """Read cassette content; `path` names it in errors and breaks JSON/YAML ties."""
    # Imported here: a run that only writes cassettes (recording afresh) never loads the readers.
    from pytest_llmops.recording.layouts import interactions_from_data

    with _collector_paused():
        return interactions_from_data(_parse(text, path), path)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Reading a cassette makes ~15 containers per interaction and no reference cycle; the cyclic
    collector would walk them again and again as they pile up (a sixth of a cold read of 5,000
    interactions, more in a process holding many objects), and find nothing: reference counting
    frees all of it. (Not worth it around a parse-cache hit, which builds far fewer objects.)"""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse(text: str | bytes, path: Path) -> Any:
    if isinstance(text, str):
        text = text.removeprefix("\ufeff")
        head = text.lstrip()[:1]
        starts_like_json = head in ("{", "[")
    else:
        starts_like_json = text.lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[")
    if starts_like_json:
        # JSON is also YAML, but json is far faster and its errors are clearer for .json files.
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if path.suffix.lower() in _JSON_SUFFIXES:
                raise CassetteFormatError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
        except UnicodeDecodeError as exc:
            raise CassetteFormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return load_yaml(text, path)


def dump_interactions(interactions: Sequence[Interaction]) -> str:
    """Our YAML cassette: deterministic (same input, same text) and valid for vcrpy.

    Raises ValueError for a response-only interaction, which vcrpy cannot replay.
    """
    return dump_cassette([_interaction_data(x, i) for i, x in enumerate(interactions)])


def _interaction_data(interaction: Interaction, index: int) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    if request is None:
        raise ValueError(
            f"interactions[{index}] has no request (a response-only recording); "
            "a vcrpy cassette needs one to match against"
        )
    request_body = _body_out(request.body, request.headers, pretty=True)
    response_body = _body_out(
        response.body, response.headers, pretty=not (response.is_sse or response.is_json_lines)
    )
    out: dict[str, Any] = {
        "request": {
            "method": request.method,
            "uri": request.uri,
            "headers": _headers_out(request.headers, request_body),
            "body": request_body,
        },
        "response": {
            "status": FlowMap(code=response.status, message=response.reason),
            "headers": _headers_out(response.headers, response_body),
            "body": {"string": "" if response_body is None else response_body},
        },
    }
    meta = interaction.meta.to_dict()
    if meta:
        out["metadata"] = FlowMap(meta)
    return out


def _body_out(body: bytes | None, headers: Headers, *, pretty: bool) -> str | bytes | None:
    """The body as it will be written: text when it is UTF-8, JSON re-indented for review."""
    if body is None:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body  # dumped as !!binary
    if pretty and _may_hold_json(headers):
        return _pretty_json(text) or text
    return text


def _may_hold_json(headers: Headers) -> bool:
    content_type = next((v[0] for k, v in headers.items() if k.lower() == "content-type" and v), "")
    return not content_type or "json" in content_type.lower()


def _pretty_json(text: str) -> str | None:
    if text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        value = json.loads(text)
        pretty = _layout(value, 0, 0, {}) + "\n"
        pretty.encode("utf-8")  # a lone surrogate escape in the JSON cannot be written as UTF-8
    except (ValueError, UnicodeEncodeError):
        return None
    return pretty


JSON_WIDTH = 120
"""Lines of a JSON body stay within this width, not counting one long string per line."""

_encode = json.JSONEncoder(
    ensure_ascii=False
).encode  # what json.dumps(x, ensure_ascii=False) does, made once
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_encode_str = json.encoder.encode_basestring  # what _encode does with a str (ensure_ascii=False)
_CONSTANTS = {None: "null", True: "true", False: "false"}


def _encode_scalar(value: Any) -> str:
    """`_encode(value)` for a JSON scalar, without building an encoder per call (the layout encodes
    every scalar of a body)."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if value is None or kind is bool:
        return _CONSTANTS[value]
    return _encode(value)  # NaN, infinities, subclasses: as json does them


_Flat = dict[int, tuple[str, int]]
"""id of a container -> (its one-line JSON, the length of its longest string token, quotes included)."""


def _layout(value: Any, indent: int, start: int, flats: _Flat) -> str:
    """`value` as JSON for review, starting at column `start`, its continuation lines at `indent` + 1.

    A list goes on one line when it fits in JSON_WIDTH; an object also when it fits once its longest
    string is left out: a chat message or an answer's choice is one line, however long its text. Else
    its members follow the opening bracket, filled up to the width on lines one space deeper than
    `indent`; a member that needs more than one line, or is over the width, starts a line of its own
    and ends its line; the closing bracket ends the last line. A broken list of several objects starts
    its first one on a new line, so the messages of a conversation line up. So a cassette stays short, and
    a change in review shows in the line of the message or field it is in.
    """
    flat, longest = _flat(value, flats)
    if not isinstance(value, dict | list) or not value or start + len(flat) <= JSON_WIDTH:
        return flat
    if isinstance(value, dict) and start + len(flat) - longest <= JSON_WIDTH:
        return flat
    inner = indent + 1
    newline = "\n" + " " * inner
    members: list[tuple[str, Any]]
    if isinstance(value, dict):
        members = [(_encode_scalar(k) + ": ", v) for k, v in value.items()]
        out, column, close = ["{"], start + 1, "}"
    else:
        members = [("", v) for v in value]
        out, column, close = ["["], start + 1, "]"
        if len(value) > 1 and any(isinstance(v, dict | list) and v for v in value):
            out.append(newline)
            column = inner
    ended = False  # the line so far must end: it holds a broken member or one over the width
    for i, (key, v) in enumerate(members):
        if i:
            column += 1
            if ended or column + 1 + len(key) + len(_flat(v, flats)[0]) > JSON_WIDTH:
                out.append("," + newline)
                column = inner
            else:
                out.append(", ")
                column += 1
        piece = key + _layout(v, inner, column + len(key), flats)
        out.append(piece)
        last_break = piece.rfind("\n")
        if last_break >= 0:
            ended, column = True, len(piece) - last_break - 1
        else:
            column += len(piece)
            ended = column > JSON_WIDTH
    out.append(close)
    return "".join(out)


def _flat(value: Any, flats: _Flat) -> tuple[str, int]:
    """`value` as one-line JSON (as json.dumps writes it) and its longest string token, each container
    encoded once however deep the layout goes (`flats` keeps them)."""
    if not isinstance(value, dict | list):
        text = _encode_scalar(value)
        return text, len(text) if isinstance(value, str) else 0
    if not value:
        return _encode(value), 0
    known = flats.get(id(value))
    if known is not None:
        return known
    if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
        text = _encode(value)  # a list of scalars (an embedding): one C call
        out = text, max(map(len, _JSON_STRING.findall(text)), default=0) if '"' in text else 0
    else:
        parts: list[str] = []
        longest = 0
        if isinstance(value, dict):
            for k, v in value.items():
                key = _encode_scalar(k)
                text, inner = _flat(v, flats)
                parts.append(f"{key}: {text}")
                longest = max(longest, inner)  # a long text, not a long key
            out = "{" + ", ".join(parts) + "}", longest
        else:
            for v in value:
                text, inner = _flat(v, flats)
                parts.append(text)
                longest = max(longest, inner)
            out = "[" + ", ".join(parts) + "]", longest
    flats[id(value)] = out
    return out


def _headers_out(headers: Headers, body: str | bytes | None) -> dict[str, list[str]]:
    """One line per header (`name: [value]`); a content-length is made to match the body as written."""
    length = None
    if body is not None:
        length = str(len(body.encode("utf-8") if isinstance(body, str) else body))
    out: dict[str, list[str]] = {}
    for key, values in headers.items():
        if length is not None and key.lower() == "content-length":
            values = [length]
        out[key] = FlowSeq(values) if len(values) == 1 else list(values)
    return out
