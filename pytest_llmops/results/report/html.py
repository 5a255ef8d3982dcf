"""`--llm-report-html`: one self-contained HTML file, tables and inline SVG plots, no network.

Plots: the distribution of each score over the tests, cost and tokens by
prompt version and by model, and the latency histogram of the app's calls.
The answers behind the regressions and the per-test view come from
`html_tests` (its filters are the file's only script, inline). Every text
from the run is escaped; the file is readable offline forever.
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Iterable, Sequence
from typing import Any

from pytest_llmops.results.baseline import MetricComparison
from pytest_llmops.results.report import html_tests
from pytest_llmops.results.report import numbers as fmt
from pytest_llmops.results.report.figures import Histogram
from pytest_llmops.results.report.model import GroupSummary, Recordings, Report
from pytest_llmops.results.report.recordings import (
    PRICE_HEADERS,
    RERECORD_HINT,
    change_text,
    model_notes,
    price_cells,
)
from pytest_llmops.wording import plural

__all__ = ["render"]

CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --soft:#f6f8fa;
        --bad:#cf222e; --bad-bg:#ffebe9; --warn:#9a6700; --warn-bg:#fff8c5; --good:#1a7f37; --good-bg:#dafbe1;
        --bar:#0969da; --bar2:#8250df; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--fg); background: var(--bg); max-width: 1360px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 14px 0 6px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.banner { padding: 10px 14px; border-radius: 6px; margin: 12px 0; font-weight: 600; }
.banner.bad { background: var(--bad-bg); color: var(--bad); }
.banner.warn { background: var(--warn-bg); color: var(--warn); }
.banner.good { background: var(--good-bg); color: var(--good); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: var(--soft); }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 20px; font-weight: 600; margin-top: 2px; }
.card .d { color: var(--muted); font-size: 12px; }
ul.notes { margin: 8px 0; padding-left: 20px; }
ul.notes li.warn { color: var(--warn); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, li code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
td:first-child { min-width: 200px; }
td code.key { word-break: normal; white-space: nowrap; }
figure.wide { grid-column: 1 / -1; }
tr.regressed td { background: var(--bad-bg); }
.pill { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; background: var(--soft);
        border: 1px solid var(--line); white-space: nowrap; }
.pill.bad { background: var(--bad-bg); color: var(--bad); border-color: #ffcecb; }
.pill.warn { background: var(--warn-bg); color: var(--warn); border-color: #eed888; }
.pill.good { background: var(--good-bg); color: var(--good); border-color: #aceebb; }
span.msg { white-space: pre-wrap; font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 14px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg .label { fill: var(--fg); }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; }
.next { margin-top: 24px; padding: 12px 14px; border-left: 4px solid var(--bar); background: var(--soft); }
"""


def _e(value: Any) -> str:
    return _html.escape("-" if value is None else str(value), quote=True)


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: Sequence[int] = (),
    row_class: Sequence[str] | None = None,
) -> str:
    """Cells are escaped unless passed as `_Raw`."""
    head = "".join(
        f'<th class="n">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>" for i, h in enumerate(headers)
    )
    body = []
    for index, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            content = cell.html if isinstance(cell, _Raw) else _e(cell)
            cells.append(f'<td class="n">{content}</td>' if i in numeric else f"<td>{content}</td>")
        cls = f' class="{row_class[index]}"' if row_class and row_class[index] else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw:
    __slots__ = ("html",)

    def __init__(self, html: str) -> None:
        self.html = html


def _code(text: str, cls: str = "") -> _Raw:
    attr = f' class="{cls}"' if cls else ""
    return _Raw(f"<code{attr}>{_e(text)}</code>")


def _pill(text: str, kind: str = "") -> _Raw:
    return _Raw(f'<span class="pill {kind}">{_e(text)}</span>')


STATUS_KIND = {
    "regressed": "bad",
    "failed": "bad",
    "error": "bad",
    "not comparable": "warn",
    "not significant": "warn",
    "new": "warn",
    "no baseline": "",
    "ok": "good",
    "passed": "good",
    "skipped": "",
    "not run": "",
}


# -- plots ----------------------------------------------------------------------------------------------


def _svg_histogram(hist: Histogram, label: str, width: int = 420, height: int = 170) -> str:
    left, right, top, bottom = 34, 34 if hist.unit == "ms" else 18, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(hist.counts)
    peak = max(hist.counts) or 1
    bar_w = plot_w / n
    parts = [_svg_open(width, height, label)]
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#8c959f"/>'
    )
    for i, count in enumerate(hist.counts):
        h = plot_h * count / peak
        x = left + i * bar_w
        lo, hi = hist.edges[i], hist.edges[i + 1]
        tip = f"{_edge(lo, hist.unit, hi - lo)} – {_edge(hi, hist.unit, hi - lo)}: {count}"
        y = top + plot_h - h
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="var(--bar)"><title>{_e(tip)}</title></rect>'
        )
        if count:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{count}</text>')
    first, last = hist.edges[0], hist.edges[-1]
    for value, tick in axis_ticks(hist):
        x = left + plot_w * (value - first) / (last - first) if last > first else left
        base = top + plot_h
        parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#8c959f"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_e(tick)}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>')
    axis = "latency" if hist.unit == "ms" else "value"
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle">{axis} (count of '
        f"{'calls' if hist.unit == 'ms' else 'tests'} per bin)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(width: int, height: int, label: str) -> str:
    """Scales down with its box (viewBox), never up beyond its drawn size."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:{width}px" role="img" '
        f'aria-label="{_e(label)}" viewBox="0 0 {width} {height}">'
    )


def _decimals(step: float) -> int:
    """Digits after the point that show every multiple of `step` exactly (0.25 -> 2, 5 -> 0)."""
    for digits in range(10):
        if abs(round(step, digits) - step) <= abs(step) * 1e-6:
            return digits
    return 10


def _edge(value: float, unit: str, step: float, top: float = 0.0) -> str:
    """A value on a histogram's axis, with the digits that tell multiples of `step` apart; latencies in
    seconds on an axis that reaches `top` >= 10 s in whole-second steps."""
    if unit == "ms":
        if step >= 1000 and max(top, value) >= 10_000:
            return f"{value / 1000:,.{_decimals(step / 1000)}f} s"
        return f"{value:,.{_decimals(step)}f} ms"
    return f"{value:.{_decimals(step)}f}"


_NICE = (1.0, 2.0, 2.5, 5.0)


def _is_nice(step: float) -> bool:
    power = 10.0 ** math.floor(math.log10(step))
    return any(abs(step - f * power) <= power * 1e-9 for f in (*_NICE, 10.0))


def axis_ticks(hist: Histogram, most: int = 6) -> list[tuple[float, str]]:
    """At most `most` ticks on bin edges, a round step apart (a multiple of the bin width that is
    1, 2, 2.5 or 5 times a power of ten), each label distinct."""
    edges = hist.edges
    n = len(edges) - 1
    width = edges[1] - edges[0] if n >= 1 else 1.0
    if width <= 0:
        return [(edges[0], _edge(edges[0], hist.unit, 1.0))]
    every = max(1, math.ceil(n / (most - 1)))
    while every < n and not _is_nice(every * width):
        every += 1
    step = every * width
    ticks: list[tuple[float, str]] = []
    for i in range(n + 1):
        value = edges[i]
        if abs(value / step - round(value / step)) > 1e-6:
            continue  # only the multiples of the tick step: 0, 0.5, 1 ms, not 0.25, 0.75, 1.25
        label = _edge(value, hist.unit, step, edges[-1])
        if not ticks or ticks[-1][1] != label:
            ticks.append((value, label))
    if len(ticks) < 2:  # an axis that starts off the step: label both ends
        ticks = [(v, _edge(v, hist.unit, width, edges[-1])) for v in (edges[0], edges[-1])]
    return ticks


def _svg_bars(
    items: Sequence[tuple[str, float, str]], label: str, color: str = "var(--bar)", width: int = 420
) -> str:
    """Horizontal bars: (label, value, shown text) per row."""
    row_h, left, right, top = 22, 150, 90, 6
    height = top * 2 + row_h * max(len(items), 1)
    plot_w = width - left - right
    peak = max((v for _, v, _ in items), default=0) or 1
    parts = [_svg_open(width, height, label)]
    for i, (name, value, text) in enumerate(items):
        y = top + i * row_h
        w = plot_w * value / peak if value > 0 else 0
        short = name if len(name) <= 21 else name[:20] + "…"  # 150 px of label at 11 px per ~7 px glyph
        parts.append(
            f'<text class="label" x="{left - 6}" y="{y + 15}" text-anchor="end"><title>{_e(name)}</title>'
            f"{_e(short)}</text>"
        )
        parts.append(
            f'<rect x="{left}" y="{y + 4}" width="{max(w, 0.5):.1f}" height="{row_h - 8}" fill="{color}">'
            f"<title>{_e(name)}: {_e(text)}</title></rect>"
        )
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 15}">{_e(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _group_plots(title: str, groups: Sequence[GroupSummary]) -> str:
    if not groups:
        return ""
    cost = [(g.key, g.figures.cost_usd, fmt.usd(g.figures.cost_usd)) for g in groups]
    tokens = [(g.key, float(g.figures.total_tokens), f"{g.figures.total_tokens:,}") for g in groups]
    return (
        '<div class="plots">'
        f"<figure><figcaption>Cost by {_e(title)}</figcaption>{_svg_bars(cost, f'cost by {title}')}</figure>"
        f"<figure><figcaption>Tokens (in + out) by {_e(title)}</figcaption>"
        f"{_svg_bars(tokens, f'tokens by {title}', 'var(--bar2)')}</figure>"
        "</div>"
    )


# -- sections ---------------------------------------------------------------------------------------------


def _card(key: str, value: str, detail: str = "") -> str:
    extra = f'<div class="d">{_e(detail)}</div>' if detail else ""
    return f'<div class="card"><div class="k">{_e(key)}</div><div class="v">{_e(value)}</div>{extra}</div>'


def _drift(report: Report) -> list[str]:
    """The live canary: the metric table with the paired tests, the drifted metrics, the answers."""
    drift = report.drift
    if drift is None:
        return []
    sample = f"--llm-live-sample={drift.sample}" if drift.sample else "--llm-live-sample"
    out = [f'<h2 id="drift">Drift (live canary, <code>{_e(sample)}</code>)</h2>']
    if drift.compared == 0:
        reasons = "; ".join(sorted({r for _, r in drift.skipped})) or "no llm test was in the sample"
        out.append(f'<p class="sub">Not run: {_e(reasons)}.</p>')
        return out
    spend = fmt.usd(drift.live_cost_usd) if drift.live_cost_usd is not None else "unknown (unpriced calls)"
    gates = f"--llm-fail-on-drift={drift.gates}" if drift.gated else "the default gates (not gated)"
    verdict = (
        f"{plural(drift.drifted_tests, 'test')} drifted past {gates}."
        if drift.drifted
        else f"No drift past {gates}."
    )
    out.append(
        f'<p class="sub">{drift.compared} of {plural(drift.sampled, "sampled test")} run live again after '
        f"their replay: {plural(drift.live_calls, 'live call')}, {_e(spend)}. {_e(verdict)}</p>"
    )
    rows: list[list[Any]] = [
        [
            m.name,
            m.tests,
            fmt.metric(m.name, m.replayed),
            fmt.metric(m.name, m.live),
            fmt.delta(m.name, m.delta),
            fmt.p_value(m.p_value),
            m.test or "",
            _pill(str(m.drifted), "bad") if m.drifted else "",
        ]
        for m in drift.metrics
    ]
    out.append(
        _table(
            ["metric", "tests", "replayed", "live", "delta", "p", "paired test", "drifted"],
            rows,
            numeric=(1, 2, 3, 4, 5),
        )
    )
    if drift.drifted:
        out.append(
            f"<details><summary>Every drifted metric as a table ({len(drift.drifted):,})</summary>"
            f"{_comparisons(drift.drifted, columns=('replayed', 'live'))}</details>"
        )
    if drift.skipped:
        out.append(
            '<ul class="notes">'
            + "".join(
                f'<li class="warn">not run live: <code>{_e(n)}</code>: {_e(r)}</li>' for n, r in drift.skipped
            )
            + "</ul>"
        )
    out.append(html_tests.drift_views(drift.views))
    return out


def _comparisons(
    items: Sequence[MetricComparison], with_note: bool = False, columns: tuple[str, str] = ("baseline", "now")
) -> str:
    rows = []
    for c in items:
        rel = f" ({fmt.signed_pct(c.relative)})" if c.relative is not None else ""
        row: list[Any] = [
            _code(c.nodeid),
            c.metric,
            fmt.metric(c.metric, c.baseline),
            fmt.metric(c.metric, c.current),
            fmt.delta(c.metric, c.delta) + rel,
            _code(c.gate + (" (default)" if c.gate_default else "")),
        ]
        if with_note:
            row.append(c.note or "")
        rows.append(row)
    headers = ["test", "metric", *columns, "delta", "gate"] + (["why"] if with_note else [])
    return _table(headers, rows, numeric=(2, 3, 4))


def _groups_table(first: str, groups: Sequence[GroupSummary]) -> str:
    rows = []
    for g in groups:
        f = g.figures
        metrics, declared, cost = fmt.group_texts(g)
        rows.append(
            [
                _code(g.key, "key"),
                g.tests,
                f.calls,
                f"{f.input_tokens:,}",
                f"{f.output_tokens:,}",
                cost,
                fmt.ms(f.latency_p50_ms),
                fmt.ms(f.latency_p95_ms),
                metrics,
                declared,
            ]
        )
    headers = [
        first,
        "tests",
        "calls",
        "tokens in",
        "tokens out",
        "cost",
        "p50",
        "p95",
        "metric means",
        "declared in the prompt file",
    ]
    if not any(g.declared for g in groups):
        headers.pop()
        rows = [r[:-1] for r in rows]
    return _table(headers, rows, numeric=(1, 2, 3, 4, 5, 6, 7))


def _recordings(section: Recordings) -> list[str]:
    """The "Recordings" section, only when it has something to say."""
    if not section.findings:
        return []
    out = [f"<h2>Recordings (as of {_e(section.as_of)})</h2>"]
    if section.too_old:
        out.append(
            f'<p class="sub">Older than {_e(plural(section.max_age_days or 0, "day"))}: '
            f"{_e(plural(len(section.too_old), 'cassette'))}; {_e(RERECORD_HINT)}.</p>"
        )
        out.append(
            _table(
                ["cassette", "age", "oldest recording", "over the limit", "tests"],
                [
                    [
                        _code(c.path),
                        plural(c.age_days, "day"),
                        c.oldest,
                        f"{c.too_old} of {c.recordings}",
                        _Raw(" ".join(_code(t).html for t in c.tests)),
                    ]
                    for c in section.too_old
                ],
                numeric=(1, 3),
            )
        )
    if section.undated and section.max_age_days is not None:
        out.append(
            f'<p class="sub">{_e(plural(section.undated, "recording"))} in '
            f"{_e(plural(len(section.undated_cassettes), 'cassette'))} carry no recording date (no "
            "metadata.recorded_at, no Date header): their age is unknown.</p>"
        )
    if section.changed_models or section.deprecated_models or section.unpriced_models:
        out.append(
            f'<p class="sub">Replayed calls at today\'s prices: {_e(fmt.usd(section.cost_then_usd))} when '
            f"recorded, {_e(fmt.usd(section.cost_now_usd))} today "
            f"({_e(change_text(section.cost_then_usd, section.cost_now_usd))}).</p>"
        )
        out.append(
            _table(
                [*PRICE_HEADERS, ""],
                [
                    [_code(m.model), *price_cells(m), _pill(model_notes(m), "warn") if model_notes(m) else ""]
                    for m in section.models
                ],
                numeric=(2, 3, 4, 5),
            )
        )
    return out


def render(report: Report) -> str:
    h, app = report.headline, report.headline.app
    out: list[str] = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>LLM evaluation</title>",
        f"<style>{CSS}{html_tests.CSS}</style></head><body>",
        "<h1>LLM evaluation</h1>",
    ]
    meta = report.meta
    sub = [f"generated {report.timings.get('generated_at')}"] if report.timings.get("generated_at") else []
    if meta.get("git_commit"):
        sub.append(f"commit {str(meta['git_commit'])[:12]}")
    if meta.get("models"):
        sub.append("models: " + ", ".join(map(str, meta["models"])))
    out.append(f'<p class="sub">{_e(" · ".join(sub))}</p>')

    if report.verdict.failed:
        out.append(f'<div class="banner bad">LLM gates failed: {_e("; ".join(report.verdict.reasons))}</div>')
    elif report.baseline.state == "missing":
        out.append(f'<div class="banner warn">No baseline yet ({_e(report.baseline.path)}).</div>')
    elif report.baseline.updated:
        out.append(
            f'<div class="banner good">Baseline {_e(report.baseline.path)} updated from this run.</div>'
        )
    else:
        out.append('<div class="banner good">Every test is within its gates of the baseline.</div>')

    outcomes = ", ".join(f"{n} {o}" for o, n in h.outcomes.items())
    cards = [
        _card("tests", f"{h.tests:,}", outcomes),
        _card("pass rate", fmt.pct(h.pass_rate), f"{h.ran:,} ran"),
        _card("app calls", f"{app.calls:,}", f"{app.replayed_calls:,} replayed · {app.live_calls:,} live"),
        _card("live spend", fmt.usd(app.live_cost_usd), "paid in this run"),
        _card("replayed cost", fmt.usd(app.replayed_cost_usd), "what the replayed calls cost when recorded"),
        _card(
            "tokens",
            f"{app.input_tokens:,} in",
            f"{app.output_tokens:,} out · {app.cached_input_tokens:,} cached",
        ),
        _card(
            "latency p50 / p95",
            f"{fmt.ms(app.latency_p50_ms)}",
            f"p95 {fmt.ms(app.latency_p95_ms)} · p99 {fmt.ms(app.latency_p99_ms)}",
        ),
        _card(
            "cassettes",
            f"{h.cassettes.played:,} played",
            f"{plural(h.cassettes.recorded, 'new recording')} · {plural(h.cassettes.misses, 'miss')}",
        ),
    ]
    j = report.judge
    if j.figures.calls or j.scores:
        esc = f" · {j.escalated}/{j.escalation_decisions} escalated" if j.escalation_decisions else ""
        cards.append(
            _card("judge spend", fmt.usd(j.figures.cost_usd), f"{plural(j.figures.calls, 'call')}{esc}")
        )
    out.append(f'<div class="cards">{"".join(cards)}</div>')

    notes = []
    if app.unpriced_calls:
        notes.append(
            f"{plural(app.unpriced_calls, 'call')} {'has' if app.unpriced_calls == 1 else 'have'} no known price (models: {', '.join(app.unpriced_models)}): "
            "their cost is unknown, not $0. Add the models to the llm_prices file."
        )
    if app.estimated_calls:
        notes.append(f"Token counts of {plural(app.estimated_calls, 'call')} were estimated from the text.")
    if app.calls_without_usage:
        notes.append(
            f"{plural(app.calls_without_usage, 'call')} recorded no usage: "
            f"{'its' if app.calls_without_usage == 1 else 'their'} tokens and cost are unknown."
        )
    b = report.baseline
    if b.state == "error":
        notes.append(f"Baseline unusable: {b.error}")
    if b.update_error:
        notes.append(f"Baseline not written: {b.update_error}")
    if notes:
        out.append('<ul class="notes">' + "".join(f'<li class="warn">{_e(n)}</li>' for n in notes) + "</ul>")

    if report.regressions:
        out.append(f"<h2>Regressions ({len(report.regressions)})</h2>")
        if report.regressed_tests:  # the answers behind them, the table folded
            out.append(
                f"<details><summary>Every regressed metric as a table ({len(report.regressions):,})</summary>"
                f"{_comparisons(report.regressions)}</details>"
            )
            out.append(html_tests.regressions_section(report))
        else:
            out.append(_comparisons(report.regressions))
    if report.failures:
        out.append(f"<h2>Failures ({len(report.failures)})</h2>")
        out.append(
            _table(
                ["test", "outcome", "message"],
                [
                    [
                        _code(f.nodeid),
                        _pill(f.outcome, "bad"),
                        _Raw(f'<span class="msg">{_e(f.message or "")}</span>'),
                    ]
                    for f in report.failures
                ],
            )
        )

    if report.quality:
        out.append("<h2>Quality</h2>")
        rows = []
        for q in report.quality:
            ci = f"{fmt.metric(q.name, q.ci95.low)} – {fmt.metric(q.name, q.ci95.high)}" if q.ci95 else "-"
            rows.append(
                [
                    q.name,
                    "higher" if q.higher_is_better else "lower",
                    fmt.metric(q.name, q.mean),
                    q.count,
                    ci,
                    fmt.metric(q.name, q.baseline),
                    fmt.delta(q.name, q.delta),
                    _pill(str(q.regressions), "bad") if q.regressions else "",
                ]
            )
        out.append(
            _table(
                ["metric", "better", "mean", "tests", "95% CI", "baseline", "delta", "regressed"],
                rows,
                numeric=(2, 3, 4, 5, 6, 7),
            )
        )
        if any(q.baseline is not None and q.baseline_count != q.count for q in report.quality):
            out.append(
                '<p class="sub">Baseline and delta cover only the tests measured in both runs '
                "(new tests have no baseline).</p>"
            )
        plots = [
            f"<figure><figcaption>{_e(name[len('score:') :])}: distribution over tests</figcaption>"
            f"{_svg_histogram(hist, name)}</figure>"
            for name, hist in report.distributions.items()
            if name.startswith("score:")
        ]
        if plots:
            out.append(f'<div class="plots">{"".join(plots)}</div>')

    out.extend(_drift(report))

    if report.prompts:
        out.append("<h2>By prompt version</h2>")
        out.append(_groups_table("prompt", report.prompts))
        out.append(_group_plots("prompt version", report.prompts))
    if report.models:
        out.append("<h2>By model</h2>")
        out.append(_groups_table("model", report.models))
        out.append(_group_plots("model", report.models))

    latency = report.distributions.get("latency_ms")
    if latency is not None:
        out.append("<h2>Latency</h2>")
        out.append(
            f'<div class="plots"><figure class="wide"><figcaption>Latency of the app\'s calls</figcaption>'
            f"{_svg_histogram(latency, 'latency histogram', width=1280, height=220)}</figure></div>"
        )

    if j.judges:
        out.append("<h2>Judges</h2>")
        keys = sorted({k for identity in j.judges for k in identity})
        out.append(_table(keys, [[identity.get(k) for k in keys] for identity in j.judges]))

    if report.repeats:
        out.append("<h2>Repeats</h2>")
        rows = []
        for r in report.repeats:
            metrics = ", ".join(
                f"{k} {fmt.metric(k, m.mean)}"
                + (f" [{fmt.metric(k, m.ci95.low)}, {fmt.metric(k, m.ci95.high)}]" if m.ci95 else "")
                for k, m in r.metrics.items()
                if k not in ("cost_usd", "input_tokens", "output_tokens", "latency_p95")
            )
            rows.append(
                [
                    _code(r.nodeid),
                    f"{r.passed}/{r.runs}",
                    fmt.pct(r.pass_rate),
                    f"{fmt.pct(r.pass_ci95.low)} – {fmt.pct(r.pass_ci95.high)}",
                    "yes" if r.pass_at_k else "no",
                    "yes" if r.pass_all_k else "no",
                    r.rule,
                    _pill("flaky", "warn") if r.flaky else "",
                    metrics,
                ]
            )
        out.append(
            _table(
                [
                    "test",
                    "runs",
                    "pass rate",
                    "95% CI",
                    "pass@k",
                    "pass^k",
                    "rule",
                    "",
                    "metric means [95% CI]",
                ],
                rows,
                numeric=(1, 2, 3),
            )
        )

    for extra_table in report.comparisons:
        out.append(f"<h2>{_e(extra_table.title)}</h2>")
        out.append(
            _table(
                extra_table.columns,
                [[fmt.metric("", v) if isinstance(v, float) else v for v in row] for row in extra_table.rows],
            )
        )
        out += [f'<p class="sub">{_e(note)}</p>' for note in extra_table.notes]

    out += _recordings(report.recordings)

    def details(title: str, body: str) -> None:
        out.append(f"<details><summary>{_e(title)}</summary>{body}</details>")

    if report.not_comparable:
        details(
            f"Not comparable: the judge changed ({len(report.not_comparable)})",
            _comparisons(report.not_comparable, True),
        )
    if report.not_significant:
        details(
            f"Beyond a gate but not significant ({len(report.not_significant)})",
            _comparisons(report.not_significant, True),
        )
    if report.new_tests:
        details(
            f"New tests, not in the baseline ({len(report.new_tests)})",
            "<ul>" + "".join(f"<li><code>{_e(n)}</code></li>" for n in report.new_tests) + "</ul>",
        )
    if report.unused:
        details(
            f"Baseline entries of tests that no longer exist ({len(report.unused)})",
            "<ul>" + "".join(f"<li><code>{_e(n)}</code></li>" for n in report.unused) + "</ul>",
        )

    out.append(html_tests.tests_section(report))

    out.append(
        '<div class="next">' + "".join(f"<p><b>Next:</b> {_e(s)}</p>" for s in report.next_steps) + "</div>"
    )
    if report.tests:
        out.append(f"<script>{html_tests.SCRIPT}</script>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
