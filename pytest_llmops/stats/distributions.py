"""Normal, Student t and hypergeometric distributions in pure Python.

References followed:
- normal: `math.erfc` for the tails; the quantile starts from Abramowitz &
  Stegun (1964) 26.2.23 and is polished with Halley steps on erfc, giving full
  double precision (the approach Acklam describes for refining his algorithm);
- Student t: via the regularized incomplete beta function,
  P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2) (A&S 26.7.1), evaluated with the
  continued fraction A&S 26.5.8 by the modified Lentz method
  (Thompson & Barnett 1986), switching to the complementary side when x is
  past (a+1)/(a+b+2) so the fraction converges fast;
- for large df (>= 2000, |t| <= sqrt(df/200)) the continued fraction is badly
  conditioned (x is within ~t²/df of 1), so t is mapped to the normal scale by
  the Cornish-Fisher expansion A&S 26.7.5 (terms g1..g4, truncation error
  O(df^-5)), inverted by Newton's method; the same expansion gives the
  quantile directly;
- log B(a, b) uses Stirling's series with `log1p` for large arguments, so the
  result keeps ~1e-13 relative accuracy even for df in the millions, where
  plain `lgamma` differences would lose about 8 digits;
- hypergeometric pmf via log binomial coefficients (`math.lgamma`).

Accuracy against scipy is ~1e-12 relative or better in the tests' ranges.
"""

from __future__ import annotations

import math

__all__ = [
    "hypergeom_log_pmf",
    "hypergeom_log_pmf_support",
    "hypergeom_pmf",
    "log_beta",
    "normal_cdf",
    "normal_pdf",
    "normal_ppf",
    "normal_sf",
    "regularized_incomplete_beta",
    "t_cdf",
    "t_pdf",
    "t_ppf",
    "t_sf",
    "t_two_sided_p",
]

_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_EPS = 2.220446049250313e-16
_TINY = 1e-300
_CF_MAX_ITER = 200_000
_LOG_FLOAT_MAX = math.log(1.7976931348623157e308)


# ---------------------------------------------------------------- normal


def normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / _SQRT_2PI


def normal_cdf(x: float) -> float:
    """P(Z <= x), accurate in relative terms deep into the lower tail."""
    return 0.5 * math.erfc(-x / _SQRT2)


def normal_sf(x: float) -> float:
    """P(Z > x), accurate in relative terms deep into the upper tail."""
    return 0.5 * math.erfc(x / _SQRT2)


def _check_p(p: float) -> float:
    if not isinstance(p, int | float) or math.isnan(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"a probability must be in [0, 1], got {p!r}")
    return float(p)


def _normal_lower_quantile(p: float) -> float:
    """The quantile for 0 < p <= 0.5 (a non-positive x)."""
    if p == 0.5:
        return 0.0
    t = math.sqrt(-2.0 * math.log(p))
    # A&S 26.2.23, |error| < 4.5e-4, then Halley's method on erfc.
    numerator = 2.515517 + t * (0.802853 + t * 0.010328)
    x = -(t - numerator / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))))
    centre = p > 0.25  # near 0.5, Φ(x) - p = erf(x/√2)/2 + (0.5 - p) avoids cancelling
    half_minus_p = 0.5 - p  # exact for p in [0.25, 0.5] (Sterbenz)
    for _ in range(10):
        excess = 0.5 * math.erf(x / _SQRT2) + half_minus_p if centre else normal_cdf(x) - p
        try:
            u = excess * _SQRT_2PI * math.exp(0.5 * x * x)
        except OverflowError:  # p below ~1e-308: the starting value is as good as it gets
            break
        step = u / (1.0 + 0.5 * x * u)
        x -= step
        if abs(step) <= 4 * _EPS * abs(x):
            break
    return x


def normal_ppf(p: float) -> float:
    """The standard normal quantile (inverse cdf); ±inf at 0 and 1."""
    p = _check_p(p)
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    if p > 0.5:
        return -_normal_lower_quantile(1.0 - p)  # 1 - p is exact here (Sterbenz)
    return _normal_lower_quantile(p)


# ---------------------------------------------------------- beta function


def _stirling_correction(z: float) -> float:
    """log Γ(z) - [(z - 1/2) log z - z + log √(2π)], for z >= 10."""
    z2 = 1.0 / (z * z)
    return (1.0 / z) * (
        1.0 / 12 - z2 * (1.0 / 360 - z2 * (1.0 / 1260 - z2 * (1.0 / 1680 - z2 * (1.0 / 1188))))
    )


def log_beta(a: float, b: float) -> float:
    """log B(a, b) for a, b > 0, without the cancellation of large `lgamma` values."""
    if not (a > 0 and b > 0):
        raise ValueError(f"log_beta needs a > 0 and b > 0, got a={a!r}, b={b!r}")
    small, large = (a, b) if a <= b else (b, a)
    total = small + large
    if small >= 10.0:
        return (
            _LOG_SQRT_2PI
            - 0.5 * math.log(total)
            + (small - 0.5) * math.log(small / total)
            + (large - 0.5) * math.log(large / total)
            + _stirling_correction(small)
            + _stirling_correction(large)
            - _stirling_correction(total)
        )
    if large >= 10.0:
        # log Γ(large) - log Γ(large + small), by Stirling with log1p
        diff = (
            -(large - 0.5) * math.log1p(small / large)
            - small * math.log(total)
            + small
            + _stirling_correction(large)
            - _stirling_correction(total)
        )
        return math.lgamma(small) + diff
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(total)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of A&S 26.5.8, by the modified Lentz method."""
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    f = d
    for m in range(1, _CF_MAX_ITER):
        m2 = 2 * m
        # even term: m (b - m) x / ((a + 2m - 1)(a + 2m))
        num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + num / c
        c = c if abs(c) > _TINY else _TINY
        f *= c * d
        # odd term: -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + num / c
        c = c if abs(c) > _TINY else _TINY
        delta = c * d
        f *= delta
        if abs(delta - 1.0) < 3 * _EPS:
            return f
    raise ArithmeticError(f"incomplete beta continued fraction did not converge for a={a}, b={b}, x={x}")


def _log_x_power(a: float, b: float, x: float, y: float) -> float:
    """a log x + b log y - log B(a, b), using log1p on whichever of x, y is small."""
    log_x = math.log1p(-y) if y < 0.5 else math.log(x)
    log_y = math.log1p(-x) if x < 0.5 else math.log(y)
    return a * log_x + b * log_y - log_beta(a, b)


def _betainc_pair(a: float, b: float, x: float, y: float) -> tuple[float, float]:
    """(I_x(a, b), 1 - I_x(a, b)) with x + y = 1 given separately, each accurate."""
    if x <= 0.0:
        return 0.0, 1.0
    if y <= 0.0:
        return 1.0, 0.0
    if x < (a + 1.0) / (a + b + 2.0):
        value = math.exp(_log_x_power(a, b, x, y)) * _beta_continued_fraction(a, b, x) / a
        return value, 1.0 - value
    value = math.exp(_log_x_power(b, a, y, x)) * _beta_continued_fraction(b, a, y) / b
    return 1.0 - value, value


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function (scipy's `betainc`)."""
    if not (a > 0 and b > 0):
        raise ValueError(f"incomplete beta needs a > 0 and b > 0, got a={a!r}, b={b!r}")
    x = _check_p(x)
    return _betainc_pair(a, b, x, 1.0 - x)[0]


# -------------------------------------------------------------- Student t


def _check_df(df: float) -> float:
    if not isinstance(df, int | float) or math.isnan(df) or df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df!r}")
    return float(df)


def _t_split(t: float, df: float) -> tuple[float, float]:
    """(P(T > |t|), P(0 < T < |t|)): the tail and the centre part, both accurate."""
    r = t / math.sqrt(df)
    if abs(r) > 1e150:  # x = df/(df+t²) would underflow: go through logarithms
        tail = math.exp(_t_log_cdf_lower(-abs(t), df))
        return tail, 0.5 - tail
    r2 = r * r
    if r2 <= 1.0:
        x, y = 1.0 / (1.0 + r2), r2 / (1.0 + r2)
    else:
        inv = 1.0 / r2
        x, y = inv / (1.0 + inv), 1.0 / (1.0 + inv)
    tail2, centre2 = _betainc_pair(0.5 * df, 0.5, x, y)
    return 0.5 * tail2, 0.5 * centre2


_LARGE_DF = 2000.0


def _cornish_fisher(x: float, df: float) -> tuple[float, float]:
    """t as a function of the normal deviate x (A&S 26.7.5), and dt/dx."""
    x2 = x * x
    g1 = (x2 + 1.0) * x / 4.0
    g2 = ((5.0 * x2 + 16.0) * x2 + 3.0) * x / 96.0
    g3 = (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) * x / 384.0
    g4 = ((((79.0 * x2 + 776.0) * x2 + 1482.0) * x2 - 1920.0) * x2 - 945.0) * x / 92160.0
    d1 = (3.0 * x2 + 1.0) / 4.0
    d2 = ((25.0 * x2 + 48.0) * x2 + 3.0) / 96.0
    d3 = (((21.0 * x2 + 95.0) * x2 + 51.0) * x2 - 15.0) / 384.0
    d4 = ((((711.0 * x2 + 5432.0) * x2 + 7410.0) * x2 - 5760.0) * x2 - 945.0) / 92160.0
    v = 1.0 / df
    t = x + v * (g1 + v * (g2 + v * (g3 + v * g4)))
    dt = 1.0 + v * (d1 + v * (d2 + v * (d3 + v * d4)))
    return t, dt


def _uses_expansion(t: float, df: float) -> bool:
    return df >= _LARGE_DF and t * t <= df / 200.0


def _normal_deviate_for_t(t: float, df: float) -> float:
    """The x with Φ(x) = F_t(t), for large df, by Newton on the expansion."""
    x = t
    for _ in range(50):
        value, slope = _cornish_fisher(x, df)
        step = (value - t) / slope
        x -= step
        if abs(step) <= 2 * _EPS * max(abs(x), 1e-300):
            break
    return x


def t_pdf(t: float, df: float) -> float:
    df = _check_df(df)
    if math.isinf(df):
        return normal_pdf(t)
    return math.exp(-0.5 * (df + 1.0) * math.log1p(t * t / df) - log_beta(0.5 * df, 0.5)) / math.sqrt(df)


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` (any positive real) degrees of freedom."""
    df = _check_df(df)
    if math.isnan(t):
        raise ValueError("t must not be NaN")
    if math.isinf(df):
        return normal_sf(t)
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if _uses_expansion(t, df):
        return normal_sf(_normal_deviate_for_t(t, df))
    tail, centre = _t_split(t, df)
    return tail if t >= 0 else 0.5 + centre


def t_cdf(t: float, df: float) -> float:
    """P(T <= t)."""
    return t_sf(-t, df)


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|), computed directly (no 2*(1 - cdf) cancellation)."""
    df = _check_df(df)
    if math.isnan(t):
        raise ValueError("t must not be NaN")
    if math.isinf(df):
        return math.erfc(abs(t) / _SQRT2)
    if math.isinf(t):
        return 0.0
    if _uses_expansion(t, df):
        return math.erfc(abs(_normal_deviate_for_t(t, df)) / _SQRT2)
    return min(1.0, 2.0 * _t_split(t, df)[0])


def _t_log_cdf_lower(t: float, df: float) -> float:
    """log P(T <= t) for t < 0, without underflow far in the tail (x = df/(df+t²) may be 0)."""
    log_r = math.log(-t) - 0.5 * math.log(df)  # r = |t|/√df itself may overflow
    if log_r > 0.0:
        log1p_inv = math.log1p(math.exp(-2.0 * log_r))
        log_x, log_y = -(2.0 * log_r + log1p_inv), -log1p_inv
    else:
        log1p_r2 = math.log1p(math.exp(2.0 * log_r))
        log_x, log_y = -log1p_r2, 2.0 * log_r - log1p_r2
    a = 0.5 * df
    x = math.exp(log_x)
    if x < (a + 1.0) / (a + 1.5):
        front = a * log_x + 0.5 * log_y - log_beta(a, 0.5)
        return math.log(0.5) + front + math.log(_beta_continued_fraction(a, 0.5, x) / a)
    return math.log(0.5 * _betainc_pair(a, 0.5, x, math.exp(log_y))[0])


def _t_log_pdf(t: float, df: float) -> float:
    r = abs(t) / math.sqrt(df)
    log1p_r2 = 2.0 * math.log(r) + math.log1p(1.0 / (r * r)) if r > 1.0 else math.log1p(r * r)
    return -0.5 * (df + 1.0) * log1p_r2 - log_beta(0.5 * df, 0.5) - 0.5 * math.log(df)


def _t_far_lower_quantile(q: float, df: float) -> float:
    """The t quantile for tiny q, where t can be huge and the pdf underflows.

    Solves log F(-e^s) = log q for s = log|t|; there the tail is close to a
    power law, so log F is nearly linear in s. Newton's method, kept inside a
    bracket by bisection.
    """
    log_q = math.log(q)

    def excess(s: float) -> float:
        return _t_log_cdf_lower(-math.exp(s), df) - log_q

    lo = math.log(-normal_ppf(q))  # F(lo) >= q: t quantiles lie beyond normal ones
    hi, width = lo + 1.0, 1.0
    while excess(hi) > 0.0:
        if hi >= _LOG_FLOAT_MAX:
            return -math.inf  # the quantile is beyond the largest float
        lo, width = hi, 2.0 * width
        hi = min(_LOG_FLOAT_MAX, hi + width)
    s = 0.5 * (lo + hi)
    for _ in range(200):
        value = excess(s)
        if value > 0.0:
            lo = s
        else:
            hi = s
        t = -math.exp(s)
        slope = -math.exp(_t_log_pdf(t, df) - _t_log_cdf_lower(t, df) + s)
        candidate = s - value / slope if slope < 0.0 else 0.5 * (lo + hi)
        if not lo < candidate < hi:
            candidate = 0.5 * (lo + hi)
        if abs(candidate - s) <= 4 * _EPS * abs(s) or hi - lo <= 4 * _EPS * abs(s):
            s = candidate
            break
        s = candidate
    return -math.exp(s)


def _t_lower_quantile(q: float, df: float) -> float:
    """The t quantile for 0 < q < 0.5 (a negative t), by Newton's method.

    The cdf is convex for t < 0 and the normal quantile lies right of the root
    (t has heavier tails), so Newton's iterates decrease monotonically to it.
    """
    if df == 1.0:
        return -1.0 / math.tan(math.pi * q)
    if df == 2.0:
        return -(1.0 - 2.0 * q) / math.sqrt(2.0 * q * (1.0 - q))
    t = normal_ppf(q)
    if _uses_expansion(t, df):
        return _cornish_fisher(t, df)[0]
    if q < 1e-20:
        return _t_far_lower_quantile(q, df)
    use_centre = q > 0.25
    half_minus_q = 0.5 - q
    previous = math.inf
    for _ in range(2000):
        tail, centre = _t_split(t, df)
        excess = (half_minus_q - centre) if use_centre else (tail - q)
        step = excess / t_pdf(t, df)
        t -= step
        if abs(step) <= 8 * _EPS * abs(t):
            break
        # At large df the cdf's last bits are rounding noise and Newton dithers around the root
        # instead of meeting the tolerance: stop once the steps stop shrinking near it.
        if abs(step) >= abs(previous) and abs(step) <= 1e-12 * abs(t):
            break
        previous = step
    return t


def t_ppf(p: float, df: float) -> float:
    """Student t quantile (inverse cdf); ±inf at 0 and 1."""
    p = _check_p(p)
    df = _check_df(df)
    if math.isinf(df):
        return normal_ppf(p)
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    if p == 0.5:
        return 0.0
    if p > 0.5:
        return -_t_lower_quantile(1.0 - p, df)
    return _t_lower_quantile(p, df)


# --------------------------------------------------------- hypergeometric


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def hypergeom_log_pmf(k: int, population: int, successes: int, draws: int) -> float:
    """log P(K = k) drawing `draws` items without replacement from `population`
    items of which `successes` are successes (scipy's `hypergeom(M, n, N)`)."""
    if not 0 <= successes <= population or not 0 <= draws <= population:
        raise ValueError(
            f"hypergeometric needs 0 <= successes, draws <= population, got "
            f"population={population}, successes={successes}, draws={draws}"
        )
    if k < max(0, draws - (population - successes)) or k > min(draws, successes):
        return -math.inf
    return (
        _log_comb(successes, k) + _log_comb(population - successes, draws - k) - _log_comb(population, draws)
    )


def hypergeom_pmf(k: int, population: int, successes: int, draws: int) -> float:
    return math.exp(hypergeom_log_pmf(k, population, successes, draws))


def hypergeom_log_pmf_support(population: int, successes: int, draws: int) -> tuple[int, list[float]]:
    """(lowest k, [log pmf for every k in the support]), sharing the constant terms."""
    hypergeom_log_pmf(0, population, successes, draws)  # validates the parameters
    failures = population - successes
    lo, hi = max(0, draws - failures), min(draws, successes)
    constant = (
        math.lgamma(successes + 1)
        + math.lgamma(failures + 1)
        + math.lgamma(draws + 1)
        + math.lgamma(population - draws + 1)
        - math.lgamma(population + 1)
    )
    lg = math.lgamma
    return lo, [
        constant - lg(k + 1) - lg(successes - k + 1) - lg(draws - k + 1) - lg(failures - draws + k + 1)
        for k in range(lo, hi + 1)
    ]
