"""`record_score`: any metric of your own, kept and compared like the built-in scores."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pytest_llmops.checks import core
from pytest_llmops.results.scores import Score


def record_score(
    name: str,
    value: float,
    threshold: float | None = None,
    higher_is_better: bool = True,
    *,
    details: Mapping[str, Any] | None = None,
    scale: tuple[float, float] | None = None,
) -> Score:
    """Record `value` as score `name` of the running test; with a threshold, fail the test when it misses.

    `higher_is_better=False` for metrics such as latency or error counts: the
    value then passes when it is <= the threshold, and the baseline treats a
    rise as a regression. `scale=(low, high)` says which values the score can
    take (default: inferred from the values); the report's confidence intervals
    stay on it.
    """
    __tracebackhide__ = True
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"record_score: name must be a non-empty string, got {name!r}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"record_score({name!r}): value must be a finite number, got {value!r}")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold)
    ):
        raise ValueError(f"record_score({name!r}): threshold must be a finite number, got {threshold!r}")
    if scale is not None:
        try:
            low, high = (float(x) for x in scale)
        except (TypeError, ValueError):
            raise ValueError(f"record_score({name!r}): scale must be (low, high), got {scale!r}") from None
        if not low < high or not low <= value <= high:
            raise ValueError(
                f"record_score({name!r}): value {value!r} must lie on the scale (low, high) = {scale!r}, low < high"
            )
        details = {**(details or {}), "scale": [low, high]}
    score = Score(
        name=name,
        value=float(value),
        threshold=None if threshold is None else float(threshold),
        higher_is_better=higher_is_better,
        scorer="custom",
        details=core.jsonable(dict(details or {})),
    )
    return core.conclude(score, str(score.details.get("reason", "")))


def record_output(
    output: str, *, inputs: Mapping[str, Any] | None = None, expected: str | None = None
) -> None:
    """Show `output` as the running test's answer in the report, beside the baseline's answer.

    Checks do this on their own with the text they score (the first answer check's text wins); call it
    when no check sees the answer (only `record_score`), or to show another text. `inputs` (name ->
    text, a list, or id -> text) and `expected` are shown with it. Texts are cut at 2,000 characters
    (inputs at 1,000); outside an llm test it does nothing.
    """
    if not isinstance(output, str):
        raise TypeError(f"record_output: output must be a string, got {type(output).__name__}")
    core.observe(output, inputs, expected, rank=3)
