"""`@pytest.mark.llm(...)`: its keywords, their checks, and the merged view for one test."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_llmops.recording.cassette import RecordMode


def _str(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "a non-empty string"


def _str_or_list(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return None
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) and v for v in value):
        return None
    return "a string or a list of strings"


def _positive_number(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return None if ok else "a number > 0"


def _positive_int(value: Any) -> str | None:
    return (
        None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1
        else "a whole number >= 1"
    )


def _rate(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    return None if ok else "a number between 0 and 1"


PASS_MODES = ("all", "any")


def _pass_mode(value: Any) -> str | None:
    return (
        None if value in PASS_MODES else "'all' (pass^k: every run passes) or 'any' (pass@k: one run passes)"
    )


def _record_mode(value: Any) -> str | None:
    return (
        None if value in {m.value for m in RecordMode} else f"one of {', '.join(m.value for m in RecordMode)}"
    )


def _variants(value: Any) -> str | None:
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(k, str) and isinstance(v, dict) for k, v in value.items())
    ):
        return None
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return None
    return "a dict of name -> {prompt, model, params...}, or a list of variant names defined in llm_variants"


def _str_list(value: Any) -> str | None:
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return None
    return "a list of strings"


JUDGE_PROVIDERS = ("openai", "anthropic", "azure", "gemini", "bedrock", "litellm")
"""Providers an LLM judge can be (`checks/judge_clients.py` says how each is called)."""


def judge_problem(value: Any) -> str | None:
    """What is wrong with a `provider:model` judge spec, or None."""
    provider, sep, model = value.partition(":") if isinstance(value, str) else ("", "", "")
    if sep and provider in JUDGE_PROVIDERS and model:
        return None
    return (
        "provider:model with provider one of " + ", ".join(JUDGE_PROVIDERS) + ", e.g. 'openai:gpt-4o-mini', "
        "'anthropic:claude-haiku-4-5', 'azure:<deployment>', 'gemini:gemini-2.0-flash'"
    )


def _judge(value: Any) -> str | None:
    return judge_problem(value)


@dataclass(frozen=True)
class Keyword:
    name: str
    help: str
    check: Callable[[Any], str | None]


KEYWORDS: tuple[Keyword, ...] = (
    Keyword(
        "cassette", "Cassette file name (relative to the cassette folder) instead of the test's name.", _str
    ),
    Keyword("cassette_dir", "Cassette folder for this test, relative to the test file's folder.", _str),
    Keyword("record", "Record mode for this test (--llm-record on the command line wins).", _record_mode),
    Keyword("match_ignore", "Extra JSON body fields ignored when matching this test's requests.", _str_list),
    Keyword(
        "prompt",
        "Prompt(s) this test uses: name@version, name@latest, a range (name@^1.3) or name@*; "
        "several versions parametrize the test.",
        _str_or_list,
    ),
    Keyword("budget_usd", "Fail when the test's calls cost more than this (USD).", _positive_number),
    Keyword(
        "budget_tokens",
        "Fail when the test's calls use more tokens (input + output) than this (a budget; the prompt "
        "file's max_tokens caps one generation).",
        _positive_int,
    ),
    Keyword(
        "max_tokens",
        "Deprecated name of budget_tokens (it read like the prompt's max_tokens); still works, with a warning.",
        _positive_int,
    ),
    Keyword(
        "max_latency_ms", "Fail when the slowest call (p95 with repeats) takes longer.", _positive_number
    ),
    Keyword(
        "dataset", "YAML, JSONL or CSV file of cases; the test runs once per row (fixture llm_case).", _str
    ),
    Keyword(
        "repeat", "Run the test body N times; replay plays each run's recordings in order.", _positive_int
    ),
    Keyword("min_pass_rate", "With repeat: pass when at least this share of runs pass (default 1.0).", _rate),
    Keyword(
        "pass_mode",
        "With repeat: 'all' (pass^k, the default: every run must pass) or 'any' (pass@k: one passing run "
        "is enough). Not together with min_pass_rate.",
        _pass_mode,
    ),
    Keyword(
        "variants",
        "Variants to compare (A/B): a dict of name -> config, or names from llm_variants.",
        _variants,
    ),
    Keyword("judge", "provider:model of the LLM judge for this test's checks (overrides llm_judge).", _judge),
    Keyword("tags", "Free-form labels copied to the JSON report and JUnit properties (llm.tags).", _str_list),
)
KNOWN = {k.name: k for k in KEYWORDS}
RENAMED = {"max_tokens": "budget_tokens"}  # old marker keyword -> its new name


@dataclass(frozen=True)
class LLMMarker:
    """The `llm` markers of one test, merged (the closest marker wins per keyword)."""

    kwargs: dict[str, Any] = field(default_factory=dict)
    deprecated: tuple[str, ...] = ()  # old keywords used (see RENAMED); the session warns about them

    def get(self, name: str, default: Any = None) -> Any:
        return self.kwargs.get(name, default)


NO_KEYWORDS = LLMMarker()
"""A bare `@pytest.mark.llm`: one shared marker, as each item keeps its own to the end of the session
(no one changes a marker's `kwargs`)."""


class MarkerError(Exception):
    pass


def merge(markers: Iterable[pytest.Mark], where: str) -> LLMMarker:
    """Merge markers given closest first; raise MarkerError naming `where` on bad input."""
    merged: dict[str, Any] = {}
    deprecated: list[str] = []
    for mark in markers:
        if mark.args:
            raise MarkerError(
                f"{where}: @pytest.mark.llm takes keyword arguments only, got positional {mark.args!r}. "
                f"Known keywords: {', '.join(KNOWN)}"
            )
        for key, value in mark.kwargs.items():
            if key not in KNOWN:
                raise MarkerError(
                    f"{where}: unknown keyword {key!r} in @pytest.mark.llm. Known keywords: {', '.join(KNOWN)}"
                )
            problem = KNOWN[key].check(value)
            if problem:
                raise MarkerError(f"{where}: @pytest.mark.llm({key}={value!r}) must be {problem}")
            if key in RENAMED:
                if key not in deprecated:
                    deprecated.append(key)
                key = RENAMED[key]
            merged.setdefault(key, value)
    if "pass_mode" in merged and "min_pass_rate" in merged:
        raise MarkerError(
            f"{where}: @pytest.mark.llm takes pass_mode or min_pass_rate, not both: pass_mode='all' is "
            "min_pass_rate=1.0, and pass_mode='any' needs one passing run of the repeat"
        )
    if not merged and not deprecated:
        return NO_KEYWORDS
    return LLMMarker(merged, tuple(deprecated))


def deprecation_message(where: str, old: str) -> str:
    return (
        f"{where}: @pytest.mark.llm({old}=...) is deprecated, use {RENAMED[old]}=... (the same limit: the "
        f"tokens, input + output, the test's calls may use; a prompt file's max_tokens caps one generation)"
    )
