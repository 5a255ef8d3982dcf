"""The report model and its printers (terminal, JSON, Markdown, HTML, JUnit), and the end-of-session glue."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from _pytest._io import TerminalWriter

from pytest_llmops.recording.secrets import Scrubber
from pytest_llmops.results import baseline as bl
from pytest_llmops.results import reporting
from pytest_llmops.results.gates import parse_gates
from pytest_llmops.results.records import CassetteInfo, RunRecord, TestRecord
from pytest_llmops.results.report import html, json_report, markdown, terminal
from pytest_llmops.results.report.build import build
from pytest_llmops.results.report.figures import call_figures, histogram, mean_ci, wilson_ci
from pytest_llmops.results.report.junit import junit_properties
from pytest_llmops.results.report.model import BaselineInfo, Report, ReportOptions, Table
from pytest_llmops.results.scores import Score
from pytest_llmops.settings import Settings
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.stats import mean_interval

from .conftest import fake_key


def call(run: int = 0, **kwargs: Any) -> LLMCall:
    values: dict[str, Any] = {
        "provider": "openai",
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o-mini",
        "input_tokens": 100,
        "output_tokens": 20,
        "latency_ms": 400.0,
        "cost_usd": 0.0002,
        "prompt": "qa@1.0.0",
    }
    values.update(kwargs)
    return LLMCall(extra={"run": run}, **values)


def record(
    nodeid: str, relevance: float | list[float] = 0.9, outcome: str = "passed", **kwargs: Any
) -> TestRecord:
    values = relevance if isinstance(relevance, list) else [relevance]
    rec = TestRecord(nodeid=nodeid, base_nodeid=nodeid, outcome=outcome, duration_s=0.25)
    rec.runs = [RunRecord(i, "passed") for i in range(len(values))]
    rec.calls = [call(i) for i in range(len(values))]
    rec.scores = [Score("relevance", v, run=i) for i, v in enumerate(values)]
    rec.prompts = {"qa@1.0.0": "a" * 64}
    rec.prompt_metadata = {"qa@1.0.0": {"avg_relevance": 0.95, "avg_tokens": 100, "owner": "search"}}
    rec.cassette = CassetteInfo(path="c.yaml", mode="none", played=len(values))
    for key, value in kwargs.items():
        setattr(rec, key, value)
    return rec


def make(
    records: list[TestRecord], base: list[TestRecord] | None = None, spec: str = "", **options: Any
) -> Report:
    measured = {r.nodeid: bl.measure(r) for r in records}
    if base is None:
        return build(
            records,
            measured,
            baseline=BaselineInfo(".llm-baseline.json", "missing"),
            diff=None,
            options=ReportOptions(**options),
        )
    old = bl.build(base, {r.nodeid: bl.measure(r) for r in base}, previous=None, full_run=True, meta={})
    diff = bl.compare(records, measured, old, parse_gates(spec), alpha=0.05, full_run=True)
    info = BaselineInfo(".llm-baseline.json", "loaded", tests=len(old.tests))
    return build(records, measured, baseline=info, diff=diff, options=ReportOptions(**options))


def text_of(report: Report, verbose: bool = False) -> list[str]:
    return [line for line, _ in terminal.lines(report, verbose)]


# -- figures -------------------------------------------------------------------------------------------


def test_call_figures_split_live_replayed_and_unpriced() -> None:
    fig = call_figures(
        [
            call(source="live", cost_usd=0.01, latency_ms=100.0),
            call(cost_usd=0.02, latency_ms=200.0, cached_input_tokens=30, estimated=True),
            call(model="my-local-model", cost_usd=None, latency_ms=300.0),
            call(status=500, input_tokens=None, output_tokens=None, cost_usd=None, latency_ms=None),
            call(input_tokens=None, output_tokens=None, cost_usd=None, latency_ms=None),
        ]
    )
    assert (fig.calls, fig.live_calls, fig.replayed_calls, fig.error_calls) == (5, 1, 4, 1)
    assert fig.live_cost_usd == 0.01 and fig.replayed_cost_usd == 0.02
    assert fig.unpriced_calls == 1 and fig.unpriced_models == ["my-local-model"]
    assert fig.calls_without_usage == 1 and fig.estimated_calls == 1
    assert (fig.input_tokens, fig.cached_input_tokens, fig.output_tokens) == (300, 30, 60)
    assert fig.latency_p50_ms == 200.0 and fig.latency_p95_ms == pytest.approx(290.0)


def test_histograms_use_tenths_for_scores_and_round_edges_otherwise() -> None:
    scores = histogram([0.0, 0.05, 0.55, 1.0], "score")
    assert (
        scores is not None and len(scores.counts) == 10 and scores.counts[0] == 2 and scores.counts[-1] == 1
    )
    latency = histogram([120.0, 480.0, 1930.0], "ms", bins=20)
    assert latency is not None and latency.edges[0] == 0 and latency.edges[-1] >= 1930
    assert sum(latency.counts) == 3 and all(
        b - a == latency.edges[1] for a, b in zip(latency.edges, latency.edges[1:], strict=False)
    )
    assert histogram([], "ms") is None


def test_mean_ci_stays_on_the_metric_scale() -> None:
    values = [0.61, 0.72, 0.55, 0.93, 0.8, 0.67]
    bounds = mean_ci("completeness", values, (0.0, 1.0))
    t = mean_interval(values)
    assert bounds is not None and 0 < bounds.low < 0.72 < bounds.high < 1
    assert abs((bounds.high - bounds.low) - (t.high - t.low)) < 0.05  # about the t interval mid-scale
    # The figures: a t interval gave completeness 0.9 [0.622, 1.18] and relevance 4.6 [3.49, 5.71].
    high_completeness = mean_ci("completeness", [1.0, 1.0, 0.7], (0.0, 1.0))
    assert high_completeness is not None and 0 <= high_completeness.low < 0.9 < high_completeness.high <= 1
    relevance = mean_ci("relevance", [5.0, 5.0, 5.0, 3.0, 5.0], (1.0, 5.0))
    assert relevance is not None and 1 <= relevance.low < 4.6 < relevance.high <= 5
    all_top = mean_ci("relevance", [5.0, 5.0, 5.0], (1.0, 5.0))  # Wilson at the end of the scale
    assert all_top is not None and all_top.high == 5.0 and 1 < all_top.low < 5
    rates = mean_ci("pass_rate", [1.0, 0.0, 1.0, 1.0])
    w = wilson_ci(3, 4)
    assert rates is not None and (rates.low, rates.high) == pytest.approx((w.low, w.high))
    cost = mean_ci("cost_usd", [0.0, 0.0, 0.001])
    assert cost is not None and cost.low == 0.0 and cost.high > 0.001
    assert mean_ci("latency_p95", [1.0, 900.0]) is not None and mean_ci("x", [0.5]) is None
    # A metric that does not say: [0, 1] when its values lie there, >= 0 when none is negative.
    guessed = mean_ci("my_score", [0.0, 1.0, 1.0])
    assert guessed is not None and guessed.low >= 0 and guessed.high <= 1
    counts = mean_ci("my_count", [0.0, 3.0, 40.0])
    assert counts is not None and counts.low == 0.0
    free = mean_ci("delta", [-2.0, 1.0, 3.0])
    t = mean_interval([-2.0, 1.0, 3.0])
    assert free is not None and (free.low, free.high) == pytest.approx((t.low, t.high))
    many = [(i % 17) / 16 for i in range(1500)]
    big = mean_ci("score", many, (0.0, 1.0))
    exact = mean_interval(many)
    assert big is not None and big.low == pytest.approx(exact.low, abs=2e-3)
    assert big.high == pytest.approx(exact.high, abs=2e-3)


def test_the_report_intervals_use_each_check_scale() -> None:
    """Scores from checks carry their scale; every interval in the report stays on it."""
    recs = [record(f"t.py::test_{i}") for i in range(4)]
    for rec, value in zip(recs, [5.0, 5.0, 4.0, 4.0], strict=True):
        rec.scores = [Score("relevance", value, details={"scale": [1, 5]})]
    recs[0].outcome = "failed"
    rep = make(recs)
    by_name = {q.name: q for q in rep.quality}
    for name, (low, high) in {"relevance": (1, 5), "pass_rate": (0, 1)}.items():
        ci = by_name[name].ci95
        assert ci is not None and low <= ci.low <= ci.high <= high, (name, ci)


# -- the model -----------------------------------------------------------------------------------------


def test_headline_quality_groups_and_declared_prompt_figures() -> None:
    recs = [
        record("t.py::test_a", 0.8),
        record("t.py::test_b", 0.6, outcome="failed", message="AssertionError: relevance 0.6 < 0.7\ndetail"),
        record("t.py::test_c", outcome="skipped", calls=[], scores=[], cassette=None),
    ]
    rep = make(recs)
    h = rep.headline
    assert (h.tests, h.ran, h.pass_rate, h.outcomes) == (3, 2, 0.5, {"failed": 1, "passed": 1, "skipped": 1})
    assert h.app.calls == 2 and h.cassettes.played == 2
    [relevance, *builtins] = rep.quality
    assert (relevance.name, relevance.count) == ("relevance", 2) and relevance.mean == pytest.approx(0.7)
    assert relevance.ci95 is not None and 0 <= relevance.ci95.low < 0.7 < relevance.ci95.high <= 1
    assert [q.name for q in builtins] == [
        "pass_rate",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "latency_p95",
    ]
    [prompt] = rep.prompts
    assert (prompt.key, prompt.tests, prompt.figures.calls, prompt.sha256) == ("qa@1.0.0", 2, 2, "a" * 64)
    declared = {d.key: d for d in prompt.declared}
    assert declared["avg_relevance"].measured == pytest.approx(0.7)
    assert declared["avg_tokens"].measured == 120 and declared["avg_tokens"].measured_as == "tokens per call"
    assert declared["owner"].measured is None
    assert [m.key for m in rep.models] == ["gpt-4o-mini"]
    assert [(f.nodeid, f.outcome) for f in rep.failures] == [("t.py::test_b", "failed")]
    assert [t.status for t in rep.tests] == ["no baseline", "no baseline", "not run"]


def test_judge_spend_is_apart_from_the_app_and_escalations_are_counted() -> None:
    rec = record("t.py::test_a")
    rec.calls.append(call(role="judge", model="gpt-4o", cost_usd=0.004, source="live"))
    details = {"judge": "openai:gpt-4o", "judge_prompt": "rel@1.0.0"}
    rec.scores = [
        Score("faithfulness", 0.9, details={**details, "escalated": True}, judge_cost_usd=0.004),
        Score("faithfulness", 0.8, details={**details, "escalated": False}),
        Score("relevance", 0.9, scorer="lexical"),
    ]
    rep = make([rec])
    assert rep.headline.app.calls == 1 and rep.headline.app.cost_usd == pytest.approx(0.0002)
    j = rep.judge
    assert (j.figures.calls, j.figures.live_cost_usd, j.scores) == (1, 0.004, 2)
    assert (j.escalated, j.escalation_decisions, j.attributed_cost_usd) == (1, 2, 0.004)
    assert j.judges == [details]
    lines = text_of(rep)
    assert any(
        line.startswith("judge: 1 call · $0.00400 live") and "1 of 2 scores escalated" in line
        for line in lines
    )


def test_repeats_give_wilson_intervals_and_list_flaky_tests() -> None:
    flaky = record("t.py::test_flaky", [0.9, 0.8, 0.7, 0.9, 0.8], min_pass_rate=0.6)
    flaky.runs[1].outcome = "failed"
    steady = record("t.py::test_steady", [0.9, 0.9, 0.9])
    rep = make([flaky, steady, record("t.py::test_once")])
    assert [r.nodeid for r in rep.repeats] == ["t.py::test_flaky", "t.py::test_steady"]
    row = rep.repeats[0]
    assert (row.runs, row.passed, row.pass_rate, row.flaky, row.min_pass_rate) == (5, 4, 0.8, True, 0.6)
    assert row.pass_ci95.low == pytest.approx(0.3755, abs=1e-3) and row.pass_ci95.high == pytest.approx(
        0.9638, abs=1e-3
    )
    assert row.metrics["relevance"].ci95 is not None and row.metrics["relevance"].n == 5
    assert rep.flaky == ["t.py::test_flaky"]
    assert (row.pass_at_k, row.pass_all_k, row.rule) == (True, False, ">= 60%")
    assert (rep.repeats[1].pass_all_k, rep.repeats[1].rule) == (True, "pass^k")
    text = text_of(rep)
    assert "  flaky (0 < pass rate < 1): 1" in text
    assert "  pass@k (one of k runs passed): 2/2 tests; pass^k (all k passed): 1/2" in text
    data = rep.to_dict()["repeats"][0]
    assert (data["pass_at_k"], data["pass_all_k"], data["rule"]) == (True, False, ">= 60%")


def test_quality_compares_with_the_baseline_over_the_tests_in_both() -> None:
    base = [record("t.py::test_a", 0.9), record("t.py::test_b", 0.5)]
    rep = make([record("t.py::test_a", 0.85), record("t.py::test_new", 0.25)], base)
    relevance = rep.quality[0]
    assert relevance.mean == pytest.approx(0.55)  # every test now
    assert relevance.baseline == 0.9 and relevance.baseline_count == 1  # only test_a is in both
    assert relevance.delta == pytest.approx(-0.05)
    assert rep.new_tests == ["t.py::test_new"] and rep.unused == ["t.py::test_b"]
    assert [t.status for t in rep.tests] == ["ok", "new"]
    assert rep.tests[0].cell("relevance").baseline == 0.9 and rep.tests[0].cell("relevance").status == "worse"
    assert rep.tests[1].cell("relevance").baseline is None
    assert any("cover only the tests measured in both runs" in line for line in text_of(rep))


def test_verdicts_and_next_steps() -> None:
    base = [record("t.py::test_a", 0.9)]
    missing = make([record("t.py::test_a")])
    assert not missing.verdict.failed
    assert missing.next_steps == [
        "No baseline yet (.llm-baseline.json). Create it from this run: "
        "pytest --llm-eval --llm-update-baseline"
    ]
    regressed = make([record("t.py::test_a", 0.5)], base)
    assert regressed.verdict.failed and regressed.verdict.reasons == ["1 regression against the baseline"]
    assert regressed.next_steps[0].endswith(
        "accept these results as the new baseline: pytest --llm-eval --llm-update-baseline"
    )
    new = make([record("t.py::test_a"), record("t.py::test_b")], base, fail_on_new=True)
    assert new.verdict.reasons == ["1 test not in the baseline (llm_fail_on_new)"]
    fine = make([record("t.py::test_a")], base)
    assert not fine.verdict.failed
    assert fine.next_steps == ["Every test is within its gates of the baseline; nothing to do."]
    accepting = make([record("t.py::test_a", 0.5)], base, update_baseline=True)
    assert not accepting.verdict.failed  # accepting results is not a regression


# -- printers ------------------------------------------------------------------------------------------


def test_the_terminal_puts_regressions_first_then_failures_and_ends_with_the_next_step() -> None:
    base = [record("t.py::test_a", 0.9), record("t.py::test_b", 0.9)]
    rep = make([record("t.py::test_a", 0.5), record("t.py::test_b", outcome="failed", message="boom")], base)
    lines = text_of(rep)
    assert lines.index("Regressions (2)") < lines.index("Failures (1)") < lines.index("Quality")
    first, second = lines[lines.index("Regressions (2)") + 2 :][:2]
    assert re.match(
        r"\s+t\.py::test_a\s+relevance\s+0\.9 -> 0\.5\s+-0\.4 \(-44\.4%\)\s+relevance:-10% \(default\)$",
        first,
    )
    assert re.match(
        r"\s+t\.py::test_b\s+pass_rate\s+100% -> 0%\s+-100 pts \(-100%\)\s+pass_rate:-0 \(default\)$", second
    )
    assert lines[-1].startswith("Next: Investigate the regressions above.")
    assert "Tests" not in lines
    verbose = text_of(rep, verbose=True)
    assert "Tests" in verbose
    assert any(re.match(r"\s+t\.py::test_a\s+passed\s+regressed\s", line) for line in verbose)


def test_long_lists_are_cut_without_verbose() -> None:
    recs = [
        record(f"t.py::test_{i:03}", outcome="failed", message="x") for i in range(terminal.LIST_LIMIT + 5)
    ]
    lines = text_of(make(recs))
    assert "  ... and 5 more failures (-v shows all; --llm-report-json has every row)" in lines
    assert sum("t.py::test_" in line for line in text_of(make(recs), verbose=True)) > terminal.LIST_LIMIT + 5


def test_unpriced_estimated_and_usage_free_calls_are_said_plainly() -> None:
    rec = record("t.py::test_a")
    rec.calls = [
        call(model="local-llm", cost_usd=None, estimated=True),
        call(input_tokens=None, output_tokens=None, cost_usd=None),
    ]
    lines = text_of(make([rec]))
    assert (
        "unpriced: 1 call with no known price (models: local-llm): their cost is unknown, not $0; add the "
        "models to the llm_prices file"
    ) in lines
    assert (
        "estimated: token counts of 1 call were estimated from the text (the recording had no usage)" in lines
    )
    assert "no usage: 1 call recorded no token usage: their tokens and cost are unknown" in lines


def test_comparison_tables_are_printed_in_every_format_when_present() -> None:
    rep = make([record("t.py::test_a")])
    rep.comparisons.append(
        Table(
            "A/B: qa@2 vs qa@1",
            ["metric", "A", "B", "p"],
            [["relevance", 0.81, 0.86, 0.012]],
            notes=["B wins on relevance"],
        )
    )
    lines = text_of(rep)
    assert "A/B: qa@2 vs qa@1" in lines and any("relevance" in x and "0.012" in x for x in lines)
    assert "### A/B: qa@2 vs qa@1" in markdown.render(rep)
    assert "<h2>A/B: qa@2 vs qa@1</h2>" in html.render(rep)
    assert json.loads(json_report.render(rep))["comparisons"][0]["rows"] == [["relevance", 0.81, 0.86, 0.012]]


def test_json_is_the_whole_model_and_timings_are_the_only_wall_clock_fields() -> None:
    recs = [record("t.py::test_a", [0.9, 0.7]), record("t.py::test_b", outcome="failed", message="boom")]
    first = make(recs)
    for rec in recs:
        rec.duration_s = 9.0
    second = make(recs)
    second.timings = {"duration_s": 12.0}
    a, b = json.loads(json_report.render(first)), json.loads(json_report.render(second))
    assert a["format"] == 2 and a != b

    def strip(data: Any) -> Any:
        if isinstance(data, dict):
            return {k: strip(v) for k, v in data.items() if k != "timings"}
        return [strip(v) for v in data] if isinstance(data, list) else data

    assert strip(a) == strip(b)
    assert a["tests"][0]["timings"] == {"duration_s": 0.25}
    assert set(a) == {
        "format",
        "meta",
        "options",
        "headline",
        "baseline",
        "verdict",
        "regressions",
        "not_significant",
        "not_comparable",
        "new_tests",
        "unused",
        "missing_metrics",
        "failures",
        "quality",
        "prompts",
        "models",
        "judge",
        "repeats",
        "flaky",
        "tests",
        "distributions",
        "next_steps",
        "comparisons",
        "regressed_tests",
        "recordings",
        "drift",
        "timings",
        "settings",
        "records",
    }
    assert a["headline"]["app"]["cost_usd"] == pytest.approx(0.0006)


def test_markdown_escapes_cells_and_carries_the_sections() -> None:
    base = [record("t.py::test_a[x|y]", 0.9)]
    rep = make([record("t.py::test_a[x|y]", 0.5, outcome="failed", message="a | b\nsecond line")], base)
    md = markdown.render(rep)
    assert md.startswith("## LLM evaluation\n")
    assert "### Regressions (2)" in md and "`t.py::test_a[x\\|y]` | relevance | 0.9 | 0.5 |" in md
    assert "| failed | a \\| b |" in md and "second line" not in md
    assert "### Quality" in md and "### By prompt version" in md and "### By model" in md
    assert md.rstrip().endswith("pytest --llm-eval --llm-update-baseline")


def test_html_is_self_contained_and_escapes_everything() -> None:
    nasty = "t.py::test_a[<script>alert(1)</script>]"
    rec = record(nasty, 0.8, outcome="failed", message="<img src=x onerror=alert(1)>")
    page = html.render(make([rec, record("t.py::test_b", [0.7, 0.9])]))
    assert page.count("<script") == 1 and "<script>alert" not in page and "<img" not in page  # ours only
    assert "&lt;script&gt;" in page
    assert page.count("<svg") >= 4  # relevance distribution, cost and tokens by prompt and by model, latency
    assert not re.search(r"<[^>]*\s(src|href)=", page)
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"] * page.count("<svg")


def test_junit_properties_carry_scores_tokens_and_cost() -> None:
    rec = record("t.py::test_a", [0.9, 0.7])
    rec.runs[1].outcome = "failed"
    rec.calls.append(call(role="judge", cost_usd=0.001))
    props = dict(junit_properties(rec))
    assert props == {
        "llm.score.relevance": "0.8",
        "llm.pass_rate": "0.5",
        "llm.runs": "2",
        "llm.calls": "2",
        "llm.tokens.input": "200",
        "llm.tokens.output": "40",
        "llm.tokens.cached": "0",
        "llm.cost_usd": "0.0004",
        "llm.judge.calls": "1",
        "llm.judge.cost_usd": "0.001",
        "llm.latency_p95_ms": "400",
        "llm.prompt": "qa@1.0.0",
        "llm.model": "gpt-4o-mini",
    }
    rec.calls.append(call(cost_usd=None))
    props = dict(junit_properties(rec))
    assert "llm.cost_usd" not in props and props["llm.unpriced_calls"] == "1"


# -- the session glue ----------------------------------------------------------------------------------


def settings(tmp_path: Path, **kwargs: Any) -> Settings:
    values: dict[str, Any] = {
        "baseline": tmp_path / ".llm-baseline.json",
        "update_baseline": False,
        "baseline_include_errors": False,
        "fail_on": None,
        "fail_on_new": False,
        "alpha": 0.05,
        "report_json": None,
        "report_md": None,
        "report_html": None,
        "scrubber": Scrubber(),
        "rootdir": tmp_path,
        "invocation_paths": (),
        "max_recording_age_days": None,
    }
    values.update(kwargs)
    return cast(Settings, SimpleNamespace(**values))


def test_finish_accepts_then_gates_and_writes_every_file(tmp_path: Path) -> None:
    accepted = reporting.finish(
        [record("t.py::test_a")], settings(tmp_path, update_baseline=True), full_run=True
    )
    assert accepted.exit_status is None and accepted.errors == []
    assert accepted.report.baseline.updated and accepted.report.baseline.written_tests == 1
    files = {
        "report_json": tmp_path / "o" / "r.json",
        "report_md": tmp_path / "o" / "r.md",
        "report_html": tmp_path / "o" / "r.html",
    }
    dropped = reporting.finish(
        [record("t.py::test_a", 0.4)],
        settings(tmp_path, **files),
        full_run=True,
        meta={"workers": 2},
        duration_s=3.5,
    )
    assert dropped.exit_status == pytest.ExitCode.TESTS_FAILED
    assert [kind for kind, _ in dropped.written] == ["JSON", "Markdown", "HTML"]
    data = json.loads(files["report_json"].read_text())
    assert data["regressions"][0]["metric"] == "relevance" and data["meta"]["workers"] == 2
    assert data["timings"]["duration_s"] == 3.5
    ab = Table("A/B: qa@2 vs qa@1", ["metric", "lift"], [["relevance", 0.05]])
    loose = reporting.finish(
        [record("t.py::test_a", 0.4)],
        settings(tmp_path, fail_on="relevance:off"),
        full_run=True,
        comparisons=[ab],
    )
    assert loose.exit_status is None and loose.report.comparisons == [ab]


def test_finish_with_a_custom_baseline_path_says_so_in_the_command(tmp_path: Path) -> None:
    out = reporting.finish(
        [record("t.py::test_a")], settings(tmp_path, baseline=tmp_path / "ci" / "base.json"), full_run=True
    )
    assert out.report.next_steps == [
        "No baseline yet (ci/base.json). Create it from this run: pytest --llm-eval --llm-update-baseline "
        "--llm-baseline ci/base.json"
    ]


def test_a_secret_in_a_report_is_redacted_and_the_report_written(tmp_path: Path) -> None:
    target = tmp_path / "r.md"
    target.write_text("previous")
    key = fake_key()
    rec = record("t.py::test_a", outcome="failed", message=f"AuthenticationError: key {key} rejected")
    out = reporting.finish([rec], settings(tmp_path, report_md=target), full_run=True)
    assert out.errors == []
    text = target.read_text()
    assert key not in text and "AuthenticationError: key [REDACTED:KEY] rejected" in text


def test_finish_never_raises(tmp_path: Path) -> None:
    out = reporting.finish([cast(TestRecord, object())], settings(tmp_path), full_run=True)
    assert out.exit_status == pytest.ExitCode.INTERNAL_ERROR
    assert out.errors[0].startswith("pytest-llmops could not build the LLM report: AttributeError")


def test_a_run_without_llm_tests_says_so_and_needs_no_baseline(tmp_path: Path) -> None:
    (tmp_path / ".llm-baseline.json").write_text("not json")
    out = reporting.finish([], settings(tmp_path), full_run=True)
    assert out.exit_status is None and out.report.next_steps == []
    assert text_of(out.report) == ["no llm tests ran (tests marked @pytest.mark.llm)"]
    assert reporting.finish([record("t.py::test_a")], settings(tmp_path), full_run=True).exit_status == (
        pytest.ExitCode.USAGE_ERROR
    )
    kept = reporting.finish([], settings(tmp_path, update_baseline=True), full_run=True)
    assert (tmp_path / ".llm-baseline.json").read_text() == "not json"  # nothing ran: nothing to accept
    assert kept.exit_status is None and not kept.report.baseline.updated


class Reporter:
    def __init__(self, fail: bool = False) -> None:
        self.file = io.StringIO()
        self.tw = TerminalWriter(self.file)
        self.fail = fail
        self.verbosity = 0

    def write_sep(self, sep: str, title: str) -> None:
        if self.fail:
            raise RuntimeError("terminal gone")
        self.tw.sep(sep, title)

    def write_line(self, line: str, **markup: bool) -> None:
        self.tw.line(line, **markup)


def test_print_summary_prints_the_section_and_never_raises(tmp_path: Path) -> None:
    out = reporting.finish(
        [record("t.py::test_a")], settings(tmp_path, report_json=tmp_path / "r.json"), full_run=True
    )
    reporter = Reporter()
    reporting.print_summary(reporter, out)
    text = reporter.file.getvalue()
    assert "LLM evaluation" in text.splitlines()[0]
    assert f"LLM JSON report: {tmp_path / 'r.json'}" in text
    assert text.rstrip().splitlines()[-1].startswith("Next: No baseline yet")
    broken = Reporter(fail=True)
    reporting.print_summary(broken, out)
    assert "could not print the LLM report: RuntimeError('terminal gone')" in broken.file.getvalue()
    reporting.print_summary(Reporter(), None)


def test_a_record_dict_holds_every_field_and_reads_back_equal() -> None:
    """`TestRecord.to_dict` is written by hand (it runs for every llm test): no field may be left out."""
    from dataclasses import asdict

    record = TestRecord(
        nodeid="t.py::test_a[x]",
        base_nodeid="t.py::test_a",
        outcome="failed",
        message="no",
        params={"p": "x"},
        calls=[LLMCall(provider="openai", endpoint="/v1/chat/completions", model="m", input_tokens=3)],
        scores=[Score(name="s", value=0.5, threshold=0.7, passed=False)],
        runs=[RunRecord(0, "passed", None, 0.25), RunRecord(1, "failed", "boom", 0.5)],
        cassette=CassetteInfo(path="c.yaml", mode="none", played=2, recorded=1, misses=1, written=True),
        tags=["smoke"],
        failure="check",
    )
    data = record.to_dict()
    assert data["runs"] == [asdict(r) for r in record.runs]
    assert data["cassette"] == asdict(record.cassette)  # type: ignore[arg-type]
    assert TestRecord.from_dict(json.loads(json.dumps(data))) == record
