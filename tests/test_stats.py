"""Tests for pytest_llmops.stats: published reference values, scipy on generated
samples, edge cases and a few properties."""

from __future__ import annotations

import itertools
import math
import random
import statistics
import subprocess
import sys
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmops import stats as S
from pytest_llmops.stats import distributions as D
from pytest_llmops.stats.ranks import rank_with_ties

REL = 1e-8  # against scipy; the implementations agree to ~1e-12 in practice

ALTERNATIVES: tuple[S.Alternative, ...] = ("two-sided", "less", "greater")

# Student (1908) / Cushny & Peebles (1905) sleep data, R's `sleep` data set.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def close(actual: float, expected: float, rel: float = REL, abs_: float = 1e-300) -> bool:
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)


# ----------------------------------------------------------- published values


@pytest.mark.parametrize(
    ("x", "n", "plain", "corrected"),
    [
        # Newcombe (1998a), Stat Med 17:857-872, Table I, methods 3 (score) and 4 (score with CC).
        (81, 263, (0.2553, 0.3662), (0.2535, 0.3682)),
        (15, 148, (0.0624, 0.1605), (0.0598, 0.1644)),
        (0, 20, (0.0, 0.1611), (0.0, 0.2005)),
        (1, 29, (0.0061, 0.1718), (0.0018, 0.1963)),
    ],
)
def test_wilson_interval_matches_newcombe_1998_table_1(
    x: int, n: int, plain: tuple[float, float], corrected: tuple[float, float]
) -> None:
    interval = S.wilson_interval(x, n)
    assert (round(interval.low, 4), round(interval.high, 4)) == plain
    assert interval.estimate == x / n
    cc = S.wilson_interval(x, n, continuity_correction=True)
    assert (round(cc.low, 4), round(cc.high, 4)) == corrected


@pytest.mark.parametrize(
    ("xa", "na", "xb", "nb", "expected"),
    [
        # Newcombe (1998b), Stat Med 17:873-890, Table II, method 10 (hybrid score, no CC).
        (56, 70, 48, 80, (0.0524, 0.3339)),
        (9, 10, 3, 10, (0.1705, 0.8090)),
        (6, 7, 2, 7, (0.0582, 0.8062)),
        (5, 56, 0, 29, (-0.0381, 0.1926)),
        (0, 10, 0, 20, (-0.1611, 0.2775)),
        (0, 10, 0, 10, (-0.2775, 0.2775)),
        (10, 10, 0, 20, (0.6791, 1.0)),
        (10, 10, 0, 10, (0.6075, 1.0)),
    ],
)
def test_difference_interval_matches_newcombe_1998_table_2(
    xa: int, na: int, xb: int, nb: int, expected: tuple[float, float]
) -> None:
    interval = S.proportion_difference_interval(xa, na, xb, nb)
    assert (round(interval.low, 4), round(interval.high, 4)) == expected


def test_fisher_lady_tasting_tea() -> None:
    # Fisher (1935), The Design of Experiments, ch. II: 3 of 4 cups right each way.
    two_sided = S.fisher_exact([[3, 1], [1, 3]])
    assert two_sided.p_value == pytest.approx(34 / 70, rel=1e-12)  # 0.4857
    assert round(two_sided.p_value, 4) == 0.4857
    assert two_sided.effect_size == 9.0
    assert S.fisher_exact([[3, 1], [1, 3]], alternative="greater").p_value == pytest.approx(17 / 70)
    assert S.fisher_exact([[4, 0], [0, 4]], alternative="greater").p_value == pytest.approx(1 / 70)


def test_student_sleep_data_paired_and_welch() -> None:
    # R: t.test(extra ~ group, data = sleep[, paired = TRUE]) for Student's (1908) data.
    paired = S.paired_t_test(SLEEP_1, SLEEP_2)
    assert paired.statistic == pytest.approx(-4.0621, abs=5e-5)
    assert paired.df == 9
    assert paired.p_value == pytest.approx(0.002833, abs=5e-7)
    ci = S.mean_difference_interval(SLEEP_1, SLEEP_2, paired=True)
    assert [ci.low, ci.high] == pytest.approx([-2.4598858, -0.7001142], abs=1e-7)

    welch = S.welch_t_test(SLEEP_1, SLEEP_2)
    assert welch.statistic == pytest.approx(-1.8608, abs=5e-5)
    assert welch.df == pytest.approx(17.776, abs=5e-4)
    assert welch.p_value == pytest.approx(0.07939, abs=5e-6)
    ci = S.mean_difference_interval(SLEEP_1, SLEEP_2, paired=False)
    assert [ci.low, ci.high] == pytest.approx([-3.3654832, 0.2054832], abs=1e-7)


def test_wilcoxon_hollander_wolfe_depression_example() -> None:
    # Hollander & Wolfe (1973) p. 29, Hamilton depression scale (R's ?wilcox.test):
    # V = 40, exact one-sided p = 0.01953 (= 10/512).
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    greater = S.wilcoxon_signed_rank(x, y, alternative="greater")
    assert greater.statistic == 40
    assert greater.exact
    assert greater.p_value == pytest.approx(10 / 512, rel=1e-12)
    assert S.wilcoxon_signed_rank(x, y).p_value == pytest.approx(20 / 512, rel=1e-12)


def test_wilcoxon_darwin_zea_mays() -> None:
    # Darwin's Zea mays height differences (Fisher 1935, §17): two negative
    # differences with ranks 10 and 14, so W- = 24; exact two-sided p = 0.04126.
    d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]
    result = S.wilcoxon_signed_rank(d)
    assert result.statistic == 24
    assert round(result.p_value, 5) == 0.04126


def test_mann_whitney_hollander_wolfe_example() -> None:
    # Hollander & Wolfe (1973) p. 69 (R's ?wilcox.test): W = 35, exact one-sided p = 0.1272.
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    result = S.mann_whitney_u(x, y, alternative="greater")
    assert result.statistic == 35
    assert result.exact
    assert round(result.p_value, 4) == 0.1272


def test_textbook_quantiles() -> None:
    # Standard normal and Student t table values (e.g. A&S Tables 26.1, 26.10).
    assert S.normal_ppf(0.975) == pytest.approx(1.959963984540054, rel=1e-14)
    assert S.normal_ppf(0.995) == pytest.approx(2.5758293035489004, rel=1e-14)
    assert S.t_ppf(0.975, 10) == pytest.approx(2.228139, abs=1e-6)
    assert S.t_ppf(0.975, 1) == pytest.approx(12.706205, abs=1e-6)
    assert S.t_ppf(0.995, 5) == pytest.approx(4.032143, abs=1e-6)
    assert S.t_ppf(0.95, 30) == pytest.approx(1.697261, abs=1e-6)


def test_sample_size_cohen_and_lehr() -> None:
    # 2(z_.975 + z_.8)^2 / d^2 = 62.79 for d = 0.5 (Cohen's t-based table says 64;
    # the normal approximation is documented to run 1-2 lower); Lehr's rule n ~ 16/d^2.
    assert S.sample_size_two_means(0.5, 1.0) == 63
    assert S.sample_size_two_means(0.2, 1.0) == 393
    for d in (0.2, 0.3, 0.8):
        n = S.sample_size_two_means(d, 1.0)
        assert n is not None and abs(n - 16 / d**2) / (16 / d**2) < 0.03
    # Paired: the same effect in SD units needs half of two-sample's per-arm n.
    assert S.sample_size_paired_means(0.5, 1.0) == 32


# ------------------------------------------------------------- distributions


def test_distributions_match_scipy() -> None:
    sp = pytest.importorskip("scipy.stats")
    special = pytest.importorskip("scipy.special")
    for p in (1e-300, 1e-100, 1e-10, 1e-4, 0.01, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999999):
        assert close(S.normal_ppf(p), float(sp.norm.ppf(p)), 1e-13), p
    for x in (-38.0, -8.0, -1.0, 0.0, 0.5, 3.0, 9.0):
        assert close(S.normal_cdf(x), float(sp.norm.cdf(x)), 1e-12), x
        assert close(S.normal_sf(x), float(sp.norm.sf(x)), 1e-12), x
    for df in (0.7, 1, 3, 4.5, 30, 1999, 2000, 5e4, 1e6):
        for t in (-300.0, -30.0, -4.0, -1.96, -0.3, 0.0, 0.2, 2.7, 12.0):
            assert close(S.t_cdf(t, df), float(sp.t.cdf(t, df)), 1e-10), (t, df)
            assert close(S.t_sf(t, df), float(sp.t.sf(t, df)), 1e-10), (t, df)
        for p in (1e-12, 1e-6, 0.025, 0.3, 0.6, 0.975, 0.999):
            assert close(S.t_ppf(p, df), float(sp.t.ppf(p, df)), 1e-9), (p, df)
    rng = random.Random(11)
    for _ in range(300):
        a, b, x = math.exp(rng.uniform(-2, 7)), math.exp(rng.uniform(-2, 7)), rng.random()
        expected = float(special.betainc(a, b, x))
        assert close(S.regularized_incomplete_beta(a, b, x), expected, 1e-10, 1e-290), (a, b, x)
    for population, successes, draws in ((20, 7, 12), (500, 120, 300), (30000, 800, 20000)):
        lo = max(0, draws - (population - successes))
        for k in range(lo, min(draws, successes) + 1, max(1, min(draws, successes) // 15)):
            expected = float(sp.hypergeom.pmf(k, population, successes, draws))
            assert close(S.hypergeom_pmf(k, population, successes, draws), expected, 1e-9), k


def test_t_distribution_closed_forms() -> None:
    # df = 1 is Cauchy and df = 2 has a closed form; these hold where library values drift.
    for t in (-1e6, -3.0, -1e-8):  # lower tails in cancellation-free form
        assert close(S.t_cdf(t, 1), math.atan(-1 / t) / math.pi, 1e-13)
        root = math.sqrt(2 + t * t)
        assert close(S.t_cdf(t, 2), 1 / (root * (root - t)), 1e-13)
    for t in (1e-8, 0.5, 40.0):
        assert close(S.t_cdf(t, 1), 0.5 + math.atan(t) / math.pi, 1e-13)
        assert close(S.t_cdf(t, 2), 0.5 + t / (2 * math.sqrt(2 + t * t)), 1e-13)
    for p in (0.01, 0.3, 0.8):
        assert close(S.t_ppf(p, 1), math.tan(math.pi * (p - 0.5)), 1e-12)
    for p in (1e-12, 1e-6):
        assert close(S.t_ppf(p, 1), -1 / math.tan(math.pi * p), 1e-13)
        for df in (1, 3.5, 12, 400, 5e5):
            assert close(S.t_cdf(S.t_ppf(p, df), df), p, 1e-11), df
    # Far tails, where the density underflows: the quantile still inverts the cdf, or is -inf
    # when it lies beyond the largest float (df = 0.5: |t| ~ 1e400).
    for p, df in ((1e-300, 1.5), (1e-200, 3), (1e-50, 0.3), (1e-300, 30)):
        assert close(S.t_cdf(S.t_ppf(p, df), df), p, 1e-11), (p, df)
    assert S.t_ppf(1e-200, 0.5) == -math.inf
    # Near the median: Φ⁻¹(½ - ε) = -√(2π)·ε to first order (the cubic term is ~1e-20 here).
    eps = 0.5 - 0.4999999999
    assert close(S.normal_ppf(0.4999999999), -math.sqrt(2 * math.pi) * eps, 1e-13)
    # Large df: Cornish-Fisher's first correction term is visible in t_{0.975, 1e9}.
    z = S.normal_ppf(0.975)
    assert S.t_ppf(0.975, 1e9) == pytest.approx(z + (z**3 + z) / 4e9, rel=1e-15)
    assert S.t_ppf(0.975, math.inf) == z


def test_distribution_input_errors() -> None:
    with pytest.raises(ValueError, match="probability"):
        S.normal_ppf(1.5)
    with pytest.raises(ValueError, match="degrees of freedom"):
        S.t_cdf(1.0, 0)
    with pytest.raises(ValueError, match="a > 0"):
        S.regularized_incomplete_beta(0, 1, 0.5)
    assert S.normal_ppf(0.0) == -math.inf and S.t_ppf(1.0, 3) == math.inf


# ---------------------------------------------------------------- descriptives


def test_descriptives_match_numpy_and_statistics() -> None:
    np = pytest.importorskip("numpy")
    rng = random.Random(7)
    for n in (1, 2, 3, 10, 101):
        xs = [round(rng.gauss(1e6, 3), 1) for _ in range(n)]
        assert S.mean(xs) == pytest.approx(statistics.fmean(xs), rel=1e-15)
        for q in (0.0, 0.01, 0.25, 0.5, 0.95, 0.99, 1.0):
            assert S.quantile(xs, q) == pytest.approx(float(np.quantile(xs, q)), rel=1e-14)
            assert S.percentile(xs, q * 100) == S.quantile(xs, q)
        if n > 1:
            assert S.stdev(xs) == pytest.approx(statistics.stdev(xs), rel=1e-12)
            assert S.standard_error(xs) == pytest.approx(statistics.stdev(xs) / math.sqrt(n), rel=1e-12)
    latencies = list(range(1, 101))
    assert S.percentiles(latencies) == S.Percentiles(50.5, 95.05, 99.01)
    summary = S.summarize([3.0])
    assert (summary.n, summary.mean, summary.stdev, summary.p99) == (1, 3.0, None, 3.0)


def test_descriptive_errors_and_nan_policy() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        S.mean([])
    with pytest.raises(ValueError, match="at least 2"):
        S.stdev([1.0])
    with pytest.raises(ValueError, match=r"values\[1\] is NaN"):
        S.mean([1.0, math.nan])
    assert S.mean([1.0, math.nan, 3.0], nan_policy="omit") == 2.0
    with pytest.raises(ValueError, match="after omitting 1 NaN"):
        S.mean([math.nan], nan_policy="omit")
    with pytest.raises(ValueError, match="infinite"):
        S.mean([1.0, math.inf])
    with pytest.raises(ValueError, match="not a string"):
        S.mean("123")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="q must be"):
        S.quantile([1.0], 1.5)
    with pytest.raises(ValueError, match="nan_policy"):
        S.mean([1.0], nan_policy="drop")  # type: ignore[arg-type]


# --------------------------------------------------------------- vs scipy


def _samples(seed: int) -> list[tuple[str, list[float], list[float]]]:
    """Varied paired samples: continuous, ties, zeros in the differences, integer scores."""
    rng = random.Random(seed)
    out: list[tuple[str, list[float], list[float]]] = []
    for n in (2, 3, 5, 8, 9, 12, 13, 14, 25, 50, 51, 90):
        a = [rng.gauss(0.0, 1.0) for _ in range(n)]
        b = [rng.gauss(0.4, 1.7) for _ in range(n)]
        out.append((f"continuous-{n}", a, b))
        out.append((f"ties-{n}", [round(x) for x in a], [float(round(x)) for x in b]))
        out.append((f"zeros-{n}", a, [x if rng.random() < 0.3 else y for x, y in zip(a, b, strict=True)]))
        out.append((f"scores-{n}", [rng.randint(0, 4) / 4 for _ in a], [rng.randint(0, 5) / 5 for _ in b]))
    return out


SAMPLES = _samples(2024)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
@pytest.mark.parametrize(("label", "a", "b"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_t_tests_match_scipy(label: str, a: list[float], b: list[float]) -> None:
    sp = pytest.importorskip("scipy.stats")
    for alternative in ALTERNATIVES:
        ours = S.paired_t_test(a, b, alternative=alternative)
        theirs = sp.ttest_rel(a, b, alternative=alternative)
        if not math.isnan(theirs.pvalue):
            assert close(ours.p_value, float(theirs.pvalue)), alternative
            assert close(ours.statistic, float(theirs.statistic))
        short = b[: max(2, len(b) // 2)]
        ours = S.welch_t_test(a, short, alternative=alternative)
        theirs = sp.ttest_ind(a, short, equal_var=False, alternative=alternative)
        if not math.isnan(theirs.pvalue):
            assert close(ours.p_value, float(theirs.pvalue)), alternative
            assert ours.df is not None and close(ours.df, float(theirs.df))


@pytest.mark.parametrize(("label", "a", "b"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_wilcoxon_matches_scipy(label: str, a: list[float], b: list[float]) -> None:
    sp = pytest.importorskip("scipy.stats")
    scipy = pytest.importorskip("scipy")
    scipy_version = tuple(int(p) for p in scipy.__version__.split(".")[:2])
    if all(x == y for x, y in zip(a, b, strict=True)):
        pytest.skip("all differences zero")
    for alternative in ALTERNATIVES:
        for zero_method in ("wilcox", "pratt", "zsplit"):
            for correction in (False, True):
                ours = S.wilcoxon_signed_rank(
                    a, b, alternative=alternative, zero_method=zero_method, correction=correction,
                    method="asymptotic",
                )  # fmt: skip
                theirs = sp.wilcoxon(
                    a, b, alternative=alternative, zero_method=zero_method, correction=correction,
                    method="asymptotic",
                )  # fmt: skip
                if not math.isnan(theirs.pvalue):
                    assert close(ours.p_value, float(theirs.pvalue)), (alternative, zero_method)
                    assert ours.statistic == pytest.approx(float(theirs.statistic))
            # auto: exact for n <= 50 without ties/zeros, a permutation test with ties/zeros
            # for n <= 13. scipy's permutation test takes seconds from n = 8 up, so there the
            # brute-force enumeration below stands in for it.
            if len(a) >= 8 and len(a) <= 13 and not label.startswith("continuous"):
                continue
            if scipy_version >= (1, 15):
                ours = S.wilcoxon_signed_rank(a, b, alternative=alternative, zero_method=zero_method)
                theirs = sp.wilcoxon(a, b, alternative=alternative, zero_method=zero_method)
                assert close(ours.p_value, float(theirs.pvalue)), (alternative, zero_method, ours.method)


@pytest.mark.parametrize(("label", "a", "b"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_mann_whitney_matches_scipy(label: str, a: list[float], b: list[float]) -> None:
    sp = pytest.importorskip("scipy.stats")
    short = b[: max(1, len(b) // 3)]
    for alternative in ALTERNATIVES:
        for method in ("auto", "asymptotic"):
            for continuity in (True, False):
                ours = S.mann_whitney_u(
                    a, short, alternative=alternative, method=method, use_continuity=continuity
                )
                theirs = sp.mannwhitneyu(
                    a, short, alternative=alternative, method=method, use_continuity=continuity
                )
                if not math.isnan(theirs.pvalue):
                    assert close(ours.p_value, float(theirs.pvalue)), (alternative, method, ours.method)
                assert ours.statistic == float(theirs.statistic)


def test_fisher_matches_scipy() -> None:
    sp = pytest.importorskip("scipy.stats")
    rng = random.Random(3)
    tables = [[[0, 0], [3, 4]], [[0, 5], [0, 2]], [[5, 0], [0, 5]], [[1, 0], [0, 0]], [[7, 2], [7, 2]]]
    for size in (3, 8, 30, 200, 3000):
        tables += [[[rng.randint(0, size) for _ in range(2)] for _ in range(2)] for _ in range(12)]
    for table in tables:
        for alternative in ALTERNATIVES:
            ours = S.fisher_exact(table, alternative=alternative)
            theirs = sp.fisher_exact(table, alternative=alternative)
            assert close(ours.p_value, float(theirs.pvalue), 1e-8), (table, alternative)
            odds = float(theirs.statistic)
            if math.isnan(odds):
                assert ours.effect_size is None
            else:
                assert ours.effect_size == pytest.approx(odds)


def test_mcnemar_matches_scipy_binomtest() -> None:
    sp = pytest.importorskip("scipy.stats")
    rng = random.Random(5)
    for n in (1, 2, 7, 40, 300, 50000):
        a = [rng.random() < 0.55 for _ in range(n)]
        b = [rng.random() < (0.5 if n < 50000 else 0.501) for _ in range(n)]
        n10 = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
        n01 = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
        for alternative in ALTERNATIVES:
            ours = S.mcnemar_exact(a, b, alternative=alternative)
            if n10 + n01 == 0:
                assert ours.p_value == 1.0
                continue
            expected = float(sp.binomtest(n10, n10 + n01, 0.5, alternative=alternative).pvalue)
            assert close(ours.p_value, expected, 1e-9), (n, alternative)


def test_intervals_match_scipy() -> None:
    sp = pytest.importorskip("scipy.stats")
    rng = random.Random(9)
    for n in (2, 3, 10, 200):
        xs = [rng.lognormvariate(0, 1) for _ in range(n)]
        ys = [rng.gauss(1, 3) for _ in range(n + 3)]
        for confidence in (0.5, 0.9, 0.95, 0.999):
            ours = S.mean_interval(xs, confidence)
            low, high = sp.t.interval(confidence, n - 1, loc=statistics.fmean(xs), scale=sp.sem(xs))
            assert close(ours.low, float(low)) and close(ours.high, float(high))
            welch = sp.ttest_ind(xs, ys, equal_var=False)
            ours = S.mean_difference_interval(xs, ys, paired=False, confidence=confidence)
            half = (
                float(sp.t.ppf(0.5 + confidence / 2, welch.df))
                * (statistics.fmean(xs) - statistics.fmean(ys))
                / float(welch.statistic)
            )
            assert ours.high - ours.estimate == pytest.approx(half, rel=1e-9)


# ------------------------------------------------ exact conditional distributions


def _brute_signed_rank_p(d: list[float], alternative: str) -> float:
    """Enumerate all sign flips of the non-zero |d| (scipy's permutation test for n <= 13)."""
    nonzero = [abs(x) for x in d if x != 0]
    ranks, _ = rank_with_ties(nonzero)
    observed = sum(r for r, x in zip(ranks, [x for x in d if x != 0], strict=True) if x > 0)
    sums = [
        sum(r for r, s in zip(ranks, signs, strict=True) if s)
        for signs in itertools.product((0, 1), repeat=len(ranks))
    ]
    less = sum(1 for s in sums if s <= observed + 1e-9) / len(sums)
    greater = sum(1 for s in sums if s >= observed - 1e-9) / len(sums)
    return {"less": less, "greater": greater}.get(alternative, min(1.0, 2 * min(less, greater)))


def _brute_rank_sum_p(a: list[float], b: list[float], alternative: str) -> float:
    ranks, _ = rank_with_ties(a + b)
    observed = sum(ranks[: len(a)])
    sums = [sum(c) for c in itertools.combinations(ranks, len(a))]
    less = sum(1 for s in sums if s <= observed + 1e-9) / len(sums)
    greater = sum(1 for s in sums if s >= observed - 1e-9) / len(sums)
    return {"less": less, "greater": greater}.get(alternative, min(1.0, 2 * min(less, greater)))


def test_exact_methods_with_ties_enumerate_the_permutation_distribution() -> None:
    # scipy's default switches from the permutation test to the normal approximation above n = 13.
    for label, a, b in SAMPLES:
        if label in ("ties-13", "zeros-13", "ties-14"):
            d = [x - y for x, y in zip(a, b, strict=True)]
            auto = S.wilcoxon_signed_rank(d)
            if label.endswith("13"):
                assert auto.exact and auto.p_value == pytest.approx(_brute_signed_rank_p(d, "two-sided"))
            else:
                assert not auto.exact and "normal approximation" in auto.method
    rng = random.Random(1)
    for _ in range(15):
        n = rng.randint(1, 10)
        d = [float(rng.randint(-3, 3)) for _ in range(n)]
        a = [float(rng.randint(0, 3)) for _ in range(rng.randint(1, 6))]
        b = [float(rng.randint(0, 3)) for _ in range(rng.randint(1, 6))]
        for alternative in ALTERNATIVES:
            ours = S.wilcoxon_signed_rank(d, alternative=alternative, method="exact")
            assert ours.p_value == S.wilcoxon_signed_rank(d, alternative=alternative).p_value
            assert ours.p_value == pytest.approx(_brute_signed_rank_p(d, alternative), rel=1e-12)
            ours = S.mann_whitney_u(a, b, alternative=alternative, method="exact")
            assert ours.p_value == pytest.approx(_brute_rank_sum_p(a, b, alternative), rel=1e-12)


# ---------------------------------------------------------------- edge cases


def test_bad_input_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="equal lengths: a has 3 values, b has 2"):
        S.paired_t_test([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="equal lengths"):
        S.wilcoxon_signed_rank([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 pair"):
        S.paired_t_test([1.0], [2.0])
    with pytest.raises(ValueError, match="a needs at least 2"):
        S.welch_t_test([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="b needs at least 1"):
        S.mann_whitney_u([1.0], [])
    with pytest.raises(ValueError, match=r"b\[1\] is NaN"):
        S.paired_t_test([1, 2, 3], [1, math.nan, 3])
    with pytest.raises(ValueError, match="alternative"):
        S.welch_t_test([1, 2], [3, 4], alternative="bigger")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2x2"):
        S.fisher_exact([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match=r"table\[1\]\[0\]"):
        S.fisher_exact([[1, 2], [-1, 3]])
    with pytest.raises(ValueError, match="binary outcomes"):
        S.mcnemar_exact([1, 0, 2], [1, 1, 0])
    with pytest.raises(ValueError, match="cannot exceed"):
        S.wilson_interval(5, 4)
    with pytest.raises(ValueError, match="confidence"):
        S.wilson_interval(1, 4, confidence=95)
    with pytest.raises(ValueError, match="too large"):
        S.wilcoxon_signed_rank([float(i % 7) - 3.2 for i in range(3000)], method="exact")


def test_nan_policy_omit_drops_whole_pairs() -> None:
    a = [1.0, 2.0, math.nan, 4.0, 5.0, 7.0]
    b = [1.5, math.nan, 3.0, 4.5, 5.2, 6.1]
    omitted = S.paired_t_test(a, b, nan_policy="omit")
    clean = S.paired_t_test([1.0, 4.0, 5.0, 7.0], [1.5, 4.5, 5.2, 6.1])
    assert omitted == clean and omitted.n_a == 4


def test_tiny_samples() -> None:
    single = S.wilcoxon_signed_rank([3.0], [1.0])
    assert (single.p_value, single.exact, single.statistic) == (1.0, True, 0.0)
    assert S.wilcoxon_signed_rank([3.0], [1.0], alternative="greater").p_value == 0.5
    assert S.mann_whitney_u([1.0], [2.0]).p_value == 1.0
    assert S.mann_whitney_u([1.0], [2.0], alternative="less").p_value == 0.5
    two = S.paired_t_test([1.0, 2.0], [0.0, 0.5])
    assert two.df == 1 and 0 < two.p_value < 1
    # var 0.5 and 2: df = (0.25 + 1)^2 / (0.25^2 / 1 + 1^2 / 1) = 25/17
    assert S.welch_t_test([1.0, 2.0], [3.0, 5.0]).df == pytest.approx(25 / 17, rel=1e-14)


def test_identical_samples_give_p_one_without_crashing() -> None:
    xs = [0.2, 0.5, 0.5, 0.9, 1.0]
    for result in (
        S.paired_t_test(xs, xs),
        S.wilcoxon_signed_rank(xs, xs),
        S.wilcoxon_signed_rank(xs, xs, method="asymptotic"),
        S.wilcoxon_signed_rank(xs, xs, zero_method="pratt", method="asymptotic"),
        S.welch_t_test(xs, xs),
        S.mann_whitney_u(xs, xs),
        S.mann_whitney_u([2.0] * 30, [2.0] * 30),
        S.welch_t_test([1.0, 1.0], [1.0, 1.0, 1.0]),
        S.fisher_exact([[4, 6], [4, 6]]),
        S.mcnemar_exact([1, 0, 1], [1, 0, 1]),
    ):
        assert result.p_value == 1.0, result.method
        assert not math.isnan(result.statistic), result.method
    constant = S.compare_samples([0.5] * 4, [0.5] * 4, paired=False)
    assert (constant.p_value, constant.lift, constant.needed_n) == (1.0, 0.0, None)
    assert constant.relative_lift == 0.0 and constant.lift_ci.width == 0.0


def test_zero_variance_with_a_difference_is_conclusive() -> None:
    result = S.welch_t_test([2.0, 2.0, 2.0], [1.0, 1.0])
    assert (result.statistic, result.p_value, result.df) == (math.inf, 0.0, None)
    assert S.welch_t_test([2.0, 2.0], [1.0, 1.0], alternative="less").p_value == 1.0
    paired = S.paired_t_test([3.0, 4.0, 5.0], [2.0, 3.0, 4.0], alternative="greater")
    assert (paired.p_value, paired.effect_size) == (0.0, None)


def test_effect_sizes_and_orientation() -> None:
    a, b = [5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.5]
    welch = S.welch_t_test(a, b)
    pooled = math.sqrt((statistics.variance(a) + statistics.variance(b)) / 2)
    assert welch.effect_size == pytest.approx((statistics.fmean(a) - statistics.fmean(b)) / pooled)
    assert welch.statistic > 0 and welch.mean_difference == pytest.approx(3.875)
    assert S.mann_whitney_u(a, b).effect_size == 1.0  # every a above every b
    assert S.mann_whitney_u(b, a).effect_size == -1.0
    assert S.wilcoxon_signed_rank(a, b).effect_size == 1.0
    d = [x - y for x, y in zip(a, b, strict=True)]
    assert S.paired_t_test(a, b).effect_size == pytest.approx(statistics.fmean(d) / statistics.stdev(d))
    assert S.fisher_exact([[8, 2], [1, 5]]).effect_size == pytest.approx(20.0)
    assert S.fisher_exact([[8, 0], [1, 5]]).effect_size == math.inf


def test_holm_bonferroni_adjusts_in_input_order() -> None:
    # Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, max(0.06, 0.04*1) = 0.06.
    result = S.holm_bonferroni([0.01, 0.04, 0.03, 0.005])
    assert result.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert result.reject == (True, False, False, True)
    assert S.holm_bonferroni([0.5, 0.6]).adjusted == (1.0, 1.0)
    assert S.holm_bonferroni([0.01, 0.01]).adjusted == (0.02, 0.02)
    assert S.holm_bonferroni([]).adjusted == ()
    with pytest.raises(ValueError, match=r"p_values\[1\]"):
        S.holm_bonferroni([0.1, 1.2])


# ------------------------------------------------------------- power / sizes


def test_sample_sizes() -> None:
    z_a, z_b = S.normal_ppf(0.975), S.normal_ppf(0.8)
    expected = (z_a * math.sqrt(2 * 0.7 * 0.3) + z_b * math.sqrt(0.6 * 0.4 + 0.8 * 0.2)) ** 2 / 0.04
    assert S.sample_size_two_proportions(0.6, 0.8) == math.ceil(expected) == 82
    assert S.sample_size_two_proportions(0.8, 0.6) == 82
    unequal = (z_a + z_b) ** 2 * (1.0 + 4.0) / 0.25
    assert S.sample_size_two_means(0.5, 1.0, 2.0) == math.ceil(unequal)
    # Connor (1987): psi = 0.3, delta = 0.1.
    connor = (z_a * math.sqrt(0.3) + z_b * math.sqrt(0.3 - 0.01)) ** 2 / 0.01
    assert S.sample_size_mcnemar(0.2, 0.1) == math.ceil(connor)
    for zero in (
        S.sample_size_two_means(0.0, 1.0),
        S.sample_size_paired_means(0.0, 1.0),
        S.sample_size_two_proportions(0.3, 0.3),
        S.sample_size_mcnemar(0.1, 0.1),
    ):
        assert zero is None
    assert S.sample_size_paired_means(1.0, 0.0) == 2  # no noise: the minimum
    one_sided = S.sample_size_two_means(0.5, 1.0, two_sided=False)
    assert one_sided is not None and one_sided < 63
    with pytest.raises(ValueError, match="p_a must be a proportion"):
        S.sample_size_two_proportions(1.2, 0.5)
    with pytest.raises(ValueError, match="power"):
        S.sample_size_two_means(0.5, 1.0, power=80)


# ---------------------------------------------------------- comparisons


def test_compare_samples_defaults_and_orientation() -> None:
    rng = random.Random(4)
    a = [rng.gauss(0.60, 0.1) for _ in range(40)]
    b = [x + 0.05 + rng.gauss(0, 0.05) for x in a]
    paired = S.compare_samples(a, b, paired=True)
    assert paired.test.method.startswith("Wilcoxon signed-rank")
    assert paired.lift > 0 and paired.test.mean_difference == pytest.approx(paired.lift)
    assert paired.test.effect_size is not None and paired.test.effect_size > 0
    assert paired.significant and paired.needed_n_unit == "pairs"
    assert paired.lift_ci.contains(paired.lift) and paired.ci_a.contains(paired.mean_a)
    assert paired.relative_lift == pytest.approx(paired.lift / paired.mean_a)
    d = [y - x for x, y in zip(a, b, strict=True)]
    assert paired.needed_n == S.sample_size_paired_means(statistics.fmean(d), statistics.stdev(d))
    assert S.compare_samples(a, b, paired=True, test="paired-t").test.method == "paired t-test"

    unpaired = S.compare_samples(a, b, paired=False)
    assert unpaired.test.method == "Welch t-test" and unpaired.test.statistic > 0
    assert unpaired.needed_n_unit == "per arm"
    assert S.compare_samples(a, b, paired=False, test="mann-whitney").test.method.startswith("Mann-Whitney")
    with pytest.raises(ValueError, match="does not fit a unpaired continuous"):
        S.compare_samples(a, b, paired=False, test="wilcoxon")


def test_compare_samples_against_scipy() -> None:
    sp = pytest.importorskip("scipy.stats")
    a, b = SLEEP_1, SLEEP_2
    result = S.compare_samples(a, b, paired=False, alpha=0.1)
    assert close(result.p_value, float(sp.ttest_ind(b, a, equal_var=False).pvalue))
    assert result.ci_a.confidence == pytest.approx(0.9)
    result = S.compare_samples(a, b, paired=True)
    assert close(result.p_value, float(sp.wilcoxon(b, a).pvalue))


def test_compare_samples_binary() -> None:
    sp = pytest.importorskip("scipy.stats")
    a = [1] * 30 + [0] * 20
    b = [1] * 42 + [0] * 8
    result = S.compare_samples(a, b, paired=False, kind="binary")
    assert result.test.method == "Fisher exact"
    assert close(result.p_value, float(sp.fisher_exact([[42, 8], [30, 20]]).pvalue))
    assert result.ci_b == S.wilson_interval(42, 50)
    assert result.lift == pytest.approx(0.24) and result.relative_lift == pytest.approx(0.4)
    assert result.lift_ci == S.proportion_difference_interval(42, 50, 30, 50)
    assert result.needed_n == S.sample_size_two_proportions(0.6, 0.84)

    paired = S.compare_samples(a, b, paired=True, kind="binary")
    assert paired.test.method.startswith("McNemar")
    assert paired.test.statistic == 12  # pairs where only b succeeds
    assert close(paired.p_value, float(sp.binomtest(12, 12, 0.5).pvalue))
    with pytest.raises(ValueError, match="binary outcomes"):
        S.compare_samples([0.5, 1.0], [1.0, 0.0], paired=False, kind="binary")
    zero = S.compare_samples([0, 0, 0], [1, 0, 0], paired=False, kind="binary")
    assert zero.relative_lift is None


def test_significant_drop() -> None:
    sp = pytest.importorskip("scipy.stats")
    baseline = [0.82, 0.80, 0.85, 0.81, 0.83]
    worse = [0.70, 0.74, 0.69, 0.72, 0.71]
    result = S.significant_drop(baseline, worse)
    expected = float(sp.ttest_ind(worse, baseline, equal_var=False, alternative="less").pvalue)
    assert close(result.p_value, expected)
    assert result.significant and result.drop == pytest.approx(0.11)
    assert not S.significant_drop(baseline, [0.84, 0.79, 0.86, 0.82]).significant
    assert not S.significant_drop(worse, baseline).significant  # an improvement is no drop
    assert not S.significant_drop(baseline, worse, margin=0.2).significant
    with pytest.raises(ValueError, match="current_values needs at least 2"):
        S.significant_drop(baseline, [0.7])
    with pytest.raises(ValueError, match="margin"):
        S.significant_drop(baseline, worse, margin=-0.1)


# ----------------------------------------------------------------- properties

_finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
_scores = st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | _finite, min_size=2, max_size=25)

_TESTS: list[Callable[[list[float], list[float]], S.SignificanceResult]] = [
    S.welch_t_test,
    S.mann_whitney_u,
    lambda a, b: S.paired_t_test(a, b[: len(a)] + a[len(b) :]),
    lambda a, b: S.wilcoxon_signed_rank(a, b[: len(a)] + a[len(b) :]),
]


@settings(max_examples=60, deadline=None, database=None)
@given(_scores, _scores, st.sampled_from(range(len(_TESTS))))
def test_p_values_are_probabilities(a: list[float], b: list[float], which: int) -> None:
    result = _TESTS[which](a, b)
    assert 0.0 <= result.p_value <= 1.0
    assert not math.isnan(result.statistic)


@settings(max_examples=80, deadline=None, database=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), st.floats(0.5, 0.999))
def test_wilson_contains_the_estimate(xn: tuple[int, int], confidence: float) -> None:
    interval = S.wilson_interval(*xn, confidence)
    assert 0.0 <= interval.low <= interval.estimate <= interval.high <= 1.0
    assert S.wilson_interval(*xn, 0.999).width >= S.wilson_interval(*xn, 0.5).width


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(_finite, min_size=2, max_size=30))
def test_mean_interval_contains_the_mean(xs: list[float]) -> None:
    interval = S.mean_interval(xs)
    assert interval.low <= interval.estimate <= interval.high


@settings(max_examples=80, deadline=None, database=None)
@given(st.lists(st.floats(0.0, 1.0), max_size=20))
def test_holm_is_monotone_and_at_least_the_raw_p(ps: list[float]) -> None:
    adjusted = S.holm_bonferroni(ps).adjusted
    assert all(adj >= p and adj <= 1.0 for adj, p in zip(adjusted, ps, strict=True))
    ordered = [adjusted[i] for i in sorted(range(len(ps)), key=ps.__getitem__)]
    assert ordered == sorted(ordered)


# ------------------------------------------------------------------ start-up


def test_import_loads_nothing_heavy() -> None:
    code = "import sys, pytest_llmops.stats; print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_distributions_module_exports() -> None:
    assert D.t_two_sided_p(0.0, 5) == 1.0
    assert D.t_two_sided_p(2.0, 10) == pytest.approx(2 * S.t_sf(2.0, 10), rel=1e-14)


# -- bounded_mean_interval ------------------------------------------------------------------------


@given(
    st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=40),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_bounded_mean_interval_never_leaves_the_scale(values: list[int], confidence: float) -> None:
    from pytest_llmops.stats import bounded_mean_interval

    interval = bounded_mean_interval([float(v) for v in values], 1.0, 5.0, confidence)
    assert 1.0 <= interval.low <= interval.estimate <= interval.high <= 5.0


def test_bounded_mean_interval_is_wilson_for_rates_and_cut_at_zero_without_a_top() -> None:
    from pytest_llmops.stats import bounded_mean_interval

    rate = bounded_mean_interval([1, 1, 0, 1, 1], 0.0, 1.0)
    wilson = S.wilson_interval(4, 5)
    assert (rate.low, rate.high, rate.method) == (wilson.low, wilson.high, "Wilson score")
    top = bounded_mean_interval([5, 5, 5], 1.0, 5.0)  # every value at the top of 1-5: Wilson 3/3
    assert top.high == 5.0 and top.low == pytest.approx(1 + 4 * S.wilson_interval(3, 3).low)
    cost = bounded_mean_interval([0.0, 0.0, 0.003], 0.0)
    assert cost.low == 0.0 and cost.high > 0.003
    with pytest.raises(ValueError, match="outside the scale"):
        bounded_mean_interval([0.5, 1.5], 0.0, 1.0)
    with pytest.raises(ValueError, match="finite low below high"):
        bounded_mean_interval([0.5, 0.7], 1.0, 0.0)


@pytest.mark.parametrize(
    "probs",
    [
        (0.02, 0.03, 0.10, 0.35, 0.50),  # mean 4.28, near the top
        (0.00, 0.00, 0.05, 0.15, 0.80),  # mean 4.75, often every value at 5
        (0.20, 0.20, 0.20, 0.20, 0.20),  # mean 3, mid-scale
        (0.50, 0.30, 0.10, 0.05, 0.05),  # mean 1.85, near the bottom
    ],
)
@pytest.mark.parametrize("n", [3, 10, 30])
def test_bounded_mean_interval_covers_the_true_mean(probs: tuple[float, ...], n: int) -> None:
    """95% intervals on 1-5 judge scores cover the true mean about 95% of the time (never below 90%)."""
    from pytest_llmops.stats import bounded_mean_interval

    rng = random.Random(1234 + n)
    mean = sum((i + 1) * p for i, p in enumerate(probs))
    trials = 500
    covered = 0
    for _ in range(trials):
        values = [float(v) for v in rng.choices([1, 2, 3, 4, 5], probs, k=n)]
        covered += bounded_mean_interval(values, 1.0, 5.0).contains(mean)
    assert 0.90 <= covered / trials <= 1.0


def test_compare_samples_keeps_the_means_on_the_scale() -> None:
    control, treatment = [5.0, 5.0, 4.0, 5.0], [4.0, 5.0, 5.0, 5.0]
    plain = S.compare_samples(control, treatment, paired=False)
    assert plain.ci_a.high > 5  # the t interval runs past the top of a 1-5 scale
    scaled = S.compare_samples(control, treatment, paired=False, scale=(1.0, 5.0))
    for ci in (scaled.ci_a, scaled.ci_b):
        assert 1.0 <= ci.low <= ci.high <= 5.0
    assert -4.0 <= scaled.lift_ci.low <= scaled.lift_ci.high <= 4.0
