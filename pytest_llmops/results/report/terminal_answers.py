"""Answers in the terminal: the first lines of two answers from their first difference, and a regressed
(or drifted) test as a few lines: what moved, then the two answers under their labels.

Shared by the one-screen summary (`terminal_summary`) and the full section (`terminal`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pytest_llmops.results.report import numbers as fmt
from pytest_llmops.results.report.why import RegressionView

__all__ = [
    "ANSWER_LINES",
    "ANSWER_WIDTH",
    "CONTEXT_WORDS",
    "answer_lines",
    "from_first_difference",
    "view_lines",
]

Line = tuple[str, dict[str, bool]]
PLAIN: dict[str, bool] = {}
ANSWER_LINES = 2
"""Lines of each answer shown."""
ANSWER_WIDTH = 110
CONTEXT_WORDS = 6
"""Unchanged words shown before the first difference; the answers' common start before them is skipped."""
_WORDS = re.compile(r"\S+\s*|\s+")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def answer_lines(text: str | None, limit: int = ANSWER_LINES, width: int = ANSWER_WIDTH) -> list[str]:
    """The first `limit` non-blank lines of an answer, each cut to `width`; "…" marks what was left out."""
    if text is None:
        return ["(not kept)"]
    rows = [" ".join(row.split()) for row in text.splitlines()]
    rows = [row for row in rows if row]
    if not rows:
        return ["(empty)"]
    shown = [_cut(row, width) for row in rows[:limit]]
    if len(rows) > limit and not shown[-1].endswith("…"):
        shown[-1] += " …"
    return shown


def from_first_difference(before: str, now: str) -> tuple[str, str]:
    """Both answers from a few words before their first difference, "…" marking the skipped common start,
    so the first lines shown are the ones that differ."""
    old, new = _WORDS.findall(before), _WORDS.findall(now)
    same = 0
    for a, b in zip(old, new, strict=False):
        if a.strip() != b.strip():
            break
        same += 1
    start = max(0, same - CONTEXT_WORDS)
    if start == 0:
        return before, now
    return "…" + "".join(old[start:]), "…" + "".join(new[start:])


def _moves(view: RegressionView) -> str:
    return ", ".join(
        f"{c.metric} {fmt.metric(c.metric, c.baseline)} -> {fmt.metric(c.metric, c.current)}"
        for c in view.regressed
    )


def view_lines(
    view: RegressionView,
    labels: tuple[str, str] = ("before:", "now:   "),
    same: str = "same answer as the baseline",
    judge_status: str = "regressed",
) -> Iterator[Line]:
    """A regressed test: the metrics that moved, the two answers from their first difference (`labels`:
    the earlier one's, then this run's), and the judge's reasoning on a moved judged score."""
    yield f"  {view.nodeid}: {_moves(view)}", PLAIN
    judged = [s for s in view.scores if s.judged and s.reason and s.status == judge_status]
    if view.before is None and view.now is None:
        yield "    (no answer kept: the test's checks scored no text)", PLAIN
        return
    if view.answer_changed is False:
        yield (
            f"    {same}: " + answer_lines(view.now.output if view.now else None, 1)[0],
            PLAIN,
        )
    else:
        old = view.before.output if view.before else None
        new = view.now.output if view.now else None
        if old is not None and new is not None:
            old, new = from_first_difference(old, new)
        before, now = answer_lines(old), answer_lines(new)
        for label, rows in ((labels[0], before), (labels[1], now)):
            for i, row in enumerate(rows):
                yield f"    {label if i == 0 else ' ' * len(label)} {row}", PLAIN
    for score in judged[:1]:
        yield f"    judge on {score.name}: {_cut(score.reason or '', ANSWER_WIDTH)}", PLAIN
