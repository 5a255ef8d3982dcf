"""`--llm-report-md`: Markdown for CI step summaries and pull-request comments.

GitHub-flavoured tables; long lists stop after `ROW_LIMIT` rows (a step
summary holds 1 MiB), the JSON report has everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pytest_llmops.results.baseline import MetricComparison
from pytest_llmops.results.report import markdown_why
from pytest_llmops.results.report import numbers as fmt
from pytest_llmops.results.report.model import GroupSummary, Recordings, Report
from pytest_llmops.results.report.recordings import (
    PRICE_HEADERS,
    RERECORD_HINT,
    change_text,
    model_notes,
    price_cells,
)
from pytest_llmops.wording import plural, shorten

__all__ = ["ROW_LIMIT", "render"]

ROW_LIMIT = 100


def _cell(text: Any) -> str:
    value = "-" if text is None else str(text)
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[int] = ()) -> list[str]:
    rows = list(rows)
    out = ["| " + " | ".join(_cell(h) for h in headers) + " |"]
    out.append("|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|")
    for row in rows[:ROW_LIMIT]:
        out.append("| " + " | ".join(_cell(c) for c in row) + " |")
    if len(rows) > ROW_LIMIT:
        out.append("")
        out.append(f"_... and {len(rows) - ROW_LIMIT:,} more rows: see the JSON report._")
    return out


def _comparison_rows(items: Sequence[MetricComparison], with_note: bool = False) -> list[list[str]]:
    rows = []
    for c in items:
        rel = f" ({fmt.signed_pct(c.relative)})" if c.relative is not None else ""
        row = [
            _code(c.nodeid),
            c.metric,
            fmt.metric(c.metric, c.baseline),
            fmt.metric(c.metric, c.current),
            fmt.delta(c.metric, c.delta) + rel,
            _code(c.gate) + (" (default)" if c.gate_default else ""),
        ]
        if with_note:
            row.append(c.note or "")
        rows.append(row)
    return rows


def _groups(title: str, first: str, groups: Sequence[GroupSummary]) -> list[str]:
    if not groups:
        return []
    out = ["", f"### {title}", ""]
    rows = []
    for g in groups:
        f = g.figures
        metrics, declared, cost = fmt.group_texts(g)
        rows.append(
            [
                _code(g.key),
                g.tests,
                f.calls,
                f"{f.input_tokens:,} / {f.output_tokens:,}",
                cost,
                fmt.ms(f.latency_p95_ms),
                metrics,
                declared,
            ]
        )
    headers = [first, "tests", "calls", "tokens in / out", "cost", "p95 latency", "metric means", "declared"]
    if not any(g.declared for g in groups):
        headers.pop()
        rows = [r[:-1] for r in rows]
    out += _table(headers, rows, right=(1, 2, 3, 4, 5))
    return out


def _recordings(section: Recordings) -> list[str]:
    """The "Recordings" section, only when it has something to say."""
    if not section.findings:
        return []
    out = ["", f"### Recordings (as of {section.as_of})", ""]
    if section.too_old:
        out.append(
            f"**Older than {plural(section.max_age_days or 0, 'day')}:** "
            f"{plural(len(section.too_old), 'cassette')}; {RERECORD_HINT}."
        )
        out.append("")
        out += _table(
            ["cassette", "age", "oldest recording", "over the limit", "tests"],
            [
                [
                    _code(c.path),
                    plural(c.age_days, "day"),
                    c.oldest,
                    f"{c.too_old} of {c.recordings}",
                    ", ".join(_code(t) for t in c.tests),
                ]
                for c in section.too_old
            ],
            right=(1, 3),
        )
    if section.undated and section.max_age_days is not None:
        out += [
            "",
            f"_{plural(section.undated, 'recording')} in {plural(len(section.undated_cassettes), 'cassette')} "
            "carry no recording date (no `metadata.recorded_at`, no `Date` header): their age is unknown._",
        ]
    if section.changed_models or section.deprecated_models or section.unpriced_models:
        out += [
            "",
            f"**Replayed calls at today's prices:** {fmt.usd(section.cost_then_usd)} when recorded, "
            f"{fmt.usd(section.cost_now_usd)} today "
            f"({change_text(section.cost_then_usd, section.cost_now_usd)})",
            "",
        ]
        out += _table(
            [*PRICE_HEADERS, ""],
            [[_code(m.model), *price_cells(m), model_notes(m)] for m in section.models],
            right=(2, 3, 4, 5),
        )
    return out


def _drift(report: Report) -> list[str]:
    drift = report.drift
    if drift is None:
        return []
    sample = f"`--llm-live-sample={drift.sample}`" if drift.sample else "`--llm-live-sample`"
    if drift.compared == 0:
        reasons = "; ".join(sorted({r for _, r in drift.skipped})) or "no llm test was in the sample"
        return ["", f"### Drift (live canary, {sample})", "", f"_Not run: {reasons}._"]
    spend = fmt.usd(drift.live_cost_usd) if drift.live_cost_usd is not None else "unknown (unpriced calls)"
    gates = (
        f"`--llm-fail-on-drift={drift.gates}`" if drift.gated else "the default gates (drift is not gated)"
    )
    out = [
        "",
        f"### Drift (live canary, {sample})",
        "",
        f"{drift.compared} of {plural(drift.sampled, 'sampled test')} run live again after their replay: "
        f"{plural(drift.live_calls, 'live call')}, {spend}. "
        + (
            f"**{plural(drift.drifted_tests, 'test')} drifted** past {gates}."
            if drift.drifted
            else f"No drift past {gates}."
        ),
        "",
    ]
    rows = [
        [
            m.name,
            m.tests,
            fmt.metric(m.name, m.replayed),
            fmt.metric(m.name, m.live),
            fmt.delta(m.name, m.delta),
            fmt.p_value(m.p_value, missing=""),
            m.test or "",
            m.drifted or "",
        ]
        for m in drift.metrics
    ]
    out += _table(
        ["metric", "tests", "replayed", "live", "delta", "p", "paired test", "drifted"],
        rows,
        right=(1, 2, 3, 4, 5, 7),
    )
    if drift.drifted:
        out += [
            "",
            *_table(
                ["test", "metric", "replayed", "live", "delta", "gate"],
                _comparison_rows(drift.drifted),
                right=(2, 3, 4),
            ),
        ]
    if drift.skipped:
        out += [
            "",
            *[f"- not run live: {_code(nodeid)}: {reason}" for nodeid, reason in drift.skipped[:ROW_LIMIT]],
        ]
    out += markdown_why.render_drift(drift.views)
    return out


def render(report: Report) -> str:
    h, app = report.headline, report.headline.app
    out = ["## LLM evaluation", ""]
    outcomes = ", ".join(f"{n} {o}" for o, n in h.outcomes.items()) or "none"
    rate = f" · pass rate **{fmt.pct(h.pass_rate)}**" if h.pass_rate is not None else ""
    out.append(f"**{plural(h.tests, 'llm test')}**: {outcomes}{rate}")
    out.append("")
    out.append(
        f"- App calls: {app.calls:,} ({app.replayed_calls:,} replayed, {app.live_calls:,} live); "
        f"cassettes: {h.cassettes.played:,} played, {plural(h.cassettes.recorded, 'new recording')}, "
        f"{plural(h.cassettes.misses, 'miss')}"
    )
    out.append(
        f"- Spend: {fmt.usd(app.live_cost_usd)} live (paid in this run), "
        f"{fmt.usd(app.replayed_cost_usd)} replayed (cost when recorded)"
    )
    if app.unpriced_calls:
        out.append(
            f"- **Unpriced:** {plural(app.unpriced_calls, 'call')} with no known price "
            f"({', '.join(_code(m) for m in app.unpriced_models)}): cost unknown, not $0"
        )
    cached = f" ({app.cached_input_tokens:,} cached)" if app.cached_input_tokens else ""
    estimated = f"; estimated for {plural(app.estimated_calls, 'call')}" if app.estimated_calls else ""
    out.append(f"- Tokens: {app.input_tokens:,} in{cached}, {app.output_tokens:,} out{estimated}")
    if app.latency_p50_ms is not None:
        out.append(
            f"- Latency (app calls): p50 {fmt.ms(app.latency_p50_ms)}, p95 {fmt.ms(app.latency_p95_ms)}, "
            f"p99 {fmt.ms(app.latency_p99_ms)}"
        )
    j = report.judge
    if j.figures.calls or j.scores:
        esc = (
            f"; {j.escalated} of {j.escalation_decisions} scores escalated" if j.escalation_decisions else ""
        )
        out.append(
            f"- Judge: {plural(j.figures.calls, 'call')}, {fmt.usd(j.figures.live_cost_usd)} live, "
            f"{fmt.usd(j.figures.replayed_cost_usd)} replayed{esc}"
        )
    b = report.baseline
    if b.state == "loaded":
        out.append(f"- Baseline: {_code(b.path)} ({plural(b.tests, 'test')})")
    elif b.state == "missing":
        out.append(f"- Baseline: none yet ({_code(b.path)})")
    else:
        out.append(f"- **Baseline unusable:** {b.error}")
    if b.update_error:
        out.append(f"- **Baseline not written:** {b.update_error}")

    if report.verdict.reasons:
        out += ["", "**LLM gates failed:** " + "; ".join(report.verdict.reasons)]

    headers = ["test", "metric", "baseline", "now", "delta", "gate"]
    if report.regressions:
        out += ["", f"### Regressions ({len(report.regressions)})", ""]
        out += _table(headers, _comparison_rows(report.regressions), right=(2, 3, 4))
        out += markdown_why.render(report)

    if report.quality:
        out += ["", "### Quality", ""]
        rows = []
        for q in report.quality:
            ci = f"{fmt.metric(q.name, q.ci95.low)} – {fmt.metric(q.name, q.ci95.high)}" if q.ci95 else ""
            rows.append(
                [
                    q.name,
                    fmt.metric(q.name, q.mean),
                    q.count,
                    ci,
                    fmt.metric(q.name, q.baseline),
                    fmt.delta(q.name, q.delta),
                    q.regressions or "",
                ]
            )
        out += _table(
            ["metric", "mean", "tests", "95% CI", "baseline", "delta", "regressed"],
            rows,
            right=(1, 2, 4, 5, 6),
        )

    if report.failures:
        out += ["", f"### Failures ({len(report.failures)})", ""]
        out += _table(
            ["test", "outcome", "message"],
            [
                [_code(f.nodeid), f.outcome, shorten(f.message.splitlines()[0], 200) if f.message else ""]
                for f in report.failures
            ],
        )

    out += _groups("By prompt version", "prompt", report.prompts)
    out += _groups("By model", "model", report.models)

    if report.repeats:
        out += ["", "### Repeats", ""]
        rows = [
            [
                _code(r.nodeid),
                f"{r.passed}/{r.runs}",
                fmt.pct(r.pass_rate),
                f"{fmt.pct(r.pass_ci95.low)} – {fmt.pct(r.pass_ci95.high)}",
                "yes" if r.pass_at_k else "no",
                "yes" if r.pass_all_k else "no",
                r.rule,
                "flaky" if r.flaky else "",
            ]
            for r in report.repeats
        ]
        out += _table(
            ["test", "runs", "pass rate", "95% CI", "pass@k", "pass^k", "rule", ""], rows, right=(1, 2)
        )

    out += _drift(report)

    for t in report.comparisons:
        out += ["", f"### {t.title}", ""]
        out += _table(
            t.columns, [[fmt.metric("", v) if isinstance(v, float) else v for v in row] for row in t.rows]
        )
        for note in t.notes:  # a line right under a table would render as one more row
            out += ["", f"_{note}_"]

    out += _recordings(report.recordings)

    details: list[tuple[str, list[str]]] = []
    if report.not_comparable:
        details.append(
            (
                f"Not comparable: the judge changed ({len(report.not_comparable)})",
                _table([*headers, "why"], _comparison_rows(report.not_comparable, True)),
            )
        )
    if report.not_significant:
        details.append(
            (
                f"Beyond a gate but not significant ({len(report.not_significant)})",
                _table([*headers, "why"], _comparison_rows(report.not_significant, True)),
            )
        )
    if report.new_tests:
        details.append(
            (
                f"New tests, not in the baseline ({len(report.new_tests)})",
                [f"- {_code(n)}" for n in report.new_tests[:ROW_LIMIT]],
            )
        )
    if report.unused:
        details.append(
            (
                f"Baseline entries of tests that no longer exist ({len(report.unused)})",
                [f"- {_code(n)}" for n in report.unused[:ROW_LIMIT]],
            )
        )
    for summary, body in details:
        out += ["", f"<details><summary>{summary}</summary>", "", *body, "", "</details>"]

    out.append("")
    out += [f"**Next:** {step}" for step in report.next_steps]
    return "\n".join(out) + "\n"
