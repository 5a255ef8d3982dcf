"""JSON values that satisfy a JSON Schema, for structured outputs and tool-call arguments.

Real models fill a schema from what the conversation says; the simulator does
the same mechanically: the answer text goes into the field that looks like the
answer, numbers from the question go into numeric fields in order, and every
other field gets a valid, deterministic value. Handles what the SDKs and
pydantic emit: `$ref`/`$defs`, `anyOf`/`oneOf`/`allOf`, `enum`, `const`,
nullable type lists, arrays with `minItems`, numeric bounds, string formats.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .responders import content_words

_ANSWER_FIELDS = ("answer", "response", "text", "content", "result", "output", "reply", "message", "summary")
_QUERY_FIELDS = ("query", "question", "search", "q", "prompt", "input", "topic", "keywords", "term")
_REASON_FIELDS = ("reason", "reasoning", "explanation", "rationale", "justification", "why")
_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")


@dataclass(slots=True)
class _Hints:
    answer: str
    question: str
    numbers: Iterator[float]
    answer_used: bool = False
    root: Mapping[str, Any] = field(default_factory=dict)
    history: str = ""


def json_answer(answer: str, question: str, schema: Mapping[str, Any] | None) -> str:
    """The assistant's message in JSON mode: `answer` if it already is JSON, else built from `schema`."""
    try:
        json.loads(answer)
        return answer
    except ValueError:
        pass
    if not schema:
        return json.dumps({"answer": answer}, ensure_ascii=False)
    return json.dumps(fill(schema, answer=answer, question=question), ensure_ascii=False)


def tool_arguments(parameters: Mapping[str, Any] | None, question: str, history: str = "") -> str:
    """JSON arguments for a call to a tool whose parameters are `parameters`.

    `history` is what the user said in earlier turns, latest first: an id the
    question does not repeat ("where is it now?") is taken from there, as a
    model reading the conversation would.
    """
    if not parameters:
        return "{}"
    value = fill(parameters, answer="", question=question, required_only=True, history=history)
    return json.dumps(value if isinstance(value, dict) else {}, ensure_ascii=False)


def fill(
    schema: Mapping[str, Any], *, answer: str, question: str, required_only: bool = False, history: str = ""
) -> Any:
    """A value valid against `schema`, carrying `answer` and the question's numbers where they fit."""
    numbers = iter([float(n) for n in _NUMBER.findall(question)])
    hints = _Hints(answer=answer, question=question, numbers=numbers, root=schema, history=history)
    return _value(schema, hints, name="", required_only=required_only, depth=0)


def _resolve(schema: Mapping[str, Any], hints: _Hints) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 32:
        ref = str(schema["$ref"])
        target: Any = hints.root
        for part in ref.lstrip("#/").split("/") if ref.startswith("#") else []:
            target = (
                target.get(part.replace("~1", "/").replace("~0", "~"), {})
                if isinstance(target, Mapping)
                else {}
            )
        merged = dict(target) if isinstance(target, Mapping) else {}
        merged.update({k: v for k, v in schema.items() if k != "$ref"})
        schema = merged
        seen += 1
    return schema


def _value(schema: Mapping[str, Any], hints: _Hints, *, name: str, required_only: bool, depth: int) -> Any:
    schema = _resolve(schema, hints)
    if depth > 12:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            usable = [
                o for o in options if isinstance(o, Mapping) and _resolve(o, hints).get("type") != "null"
            ]
            return _value(
                (usable or options)[0], hints, name=name, required_only=required_only, depth=depth + 1
            )
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, Mapping):
                merged.update(_resolve(part, hints))
        merged.update({k: v for k, v in schema.items() if k != "allOf"})
        return _value(merged, hints, name=name, required_only=required_only, depth=depth + 1)

    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"

    if kind == "object":
        return _object(schema, hints, required_only=required_only, depth=depth)
    if kind == "array":
        raw_items = schema.get("items")
        items: Mapping[str, Any] = raw_items if isinstance(raw_items, Mapping) else {"type": "string"}
        count = max(int(schema.get("minItems", 1)), 1)
        return [
            _value(items, hints, name=name, required_only=required_only, depth=depth + 1)
            for _ in range(count)
        ]
    if kind in ("integer", "number"):
        return _number(schema, hints, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, hints, name)


def _object(schema: Mapping[str, Any], hints: _Hints, *, required_only: bool, depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    required = schema.get("required")
    names = list(properties)
    if required_only and isinstance(required, list) and required:
        names = [n for n in names if n in required]
    # The answer goes to the field that looks most like "the answer", then to the first string field.
    answer_field = next((n for n in names if n.lower() in _ANSWER_FIELDS), None)
    if answer_field is None:
        answer_field = next(
            (n for n in names if _resolve(properties[n], hints).get("type") in ("string", None)), None
        )
    out: dict[str, Any] = {}
    for prop in names:
        sub = properties[prop]
        if not isinstance(sub, Mapping):
            out[prop] = None
            continue
        if prop == answer_field and hints.answer and not hints.answer_used:
            resolved = _resolve(sub, hints)
            if (
                resolved.get("type") in ("string", None)
                and "enum" not in resolved
                and "const" not in resolved
            ):
                hints.answer_used = True
                out[prop] = hints.answer
                continue
        out[prop] = _value(sub, hints, name=prop, required_only=required_only, depth=depth + 1)
    return out


def _number(schema: Mapping[str, Any], hints: _Hints, *, integer: bool) -> float | int:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value = next(hints.numbers, None)
    if value is None:
        value = (float(low) + float(high)) / 2 if low is not None and high is not None else float(low or 1)
    if low is not None:
        value = max(value, float(low) + (1 if "exclusiveMinimum" in schema and integer else 0))
    if high is not None:
        value = min(value, float(high) - (1 if "exclusiveMaximum" in schema and integer else 0))
    return round(value) if integer else value


def _string(schema: Mapping[str, Any], hints: _Hints, name: str) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt]
    lowered = name.lower()
    if lowered in _QUERY_FIELDS or any(lowered.endswith("_" + f) for f in _QUERY_FIELDS):
        value = hints.question.strip() or "query"
    elif lowered in _REASON_FIELDS:
        value = "Derived from the information given in the conversation."
    elif lowered in ("id", "identifier", "number") or lowered.endswith(("_id", "_number")):
        value = identifier(hints.question) or identifier(hints.history) or "item-1"
    else:
        names = proper_nouns(hints.question)
        words = content_words(hints.question)
        value = names[0] if names else " ".join(words[:4]) if words else (hints.answer[:60] or "value")
    max_length = schema.get("maxLength")
    if isinstance(max_length, int):
        value = value[:max_length]
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and len(value) < min_length:
        value = value.ljust(min_length, "x")
    return value


_IDENTIFIER = re.compile(r"(?<![\w-])(?:#\d{3,}|[A-Za-z]{1,6}-?\d{2,}[\w-]*|\d{4,})(?![\w-])")


def identifier(text: str) -> str | None:
    """The first id-like token of `text` ("A-1042", "ORD123", "#5521", "88213"), without a leading #."""
    m = _IDENTIFIER.search(text)
    return m.group(0).lstrip("#") if m else None


def proper_nouns(text: str) -> list[str]:
    """Capitalized word runs that do not start a sentence ("Weather in New York?" -> ["New York"])."""
    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        words = re.findall(r"[\w'-]+", sentence)
        run: list[str] = []
        for word in [*words[1:], ""]:
            if word[:1].isupper() and word != "I":
                run.append(word)
            elif run:
                found.append(" ".join(run))
                run = []
    return found
