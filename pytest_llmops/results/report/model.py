"""The session report as data: what every printer (terminal, JSON, Markdown, HTML) reads, and nothing else.

`pytest_llmops.results.report.build.build` makes it from the per-test records and the
baseline comparison, without I/O. Wall-clock figures (test durations, when the
report was made) live only under keys named `timings`, so two runs of the same
recordings give reports that are equal once those keys are dropped, with or
without xdist.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from pytest_llmops.results.baseline import BaselineAnswer, MetricComparison, MetricEntry
from pytest_llmops.results.drift import DriftMetric, DriftTest
from pytest_llmops.results.records import AnswerRecord, TestRecord
from pytest_llmops.results.report.figures import Bounds, CallFigures, Histogram
from pytest_llmops.results.report.why import RegressionView

__all__ = [
    "FORMAT",
    "AgedCassette",
    "BaselineInfo",
    "CassetteFigures",
    "DeclaredFigure",
    "DriftSection",
    "Failure",
    "GroupSummary",
    "Headline",
    "JudgeSummary",
    "MeanCI",
    "MetricCell",
    "MetricSummary",
    "ModelPrices",
    "Recordings",
    "RegressionView",
    "RepeatRow",
    "Report",
    "ReportOptions",
    "Table",
    "TestRow",
    "Verdict",
    "to_jsonable",
]

FORMAT = 2  # 2: adds `records` and `settings` (what `pytest-llmops merge` needs); format 1 readers still work


@dataclass(slots=True)
class CassetteFigures:
    played: int = 0
    recorded: int = 0
    misses: int = 0
    files_written: int = 0


@dataclass(slots=True)
class Headline:
    tests: int
    outcomes: dict[str, int]
    pass_rate: float | None  # passed tests / tests that ran
    app: CallFigures
    judge: CallFigures
    cassettes: CassetteFigures

    @property
    def ran(self) -> int:
        return self.tests - self.outcomes.get("skipped", 0) - self.outcomes.get("xfailed", 0)


@dataclass(slots=True)
class MetricSummary:
    """One metric over the tests that have it; `baseline` and `delta` cover the tests in both runs."""

    name: str
    higher_is_better: bool
    count: int
    mean: float
    ci95: Bounds | None
    baseline: float | None = None
    baseline_count: int = 0
    delta: float | None = None
    regressions: int = 0


@dataclass(slots=True)
class DeclaredFigure:
    """A figure the prompt file declares in its metadata (`avg_accuracy: 0.9`), beside what was measured."""

    key: str
    declared: Any
    measured: float | None = None
    measured_as: str | None = None


@dataclass(slots=True)
class GroupSummary:
    """The app calls of one prompt version or one model, and the metric means of the tests that used it."""

    key: str
    tests: int
    figures: CallFigures
    metrics: dict[str, float]
    sha256: str | None = None
    declared: list[DeclaredFigure] = field(default_factory=list)


@dataclass(slots=True)
class JudgeSummary:
    figures: CallFigures
    judges: list[dict[str, str]]
    scores: int
    attributed_cost_usd: float | None
    escalated: int
    escalation_decisions: int


@dataclass(slots=True)
class MeanCI:
    mean: float
    n: int
    ci95: Bounds | None


@dataclass(slots=True)
class RepeatRow:
    nodeid: str
    runs: int
    passed: int
    pass_rate: float
    pass_ci95: Bounds
    min_pass_rate: float | None
    flaky: bool
    metrics: dict[str, MeanCI]
    pass_mode: str | None = None
    """"all" (pass^k) or "any" (pass@k) when the marker chose one."""

    @property
    def pass_at_k(self) -> bool:
        """pass@k: at least one of the k runs passed."""
        return self.passed > 0

    @property
    def pass_all_k(self) -> bool:
        """pass^k: all k runs passed."""
        return self.passed == self.runs

    @property
    def rule(self) -> str:
        """What decided the test: `>= 66%`, `pass@k` or `pass^k`."""
        if self.pass_mode == "any":
            return "pass@k"
        if self.min_pass_rate is not None:
            return f">= {self.min_pass_rate:.0%}"
        return "pass^k"


@dataclass(slots=True)
class MetricCell:
    """One metric of one test beside its baseline value; a view made on demand from a `TestRow`."""

    value: float
    count: int
    baseline: float | None = None
    status: str | None = None

    @property
    def delta(self) -> float | None:
        return None if self.baseline is None else self.value - self.baseline


@dataclass(slots=True)
class TestRow:
    """One test. Holds the measured metrics and their comparisons as they are (no copies: there may be
    many thousands of rows); `cells()` pairs them for printing."""

    nodeid: str
    outcome: str
    status: str
    message: str | None
    runs: int
    passed: int
    calls: int
    judge_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    metrics: Mapping[str, MetricEntry]
    comparisons: Mapping[str, MetricComparison]
    in_baseline: bool
    prompts: list[str]
    models: list[str]
    variant: str | None
    duration_s: float
    tags: list[str] = field(default_factory=list)
    answer: AnswerRecord | None = None
    baseline_answer: BaselineAnswer | None = None
    record: TestRecord | None = None  # scores and calls for the per-test view (HTML); not in the JSON row

    __test__ = False

    def cell(self, name: str) -> MetricCell:
        entry = self.metrics[name]
        comparison = self.comparisons.get(name)
        if comparison is not None:
            return MetricCell(entry.value, entry.count, comparison.baseline, comparison.status)
        return MetricCell(entry.value, entry.count, None, "new metric" if self.in_baseline else None)

    def cells(self) -> dict[str, MetricCell]:
        return {name: self.cell(name) for name in self.metrics}

    def to_dict(self) -> dict[str, Any]:
        """The hot path of the JSON report (one per test), written out; values are finite by construction."""
        metrics = {}
        comparisons = self.comparisons
        new_metric = "new metric" if self.in_baseline else None
        for name, entry in self.metrics.items():
            comparison = comparisons.get(name)
            if comparison is None:
                metrics[name] = {
                    "value": entry.value,
                    "count": len(entry.runs),
                    "baseline": None,
                    "status": new_metric,
                }
            else:
                metrics[name] = {
                    "value": entry.value,
                    "count": len(entry.runs),
                    "baseline": comparison.baseline,
                    "status": comparison.status,
                }
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "status": self.status,
            "message": self.message,
            "runs": self.runs,
            "passed": self.passed,
            "calls": self.calls,
            "judge_calls": self.judge_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "metrics": metrics,
            "prompts": self.prompts,
            "models": self.models,
            "variant": self.variant,
            "tags": self.tags,
            "answer": None if self.answer is None else self.answer.to_dict(),
            "baseline_answer": None if self.baseline_answer is None else self.baseline_answer.to_dict(),
            "timings": {"duration_s": self.duration_s},
        }


@dataclass(slots=True)
class Failure:
    nodeid: str
    outcome: str
    message: str | None
    reason: str | None = None  # "check", or why the test could not measure its answers (NOT_CHECK_FAILURES)


@dataclass(slots=True)
class Table:
    """A titled table any printer can show; A/B comparisons arrive in this shape (`Report.comparisons`).

    Cells are str, int, float or None; `data` carries the machine-readable detail for the JSON report.
    """

    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class AgedCassette:
    """A cassette whose oldest recording replayed in this run is older than `llm_max_recording_age`."""

    path: str
    oldest: str
    """`recorded_at` of its oldest replayed recording."""
    age_days: int
    """Whole days from that recording's UTC date to the report's (`Recordings.as_of`)."""
    recordings: int
    """Its recordings replayed in this run."""
    too_old: int
    """Of them, the ones older than the limit."""
    tests: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ModelPrices:
    """One model's replayed calls priced twice: at their recording time and at the report's date."""

    model: str
    provider: str
    calls: int
    cost_then_usd: float | None
    cost_now_usd: float | None
    deprecated: bool = False

    @property
    def change_usd(self) -> float | None:
        if self.cost_then_usd is None or self.cost_now_usd is None:
            return None
        return self.cost_now_usd - self.cost_then_usd

    @property
    def change(self) -> float | None:
        """Relative to the cost then; None from $0 or when either side is unknown."""
        delta = self.change_usd
        if delta is None or not self.cost_then_usd:
            return None
        return delta / self.cost_then_usd

    @property
    def changed(self) -> bool:
        delta = self.change_usd
        return delta is not None and abs(delta) > PRICE_EPSILON * max(abs(self.cost_then_usd or 0.0), 1e-12)


PRICE_EPSILON = 1e-9
"""A relative difference below this is rounding, not a price change."""


@dataclass(slots=True)
class Recordings:
    """How old the replayed recordings are and what they would cost today, without a live call.

    Depends on the date of the run (`as_of`, a UTC date): two runs of the same recordings on the same day
    give equal sections. Empty when no recording was replayed.
    """

    as_of: str | None = None
    max_age_days: int | None = None
    replayed: int = 0
    """Replayed LLM recordings considered (app and judge)."""
    cassettes: int = 0
    oldest: str | None = None
    """`recorded_at` of the oldest replayed recording."""
    too_old: list[AgedCassette] = field(default_factory=list)
    undated: int = 0
    """Replayed recordings with no recording time (no `metadata.recorded_at`, no `Date` header)."""
    undated_cassettes: list[str] = field(default_factory=list)
    models: list[ModelPrices] = field(default_factory=list)
    cost_then_usd: float = 0.0
    """Over the calls priced both at their recording time and today."""
    cost_now_usd: float = 0.0

    @property
    def changed_models(self) -> list[str]:
        return [m.model for m in self.models if m.changed]

    @property
    def deprecated_models(self) -> list[str]:
        return [m.model for m in self.models if m.deprecated]

    @property
    def unpriced_models(self) -> list[str]:
        return [m.model for m in self.models if m.cost_now_usd is None]

    @property
    def change_usd(self) -> float:
        return self.cost_now_usd - self.cost_then_usd

    @property
    def change(self) -> float | None:
        return self.change_usd / self.cost_then_usd if self.cost_then_usd else None

    @property
    def findings(self) -> bool:
        """Something to say: an old cassette, a price change, a deprecated or unpriced model."""
        return bool(
            self.too_old
            or self.changed_models
            or self.deprecated_models
            or self.unpriced_models
            or (self.undated and self.max_age_days is not None)
        )


@dataclass(slots=True)
class BaselineInfo:
    """Where the baseline is and what became of it: missing, loaded, or unusable (error)."""

    path: str
    state: str  # missing | loaded | error
    error: str | None = None
    tests: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    updated: bool = False
    written_tests: int = 0
    update_error: str | None = None


@dataclass(slots=True)
class Verdict:
    """Whether the LLM results fail the session, and why. `usage_error` means the setup is broken."""

    failed: bool = False
    usage_error: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReportOptions:
    alpha: float = 0.05
    gates: str = ""
    fail_on_new: bool = False
    update_baseline: bool = False
    full_run: bool = True
    update_command: str = "pytest --llm-eval --llm-update-baseline"
    live_sample: str | None = None
    fail_on_drift: str | None = None


@dataclass(slots=True)
class DriftSection:
    """The live canary (`--llm-live-sample`): the sampled tests' live runs against their replays.

    `tests` holds every sampled test (compared, or `reason` why not); `metrics` each metric over the
    compared ones with a paired test; `drifted` the comparisons past their drift gate; `views` the
    recorded answer beside the live one for each drifted test (the regression view's shape: `before`
    is the recorded answer, `now` the live one)."""

    sample: str
    gates: str
    gated: bool
    sampled: int
    compared: int
    skipped: list[tuple[str, str]]
    live_calls: int
    live_cost_usd: float | None
    tests: list[DriftTest]
    metrics: list[DriftMetric]
    drifted: list[MetricComparison]
    views: list[RegressionView] = field(default_factory=list)

    @property
    def drifted_tests(self) -> int:
        return sum(1 for t in self.tests if t.drifted)


@dataclass(slots=True)
class Report:
    meta: dict[str, Any]
    options: ReportOptions
    headline: Headline
    baseline: BaselineInfo
    verdict: Verdict
    regressions: list[MetricComparison]
    not_significant: list[MetricComparison]
    not_comparable: list[MetricComparison]
    new_tests: list[str]
    unused: list[str]
    missing_metrics: list[tuple[str, str]]
    failures: list[Failure]
    quality: list[MetricSummary]
    prompts: list[GroupSummary]
    models: list[GroupSummary]
    judge: JudgeSummary
    repeats: list[RepeatRow]
    flaky: list[str]
    tests: list[TestRow]
    distributions: dict[str, Histogram]
    next_steps: list[str]
    comparisons: list[Table] = field(default_factory=list)
    regressed_tests: list[RegressionView] = field(default_factory=list)
    recordings: Recordings = field(default_factory=Recordings)
    drift: DriftSection | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    # What `pytest-llmops merge` rebuilds a report from: every test's record (TestRecord) and the
    # settings the session applied (gates, alpha, A/B metrics). Not printed.
    settings: dict[str, Any] = field(default_factory=dict)
    records: list[Any] = field(default_factory=list)

    def json_fields(self) -> Iterator[tuple[str, Any]]:
        """(key, JSON value) in document order; the long lists come as iterators, converted row by row."""
        yield "format", FORMAT
        for name in _field_names(Report):
            value = getattr(self, name)
            if name == "tests":
                yield name, (row.to_dict() for row in value)
            elif name == "records":
                yield name, (record.to_report_dict() for record in value)
            elif name in _LONG_LISTS:
                yield name, (to_jsonable(item) for item in value)
            else:
                yield name, to_jsonable(value)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, Iterator) else v for k, v in self.json_fields()}


# -- JSON ----------------------------------------------------------------------------------------------

_LONG_LISTS = frozenset(
    {"regressions", "not_significant", "not_comparable", "failures", "repeats", "regressed_tests"}
)
_FIELDS: dict[type, tuple[str, ...]] = {}
_DERIVED: dict[type, tuple[str, ...]] = {
    CallFigures: ("cost_usd", "total_tokens"),
    Headline: ("ran",),
    RepeatRow: ("pass_at_k", "pass_all_k", "rule"),
    ModelPrices: ("change_usd", "change", "changed"),
    Recordings: (
        "changed_models",
        "deprecated_models",
        "unpriced_models",
        "change_usd",
        "change",
        "findings",
    ),
    DriftTest: ("status", "answer_changed"),
    DriftSection: ("drifted_tests",),
}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names


def to_jsonable(obj: Any) -> Any:
    """Plain JSON data: dataclasses to objects (with their derived figures), non-finite floats to None."""
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, MetricComparison | TestRow):
        return obj.to_dict()
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    cls = type(obj)
    if hasattr(cls, "__dataclass_fields__"):
        data = {n: to_jsonable(getattr(obj, n)) for n in _field_names(cls)}
        for name in _DERIVED.get(cls, ()):
            data[name] = to_jsonable(getattr(obj, name))
        return data
    return str(obj)
