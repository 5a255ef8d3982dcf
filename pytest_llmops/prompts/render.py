"""Prompt templates: `{name}` variables, `{{` and `}}` for literal braces.

We parse templates ourselves instead of calling `str.format`: only a plain
ASCII identifier in braces is a variable, so a template can never reach
attributes or items (`{x.__class__}`, `{x[0]}`), conversions or format specs,
and a value containing braces is inserted as is, never re-parsed. Anything
else in braces is a syntax error reported with its line and column, which
catches the common mistake of pasting a JSON example without doubling its
braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}|\{|\}")

_ESCAPE_HINT = "write '{{' and '}}' for literal braces"


@dataclass(frozen=True)
class Variable:
    name: str


Segment = str | Variable


@dataclass(frozen=True)
class TemplateSyntaxError:
    """One bad brace in a template; `line` and `column` are 1-based within the template text."""

    line: int
    column: int
    message: str


@dataclass(frozen=True)
class Template:
    source: str
    segments: tuple[Segment, ...]

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(s.name for s in self.segments if isinstance(s, Variable))

    def render(self, values: Mapping[str, object]) -> str:
        """Substitute `values` (each turned into text with `str`); every variable must be present."""
        return "".join(s if isinstance(s, str) else str(values[s.name]) for s in self.segments)


def parse_template(text: str) -> tuple[Template, list[TemplateSyntaxError]]:
    """Parse `text`, collecting every brace error rather than stopping at the first."""
    segments: list[Segment] = []
    errors: list[TemplateSyntaxError] = []
    literal: list[str] = []
    pos = 0
    for match in _TOKEN_RE.finditer(text):
        literal.append(text[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token == "{{":
            literal.append("{")
        elif token == "}}":
            literal.append("}")
        elif token == "{":
            errors.append(_error(text, match.start(), f"unclosed '{{' ({_ESCAPE_HINT})"))
        elif token == "}":
            errors.append(_error(text, match.start(), f"single '}}' ({_ESCAPE_HINT})"))
        else:
            inner = match.group(1)
            if _IDENT_RE.fullmatch(inner):
                if literal:
                    segments.append("".join(literal))
                    literal = []
                segments.append(Variable(inner))
            else:
                errors.append(_error(text, match.start(), _explain(token)))
    literal.append(text[pos:])
    if "".join(literal):
        segments.append("".join(literal))
    return Template(text, tuple(s for s in segments if s != "")), errors


def _explain(token: str) -> str:
    inner = token[1:-1]
    if not inner.strip():
        what = "empty braces are not a variable"
    elif _IDENT_RE.fullmatch(inner.strip()):
        what = f"no spaces inside braces: write {{{inner.strip()}}}"
    else:
        what = (
            f"{token!r} is not a variable: only plain names like {{context}} are substituted "
            "(no attributes, indexing, conversions or format specs)"
        )
    return f"{what}; {_ESCAPE_HINT}"


def _error(text: str, offset: int, message: str) -> TemplateSyntaxError:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return TemplateSyntaxError(line, column, message)
