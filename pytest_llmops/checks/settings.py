"""Judge and scorer configuration for the checks, one module-level slot.

The plugin session calls `configure(...)` when it starts, from `--llm-judge`,
`llm_judge_mode`, `llm_judge_base_url` and `llm_scorer`. Outside pytest the
defaults apply: no judge, the lexical scorer. A module slot rather than a value
passed around because checks are plain functions called from test code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

JUDGE_MODES = ("off", "always", "cascade")
SCORERS = ("lexical", "semantic")

DEFAULT_BAND = (0.35, 0.75)
"""Cascade: a local score in this band (on the 0-1 scale; relevance's 1-5 is mapped with (v-1)/4)
is too uncertain to trust, so the judge is asked. Below it the answer is clearly bad, above it
clearly good, and the judge's cost is saved."""


@dataclass(frozen=True, slots=True)
class CheckSettings:
    judge: str | None = None
    """`provider:model`, e.g. `openai:gpt-4o-mini`; None: local scorers only."""
    mode: str = "always"
    base_url: str | None = None
    scorer: str = "lexical"
    band: tuple[float, float] = DEFAULT_BAND
    cassette_only: bool = False
    """Inside a pytest session: the judge may only be asked from an llm test, whose cassette
    records and replays its calls; elsewhere its calls would go out unrecorded."""

    @property
    def judge_provider(self) -> str | None:
        return self.judge.partition(":")[0] if self.judge else None

    @property
    def judge_model(self) -> str | None:
        return self.judge.partition(":")[2] if self.judge else None

    @property
    def uses_judge(self) -> bool:
        return self.judge is not None and self.mode != "off"


_settings = CheckSettings()


def _validated(settings: CheckSettings) -> CheckSettings:
    if settings.judge is not None:
        from pytest_llmops.markers import judge_problem

        problem = judge_problem(settings.judge)
        if problem:
            raise ValueError(f"judge {settings.judge!r} is not {problem}")
    if settings.mode not in JUDGE_MODES:
        raise ValueError(f"judge mode {settings.mode!r} is not one of {', '.join(JUDGE_MODES)}")
    if settings.scorer not in SCORERS:
        raise ValueError(f"scorer {settings.scorer!r} is not one of {', '.join(SCORERS)}")
    low, high = settings.band
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"cascade band {settings.band!r} must satisfy 0 <= low <= high <= 1")
    return settings


def configure(
    judge: str | None = None,
    mode: str = "always",
    base_url: str | None = None,
    scorer: str = "lexical",
    band: tuple[float, float] = DEFAULT_BAND,
    cassette_only: bool = False,
) -> CheckSettings:
    """Set how every following check scores; returns the new settings.

    Raises ValueError naming the bad value (the plugin validates its options
    before, so this only fires for direct callers).
    """
    global _settings
    low, high = band
    chosen = CheckSettings(
        judge or None, mode, base_url or None, scorer, (float(low), float(high)), cassette_only
    )
    _settings = _validated(chosen)
    for listener in _on_configure:
        listener()
    return _settings


_on_configure: list[Callable[[], None]] = []


def on_configure(listener: Callable[[], None]) -> None:
    """Call `listener` after every `configure` (the judge drops its cached clients then)."""
    if listener not in _on_configure:
        _on_configure.append(listener)


def reset() -> None:
    """Back to the defaults (the plugin calls this when its session stops)."""
    global _prompt_loader
    _prompt_loader = None
    configure()


_prompt_loader: Callable[[str], Any] | None = None


def use_prompts(loader: Callable[[str], Any] | None) -> None:
    """Where `"prompt:name@version"` criteria are looked up (the session passes its `llm_prompts_dir`)."""
    global _prompt_loader
    _prompt_loader = loader


def load_prompt(spec: str) -> Any:
    """The prompt `spec` names; a ValueError saying where prompts come from when there is none."""
    if _prompt_loader is None:
        raise ValueError(
            f"prompt {spec!r}: no prompts folder is known here; run inside pytest (prompts come from "
            "llm_prompts_dir) or pass the Prompt itself: PromptRegistry.load(folder).get(ref)"
        )
    from pytest_llmops.prompts import PromptError

    try:
        return _prompt_loader(spec)
    except PromptError as exc:
        raise ValueError(f"prompt {spec!r}: {exc}") from None


def current() -> CheckSettings:
    return _settings


def override(**changes: Any) -> CheckSettings:
    """Change some settings until `restore` (the plugin uses it for a test's `judge=` marker)."""
    global _settings
    _settings = _validated(replace(_settings, **changes))
    return _settings


def restore(previous: CheckSettings) -> None:
    global _settings
    _settings = previous


@contextlib.contextmanager
def configured(**changes: Any) -> Iterator[CheckSettings]:
    """Temporarily change some settings, e.g. `with configured(scorer="semantic"): ...`."""
    global _settings
    previous = _settings
    try:
        _settings = _validated(replace(previous, **changes))
        yield _settings
    finally:
        _settings = previous
