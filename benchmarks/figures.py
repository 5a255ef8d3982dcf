"""The one shape every benchmark reports a figure in, so `run.py` can print and compare them all.

A figure is a plain dict (it goes to JSON as is): what was measured, its value
and unit, the named baseline measured in the same run, the ratio value/baseline,
and the goal with whether it was met. Goals read like `ratio <= 1.5` or
`value >= 5000`; a speed goal is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: str | None = None,
    baseline_value: float | None = None,
    goal: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """One figure; `goal` is `"<ratio|value> <op> <limit>"`, e.g. `"ratio <= 1.10"`."""
    ratio = value / baseline_value if baseline_value else None
    out: dict[str, Any] = {
        "name": name,
        "value": _round(value),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": None if baseline_value is None else _round(baseline_value),
        "ratio": None if ratio is None else round(ratio, 3),
        "goal": goal,
        "met": None if goal is None else goal_met(goal, value, ratio),
    }
    if note:
        out["note"] = note
    return out


def goal_met(goal: str, value: float, ratio: float | None) -> bool | None:
    on, op, limit = goal.split()
    if op not in _OPS or on not in ("ratio", "value"):
        raise ValueError(f"goal {goal!r}: write it as 'ratio <= 1.5' or 'value >= 5000'")
    measured = ratio if on == "ratio" else value
    return None if measured is None else _OPS[op](measured, float(limit))


def _round(x: float) -> float:
    if x == 0 or abs(x) >= 100:
        return round(x, 1)
    return float(f"{x:.4g}")


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def format_figure(fig: dict[str, Any]) -> str:
    """`name: value unit | baseline name value | ratio | goal (met)` on one line."""
    text = f"{fig['name']}: {_num(fig['value'])} {fig['unit']}"
    if fig.get("baseline"):
        text += f" | baseline {fig['baseline']}: {_num(fig['baseline_value'])} {fig['unit']}"
    if fig.get("ratio") is not None:
        text += f" | ratio {fig['ratio']:.3g}x"
    if fig.get("goal"):
        verdict = {True: "met", False: "NOT met", None: "n/a"}[fig["met"]]
        text += f" | goal {fig['goal']}: {verdict}"
    return text


def print_figures(results: dict[str, Any]) -> None:
    for fig in results.get("figures", []):
        print("  " + format_figure(fig))


def write_json(path: str | Path | None, results: dict[str, Any]) -> None:
    if path is None:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def run_benchmark(
    argv: list[str] | None,
    build_parser: Callable[[], argparse.ArgumentParser],
    measure: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[dict[str, Any]], None],
) -> int:
    """The `main` every bench script shares: parse, measure, print, save."""
    args = build_parser().parse_args(argv)
    results = measure(args)
    report(results)
    write_json(args.json, results)
    return 0
