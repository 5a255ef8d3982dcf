"""Drift: each canary test's live run (`--llm-live-sample`) against its replayed run, and each metric over
the sample.

A test's two runs are measured alike (`baseline.measure`) and compared metric by metric with the gates of
`--llm-fail-on-drift` (the `--llm-fail-on` syntax; unnamed metrics keep their defaults), the replayed
value in the place of the baseline: a live value past its gate has *drifted*. Latency is the exception
by default: a recording's latency was measured on another day and another network, so comparing it with
today's measures the machine more than the model; `latency_p95` is gated only when named.

Over the sample, each metric's live values are paired with the replayed ones and tested: a paired t-test
for scores, cost, tokens and latency, the exact McNemar test for pass_rate (0/1 per test).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pytest_llmops.results.baseline import MetricComparison, compare_metric, known, measure
from pytest_llmops.results.gates import BUILTIN_METRICS, Gate, GateSet
from pytest_llmops.results.records import AnswerRecord, TestRecord
from pytest_llmops.spend.calls import LLMCall

__all__ = [
    "DRIFTED",
    "DriftMetric",
    "DriftTest",
    "compare_test",
    "drift_gate",
    "metric_drift",
]

DRIFTED = "regressed"
"""The comparison status of a metric past its drift gate (printed as "drifted")."""

_LATENCY_OFF = Gate("latency_p95", None, default=True)


def drift_gate(gates: GateSet, metric: str, higher_is_better: bool) -> Gate:
    """The gate of `metric` for drift: the named one, else the baseline default (latency: off)."""
    for gate in gates.named:
        if gate.metric == metric:
            return gate
    if metric == "latency_p95":
        return _LATENCY_OFF
    return gates.for_metric(metric, higher_is_better)


@dataclass(slots=True)
class DriftTest:
    """One sampled test: its live run beside its replayed run, or why it has no live run."""

    nodeid: str
    ran: bool
    reason: str | None = None
    comparisons: dict[str, MetricComparison] = field(default_factory=dict)
    replayed_outcome: str = "passed"
    live_outcome: str | None = None
    live_message: str | None = None
    recorded: AnswerRecord | None = None
    live: AnswerRecord | None = None
    recorded_models: list[str] = field(default_factory=list)
    live_models: list[str] = field(default_factory=list)
    live_calls: int = 0
    live_cost_usd: float | None = None
    """What the live run cost (app and judge calls); None when a call had no known price."""

    __test__ = False

    @property
    def drifted(self) -> list[MetricComparison]:
        return [c for c in self.comparisons.values() if c.status == DRIFTED]

    @property
    def answer_changed(self) -> bool | None:
        if self.recorded is None or self.live is None:
            return None
        return self.recorded.sha256 != self.live.sha256

    @property
    def status(self) -> str:
        if not self.ran:
            return "not run live"
        if self.drifted:
            return "drifted"
        if any(
            c.status in ("better", "worse") and not c.gate.endswith(":off") for c in self.comparisons.values()
        ):
            return "moved"  # within its gate; an ungated metric (latency by default) moving is not news
        return "same"


@dataclass(slots=True)
class DriftMetric:
    """One metric over the sampled tests that have it in both runs."""

    name: str
    higher_is_better: bool
    tests: int
    replayed: float
    live: float
    delta: float
    test: str | None = None  # the paired test that gave `p_value`
    p_value: float | None = None
    drifted: int = 0


def _models(calls: Iterable[LLMCall]) -> list[str]:
    return sorted({c.model or c.request_model or "?" for c in calls if c.role == "app"})


def _cost(calls: Sequence[LLMCall]) -> float | None:
    costs = [known(c, "cost_usd") for c in calls]
    if any(c is None for c in costs):
        return None
    return math.fsum(c for c in costs if c is not None)


def compare_test(record: TestRecord, gates: GateSet, alpha: float) -> DriftTest | None:
    """The drift of one test; None when it was not in the sample."""
    canary = record.canary
    if canary is None:
        return None
    result = DriftTest(record.nodeid, canary.ran, canary.reason, replayed_outcome=record.outcome)
    result.recorded, result.recorded_models = record.answer, _models(record.calls)
    live = canary.record
    if live is None:
        return result
    result.live_outcome, result.live_message = live.outcome, live.message
    result.live, result.live_models = live.answer, _models(live.calls)
    result.live_calls = len(live.calls)
    result.live_cost_usd = _cost(live.calls)
    if not canary.ran:
        return result
    replayed, now = measure(record), measure(live)
    for name in sorted(set(replayed) & set(now)):
        base, current = replayed[name], now[name]
        gate = drift_gate(gates, name, current.higher_is_better)
        result.comparisons[name] = compare_metric(record.nodeid, name, base, current, gate, alpha)
    return result


def _paired(name: str, replayed: list[float], live: list[float]) -> tuple[str | None, float | None]:
    if len(replayed) < 2:
        return None, None
    if replayed == live:
        return "no difference", 1.0
    from pytest_llmops.stats import mcnemar_exact, paired_t_test

    try:
        if name == "pass_rate" and all(v in (0.0, 1.0) for v in (*replayed, *live)):
            return "McNemar exact", mcnemar_exact(live, replayed).p_value
        return "paired t-test", paired_t_test(live, replayed).p_value
    except ValueError:
        return None, None


def metric_drift(tests: Sequence[DriftTest]) -> list[DriftMetric]:
    """Each metric over the tests compared in both runs, with a two-sided paired test of live against
    replayed (None below two pairs; 1.0 when every pair is equal)."""
    pairs: dict[str, tuple[list[float], list[float]]] = {}
    hib: dict[str, bool] = {}
    drifted: dict[str, int] = {}
    for test in tests:
        for name, c in test.comparisons.items():
            if c.status == "not comparable":
                continue
            base, now = pairs.setdefault(name, ([], []))
            base.append(c.baseline)
            now.append(c.current)
            hib[name] = c.higher_is_better
            drifted[name] = drifted.get(name, 0) + (c.status == DRIFTED)
    names = sorted(n for n in pairs if n not in BUILTIN_METRICS) + [n for n in BUILTIN_METRICS if n in pairs]
    out: list[DriftMetric] = []
    for name in names:
        base, now = pairs[name]
        replayed, live = math.fsum(base) / len(base), math.fsum(now) / len(now)
        method, p = _paired(name, base, now)
        out.append(
            DriftMetric(name, hib[name], len(base), replayed, live, live - replayed, method, p, drifted[name])
        )
    return out
