"""How many examples a comparison needs: sample sizes for power (1 - β) at level α.

Normal-approximation formulas (two-sided unless `two_sided=False`):
- two means, per arm (unequal variances, equal allocation):
  n = (z_{1-α/2} + z_{1-β})² (σ_a² + σ_b²) / Δ²  (Chow, Shao & Wang 2008, §3.2);
  with σ_a = σ_b this is the familiar 2(z_{1-α/2} + z_{1-β})² / d²;
- paired means, pairs: n = ((z_{1-α/2} + z_{1-β}) σ_d / Δ)²;
- two proportions, per arm: Fleiss, Levin & Paik (2003) eq. 4.14 without
  continuity correction,
  n = (z_{1-α/2} √(2 p̄ q̄) + z_{1-β} √(p_a q_a + p_b q_b))² / (p_a - p_b)²;
- paired proportions (McNemar), pairs: Connor (1987),
  n = (z_{1-α/2} √ψ + z_{1-β} √(ψ - δ²))² / δ², ψ = p10 + p01, δ = p10 - p01.

The normal approximation runs 1-2 below exact t-based answers for small n
(d = 0.5 gives 63 per arm here, 64 by the t distribution). A zero effect
returns None (no sample size detects it); results are at least 2.
"""

from __future__ import annotations

import math

from pytest_llmops.stats._inputs import check_probability
from pytest_llmops.stats.distributions import normal_ppf

__all__ = [
    "sample_size_mcnemar",
    "sample_size_paired_means",
    "sample_size_two_means",
    "sample_size_two_proportions",
]

_MINIMUM = 2


def _z_sum(alpha: float, power: float, two_sided: bool) -> tuple[float, float]:
    check_probability(alpha, "alpha")
    check_probability(power, "power")
    z_alpha = normal_ppf(1.0 - alpha / 2.0) if two_sided else normal_ppf(1.0 - alpha)
    return z_alpha, normal_ppf(power)


def _ceil(n: float) -> int:
    # Absorb float noise such as 62.00000000001 before rounding up.
    return max(_MINIMUM, math.ceil(n - 1e-9))


def _finite(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _spread(value: float, name: str) -> float:
    if _finite(value, name) < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    return float(value)


def _proportion(value: float, name: str) -> float:
    if _finite(value, name) < 0 or value > 1:
        raise ValueError(f"{name} must be a proportion in [0, 1], got {value!r}")
    return float(value)


def sample_size_two_means(
    difference: float,
    sd_a: float,
    sd_b: float | None = None,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
) -> int | None:
    """Examples per arm to detect a mean difference with SDs sd_a, sd_b (default sd_b = sd_a)."""
    delta = _finite(difference, "difference")
    variance = _spread(sd_a, "sd_a") ** 2 + _spread(sd_a if sd_b is None else sd_b, "sd_b") ** 2
    if delta == 0.0:
        return None
    za, zb = _z_sum(alpha, power, two_sided)
    return _ceil((za + zb) ** 2 * variance / (delta * delta))


def sample_size_paired_means(
    mean_difference: float,
    sd_difference: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
) -> int | None:
    """Pairs needed to detect a mean paired difference with SD `sd_difference`."""
    delta = _finite(mean_difference, "mean_difference")
    sd = _spread(sd_difference, "sd_difference")
    if delta == 0.0:
        return None
    za, zb = _z_sum(alpha, power, two_sided)
    return _ceil(((za + zb) * sd / delta) ** 2)


def sample_size_two_proportions(
    p_a: float, p_b: float, *, alpha: float = 0.05, power: float = 0.8, two_sided: bool = True
) -> int | None:
    """Examples per arm to detect success rates p_a vs p_b (Fleiss, no continuity correction)."""
    pa, pb = _proportion(p_a, "p_a"), _proportion(p_b, "p_b")
    if pa == pb:
        return None
    za, zb = _z_sum(alpha, power, two_sided)
    p_bar = (pa + pb) / 2.0
    numerator = za * math.sqrt(2.0 * p_bar * (1.0 - p_bar)) + zb * math.sqrt(pa * (1 - pa) + pb * (1 - pb))
    return _ceil(numerator**2 / (pa - pb) ** 2)


def sample_size_mcnemar(
    p_10: float, p_01: float, *, alpha: float = 0.05, power: float = 0.8, two_sided: bool = True
) -> int | None:
    """Pairs needed for McNemar's test, given the discordant-pair proportions
    p_10 (only the first variant succeeds) and p_01 (only the second does)."""
    p10, p01 = _proportion(p_10, "p_10"), _proportion(p_01, "p_01")
    if p10 + p01 > 1.0 + 1e-12:
        raise ValueError(f"p_10 + p_01 cannot exceed 1, got {p10} + {p01}")
    delta = p10 - p01
    if delta == 0.0:
        return None
    za, zb = _z_sum(alpha, power, two_sided)
    psi = p10 + p01
    numerator = za * math.sqrt(psi) + zb * math.sqrt(max(0.0, psi - delta * delta))
    return _ceil(numerator**2 / (delta * delta))
