"""`trajectory`: rules over the path an agent took, read from the test's recorded calls.

A step is one LLM call the app made (judge calls are not steps); the tools
of a step are the tool calls its response asked for, in order. Rules:

| rule                         | holds when                                                          |
|------------------------------|---------------------------------------------------------------------|
| `must_call=["search"]`       | every listed tool is called at least once                           |
| `forbid=["delete_*"]`        | no call matches any listed pattern (shell-style `*`, `?`)           |
| `before={"search": "reply"}` | the first `search` comes before the first `reply` (and `reply` is   |
|                              | never called without a `search` before it)                          |
| `order=["a", "b", "c"]`      | these tools are called in this relative order (other calls between) |
| `max_steps=6`                | at most 6 LLM calls                                                 |
| `max_tool_calls=10`          | at most 10 tool calls in all                                        |
| `max_repeats=2`              | no tool is called with the same arguments more than twice (a loop)  |
| `max_step_tokens=4000`       | no single step uses more tokens (input + output)                    |
| `max_step_latency_ms=5000`   | no single step takes longer                                         |
| `max_step_cost_usd=0.01`     | no single step costs more (an unpriced step is not judged)          |
| `final_answer=True`          | the last step answers in text (calls no tool): the agent finished   |

The score is the share of the given rules that hold; the default threshold
1.0 fails the test on any broken rule and lists each one. The details keep
the steps (model, tools, tokens, latency) for the report.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_llmops.checks import core
from pytest_llmops.results.scores import Score


def trajectory(
    calls: Sequence[Any] | None = None,
    *,
    must_call: Sequence[str] = (),
    forbid: Sequence[str] = (),
    before: Mapping[str, str] | None = None,
    order: Sequence[str] = (),
    max_steps: int | None = None,
    max_tool_calls: int | None = None,
    max_repeats: int | None = None,
    max_step_tokens: int | None = None,
    max_step_latency_ms: float | None = None,
    max_step_cost_usd: float | None = None,
    final_answer: bool = False,
    threshold: float | None = 1.0,
    name: str = "trajectory",
) -> Score:
    """Share of the rules the agent's path keeps (0-1); each broken rule is named in the failure."""
    __tracebackhide__ = True
    limit = core.check_threshold(name, threshold, 0.0, 1.0)
    for label, text_list in (("must_call", must_call), ("forbid", forbid), ("order", order)):
        if isinstance(text_list, str):
            raise TypeError(f"trajectory: {label} must be a list of tool names, not one string")
    for label, bound in (
        ("max_steps", max_steps),
        ("max_tool_calls", max_tool_calls),
        ("max_repeats", max_repeats),
        ("max_step_tokens", max_step_tokens),
    ):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int) or bound < 0):
            raise ValueError(f"trajectory: {label} must be a whole number >= 0, got {bound!r}")
    steps = _steps(calls)
    tools = [call for step in steps for call in step["tool_calls"]]
    names = [c["name"] for c in tools]
    rules: list[tuple[str, list[str]]] = []  # (rule, violations)

    for tool in must_call:
        rules.append((f"must_call {tool}", [] if _any(names, tool) else [f"{tool} was never called"]))
    for pattern in forbid:
        hits = [
            f"called forbidden {n} (step {_step_of(steps, i)})"
            for i, n in enumerate(names)
            if _is(n, pattern)
        ]
        rules.append((f"forbid {pattern}", hits))
    for first, then in (before or {}).items():
        rules.append((f"{first} before {then}", _before(names, first, then)))
    if order:
        rules.append(("order " + " > ".join(order), _order(names, list(order))))
    if max_steps is not None:
        over = [f"{len(steps)} LLM steps, at most {max_steps} allowed"] if len(steps) > max_steps else []
        rules.append((f"max_steps {max_steps}", over))
    if max_tool_calls is not None:
        over = (
            [f"{len(tools)} tool calls, at most {max_tool_calls} allowed"]
            if len(tools) > max_tool_calls
            else []
        )
        rules.append((f"max_tool_calls {max_tool_calls}", over))
    if max_repeats is not None:
        rules.append((f"max_repeats {max_repeats}", _repeats(tools, max_repeats)))
    budgets: list[tuple[str, str, float | None, str]] = [
        ("max_step_tokens", "tokens", max_step_tokens, ""),
        ("max_step_latency_ms", "latency_ms", max_step_latency_ms, " ms"),
        ("max_step_cost_usd", "cost_usd", max_step_cost_usd, " USD"),
    ]
    for label, key, budget, unit in budgets:
        if budget is not None:
            over = [
                f"step {s['step']} ({s['model']}): {_num(s[key])}{unit}, limit {_num(budget)}{unit}"
                for s in steps
                if s[key] is not None and s[key] > budget
            ]
            rules.append((f"{label} {_num(budget)}", over))
    if final_answer:
        ends = bool(steps) and not steps[-1]["tool_calls"]
        rules.append(
            (
                "final_answer",
                []
                if ends
                else ["the last step calls a tool instead of answering" if steps else "no LLM step was made"],
            )
        )
    if not rules:
        raise ValueError(
            "trajectory: give at least one rule (must_call, forbid, before, order, max_steps, ...)"
        )

    broken = [(rule, problems) for rule, problems in rules if problems]
    value = 1 - len(broken) / len(rules)
    evidence = [f"{rule}: {problem}" for rule, problems in broken for problem in problems]
    details = {
        "rules": [rule for rule, _ in rules],
        "broken": [rule for rule, _ in broken],
        "tools": names,
        "steps": [
            {k: s[k] for k in ("step", "model", "tools", "tokens", "latency_ms", "cost_usd")} for s in steps
        ],
    }
    if broken:
        reason = f"{len(broken)} of {len(rules)} rules broken: {', '.join(rule for rule, _ in broken)}"
    else:
        reason = f"all {len(rules)} rules hold over {len(steps)} steps and {len(tools)} tool calls"
    return core.finish(name, core.Assessment(value, "rule", reason, evidence, details), limit)


def _steps(calls: Sequence[Any] | None) -> list[dict[str, Any]]:
    if calls is None:
        from pytest_llmops import context

        ctx = context.current()
        if ctx is None:
            raise ValueError(
                "trajectory() reads the running llm test's recorded calls; mark the test @pytest.mark.llm, "
                "or pass the calls (llm_usage.calls)"
            )
        calls = ctx.calls
    steps: list[dict[str, Any]] = []
    for call in calls:
        if getattr(call, "role", "app") != "app":
            continue
        if not hasattr(call, "tool_calls"):
            raise TypeError(
                f"trajectory: calls must be recorded LLMCalls (llm_usage.calls), got {type(call).__name__}"
            )
        tokens = call.total_tokens if call.has_usage else None
        steps.append(
            {
                "step": len(steps) + 1,
                "model": call.model or call.request_model or "?",
                "tool_calls": list(call.tool_calls),
                "tools": [c["name"] for c in call.tool_calls],
                "tokens": tokens,
                "latency_ms": call.latency_ms,
                "cost_usd": call.cost_usd,
            }
        )
    return steps


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else core.fmt(value)


def _is(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def _any(names: Sequence[str], pattern: str) -> bool:
    return any(_is(n, pattern) for n in names)


def _step_of(steps: list[dict[str, Any]], tool_index: int) -> int:
    seen = 0
    for step in steps:
        seen += len(step["tool_calls"])
        if tool_index < seen:
            return int(step["step"])
    return len(steps)


def _before(names: list[str], first: str, then: str) -> list[str]:
    first_at = next((i for i, n in enumerate(names) if _is(n, first)), None)
    then_at = next((i for i, n in enumerate(names) if _is(n, then)), None)
    if then_at is None:
        return []
    if first_at is None:
        return [f"{then} was called (call {then_at + 1}) but {first} never was"]
    if then_at < first_at:
        return [f"{then} (call {then_at + 1}) came before {first} (call {first_at + 1})"]
    return []


def _order(names: list[str], wanted: list[str]) -> list[str]:
    position = 0
    for pattern in wanted:
        found = next((i for i in range(position, len(names)) if _is(names[i], pattern)), None)
        if found is None:
            called = "never called" if not _any(names, pattern) else "not called after the tools before it"
            return [f"{pattern} {called}; tools in order: {', '.join(names) or '(none)'}"]
        position = found + 1
    return []


def _repeats(tools: list[dict[str, Any]], limit: int) -> list[str]:
    counts: dict[str, int] = {}
    for call in tools:
        key = f"{call['name']}({json.dumps(call.get('arguments'), sort_keys=True, default=str)})"
        counts[key] = counts.get(key, 0) + 1
    return [f"{key} called {n} times, at most {limit} allowed" for key, n in counts.items() if n > limit]
