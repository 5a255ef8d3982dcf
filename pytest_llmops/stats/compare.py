"""Comparisons the plugin reports: A/B of two variants and "did it get worse?"
against a baseline with repeats.

`compare_samples(a, b)` treats `a` as the control (A) and `b` as the
candidate (B): the lift is mean(b) - mean(a), and the test is run on b
against a so its statistic and effect size share the lift's sign.

Default tests (the `test` parameter overrides):

=============  ===========  ==========================================
kind           paired       test
=============  ===========  ==========================================
continuous     yes          Wilcoxon signed-rank ("paired-t" available)
continuous     no           Welch t ("mann-whitney" available)
binary         no           Fisher exact
binary         yes          McNemar exact (pairing matters: Fisher's
                            test would treat the pairs as independent)
=============  ===========  ==========================================

`needed_n` is the sample size (per arm, or pairs) that would detect the
observed effect with the given power at `alpha`, from the normal-
approximation formulas in `power`; for the rank tests it is the t-test
figure, which a rank test may exceed by up to 1/0.864 ≈ 16% (about 5% for
normal data, and rank tests need fewer with heavy tails: Hodges & Lehmann
1956).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pytest_llmops.stats._inputs import (
    NanPolicy,
    binary,
    check_nan_policy,
    check_probability,
    pairs,
    sample,
)
from pytest_llmops.stats.descriptive import _mean, _variance
from pytest_llmops.stats.independent import fisher_exact, mann_whitney_u, welch_t_test
from pytest_llmops.stats.intervals import (
    Interval,
    bounded_mean_interval,
    mean_difference_interval,
    mean_interval,
    proportion_difference_interval,
    wilson_interval,
)
from pytest_llmops.stats.paired import mcnemar_exact, paired_t_test, wilcoxon_signed_rank
from pytest_llmops.stats.power import (
    sample_size_mcnemar,
    sample_size_paired_means,
    sample_size_two_means,
    sample_size_two_proportions,
)
from pytest_llmops.stats.significance import SignificanceResult

__all__ = ["Comparison", "DropResult", "Kind", "TestName", "compare_samples", "significant_drop"]

Kind = Literal["continuous", "binary"]
TestName = Literal["wilcoxon", "paired-t", "welch", "mann-whitney", "fisher", "mcnemar"]

_ALLOWED: dict[tuple[Kind, bool], tuple[TestName, ...]] = {
    ("continuous", True): ("wilcoxon", "paired-t"),
    ("continuous", False): ("welch", "mann-whitney"),
    ("binary", False): ("fisher",),
    ("binary", True): ("mcnemar",),
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """A (control) against B (candidate). Lifts are B - A; `relative_lift` is
    (B - A) / |A|, None when mean A is 0."""

    kind: Kind
    paired: bool
    alpha: float
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    ci_a: Interval
    ci_b: Interval
    lift: float
    relative_lift: float | None
    lift_ci: Interval
    test: SignificanceResult
    needed_n: int | None
    needed_n_unit: Literal["per arm", "pairs"]
    power: float

    @property
    def p_value(self) -> float:
        return self.test.p_value

    @property
    def significant(self) -> bool:
        return self.test.p_value < self.alpha


def _default_test(kind: Kind, paired: bool, test: TestName | None) -> TestName:
    allowed = _ALLOWED[(kind, paired)]
    if test is None:
        return allowed[0]
    if test not in allowed:
        design = f"{'paired' if paired else 'unpaired'} {kind}"
        raise ValueError(f"test={test!r} does not fit a {design} comparison; choose one of {allowed}")
    return test


def compare_samples(
    a: Iterable[float],
    b: Iterable[float],
    *,
    paired: bool,
    kind: Kind = "continuous",
    alpha: float = 0.05,
    test: TestName | None = None,
    power: float = 0.8,
    nan_policy: NanPolicy = "raise",
    scale: tuple[float, float] | None = None,
) -> Comparison:
    """Compare control `a` with candidate `b`: means with (1 - alpha) CIs, the
    lift with its CI, a two-sided test, and the sample size needed to detect
    the observed lift. Continuous data need >= 2 values per side.

    `scale=(low, high)` (high may be inf): the values continuous data can take;
    the means' intervals then stay on it (`bounded_mean_interval`) and the
    lift's within ±(high - low)."""
    check_probability(alpha, "alpha")
    check_probability(power, "power")
    check_nan_policy(nan_policy)
    if kind not in ("continuous", "binary"):
        raise ValueError(f"kind must be 'continuous' or 'binary', got {kind!r}")
    chosen = _default_test(kind, paired, test)
    confidence = 1.0 - alpha
    if paired:
        xs, ys = pairs(a, b, nan_policy=nan_policy, min_n=2 if kind == "continuous" else 1)
    else:
        min_n = 2 if kind == "continuous" else 1
        xs = sample(a, "a", nan_policy=nan_policy, min_n=min_n)
        ys = sample(b, "b", nan_policy=nan_policy, min_n=min_n)
    mean_a, mean_b = _mean(xs), _mean(ys)
    lift = mean_b - mean_a
    relative = lift / abs(mean_a) if mean_a != 0 else None
    unit: Literal["per arm", "pairs"] = "pairs" if paired else "per arm"

    if kind == "binary":
        ia, ib = binary(xs, "a"), binary(ys, "b")
        sa, sb = sum(ia), sum(ib)
        ci_a, ci_b = wilson_interval(sa, len(ia), confidence), wilson_interval(sb, len(ib), confidence)
        if paired:
            result = mcnemar_exact(ib, ia)
            n10 = sum(1 for x, y in zip(ia, ib, strict=True) if y == 1 and x == 0) / len(ia)
            n01 = sum(1 for x, y in zip(ia, ib, strict=True) if y == 0 and x == 1) / len(ia)
            needed = sample_size_mcnemar(n10, n01, alpha=alpha, power=power)
            lift_ci = _paired_proportion_lift_interval(ia, ib, confidence)
        else:
            result = fisher_exact([[sb, len(ib) - sb], [sa, len(ia) - sa]])
            needed = sample_size_two_proportions(mean_a, mean_b, alpha=alpha, power=power)
            lift_ci = proportion_difference_interval(sb, len(ib), sa, len(ia), confidence)
    else:
        if scale is None:
            ci_a, ci_b = mean_interval(xs, confidence), mean_interval(ys, confidence)
        else:
            ci_a = bounded_mean_interval(xs, scale[0], scale[1], confidence)
            ci_b = bounded_mean_interval(ys, scale[0], scale[1], confidence)
        lift_ci = mean_difference_interval(ys, xs, paired=paired, confidence=confidence)
        if scale is not None and math.isfinite(scale[1] - scale[0]):
            span = scale[1] - scale[0]
            lift_ci = Interval(
                lift_ci.estimate, max(-span, lift_ci.low), min(span, lift_ci.high), confidence, lift_ci.method
            )
        if paired:
            result = wilcoxon_signed_rank(ys, xs) if chosen == "wilcoxon" else paired_t_test(ys, xs)
            d = [y - x for x, y in zip(xs, ys, strict=True)]
            needed = sample_size_paired_means(lift, math.sqrt(_variance(d)), alpha=alpha, power=power)
        else:
            result = welch_t_test(ys, xs) if chosen == "welch" else mann_whitney_u(ys, xs)
            sd_a, sd_b = math.sqrt(_variance(xs)), math.sqrt(_variance(ys))
            needed = sample_size_two_means(lift, sd_a, sd_b, alpha=alpha, power=power)

    return Comparison(
        kind=kind,
        paired=paired,
        alpha=alpha,
        n_a=len(xs),
        n_b=len(ys),
        mean_a=mean_a,
        mean_b=mean_b,
        ci_a=ci_a,
        ci_b=ci_b,
        lift=lift,
        relative_lift=relative,
        lift_ci=lift_ci,
        test=result,
        needed_n=needed,
        needed_n_unit=unit,
        power=power,
    )


def _paired_proportion_lift_interval(ia: list[int], ib: list[int], confidence: float) -> Interval:
    """Interval for p_b - p_a from paired 0/1 data: the paired-t interval on the
    per-example differences (Wald-type; degenerate when all pairs agree)."""
    d = [y - x for x, y in zip(ia, ib, strict=True)]
    estimate = _mean(d)
    if len(d) < 2 or _variance(d) == 0.0:
        return Interval(estimate, estimate, estimate, confidence, "paired t (degenerate)")
    interval = mean_interval(d, confidence)
    return Interval(estimate, max(-1.0, interval.low), min(1.0, interval.high), confidence, "paired t")


@dataclass(frozen=True, slots=True)
class DropResult:
    """Whether `current` is significantly below `baseline` (one-sided Welch).

    `drop` is mean(baseline) - mean(current): positive when scores fell."""

    baseline_mean: float
    current_mean: float
    drop: float
    p_value: float
    significant: bool
    alpha: float
    margin: float
    test: SignificanceResult


def significant_drop(
    baseline_values: Iterable[float],
    current_values: Iterable[float],
    alpha: float = 0.05,
    *,
    margin: float = 0.0,
    nan_policy: NanPolicy = "raise",
) -> DropResult:
    """One-sided Welch test of H1: mean(current) < mean(baseline) - margin.

    Use it on repeated runs of the same test: each side needs at least two
    values (run with repeats), since the spread decides what is noise. A
    `margin` > 0 only flags drops larger than the margin (a tolerance).
    """
    check_probability(alpha, "alpha")
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not 0 <= margin < math.inf:
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    base = sample(baseline_values, "baseline_values", nan_policy=nan_policy, min_n=2)
    current = sample(current_values, "current_values", nan_policy=nan_policy, min_n=2)
    result = welch_t_test([x + margin for x in current], base, alternative="less")
    base_mean, current_mean = _mean(base), _mean(current)
    return DropResult(
        baseline_mean=base_mean,
        current_mean=current_mean,
        drop=base_mean - current_mean,
        p_value=result.p_value,
        significant=result.p_value < alpha,
        alpha=alpha,
        margin=float(margin),
        test=result,
    )
