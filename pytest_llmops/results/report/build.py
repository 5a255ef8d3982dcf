"""Build the `Report` of a session from its per-test records, their metrics and the baseline comparison.

Pure: no I/O, no clock. Records are taken in nodeid order whatever order
they arrived in (xdist), and sums are exact (`math.fsum`), so the same
results give the same report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pytest_llmops.results import drift as drift_rules
from pytest_llmops.results.baseline import (
    BaselineAnswer,
    BaselineDiff,
    MetricComparison,
    MetricEntry,
    judge_of,
    known,
)
from pytest_llmops.results.gates import BUILTIN_METRICS, parse_gates
from pytest_llmops.results.records import NOT_CHECK_FAILURES, TestRecord
from pytest_llmops.results.report.figures import (
    NON_NEGATIVE,
    CallFigures,
    Histogram,
    call_figures,
    histogram,
    mean_ci,
    model_of,
    wilson_ci,
)
from pytest_llmops.results.report.model import (
    BaselineInfo,
    CassetteFigures,
    DeclaredFigure,
    DriftSection,
    Failure,
    GroupSummary,
    Headline,
    JudgeSummary,
    MeanCI,
    MetricSummary,
    RepeatRow,
    Report,
    ReportOptions,
    TestRow,
    Verdict,
)
from pytest_llmops.results.report.recordings import summarize as recordings_section
from pytest_llmops.results.report.why import RegressionView, regression_views, score_lines
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.wording import plural, shorten

if TYPE_CHECKING:
    from pytest_llmops.spend.pricing import PriceTable

__all__ = ["MESSAGE_LIMIT", "NO_PROMPT", "build"]

NO_PROMPT = "(no prompt)"
MESSAGE_LIMIT = 500
BUILTIN_ORDER = tuple(BUILTIN_METRICS)
_NO_ROWS: dict[str, MetricComparison] = {}


def _message(text: str | None) -> str | None:
    if text is None:
        return None
    return shorten(text, MESSAGE_LIMIT)


def _declared(
    metadata: Mapping[str, Any], figures: CallFigures, metrics: Mapping[str, float]
) -> list[DeclaredFigure]:
    """Pair `avg_<x>` metadata with the measured <x>: a metric mean, tokens or cost per call, latency."""
    calls = figures.calls
    per_call: dict[str, tuple[float | None, str]] = {
        "tokens": (figures.total_tokens / calls if calls else None, "tokens per call"),
        "total_tokens": (figures.total_tokens / calls if calls else None, "tokens per call"),
        "input_tokens": (figures.input_tokens / calls if calls else None, "input tokens per call"),
        "output_tokens": (figures.output_tokens / calls if calls else None, "output tokens per call"),
        "cost_usd": (figures.cost_usd / calls if calls else None, "cost per call"),
        "cost": (figures.cost_usd / calls if calls else None, "cost per call"),
        "latency_ms": (figures.latency_mean_ms, "mean latency"),
    }
    out: list[DeclaredFigure] = []
    for key in sorted(metadata):
        value = metadata[key]
        if isinstance(value, dict | list):
            continue
        item = DeclaredFigure(key, value)
        if key.startswith("avg_") and isinstance(value, int | float) and not isinstance(value, bool):
            name = key[len("avg_") :]
            if name in metrics:
                item.measured, item.measured_as = metrics[name], f"mean {name}"
            elif name in per_call:
                item.measured, item.measured_as = per_call[name]
        out.append(item)
    return out


def _group_metrics(
    nodeids: Iterable[str], quality_values: Mapping[str, list[tuple[str, float]]]
) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    for nodeid in nodeids:
        for name, value in quality_values.get(nodeid, ()):
            found = values.get(name)
            if found is None:
                values[name] = [value]
            else:
                found.append(value)
    return {name: math.fsum(v) / len(v) for name, v in sorted(values.items())}


def _groups(
    app_calls: Sequence[LLMCall],
    quality_values: Mapping[str, list[tuple[str, float]]],
    key_of_call: Any,
    tests_of: Mapping[str, list[str]],
    extra_keys: Iterable[str] = (),
) -> list[GroupSummary]:
    calls: dict[str, list[LLMCall]] = {k: [] for k in extra_keys}
    for call in app_calls:
        calls.setdefault(key_of_call(call), []).append(call)
    return [
        GroupSummary(
            key,
            len(tests_of.get(key, [])),
            call_figures(calls[key]),
            _group_metrics(tests_of.get(key, []), quality_values),
        )
        for key in sorted(calls)
    ]


def _judge_summary(records: Sequence[TestRecord]) -> JudgeSummary:
    calls = [c for r in records for c in r.calls if c.role == "judge"]
    judges: set[tuple[tuple[str, str], ...]] = set()
    scores = escalated = decisions = 0
    attributed: list[float] = []
    for record in records:
        for score in record.scores:
            details = score.details
            if "escalated" in details:
                decisions += 1
                escalated += bool(details["escalated"])
            identity = judge_of(details, score.scorer)
            if identity and "judge" in identity:  # not a cascade score that stayed local
                scores += 1
                judges.add(tuple(identity.items()))
            if score.judge_cost_usd is not None and math.isfinite(score.judge_cost_usd):
                attributed.append(score.judge_cost_usd)
    return JudgeSummary(
        call_figures(calls),
        [dict(j) for j in sorted(judges)],
        scores,
        math.fsum(attributed) if attributed else None,
        escalated,
        decisions,
    )


def _repeat_rows(
    records: Sequence[TestRecord], measured: Mapping[str, dict[str, MetricEntry]]
) -> list[RepeatRow]:
    rows: list[RepeatRow] = []
    for record in records:
        runs = [r for r in record.runs if r.outcome != "skipped"]
        if len(runs) < 2:
            continue
        passed = sum(1 for r in runs if r.outcome == "passed")
        metrics = {
            name: MeanCI(entry.value, entry.count, mean_ci(name, entry.runs, entry.scale))
            for name, entry in measured.get(record.nodeid, {}).items()
            if name != "pass_rate"
        }
        rows.append(
            RepeatRow(
                record.nodeid,
                len(runs),
                passed,
                passed / len(runs),
                wilson_ci(passed, len(runs)),
                record.min_pass_rate,
                0 < passed < len(runs),
                metrics,
                record.pass_mode,
            )
        )
    return rows


def _cost_or_none(calls: Sequence[LLMCall]) -> float | None:
    costs = [known(c, "cost_usd") for c in calls]
    if None in costs:
        return None
    return math.fsum(c for c in costs if c is not None)


def _test_status(
    has_metrics: bool, rows: Mapping[str, MetricComparison] | None, diff: BaselineDiff | None
) -> str:
    if not has_metrics:
        return "not run"
    if diff is None:
        return "no baseline"
    if rows is None:
        return "new"
    statuses = {c.status for c in rows.values()}
    for status in ("regressed", "not comparable", "not significant"):
        if status in statuses:
            return status
    return "ok"


def _plural(n: int, one: str, many: str) -> str:
    return plural(n, one, many)


def _not_measured(report: Report, shown: int = 5) -> str | None:
    """The tests that failed for a reason other than their checks, as a next step; None when none did."""
    bad = [f for f in report.failures if f.reason in NOT_CHECK_FAILURES]
    if not bad:
        return None
    listed = ", ".join(f"{f.nodeid} ({f.reason})" for f in bad[:shown])
    if len(bad) > shown:
        listed += f" and {len(bad) - shown} more"
    them = "it" if len(bad) == 1 else "them"
    return (
        f"{plural(len(bad), 'test')} failed for a reason other than {'its' if len(bad) == 1 else 'their'} "
        f"checks: {listed}. Fix {them} before accepting this run as the baseline"
        + (
            " (a cassette miss names the command that records what is missing)"
            if any(f.reason == "cassette miss" for f in bad)
            else ""
        )
        + "; --llm-update-baseline refuses such a run."
    )


def _drift(records: Sequence[TestRecord], options: ReportOptions) -> DriftSection | None:
    """The live canary's section; None when no test was sampled (no --llm-live-sample, or none selected)."""
    sampled = [r for r in records if r.canary is not None]
    if not sampled and options.live_sample is None:
        return None
    gates = parse_gates(options.fail_on_drift)
    tests: list[drift_rules.DriftTest] = []
    views: list[RegressionView] = []
    live_costs: list[float | None] = []
    for record in sampled:
        test = drift_rules.compare_test(record, gates, options.alpha)
        assert test is not None and record.canary is not None
        tests.append(test)
        live_costs.append(test.live_cost_usd)
        live = record.canary.record
        if test.drifted and live is not None:
            recorded = record.answer
            before = None
            if recorded is not None:
                before = BaselineAnswer.of(record)
            scores = score_lines(live, test.comparisons)
            views.append(
                RegressionView(
                    record.nodeid,
                    live.outcome,
                    _message(live.message),
                    test.drifted,
                    scores,
                    before,
                    live.answer,
                    test.answer_changed,
                    any(s.judged for s in scores),
                )
            )
    compared = [t for t in tests if t.ran]
    known_costs = [c for c in live_costs if c is not None]
    return DriftSection(
        sample=options.live_sample or "",
        gates=gates.text,
        gated=options.fail_on_drift is not None,
        sampled=len(tests),
        compared=len(compared),
        skipped=[(t.nodeid, t.reason or "not run") for t in tests if not t.ran],
        live_calls=sum(t.live_calls for t in tests),
        live_cost_usd=math.fsum(known_costs) if len(known_costs) == len(live_costs) else None,
        tests=tests,
        metrics=drift_rules.metric_drift(compared),
        drifted=[c for t in compared for c in t.drifted],
        views=views,
    )


def _verdict(
    baseline: BaselineInfo,
    regressions: int,
    new_tests: int,
    options: ReportOptions,
    measured_any: bool,
    drift: DriftSection | None = None,
) -> Verdict:
    """Fail on regressions, on new tests when asked, and on an unusable baseline when there was something
    to compare with it."""
    verdict = Verdict()
    if options.update_baseline:
        if baseline.update_error:
            verdict.failed = True
            verdict.reasons.append(f"the baseline was not written: {baseline.update_error}")
        return verdict
    if baseline.state == "error" and measured_any:
        verdict.failed = verdict.usage_error = True
        verdict.reasons.append(f"the baseline file {baseline.path} is unusable")
    if regressions:
        verdict.failed = True
        verdict.reasons.append(f"{_plural(regressions, 'regression', 'regressions')} against the baseline")
    if new_tests and options.fail_on_new:
        verdict.failed = True
        verdict.reasons.append(f"{_plural(new_tests, 'test', 'tests')} not in the baseline (llm_fail_on_new)")
    if drift is not None and drift.gated and drift.drifted:
        verdict.failed = True
        verdict.reasons.append(
            f"{_plural(len(drift.drifted), 'metric', 'metrics')} drifted live in "
            f"{_plural(drift.drifted_tests, 'canary test', 'canary tests')} (--llm-fail-on-drift)"
        )
    return verdict


def _next_steps(report: Report) -> list[str]:
    options, baseline = report.options, report.baseline
    cmd = options.update_command
    steps: list[str] = []
    if options.update_baseline:
        if baseline.updated:
            steps.append(
                f"Baseline {baseline.path} updated from this run ({plural(baseline.written_tests, 'test')}); "
                "review and commit it with your change."
            )
        elif not baseline.update_error:
            steps.append(f"No llm test ran, so the baseline {baseline.path} was left as it is.")
        return steps
    if baseline.state == "error":
        return [f"Fix {baseline.path}, or regenerate it from a good run: {cmd} (this replaces the file)."]
    not_measured = _not_measured(report)
    if baseline.state == "missing":
        if not_measured:
            return [f"No baseline yet ({baseline.path}). {not_measured}"]
        return [f"No baseline yet ({baseline.path}). Create it from this run: {cmd}"]
    if not_measured:
        steps.append(not_measured)
    if report.regressions:
        steps.append(
            "Investigate the regressions above. If the change is intended, accept these results as the new "
            f"baseline: {cmd}"
        )
    if report.not_comparable:
        steps.append(
            f"{plural(len(report.not_comparable), 'judge score')} "
            f"{'was' if len(report.not_comparable) == 1 else 'were'} not compared because the judge or its prompt "
            f"changed; accept the new judge's scores as the baseline once reviewed: {cmd}"
        )
    if report.not_significant:
        steps.append(
            f"{plural(len(report.not_significant), 'move')} beyond a gate "
            f"{'was' if len(report.not_significant) == 1 else 'were'} not significant at alpha "
            f"{options.alpha:g}; more repeats (--llm-repeat N) would tell noise from change."
        )
    if report.new_tests and not report.regressions:
        steps.append(
            f"Add the {_plural(len(report.new_tests), 'new test', 'new tests')} to the baseline: {cmd}"
        )
    if report.unused:
        entries = _plural(len(report.unused), "baseline entry belongs", "baseline entries belong")
        steps.append(f"{entries} to tests that no longer exist; {cmd} on a full run removes them.")
    if not steps:
        steps.append("Every test is within its gates of the baseline; nothing to do.")
    return steps


def _quality(
    ordered: Sequence[TestRecord],
    measured: Mapping[str, dict[str, MetricEntry]],
    diff: BaselineDiff | None,
    regressions: Sequence[MetricComparison],
) -> tuple[list[MetricSummary], dict[str, list[float]]]:
    """Each metric over the tests that have it; the baseline and the delta over the tests in both runs."""
    per_metric: dict[str, list[float]] = {}
    directions: dict[str, bool] = {}
    scales: dict[str, tuple[float, float] | None] = {}
    common: dict[str, tuple[list[float], list[float]]] = {}
    for record in ordered:
        for name, entry in measured.get(record.nodeid, {}).items():
            values = per_metric.get(name)
            if values is None:
                per_metric[name] = [entry.value]
                directions[name] = entry.higher_is_better
                scales[name] = entry.scale
            else:
                values.append(entry.value)
        rows = diff.comparisons.get(record.nodeid) if diff else None
        if rows:
            for name, comparison in rows.items():
                pair = common.get(name)
                if pair is None:
                    pair = common[name] = ([], [])
                pair[0].append(comparison.current)
                pair[1].append(comparison.baseline)
    regressed: dict[str, int] = {}
    for item in regressions:
        regressed[item.metric] = regressed.get(item.metric, 0) + 1
    names = sorted(n for n in per_metric if n not in BUILTIN_METRICS) + [
        n for n in BUILTIN_ORDER if n in per_metric
    ]
    quality: list[MetricSummary] = []
    for name in names:
        values = per_metric[name]
        summary = MetricSummary(
            name,
            directions[name],
            len(values),
            math.fsum(values) / len(values),
            mean_ci(name, values, scales.get(name)),
            regressions=regressed.get(name, 0),
        )
        if name in common:
            now, base = common[name]
            summary.baseline = math.fsum(base) / len(base)
            summary.baseline_count = len(base)
            summary.delta = math.fsum(now) / len(now) - summary.baseline
        quality.append(summary)
    return quality, per_metric


def build(
    records: Iterable[TestRecord],
    measured: Mapping[str, dict[str, MetricEntry]],
    *,
    baseline: BaselineInfo,
    diff: BaselineDiff | None,
    options: ReportOptions | None = None,
    meta: Mapping[str, Any] | None = None,
    timings: Mapping[str, Any] | None = None,
    as_of: datetime | None = None,
    max_recording_age_days: int | None = None,
    prices: PriceTable | None = None,
) -> Report:
    """The report of one session. `measured` is `baseline.measure` of every record; `diff` the comparison
    with the baseline, None when there is no usable one. `as_of` is the date recordings are aged and
    priced at (the "Recordings" section; none without it), `prices` the user's price file."""
    options = options or ReportOptions()
    ordered = sorted(records, key=lambda r: r.nodeid)

    outcomes: dict[str, int] = {}
    cassettes = CassetteFigures()
    app_calls: list[LLMCall] = []
    app_of: dict[str, list[LLMCall]] = {}
    for record in ordered:
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
        app = app_of[record.nodeid] = [c for c in record.calls if c.role == "app"]
        app_calls.extend(app)
        info = record.cassette
        if info is not None:
            cassettes.played += info.played
            cassettes.recorded += info.recorded
            cassettes.misses += info.misses
            cassettes.files_written += int(info.written)
    judge = _judge_summary(ordered)
    ran = len(ordered) - outcomes.get("skipped", 0) - outcomes.get("xfailed", 0)
    headline = Headline(
        len(ordered),
        dict(sorted(outcomes.items())),
        outcomes.get("passed", 0) / ran if ran else None,
        call_figures(app_calls),
        judge.figures,
        cassettes,
    )

    regressions = diff.regressions if diff else []
    quality, per_metric = _quality(ordered, measured, diff, regressions)

    tests_by_prompt: dict[str, list[str]] = {}
    tests_by_model: dict[str, list[str]] = {}
    prompt_sha: dict[str, str] = {}
    prompt_meta: dict[str, dict[str, Any]] = {}
    for record in ordered:
        if not measured.get(record.nodeid):
            continue  # did not run
        for ref, sha in record.prompts.items():
            tests_by_prompt.setdefault(ref, []).append(record.nodeid)
            prompt_sha[ref] = sha
        for ref, declared in record.prompt_metadata.items():
            prompt_meta.setdefault(ref, declared)
        for model in sorted({model_of(c) for c in app_of[record.nodeid]}):
            tests_by_model.setdefault(model, []).append(record.nodeid)
    # Score means (and pass_rate) by prompt and by model; cost, tokens and latency come from the calls.
    quality_values = {
        nodeid: [(name, entry.value) for name, entry in metrics.items() if name not in NON_NEGATIVE]
        for nodeid, metrics in measured.items()
    }
    prompts: list[GroupSummary] = []
    if prompt_sha:
        prompts = _groups(
            app_calls, quality_values, lambda c: c.prompt or NO_PROMPT, tests_by_prompt, prompt_sha
        )
        for group in prompts:
            group.sha256 = prompt_sha.get(group.key)
            group.declared = _declared(prompt_meta.get(group.key, {}), group.figures, group.metrics)
    models = _groups(app_calls, quality_values, model_of, tests_by_model)

    repeats = _repeat_rows(ordered, measured)

    tests: list[TestRow] = []
    failures: list[Failure] = []
    for record in ordered:
        nodeid = record.nodeid
        metrics = measured.get(nodeid, {})
        rows = diff.comparisons.get(nodeid) if diff else None
        app = app_of[nodeid]
        runs = [r for r in record.runs if r.outcome != "skipped"]
        message = _message(record.message)
        tests.append(
            TestRow(
                nodeid,
                record.outcome,
                _test_status(bool(metrics), rows, diff),
                message,
                len(runs),
                sum(1 for r in runs if r.outcome == "passed"),
                len(app),
                len(record.calls) - len(app),
                sum(c.input_tokens or 0 for c in app),
                sum(c.output_tokens or 0 for c in app),
                _cost_or_none(app),
                metrics,
                rows if rows is not None else _NO_ROWS,
                rows is not None,
                sorted(record.prompts),
                sorted({model_of(c) for c in app}),
                record.variant,
                record.duration_s,
                list(record.tags),
                record.answer,
                diff.answers.get(nodeid) if diff else None,
                record,
            )
        )
        if record.outcome in ("failed", "error"):
            failures.append(Failure(nodeid, record.outcome, message, record.failure))

    distributions: dict[str, Histogram] = {}
    latency = histogram([c.latency_ms for c in app_calls if c.latency_ms is not None], "ms", bins=20)
    if latency is not None:
        distributions["latency_ms"] = latency
    for summary in quality:
        if summary.name not in BUILTIN_METRICS:
            shape = histogram(per_metric[summary.name], "score")
            if shape is not None:
                distributions[f"score:{summary.name}"] = shape

    new_tests = list(diff.new_tests) if diff else []
    drift = _drift(ordered, options)
    report = Report(
        meta=dict(meta or {}),
        options=options,
        headline=headline,
        baseline=baseline,
        verdict=_verdict(baseline, len(regressions), len(new_tests), options, any(measured.values()), drift),
        regressions=regressions,
        not_significant=diff.with_status("not significant") if diff else [],
        not_comparable=diff.with_status("not comparable") if diff else [],
        new_tests=new_tests,
        unused=list(diff.unused) if diff else [],
        missing_metrics=list(diff.missing_metrics) if diff else [],
        failures=failures,
        quality=quality,
        prompts=prompts,
        models=models,
        judge=judge,
        repeats=repeats,
        flaky=[r.nodeid for r in repeats if r.flaky],
        tests=tests,
        distributions=distributions,
        next_steps=[],
        regressed_tests=regression_views(ordered, diff, _message),
        recordings=recordings_section(
            ordered, as_of=as_of, max_age_days=max_recording_age_days, prices=prices
        ),
        drift=drift,
        timings=dict(timings or {}),
    )
    if any(measured.values()) or options.update_baseline:
        report.next_steps = _next_steps(report)
    if drift is not None:
        report.next_steps.extend(_drift_steps(drift))
    return report


def _drift_steps(drift: DriftSection) -> list[str]:
    steps: list[str] = []
    if drift.drifted_tests:
        steps.append(
            f"The live canary found drift in {plural(drift.drifted_tests, 'test')}: if today's answers are "
            "right, re-record them (pytest --llm-eval --llm-record=rewrite <those tests>) and update the "
            "baseline; if they are worse, pin the model snapshot or open an issue with the provider "
            "(docs/drift.md)."
        )
    missing = sorted({reason for _, reason in drift.skipped if reason.startswith("no ")})
    if missing:
        steps.append(
            f"The live canary did not run for {plural(sum(1 for _, r in drift.skipped if r.startswith('no ')), 'test')}: "
            f"{'; '.join(missing)}. Set the key (a CI secret) to compare the recordings with live answers."
        )
    return steps
