"""Choose who scores: a local scorer, the LLM judge, or the local scorer first and the judge when unsure.

| judge configured | `llm_judge_mode` | who scores                                                  |
|------------------|------------------|-------------------------------------------------------------|
| no               | any              | the local scorer (`llm_scorer`: lexical or semantic)        |
| yes              | off              | the local scorer                                            |
| yes              | always           | the judge                                                   |
| yes              | cascade          | the local scorer; the judge when its value, on the 0-1      |
|                  |                  | scale, falls in the uncertain band (default 0.35-0.75)      |

In cascade mode every score says what happened in its details:
`escalated` (True when the judge was asked), `local_value` and `local_scorer`
(what the local scorer said) and `cascade_band`. The judge's cost is the
Score's `judge_cost_usd`, None when it was not asked (or its price is unknown).
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_llmops.checks import settings as _settings
from pytest_llmops.checks.core import Assessment
from pytest_llmops.checks.scorer import LocalScorer, local_scorer
from pytest_llmops.checks.verdict import Verdict

LocalFn = Callable[[LocalScorer], Assessment]
JudgeFn = Callable[[], Assessment]


def _identity(value: float) -> float:
    return value


def assess(
    local: LocalFn,
    judge: JudgeFn,
    *,
    unit: Callable[[float], float] = _identity,
    uncertain: Callable[[Assessment], bool] | None = None,
) -> Assessment:
    """Run `local` and/or `judge` as the settings say.

    In cascade mode the judge is asked when `uncertain(local result)` is true;
    by default, when the local value mapped to 0-1 by `unit` is in the band.
    """
    config = _settings.current()
    if not config.uses_judge:
        return local(local_scorer(config.scorer))
    if config.mode == "always":
        return judge()
    first = local(local_scorer(config.scorer))
    low, high = config.band
    cascade = {"local_value": first.value, "local_scorer": first.scorer, "cascade_band": [low, high]}
    unsure = uncertain(first) if uncertain is not None else low <= unit(first.value) <= high
    if not unsure:
        first.details.update(escalated=False, **cascade)
        return first
    second = judge()
    second.details.update(escalated=True, **cascade)
    return second


def band_contains(unit_value: float) -> bool:
    """Whether a 0-1 value is in the configured cascade band."""
    low, high = _settings.current().band
    return low <= unit_value <= high


def judged(
    rubric: str,
    variables: dict[str, str],
    value: Callable[[Verdict], float],
    tagged: frozenset[str] = frozenset(),
) -> tuple[Assessment, Verdict]:
    """Ask the judge with `rubric`; the Assessment carries its reason, details and cost."""
    from pytest_llmops.checks.judge import ask

    outcome = ask(rubric, variables, tagged)
    verdict = outcome.verdict
    result = Assessment(
        value=value(verdict),
        scorer=outcome.scorer,
        reason=verdict.reason or "(the judge gave no reason)",
        details=outcome.details(),
        judge_cost_usd=outcome.cost_usd,
    )
    return result, verdict


def from_five(verdict: Verdict) -> float:
    """A 1-5 judge score on the 0-1 scale: (score - 1) / 4."""
    return (verdict.score - 1.0) / 4.0
