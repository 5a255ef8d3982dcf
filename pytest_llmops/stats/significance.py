"""The result type every significance test returns, and the p-value helpers
that turn a statistic and its null distribution into a one- or two-sided p.

Sign convention (as in scipy): statistics, mean differences and effect sizes
are oriented as `a - b`, so "greater" means `a` tends to be larger than `b`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from pytest_llmops.stats._inputs import Alternative, check_probability
from pytest_llmops.stats.distributions import normal_cdf, normal_sf, t_cdf, t_sf, t_two_sided_p

__all__ = ["Alternative", "SignificanceResult"]


@dataclass(frozen=True, slots=True)
class SignificanceResult:
    """One hypothesis test.

    - `method`: the test and how its p-value was obtained, e.g.
      "Wilcoxon signed-rank (exact, zero_method=wilcox)";
    - `statistic`: the test's own statistic (t, W, U, the [0][0] cell for
      Fisher, discordant pairs for McNemar), with scipy's definitions;
    - `n_a`, `n_b`: observations used from each side (pairs for paired tests);
    - `df`: degrees of freedom for t-tests (None when undefined);
    - `mean_difference`: mean(a) - mean(b) (a difference of proportions for
      binary data);
    - `effect_size` / `effect_size_name`: Cohen's d, Cohen's dz, rank-biserial
      correlation or odds ratio; None where undefined (e.g. zero variance);
    - `exact`: True when the p-value comes from an exact null distribution.
    """

    method: str
    statistic: float
    p_value: float
    alternative: Alternative
    n_a: int
    n_b: int
    df: float | None = None
    mean_difference: float | None = None
    effect_size: float | None = None
    effect_size_name: str | None = None
    exact: bool = False

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether p < alpha."""
        return self.p_value < check_probability(alpha, "alpha")


def clip_p(p: float) -> float:
    return min(1.0, max(0.0, p))


def p_from_normal(z: float, alternative: Alternative) -> float:
    if alternative == "greater":
        return normal_sf(z)
    if alternative == "less":
        return normal_cdf(z)
    return clip_p(math.erfc(abs(z) / math.sqrt(2.0)))


def p_from_t(t: float, df: float, alternative: Alternative) -> float:
    if alternative == "greater":
        return t_sf(t, df)
    if alternative == "less":
        return t_cdf(t, df)
    return t_two_sided_p(t, df)


def p_degenerate(difference: float, alternative: Alternative) -> float:
    """The p-value when the spread is zero: certainty in the observed direction.

    With no variability the data decide: a zero difference gives no evidence
    (p = 1) and a non-zero one is conclusive (p = 0) if it lies in the
    direction of the alternative, else p = 1.
    """
    if difference == 0.0:
        return 1.0
    if alternative == "two-sided":
        return 0.0
    if alternative == "greater":
        return 0.0 if difference > 0 else 1.0
    return 0.0 if difference < 0 else 1.0


def p_from_counts(counts: Sequence[int], observed: int, alternative: Alternative) -> float:
    """P-value of an integer statistic from exact null counts (index = value).

    Two-sided is twice the smaller tail, capped at 1, as scipy does for the
    rank tests (the null distributions here are symmetric).
    """
    total = sum(counts)
    lower = Fraction(sum(counts[: observed + 1]), total)
    upper = Fraction(sum(counts[max(observed, 0) :]), total)
    if alternative == "less":
        return float(lower)
    if alternative == "greater":
        return float(upper)
    return float(min(Fraction(1), 2 * min(lower, upper)))
