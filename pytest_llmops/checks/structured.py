"""`json_output`: is the model's structured output valid JSON, and how much of it fits the schema?

The output can be the JSON text the model wrote, the SDK's parsed object (a
pydantic model instance, a dict or list), or a whole SDK response (OpenAI
chat completion or Responses object, Anthropic message), whose text or
`parsed` value is read. The schema is a JSON Schema (validated with the
`jsonschema` library, draft taken from `$schema`, 2020-12 by default) or a
pydantic model class (validated with pydantic itself, so its coercions and
validators apply exactly as in the app).

The score is the share of valid fields: every leaf value of the output is a
field, and so is every required field that is missing. An error at a path
fails every field under it (a wrong type at the root fails them all). Text
that is not JSON scores 0. The failing paths are listed in the details
(`failing_paths`) and in the failure message, `$.items[0].qty: -1 is less
than the minimum of 1`. Without a schema the check is only "is it JSON".

Fenced JSON (```json ... ```) is not valid JSON: an app calling `json.loads`
on it fails, so the check fails too, and its message says the JSON is fenced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_llmops.checks import core
from pytest_llmops.results.scores import Score

_FENCED = re.compile(r"^\s*```[a-zA-Z]*\s*\n(.*?)\n?```\s*$", re.S)


def json_output(
    output: Any,
    schema: Any = None,
    *,
    threshold: float | None = 1.0,
    name: str = "json_output",
) -> Score:
    """Validity of `output` as JSON (0 or 1), or against `schema`, the share of its fields that are valid.

    The default threshold 1.0 fails the test on any invalid field; pass a
    lower one to tolerate some, or None to only record the score.
    """
    __tracebackhide__ = True
    limit = core.check_threshold(name, threshold, 0.0, 1.0)
    validator = _validator(schema)
    ok, data, problem = _data(output)
    details: dict[str, Any] = {"schema": _schema_label(schema)}
    if not ok:
        details.update(valid_json=False, failing_paths=["$"], fields=0)
        result = core.Assessment(0.0, "rule", problem, details=details)
        return core.finish(name, result, limit)
    details["valid_json"] = True
    errors = validator(data) if validator is not None else []
    failing = _failing_fields(data, errors)
    total = len(_leaves(data, "$")) + len({path for path, _ in errors if not _present(data, path)})
    total = max(total, 1)
    value = 0.0 if any(path == "$" for path, _ in errors) else max(0.0, 1.0 - failing / total)
    paths = sorted({path for path, _ in errors})
    details.update(fields=total, failing_fields=failing, failing_paths=paths)
    evidence = [f"{path}: {message}" for path, message in errors]
    if errors:
        reason = f"{len(paths)} path(s) fail the schema ({failing} of {total} fields)"
    else:
        reason = f"valid JSON, all {total} fields valid" if validator is not None else "valid JSON"
    return core.finish(name, core.Assessment(value, "rule", reason, evidence, details), limit)


# -- reading the output -----------------------------------------------------------------------------


def _data(output: Any) -> tuple[bool, Any, str]:
    """(parsed?, the data, why not)."""
    if output is None:
        return False, None, "the output is None"
    if isinstance(output, bytes | bytearray):
        output = bytes(output).decode("utf-8", "replace")
    if isinstance(output, str):
        return _parse_text(output)
    dump = getattr(output, "model_dump", None)
    if callable(dump) and not isinstance(output, type):
        text = _sdk_text(output)
        if text is not None:
            parsed = _sdk_parsed(output)
            return (True, parsed, "") if parsed is not None else _parse_text(text)
        return True, dump(mode="json"), ""
    if isinstance(output, Mapping | list | tuple | int | float | bool):
        return True, json.loads(json.dumps(output, default=str)), ""
    raise TypeError(
        f"json_output: cannot read {type(output).__name__}; pass the JSON text, a dict or list, a pydantic "
        "model instance, or an OpenAI/Anthropic response object"
    )


def _parse_text(text: str) -> tuple[bool, Any, str]:
    try:
        return True, json.loads(text), ""
    except ValueError as exc:
        fenced = _FENCED.match(text)
        if fenced:
            try:
                json.loads(fenced.group(1))
                return False, None, "the JSON is wrapped in a ``` code fence, which json.loads rejects"
            except ValueError:
                pass
        shown = core.clip(text, 80)
        return False, None, f"not valid JSON ({exc}): {shown!r}"


def _sdk_text(response: Any) -> str | None:
    """The text of an SDK response object (None when `response` is not one)."""
    choices = getattr(response, "choices", None)
    if isinstance(choices, list) and choices:
        message = getattr(choices[0], "message", None)
        return (getattr(message, "content", None) or "") if message is not None else None
    if getattr(response, "object", None) == "response" and hasattr(response, "output_text"):
        return str(response.output_text)
    content = getattr(response, "content", None)
    if getattr(response, "type", None) == "message" and isinstance(content, list):
        return "".join(getattr(b, "text", "") for b in content if getattr(b, "type", None) == "text")
    if hasattr(response, "done") and hasattr(response, "created_at"):  # the ollama client's answers
        message = getattr(response, "message", None)
        text = (
            getattr(message, "content", None) if message is not None else getattr(response, "response", None)
        )
        return text if isinstance(text, str) else None
    return None


def _sdk_parsed(response: Any) -> Any:
    """`choices[0].message.parsed` / `output_parsed` of the SDKs' `parse()` helpers, as JSON data."""
    parsed: Any = None
    choices = getattr(response, "choices", None)
    if isinstance(choices, list) and choices:
        parsed = getattr(getattr(choices[0], "message", None), "parsed", None)
    else:
        parsed = getattr(response, "output_parsed", None)
    if parsed is None:
        return None
    dump = getattr(parsed, "model_dump", None)
    return dump(mode="json") if callable(dump) else parsed


# -- validating -------------------------------------------------------------------------------------

Errors = list[tuple[str, str]]


def _validator(schema: Any) -> Any:
    if schema is None:
        return None
    if isinstance(schema, type) and callable(getattr(schema, "model_validate", None)):
        return lambda data: _pydantic_errors(schema, data)
    if isinstance(schema, Mapping):
        try:
            import jsonschema
        except ImportError:  # pragma: no cover - a core dependency
            raise ImportError(
                "json_output with a JSON Schema needs the jsonschema package: pip install jsonschema"
            ) from None
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        try:
            cls.check_schema(dict(schema))
        except jsonschema.SchemaError as exc:
            where = _path(exc.absolute_path)
            raise ValueError(
                f"json_output: the schema is not a valid JSON Schema at {where}: {exc.message}"
            ) from None
        checker = cls(schema, format_checker=cls.FORMAT_CHECKER)
        return lambda data: _schema_errors(checker, data)
    raise TypeError(
        f"json_output: schema must be a JSON Schema (dict) or a pydantic model class, got {type(schema).__name__}"
    )


def _schema_label(schema: Any) -> str | None:
    if schema is None:
        return None
    if isinstance(schema, type):
        return f"{schema.__module__}.{schema.__qualname__}"
    if isinstance(schema, Mapping):
        return str(schema.get("title") or schema.get("$id") or "JSON Schema")
    return type(schema).__name__


def _schema_errors(checker: Any, data: Any) -> Errors:
    out: Errors = []
    for error in sorted(checker.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        base = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, Mapping):
            missing = [k for k in error.validator_value if k not in error.instance]
            out += [(_path([*base, k]), "required field is missing") for k in missing]
        elif error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(
            error.instance, Mapping
        ):
            known = set(error.schema.get("properties", {}))
            patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
            extra = [k for k in error.instance if k not in known and not any(p.search(k) for p in patterns)]
            out += [(_path([*base, k]), "field is not allowed by the schema") for k in extra] or [
                (_path(base), error.message)
            ]
        else:
            out.append((_path(base), error.message))
    return out


def _pydantic_errors(model: Any, data: Any) -> Errors:
    from pydantic import ValidationError

    try:
        model.model_validate(data)
    except ValidationError as exc:
        out: Errors = []
        for error in exc.errors():
            message = "required field is missing" if error["type"] == "missing" else error["msg"]
            out.append((_path(error["loc"]), message))
        return out
    return []


def _path(parts: Sequence[Any]) -> str:
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _leaves(data: Any, path: str) -> list[str]:
    if isinstance(data, Mapping) and data:
        return [leaf for key, value in data.items() for leaf in _leaves(value, f"{path}.{key}")]
    if isinstance(data, list) and data:
        return [leaf for i, value in enumerate(data) for leaf in _leaves(value, f"{path}[{i}]")]
    return [path]


def _present(data: Any, path: str) -> bool:
    current = data
    for token in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path[1:]):
        key, index = token
        if key and isinstance(current, Mapping) and key in current:
            current = current[key]
        elif index and isinstance(current, list) and int(index) < len(current):
            current = current[int(index)]
        else:
            return False
    return True


def _failing_fields(data: Any, errors: Errors) -> int:
    """Fields failed by `errors`: the leaves under each failing path, or 1 for a missing field."""
    leaves = _leaves(data, "$")
    failed: set[str] = set()
    for path, _ in errors:
        if not _present(data, path):
            failed.add(path)
            continue
        under = [leaf for leaf in leaves if leaf == path or leaf.startswith((path + ".", path + "["))]
        failed.update(under or [path])
    return len(failed)
