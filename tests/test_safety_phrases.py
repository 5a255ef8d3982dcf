"""The phrase rules shared by the injection and toxicity detectors: compiled on first use, all valid."""

from __future__ import annotations

import re
import uuid

from pytest_llmops.safety import injection, injection_signals, toxicity
from pytest_llmops.safety.phrases import DECLARED, _compiled, find_phrases, phrase
from pytest_llmops.safety.text_view import TextView


def test_every_declared_rule_compiles() -> None:
    """Rules compile lazily, so a broken expression would only fail on the first text holding its word."""
    assert {injection.__name__, injection_signals.__name__, toxicity.__name__}  # their rules are declared
    assert len(DECLARED) > 200
    for rule in DECLARED:
        assert isinstance(rule.pattern, re.Pattern), rule.label
        assert rule.before_source is None or isinstance(rule.before, re.Pattern), rule.label


def test_a_rule_is_compiled_only_when_its_word_occurs() -> None:
    fresh = f"(?#{uuid.uuid4().hex})"  # expressions no earlier run of this test compiled
    rule = phrase(
        "test_only",
        "zanzibar",
        rf"zanzibar\s+protocol\b{fresh}",
        rf"(?:activate|engage)\s+(?:the\s+)?{fresh}",
    )
    compiled = _compiled.cache_info().misses
    assert list(find_phrases(TextView("Nothing to see here, no protocol."), [rule])) == []
    assert _compiled.cache_info().misses == compiled

    text = "Please engage the Zanzibar protocol now."
    assert list(find_phrases(TextView(text), [rule])) == [(18, 35, "test_only")]
    assert _compiled.cache_info().misses == compiled + 2  # the pattern and its `before`
    # `before` must end where the match begins: without it, no match.
    assert list(find_phrases(TextView("The Zanzibar protocol, engaged."), [rule])) == []
    assert _compiled.cache_info().misses == compiled + 2
    DECLARED.remove(rule)
