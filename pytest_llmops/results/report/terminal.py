"""The "LLM evaluation" terminal section: `lines(report)` yields (text, markup) pairs; printing is elsewhere.

Order: headline, regressions, failures, quality, prompt versions, models,
judge, repeats, comparisons, the rest of the baseline comparison, every test
with -v, and last the next step for the user. Without -v, long lists stop
after `LIST_LIMIT` rows and say where the rest is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pytest_llmops.results.baseline import MetricComparison
from pytest_llmops.results.report import numbers as fmt
from pytest_llmops.results.report.figures import CallFigures
from pytest_llmops.results.report.model import DriftSection, GroupSummary, Recordings, Report, Table
from pytest_llmops.results.report.recordings import RERECORD_HINT, change_text
from pytest_llmops.results.report.terminal_answers import PLAIN, Line, view_lines
from pytest_llmops.wording import plural, shorten

__all__ = [
    "BOLD",
    "GREEN",
    "LIST_LIMIT",
    "RED",
    "SHOWN_DRIFTED",
    "YELLOW",
    "Line",
    "drift_lines",
    "lines",
    "recordings_lines",
    "table",
]

LIST_LIMIT = 30
BOLD = {"bold": True}
RED = {"red": True, "bold": True}
YELLOW = {"yellow": True}
GREEN = {"green": True}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Aligned columns; indexes in `right` are right-aligned (numbers)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def render(cells: Sequence[str]) -> str:
        parts = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "  " + "  ".join(parts).rstrip()

    return [render(headers), *(render(r) for r in rows)]


def _plural(n: int, word: str, many: str | None = None) -> str:
    return plural(n, word, many)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return fmt.metric("", value)
    return str(value)


def _spend(fig: CallFigures) -> str:
    live, replayed = fmt.usd(fig.live_cost_usd), fmt.usd(fig.replayed_cost_usd)
    return f"{live} live (paid now) · {replayed} replayed (cost when recorded)"


def _headline(report: Report) -> Iterator[Line]:
    h = report.headline
    parts = ", ".join(f"{n} {o}" for o, n in h.outcomes.items())
    rate = f" · pass rate {fmt.pct(h.pass_rate)}" if h.pass_rate is not None else ""
    yield f"{_plural(h.tests, 'llm test')}: {parts or 'none'}{rate}", BOLD
    app = h.app
    yield (
        (
            f"app calls: {app.calls:,} ({app.replayed_calls:,} replayed, {app.live_calls:,} live"
            + (f", {app.error_calls:,} errors" if app.error_calls else "")
            + ")"
        ),
        PLAIN,
    )
    yield f"spend: {_spend(app)}", PLAIN
    if app.unpriced_calls:
        yield (
            (
                f"unpriced: {_plural(app.unpriced_calls, 'call')} with no known price "
                f"(models: {', '.join(app.unpriced_models)}): their cost is unknown, not $0; "
                "add the models to the llm_prices file"
            ),
            YELLOW,
        )
    if app.calls_without_usage:
        yield (
            (
                f"no usage: {_plural(app.calls_without_usage, 'call')} recorded no token usage: "
                "their tokens and cost are unknown"
            ),
            YELLOW,
        )
    cached = f" ({app.cached_input_tokens:,} cached)" if app.cached_input_tokens else ""
    yield f"tokens: {app.input_tokens:,} in{cached} · {app.output_tokens:,} out", PLAIN
    if app.estimated_calls:
        yield (
            (
                f"estimated: token counts of {_plural(app.estimated_calls, 'call')} were estimated from "
                "the text (the recording had no usage)"
            ),
            YELLOW,
        )
    if app.latency_p50_ms is not None:
        yield (
            (
                f"latency (app calls): p50 {fmt.ms(app.latency_p50_ms)} · p95 {fmt.ms(app.latency_p95_ms)} · "
                f"p99 {fmt.ms(app.latency_p99_ms)}"
            ),
            PLAIN,
        )
    c = h.cassettes
    miss_style = RED if c.misses else PLAIN
    yield (
        f"cassettes: {c.played:,} played · {plural(c.recorded, 'new recording')} · {plural(c.misses, 'miss')}",
        miss_style,
    )
    j = report.judge
    if j.figures.calls or j.scores:
        text = f"judge: {_plural(j.figures.calls, 'call')} · {_spend(j.figures)}"
        if j.escalation_decisions:
            text += f" · {j.escalated} of {j.escalation_decisions} scores escalated to the judge"
        yield text, PLAIN
    b = report.baseline
    if b.state == "loaded":
        commit = b.meta.get("git_commit")
        at = f", commit {str(commit)[:10]}" if commit else ""
        yield f"baseline: {b.path} ({_plural(b.tests, 'test')}{at})", PLAIN
    elif b.state == "missing":
        yield f"baseline: none yet ({b.path})", YELLOW
    else:
        yield f"baseline unusable: {b.error}", RED


def _comparison_rows(items: Sequence[MetricComparison]) -> list[list[str]]:
    rows = []
    for c in items:
        rel = f" ({fmt.signed_pct(c.relative)})" if c.relative is not None else ""
        rows.append(
            [
                c.nodeid,
                c.metric,
                f"{fmt.metric(c.metric, c.baseline)} -> {fmt.metric(c.metric, c.current)}",
                fmt.delta(c.metric, c.delta) + rel,
                c.gate + (" (default)" if c.gate_default else ""),
            ]
        )
    return rows


def _shown(items: Sequence[Any], verbose: bool) -> Sequence[Any]:
    """What a list section prints: all with -v, else the first LIST_LIMIT (formatting only those)."""
    return items if verbose else items[:LIST_LIMIT]


def _more(total: int, shown: int, what: str) -> str | None:
    if shown >= total:
        return None
    return f"  ... and {total - shown:,} more {what} (-v shows all; --llm-report-json has every row)"


def _section(title: str, style: dict[str, bool] = BOLD) -> Iterator[Line]:
    yield "", PLAIN
    yield title, style


def _comparisons(
    title: str, items: Sequence[MetricComparison], verbose: bool, style: dict[str, bool], notes: bool = False
) -> Iterator[Line]:
    if not items:
        return
    yield from _section(f"{title} ({len(items)})", style)
    shown = _shown(items, verbose)
    rows = _comparison_rows(shown)
    headers = ["test", "metric", "baseline -> now", "delta", "gate"]
    if notes:
        for row, item in zip(rows, shown, strict=True):
            row.append(item.note or "")
        headers.append("why")
    for text in table(headers, rows):
        yield text, PLAIN
    more = _more(len(items), len(shown), "rows")
    if more:
        yield more, PLAIN


def _group_rows(groups: Sequence[GroupSummary]) -> list[list[str]]:
    rows = []
    for g in groups:
        f = g.figures
        cost = fmt.usd(f.cost_usd) + (f" +{f.unpriced_calls} unpriced" if f.unpriced_calls else "")
        metrics = ", ".join(f"{k} {fmt.metric(k, v)}" for k, v in g.metrics.items())
        rows.append(
            [
                g.key,
                f"{g.tests:,}",
                f"{f.calls:,}",
                f"{f.input_tokens:,}/{f.output_tokens:,}",
                cost,
                fmt.ms(f.latency_p95_ms),
                metrics,
            ]
        )
    return rows


def _groups(title: str, first: str, groups: Sequence[GroupSummary]) -> Iterator[Line]:
    if not groups:
        return
    yield from _section(title)
    headers = [first, "tests", "calls", "tokens in/out", "cost", "p95", "metric means"]
    rendered = table(headers, _group_rows(groups), right=(1, 2, 3, 4, 5))
    yield rendered[0], PLAIN
    for text, group in zip(rendered[1:], groups, strict=True):
        yield text, PLAIN
        if group.declared:
            parts = []
            for d in group.declared:
                measured = (
                    f" (measured {fmt.metric(d.key[4:], d.measured)} {d.measured_as})"
                    if d.measured_as
                    else ""
                )
                parts.append(f"{d.key} {d.declared}{measured}")
            yield "      declared: " + " · ".join(parts), PLAIN


def _table(t: Table) -> Iterator[Line]:
    yield from _section(t.title)
    for text in table(t.columns, [[_cell(v) for v in row] for row in t.rows]):
        yield text, PLAIN
    for note in t.notes:
        yield f"  {note}", PLAIN


def recordings_lines(section: Recordings, shown: int | None) -> Iterator[Line]:
    """The "Recordings" block, only when it has something to say: old cassettes (the first `shown`, all
    with None), prices changed since recording, deprecated and unpriced models, undated recordings."""
    if not section.findings:
        return
    yield from _section(f"Recordings (as of {section.as_of})", YELLOW)
    old = section.too_old
    if old:
        yield (
            f"  older than {_plural(section.max_age_days or 0, 'day')}: {_plural(len(old), 'cassette')}; "
            f"{RERECORD_HINT}",
            PLAIN,
        )
        listed = old if shown is None else old[:shown]
        for cassette in listed:
            tests = ", ".join(cassette.tests[:2]) + (" ..." if len(cassette.tests) > 2 else "")
            yield (
                f"    {cassette.path}: {_plural(cassette.age_days, 'day')} old "
                f"(recorded {cassette.oldest[:10]}; {cassette.too_old} of "
                f"{_plural(cassette.recordings, 'recording')} over the limit) · {tests}",
                PLAIN,
            )
        if len(listed) < len(old):
            yield (
                f"    ... and {len(old) - len(listed):,} more (-v lists them; the JSON report has all)",
                PLAIN,
            )
    if section.undated and section.max_age_days is not None:
        yield (
            f"  no recording date: {_plural(section.undated, 'recording')} in "
            f"{_plural(len(section.undated_cassettes), 'cassette')} (no metadata.recorded_at, no Date "
            "header): their age is unknown",
            PLAIN,
        )
    changed = [m for m in section.models if m.changed]
    if changed:
        parts = [
            f"{m.model} {fmt.usd(m.cost_then_usd)} -> {fmt.usd(m.cost_now_usd)} "
            f"({change_text(m.cost_then_usd, m.cost_now_usd)}, {_plural(m.calls, 'call')})"
            for m in changed
        ]
        yield "  prices changed since recording: " + "; ".join(parts), PLAIN
        yield (
            f"  replayed calls at today's prices: {fmt.usd(section.cost_then_usd)} when recorded -> "
            f"{fmt.usd(section.cost_now_usd)} today ({change_text(section.cost_then_usd, section.cost_now_usd)})",
            PLAIN,
        )
    deprecated = [m for m in section.models if m.deprecated]
    if deprecated:
        names = ", ".join(f"{m.model} ({_plural(m.calls, 'call')})" for m in deprecated)
        yield f"  deprecated by the provider (genai-prices): {names}; plan the move to a successor", PLAIN
    unpriced = [m for m in section.models if m.cost_now_usd is None]
    if unpriced:
        names = ", ".join(f"{m.model} ({_plural(m.calls, 'call')})" for m in unpriced)
        yield f"  no price today: {names} (a price for them goes in the llm_prices file)", PLAIN


SHOWN_DRIFTED = 3
"""Drifted tests shown with their answers in the one-screen summary."""


def _skipped(drift: DriftSection) -> Iterator[Line]:
    reasons: dict[str, int] = {}
    for _, reason in drift.skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, n in reasons.items():
        yield f"  not run live: {_plural(n, 'test')}: {reason}", YELLOW


def drift_lines(report: Report, verbose: bool, short: bool = False) -> Iterator[Line]:
    """The live canary's section: what ran live, what drifted and the answers behind it; the metric table
    and every drifted metric unless `short`."""
    drift = report.drift
    if drift is None:
        return
    sample = f"--llm-live-sample={drift.sample}" if drift.sample else "--llm-live-sample"
    if drift.sampled == 0:
        yield from _section(f"Drift (live canary, {sample}): no llm test was in the sample", YELLOW)
        return
    if drift.compared == 0:
        reasons = sorted({reason for _, reason in drift.skipped})
        yield from _section(
            f"Drift: live canary skipped ({_plural(drift.sampled, 'sampled test')}): {'; '.join(reasons)}",
            YELLOW,
        )
        return
    spend = fmt.usd(drift.live_cost_usd) if drift.live_cost_usd is not None else "unknown (unpriced calls)"
    yield from _section(
        f"Drift (live canary, {sample}): {drift.compared} of {_plural(drift.sampled, 'sampled test')} run live, "
        f"{_plural(drift.live_calls, 'live call')}, {spend}",
        RED if drift.drifted and drift.gated else BOLD,
    )
    if drift.drifted:
        parts = ", ".join(
            f"{m.name} {fmt.metric(m.name, m.replayed)} -> {fmt.metric(m.name, m.live)}"
            + (f" (p {fmt.p_value(m.p_value)})" if m.p_value is not None else "")
            for m in drift.metrics
            if m.drifted
        )
        yield (
            f"  {_plural(drift.drifted_tests, 'test')} drifted, "
            f"{_plural(len(drift.drifted), 'metric')} past {'--llm-fail-on-drift' if drift.gated else 'the default'} "
            f"gates; means over the sample: {parts}",
            RED if drift.gated else YELLOW,
        )
    else:
        yield "  no drift: every live metric is within its drift gate of the replayed one", GREEN
    if not short:
        rows = [
            [
                m.name,
                f"{m.tests:,}",
                fmt.metric(m.name, m.replayed),
                fmt.metric(m.name, m.live),
                fmt.delta(m.name, m.delta),
                fmt.p_value(m.p_value),
                str(m.drifted) if m.drifted else "",
            ]
            for m in drift.metrics
        ]
        headers = ["metric", "tests", "replayed", "live", "delta", "p (paired)", "drifted"]
        for text in table(headers, rows, right=(1, 2, 3, 4, 5, 6)):
            yield text, PLAIN
        shown = _shown(drift.drifted, verbose)
        if shown:
            yield "", PLAIN
            rows = _comparison_rows(shown)
            for text in table(["test", "metric", "replayed -> live", "delta", "gate"], rows):
                yield text, PLAIN
            more = _more(len(drift.drifted), len(shown), "rows")
            if more:
                yield more, PLAIN
    views = drift.views[:SHOWN_DRIFTED] if short and not verbose else _shown(drift.views, verbose)
    for view in views:
        yield from view_lines(view, ("recorded:", "live:    "), "same answer as recorded", "regressed")
    if len(views) < len(drift.views):
        yield (
            f"  ... and {_plural(len(drift.views) - len(views), 'more drifted test')} (--llm-report-html shows all)",
            PLAIN,
        )
    yield from _skipped(drift)


def _partial_baseline_note(report: Report) -> str | None:
    partial = [q for q in report.quality if q.baseline is not None and q.baseline_count != q.count]
    if not partial:
        return None
    return "  baseline and delta cover only the tests measured in both runs (new tests have no baseline)"


def lines(report: Report, verbose: bool = False, extra: Sequence[Line] = ()) -> Iterator[Line]:
    """The section's lines, without the "LLM evaluation" separator; `extra` (files written, errors) comes
    just before the next steps, which end the section."""
    if report.headline.tests == 0:
        yield "no llm tests ran (tests marked @pytest.mark.llm)", PLAIN
        yield from extra
        return
    yield from _headline(report)
    if report.baseline.update_error:
        yield f"baseline not written: {report.baseline.update_error}", RED

    yield from _comparisons("Regressions", report.regressions, verbose, RED)

    if report.failures:
        yield from _section(f"Failures ({len(report.failures)})", RED)
        shown = _shown(report.failures, verbose)
        rows = [
            [f.nodeid, f.outcome, shorten(f.message.splitlines()[0], 160) if f.message else ""] for f in shown
        ]
        for text in table(["test", "outcome", "message"], rows):
            yield text, PLAIN
        more = _more(len(report.failures), len(shown), "failures")
        if more:
            yield more, PLAIN

    if report.quality:
        yield from _section("Quality")
        rows = []
        for q in report.quality:
            ci = f"[{fmt.metric(q.name, q.ci95.low)}, {fmt.metric(q.name, q.ci95.high)}]" if q.ci95 else "-"
            rows.append(
                [
                    q.name,
                    fmt.metric(q.name, q.mean),
                    f"{q.count:,}",
                    ci,
                    fmt.metric(q.name, q.baseline),
                    fmt.delta(q.name, q.delta),
                    str(q.regressions) if q.regressions else "",
                ]
            )
        headers = ["metric", "mean", "tests", "95% CI", "baseline", "delta", "regressed"]
        for text in table(headers, rows, right=(1, 2, 4, 5, 6)):
            yield text, PLAIN
        note = _partial_baseline_note(report)
        if note:
            yield note, PLAIN

    yield from _groups("By prompt version", "prompt", report.prompts)
    yield from _groups("By model", "model", report.models)

    j = report.judge
    if j.judges:
        yield from _section("Judges")
        for identity in j.judges:
            yield "  " + " · ".join(f"{k} {v}" for k, v in identity.items()), PLAIN
        if j.attributed_cost_usd is not None:
            yield f"  cost attributed to scores: {fmt.usd(j.attributed_cost_usd)}", PLAIN

    if report.repeats:
        yield from _section("Repeats (95% intervals; flaky tests first)")
        ordered = [r for r in report.repeats if r.flaky] + [r for r in report.repeats if not r.flaky]
        shown = _shown(ordered, verbose)
        rows = []
        for r in shown:
            ci = f"[{fmt.pct(r.pass_ci95.low)}, {fmt.pct(r.pass_ci95.high)}]"
            metrics = ", ".join(
                f"{k} {fmt.metric(k, m.mean)}"
                + (f" [{fmt.metric(k, m.ci95.low)}, {fmt.metric(k, m.ci95.high)}]" if m.ci95 else "")
                for k, m in r.metrics.items()
                if k not in ("cost_usd", "input_tokens", "output_tokens", "latency_p95")
            )
            rows.append(
                [
                    r.nodeid,
                    f"{r.passed}/{r.runs}",
                    fmt.pct(r.pass_rate),
                    ci,
                    "yes" if r.pass_at_k else "no",
                    "yes" if r.pass_all_k else "no",
                    r.rule,
                    "flaky" if r.flaky else "",
                    metrics,
                ]
            )
        headers = ["test", "runs", "pass", "95% CI", "pass@k", "pass^k", "rule", "", "metric means"]
        for text in table(headers, rows, right=(1, 2)):
            yield text, PLAIN
        at_k = sum(1 for r in report.repeats if r.pass_at_k)
        all_k = sum(1 for r in report.repeats if r.pass_all_k)
        n = len(report.repeats)
        yield f"  pass@k (one of k runs passed): {at_k}/{n} tests; pass^k (all k passed): {all_k}/{n}", PLAIN
        more = _more(len(ordered), len(shown), "tests")
        if more:
            yield more, PLAIN
        if report.flaky:
            yield f"  flaky (0 < pass rate < 1): {len(report.flaky)}", YELLOW

    yield from drift_lines(report, verbose)

    for extra_table in report.comparisons:
        yield from _table(extra_table)

    yield from recordings_lines(report.recordings, None if verbose else LIST_LIMIT)
    yield from _comparisons(
        "Not comparable: the judge changed", report.not_comparable, verbose, YELLOW, notes=True
    )
    yield from _comparisons(
        "Beyond a gate but not significant", report.not_significant, verbose, YELLOW, notes=True
    )
    for title, names in (
        ("New tests, not in the baseline", report.new_tests),
        ("Baseline entries of tests that no longer exist", report.unused),
    ):
        if names:
            yield from _section(f"{title} ({len(names)})", YELLOW)
            shown = names if verbose or len(names) <= LIST_LIMIT else names[:LIST_LIMIT]
            for name in shown:
                yield f"  {name}", PLAIN
            if len(shown) < len(names):
                yield f"  ... and {len(names) - len(shown):,} more (-v shows all)", PLAIN

    if verbose and report.tests:
        yield from _section("Tests")
        rows = []
        for t in report.tests:
            scores = ", ".join(
                f"{k} {fmt.metric(k, c.value)}" + (f" ({fmt.delta(k, c.delta)})" if c.delta else "")
                for k, c in t.cells().items()
                if k not in ("cost_usd", "input_tokens", "output_tokens", "latency_p95", "pass_rate")
            )
            runs = f"{t.passed}/{t.runs}" if t.runs > 1 else ""
            rows.append(
                [
                    t.nodeid,
                    t.outcome,
                    t.status,
                    runs,
                    f"{t.calls}",
                    f"{t.input_tokens:,}/{t.output_tokens:,}",
                    fmt.usd(t.cost_usd),
                    scores,
                ]
            )
        headers = ["test", "outcome", "baseline", "runs", "calls", "tokens", "cost", "scores"]
        for text in table(headers, rows, right=(3, 4, 5, 6)):
            yield text, PLAIN

    if report.verdict.reasons:
        yield from _section("LLM gates failed: " + "; ".join(report.verdict.reasons), RED)
    yield "", PLAIN
    yield from extra
    for step in report.next_steps:
        yield f"Next: {step}", GREEN if step.startswith("Every test") else BOLD
