"""How figures read in every report format: money, tokens, milliseconds, rates and metric values."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_llmops.results.report.model import GroupSummary

__all__ = ["count", "delta", "metric", "ms", "pct", "signed_pct", "usd"]


def usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.4f}"
    decimals = min(12, 2 - math.floor(math.log10(abs(value))))
    return f"${value:.{decimals}f}"


def count(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 10_000:
        return f"{value / 1000:,.1f} s"
    return f"{value:,.0f} ms"


def pct(fraction: float | None) -> str:
    if fraction is None:
        return "-"
    text = f"{fraction * 100:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def signed_pct(fraction: float | None) -> str:
    if fraction is None:
        return ""
    return ("+" if fraction >= 0 else "") + pct(fraction)


def _plain(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    return "0" if text in ("-0", "0") else text


def p_value(value: float | None, missing: str = "-") -> str:
    """A test's p-value as the drift tables show it: three significant digits, "< 0.001" below that."""
    if value is None:
        return missing
    return "< 0.001" if value < 0.001 else f"{value:.3g}"


def metric(name: str, value: float | None) -> str:
    """A metric value in its unit: pass_rate in percent, cost in USD, latency in ms, tokens as a count."""
    if value is None:
        return "-"
    if name == "pass_rate":
        return pct(value)
    if name == "cost_usd":
        return usd(value)
    if name == "latency_p95":
        return ms(value)
    if name.endswith("_tokens"):
        return count(round(value, 1))
    return _plain(value)


def delta(name: str, change: float | None) -> str:
    """A signed change in the metric's unit ("+0.05", "-12.5%" points for pass_rate, "+$0.002")."""
    if change is None:
        return ""
    if change == 0:
        return "±0"
    sign = "+" if change > 0 else "-"
    size = abs(change)
    if name == "pass_rate":
        return f"{sign}{pct(size)[:-1]} pts"
    if name == "cost_usd":
        return sign + usd(size)
    if name == "latency_p95":
        return sign + ms(size)
    if name.endswith("_tokens"):
        return sign + count(round(size, 1))
    return sign + _plain(size)


def group_texts(g: GroupSummary) -> tuple[str, str, str]:
    """A prompt version's or model's metric means, declared figures and cost, as every printer shows them."""
    metrics = ", ".join(f"{k} {metric(k, v)}" for k, v in g.metrics.items())
    declared = "; ".join(
        f"{d.key} {d.declared}" + (f" (measured {metric(d.key[4:], d.measured)})" if d.measured_as else "")
        for d in g.declared
    )
    f = g.figures
    cost = usd(f.cost_usd) + (f" + {f.unpriced_calls} unpriced" if f.unpriced_calls else "")
    return metrics, declared, cost
