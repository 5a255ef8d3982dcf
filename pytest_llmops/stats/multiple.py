"""Multiple-comparison correction: Holm (1979) step-down Bonferroni.

Adjusted p-values (Wright 1992): sort ascending, p~(i) = max over j <= i of
min(1, (m - j + 1) p(j)); the running maximum keeps them monotone in the
raw order, and they are returned in the caller's order. Controls the
family-wise error rate under any dependence, and is uniformly more powerful
than plain Bonferroni.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_llmops.stats._inputs import check_probability

__all__ = ["HolmResult", "holm_bonferroni"]


@dataclass(frozen=True, slots=True)
class HolmResult:
    adjusted: tuple[float, ...]
    reject: tuple[bool, ...]
    alpha: float


def holm_bonferroni(p_values: Sequence[float], alpha: float = 0.05) -> HolmResult:
    """Holm-adjusted p-values, in input order, and which hypotheses to reject at `alpha`."""
    check_probability(alpha, "alpha")
    ps: list[float] = []
    for i, p in enumerate(p_values):
        if isinstance(p, bool) or not isinstance(p, int | float) or math.isnan(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p_values[{i}] = {p!r} is not a probability in [0, 1]")
        ps.append(float(p))
    m = len(ps)
    order = sorted(range(m), key=ps.__getitem__)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[index]))
        adjusted[index] = running
    return HolmResult(tuple(adjusted), tuple(p <= alpha for p in adjusted), alpha)
