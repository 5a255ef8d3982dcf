"""The default "LLM evaluation" section: one screen, not every table.

Headline, then the regressions (the first few tests, each with the metrics
that moved and the first lines of the baseline's answer and of this run's),
failures in one line each, the A/B decisions, what else the baseline
comparison found in one line, and the next step. `-v` or
`--llm-report-terminal=full` prints every table (`terminal.lines`); the
report files have every answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pytest_llmops.results.report.model import Report
from pytest_llmops.results.report.terminal import (
    BOLD,
    GREEN,
    RED,
    YELLOW,
    Line,
    drift_lines,
    recordings_lines,
)
from pytest_llmops.results.report.terminal import _headline as headline_lines
from pytest_llmops.results.report.terminal_answers import (
    ANSWER_LINES,
    ANSWER_WIDTH,
    PLAIN,
    _cut,
    answer_lines,
    from_first_difference,
    view_lines,
)

__all__ = [
    "ANSWER_LINES",
    "ANSWER_WIDTH",
    "SHOWN_CASSETTES",
    "SHOWN_FAILURES",
    "SHOWN_REGRESSIONS",
    "answer_lines",
    "from_first_difference",
    "lines",
]

SHOWN_REGRESSIONS = 3
"""Regressed tests shown with their answers; the rest are counted."""
SHOWN_FAILURES = 3
SHOWN_CASSETTES = 3
"""Cassettes over the recording age limit listed by name; the rest are counted."""
FULL_HINT = "-v or --llm-report-terminal=full"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _regressions(report: Report) -> Iterator[Line]:
    views = report.regressed_tests
    if not report.regressions:
        return
    yield "", PLAIN
    yield (
        f"Regressions: {_plural(len(report.regressions), 'metric', 'metrics')} in "
        f"{_plural(len(views), 'test', 'tests')}",
        RED,
    )
    for view in views[:SHOWN_REGRESSIONS]:
        yield from view_lines(view)
    rest = len(views) - SHOWN_REGRESSIONS
    if rest > 0:
        yield f"  ... and {_plural(rest, 'more test', 'more tests')} ({FULL_HINT} lists them all)", PLAIN


def _failures(report: Report) -> Iterator[Line]:
    failures = report.failures
    if not failures:
        return
    yield "", PLAIN
    yield f"Failures: {len(failures):,}", RED
    for failure in failures[:SHOWN_FAILURES]:
        first = (failure.message or "").strip().splitlines()
        yield _cut(f"  {failure.nodeid}: {first[0] if first else failure.outcome}", ANSWER_WIDTH + 20), PLAIN
    if len(failures) > SHOWN_FAILURES:
        yield f"  ... and {len(failures) - SHOWN_FAILURES:,} more (pytest's summary above lists them)", PLAIN


def _decisions(report: Report) -> Iterator[Line]:
    for table in report.comparisons:
        yield "", PLAIN
        yield table.title, BOLD
        if table.data.get("kind") == "ab_comparison" and table.notes:
            yield f"  {table.notes[0]}", PLAIN
        else:
            yield f"  {_plural(len(table.rows), 'row', 'rows')} ({FULL_HINT} prints the table)", PLAIN


def _others(report: Report) -> Iterator[Line]:
    parts = []
    for items, one, many in (
        (report.not_comparable, "score not comparable (the judge changed)", "scores not comparable"),
        (report.not_significant, "move not significant", "moves not significant"),
        (report.new_tests, "new test", "new tests"),
        (report.unused, "unused baseline entry", "unused baseline entries"),
        (report.flaky, "flaky test", "flaky tests"),
    ):
        if items:
            parts.append(_plural(len(items), one, many))
    if parts:
        yield "", PLAIN
        yield "Also: " + " · ".join(parts) + f" ({FULL_HINT} lists them)", YELLOW


def lines(report: Report, verbose: bool = False, extra: Sequence[Line] = ()) -> Iterator[Line]:
    """The short section; same signature as `terminal.lines` (`verbose` is unused: -v prints that one)."""
    if report.headline.tests == 0:
        yield "no llm tests ran (tests marked @pytest.mark.llm)", PLAIN
        yield from extra
        return
    yield from headline_lines(report)
    if report.baseline.update_error:
        yield f"baseline not written: {report.baseline.update_error}", RED
    yield from _regressions(report)
    yield from _failures(report)
    yield from drift_lines(report, verbose=False, short=True)
    yield from _decisions(report)
    yield from recordings_lines(report.recordings, SHOWN_CASSETTES)
    yield from _others(report)
    if report.verdict.reasons:
        yield "", PLAIN
        yield "LLM gates failed: " + "; ".join(report.verdict.reasons), RED
    yield "", PLAIN
    yield from extra
    yield f"Every table: {FULL_HINT}; every answer: --llm-report-html.", PLAIN
    for step in report.next_steps:
        yield f"Next: {step}", GREEN if step.startswith("Every test") else BOLD
