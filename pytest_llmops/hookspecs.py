"""pytest-llmops' own hooks, added with `pytest_addhooks`.

Implement them in a conftest.py or a plugin to add providers, prices, checks
and reporters without forking. Every hook is optional to implement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_llmops.checks.registry import CheckRegistry
    from pytest_llmops.recording.interactions import Interaction
    from pytest_llmops.spend.calls import LLMCall


@pytest.hookspec(firstresult=True)
def pytest_llmops_parse_call(interaction: Interaction) -> LLMCall | None:
    """Turn one recorded or live interaction into an `LLMCall`.

    Return None when the interaction is not for your provider; the first
    non-None result wins, and plugins run before the built-in OpenAI and
    Anthropic adapters. Leave `cost_usd` unset: pricing happens afterwards.
    """


@pytest.hookspec(historic=True)
def pytest_llmops_register_checks(registry: CheckRegistry) -> None:
    """Add named checks: `registry.register("tone", fn, higher_is_better=True)`.

    Historic, so conftest files loaded after the session starts are still
    asked. Tests run a registered check with `checks.run("tone", text,
    threshold=0.8)`; it returns a Score, a number or (number, details) and is
    thresholded, recorded and failed like a built-in check.
    """
