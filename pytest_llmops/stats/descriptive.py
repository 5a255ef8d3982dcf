"""Descriptive statistics for repeated measurements (scores, latencies, costs).

Sums use `math.fsum`; the variance is the corrected two-pass formula
(Chan, Golub & LeVeque 1983), so large offsets do not cost precision.
Quantiles use linear interpolation between order statistics, Hyndman & Fan
(1996) definition 7: numpy's default `method="linear"` and R's `type=7`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pytest_llmops.stats._inputs import NanPolicy, sample

__all__ = [
    "Percentiles",
    "Summary",
    "mean",
    "percentile",
    "percentiles",
    "quantile",
    "standard_error",
    "stdev",
    "summarize",
    "variance",
]


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


def _variance(xs: Sequence[float]) -> float:
    m = _mean(xs)
    deviations = [x - m for x in xs]
    correction = math.fsum(deviations)
    squares = math.fsum(d * d for d in deviations)
    return max(0.0, (squares - correction * correction / len(xs)) / (len(xs) - 1))


def mean(values: Iterable[float], *, nan_policy: NanPolicy = "raise") -> float:
    """The arithmetic mean."""
    return _mean(sample(values, "values", nan_policy=nan_policy))


def variance(values: Iterable[float], *, nan_policy: NanPolicy = "raise") -> float:
    """The sample variance (denominator n - 1); needs at least 2 values."""
    return _variance(sample(values, "values", nan_policy=nan_policy, min_n=2))


def stdev(values: Iterable[float], *, nan_policy: NanPolicy = "raise") -> float:
    """The sample standard deviation (denominator n - 1); needs at least 2 values."""
    return math.sqrt(variance(values, nan_policy=nan_policy))


def standard_error(values: Iterable[float], *, nan_policy: NanPolicy = "raise") -> float:
    """The standard error of the mean, s / sqrt(n); needs at least 2 values."""
    xs = sample(values, "values", nan_policy=nan_policy, min_n=2)
    return math.sqrt(_variance(xs) / len(xs))


def _quantile_sorted(xs: list[float], q: float) -> float:
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    if lo >= len(xs) - 1:
        return xs[-1]
    frac = h - lo
    a, b = xs[lo], xs[lo + 1]
    # Interpolate from the nearer end so q=1 and equal neighbours are exact.
    return a + (b - a) * frac if frac < 0.5 else b - (b - a) * (1.0 - frac)


def _check_q(q: float, upper: float, name: str) -> float:
    if isinstance(q, bool) or not isinstance(q, int | float) or math.isnan(q) or not 0 <= q <= upper:
        raise ValueError(f"{name} must be a number in [0, {upper:g}], got {q!r}")
    return float(q)


def quantile(values: Iterable[float], q: float, *, nan_policy: NanPolicy = "raise") -> float:
    """The q-quantile (0 <= q <= 1), Hyndman & Fan type 7 (numpy's default)."""
    q = _check_q(q, 1.0, "q")
    return _quantile_sorted(sorted(sample(values, "values", nan_policy=nan_policy)), q)


def percentile(values: Iterable[float], p: float, *, nan_policy: NanPolicy = "raise") -> float:
    """The p-th percentile (0 <= p <= 100), type 7 like `numpy.percentile`."""
    p = _check_q(p, 100.0, "p")
    return _quantile_sorted(sorted(sample(values, "values", nan_policy=nan_policy)), p / 100.0)


@dataclass(frozen=True, slots=True)
class Percentiles:
    p50: float
    p95: float
    p99: float


def percentiles(values: Iterable[float], *, nan_policy: NanPolicy = "raise") -> Percentiles:
    """p50, p95 and p99 (type 7), the usual latency summary."""
    xs = sorted(sample(values, "values", nan_policy=nan_policy))
    return Percentiles(_quantile_sorted(xs, 0.50), _quantile_sorted(xs, 0.95), _quantile_sorted(xs, 0.99))


@dataclass(frozen=True, slots=True)
class Summary:
    """A sample at a glance; `stdev` and `sem` are None for a single value."""

    n: int
    mean: float
    stdev: float | None
    sem: float | None
    min: float
    max: float
    p50: float
    p95: float
    p99: float


def summarize(values: Iterable[float], *, nan_policy: NanPolicy = "raise") -> Summary:
    xs = sorted(sample(values, "values", nan_policy=nan_policy))
    sd = math.sqrt(_variance(xs)) if len(xs) > 1 else None
    return Summary(
        n=len(xs),
        mean=_mean(xs),
        stdev=sd,
        sem=None if sd is None else sd / math.sqrt(len(xs)),
        min=xs[0],
        max=xs[-1],
        p50=_quantile_sorted(xs, 0.50),
        p95=_quantile_sorted(xs, 0.95),
        p99=_quantile_sorted(xs, 0.99),
    )
