"""Tests for paired designs: the same examples scored under two variants.

- `paired_t_test`: Student (1908) paired t on the differences a - b.
- `wilcoxon_signed_rank`: Wilcoxon (1945). Defaults match scipy's (checked
  against scipy 1.17):
  zeros are dropped ("wilcox", Wilcoxon's own rule; "pratt" and "zsplit" are
  available), no continuity correction, and `method="auto"` uses the exact
  null distribution when n <= 50 with no ties or zeros, the exact
  permutation (conditional) distribution when n <= 13 with ties or zeros, and
  the normal approximation with tie correction (and Cureton's 1967 zero
  correction for "pratt") otherwise. `method="exact"` always enumerates the
  conditional distribution, so ties never make it approximate.
- `mcnemar_exact`: McNemar (1947) for paired 0/1 outcomes, exact binomial
  test on the discordant pairs (scipy's `binomtest(n10, n10 + n01, 0.5)`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Literal

from pytest_llmops.stats._inputs import (
    Alternative,
    NanPolicy,
    binary,
    check_alternative,
    pairs,
    sample,
)
from pytest_llmops.stats.descriptive import _mean, _variance
from pytest_llmops.stats.distributions import regularized_incomplete_beta
from pytest_llmops.stats.ranks import rank_with_ties, signed_rank_counts, subset_sum_counts
from pytest_llmops.stats.significance import (
    SignificanceResult,
    clip_p,
    p_degenerate,
    p_from_counts,
    p_from_normal,
    p_from_t,
)

__all__ = ["mcnemar_exact", "paired_t_test", "wilcoxon_signed_rank"]

ZeroMethod = Literal["wilcox", "pratt", "zsplit"]
RankMethod = Literal["auto", "exact", "asymptotic"]


def paired_t_test(
    a: Iterable[float],
    b: Iterable[float],
    *,
    alternative: Alternative = "two-sided",
    nan_policy: NanPolicy = "raise",
) -> SignificanceResult:
    """Paired t-test of mean(a - b) = 0 (scipy's `ttest_rel`); effect size Cohen's dz.

    With zero spread in the differences the p-value is 0 or 1 (see
    `p_degenerate`) instead of scipy's NaN.
    """
    check_alternative(alternative)
    xs, ys = pairs(a, b, nan_policy=nan_policy, min_n=2)
    d = [x - y for x, y in zip(xs, ys, strict=True)]
    n = len(d)
    m, sd = _mean(d), math.sqrt(_variance(d))
    if sd == 0.0:
        statistic = 0.0 if m == 0.0 else math.copysign(math.inf, m)
        method, p, effect = "paired t-test (zero variance)", p_degenerate(m, alternative), None
    else:
        statistic = m / (sd / math.sqrt(n))
        method, p, effect = "paired t-test", p_from_t(statistic, n - 1, alternative), m / sd
    return SignificanceResult(
        method=method,
        statistic=statistic,
        p_value=p,
        alternative=alternative,
        n_a=n,
        n_b=n,
        df=float(n - 1),
        mean_difference=m,
        effect_size=effect,
        effect_size_name="cohen_dz",
    )


def wilcoxon_signed_rank(
    a: Iterable[float],
    b: Iterable[float] | None = None,
    *,
    alternative: Alternative = "two-sided",
    zero_method: ZeroMethod = "wilcox",
    correction: bool = False,
    method: RankMethod = "auto",
    nan_policy: NanPolicy = "raise",
) -> SignificanceResult:
    """Wilcoxon signed-rank test on a - b (or on `a` as differences when `b` is None).

    `statistic` is scipy's: min(W+, W-) two-sided, W+ otherwise. The effect
    size is the matched-pairs rank-biserial correlation (W+ - W-)/(W+ + W-)
    (Kerby 2014). All-zero differences give p = 1.
    """
    check_alternative(alternative)
    if zero_method not in ("wilcox", "pratt", "zsplit"):
        raise ValueError(f"zero_method must be 'wilcox', 'pratt' or 'zsplit', got {zero_method!r}")
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"method must be 'auto', 'exact' or 'asymptotic', got {method!r}")
    if b is None:
        d = sample(a, "differences", nan_policy=nan_policy)
    else:
        xs, ys = pairs(a, b, nan_policy=nan_policy)
        d = [x - y for x, y in zip(xs, ys, strict=True)]
    n = len(d)
    zeros = sum(1 for v in d if v == 0.0)
    ranked = [v for v in d if v != 0.0] if zero_method == "wilcox" else d
    ranks, groups = rank_with_ties([abs(v) for v in ranked])
    w_plus = sum(r for r, v in zip(ranks, ranked, strict=True) if v > 0)
    w_minus = sum(r for r, v in zip(ranks, ranked, strict=True) if v < 0)
    if zero_method == "zsplit":
        half_zero = sum(r for r, v in zip(ranks, ranked, strict=True) if v == 0) / 2.0
        w_plus += half_zero
        w_minus += half_zero
    ties = any(g > 1 for g in groups)

    if method == "auto":
        if n > 50:
            method = "asymptotic"
        elif not ties and zeros == 0:
            method = "exact"
        else:
            method = "exact" if n <= 13 else "asymptotic"

    if method == "exact":
        exact_kind = "exact" if not ties and zeros == 0 else "exact conditional on ties/zeros"
        if not ties and zeros == 0:
            p = p_from_counts(signed_rank_counts(n), round(w_plus), alternative)
        else:
            doubled = [round(2 * r) for r, v in zip(ranks, ranked, strict=True) if v != 0]
            positive = sum(round(2 * r) for r, v in zip(ranks, ranked, strict=True) if v > 0)
            p = p_from_counts(subset_sum_counts(doubled), positive, alternative)
        label = f"Wilcoxon signed-rank ({exact_kind}, zero_method={zero_method})"
    else:
        p = _signed_rank_normal_p(len(ranked), zeros, groups, w_plus, zero_method, correction, alternative)
        cc = ", continuity-corrected" if correction else ""
        label = f"Wilcoxon signed-rank (normal approximation{cc}, zero_method={zero_method})"

    statistic = min(w_plus, w_minus) if alternative == "two-sided" else w_plus
    total = w_plus + w_minus
    effect = (w_plus - w_minus) / total if total > 0 else 0.0
    return SignificanceResult(
        method=label,
        statistic=statistic,
        p_value=p,
        alternative=alternative,
        n_a=n,
        n_b=n,
        mean_difference=_mean(d),
        effect_size=effect,
        effect_size_name="rank_biserial",
        exact=method == "exact",
    )


def _signed_rank_normal_p(
    count: int,
    zeros: int,
    groups: list[int],
    w_plus: float,
    zero_method: ZeroMethod,
    correction: bool,
    alternative: Alternative,
) -> float:
    mean = count * (count + 1) / 4.0
    var24 = float(count * (count + 1) * (2 * count + 1))
    if zero_method == "pratt" and zeros:
        mean -= zeros * (zeros + 1) / 4.0
        var24 -= zeros * (zeros + 1) * (2 * zeros + 1)
        groups = groups[1:]  # the zeros' group ranks first; it is no tie to correct for
    var24 -= sum(g**3 - g for g in groups) / 2.0
    if var24 <= 0.0:
        return 1.0  # nothing but zeros: no evidence either way
    se = math.sqrt(var24 / 24.0)
    z = (w_plus - mean) / se
    if correction:
        sign = {"greater": 1.0, "less": -1.0}.get(alternative, math.copysign(1.0, z) if z else 0.0)
        z -= sign * 0.5 / se
    return p_from_normal(z, alternative)


def _binomial_half_cdf(k: int, n: int) -> float:
    """P(K <= k) for K ~ Binomial(n, 1/2); exact rational arithmetic up to n = 20000."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if n <= 20_000:
        term, total = 1, 1
        for i in range(k):
            term = term * (n - i) // (i + 1)
            total += term
        return float(Fraction(total, 1 << n))
    return regularized_incomplete_beta(n - k, k + 1, 0.5)


def mcnemar_exact(
    a: Iterable[float],
    b: Iterable[float],
    *,
    alternative: Alternative = "two-sided",
    nan_policy: NanPolicy = "raise",
) -> SignificanceResult:
    """Exact McNemar test for paired 0/1 outcomes (e.g. pass/fail per example).

    Only discordant pairs carry information: with n10 pairs where only `a`
    succeeded and n01 where only `b` did, n10 ~ Binomial(n10 + n01, 1/2)
    under the null. Two-sided p = min(1, 2 * smaller tail), which is exact
    for this symmetric null. `statistic` is n10; the effect size is the
    conditional odds ratio n10 / n01.
    """
    check_alternative(alternative)
    xs, ys = pairs(a, b, nan_policy=nan_policy)
    bx, by = binary(xs, "a"), binary(ys, "b")
    n10 = sum(1 for x, y in zip(bx, by, strict=True) if x == 1 and y == 0)
    n01 = sum(1 for x, y in zip(bx, by, strict=True) if x == 0 and y == 1)
    discordant = n10 + n01
    lower = _binomial_half_cdf(n10, discordant)
    upper = _binomial_half_cdf(discordant - n10, discordant)  # P(K >= n10) by symmetry
    if alternative == "less":
        p = lower
    elif alternative == "greater":
        p = upper
    else:
        p = clip_p(2.0 * min(lower, upper))
    if n01 > 0:
        odds: float | None = n10 / n01
    else:
        odds = math.inf if n10 > 0 else None
    n = len(bx)
    return SignificanceResult(
        method="McNemar exact (binomial on discordant pairs)",
        statistic=float(n10),
        p_value=p,
        alternative=alternative,
        n_a=n,
        n_b=n,
        mean_difference=(n10 - n01) / n,
        effect_size=odds,
        effect_size_name="odds_ratio",
        exact=True,
    )
