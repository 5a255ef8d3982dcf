"""Why a score moved: for each regressed test, the baseline's answer beside this run's, with every score,
who gave it and why (the judge's reasoning when a judge scored it).

Pure, like `build`: made from the records and the baseline comparison. The
answers are the texts the tests' checks scored (`TestRecord.answer`), and
the baseline's as accepted (`BaselineAnswer`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmops.results.baseline import BaselineAnswer, BaselineDiff, MetricComparison
from pytest_llmops.results.records import AnswerRecord, TestRecord
from pytest_llmops.results.scores import Score

__all__ = ["RegressionView", "ScoreLine", "regression_views", "score_lines"]


@dataclass(slots=True)
class ScoreLine:
    """One score of a test as the report shows it: the value of the shown run beside the baseline's."""

    name: str
    value: float
    baseline: float | None
    threshold: float | None
    passed: bool | None
    scorer: str
    reason: str | None
    judged: bool
    status: str | None = None  # the comparison with the baseline: same, better, worse, regressed, ...

    @classmethod
    def of(cls, name: str, score: Score, comparison: Any | None) -> ScoreLine:
        """`score` shown as `name`, beside its metric's comparison with the baseline (None: no baseline)."""
        reason = score.details.get("reason")
        return cls(
            name,
            score.value,
            comparison.baseline if comparison is not None else None,
            score.threshold,
            score.passed,
            score.scorer,
            str(reason) if reason else None,
            score.scorer.startswith("judge:"),
            comparison.status if comparison is not None else None,
        )


@dataclass(slots=True)
class RegressionView:
    """A regressed test: what regressed, its scores, and the two answers (either may be unknown)."""

    nodeid: str
    outcome: str
    message: str | None
    regressed: list[MetricComparison]
    scores: list[ScoreLine]
    before: BaselineAnswer | None
    now: AnswerRecord | None
    answer_changed: bool | None  # None when one side has no answer
    judged: bool = False


def score_lines(
    record: TestRecord, comparisons: Mapping[str, MetricComparison] | None = None
) -> list[ScoreLine]:
    """The scores of the run whose answer is shown (the first run), one line per score name; the baseline
    value and status come from the comparison of the test's metric (a mean over runs with repeats)."""
    if not record.scores:
        return []
    shown_run = min(s.run for s in record.scores)
    first: dict[str, Score] = {}
    for score in record.scores:
        if score.run == shown_run and score.name not in first:
            first[score.name] = score
    lines = []
    for name, score in first.items():
        lines.append(ScoreLine.of(name, score, comparisons.get(name) if comparisons else None))
    return lines


def regression_views(
    records: Sequence[TestRecord], diff: BaselineDiff | None, message: Any = lambda text: text
) -> list[RegressionView]:
    """One view per test with a regression, in node id order; `message` shortens failure messages."""
    if diff is None:
        return []
    by_test: dict[str, list[MetricComparison]] = {}
    for comparison in diff.regressions:
        by_test.setdefault(comparison.nodeid, []).append(comparison)
    if not by_test:
        return []
    views = []
    for record in records:
        regressed = by_test.get(record.nodeid)
        if not regressed:
            continue
        before, now = diff.answers.get(record.nodeid), record.answer
        changed = None if before is None or now is None else before.sha256 != now.sha256
        scores = score_lines(record, diff.comparisons.get(record.nodeid))
        views.append(
            RegressionView(
                record.nodeid,
                record.outcome,
                message(record.message),
                regressed,
                scores,
                before,
                now,
                changed,
                any(s.judged for s in scores),
            )
        )
    return views
