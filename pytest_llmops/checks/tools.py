"""`tool_calls`: did the model call the tools it should, with the arguments it should?

`actual` is what the model did: an SDK response (OpenAI chat completion or
message, Responses object, Anthropic message), its tool-call objects, plain
dicts in any of those shapes, recorded `LLMCall`s (`llm_usage.calls`), or
None for every tool call the running test's app made (read from its
recorded responses, streams included). `expected` is a list of tool names
or `{"name": ..., "arguments": {...}}` items. An expected argument value may
be a callable: the argument passes when it returns true for the actual value.

`arguments="exact"` (default) wants exactly the expected arguments,
`"subset"` the expected ones and allows more, `"ignore"` compares names only.
`ordered=True` also wants the calls in the expected order (the longest
in-order run of matching calls counts as matched, so one extra call does not
shift every other one into a mismatch).

The score is the F1 of precision (the share of actual calls that were
expected) and recall (the share of expected calls that were made); the
details keep both, and the failure message names every missing, unexpected
and mismatched call. No calls expected and none made scores 1.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_llmops.checks import core
from pytest_llmops.results.scores import Score
from pytest_llmops.spend.providers import tool_calls as wire

ARGUMENT_MODES = ("exact", "subset", "ignore")
ToolCall = dict[str, Any]


def tool_calls(
    actual: Any = None,
    expected: Sequence[Any] = (),
    *,
    arguments: str = "exact",
    ordered: bool = False,
    threshold: float | None = 1.0,
    name: str = "tool_calls",
) -> Score:
    """F1 of the calls made against the calls expected (0-1); the default threshold wants all of them, only them."""
    __tracebackhide__ = True
    limit = core.check_threshold(name, threshold, 0.0, 1.0)
    if arguments not in ARGUMENT_MODES:
        raise ValueError(
            f"tool_calls: arguments must be one of {', '.join(ARGUMENT_MODES)}, got {arguments!r}"
        )
    if isinstance(expected, str | Mapping):
        raise TypeError("tool_calls: expected must be a list of calls (names or {'name', 'arguments'} dicts)")
    made = read_calls(actual)
    wanted = [_expected(item, i) for i, item in enumerate(expected)]
    pairs = _match(made, wanted, arguments, ordered)
    matched = len(pairs)
    precision = matched / len(made) if made else 1.0
    recall = matched / len(wanted) if wanted else 1.0
    if not made and not wanted:
        value = 1.0
    elif matched == 0:
        value = 0.0
    else:
        value = 2 * precision * recall / (precision + recall)
    evidence = _mismatches(made, wanted, pairs, arguments, ordered)
    details = {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(value, 4),
        "actual": [_shown(c) for c in made],
        "expected": [_shown_expected(w) for w in wanted],
        "mismatches": evidence,
        "arguments": arguments,
        "ordered": ordered,
    }
    if evidence:
        reason = f"{matched} of {len(wanted)} expected call(s) made, {len(made) - matched} unexpected"
    else:
        reason = f"all {len(wanted)} expected call(s) made" + (" in order" if ordered else "")
    return core.finish(name, core.Assessment(value, "rule", reason, evidence, details), limit)


# -- reading calls ----------------------------------------------------------------------------------


def read_calls(actual: Any) -> list[ToolCall]:
    """Tool calls as `{"name", "arguments", "id"}` dicts, from anything `tool_calls` accepts."""
    if actual is None:
        return _recorded_calls()
    from pytest_llmops.spend.calls import LLMCall

    if isinstance(actual, LLMCall):
        return [dict(c) for c in actual.tool_calls]
    if isinstance(actual, str | bytes):
        raise TypeError("tool_calls: actual is text; pass the SDK response, its tool calls, or None")
    if isinstance(actual, Sequence):
        return [call for item in actual for call in _one_or_many(item)]
    return _one_or_many(actual)


def _recorded_calls() -> list[ToolCall]:
    from pytest_llmops import context

    ctx = context.current()
    if ctx is None:
        raise ValueError(
            "tool_calls(actual=None) reads the running llm test's recorded calls; mark the test "
            "@pytest.mark.llm, or pass the response (or its tool calls) as `actual`"
        )
    return [dict(c) for call in ctx.calls if call.role == "app" for c in call.tool_calls]


def _as_data(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    if callable(dump) and not isinstance(obj, type):
        return dump(mode="json", exclude_none=False)
    return obj


def _one_or_many(obj: Any) -> list[ToolCall]:
    from pytest_llmops.spend.calls import LLMCall

    if isinstance(obj, LLMCall):
        return [dict(c) for c in obj.tool_calls]
    data = _as_data(obj)
    if not isinstance(data, Mapping):
        raise TypeError(
            f"tool_calls: cannot read tool calls from {type(obj).__name__}; pass an SDK response, its tool "
            "calls, dicts, recorded LLMCalls, or None for the test's recorded calls"
        )
    if "choices" in data:
        return wire.from_chat_body(data)
    kind = data.get("type")
    if data.get("object") == "response" or (isinstance(data.get("output"), list) and kind is None):
        return wire.from_responses_body(data)
    if kind == "message" and isinstance(data.get("content"), list):
        return wire.from_anthropic_body(data)
    if "tool_calls" in data or "function_call" in data:
        return wire.from_chat_message(data)
    if kind in ("function_call", "custom_tool_call"):
        return wire.from_responses_body({"output": [data]})
    if kind in ("tool_use", "server_tool_use"):
        return wire.from_anthropic_body({"content": [data]})
    if isinstance(data.get("function"), Mapping):  # one chat tool call
        return wire.from_chat_message({"tool_calls": [data]})
    if "name" in data:
        return [
            {
                "name": str(data["name"]),
                "arguments": wire.arguments_value(data.get("arguments")),
                "id": data.get("id"),
            }
        ]
    raise TypeError(f"tool_calls: {core.clip(json.dumps(data, default=str), 120)} holds no tool call")


# -- expected calls ---------------------------------------------------------------------------------


class _Expected:
    __slots__ = ("arguments", "index", "name")

    def __init__(self, name: str, arguments: Mapping[str, Any] | None, index: int) -> None:
        self.name = name
        self.arguments = arguments
        self.index = index


def _expected(item: Any, index: int) -> _Expected:
    if isinstance(item, str):
        return _Expected(item, None, index)
    if isinstance(item, Mapping) and isinstance(item.get("name"), str):
        args = item.get("arguments")
        if args is not None and not isinstance(args, Mapping):
            raise TypeError(
                f"tool_calls: expected[{index}]['arguments'] must be a dict, got {type(args).__name__}"
            )
        return _Expected(item["name"], args, index)
    raise TypeError(
        f"tool_calls: expected[{index}] must be a tool name or {{'name': ..., 'arguments': {{...}}}}, got {item!r}"
    )


def _argument_problems(call: ToolCall, want: _Expected, mode: str) -> list[str]:
    if mode == "ignore" or want.arguments is None:
        return []
    got = call.get("arguments")
    if not isinstance(got, Mapping):
        return [f"arguments are not a JSON object: {core.clip(str(got), 80)!r}"]
    problems: list[str] = []
    for key, expected_value in want.arguments.items():
        if key not in got:
            problems.append(f"{key}: missing (expected {_describe(expected_value)})")
        elif not _value_ok(got[key], expected_value):
            problems.append(f"{key}: expected {_describe(expected_value)}, got {got[key]!r}")
    if mode == "exact":
        problems += [f"{key}: not expected (got {got[key]!r})" for key in got if key not in want.arguments]
    return problems


def _value_ok(value: Any, expected: Any) -> bool:
    if callable(expected):
        try:
            return bool(expected(value))
        except Exception:  # a predicate that cannot handle the value rejects it
            return False
    if isinstance(expected, float | int) and isinstance(value, float | int) and not isinstance(value, bool):
        return float(value) == float(expected)
    return bool(value == expected)


def _describe(expected: Any) -> str:
    if callable(expected):
        return f"a value accepted by {getattr(expected, '__name__', 'the predicate')}"
    return repr(expected)


def _name_ok(actual: str, expected: str) -> bool:
    return actual == expected or (any(c in expected for c in "*?[") and fnmatch.fnmatchcase(actual, expected))


def _fits(call: ToolCall, want: _Expected, mode: str) -> bool:
    return _name_ok(call["name"], want.name) and not _argument_problems(call, want, mode)


# -- matching ---------------------------------------------------------------------------------------


def _match(made: list[ToolCall], wanted: list[_Expected], mode: str, ordered: bool) -> list[tuple[int, int]]:
    """(actual index, expected index) pairs: most matches, in order when `ordered`."""
    fits = [[_fits(c, w, mode) for w in wanted] for c in made]
    if ordered:
        return _in_order(fits, len(made), len(wanted))
    return _bipartite(fits, len(made), len(wanted))


def _in_order(fits: list[list[bool]], n: int, m: int) -> list[tuple[int, int]]:
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = max(best[i + 1][j], best[i][j + 1], best[i + 1][j + 1] + 1 if fits[i][j] else 0)
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if fits[i][j] and best[i][j] == best[i + 1][j + 1] + 1:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _bipartite(fits: list[list[bool]], n: int, m: int) -> list[tuple[int, int]]:
    owner: dict[int, int] = {}  # expected -> actual

    def claim(i: int, seen: set[int]) -> bool:
        for j in range(m):
            if fits[i][j] and j not in seen:
                seen.add(j)
                if j not in owner or claim(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(n):
        claim(i, set())
    return sorted((i, j) for j, i in owner.items())


def _mismatches(
    made: list[ToolCall], wanted: list[_Expected], pairs: list[tuple[int, int]], mode: str, ordered: bool
) -> list[str]:
    used_actual = {i for i, _ in pairs}
    used_expected = {j for _, j in pairs}
    spare = [i for i in range(len(made)) if i not in used_actual]
    lines: list[str] = []
    for j, want in enumerate(wanted):
        if j in used_expected:
            continue
        same_name = next((i for i in spare if _name_ok(made[i]["name"], want.name)), None)
        if same_name is None:
            lines.append(f"missing call: {_shown_expected(want)}")
            continue
        spare.remove(same_name)
        problems = _argument_problems(made[same_name], want, mode)
        if problems:
            lines.append(
                f"wrong arguments in call {same_name + 1} {made[same_name]['name']}: " + "; ".join(problems)
            )
        else:  # only the order differs
            lines.append(f"out of order: {want.name} (expected call {j + 1}, made as call {same_name + 1})")
    lines += [f"unexpected call {i + 1}: {_shown(made[i])}" for i in spare]
    return lines


def _shown(call: ToolCall) -> str:
    args = call.get("arguments")
    text = json.dumps(args, sort_keys=True, default=str) if not isinstance(args, str) else repr(args)
    return f"{call['name']}({core.clip(text, 160)})"


def _shown_expected(want: _Expected) -> str:
    if want.arguments is None:
        return want.name
    shown = {
        k: (f"<{getattr(v, '__name__', 'predicate')}>" if callable(v) else v)
        for k, v in want.arguments.items()
    }
    return f"{want.name}({core.clip(json.dumps(shown, sort_keys=True, default=str), 160)})"
