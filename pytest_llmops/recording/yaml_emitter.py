"""Write cassette data as YAML text directly, several times faster than PyYAML's representer.

PyYAML spends ~15 µs per scalar representing and resolving it, so 5,000
interactions took over 3 s to dump. Cassette data is a small, known shape
(block mappings and sequences, one-line flow collections of scalars, text
bodies, bytes), so `emit_item` writes it with plain string formatting. Its
style matches the PyYAML dumper's (literal blocks for multi-line text,
`!!binary` for bytes, quotes only where needed), and the tests hold it to
loading back identically with PyYAML. Anything outside that shape raises
`Unsupported` and the caller dumps that item with PyYAML instead.
"""

from __future__ import annotations

import base64
import math
import re
from functools import cache
from typing import Any

__all__ = ["NOT_PRINTABLE", "PRINTABLE", "FlowMap", "FlowSeq", "Unsupported", "emit_item"]


class FlowMap(dict[str, Any]):
    """A mapping written on one line (`{code: 200, message: OK}`)."""


class FlowSeq(list[Any]):
    """A sequence written on one line (`[application/json]`)."""


class Unsupported(Exception):
    """This data needs PyYAML's general emitter."""


# Written as is: no indicator first, nothing YAML treats specially inside (flow: no ':' at all).
_PLAIN_BLOCK = re.compile(r"[A-Za-z0-9_./(](?:[A-Za-z0-9 _./()+=;~^$%&@!*?|<>-]|:(?=[^\s]))*")
_PLAIN_FLOW = re.compile(r"[A-Za-z0-9_./(][A-Za-z0-9 _./()+=;~^$%&@!*|<>-]*")  # '?' ends a flow scalar
# What YAML lets stand unescaped in a scalar: PyYAML's printable set, less the characters it
# also treats as line breaks (NEL, LS, PS) and the BOM.
PRINTABLE = "\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff"
_ABOVE_ASCII = r"\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff"
NOT_PRINTABLE = r"\x00-\x1f" + _ABOVE_ASCII
"""Every other code point, for a regex class: `[NOT_PRINTABLE]` matches what `[^PRINTABLE]` does, and
compiles in microseconds (a negated class reaching U+10FFFF costs the compiler ~10 ms a process)."""
_NEEDS_ESCAPE = re.compile(rf'[{NOT_PRINTABLE}"\\]')
_NOT_SINGLE = re.compile(f"[{NOT_PRINTABLE}]")
# A literal block holds printable text and tabs, but no trailing spaces (editors eat them).
_NOT_LITERAL = re.compile(rf"[\x00-\x08\x0b-\x1f{_ABOVE_ASCII}]|[ \t]\n|[ \t]$")
_ESCAPES = {
    "\0": "0", "\x07": "a", "\x08": "b", "\t": "t", "\n": "n", "\x0b": "v", "\x0c": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\u2028": "L", "\u2029": "P",
}  # fmt: skip


@cache
def _implicit_resolvers() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """PyYAML's rules for which plain scalars load as another type; read when the first scalar needs them,
    so reading cassettes (which imports FlowMap and FlowSeq from here) does not load PyYAML."""
    import yaml

    return yaml.resolver.Resolver.yaml_implicit_resolvers


def emit_item(item: dict[str, Any]) -> str:
    """One item of a top-level block sequence (`- key: ...`), with the same indentation PyYAML uses."""
    if not item:
        raise Unsupported("empty item")
    out: list[str] = []
    _mapping(item, 2, out)
    out[0] = "- " + out[0][2:]
    return "".join(out)


def _mapping(data: dict[Any, Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key, value in data.items():
        name = _scalar(key, flow=False)
        if len(name) > 1000 or "\n" in name:
            raise Unsupported("long key")
        kind = type(value)
        if kind is FlowSeq or kind is FlowMap:
            out.append(f"{pad}{name}: {_flow(value)}\n")
        elif kind is dict:
            if value:
                out.append(f"{pad}{name}:\n")
                _mapping(value, indent + 2, out)
            else:
                out.append(f"{pad}{name}: {{}}\n")
        elif kind is list:
            if value:
                out.append(f"{pad}{name}:\n")
                _sequence(value, indent, out)
            else:
                out.append(f"{pad}{name}: []\n")
        elif kind is str and "\n" in value and not _NOT_LITERAL.search(value):
            out.append(f"{pad}{name}: {_literal(value, indent + 2)}")
        elif kind is bytes:
            out.append(f"{pad}{name}: {_binary(value, indent + 2)}")
        else:
            out.append(f"{pad}{name}: {_scalar(value, flow=False)}\n")


def _sequence(items: list[Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if type(item) in (dict, list, bytes, FlowMap, FlowSeq):
            raise Unsupported("nested collection in a sequence")
        out.append(f"{pad}- {_scalar(item, flow=False)}\n")


def _flow(data: FlowMap | FlowSeq) -> str:
    if isinstance(data, FlowMap):
        return (
            "{"
            + ", ".join(f"{_scalar(k, flow=True)}: {_scalar(v, flow=True)}" for k, v in data.items())
            + "}"
        )
    return "[" + ", ".join(_scalar(v, flow=True) for v in data) + "]"


def _scalar(value: Any, *, flow: bool) -> str:
    kind = type(value)
    if kind is str:
        return _string(value, flow=flow)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return _float(value)
    if value is None:
        return "null"
    raise Unsupported(f"{kind.__name__} scalar")


def _string(value: str, *, flow: bool) -> str:
    # Header names and values repeat across interactions: remember short ones.
    cache = _FLOW_CACHE if flow else _BLOCK_CACHE
    written = cache.get(value)
    if written is None:
        written = _quote(value, flow=flow)
        if len(value) <= 256:
            if len(cache) >= 50_000:
                cache.clear()
            cache[value] = written
    return written


_FLOW_CACHE: dict[str, str] = {}
_BLOCK_CACHE: dict[str, str] = {}


def _quote(value: str, *, flow: bool) -> str:
    plain = _PLAIN_FLOW if flow else _PLAIN_BLOCK
    if value and value[-1] != " " and plain.fullmatch(value) and not _resolves(value):
        return value
    if _NOT_SINGLE.search(value) is None:
        return "'" + value.replace("'", "''") + "'"
    return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'


def _resolves(value: str) -> bool:
    """Would a plain `value` load as something other than a string (a number, bool, null, date)?"""
    resolvers = _implicit_resolvers().get(value[0]) or ()
    return any(regexp.match(value) for _, regexp in resolvers)


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _ESCAPES:
        return "\\" + _ESCAPES[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02X}"
    if code <= 0xFFFF:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"


def _float(value: float) -> str:
    # YAML 1.1 spellings, as PyYAML writes them: `.nan`, `.inf`, and always a dot before an exponent.
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def _literal(text: str, indent: int) -> str:
    """`|` header and content lines; its indicators keep leading spaces and trailing newlines exact."""
    header = "|"
    if text[0] in " \t\n":
        header += "2"  # starts with spaces, a tab (libyaml refuses to guess then) or a blank line
    if not text.endswith("\n"):
        header += "-"
        lines = text.split("\n")
    else:
        if text == "\n" or text.endswith("\n\n"):
            header += "+"
        lines = text[:-1].split("\n")
    pad = " " * indent
    return header + "\n" + "".join(f"{pad}{line}\n" if line else "\n" for line in lines)


def _binary(data: bytes, indent: int) -> str:
    if not data:
        raise Unsupported("empty binary")
    pad = " " * indent
    encoded = base64.encodebytes(data).decode("ascii")
    return "!!binary |\n" + "".join(f"{pad}{line}\n" for line in encoded.splitlines())
