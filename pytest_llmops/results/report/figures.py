"""Number crunching for the report: what a set of calls used and cost, histograms, confidence intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from pytest_llmops.spend.calls import LLMCall

__all__ = [
    "NON_NEGATIVE",
    "UNKNOWN_MODEL",
    "Bounds",
    "CallFigures",
    "Histogram",
    "call_figures",
    "histogram",
    "mean_ci",
    "metric_scale",
    "model_of",
    "quantile",
    "wilson_ci",
]

UNKNOWN_MODEL = "(unknown model)"
NON_NEGATIVE = frozenset({"cost_usd", "input_tokens", "output_tokens", "latency_p95"})


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (Hyndman & Fan type 7, numpy's default)."""
    h = (len(sorted_values) - 1) * q
    lo = math.floor(h)
    if lo >= len(sorted_values) - 1:
        return sorted_values[-1]
    return sorted_values[lo] + (sorted_values[lo + 1] - sorted_values[lo]) * (h - lo)


def model_of(call: LLMCall) -> str:
    return call.model or call.request_model or UNKNOWN_MODEL


@dataclass(slots=True)
class Bounds:
    """A 95% confidence interval."""

    low: float
    high: float


@dataclass(slots=True)
class CallFigures:
    """What a set of calls used and cost. Costs are split by source: live calls were paid for in this run;
    replayed ones cost that much when they were recorded. Unpriced calls (usage but no known price) are
    counted apart, never as $0."""

    calls: int = 0
    live_calls: int = 0
    replayed_calls: int = 0
    error_calls: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    estimated_calls: int = 0
    calls_without_usage: int = 0  # successful calls whose recording has no usage: tokens and cost unknown
    live_cost_usd: float = 0.0
    replayed_cost_usd: float = 0.0
    unpriced_calls: int = 0
    unpriced_models: list[str] = field(default_factory=list)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_mean_ms: float | None = None

    @property
    def cost_usd(self) -> float:
        return self.live_cost_usd + self.replayed_cost_usd

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def call_figures(calls: Sequence[LLMCall]) -> CallFigures:
    out = CallFigures(calls=len(calls))
    live_costs: list[float] = []
    replayed_costs: list[float] = []
    latencies: list[float] = []
    unpriced: set[str] = set()
    for call in calls:
        live = call.source == "live"
        if live:
            out.live_calls += 1
        if call.failed:
            out.error_calls += 1
        out.input_tokens += call.input_tokens or 0
        out.cached_input_tokens += call.cached_input_tokens or 0
        out.output_tokens += call.output_tokens or 0
        out.reasoning_tokens += call.reasoning_tokens or 0
        if call.estimated:
            out.estimated_calls += 1
        cost = call.cost_usd
        if cost is not None and math.isfinite(cost):
            (live_costs if live else replayed_costs).append(cost)
        elif call.input_tokens is not None or call.output_tokens is not None:
            out.unpriced_calls += 1
            unpriced.add(model_of(call))
        elif not call.failed:
            out.calls_without_usage += 1
        latency = call.latency_ms
        if latency is not None and math.isfinite(latency):
            latencies.append(latency)
    out.replayed_calls = out.calls - out.live_calls
    out.live_cost_usd = math.fsum(live_costs)
    out.replayed_cost_usd = math.fsum(replayed_costs)
    out.unpriced_models = sorted(unpriced)
    if latencies:
        latencies.sort()
        out.latency_p50_ms = quantile(latencies, 0.50)
        out.latency_p95_ms = quantile(latencies, 0.95)
        out.latency_p99_ms = quantile(latencies, 0.99)
        out.latency_mean_ms = math.fsum(latencies) / len(latencies)
    return out


@dataclass(slots=True)
class Histogram:
    edges: list[float]
    counts: list[int]
    unit: str  # "score" or "ms"


def _nice_step(span: float, bins: int) -> float:
    raw = span / bins if span > 0 else 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if power * factor >= raw:
            return power * factor
    return power * 10


def histogram(values: Sequence[float], unit: str, bins: int = 10) -> Histogram | None:
    """Equal-width bins on round edges; [0, 1] in tenths when every value of a score lies there."""
    if not values:
        return None
    lo, hi = min(values), max(values)
    if unit == "score" and lo >= 0 and hi <= 1:
        start, step = 0.0, 0.1
    else:
        start = 0.0 if lo >= 0 and unit == "ms" else lo
        step = _nice_step(hi - start, bins)
        start = math.floor(start / step) * step
        bins = max(1, min(bins + 1, math.ceil((hi - start) / step + 1e-9)))
        if start + bins * step <= hi:
            bins += 1
    counts = [0] * bins
    for x in values:
        index = int((x - start) / step + 1e-9)
        counts[min(bins - 1, max(0, index))] += 1
    edges = [round(start + i * step, 12) for i in range(bins + 1)]
    return Histogram(edges, counts, unit)


def metric_scale(
    name: str, values: Sequence[float], scale: tuple[float, float] | None
) -> tuple[float, float]:
    """The values a metric can take: its own `scale` when it says (every check does: relevance 1-5,
    the others 0-1), [0, 1] for pass_rate, >= 0 for cost, tokens and latency; for a metric that does
    not say, [0, 1] when all its values lie there, else >= 0 when none is negative, else unbounded."""
    if scale is not None and all(scale[0] <= x <= scale[1] for x in values):
        return scale
    if name == "pass_rate":
        return (0.0, 1.0)
    if name in NON_NEGATIVE:
        return (0.0, math.inf)
    lowest, highest = min(values), max(values)
    if lowest >= 0:
        return (0.0, 1.0) if highest <= 1 else (0.0, math.inf)
    return (-math.inf, math.inf)


def mean_ci(name: str, values: Sequence[float], scale: tuple[float, float] | None = None) -> Bounds | None:
    """95% interval of the mean that stays on the metric's scale (`metric_scale`): Wilson for 0/1 values,
    a logit t interval for bounded scores, the t interval cut at 0 for cost, tokens and latency
    (`stats.bounded_mean_interval`). None below two values."""
    n = len(values)
    if n < 2:
        return None
    from pytest_llmops.stats import bounded_mean_interval, mean_interval

    low, high = metric_scale(name, values, scale)
    interval = mean_interval(values) if math.isinf(low) else bounded_mean_interval(values, low, high)
    return Bounds(interval.low, interval.high)


def wilson_ci(successes: int, n: int) -> Bounds:
    from pytest_llmops.stats import wilson_interval

    interval = wilson_interval(successes, n)
    return Bounds(interval.low, interval.high)
