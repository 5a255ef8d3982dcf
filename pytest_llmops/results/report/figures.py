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
        if not 200 <= call.status < 300:
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
        elif call.ok:
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


def _t975(df: int) -> float:
    """The 0.975 quantile of Student's t."""
    from pytest_llmops.stats import t_ppf

    return t_ppf(0.975, df)


def mean_ci(name: str, values: Sequence[float]) -> Bounds | None:
    """Student t 95% interval of the mean, clipped to the values the metric can take: [0, 1] for pass_rate
    and for scores that all lie in [0, 1], >= 0 for cost, tokens and latency. None below two values."""
    n = len(values)
    if n < 2:
        return None
    # stats.mean_interval, minus its input checks: these values are finite by construction, and a
    # session can have 10,000 of them per metric.
    mean = math.fsum(values) / n
    variance = math.fsum((x - mean) * (x - mean) for x in values) / (n - 1)
    half = _t975(n - 1) * math.sqrt(variance / n)
    low, high = mean - half, mean + half
    lowest, highest = min(values), max(values)
    if name in NON_NEGATIVE or lowest >= 0:
        low = max(0.0, low)
    if name == "pass_rate" or (name not in NON_NEGATIVE and lowest >= 0 and highest <= 1):
        high = min(1.0, high)
    return Bounds(low, high)


def wilson_ci(successes: int, n: int) -> Bounds:
    from pytest_llmops.stats import wilson_interval

    interval = wilson_interval(successes, n)
    return Bounds(interval.low, interval.high)
