"""Tests for two independent samples (different examples per variant).

- `welch_t_test`: Welch (1947) t-test with Welch-Satterthwaite df (scipy's
  `ttest_ind(equal_var=False)`); effect size Cohen's d with the pooled SD
  (Cohen 1988).
- `mann_whitney_u`: Mann & Whitney (1947). Defaults match scipy's (>= 1.7):
  `method="auto"` is exact when either sample has <= 8 values and there are
  no ties (unless the other sample is so large, ~500k values, that the table
  would take seconds), otherwise the normal approximation with tie correction and a 0.5
  continuity correction. `method="exact"` with ties enumerates the
  conditional (permutation) distribution of the rank sum instead of ignoring
  the ties.
- `fisher_exact`: Fisher's exact test on a 2x2 table; the two-sided p-value
  sums the probabilities of all tables no more likely than the observed one
  (scipy's and R's definition; relative tolerance 1e-7 as in R's
  `fisher.test`, so ties in probability are not lost to rounding).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

from pytest_llmops.stats._inputs import Alternative, NanPolicy, check_alternative, count, sample
from pytest_llmops.stats.descriptive import _mean, _variance
from pytest_llmops.stats.distributions import hypergeom_log_pmf_support
from pytest_llmops.stats.ranks import (
    EXACT_WORK_LIMIT,
    conditional_rank_sum_counts,
    mann_whitney_counts,
    rank_with_ties,
)
from pytest_llmops.stats.significance import (
    SignificanceResult,
    clip_p,
    p_degenerate,
    p_from_counts,
    p_from_normal,
    p_from_t,
)

__all__ = ["Table2x2", "fisher_exact", "mann_whitney_u", "welch_t_test"]

RankMethod = Literal["auto", "exact", "asymptotic"]
Table2x2 = Sequence[Sequence[int]]

_FISHER_RELATIVE_TOLERANCE = 1e-7


def welch_t_test(
    a: Iterable[float],
    b: Iterable[float],
    *,
    alternative: Alternative = "two-sided",
    nan_policy: NanPolicy = "raise",
) -> SignificanceResult:
    """Welch's unequal-variance t-test of mean(a) = mean(b); each side needs >= 2 values.

    When both samples have zero spread the p-value is 0 or 1 (see
    `p_degenerate`) and `df` is None, instead of scipy's NaN.
    """
    check_alternative(alternative)
    xs = sample(a, "a", nan_policy=nan_policy, min_n=2)
    ys = sample(b, "b", nan_policy=nan_policy, min_n=2)
    na, nb = len(xs), len(ys)
    diff = _mean(xs) - _mean(ys)
    va, vb = _variance(xs), _variance(ys)
    pooled = math.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
    cohen_d = diff / pooled if pooled > 0 else None
    ea, eb = va / na, vb / nb
    df: float | None
    if ea + eb == 0.0:
        statistic = 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
        method, p, df = "Welch t-test (zero variance)", p_degenerate(diff, alternative), None
    else:
        statistic = diff / math.sqrt(ea + eb)
        # Welch-Satterthwaite on variances scaled to the larger one: tiny variances would underflow
        # when squared (1e-170 ** 2 == 0.0) and divide by zero; the ratio is scale-free.
        top = max(ea, eb)
        ra, rb = ea / top, eb / top
        df = (ra + rb) ** 2 / (ra * ra / (na - 1) + rb * rb / (nb - 1))
        method, p = "Welch t-test", p_from_t(statistic, df, alternative)
    return SignificanceResult(
        method=method,
        statistic=statistic,
        p_value=p,
        alternative=alternative,
        n_a=na,
        n_b=nb,
        df=df,
        mean_difference=diff,
        effect_size=cohen_d,
        effect_size_name="cohen_d",
    )


def mann_whitney_u(
    a: Iterable[float],
    b: Iterable[float],
    *,
    alternative: Alternative = "two-sided",
    use_continuity: bool = True,
    method: RankMethod = "auto",
    nan_policy: NanPolicy = "raise",
) -> SignificanceResult:
    """Mann-Whitney U (Wilcoxon rank-sum) test; `statistic` is U for `a` (scipy's U1).

    The effect size is the rank-biserial correlation 2*U/(n_a*n_b) - 1
    = P(a > b) - P(a < b) (Glass 1965; Kerby 2014).
    """
    check_alternative(alternative)
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"method must be 'auto', 'exact' or 'asymptotic', got {method!r}")
    xs = sample(a, "a", nan_policy=nan_policy)
    ys = sample(b, "b", nan_policy=nan_policy)
    na, nb = len(xs), len(ys)
    ranks, groups = rank_with_ties(xs + ys)
    rank_sum_a = math.fsum(ranks[:na])
    u1 = rank_sum_a - na * (na + 1) / 2.0
    ties = any(g > 1 for g in groups)
    if method == "auto":
        small = min(na, nb) <= 8 and min(na, nb) * na * nb <= EXACT_WORK_LIMIT
        method = "exact" if small and not ties else "asymptotic"

    if method == "exact" and not ties:
        p = p_from_counts(mann_whitney_counts(na, nb), round(u1), alternative)
        label = "Mann-Whitney U (exact)"
    elif method == "exact":
        doubled = [round(2 * r) for r in ranks]
        if na <= nb:
            counts = conditional_rank_sum_counts(doubled, na)
            p = p_from_counts(counts, round(2 * rank_sum_a), alternative)
        else:  # enumerate the smaller side: b's rank sum, with the alternative mirrored
            counts = conditional_rank_sum_counts(doubled, nb)
            p = p_from_counts(counts, round(2 * math.fsum(ranks[na:])), _mirrored(alternative))
        label = "Mann-Whitney U (exact conditional on ties)"
    else:
        p = _mann_whitney_normal_p(u1, na, nb, groups, use_continuity, alternative)
        cc = ", continuity-corrected" if use_continuity else ""
        label = f"Mann-Whitney U (normal approximation, tie-corrected{cc})"
    return SignificanceResult(
        method=label,
        statistic=u1,
        p_value=p,
        alternative=alternative,
        n_a=na,
        n_b=nb,
        mean_difference=_mean(xs) - _mean(ys),
        effect_size=2.0 * u1 / (na * nb) - 1.0,
        effect_size_name="rank_biserial",
        exact=method == "exact",
    )


def _mirrored(alternative: Alternative) -> Alternative:
    if alternative == "less":
        return "greater"
    if alternative == "greater":
        return "less"
    return alternative


def _mann_whitney_normal_p(
    u1: float, na: int, nb: int, groups: list[int], use_continuity: bool, alternative: Alternative
) -> float:
    n = na + nb
    u2 = na * nb - u1
    tie_term = sum(g**3 - g for g in groups)
    var = na * nb / 12.0 * ((n + 1) - tie_term / (n * (n - 1)))
    if var <= 0.0:
        return 1.0  # every value tied: no evidence either way
    # scipy's formulation: the upper tail of the relevant U, doubled for two-sided.
    if alternative == "greater":
        u, factor = u1, 1.0
    elif alternative == "less":
        u, factor = u2, 1.0
    else:
        u, factor = max(u1, u2), 2.0
    z = (u - na * nb / 2.0 - (0.5 if use_continuity else 0.0)) / math.sqrt(var)
    return clip_p(factor * p_from_normal(z, "greater"))


def _check_table(table: Table2x2) -> tuple[int, int, int, int]:
    try:
        rows = [list(row) for row in table]
    except TypeError:
        raise ValueError("table must be 2x2, like [[a, b], [c, d]]") from None
    if len(rows) != 2 or any(len(row) != 2 for row in rows):
        raise ValueError(f"table must be 2x2, like [[a, b], [c, d]]; got {table!r}")
    (a, b), (c, d) = rows
    return count(a, "table[0][0]"), count(b, "table[0][1]"), count(c, "table[1][0]"), count(d, "table[1][1]")


def fisher_exact(table: Table2x2, *, alternative: Alternative = "two-sided") -> SignificanceResult:
    """Fisher's exact test on [[a, b], [c, d]] (rows: groups; columns: outcomes).

    `statistic` is the cell a, whose conditional null law is hypergeometric;
    the effect size is the sample odds ratio ad/(bc) (inf when b or c is 0,
    None when a row or column is empty, where p = 1 as in scipy).
    `mean_difference` is a/(a+b) - c/(c+d), the difference in the share of the
    first outcome.
    """
    check_alternative(alternative)
    a, b, c, d = _check_table(table)
    row1, row2, col1 = a + b, c + d, a + c
    total = row1 + row2
    share_difference = (a / row1 if row1 else 0.0) - (c / row2 if row2 else 0.0)
    if 0 in (row1, row2, col1, b + d):
        return SignificanceResult(
            method="Fisher exact (empty margin)",
            statistic=float(a),
            p_value=1.0,
            alternative=alternative,
            n_a=row1,
            n_b=row2,
            mean_difference=share_difference,
            effect_size=None,
            effect_size_name="odds_ratio",
            exact=True,
        )
    odds = a * d / (b * c) if b > 0 and c > 0 else math.inf
    lo, log_pmf = hypergeom_log_pmf_support(total, row1, col1)
    # Weights relative to the most likely table; dividing by their total cancels the
    # rounding in the normalizing constant and makes "every table counts" exactly 1.
    peak = max(log_pmf)
    weights = [math.exp(v - peak) for v in log_pmf]
    if alternative == "less":
        selected = weights[: a - lo + 1]
    elif alternative == "greater":
        selected = weights[a - lo :]
    else:
        cutoff = log_pmf[a - lo] + math.log1p(_FISHER_RELATIVE_TOLERANCE)
        selected = [w for w, v in zip(weights, log_pmf, strict=True) if v <= cutoff]
    p = math.fsum(selected) / math.fsum(weights)
    return SignificanceResult(
        method="Fisher exact",
        statistic=float(a),
        p_value=clip_p(p),
        alternative=alternative,
        n_a=row1,
        n_b=row2,
        mean_difference=share_difference,
        effect_size=odds,
        effect_size_name="odds_ratio",
        exact=True,
    )
