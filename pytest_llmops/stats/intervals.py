"""Confidence intervals.

- `wilson_interval`: the Wilson (1927) score interval for a proportion,
  optionally with continuity correction; Newcombe (1998a), "Two-sided
  confidence intervals for the single proportion", methods 3 and 4.
- `proportion_difference_interval`: Newcombe (1998b), "Interval estimation
  for the difference between independent proportions", method 10 (hybrid
  score interval built from the two Wilson intervals).
- `mean_interval`: Student t interval for a mean.
- `bounded_mean_interval`: an interval for the mean of a metric on a scale
  [low, high] that never leaves it: Wilson when every value is at one end of
  the scale (0/1 data), else the t interval on the logit of the rescaled mean
  (delta method), mapped back. With no upper bound, the t interval cut at `low`.
- `mean_difference_interval`: Welch (unpaired) or paired t interval for
  mean(a) - mean(b).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_llmops.stats._inputs import NanPolicy, check_probability, count, pairs, sample
from pytest_llmops.stats.descriptive import _mean, _variance
from pytest_llmops.stats.distributions import normal_ppf, t_ppf

__all__ = [
    "Interval",
    "bounded_mean_interval",
    "mean_difference_interval",
    "mean_interval",
    "proportion_difference_interval",
    "wilson_interval",
]


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with its two-sided confidence interval [low, high]."""

    estimate: float
    low: float
    high: float
    confidence: float
    method: str

    @property
    def width(self) -> float:
        return self.high - self.low

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def _z(confidence: float) -> float:
    return normal_ppf(0.5 + check_probability(confidence, "confidence") / 2.0)


def _check_trials(successes: int, n: int, names: tuple[str, str] = ("successes", "n")) -> tuple[int, int]:
    x, total = count(successes, names[0]), count(n, names[1])
    if total == 0:
        raise ValueError(f"{names[1]} must be at least 1 to estimate a proportion")
    if x > total:
        raise ValueError(f"{names[0]} ({x}) cannot exceed {names[1]} ({total})")
    return x, total


def _wilson_bounds(x: int, n: int, z: float, continuity_correction: bool) -> tuple[float, float]:
    p = x / n
    q = 1.0 - p
    z2 = z * z
    if not continuity_correction:
        centre = (x + z2 / 2.0) / (n + z2)
        half = z * math.sqrt(n) / (n + z2) * math.sqrt(p * q + z2 / (4.0 * n))
        # At 0/n and n/n the bound is exactly 0 (or 1); say so rather than leave rounding.
        return (0.0 if x == 0 else max(0.0, centre - half)), (1.0 if x == n else min(1.0, centre + half))
    denominator = 2.0 * (n + z2)
    low = 0.0
    if x > 0:
        root = math.sqrt(max(0.0, z2 - 2.0 - 1.0 / n + 4.0 * p * (n * q + 1.0)))
        low = max(0.0, (2.0 * n * p + z2 - 1.0 - z * root) / denominator)
    high = 1.0
    if x < n:
        root = math.sqrt(max(0.0, z2 + 2.0 - 1.0 / n + 4.0 * p * (n * q - 1.0)))
        high = min(1.0, (2.0 * n * p + z2 + 1.0 + z * root) / denominator)
    return low, high


def wilson_interval(
    successes: int, n: int, confidence: float = 0.95, *, continuity_correction: bool = False
) -> Interval:
    """Wilson score interval for successes/n; never leaves [0, 1], sensible at 0/n and n/n."""
    x, total = _check_trials(successes, n)
    low, high = _wilson_bounds(x, total, _z(confidence), continuity_correction)
    method = "Wilson score" + (" with continuity correction" if continuity_correction else "")
    return Interval(x / total, low, high, confidence, method)


def proportion_difference_interval(
    successes_a: int, n_a: int, successes_b: int, n_b: int, confidence: float = 0.95
) -> Interval:
    """Newcombe's hybrid score interval for p_a - p_b (independent samples)."""
    xa, na = _check_trials(successes_a, n_a, ("successes_a", "n_a"))
    xb, nb = _check_trials(successes_b, n_b, ("successes_b", "n_b"))
    z = _z(confidence)
    pa, pb = xa / na, xb / nb
    la, ua = _wilson_bounds(xa, na, z, False)
    lb, ub = _wilson_bounds(xb, nb, z, False)
    diff = pa - pb
    low = diff - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    high = diff + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    return Interval(diff, max(-1.0, low), min(1.0, high), confidence, "Newcombe hybrid score")


def mean_interval(
    values: Iterable[float], confidence: float = 0.95, *, nan_policy: NanPolicy = "raise"
) -> Interval:
    """t interval mean ± t(1-α/2, n-1)·s/√n; needs at least 2 values."""
    check_probability(confidence, "confidence")
    xs = sample(values, "values", nan_policy=nan_policy, min_n=2)
    m = _mean(xs)
    half = t_ppf(0.5 + confidence / 2.0, len(xs) - 1) * math.sqrt(_variance(xs) / len(xs))
    return Interval(m, m - half, m + half, confidence, "Student t")


def bounded_mean_interval(
    values: Iterable[float],
    low: float,
    high: float = math.inf,
    confidence: float = 0.95,
    *,
    nan_policy: NanPolicy = "raise",
) -> Interval:
    """Interval for the mean of values on the scale [low, high], inside it; needs at least 2 values.

    Both ends finite: the values are rescaled to [0, 1]. When each is 0 or 1 (a rate: pass/fail, or
    every score at an end of its scale) this is the Wilson score interval. Otherwise the Student t
    interval is built on the logit of the mean, with the delta-method standard error
    se / (m (1 - m)), and mapped back: it narrows towards the end of the scale the mean is near, as the
    values' room to vary does. Only `low` finite (cost, tokens, latency): the t interval, cut at `low`.
    A value outside the scale is a ValueError.
    """
    check_probability(confidence, "confidence")
    if not math.isfinite(low) or math.isnan(high) or high <= low:
        raise ValueError(f"the scale [{low}, {high}] needs a finite low below high")
    xs = sample(values, "values", nan_policy=nan_policy, min_n=2)
    outside = [x for x in xs if not low <= x <= high]
    if outside:
        raise ValueError(f"value {outside[0]!r} is outside the scale [{low:g}, {high:g}]")
    if math.isinf(high):
        t = mean_interval(xs, confidence)
        return Interval(t.estimate, max(low, t.low), t.high, confidence, f"Student t, cut at {low:g}")
    span = high - low
    us = [(x - low) / span for x in xs]
    n = len(us)
    m = _mean(us)
    if all(u in (0.0, 1.0) for u in us):
        w = wilson_interval(int(sum(us)), n, confidence)
        return Interval(low + m * span, low + w.low * span, low + w.high * span, confidence, "Wilson score")
    se = math.sqrt(_variance(us) / n) / (m * (1.0 - m))
    centre = math.log(m / (1.0 - m))
    half = t_ppf(0.5 + confidence / 2.0, n - 1) * se
    lo_u, hi_u = _expit(centre - half), _expit(centre + half)
    return Interval(low + m * span, low + lo_u * span, low + hi_u * span, confidence, "logit t")


def _expit(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def mean_difference_interval(
    a: Iterable[float],
    b: Iterable[float],
    *,
    paired: bool,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> Interval:
    """t interval for mean(a) - mean(b): paired t, or Welch with Satterthwaite df."""
    check_probability(confidence, "confidence")
    if paired:
        xs, ys = pairs(a, b, nan_policy=nan_policy, min_n=2)
        interval = mean_interval([x - y for x, y in zip(xs, ys, strict=True)], confidence)
        return Interval(interval.estimate, interval.low, interval.high, confidence, "paired t")
    xs = sample(a, "a", nan_policy=nan_policy, min_n=2)
    ys = sample(b, "b", nan_policy=nan_policy, min_n=2)
    diff = _mean(xs) - _mean(ys)
    ea, eb = _variance(xs) / len(xs), _variance(ys) / len(ys)
    if ea + eb == 0.0:
        return Interval(diff, diff, diff, confidence, "Welch t")
    df = (ea + eb) ** 2 / (ea * ea / (len(xs) - 1) + eb * eb / (len(ys) - 1))
    half = t_ppf(0.5 + confidence / 2.0, df) * math.sqrt(ea + eb)
    return Interval(diff, diff - half, diff + half, confidence, "Welch t")
