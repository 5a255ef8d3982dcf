"""A/B comparisons from hand-built records: the statistics wiring (checked against the stats functions),
Holm, the decisions, guards, needed sample sizes, pairing and what is left out, and the report tables."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_llmops import stats
from pytest_llmops.experiments import comparisons
from pytest_llmops.experiments.comparison_tables import to_table
from pytest_llmops.experiments.comparisons import ABComparison, compare_variants
from pytest_llmops.results.records import RunRecord, TestRecord
from pytest_llmops.results.report import markdown
from pytest_llmops.results.report.model import to_jsonable
from pytest_llmops.results.scores import Score
from pytest_llmops.spend.calls import LLMCall

BASE = "tests/test_app.py::test_answer"
NO_GUARDS: tuple[str, ...] = ()


def record(
    variant: str,
    case: str | None = None,
    *,
    passed: bool | Sequence[bool] = True,
    scores: dict[str, float | Sequence[float]] | None = None,
    cost: float | None = 0.001,
    latency: float = 100.0,
    tokens: tuple[int, int] = (100, 20),
    outcome: str | None = None,
    base: str = BASE,
    extra_ids: str = "",
) -> TestRecord:
    """One test record. A sequence for `passed` (and for a score) gives one value per run (repeats)."""
    runs_passed = [passed] if isinstance(passed, bool) else list(passed)
    ids = "-".join(x for x in (extra_ids, variant, case) if x)
    params = {"variant": variant} | ({"case": case} if case else {})
    rec = TestRecord(
        nodeid=f"{base}[{ids}]",
        base_nodeid=base,
        outcome=outcome or ("passed" if all(runs_passed) else "failed"),
        params=params,
        variant=variant,
        variant_config={},
        case_id=case,
    )
    if outcome == "skipped":
        rec.runs = [RunRecord(0, "skipped")]
        return rec
    rec.runs = [RunRecord(i, "passed" if p else "failed") for i, p in enumerate(runs_passed)]
    for name, value in (scores or {}).items():
        values = [value] if isinstance(value, int | float) else list(value)
        for run, v in enumerate(values):
            rec.scores.append(Score(name, float(v), run=run))
    for run in range(len(runs_passed)):
        rec.calls.append(
            LLMCall(
                "openai",
                "chat.completions",
                model="gpt-4o-mini",
                input_tokens=tokens[0],
                output_tokens=tokens[1],
                latency_ms=latency,
                cost_usd=cost,
                extra={"run": run},
            )
        )
    return rec


def paired(control: Sequence[dict[str, object]], treatment: Sequence[dict[str, object]]) -> list[TestRecord]:
    """Records for case i under each variant, from keyword dicts for `record`."""
    out = [record("control", f"q{i}", **kw) for i, kw in enumerate(control)]  # type: ignore[arg-type]
    out += [record("treatment", f"q{i}", **kw) for i, kw in enumerate(treatment)]  # type: ignore[arg-type]
    return out


def only(found: list[ABComparison]) -> ABComparison:
    assert len(found) == 1, found
    return found[0]


def test_paired_scores_and_pass_rates_use_wilcoxon_and_exact_mcnemar() -> None:
    rng = random.Random(7)
    a_scores = [round(rng.uniform(0.4, 0.8), 3) for _ in range(15)]
    b_scores = [round(x + rng.uniform(-0.05, 0.25), 3) for x in a_scores]
    a_pass = [i % 3 != 0 for i in range(15)]
    b_pass = [i % 5 != 0 for i in range(15)]
    records = paired(
        [{"passed": p, "scores": {"relevance": s}} for p, s in zip(a_pass, a_scores, strict=True)],
        [{"passed": p, "scores": {"relevance": s}} for p, s in zip(b_pass, b_scores, strict=True)],
    )
    c = only(compare_variants(records, guard_metrics=NO_GUARDS, order=[r.nodeid for r in records]))
    assert (c.control, c.treatment, c.design, c.n_control) == ("control", "treatment", "paired", 15)

    relevance = c.metric("relevance")
    assert relevance is not None and relevance.test == "wilcoxon" and relevance.paired
    expected = stats.compare_samples(
        a_scores, b_scores, paired=True, kind="continuous", test="wilcoxon", scale=(0.0, 1.0)
    )  # scores that do not say their scale but all lie in [0, 1] are taken to be on it
    assert relevance.p_value == stats.wilcoxon_signed_rank(b_scores, a_scores).p_value == expected.p_value
    assert (relevance.mean_control, relevance.mean_treatment) == (expected.mean_a, expected.mean_b)
    assert relevance.ci_control == expected.ci_a and relevance.ci_treatment == expected.ci_b
    assert relevance.lift == pytest.approx(stats.mean(b_scores) - stats.mean(a_scores))
    assert relevance.lift_ci == expected.lift_ci
    assert relevance.relative_lift == expected.relative_lift

    pass_rate = c.metric("pass_rate")
    assert pass_rate is not None and (pass_rate.test, pass_rate.kind) == ("mcnemar", "binary")
    assert (
        pass_rate.p_value
        == stats.mcnemar_exact([float(p) for p in b_pass], [float(p) for p in a_pass]).p_value
    )
    assert pass_rate.ci_control == stats.wilson_interval(sum(a_pass), 15)
    assert pass_rate.ci_treatment == stats.wilson_interval(sum(b_pass), 15)


def test_variants_without_a_dataset_compare_runs_unpaired_with_welch_and_fisher() -> None:
    a_runs, b_runs = [0.5, 0.6, 0.55, 0.4, 0.65, 0.5], [0.7, 0.8, 0.75, 0.9, 0.6, 0.85]
    a_pass, b_pass = [True, False, False, True, False, True], [True] * 6
    records = [
        record("control", passed=a_pass, scores={"relevance": a_runs}),
        record("treatment", passed=b_pass, scores={"relevance": b_runs}),
    ]
    c = only(compare_variants(records, guard_metrics=NO_GUARDS))
    assert (c.design, c.unit, c.n_control, c.n_treatment) == ("unpaired", "runs", 6, 6)
    relevance = c.metric("relevance")
    assert relevance is not None and (relevance.test, relevance.paired) == ("welch", False)
    assert relevance.p_value == stats.welch_t_test(b_runs, a_runs).p_value
    assert relevance.ci_control == stats.bounded_mean_interval(a_runs, 0.0, 1.0)
    pass_rate = c.metric("pass_rate")
    assert pass_rate is not None and (pass_rate.test, pass_rate.kind) == ("fisher", "binary")
    assert pass_rate.p_value == stats.fisher_exact([[6, 0], [3, 3]]).p_value
    assert (pass_rate.n_control, pass_rate.n_treatment) == (6, 6)


def test_primary_is_tested_alone_and_holm_adjusts_the_secondary_metrics() -> None:
    rng = random.Random(3)
    control = [
        {"scores": {"a": rng.random(), "b": rng.random()}, "cost": 0.001 + rng.random() / 1e4}
        for _ in range(12)
    ]
    treatment = [
        {"scores": {"a": rng.random() + 0.3, "b": rng.random()}, "cost": 0.001 + rng.random() / 1e4}
        for _ in range(12)
    ]
    c = only(compare_variants(paired(control, treatment), guard_metrics=NO_GUARDS))
    tested = [m for m in c.metrics if m.p_value is not None]
    assert [m.metric for m in tested] == [
        "pass_rate",
        "a",
        "b",
        "cost_usd",
        "latency_p95",
        "input_tokens",
        "output_tokens",
    ]
    primary, secondary = tested[0], tested[1:]  # the default primary metric is pass_rate
    assert primary.p_adjusted == primary.p_value
    holm = stats.holm_bonferroni([m.p_value or 0.0 for m in secondary], 0.05)
    assert [m.p_adjusted for m in secondary] == list(holm.adjusted)
    assert all((m.p_adjusted or 0.0) >= (m.p_value or 0.0) for m in secondary)
    assert any((m.p_adjusted or 0.0) > (m.p_value or 0.0) for m in secondary)  # the correction did something
    table = to_table(c)
    assert table.data["tested_metrics"] == 7 and table.columns[-2:] == ["p", "p adj (Holm)"]
    assert [row[-2:] for row in table.rows] == [
        [comparisons.format_p(m.p_value), comparisons.format_p(m.p_adjusted)] for m in c.metrics
    ]


def clear_win(n: int = 20, cost_b: float = 0.00105) -> list[TestRecord]:
    return paired(
        [{"passed": i % 2 == 0, "scores": {"safety": 1.0}} for i in range(n)],
        [{"passed": True, "scores": {"safety": 1.0}, "cost": cost_b} for i in range(n)],
    )


def test_a_clear_improvement_within_the_guards_ships() -> None:
    c = only(compare_variants(clear_win(), guard_metrics=comparisons.DEFAULT_GUARDS))
    assert c.decision.verdict == "SHIP"
    p_adj = c.metric("pass_rate").p_adjusted  # type: ignore[union-attr]
    assert p_adj is not None and p_adj < 0.05
    assert c.decision.reason == (
        f"treatment raises pass_rate 50% -> 100% (p={comparisons.format_p(p_adj)}); "
        "cost_usd +5% within +20%, latency_p95 ±0 within +25%, safety ±0, no drop allowed"
    )
    table = to_table(c)
    assert table.title == f"A/B {BASE}: treatment vs control — SHIP"
    assert table.notes[0] == "SHIP: " + c.decision.reason


def test_a_significantly_worse_primary_metric_reverts() -> None:
    records = paired([{"passed": True}] * 20, [{"passed": i % 2 == 0} for i in range(20)])
    c = only(compare_variants(records, guard_metrics=NO_GUARDS))
    assert c.decision.verdict == "REVERT"
    assert c.decision.reason.startswith("treatment lowers pass_rate 100% -> 50% (p=")


def test_lower_is_better_primary_metric_ships_when_it_falls() -> None:
    records = paired(
        [{"cost": 0.002 + i / 1e6} for i in range(12)], [{"cost": 0.001 + i / 1e6} for i in range(12)]
    )
    c = only(compare_variants(records, primary_metric="cost_usd", guard_metrics=NO_GUARDS))
    assert c.metric("cost_usd").direction == "better"  # type: ignore[union-attr]
    assert c.decision.verdict == "SHIP" and c.decision.reason.startswith("treatment lowers cost_usd")


def test_an_unclear_difference_is_inconclusive_with_the_sample_size_that_would_settle_it() -> None:
    rng = random.Random(11)
    base = [rng.uniform(0.3, 0.9) for _ in range(10)]
    records = paired(
        [{"scores": {"relevance": x}} for x in base],
        [{"scores": {"relevance": x + rng.uniform(-0.15, 0.2)}} for x in base],
    )
    c = only(compare_variants(records, primary_metric="relevance", guard_metrics=NO_GUARDS))
    m = c.metric("relevance")
    assert m is not None and m.p_adjusted is not None and m.p_adjusted >= 0.05
    xs = [r.scores[0].value for r in records[:10]]
    ys = [r.scores[0].value for r in records[10:]]
    # The primary metric is tested alone, so the sample size is for alpha itself.
    expected = stats.compare_samples(xs, ys, paired=True, alpha=0.05, test="wilcoxon").needed_n
    assert expected is not None and expected > 10
    assert c.decision.verdict == "INCONCLUSIVE"
    assert (c.decision.needed_n, c.decision.needed_n_unit) == (expected, "cases")
    assert f"about {expected:,} cases would detect a change this size (have 10)" in c.decision.reason
    assert to_table(c).data["decision"]["needed_n"] == expected


def test_no_observed_effect_needs_no_sample_size() -> None:
    records = paired(
        [{"scores": {"relevance": 0.5 + i / 100}} for i in range(8)],
        [{"scores": {"relevance": 0.5 + i / 100}} for i in range(8)],
    )
    c = only(compare_variants(records, primary_metric="relevance", guard_metrics=NO_GUARDS))
    assert c.decision.verdict == "INCONCLUSIVE" and c.decision.needed_n is None
    assert "no effect observed" in c.decision.reason


def test_needed_n_is_never_below_what_the_exact_test_can_reach() -> None:
    """Identical differences give a zero-spread normal formula (2 cases); the signed-rank test cannot
    reach alpha (the primary metric is tested alone) with fewer than k cases, where its smallest p,
    2 / 2^k, drops below it."""
    records = paired([{"scores": {"relevance": 0.2}}] * 3, [{"scores": {"relevance": 0.9}}] * 3)
    c = only(compare_variants(records, primary_metric="relevance", guard_metrics=NO_GUARDS))
    needed = c.decision.needed_n
    assert c.decision.verdict == "INCONCLUSIVE" and needed is not None
    strict = 0.05
    assert stats.wilcoxon_signed_rank([0.9] * needed, [0.2] * needed).p_value < strict
    assert stats.wilcoxon_signed_rank([0.9] * (needed - 1), [0.2] * (needed - 1)).p_value >= strict


def test_a_guard_metric_beyond_its_tolerance_blocks_a_ship() -> None:
    c = only(compare_variants(clear_win(cost_b=0.0015), guard_metrics=("cost_usd:+20%",)))
    assert c.decision.verdict == "INCONCLUSIVE"
    assert c.decision.reason.endswith(", but cost_usd +50% exceeds +20%")
    guard = c.guards[0]
    assert (
        guard.exceeded and guard.blocks and (guard.control, guard.treatment) == pytest.approx((0.001, 0.0015))
    )
    looser = only(compare_variants(clear_win(cost_b=0.0015), guard_metrics=("cost_usd:+60%",)))
    assert looser.decision.verdict == "SHIP"


def test_a_safety_drop_blocks_a_ship_under_the_default_guards() -> None:
    records = clear_win()
    for r in records[20:21]:
        r.scores = [Score("safety", 0.0)]
    c = only(compare_variants(records, guard_metrics=comparisons.DEFAULT_GUARDS))
    assert c.decision.verdict == "INCONCLUSIVE" and "safety -0.05, no drop allowed" in c.decision.reason


def test_a_guard_metric_unknown_for_one_variant_blocks_and_unmeasured_ones_do_not() -> None:
    records = clear_win()
    for r in records[20:]:
        for call in r.calls:
            call.cost_usd = None  # an unpriced model: unknown, not $0
    c = only(compare_variants(records, guard_metrics=("cost_usd:+20%", "relevance:-0.1")))
    assert c.decision.verdict == "INCONCLUSIVE" and "cost_usd unknown for treatment" in c.decision.reason
    assert [(g.metric, g.measured) for g in c.guards] == [("cost_usd", True), ("relevance", False)]


def test_an_invalid_guard_spec_never_ships_and_says_why() -> None:
    c = only(compare_variants(clear_win(), guard_metrics=("cost_usd:20%",)))
    assert c.decision.verdict == "INCONCLUSIVE"
    assert "llm_guard_metrics is invalid" in c.decision.reason and "a sign is required" in c.decision.reason


def test_cases_in_one_variant_only_and_skipped_tests_are_left_out_and_counted() -> None:
    records = paired([{"passed": True}] * 6, [{"passed": True}] * 6)
    records += [record("control", "q-extra"), record("treatment", "q-new"), record("treatment", "q-new2")]
    records += [record("control", "q-skip", outcome="skipped")]
    c = only(compare_variants(records, guard_metrics=NO_GUARDS))
    assert (c.n_control, c.only_control, c.only_treatment) == (6, ("q-extra",), ("q-new", "q-new2"))
    assert c.skipped == {"control": 1}
    assert c.metric("pass_rate").n_control == 6  # type: ignore[union-attr]
    note = to_table(c).notes[1]
    assert note == (
        "Paired by case: 6 cases ran under both variants; dropped from the analysis: 1 only in control "
        "(q-extra), 2 only in treatment (q-new, q-new2); skipped, so excluded: 1 of control."
    )


def test_the_control_is_the_first_variant_in_collection_order() -> None:
    records = paired([{"passed": True}] * 4, [{"passed": False}] * 4)
    treatment_first = [r.nodeid for r in records[4:]] + [r.nodeid for r in records[:4]]
    c = only(compare_variants(records, guard_metrics=NO_GUARDS, order=treatment_first))
    assert (c.control, c.treatment, c.notes) == ("treatment", "control", ())
    guessed = only(compare_variants(list(reversed(records)), guard_metrics=NO_GUARDS))
    assert guessed.control == "treatment"  # it reported first
    assert "taken as the control because it reported first" in guessed.notes[0]


def test_every_treatment_is_compared_with_the_control() -> None:
    records = [record(v, f"q{i}") for v in ("base", "b", "c") for i in range(3)]
    found = compare_variants(records, guard_metrics=NO_GUARDS, order=[r.nodeid for r in records])
    assert [(c.control, c.treatment) for c in found] == [("base", "b"), ("base", "c")]


def test_units_pair_by_every_id_but_the_variant() -> None:
    records = [
        record(v, f"q{i}", extra_ids=f"support@{k}", scores={"s": (0.5 if v == "a" else 0.6) + i / 10})
        for v in ("a", "b")
        for i in range(2)
        for k in (1, 2)
    ]
    c = only(compare_variants(records, guard_metrics=NO_GUARDS))
    assert (c.design, c.n_control, c.only_control) == ("paired", 4, ())
    assert c.metric("s").lift == pytest.approx(0.1)  # type: ignore[union-attr]


def test_a_case_value_is_the_mean_over_its_runs_of_each_runs_mean_score() -> None:
    control = record("control", "q0", passed=[True, False], scores={})
    control.scores = [Score("s", 0.2, run=0), Score("s", 0.4, run=0), Score("s", 0.6, run=1)]
    treatment = record("treatment", "q0", passed=[True, True], scores={"s": [0.9, 0.9]})
    more = [record(v, "q1", passed=[True, True], scores={"s": [0.5, 0.5]}) for v in ("control", "treatment")]
    c = only(compare_variants([control, treatment, *more], guard_metrics=NO_GUARDS))
    s = c.metric("s")
    assert s is not None and s.mean_control == pytest.approx((0.45 + 0.5) / 2)
    pass_rate = c.metric("pass_rate")
    # Repeated cases: each case's pass rate is its share of passing runs, compared as paired values.
    assert pass_rate is not None and (pass_rate.kind, pass_rate.test) == ("continuous", "wilcoxon")
    assert pass_rate.mean_control == pytest.approx(0.75)


def test_too_few_runs_are_reported_not_tested() -> None:
    c = only(
        compare_variants(
            [record("control", scores={"s": 0.5}), record("treatment", scores={"s": 0.9})],
            primary_metric="s",
            guard_metrics=NO_GUARDS,
        )
    )
    s = c.metric("s")
    assert s is not None and s.p_value is None and s.lift == pytest.approx(0.4)
    assert s.note == "needs at least 2 runs per variant (set repeat=N)"
    assert c.decision.verdict == "INCONCLUSIVE" and "could not be tested" in c.decision.reason


def test_a_primary_metric_nobody_measured_is_inconclusive() -> None:
    c = only(compare_variants(clear_win(), primary_metric="faithfulness", guard_metrics=NO_GUARDS))
    assert c.decision.reason == "the primary metric faithfulness was not measured in both variants"


def test_a_variant_with_only_skipped_runs_is_inconclusive() -> None:
    records = [record("control", "q0"), record("treatment", "q0", outcome="skipped")]
    c = only(compare_variants(records, guard_metrics=NO_GUARDS))
    assert c.decision.verdict == "INCONCLUSIVE" and "no measured runs for treatment" in c.decision.reason
    assert c.skipped == {"treatment": 1}


def test_tests_without_variants_or_with_one_variant_make_no_comparison() -> None:
    plain = TestRecord(nodeid="t.py::test_x", base_nodeid="t.py::test_x")
    assert compare_variants([plain, record("only", "q0")]) == []


@dataclass(frozen=True)
class FakeSettings:
    alpha: float = 0.05
    primary_metric: str = "pass_rate"
    guard_metrics: tuple[str, ...] = comparisons.DEFAULT_GUARDS


def test_tables_are_json_ready_and_render_as_markdown_tables() -> None:
    [table] = comparisons.tables(clear_win(), FakeSettings(alpha=0.1))
    assert table.columns[1:3] == ["control [90% CI]", "treatment [90% CI]"]
    data = json.loads(json.dumps(to_jsonable(table)))["data"]
    assert data["decision"]["verdict"] == "SHIP" and data["alpha"] == 0.1
    by_metric = {m["metric"]: m for m in data["metrics"]}
    assert set(by_metric["pass_rate"]) >= {
        "control",
        "treatment",
        "lift",
        "relative_lift",
        "p",
        "p_adj",
        "test",
        "n_control",
    }
    assert by_metric["pass_rate"]["control"]["ci"]["confidence"] == pytest.approx(0.9)
    assert [g["gate"] for g in data["guards"]] == ["cost_usd:+20%", "latency_p95:+25%", "safety:-0"]
    lines = markdown._table(table.columns, table.rows)
    assert lines[0].startswith("| metric | control [90% CI] | treatment [90% CI] | lift |")
    assert lines[2].startswith("| pass_rate (primary) | 50% [")


def test_tables_never_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> list[ABComparison]:
        raise RuntimeError("boom")

    monkeypatch.setattr(comparisons, "compare_variants", broken)
    [table] = comparisons.tables(clear_win(), FakeSettings())
    assert table.data == {
        "kind": "ab_comparison_error",
        "error": "pytest-llmops could not compare the variants: RuntimeError: boom",
    }


@pytest.mark.parametrize(
    ("p", "text"), [(None, "-"), (0.0004, "<0.001"), (0.0039, "0.004"), (0.05, "0.05"), (1.0, "1")]
)
def test_format_p(p: float | None, text: str) -> None:
    assert comparisons.format_p(p) == text


def test_a_test_that_fails_on_one_metric_leaves_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    real = stats.compare_samples

    def fragile(*args: Any, **kwargs: Any) -> stats.Comparison:
        if kwargs.get("kind") == "binary":
            raise ZeroDivisionError("float division by zero")
        return real(*args, **kwargs)

    monkeypatch.setattr(comparisons, "compare_samples", fragile)
    c = only(compare_variants(clear_win(), guard_metrics=NO_GUARDS))
    pass_rate = c.metric("pass_rate")
    assert pass_rate is not None and pass_rate.p_value is None and pass_rate.lift == pytest.approx(0.5)
    assert pass_rate.note == "the mcnemar test failed: float division by zero"
    assert c.decision.verdict == "INCONCLUSIVE" and "could not be tested" in c.decision.reason
    assert all(m.p_adjusted is not None for m in c.metrics if m.metric != "pass_rate")
