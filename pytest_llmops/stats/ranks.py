"""Mid-ranks and the exact null distributions of the rank statistics.

All counts are Python integers, so exact p-values are exact rationals until
the final division. Tied values get average ranks; doubling the ranks makes
every mid-rank an integer, which lets one subset-sum recursion serve both the
no-ties tables and the conditional (permutation) distribution with ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

__all__ = [
    "conditional_rank_sum_counts",
    "mann_whitney_counts",
    "rank_with_ties",
    "signed_rank_counts",
    "subset_sum_counts",
]

# Work limit (number of inner-loop steps) for the exact distributions with ties.
EXACT_WORK_LIMIT = 30_000_000


def rank_with_ties(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average (mid) ranks, 1-based, and the size of every group of tied values."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    groups: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mid = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = mid
        groups.append(j - i + 1)
        i = j + 1
    return ranks, groups


def subset_sum_counts(weights: Sequence[int]) -> list[int]:
    """counts[s] = how many of the 2^n subsets of `weights` sum to s."""
    total = sum(weights)
    if len(weights) * (total + 1) > EXACT_WORK_LIMIT:
        raise ValueError(
            f"the exact distribution for n={len(weights)} is too large to enumerate; use method='asymptotic'"
        )
    counts = [0] * (total + 1)
    counts[0] = 1
    reach = 0
    for w in weights:
        reach += w
        for s in range(reach, w - 1, -1):
            counts[s] += counts[s - w]
    return counts


@lru_cache(maxsize=64)
def signed_rank_counts(n: int) -> tuple[int, ...]:
    """Null counts of the Wilcoxon signed-rank sum W+ for n untied, non-zero differences."""
    return tuple(subset_sum_counts(range(1, n + 1)))


@lru_cache(maxsize=64)
def mann_whitney_counts(n1: int, n2: int) -> tuple[int, ...]:
    """Null counts of U = 0..n1*n2 for untied samples of sizes n1, n2.

    They are the coefficients of the Gaussian binomial [n1+n2 choose n1]_q
    = prod_{i=1..m} (1 - q^(k+i)) / (1 - q^i) with m = min, k = max; each
    factor is applied in O(degree), so one side may be large.
    """
    m, k = min(n1, n2), max(n1, n2)
    degree = m * k
    if m * (degree + 1) > EXACT_WORK_LIMIT:
        raise ValueError(
            f"the exact Mann-Whitney distribution for sizes {n1} and {n2} is too large; "
            "use method='asymptotic'"
        )
    poly = [0] * (degree + 1)
    poly[0] = 1
    for i in range(1, m + 1):
        shift = k + i
        for s in range(degree, shift - 1, -1):  # multiply by (1 - q^shift)
            poly[s] -= poly[s - shift]
        for s in range(i, degree + 1):  # divide by (1 - q^i): running sum with stride i
            poly[s] += poly[s - i]
    return tuple(poly)


def conditional_rank_sum_counts(doubled_ranks: Sequence[int], size: int) -> list[int]:
    """counts[s] = how many size-`size` subsets of the (doubled, tied) ranks sum to s.

    The permutation distribution of a rank sum given the observed ties.
    """
    total = sum(sorted(doubled_ranks)[-size:]) if size else 0
    if len(doubled_ranks) * (size + 1) * (total + 1) > EXACT_WORK_LIMIT:
        raise ValueError(
            f"the exact distribution with ties for {len(doubled_ranks)} values is too large to "
            "enumerate; use method='asymptotic'"
        )
    table = [[0] * (total + 1) for _ in range(size + 1)]
    table[0][0] = 1
    for count, w in enumerate(doubled_ranks, start=1):
        for j in range(min(count, size), 0, -1):
            row, prev = table[j], table[j - 1]
            for s in range(total, w - 1, -1):
                if prev[s - w]:
                    row[s] += prev[s - w]
    return table[size]
