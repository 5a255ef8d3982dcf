"""The Markdown report's regression view: per regressed test, the baseline's answer beside this run's as a
word diff (~~removed~~ on the left, **added** on the right), then every score with its scorer and reason.

Each test is folded in `<details>` (GitHub renders Markdown inside it), and at
most `SHOWN` tests are written: a step summary holds 1 MiB.
"""

from __future__ import annotations

import html as _html
import re

from pytest_llmops.results.report import numbers as fmt
from pytest_llmops.results.report.model import Report
from pytest_llmops.results.report.why import RegressionView
from pytest_llmops.results.report.worddiff import word_diff

__all__ = ["SHOWN", "escape", "marked", "render", "render_drift"]

SHOWN = 25
_SPECIAL = re.compile(r"([\\`*_~\[\]|#])")


def escape(text: str) -> str:
    """Text inside a table cell: Markdown and HTML characters escaped, line breaks as <br>."""
    text = _SPECIAL.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def marked(text: str, mark: str) -> str:
    """`text` wrapped in `mark` (~~ or **), white space kept outside the markers so they render."""
    core = text.strip()
    if not core:
        return escape(text)
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return escape(lead) + mark + escape(core) + mark + escape(trail)


_REGRESSION = ("baseline answer", "this run", "baseline", "now", "the baseline")
_DRIFT = ("recorded answer", "live answer", "replayed", "live", "the recording")


def _answers(view: RegressionView, words: tuple[str, ...] = _REGRESSION) -> list[str]:
    before, now = view.before, view.now
    if before is not None and now is not None and before.sha256 != now.sha256:
        pieces = word_diff(before.output, now.output)
        left = "".join(escape(p.old) if p.op == "=" else marked(p.text, "~~") for p in pieces if p.op != "+")
        right = "".join(
            escape(p.text) if p.op == "=" else marked(p.text, "**") for p in pieces if p.op != "-"
        )
    else:
        left = escape(before.output) if before is not None else f"_{words[4]} kept no answer for this test_"
        right = escape(now.output) if now is not None else "_no check scored a text in this run_"
        if before is not None and now is not None:
            right += f"<br>_(same answer as {words[4]})_"
    return [f"| {words[0]} | {words[1]} |", "|---|---|", f"| {left} | {right} |"]


def _scores(view: RegressionView, words: tuple[str, ...] = _REGRESSION) -> list[str]:
    if not view.scores:
        return []
    out = [f"| score | {words[2]} | {words[3]} | status | scorer | reason |", "|---|---:|---:|---|---|---|"]
    for s in view.scores:
        scorer = f"`{s.scorer}`" + (" (judge)" if s.judged else "")
        out.append(
            f"| {escape(s.name)} | {fmt.metric(s.name, s.baseline)} | {fmt.metric(s.name, s.value)} | "
            f"{_status(s.status, words)} | {scorer} | {escape(s.reason or '')} |"
        )
    return out


def _status(status: str | None, words: tuple[str, ...]) -> str:
    if status == "regressed" and words is _DRIFT:
        return "drifted"
    return status or ""


def _view(view: RegressionView, words: tuple[str, ...] = _REGRESSION) -> list[str]:
    moves = ", ".join(
        f"{c.metric} {fmt.metric(c.metric, c.baseline)} → {fmt.metric(c.metric, c.current)}"
        for c in view.regressed
    )
    return [
        f"<details><summary><code>{_html.escape(view.nodeid)}</code>: {_html.escape(moves)}</summary>",
        "",
        *_answers(view, words),
        "",
        *_scores(view, words),
        "",
        "</details>",
    ]


def render(report: Report) -> list[str]:
    """The lines of the section; none without regressed tests."""
    views = report.regressed_tests
    if not views:
        return []
    out = [
        "",
        "#### The answers behind the regressions",
        "",
        "Removed words are ~~struck out~~ in the baseline's answer, added ones **in bold** in this run's.",
    ]
    for view in views[:SHOWN]:
        out += ["", *_view(view)]
    if len(views) > SHOWN:
        out += ["", f"_... and {len(views) - SHOWN:,} more regressed tests: see the HTML or JSON report._"]
    return out


def render_drift(views: list[RegressionView]) -> list[str]:
    """The answers behind the drift: per drifted test, the recorded answer beside the live one."""
    if not views:
        return []
    out = [
        "",
        "#### Live answer differs",
        "",
        "Removed words are ~~struck out~~ in the recorded answer, added ones **in bold** in the live one.",
    ]
    for view in views[:SHOWN]:
        out += ["", *_view(view, _DRIFT)]
    if len(views) > SHOWN:
        out += ["", f"_... and {len(views) - SHOWN:,} more drifted tests: see the HTML or JSON report._"]
    return out
