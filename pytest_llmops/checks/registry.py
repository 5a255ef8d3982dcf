"""Checks by name: the built-in ones and those added by plugins and conftest files.

A plugin adds checks by implementing the hook `pytest_llmops_register_checks`
(historic: conftest files loaded later still get the call):

    def pytest_llmops_register_checks(registry):
        registry.register("toxicity", my_toxicity, higher_is_better=False)

    # in a test:
    checks.run("toxicity", answer, threshold=0.2)

A registered function returns a `Score`, or a number (made into a Score named
after the check, scorer "custom"), or `(number, details)`. `run` then treats
it like a built-in check: threshold, recording into the test, CheckFailed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_llmops.checks import core
from pytest_llmops.results.scores import Score

CheckFunction = Callable[..., Any]

BUILTINS: dict[str, str] = {
    "relevance": "pytest_llmops.checks.answers:relevance",
    "correctness": "pytest_llmops.checks.answers:correctness",
    "completeness": "pytest_llmops.checks.answers:completeness",
    "conciseness": "pytest_llmops.checks.answers:conciseness",
    "citations": "pytest_llmops.checks.citation_check:citations",
    "grounding": "pytest_llmops.checks.grounding_check:grounding",
    "safety": "pytest_llmops.checks.safety_check:safety",
    "json_output": "pytest_llmops.checks.structured:json_output",
    "tool_calls": "pytest_llmops.checks.tools:tool_calls",
    "trajectory": "pytest_llmops.checks.trajectory_check:trajectory",
    "rubric": "pytest_llmops.checks.rubric_check:rubric",
    "similarity": "pytest_llmops.checks.similarity_check:similarity",
    "knowledge_retention": "pytest_llmops.checks.conversation_checks:knowledge_retention",
    "role_adherence": "pytest_llmops.checks.conversation_checks:role_adherence",
    "conversation_relevance": "pytest_llmops.checks.conversation_checks:conversation_relevance",
}


@dataclass(frozen=True, slots=True)
class RegisteredCheck:
    name: str
    function: CheckFunction
    higher_is_better: bool = True
    description: str = ""
    plugin: str | None = None


class CheckRegistry:
    """Plugin checks by name; built-in names are reserved unless `replace=True`."""

    def __init__(self) -> None:
        self._checks: dict[str, RegisteredCheck] = {}

    def register(
        self,
        name: str,
        function: CheckFunction | None = None,
        *,
        higher_is_better: bool = True,
        description: str = "",
        replace: bool = False,
    ) -> Any:
        """Add `function` as check `name`; without `function`, a decorator that adds what it decorates."""
        if function is None:

            def decorator(fn: CheckFunction) -> CheckFunction:
                self.register(
                    name, fn, higher_is_better=higher_is_better, description=description, replace=replace
                )
                return fn

            return decorator
        if not name or not isinstance(name, str) or not name.replace("_", "").replace(".", "").isalnum():
            raise ValueError(f"check name {name!r}: use letters, digits, '_' and '.'")
        if not callable(function):
            raise TypeError(f"check {name!r}: {function!r} is not callable")
        existing = self._checks.get(name)
        if not replace:
            if name in BUILTINS:
                raise ValueError(f"check {name!r} is built in; pass replace=True to override it")
            if existing is not None and existing.function is not function:
                raise ValueError(
                    f"check {name!r} is already registered by {_origin(existing.function)}; "
                    f"pick another name or pass replace=True"
                )
        self._checks[name] = RegisteredCheck(
            name,
            function,
            higher_is_better,
            description or (function.__doc__ or "").strip().split("\n")[0],
            _origin(function),
        )
        return function

    def unregister(self, name: str) -> None:
        self._checks.pop(name, None)

    def clear(self) -> None:
        """Forget every plugin check (a new pytest session registers them again)."""
        self._checks.clear()

    def names(self) -> list[str]:
        return sorted(set(BUILTINS) | set(self._checks))

    def __contains__(self, name: object) -> bool:
        return name in self._checks or name in BUILTINS

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> RegisteredCheck:
        if name in self._checks:
            return self._checks[name]
        if name in BUILTINS:
            import importlib

            module, _, attr = BUILTINS[name].partition(":")
            return RegisteredCheck(
                name, getattr(importlib.import_module(module), attr), plugin="pytest-llmops"
            )
        import difflib

        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(
            f"no check named {name!r}{hint} Known checks: {', '.join(self.names())}. "
            f"Plugins add checks with the "
            f"pytest_llmops_register_checks hook."
        )

    def run(self, name: str, /, *args: Any, threshold: float | None = None, **kwargs: Any) -> Score:
        """Run check `name`; a plugin check's result is thresholded, recorded and failed like a built-in's."""
        __tracebackhide__ = True
        check = self.get(name)
        if name in BUILTINS and name not in self._checks:
            result: Score = check.function(*args, threshold=threshold, **kwargs)
            return result
        return self._run_plugin(check, args, kwargs, threshold)

    def _run_plugin(
        self, check: RegisteredCheck, args: tuple[Any, ...], kwargs: dict[str, Any], threshold: float | None
    ) -> Score:
        __tracebackhide__ = True
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)):
            raise ValueError(f"{check.name}: threshold must be a number, got {threshold!r}")
        returned = check.function(*args, **kwargs)
        details: Mapping[str, Any] = {}
        if isinstance(returned, Score):
            score = returned
            if threshold is not None:
                score.threshold, score.passed = float(threshold), None
        else:
            if isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], Mapping):
                returned, details = returned
            if (
                isinstance(returned, bool)
                or not isinstance(returned, int | float)
                or not math.isfinite(returned)
            ):
                raise TypeError(
                    f"check {check.name!r} ({check.plugin}) returned {returned!r}; a check returns a Score, "
                    "a finite number, or (number, details)"
                )
            score = Score(
                name=check.name,
                value=float(returned),
                threshold=None if threshold is None else float(threshold),
                higher_is_better=check.higher_is_better,
                scorer="custom",
                details=core.jsonable(dict(details)),
            )
        reason = str(score.details.get("reason", "")) if isinstance(score.details, dict) else ""
        return core.conclude(score, reason)


def _origin(function: CheckFunction) -> str:
    module = getattr(function, "__module__", None) or "?"
    qualname = getattr(function, "__qualname__", None) or repr(function)
    return f"{module}.{qualname}"


REGISTRY = CheckRegistry()


def load_from_hook(hook: Any) -> CheckRegistry:
    """Start a session's registry: forget earlier plugin checks, then call the (historic) registration hook.

    The plugin calls this once in `pytest_configure`; conftest files loaded
    afterwards are called as they register, because the hook is historic.
    """
    REGISTRY.clear()
    caller = getattr(hook, "pytest_llmops_register_checks", None)
    if caller is not None:
        caller.call_historic(kwargs={"registry": REGISTRY})
    return REGISTRY
