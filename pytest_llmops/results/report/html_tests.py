"""The HTML report's answers: the regression view (baseline answer beside this run's, as a word diff, with
every score and its reason) and the per-test view (inputs, output, expected output, scores, calls, prompt
and variant), filterable by outcome, baseline status, prompt version and model.

The filters are a few lines of inline script reading `data-` attributes; the
page works without it (every test is listed). The initial filter comes from
the address's fragment (`report.html#outcome=failed&prompt=rag_qa@1.3.0`),
and changing a filter updates it, so a filtered view can be linked.
"""

from __future__ import annotations

import dataclasses
import html as _html
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pytest_llmops.results.baseline import BaselineAnswer
from pytest_llmops.results.records import AnswerRecord, TestRecord
from pytest_llmops.results.report import numbers as fmt
from pytest_llmops.results.report.model import Report, TestRow
from pytest_llmops.results.report.why import RegressionView, ScoreLine
from pytest_llmops.results.report.worddiff import word_diff

__all__ = [
    "CSS",
    "DETAIL_LIMIT",
    "SCRIPT",
    "anchor_of",
    "drift_views",
    "regressions_section",
    "tests_section",
]

DETAIL_LIMIT = 2000
"""Tests shown in the per-test view (failed and regressed ones first); the JSON report has them all."""
SEP = "|"

CSS = """
.why { border: 1px solid var(--line); border-radius: 6px; margin: 12px 0; padding: 10px 12px; }
.why h3 { margin: 0 0 6px; font-size: 14px; }
.why h3 code { font-size: 13px; }
.sbs { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; margin: 8px 0; }
.sbs > div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: var(--soft); }
.sbs .k, .io .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.answer { white-space: pre-wrap; overflow-wrap: anywhere; font: 13px/1.5 system-ui, sans-serif; margin: 4px 0 0; }
del { background: #ffcecb; color: #82071e; text-decoration: line-through; }
ins { background: #aceebb; color: #055d20; text-decoration: none; }
.same { color: var(--good); font-size: 12px; }
.reason { color: var(--fg); }
tr.judge td { background: #f3eeff; }
.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 8px 0 12px; }
.filters label { font-size: 12px; color: var(--muted); }
.filters select, .filters input { font: 13px system-ui, sans-serif; padding: 2px 4px; }
#test-count { font-weight: 600; }
details.test { border-bottom: 1px solid var(--line); margin: 0; padding: 4px 0; }
details.test > summary { font-weight: 400; display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
details.test > summary code { font-weight: 600; }
details.test > summary::before { content: "▸"; color: var(--muted); }
details.test[open] > summary::before { content: "▾"; }
details.test[open] { background: #fbfcfd; }
.io { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; margin: 8px 0; }
.io > div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.io .wide { grid-column: 1 / -1; }
.meta { color: var(--muted); font-size: 12px; margin: 4px 0; }
.meta code { color: var(--fg); }
"""

SCRIPT = r"""
(function () {
  var root = document.getElementById("tests");
  if (!root) { return; }
  var form = document.getElementById("test-filters");
  var rows = Array.prototype.slice.call(root.querySelectorAll("details.test"));
  var fields = Array.prototype.slice.call(form.querySelectorAll("select, input"));
  var count = document.getElementById("test-count");
  function has(row, key, value) {
    return (row.getAttribute("data-" + key) || "").split("|").indexOf(value) >= 0;
  }
  function apply() {
    var shown = 0;
    var text = "";
    rows.forEach(function (row) {
      var ok = fields.every(function (field) {
        var value = field.value;
        if (!value) { return true; }
        if (field.name === "q") { return row.id.toLowerCase().indexOf(value.toLowerCase()) >= 0 ||
          (row.getAttribute("data-nodeid") || "").toLowerCase().indexOf(value.toLowerCase()) >= 0; }
        return has(row, field.name, value);
      });
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " tests";
    root.setAttribute("data-shown", String(shown));
  }
  function toHash() {
    var parts = [];
    fields.forEach(function (field) {
      if (field.value) { parts.push(encodeURIComponent(field.name) + "=" + encodeURIComponent(field.value)); }
    });
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
  }
  function fromHash() {
    var hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    if (!hash) { return; }
    if (hash.indexOf("=") < 0) {
      var target = document.getElementById(hash);
      if (target && target.tagName === "DETAILS") { target.open = true; }
      return;
    }
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at < 0) { return; }
      var name = decodeURIComponent(part.slice(0, at));
      var value = decodeURIComponent(part.slice(at + 1));
      fields.forEach(function (field) {
        if (field.name !== name) { return; }
        if (field.tagName === "SELECT" && !Array.prototype.some.call(field.options, function (o) {
          return o.value === value; })) { return; }
        field.value = value;
      });
    });
  }
  fields.forEach(function (field) {
    field.addEventListener(field.tagName === "INPUT" ? "input" : "change", function () { apply(); toHash(); });
  });
  window.addEventListener("hashchange", function () { fromHash(); apply(); });
  fromHash();
  apply();
  root.setAttribute("data-ready", "yes");
})();
"""


def _e(value: Any) -> str:
    return _html.escape("-" if value is None else str(value), quote=True)


def anchor_of(nodeid: str) -> str:
    """A stable element id for a test: readable, and unique through a short hash of the node id."""
    import hashlib

    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid).strip("-")[:80]
    return f"test-{slug}-{hashlib.sha256(nodeid.encode()).hexdigest()[:8]}"


def _pill(text: str, kind: str = "") -> str:
    return f'<span class="pill {kind}">{_e(text)}</span>'


_KIND = {
    "regressed": "bad",
    "drifted": "bad",
    "failed": "bad",
    "error": "bad",
    "not comparable": "warn",
    "not significant": "warn",
    "worse": "warn",
    "new": "warn",
    "ok": "good",
    "passed": "good",
    "same": "",
    "better": "good",
}


def _text_block(text: str | None, note: str = "") -> str:
    if text is None:
        return '<p class="sub">not kept</p>'
    return f'<div class="answer">{_e(text)}</div>{note}'


def _cut_note(chars: int, shown: int) -> str:
    if chars <= shown:
        return ""
    return f'<p class="sub">first {shown:,} of {chars:,} characters</p>'


def answer_diff(
    before: BaselineAnswer | None,
    now: AnswerRecord | None,
    labels: tuple[str, str, str] = ("baseline answer", "this run", "the baseline"),
) -> str:
    """The two answers side by side; with both known, a word diff (removed words struck out on the left,
    added ones marked on the right)."""
    if before is not None and now is not None and before.sha256 != now.sha256:
        pieces = word_diff(before.output, now.output)
        left = "".join(
            _e(p.old) if p.op == "=" else f"<del>{_e(p.text)}</del>" for p in pieces if p.op != "+"
        )
        right = "".join(
            _e(p.text) if p.op == "=" else f"<ins>{_e(p.text)}</ins>" for p in pieces if p.op != "-"
        )
        left_html = f'<div class="answer">{left}</div>{_cut_note(before.chars, len(before.output))}'
        right_html = f'<div class="answer">{right}</div>{_cut_note(now.chars, len(now.output))}'
    else:
        left_html = (
            _text_block(before.output, _cut_note(before.chars, len(before.output)))
            if before is not None
            else f'<p class="sub">{labels[2]} kept no answer for this test</p>'
        )
        right_html = (
            _text_block(now.output, _cut_note(now.chars, len(now.output)))
            if now is not None
            else '<p class="sub">no check scored a text in this run</p>'
        )
        if before is not None and now is not None:
            right_html += f'<p class="same">same answer as {labels[2]}</p>'
    where = (
        f'<p class="meta">recorded in <code class="key">{_e(before.call)}</code></p>'
        if before is not None and before.call
        else ""
    )
    return (
        '<div class="sbs">'
        f'<div><div class="k">{labels[0]}</div>{left_html}{where}</div>'
        f'<div><div class="k">{labels[1]}</div>{right_html}</div>'
        "</div>"
    )


def _scores_table(
    lines: Sequence[ScoreLine], with_baseline: bool, columns: tuple[str, str] = ("baseline", "now")
) -> str:
    if not lines:
        return '<p class="sub">no scores</p>'
    head = ["score", columns[0], columns[1], "threshold", "status", "scorer", "reason"]
    if not with_baseline:
        head = [h for h in head if h not in (columns[0], "status")]
    rows = []
    for s in lines:
        passed = "" if s.passed is None else (" ✓" if s.passed else " ✗")
        cells = [
            f"<td>{_e(s.name)}</td>",
            f'<td class="n">{_e(fmt.metric(s.name, s.baseline))}</td>' if with_baseline else "",
            f'<td class="n">{_e(fmt.metric(s.name, s.value))}{passed}</td>',
            f'<td class="n">{_e(fmt.metric(s.name, s.threshold) if s.threshold is not None else "")}</td>',
            f"<td>{_pill(s.status, _KIND.get(s.status, '')) if s.status else ''}</td>"
            if with_baseline
            else "",
            f'<td><code class="key">{_e(s.scorer)}</code></td>',
            f'<td class="reason">{_e(s.reason or "")}</td>',
        ]
        cls = ' class="judge"' if s.judged else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    numeric = {columns[0], columns[1], "threshold"}
    header = "".join(f'<th class="n">{h}</th>' if h in numeric else f"<th>{h}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def regressions_section(report: Report) -> str:
    """Per regressed test: what moved, the two answers, and every score with who gave it and why."""
    views = report.regressed_tests
    if not views:
        return ""
    out = [
        f'<p class="sub" id="why">{len(views):,} regressed tests, each with the baseline\'s answer beside this run\'s. Removed words are <del>struck out</del> in the baseline answer, added words '
        "<ins>marked</ins> in this run's. Rows in violet were scored by the LLM judge; the reason column "
        "is its reasoning.</p>"
    ]
    for view in views[:DETAIL_LIMIT]:
        out.append(_regression(view))
    if len(views) > DETAIL_LIMIT:
        out.append(f'<p class="sub">... and {len(views) - DETAIL_LIMIT:,} more: see the JSON report.</p>')
    return "\n".join(out)


def _regression(view: RegressionView) -> str:
    moves = ", ".join(
        f"{c.metric} {fmt.metric(c.metric, c.baseline)} → {fmt.metric(c.metric, c.current)} (gate {c.gate})"
        for c in view.regressed
    )
    anchor = anchor_of(view.nodeid)
    return (
        f'<div class="why regression" data-nodeid="{_e(view.nodeid)}">'
        f'<h3><a href="#{anchor}"><code>{_e(view.nodeid)}</code></a> {_pill(view.outcome, _KIND.get(view.outcome, ""))}</h3>'
        f'<p class="meta">regressed: {_e(moves)}</p>'
        f"{answer_diff(view.before, view.now)}"
        f"{_scores_table(view.scores, True)}"
        "</div>"
    )


def _drifted(line: ScoreLine) -> ScoreLine:
    return dataclasses.replace(line, status="drifted") if line.status == "regressed" else line


def drift_views(views: Sequence[RegressionView]) -> str:
    """Per drifted test (`--llm-live-sample`): what drifted, the recorded answer beside the live one, and
    the live run's scores beside the replayed ones."""
    if not views:
        return ""
    out = [
        f'<p class="sub" id="drift-answers">{len(views):,} drifted tests, each with the recorded answer beside '
        "today's live one. Removed words are <del>struck out</del> in the recorded answer, added words "
        "<ins>marked</ins> in the live one.</p>"
    ]
    for view in views[:DETAIL_LIMIT]:
        moves = ", ".join(
            f"{c.metric} {fmt.metric(c.metric, c.baseline)} → {fmt.metric(c.metric, c.current)} (gate {c.gate})"
            for c in view.regressed
        )
        out.append(
            f'<div class="why drift" data-nodeid="{_e(view.nodeid)}">'
            f'<h3><a href="#{anchor_of(view.nodeid)}"><code>{_e(view.nodeid)}</code></a> live: '
            f"{_pill(view.outcome, _KIND.get(view.outcome, ''))}</h3>"
            f'<p class="meta">drifted: {_e(moves)}</p>'
            f"{answer_diff(view.before, view.now, ('recorded answer', 'live answer', 'the recording'))}"
            f"{_scores_table([_drifted(s) for s in view.scores], True, ('replayed', 'live'))}"
            "</div>"
        )
    if len(views) > DETAIL_LIMIT:
        out.append(f'<p class="sub">... and {len(views) - DETAIL_LIMIT:,} more: see the JSON report.</p>')
    return "\n".join(out)


# -- the per-test view -----------------------------------------------------------------------------


def _options(name: str, label: str, values: Iterable[str]) -> str:
    opts = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in sorted(set(values)))
    return f'<label>{_e(label)} <select name="{name}"><option value="">all</option>{opts}</select></label>'


def _calls_table(record: TestRecord) -> str:
    if not record.calls:
        return '<p class="sub">no model calls</p>'
    runs = len({int(c.extra.get("run", 0)) for c in record.calls}) > 1
    head = ["run"] if runs else []
    head += [
        "role",
        "model",
        "prompt",
        "source",
        "tokens in",
        "tokens out",
        "cost",
        "latency",
        "status",
        "recording",
    ]
    rows = []
    for c in record.calls:
        tokens_in = "-" if c.input_tokens is None else f"{c.input_tokens:,}"
        if c.cached_input_tokens:
            tokens_in += f" ({c.cached_input_tokens:,} cached)"
        tokens_out = "-" if c.output_tokens is None else f"{c.output_tokens:,}"
        if c.estimated:
            tokens_in, tokens_out = tokens_in + " est.", tokens_out + " est."
        cells = [str(c.extra.get("run", 0))] if runs else []
        cells += [
            c.role,
            c.model or c.request_model or "?",
            c.prompt or "",
            c.source,
            tokens_in,
            tokens_out,
            fmt.usd(c.cost_usd),
            fmt.ms(c.latency_ms),
            str(c.status),
            f"{c.cassette}#{c.index}" if c.cassette and c.index is not None else "",
        ]
        rows.append("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in cells) + "</tr>")
    header = "".join(f"<th>{h}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _all_scores(record: TestRecord, row: TestRow) -> list[ScoreLine]:
    """Every score of every run, with the test's comparison status per metric."""
    lines = []
    repeated = len({s.run for s in record.scores}) > 1
    for score in record.scores:
        name = f"{score.name} (run {score.run})" if repeated else score.name
        lines.append(ScoreLine.of(name, score, row.comparisons.get(score.name)))
    return lines


def _test(row: TestRow) -> str:
    record = row.record
    anchor = anchor_of(row.nodeid)
    attrs = {
        "id": anchor,
        "class": "test",
        "data-nodeid": row.nodeid,
        "data-outcome": row.outcome,
        "data-status": row.status,
        "data-prompt": SEP.join(row.prompts),
        "data-model": SEP.join(row.models),
        "data-variant": row.variant or "",
    }
    opened = " ".join(f'{k}="{_e(v)}"' for k, v in attrs.items())
    summary_scores = ", ".join(
        f"{name} {fmt.metric(name, cell.value)}"
        for name, cell in row.cells().items()
        if name not in ("cost_usd", "input_tokens", "output_tokens", "latency_p95", "pass_rate")
    )
    summary = (
        f"<summary>{_pill(row.outcome, _KIND.get(row.outcome, ''))} {_pill(row.status, _KIND.get(row.status, ''))} "
        f'<code>{_e(row.nodeid)}</code> <span class="meta">{_e(summary_scores)}</span></summary>'
    )
    body: list[str] = []
    meta = []
    if row.prompts:
        prompts = record.prompts if record is not None else {}
        meta.append(
            "prompt "
            + ", ".join(
                f"<code>{_e(p)}</code>" + (f" (sha256 {_e(prompts[p][:12])})" if prompts.get(p) else "")
                for p in row.prompts
            )
        )
    if row.models:
        meta.append("model " + ", ".join(f"<code>{_e(m)}</code>" for m in row.models))
    if row.variant:
        config = record.variant_config if record is not None else None
        shown = f" <code>{_e(json.dumps(config, sort_keys=True, default=str))}</code>" if config else ""
        meta.append(f"variant <code>{_e(row.variant)}</code>{shown}")
    if record is not None and record.case_id:
        meta.append(f"case <code>{_e(record.case_id)}</code>")
    if row.runs > 1:
        meta.append(f"runs {row.passed}/{row.runs} passed")
    meta.append(
        f"{row.calls} app calls · {row.input_tokens:,} / {row.output_tokens:,} tokens · {fmt.usd(row.cost_usd)}"
    )
    if row.judge_calls:
        meta.append(f"{row.judge_calls} judge calls")
    body.append('<p class="meta">' + " · ".join(meta) + "</p>")
    if row.message:
        body.append(f'<pre class="msg"><span class="msg">{_e(row.message)}</span></pre>')
    answer = row.answer
    io = []
    if answer is not None:
        for name, text in answer.inputs.items():
            io.append(
                f'<div><div class="k">input: {_e(name)}</div><div class="answer">{_e(text)}</div></div>'
            )
        if answer.expected is not None:
            io.append(
                f'<div><div class="k">expected output</div><div class="answer">{_e(answer.expected)}</div></div>'
            )
    if io:
        body.append(f'<div class="io">{"".join(io)}</div>')
    if answer is not None or row.baseline_answer is not None:
        body.append(answer_diff(row.baseline_answer, answer))
    if record is not None:
        body.append("<h3>Scores</h3>")
        body.append(_scores_table(_all_scores(record, row), row.in_baseline))
        body.append("<h3>Calls</h3>")
        body.append(_calls_table(record))
    return f"<details {opened}>{summary}{''.join(body)}</details>"


def _shown_tests(tests: Sequence[TestRow]) -> list[TestRow]:
    if len(tests) <= DETAIL_LIMIT:
        return list(tests)
    urgent = [t for t in tests if t.outcome in ("failed", "error") or t.status == "regressed"]
    keep = {t.nodeid for t in urgent[:DETAIL_LIMIT]}
    for t in tests:
        if len(keep) >= DETAIL_LIMIT:
            break
        keep.add(t.nodeid)
    return [t for t in tests if t.nodeid in keep]


def tests_section(report: Report) -> str:
    """Every test, expandable, with the filters above it."""
    tests = report.tests
    if not tests:
        return ""
    shown = _shown_tests(tests)
    filters = (
        '<form class="filters" id="test-filters" onsubmit="return false">'
        + _options("outcome", "outcome", (t.outcome for t in tests))
        + _options("status", "baseline", (t.status for t in tests))
        + _options("prompt", "prompt version", (p for t in tests for p in t.prompts))
        + _options("model", "model", (m for t in tests for m in t.models))
        + _options("variant", "variant", (t.variant for t in tests if t.variant))
        + '<label>test <input type="search" name="q" placeholder="part of the node id"></label>'
        + f'<span id="test-count">{len(shown):,} tests</span>'
        + "</form>"
    )
    out = [f'<h2 id="tests-view">Tests ({len(tests):,})</h2>', filters]
    out.append(f'<div id="tests" data-shown="{len(shown)}">')
    out += [_test(row) for row in shown]
    out.append("</div>")
    if len(shown) < len(tests):
        out.append(
            f'<p class="sub">{len(tests) - len(shown):,} passing tests are left out of this view '
            f"(it shows {DETAIL_LIMIT:,}); the JSON report has every test.</p>"
        )
    return "\n".join(out)
