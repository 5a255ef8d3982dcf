"""What an A/B comparison found: per-metric results, guard checks and the decision (see `comparisons`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pytest_llmops.results.gates import Gate
from pytest_llmops.results.report import numbers as fmt
from pytest_llmops.stats import Interval, Kind, TestName

__all__ = ["ABComparison", "Decision", "Design", "GuardCheck", "MetricResult", "Verdict", "format_p"]

Verdict = Literal["SHIP", "REVERT", "INCONCLUSIVE"]
Design = Literal["paired", "unpaired"]


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric, control against treatment. `p_value` is None when the metric could not be tested
    (`note` says why); lifts are treatment - control."""

    metric: str
    higher_is_better: bool
    kind: Kind
    paired: bool
    n_control: int
    n_treatment: int
    mean_control: float | None
    mean_treatment: float | None
    ci_control: Interval | None = None
    ci_treatment: Interval | None = None
    lift: float | None = None
    relative_lift: float | None = None
    lift_ci: Interval | None = None
    test: TestName | None = None
    method: str | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    needed_n: int | None = None
    note: str | None = None

    @property
    def direction(self) -> Literal["better", "worse", "same"] | None:
        if self.lift is None:
            return None
        if self.lift == 0:
            return "same"
        return "better" if (self.lift > 0) == self.higher_is_better else "worse"


@dataclass(frozen=True, slots=True)
class GuardCheck:
    """A guard metric's change from the control's mean; `blocks` stops a SHIP. `measured` is False when
    neither variant has the metric (the guard does not apply); `missing` names the variant that lacks it
    while the other has it, which blocks, since the change is unknown."""

    gate: Gate
    measured: bool
    control: float | None = None
    treatment: float | None = None
    exceeded: bool = False
    missing: str | None = None

    @property
    def metric(self) -> str:
        return self.gate.metric

    @property
    def blocks(self) -> bool:
        return self.exceeded or self.missing is not None

    @property
    def change(self) -> str:
        """The move from the control, in the gate's terms: relative ("+8%") or in the metric's unit."""
        if self.control is None or self.treatment is None:
            return "unknown"
        move = self.treatment - self.control
        if move == 0:
            return "±0"
        if self.gate.relative and self.control != 0:
            return fmt.signed_pct(move / abs(self.control))
        return fmt.delta(self.metric, move)

    @property
    def text(self) -> str:
        """E.g. "cost_usd +8% within +20%", "safety -0.1, no drop allowed", "safety ±0, no drop allowed",
        "cost_usd unknown for treatment"."""
        if not self.measured:
            return f"{self.metric} not measured"
        if self.missing is not None:
            return f"{self.metric} unknown for {self.missing}"
        if self.gate.amount == 0 and self.gate.direction is not None:
            allowed = "no rise allowed" if self.gate.direction == "up" else "no drop allowed"
            return f"{self.metric} {self.change}, {allowed}"
        limit = self.gate.text.split(":", 1)[1]
        return f"{self.metric} {self.change} {'exceeds' if self.exceeded else 'within'} {limit}"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str
    needed_n: int | None = None
    needed_n_unit: str | None = None


@dataclass(frozen=True, slots=True)
class ABComparison:
    """One treatment variant against the control of one base test."""

    test: str
    control: str
    treatment: str
    design: Design
    unit: Literal["cases", "runs"]
    alpha: float
    primary_metric: str
    metrics: tuple[MetricResult, ...]
    guards: tuple[GuardCheck, ...]
    decision: Decision
    n_control: int  # cases in both variants (paired), or runs (unpaired)
    n_treatment: int
    only_control: tuple[str, ...] = ()
    only_treatment: tuple[str, ...] = ()
    skipped: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def metric(self, name: str) -> MetricResult | None:
        return next((m for m in self.metrics if m.metric == name), None)


def format_p(p: float | None) -> str:
    """A p-value for reading: three decimals, "<0.001" below that."""
    if p is None:
        return "-"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}".rstrip("0").rstrip(".") if p < 1 else "1"
