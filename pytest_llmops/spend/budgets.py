"""Per-test budgets from the marker: cost, tokens and latency of the app's calls.

With `repeat`, cost and tokens are held per run (the most expensive run must
fit) and latency is the p95 over every run's calls; without, the slowest call.
Judge calls are evaluation overhead and are not counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from pytest_llmops.spend.calls import LLMCall


@dataclass(frozen=True)
class Breach:
    limit: str
    allowed: float
    actual: float
    unpriced: list[str] | None = None

    def __str__(self) -> str:
        if self.unpriced:
            return (
                f"budget_usd: cost unknown, no price for {', '.join(self.unpriced)} "
                f"(allowed ${self.allowed:,.6g}); add the model to the llm_prices file"
            )
        unit = {"budget_usd": "$", "budget_tokens": "", "max_latency_ms": ""}[self.limit]
        suffix = (
            " ms" if self.limit == "max_latency_ms" else (" tokens" if self.limit == "budget_tokens" else "")
        )
        return f"{self.limit}: {unit}{self.actual:,.6g}{suffix} > allowed {unit}{self.allowed:,.6g}{suffix}"


def _p95(values: list[float]) -> float:
    from pytest_llmops.stats import quantile

    return quantile(values, 0.95)


class Limits(Protocol):
    """The test's merged `llm` marker (`pytest_llmops.markers.LLMMarker`), as far as budgets read it."""

    def get(self, name: str, default: Any = None) -> Any: ...


def check(marker: Limits, calls: list[LLMCall], runs: int) -> list[Breach]:
    app = [c for c in calls if c.role == "app"]
    per_run: dict[int, list[LLMCall]] = defaultdict(list)
    for call in app:
        per_run[int(call.extra.get("run", 0))].append(call)
    breaches = []
    budget = marker.get("budget_usd")
    if budget is not None and app:
        unpriced = sorted(
            {c.model or c.request_model or "?" for c in app if c.cost_usd is None and not c.failed}
        )
        if unpriced:
            # Unknown is not $0: a budget that cannot be checked fails, naming what to price.
            breaches.append(Breach("budget_usd", budget, float("nan"), unpriced))
        else:
            worst = max(sum(c.cost_usd or 0.0 for c in group) for group in per_run.values())
            if worst > budget:
                breaches.append(Breach("budget_usd", budget, worst))
    budget_tokens = marker.get("budget_tokens")
    if budget_tokens is not None and app:
        worst_tokens = max(sum(c.total_tokens for c in group) for group in per_run.values())
        if worst_tokens > budget_tokens:
            breaches.append(Breach("budget_tokens", budget_tokens, worst_tokens))
    max_latency = marker.get("max_latency_ms")
    latencies = [c.latency_ms for c in app if c.latency_ms is not None]
    if max_latency is not None and latencies:
        observed = _p95(latencies) if runs > 1 else max(latencies)
        if observed > max_latency:
            breaches.append(Breach("max_latency_ms", max_latency, observed))
    return breaches


def breach_message(breaches: list[Breach], calls: list[LLMCall]) -> str:
    lines = ["LLM budget exceeded: " + "; ".join(str(b) for b in breaches), "calls:"]
    for i, c in enumerate(c for c in calls if c.role == "app"):
        cost = "unknown" if c.cost_usd is None else f"${c.cost_usd:.6f}"
        latency = "?" if c.latency_ms is None else f"{c.latency_ms:.0f} ms"
        tokens = f"{c.input_tokens or 0} in / {c.output_tokens or 0} out" + (
            " (estimated)" if c.estimated else ""
        )
        run = f" run {c.extra['run']}" if c.extra.get("run") else ""
        lines.append(
            f"  #{i}{run} {c.provider} {c.model or c.request_model or '?'} {c.endpoint}: "
            f"{tokens}, {latency}, {cost}"
        )
    return "\n".join(lines)
