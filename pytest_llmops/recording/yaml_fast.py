"""A fast reader for the regular subset of YAML that our own cassette writer emits.

PyYAML builds a Python node object per scalar (~5-10 µs each, even with
libyaml), and a chat interaction has ~80 of them, mostly header lists: 5,000
interactions took about 5 s. Our writer's output is narrow and regular (block
mappings, indentless sequences, one-line flow collections of scalars, quoted
scalars, literal blocks, `!!binary`), and this line-oriented reader parses it
several times faster, mostly with C-level regex and slicing.

It is an accelerator, never the authority: anything outside the subset
(comments, anchors, folded or multi-line plain scalars, other tags, blank
lines between entries, hand edits in another style) makes `fast_load`
return None and the caller parses with PyYAML, which also reports errors.

Two levels: each item of `interactions:` is first matched whole against the
exact layout our writer gives an interaction (`_ITEM`: one regex, then a few
string operations per field, ~4x faster than going line by line); an item
that differs in any way (a key more or less, another order, other
indentation, a multi-valued header, a comment) is read by the general
line-by-line reader (`_Reader`), which gives up on what it does not know.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import yaml

from pytest_llmops.recording.yaml_emitter import PRINTABLE

__all__ = ["fast_load"]


class _Unsupported(Exception):
    """The text leaves the subset; PyYAML must parse it."""


_NON_PRINTABLE = re.compile(f"[^\\t\\n{PRINTABLE}]")
_SPACES = re.compile(" *")
# A block mapping key: plain (no ':' or '#' inside) or quoted, then ':' and a space or the line end.
_KEY = re.compile(
    r"""(?:([^\s\-?:,\[\]{}#&*!|>'"%@`][^:\n#]*?)|'((?:[^'\n]|'')*)'|"((?:[^"\\\n]|\\.)*)"):(?: |(?=\n))"""
)
# The commonest line shapes, matched in one go: `key:` (a block follows), `key: [value]`,
# `key: ['value']`, `key: 'value'` and `key: value`. Plain scalars starting with a letter can only
# resolve to bool or null, spelled as in `_WORDS`; those starting with a digit go through `_plain`.
_ENTRY = re.compile(
    r"( *)([A-Za-z][\w.-]*):(?:\n| (?:"
    r"\[([A-Za-z0-9][^\t,\[\]{}:#?'\"\n]*)\]"
    r"|\['((?:[^'\n]|'')*)'\]"
    r"|'((?:[^'\n]|'')*)'"
    r"|([A-Za-z0-9](?:[^\t\n:#]|:(?=\S))*)"
    r")\n)"
)
_WORDS = frozenset(
    {"yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE"}
    | {"on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL"}
)
_SINGLE = re.compile(r"'((?:[^'\n]|'')*)'")
_DOUBLE = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_FLOW_PLAIN = re.compile(r"[^\s,\[\]{}:#'\"&*!|>%@`?-][^,\[\]{}:#?\n]*")
_FLOW_SEP = re.compile(r" *(,|\]|\}) *")
_BLOCK_HEADER = re.compile(r"\|(?:([1-9])([+-]?)|([+-])([1-9])?)?$")
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_ESCAPES = {
    "0": "\0", "a": "\x07", "b": "\x08", "t": "\t", "\t": "\t", "n": "\n", "v": "\x0b", "f": "\x0c",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "\\": "\\", "/": "/", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("bool", "int", "float", "null", "timestamp")
)
_block_content: dict[int, re.Pattern[str]] = {}
_block_dedent: dict[int, re.Pattern[str]] = {}


def fast_load(text: str) -> Any:
    """The document as PyYAML's safe loader would build it, or None when outside the subset."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if not text or "\r" in text or _has_non_printable(text) or text.startswith(("%", "---", "\ufeff")):
        return None
    if not text.endswith("\n"):
        text += "\n"
    if text.endswith("\n...\n"):  # libyaml ends a document whose last block scalar kept its newlines
        text = text[:-4]
    reader = _Reader(text)
    try:
        value = _our_cassette(reader) if text.startswith(_OUR_START) else reader.mapping(0)
    except (_Unsupported, IndexError, ValueError):
        return None
    return value if reader.pos == len(text) and value else None


_ASCII_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\n"


def _has_non_printable(text: str) -> bool:
    if text.isascii():  # the usual case: a C pass over the bytes instead of a regex over the text
        return bool(text.encode("ascii").translate(None, _ASCII_PRINTABLE))
    return _NON_PRINTABLE.search(text) is not None


# --- our writer's layout of an interaction, matched whole ------------------------------------------

_OUR_START = "interactions:\n- "
# An interaction as `formats.dump_interactions` writes it: request (method, uri, headers, body),
# response (status, headers, body.string), then optional one-line metadata. Header maps hold one-line
# `name: [value]` entries; a body is a one-line scalar or a block (`|`, `!!binary |`) whose lines are
# indented exactly two deeper than its key, or empty. Possessive quantifiers: a mismatch fails at once.
_ITEM = re.compile(
    r"- request:\n"
    r"    method: ([^\n]*+)\n"
    r"    uri: ([^\n]*+)\n"
    r"    headers:(?: \{\}\n|\n((?:      [A-Za-z][^\n]*+\n)++))"
    r"    body: ([^\n]*+)\n((?:      [^\n]*+\n|\n)*+)"
    r"  response:\n"
    r"    status: (\{[^\n]*+)\n"
    r"    headers:(?: \{\}\n|\n((?:      [A-Za-z][^\n]*+\n)++))"
    r"    body:\n"
    r"      string: ([^\n]*+)\n((?:        [^\n]*+\n|\n)*+)"
    r"(?:  metadata: (\{[^\n]*+)\n)?+"
)
# One `name: [value]` header line (one value: plain, single- or double-quoted), as the writer emits it.
_HEADER = re.compile(
    r"      ([A-Za-z][\w.-]*+): \[(?:([\w./(][^\t,\[\]{}:#?'\"\n]*+)|'((?:[^'\n]|'')*+)'"
    r"|\"((?:[^\"\\\n]|\\.)*+)\")\]\n"
)
_FLOW_MAPS: dict[str, dict[Any, Any]] = {}  # status lines repeat: `{code: 200, message: OK}`


def _our_cassette(reader: _Reader) -> dict[Any, Any]:
    """`interactions:` items matched by `_ITEM` where they can be, by the general reader where not,
    then the rest of the document (`version: 1`) by the general reader."""
    text = reader.text
    items: list[Any] = []
    pos = len(_OUR_START) - 2
    while text.startswith("- ", pos):
        match = _ITEM.match(text, pos)
        item = None
        # The item must end where the next top-level line starts, not before more of its own keys.
        if match is not None and text[match.end() : match.end() + 1] != " ":
            try:
                item = _our_item(match)
            except (_Unsupported, IndexError, ValueError):
                item = None
        if item is not None:
            pos = match.end()  # type: ignore[union-attr]
        else:
            reader.pos = pos
            item = reader.mapping(2, first=pos + 2)
            pos = reader.pos
        items.append(item)
    reader.pos = pos
    if pos < len(text) and text[pos] == " ":
        raise _Unsupported("unexpected indentation")
    out: dict[Any, Any] = {"interactions": items}
    out.update(reader.mapping(0))  # a repeated key wins, as in PyYAML
    return out


def _our_item(match: re.Match[str]) -> dict[str, Any]:
    method, uri, request_headers, body, body_lines, status, response_headers, string, string_lines, meta = (
        match.groups()
    )
    known = _FLOW_MAPS.get(status)
    if known is None:
        known = _flow_line(status)
        if not isinstance(known, dict):
            raise _Unsupported("status")
        if len(_FLOW_MAPS) < 1000:
            _FLOW_MAPS[status] = known
    item: dict[str, Any] = {
        "request": {
            "method": _line_scalar(method),
            "uri": _line_scalar(uri),
            "headers": _headers(request_headers),
            "body": _line_value(body, body_lines, 6),
        },
        "response": {
            "status": dict(known),
            "headers": _headers(response_headers),
            "body": {"string": _line_value(string, string_lines, 8)},
        },
    }
    if meta is not None:
        item["metadata"] = _flow_line(meta)
    return item


def _headers(lines: str | None) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    if lines is None:  # `headers: {}`
        return out
    pos, end = 0, len(lines)
    while pos < end:
        match = _HEADER.match(lines, pos)
        if match is None:
            raise _Unsupported("header line")
        key, plain, single, double = match.groups()
        if key in _WORDS:
            key = _plain(key, block=True)
        if plain is not None:
            value = plain.rstrip(" ")
            out[key] = [value if value[0].isalpha() and value not in _WORDS else _plain(value, block=False)]
        elif single is not None:
            out[key] = [single.replace("''", "'")]
        else:
            out[key] = [_unescape(double)]
        pos = match.end()
    return out


# A flow mapping of `key: value` pairs with plain keys and plain or single-quoted values, as the
# writer emits metadata: `{recorded_at: '2026-...Z', latency_ms: 11.661}`. Checked whole first, then
# its pairs are read with findall (the same segmentation: each part matches in one way only).
_PAIR = r"([A-Za-z_]\w*+): ('(?:[^'\n]|'')*+'|[^\s,\[\]{}:#'\"!&*?|>%@`-][^,\[\]{}:#'\"\n]*+)"
_SIMPLE_MAP = re.compile(rf"\{{{_PAIR}(?:, {_PAIR})*+\}}")
_PAIRS = re.compile(_PAIR)


def _flow_line(text: str) -> Any:
    """A flow collection that is the whole rest of a line."""
    if _SIMPLE_MAP.fullmatch(text):
        out: dict[Any, Any] = {}
        for key, value in _PAIRS.findall(text):
            if key in _WORDS:
                key = _plain(key, block=False)
            if value[0] == "'":
                out[key] = value[1:-1].replace("''", "'")
            else:
                value = value.rstrip(" ")
                out[key] = value if value[0].isalpha() and value not in _WORDS else _plain(value, block=False)
        return out
    value, end = _flow(text, 0)
    if end != len(text):
        raise _Unsupported("text after a flow collection")
    return value


def _line_scalar(text: str) -> Any:
    """A scalar that is the whole rest of a line (after `key: `)."""
    first = text[:1]
    if first == "'":
        match = _SINGLE.fullmatch(text)
        if match is None:
            raise _Unsupported("single-quoted scalar")
        return match.group(1).replace("''", "'")
    if first == '"':
        match = _DOUBLE.fullmatch(text)
        if match is None:
            raise _Unsupported("double-quoted scalar")
        return _unescape(match.group(1))
    if first == "[" or first == "{":
        return _flow_line(text)
    return _plain(text, block=True)  # refuses '|', '>', '!', '&', '*', '#' and an empty value


def _line_value(head: str, lines: str, width: int) -> Any:
    """A value starting after `key: ` (`head`), with the `lines` indented `width` below it: a block
    scalar (literal or `!!binary`) owns them; a one-line scalar must have none."""
    if head[:1] == "|":
        return _literal(head, lines, width)
    if head.startswith("!!binary "):
        return _binary(_literal(head[9:], lines, width))
    if lines:
        raise _Unsupported("continued scalar")
    return _line_scalar(head)


def _literal(header: str, lines: str, width: int) -> str:
    """A literal block whose content `lines` are each empty or indented at least `width` spaces."""
    match = _BLOCK_HEADER.match(header)
    if match is None:
        raise _Unsupported("block scalar header")
    increment = match.group(1) or match.group(4)
    chomp = match.group(2) or match.group(3) or ""
    pad = " " * width
    if increment:
        if int(increment) != 2:  # the writer's blocks sit two deeper than their key
            raise _Unsupported("block scalar indentation")
        content = ("\n" + lines).replace("\n" + pad, "\n")[1:]
    else:
        # Indentation is the first line's: exactly `width` (a blank or deeper first line: general reader).
        if not lines.startswith(pad) or lines[width] in " \n":
            raise _Unsupported("block scalar indentation")
        content = lines[width:].replace("\n" + pad, "\n")
    if chomp == "+":
        return content
    stripped = content.rstrip("\n")
    return stripped if chomp == "-" or not stripped else stripped + "\n"


class _Reader:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0  # always at the start of a line between nodes

    def _indent(self) -> int:
        match = _SPACES.match(self.text, self.pos)
        assert match is not None
        if self.text[match.end()] == "\n":
            raise _Unsupported("blank line")
        return match.end() - self.pos

    def mapping(self, indent: int, first: int | None = None) -> dict[Any, Any]:
        """A block mapping whose keys sit at column `indent`; `first` is a key after "- " on this line."""
        text, out = self.text, {}
        while True:
            if first is not None:
                start, first = first, None
            else:
                entry = _ENTRY.match(text, self.pos)
                if entry is not None and entry.end(1) - entry.start(1) == indent:
                    self.pos = entry.end()
                    key = entry.group(2)
                    if key in _WORDS:
                        key = _plain(key, block=True)
                    out[key] = self._entry_value(entry, indent)
                    continue
                if self.pos >= len(text):
                    break
                lead = self._indent()
                if lead < indent:
                    break
                if lead > indent:
                    raise _Unsupported("unexpected indentation")
                start = self.pos + indent
            match = _KEY.match(text, start)
            if match is None:
                raise _Unsupported("not a simple key")
            key = _key(match)
            end = match.end()
            if text[end] == "\n":
                self.pos = end + 1
                out[key] = self._nested(indent)
            else:
                out[key] = self._inline(end, indent, block_ok=True)
        return out

    def _entry_value(self, entry: re.Match[str], indent: int) -> Any:
        _, _, flow_plain, flow_quoted, quoted, plain = entry.groups()
        if flow_plain is not None:
            value = flow_plain.rstrip(" ")
            return [value if value[0].isalpha() and value not in _WORDS else _plain(value, block=False)]
        if flow_quoted is not None:
            return [flow_quoted.replace("''", "'")]
        if quoted is not None:
            return quoted.replace("''", "'")
        if plain is not None:
            value = plain.rstrip(" ")
            return value if value[0].isalpha() and value not in _WORDS else _plain(value, block=True)
        return self._nested(indent)

    def _nested(self, indent: int) -> Any:
        """The value of `key:` with nothing after the colon: a block below, or null."""
        text = self.text
        if self.pos >= len(text):
            return None
        lead = self._indent()
        at = self.pos + lead
        is_item = text.startswith("- ", at)
        if lead == indent and is_item:
            return self._sequence(indent)
        if lead > indent:
            return self._sequence(lead) if is_item else self.mapping(lead)
        return None

    def _sequence(self, indent: int) -> list[Any]:
        text, out = self.text, []
        while self.pos < len(text):
            lead = self._indent()
            if lead < indent:
                break
            at = self.pos + lead
            if lead > indent or not text.startswith("- ", at):
                if lead == indent:
                    break  # the parent mapping's next key (indentless sequence)
                raise _Unsupported("unexpected indentation in a sequence")
            start = at + 2
            if _KEY.match(text, start):
                out.append(self.mapping(indent + 2, first=start))
            else:
                out.append(self._inline(start, indent, block_ok=False))
        return out

    def _inline(self, start: int, indent: int, *, block_ok: bool) -> Any:
        """A value that starts on this line at `start`; leaves `pos` at the next node's line."""
        text = self.text
        eol = text.index("\n", start)
        first = text[start]
        if first == "|" or first == "!":
            if not block_ok:
                raise _Unsupported("block scalar in a sequence")
            if first == "!":
                if not text.startswith("!!binary |", start):
                    raise _Unsupported("tag")
                return _binary(self._block(text[start + 9 : eol], indent, eol))
            return self._block(text[start:eol], indent, eol)
        self.pos = eol + 1
        if first == "'":
            match = _SINGLE.match(text, start)
            if match is None or match.end() != eol:
                raise _Unsupported("multi-line single-quoted scalar")
            return match.group(1).replace("''", "'")
        if first == '"':
            match = _DOUBLE.match(text, start)
            if match is None or match.end() != eol:
                raise _Unsupported("multi-line double-quoted scalar")
            return _unescape(match.group(1))
        if first == "[" or first == "{":
            value, end = _flow(text, start)
            if end != eol:
                raise _Unsupported("text after a flow collection")
            return value
        return _plain(text[start:eol], block=True)

    def _block(self, header: str, indent: int, eol: int) -> str:
        """A literal block scalar (`|`, `|-`, `|+`, `|2-`, ...) under a key at column `indent`."""
        match = _BLOCK_HEADER.match(header)
        if match is None:
            raise _Unsupported("block scalar header")
        increment = match.group(1) or match.group(4)
        chomp = match.group(2) or match.group(3) or ""
        text, start = self.text, eol + 1
        if increment:
            width = indent + int(increment)
        else:
            width = _SPACES.match(text, start).end() - start  # type: ignore[union-attr]
            if width <= indent or text[start + width] == "\n":
                raise _Unsupported("block scalar indentation")
        pattern = _block_content.get(width)
        if pattern is None:
            pattern = _block_content[width] = re.compile(f"(?: {{{width}}}[^\\n]*\\n| *\\n)*")
            _block_dedent[width] = re.compile(f"(?m)^ {{1,{width}}}")
        end = pattern.match(text, start).end()  # type: ignore[union-attr]
        self.pos = end
        content = _block_dedent[width].sub("", text[start:end])
        if chomp == "+":
            return content
        stripped = content.rstrip("\n")
        return stripped if chomp == "-" or not stripped else stripped + "\n"


def _key(match: re.Match[str]) -> Any:
    plain, single, double = match.groups()
    if plain is not None:
        if plain.endswith((" ", "\t")):
            raise _Unsupported("trailing space in a key")
        return _plain(plain, block=True)
    if single is not None:
        return single.replace("''", "'")
    return _unescape(double)


def _plain(value: str, *, block: bool) -> Any:
    """A plain scalar, resolved to bool/int/float/null/timestamp exactly as PyYAML would."""
    cache = _BLOCK_PLAIN if block else _FLOW_PLAIN_CACHE
    if value in cache:
        return cache[value]
    resolved = _resolve_plain(value, block=block)
    if len(value) <= 64:
        if len(cache) >= 50_000:
            cache.clear()
        cache[value] = resolved
    return resolved


# Resolved plain scalars (status codes, reasons, metadata keys) repeat in every interaction.
_BLOCK_PLAIN: dict[str, Any] = {}
_FLOW_PLAIN_CACHE: dict[str, Any] = {}


# Plain decimals PyYAML resolves to float (a dot) or int (no leading zero: `017` is octal in YAML 1.1).
_DECIMAL = re.compile(r"-?(?:[0-9]+\.[0-9]+|[1-9][0-9]*|0)")


def _resolve_plain(value: str, *, block: bool) -> Any:
    first = value[:1]
    if not first or first in " &*!|>%@`#,[]{}'\"?:" or value[-1] in " \t" or "\t" in value:
        raise _Unsupported("plain scalar")
    if first == "-" and value[1:2] in ("", " "):
        raise _Unsupported("plain scalar")
    if block and (": " in value or " #" in value or value[-1] == ":"):
        raise _Unsupported("plain scalar")
    if _DECIMAL.fullmatch(value):  # latencies, counts: what PyYAML's constructors make of them, directly
        return float(value) if "." in value else int(value)
    resolvers = _RESOLVERS.get(first)
    if resolvers:
        for tag, regexp in resolvers:
            if regexp.match(value):
                if tag not in _SCALAR_TAGS:
                    raise _Unsupported(tag)
                return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
    return value


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    return _ESCAPE.sub(_escape_char, body)


def _escape_char(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) > 1:
        char = chr(int(code[1:], 16))
        if "\ud800" <= char <= "\udfff":
            raise _Unsupported("surrogate escape")
        return char
    if code not in _ESCAPES:
        raise _Unsupported("escape")
    return _ESCAPES[code]


def _flow(text: str, start: int) -> tuple[Any, int]:
    """A one-line flow sequence or mapping of scalars; returns it and the index after it."""
    is_map = text[start] == "{"
    close = "}" if is_map else "]"
    pos = start + 1
    items: list[Any] = []
    pairs: dict[Any, Any] = {}
    if text[pos] == close:
        return ({} if is_map else []), pos + 1
    while True:
        key = None
        if is_map:
            key, pos = _flow_scalar(text, pos)
            if not text.startswith(": ", pos):
                raise _Unsupported("flow mapping entry")
            pos += 2
        value, pos = _flow_scalar(text, pos)
        if is_map:
            pairs[key] = value
        else:
            items.append(value)
        sep = _FLOW_SEP.match(text, pos)
        if sep is None:
            raise _Unsupported("flow separator")
        pos = sep.end()
        if sep.group(1) == close:
            return (pairs if is_map else items), pos
        if sep.group(1) != ",":
            raise _Unsupported("flow separator")


def _flow_scalar(text: str, pos: int) -> tuple[Any, int]:
    first = text[pos]
    if first == "'":
        match = _SINGLE.match(text, pos)
        if match is None:
            raise _Unsupported("flow scalar")
        return match.group(1).replace("''", "'"), match.end()
    if first == '"':
        match = _DOUBLE.match(text, pos)
        if match is None:
            raise _Unsupported("flow scalar")
        return _unescape(match.group(1)), match.end()
    match = _FLOW_PLAIN.match(text, pos)
    if match is None:
        raise _Unsupported("flow scalar")
    return _plain(match.group(0).rstrip(" "), block=False), match.end()


def _binary(value: str) -> bytes:
    try:
        return base64.decodebytes(value.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise _Unsupported("bad base64") from exc
