"""Statistics for repeats, baselines and A/B comparisons, in pure Python.

Nothing here imports numpy or scipy: distributions, exact null
distributions and intervals are implemented directly (each module cites the
reference it follows) and are checked against scipy in the tests. Input
with NaN raises unless `nan_policy="omit"`; undefined cases (zero variance,
empty margins) give p = 0 or 1 and None effect sizes, never NaN.
"""

from __future__ import annotations

from pytest_llmops.stats._inputs import Alternative, NanPolicy
from pytest_llmops.stats.compare import (
    Comparison,
    DropResult,
    Kind,
    TestName,
    compare_samples,
    significant_drop,
)
from pytest_llmops.stats.descriptive import (
    Percentiles,
    Summary,
    mean,
    percentile,
    percentiles,
    quantile,
    standard_error,
    stdev,
    summarize,
    variance,
)
from pytest_llmops.stats.distributions import (
    hypergeom_pmf,
    normal_cdf,
    normal_ppf,
    normal_sf,
    regularized_incomplete_beta,
    t_cdf,
    t_ppf,
    t_sf,
)
from pytest_llmops.stats.independent import fisher_exact, mann_whitney_u, welch_t_test
from pytest_llmops.stats.intervals import (
    Interval,
    bounded_mean_interval,
    mean_difference_interval,
    mean_interval,
    proportion_difference_interval,
    wilson_interval,
)
from pytest_llmops.stats.multiple import HolmResult, holm_bonferroni
from pytest_llmops.stats.paired import mcnemar_exact, paired_t_test, wilcoxon_signed_rank
from pytest_llmops.stats.power import (
    sample_size_mcnemar,
    sample_size_paired_means,
    sample_size_two_means,
    sample_size_two_proportions,
)
from pytest_llmops.stats.significance import SignificanceResult

__all__ = [
    "Alternative",
    "Comparison",
    "DropResult",
    "HolmResult",
    "Interval",
    "Kind",
    "NanPolicy",
    "Percentiles",
    "SignificanceResult",
    "Summary",
    "TestName",
    "bounded_mean_interval",
    "compare_samples",
    "fisher_exact",
    "holm_bonferroni",
    "hypergeom_pmf",
    "mann_whitney_u",
    "mcnemar_exact",
    "mean",
    "mean_difference_interval",
    "mean_interval",
    "normal_cdf",
    "normal_ppf",
    "normal_sf",
    "paired_t_test",
    "percentile",
    "percentiles",
    "proportion_difference_interval",
    "quantile",
    "regularized_incomplete_beta",
    "sample_size_mcnemar",
    "sample_size_paired_means",
    "sample_size_two_means",
    "sample_size_two_proportions",
    "significant_drop",
    "standard_error",
    "stdev",
    "summarize",
    "t_cdf",
    "t_ppf",
    "t_sf",
    "variance",
    "welch_t_test",
    "wilcoxon_signed_rank",
    "wilson_interval",
]
