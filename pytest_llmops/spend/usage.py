"""`llm_usage`: a test's own calls and totals, for assertions the marker's budgets don't cover."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pytest_llmops.spend.calls import LLMCall


@dataclass
class Usage:
    """Live view of the running test's calls (app and judge); totals count the app's calls only.

    `source` returns the test's calls so far (the running test's context hands in its own); the view
    reads it on every access, so totals follow the test as it makes more calls.
    """

    _source: Callable[[], list[LLMCall]]

    @property
    def all_calls(self) -> list[LLMCall]:
        return self._source()

    @property
    def calls(self) -> list[LLMCall]:
        return [c for c in self._source() if c.role == "app"]

    @property
    def judge_calls(self) -> list[LLMCall]:
        return [c for c in self._source() if c.role == "judge"]

    @property
    def input_tokens(self) -> int:
        return sum(c.input_tokens or 0 for c in self.calls)

    @property
    def cached_input_tokens(self) -> int:
        return sum(c.cached_input_tokens or 0 for c in self.calls)

    @property
    def output_tokens(self) -> int:
        return sum(c.output_tokens or 0 for c in self.calls)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost_usd(self) -> float | None:
        """Sum of known costs; None when any call's price is unknown (never a silent partial sum)."""
        costs = [c.cost_usd for c in self.calls]
        if any(c is None for c in costs):
            return None
        return float(sum(c for c in costs if c is not None))

    @property
    def known_cost_usd(self) -> float:
        return float(sum(c.cost_usd or 0.0 for c in self.calls))

    @property
    def max_latency_ms(self) -> float | None:
        values = [c.latency_ms for c in self.calls if c.latency_ms is not None]
        return max(values) if values else None

    @property
    def estimated(self) -> bool:
        return any(c.estimated for c in self.calls)

    def __len__(self) -> int:
        return len(self.calls)
