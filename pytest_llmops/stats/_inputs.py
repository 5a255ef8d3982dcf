"""Validation shared by the statistics functions: one place that turns user
input into clean lists of floats or says exactly what is wrong with it.

NaN is never silently propagated: by default it is an error that names the
position, and `nan_policy="omit"` drops it (for paired data, the whole pair).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

NanPolicy = Literal["raise", "omit"]
Alternative = Literal["two-sided", "less", "greater"]

_ALTERNATIVES = ("two-sided", "less", "greater")


def check_nan_policy(nan_policy: str) -> None:
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")


def check_alternative(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")


def check_probability(value: float, name: str) -> float:
    """An open-interval probability such as alpha, power or a confidence level."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def _as_float(value: object, name: str, index: int) -> float:
    if isinstance(value, str | bytes):
        raise ValueError(f"{name}[{index}] = {value!r} is text, not a number")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name}[{index}] = {value!r} is not a number") from None


def _materialize(values: Iterable[float], name: str) -> list[float]:
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be a sequence of numbers, not a string")
    return [_as_float(v, name, i) for i, v in enumerate(values)]


def _reject_infinite(xs: list[float], name: str) -> None:
    for i, x in enumerate(xs):
        if math.isinf(x):
            raise ValueError(f"{name}[{i}] is infinite; statistics need finite values")


def sample(
    values: Iterable[float], name: str, *, nan_policy: NanPolicy = "raise", min_n: int = 1
) -> list[float]:
    """The finite values of one sample, with NaNs rejected or omitted."""
    check_nan_policy(nan_policy)
    raw = _materialize(values, name)
    _reject_infinite(raw, name)
    out: list[float] = []
    for i, x in enumerate(raw):
        if math.isnan(x):
            if nan_policy == "raise":
                raise ValueError(f"{name}[{i}] is NaN; remove it or pass nan_policy='omit'")
            continue
        out.append(x)
    if len(out) < min_n:
        dropped = len(raw) - len(out)
        note = f" after omitting {dropped} NaN(s)" if dropped else ""
        raise ValueError(f"{name} needs at least {min_n} value(s){note}, got {len(out)}")
    return out


def pairs(
    a: Iterable[float],
    b: Iterable[float],
    names: tuple[str, str] = ("a", "b"),
    *,
    nan_policy: NanPolicy = "raise",
    min_n: int = 1,
) -> tuple[list[float], list[float]]:
    """Two paired samples of equal length; with `omit`, a pair goes if either side is NaN."""
    check_nan_policy(nan_policy)
    xs, ys = _materialize(a, names[0]), _materialize(b, names[1])
    if len(xs) != len(ys):
        raise ValueError(
            f"paired samples must have equal lengths: {names[0]} has {len(xs)} values, "
            f"{names[1]} has {len(ys)}"
        )
    _reject_infinite(xs, names[0])
    _reject_infinite(ys, names[1])
    out_x: list[float] = []
    out_y: list[float] = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if math.isnan(x) or math.isnan(y):
            if nan_policy == "raise":
                which = names[0] if math.isnan(x) else names[1]
                raise ValueError(f"{which}[{i}] is NaN; remove the pair or pass nan_policy='omit'")
            continue
        out_x.append(x)
        out_y.append(y)
    if len(out_x) < min_n:
        dropped = len(xs) - len(out_x)
        note = f" after omitting {dropped} pair(s) with NaN" if dropped else ""
        raise ValueError(f"paired samples need at least {min_n} pair(s){note}, got {len(out_x)}")
    return out_x, out_y


def binary(xs: list[float], name: str) -> list[int]:
    """0/1 outcomes (bools accepted); anything else is an error naming the position."""
    out: list[int] = []
    for i, x in enumerate(xs):
        if x not in (0.0, 1.0):
            raise ValueError(f"{name}[{i}] = {x!r}: binary outcomes must be 0/1 or False/True")
        out.append(int(x))
    return out


def count(value: object, name: str) -> int:
    """A non-negative whole number (a count of successes or trials)."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer() and value >= 0:
            return int(value)
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value
