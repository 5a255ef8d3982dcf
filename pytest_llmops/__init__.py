"""pytest-llmops: LLM regression testing for pytest.

Record every LLM call once, replay it from a cassette in CI, score the answers,
hold budgets, compare with a committed baseline and A/B test variants.

Public names are loaded on first access, so importing the package (which
pytest does in every run through the plugin) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Case",
    "CassetteMiss",
    "LLMCall",
    "Prompt",
    "PromptError",
    "PromptRegistry",
    "Score",
    "TestRecord",
    "Variant",
    "__version__",
    "checks",
    "current_test",
    "safety",
]

_LAZY = {
    "Case": ("pytest_llmops.experiments.datasets", "Case"),
    "CassetteMiss": ("pytest_llmops.recording.transport", "CassetteMiss"),
    "LLMCall": ("pytest_llmops.spend.calls", "LLMCall"),
    "Prompt": ("pytest_llmops.prompts", "Prompt"),
    "PromptError": ("pytest_llmops.prompts", "PromptError"),
    "PromptRegistry": ("pytest_llmops.prompts", "PromptRegistry"),
    "Score": ("pytest_llmops.results.scores", "Score"),
    "TestRecord": ("pytest_llmops.results.records", "TestRecord"),
    "Variant": ("pytest_llmops.experiments.variants", "Variant"),
    "current_test": ("pytest_llmops.context", "current"),
}
_SUBMODULES = {"checks", "safety"}

if TYPE_CHECKING:
    from pytest_llmops import checks, safety
    from pytest_llmops.context import current as current_test
    from pytest_llmops.experiments.datasets import Case
    from pytest_llmops.experiments.variants import Variant
    from pytest_llmops.prompts import Prompt, PromptError, PromptRegistry
    from pytest_llmops.recording.transport import CassetteMiss
    from pytest_llmops.results.records import TestRecord
    from pytest_llmops.results.scores import Score
    from pytest_llmops.spend.calls import LLMCall


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(f"pytest_llmops.{name}")
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pytest_llmops' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
