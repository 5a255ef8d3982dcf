"""multipart/form-data bodies (audio transcriptions, file uploads): their parts, and a form to match on.

Clients draw a new random boundary for every request (httpx, requests/urllib3,
aiohttp all do), so the bytes of the same upload differ from run to run. A
recording is therefore found by the form's fields, not by its bytes
(`match_form`). The boundary is read from the body itself (its first line is
`--<boundary>`), so every caller that has only the bytes (the matcher, the
diff of a miss, the cost parser) reads the same fields.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["FormPart", "form_fields", "match_form", "parse_form"]

TEXT_LIMIT = 8192
"""A file part up to this size that is UTF-8 text is matched (and shown in a miss's diff) by its text; a
larger or binary one by its size and SHA-256."""

# RFC 2046: 1-70 characters from this set, not ending in a space.
_BOUNDARY = re.compile(rb"--([0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?])\r\n")
_PARAM = re.compile(r';\s*([A-Za-z0-9_*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str | None
    content: bytes

    @property
    def text(self) -> str | None:
        """The content as UTF-8 text; None when it is not."""
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return None


def parse_form(body: bytes | None) -> list[FormPart] | None:
    """The parts of a multipart/form-data body, in order; None when `body` is not one (or is malformed)."""
    if not body or not body.startswith(b"--"):
        return None
    found = _BOUNDARY.match(body)
    if found is None:
        return None
    delimiter = b"\r\n--" + found.group(1)
    # Every part follows a delimiter line; the body ends with the closing one (`--` after it).
    rest = body[found.end() :]
    parts: list[FormPart] = []
    while True:
        end = rest.find(delimiter)
        if end < 0:
            return None
        part = _part(rest[:end])
        if part is None:
            return None
        parts.append(part)
        after = rest[end + len(delimiter) :]
        if after.startswith(b"--"):
            return parts if after[2:].strip(b"\r\n") == b"" else None
        if not after.startswith(b"\r\n"):
            return None
        rest = after[2:]


def _part(raw: bytes) -> FormPart | None:
    head, separator, content = raw.partition(b"\r\n\r\n")
    if not separator:
        # Headers and an empty body, the blank line's last CRLF taken as the delimiter's.
        if not raw.endswith(b"\r\n"):
            return None
        head, content = raw[:-2], b""
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    disposition = headers.get("content-disposition", "")
    if not disposition.lower().startswith("form-data"):
        return None
    params = {k.lower(): _unquote(v) for k, v in _PARAM.findall(disposition)}
    if "name" not in params:
        return None
    return FormPart(params["name"], params.get("filename"), headers.get("content-type"), content)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def match_form(parts: list[FormPart]) -> dict[str, Any]:
    """The form as JSON-like data to match on: field name -> value (a list when the name repeats).

    A text field is its text. A file is its name, content type and content: its text when it is short
    UTF-8, else its size and SHA-256, so a changed upload is a different request.
    """
    values: dict[str, list[Any]] = {}
    for part in parts:
        values.setdefault(part.name, []).append(_match_value(part))
    return {name: found[0] if len(found) == 1 else found for name, found in values.items()}


def _match_value(part: FormPart) -> Any:
    text = part.text
    plain_field = part.filename is None and (
        part.content_type is None or part.content_type.startswith("text/")
    )
    if plain_field and text is not None:
        return text
    value: dict[str, Any] = {"filename": part.filename, "content_type": part.content_type}
    if text is not None and len(part.content) <= TEXT_LIMIT:
        value["text"] = text
    else:
        value["size"] = len(part.content)
        value["sha256"] = hashlib.sha256(part.content).hexdigest()
    return value


def form_fields(body: bytes | None) -> dict[str, str] | None:
    """The text fields of a multipart/form-data body (the last value of a repeated name); None when
    `body` is not one. What a cost parser reads as the request (`model`, `response_format`, ...)."""
    parts = parse_form(body)
    if parts is None:
        return None
    out: dict[str, str] = {}
    for part in parts:
        text = part.text
        if part.filename is None and text is not None:
            out[part.name] = text
    return out
