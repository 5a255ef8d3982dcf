"""A/B comparisons as report `Table`s: one per comparison, printed by every format, with `data` holding the
machine-readable form for the JSON report (documented in `to_table`)."""

from __future__ import annotations

from typing import Any

from pytest_llmops.experiments.comparison_results import ABComparison, MetricResult, format_p
from pytest_llmops.results.report import numbers as fmt
from pytest_llmops.results.report.model import Table
from pytest_llmops.stats import Interval, TestName
from pytest_llmops.wording import plural

__all__ = ["TEST_NAMES", "error_table", "to_table"]

TEST_NAMES: dict[TestName, str] = {
    "wilcoxon": "Wilcoxon signed-rank",
    "paired-t": "paired t",
    "welch": "Welch t",
    "mann-whitney": "Mann-Whitney U",
    "fisher": "Fisher exact",
    "mcnemar": "McNemar exact",
}


def _interval(i: Interval | None) -> dict[str, Any] | None:
    if i is None:
        return None
    return {"low": i.low, "high": i.high, "confidence": i.confidence, "method": i.method}


def _metric_data(m: MetricResult) -> dict[str, Any]:
    return {
        "metric": m.metric,
        "higher_is_better": m.higher_is_better,
        "kind": m.kind,
        "paired": m.paired,
        "n_control": m.n_control,
        "n_treatment": m.n_treatment,
        "control": {"mean": m.mean_control, "ci": _interval(m.ci_control)},
        "treatment": {"mean": m.mean_treatment, "ci": _interval(m.ci_treatment)},
        "lift": m.lift,
        "relative_lift": m.relative_lift,
        "lift_ci": _interval(m.lift_ci),
        "direction": m.direction,
        "test": m.test,
        "method": m.method,
        "p": m.p_value,
        "p_adj": m.p_adjusted,
        "needed_n": m.needed_n,
        "note": m.note,
    }


def _data(c: ABComparison) -> dict[str, Any]:
    tested = sum(1 for m in c.metrics if m.p_value is not None)
    return {
        "kind": "ab_comparison",
        "test": c.test,
        "control": c.control,
        "treatment": c.treatment,
        "design": c.design,
        "unit": c.unit,
        "n_control": c.n_control,
        "n_treatment": c.n_treatment,
        "only_control": list(c.only_control),
        "only_treatment": list(c.only_treatment),
        "skipped": dict(c.skipped),
        "alpha": c.alpha,
        "correction": "holm",
        "tested_metrics": tested,
        "needed_n_alpha": c.alpha / tested if tested else None,
        "power": 0.8,
        "primary_metric": c.primary_metric,
        "metrics": [_metric_data(m) for m in c.metrics],
        "guards": [
            {
                "gate": g.gate.text,
                "metric": g.metric,
                "measured": g.measured,
                "control": g.control,
                "treatment": g.treatment,
                "change": g.change if g.measured else None,
                "exceeded": g.exceeded,
                "missing": g.missing,
                "blocks": g.blocks,
            }
            for g in c.guards
        ],
        "decision": {
            "verdict": c.decision.verdict,
            "reason": c.decision.reason,
            "needed_n": c.decision.needed_n,
            "needed_n_unit": c.decision.needed_n_unit,
        },
        "notes": list(c.notes),
    }


def _mean_cell(name: str, mean: float | None, ci: Interval | None) -> str:
    if mean is None:
        return "-"
    text = fmt.metric(name, mean)
    if ci is None or ci.low == ci.high == mean:
        return text
    return f"{text} [{fmt.metric(name, ci.low)}, {fmt.metric(name, ci.high)}]"


def _row(c: ABComparison, m: MetricResult) -> list[Any]:
    name = m.metric + (" (primary)" if m.metric == c.primary_metric else "")
    n = str(m.n_control) if m.paired else f"{m.n_control}/{m.n_treatment}"
    return [
        name,
        _mean_cell(m.metric, m.mean_control, m.ci_control),
        _mean_cell(m.metric, m.mean_treatment, m.ci_treatment),
        fmt.delta(m.metric, m.lift) if m.lift is not None else "-",
        fmt.signed_pct(m.relative_lift) or "-",
        n,
        TEST_NAMES[m.test] if m.test is not None else "not tested",
        format_p(m.p_value),
        format_p(m.p_adjusted),
    ]


def _list(ids: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")


def _design_note(c: ABComparison) -> str:
    if c.design == "paired":
        text = f"Paired by case: {plural(c.n_control, 'case')} ran under both variants"
        dropped = [
            f"{len(ids)} only in {name} ({_list(ids)})"
            for name, ids in ((c.control, c.only_control), (c.treatment, c.only_treatment))
            if ids
        ]
        if dropped:
            text += "; dropped from the analysis: " + ", ".join(dropped)
    else:
        text = (
            f"Unpaired over runs: {c.control} {plural(c.n_control, 'run')}, {c.treatment} {plural(c.n_treatment, 'run')} "
            "(no shared cases; each run is an independent sample)"
        )
    if c.skipped:
        text += "; skipped, so excluded: " + ", ".join(f"{n} of {name}" for name, n in c.skipped.items())
    return text + "."


def _tests_note(c: ABComparison) -> str | None:
    tested = [m for m in c.metrics if m.test is not None]
    if not tested:
        return None
    by_test: dict[str, list[str]] = {}
    for m in tested:
        by_test.setdefault(TEST_NAMES[m.test or "welch"], []).append(m.metric)
    used = "; ".join(f"{test}: {', '.join(names)}" for test, names in by_test.items())
    confidence = f"{(1 - c.alpha) * 100:g}%"
    text = (
        f"Tests (two-sided) — {used}. The primary metric {c.primary_metric} is tested alone at alpha; "
        f"p adj: Holm over the {plural(sum(m.metric != c.primary_metric for m in tested), 'secondary metric')}. "
        f"Intervals: {confidence}."
    )
    if any(m.metric == "pass_rate" and m.kind == "continuous" and m.paired for m in tested):
        text += " pass_rate per case is its share of passing runs (cases were repeated)."
    return text


def to_table(c: ABComparison) -> Table:
    """One comparison. `data` (JSON): test, control, treatment, design (paired | unpaired), unit, n, the
    cases dropped and runs skipped, alpha, the Holm correction, and per metric the means with intervals,
    lift (absolute, relative, interval), test and method, p, p_adj and needed_n (at alpha / tested
    metrics, 80% power); the guards; the decision (verdict, reason, needed_n)."""
    confidence = f"{(1 - c.alpha) * 100:g}% CI"
    columns = [
        "metric",
        f"{c.control}{'' if c.control == 'control' else ' (control)'} [{confidence}]",
        f"{c.treatment} [{confidence}]",
        "lift",
        "relative",
        "n",
        "test",
        "p",
        "p adj (Holm)",
    ]
    notes = [f"{c.decision.verdict}: {c.decision.reason}", _design_note(c)]
    tests = _tests_note(c)
    if tests:
        notes.append(tests)
    guards = [g.text for g in c.guards]
    if guards:
        notes.append("Guards (change from the control's mean): " + ", ".join(guards) + ".")
    notes += [f"{m.metric} not tested: {m.note}." for m in c.metrics if m.note]
    notes += list(c.notes)
    return Table(
        title=f"A/B {c.test}: {c.treatment} vs {c.control} — {c.decision.verdict}",
        columns=columns,
        rows=[_row(c, m) for m in c.metrics],
        notes=notes,
        data=_data(c),
    )


def error_table(exc: BaseException) -> Table:
    message = f"pytest-llmops could not compare the variants: {type(exc).__name__}: {exc}"
    return Table(
        title="A/B comparisons",
        columns=["error"],
        rows=[[message]],
        notes=["The rest of the report is unaffected; please report this with the traceback of a rerun."],
        data={"kind": "ab_comparison_error", "error": message},
    )
