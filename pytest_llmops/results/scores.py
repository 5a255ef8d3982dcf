"""`Score`: one measured quality figure of a test, recorded whether the test passes or not."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class Score:
    """A metric value with what it was held to.

    `passed` is None when no threshold was given (the score is only recorded).
    `scorer` says what produced the value ("lexical", "semantic",
    "judge:openai:gpt-4o-mini", "rule", "custom").
    """

    name: str
    value: float
    threshold: float | None = None
    passed: bool | None = None
    higher_is_better: bool = True
    scorer: str = "custom"
    details: dict[str, Any] = field(default_factory=dict)
    judge_cost_usd: float | None = None
    run: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        return cls(**{k: v for k, v in data.items() if k in _FIELD_SET})

    def meets(self, threshold: float) -> bool:
        return self.value >= threshold if self.higher_is_better else self.value <= threshold


_FIELDS = tuple(f.name for f in fields(Score))
_FIELD_SET = frozenset(_FIELDS)
