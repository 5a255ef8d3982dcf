"""`repeat=N`: run one test body N times inside one pytest item, then decide by pass rate.

Running inside the item (not as N parametrized items) keeps one cassette per
test, so identical requests replay run by run in recorded order, and lets
`min_pass_rate` give one verdict. Fixtures are set up once for all runs.

The verdict over k runs: pass^k (`pass_mode="all"`, the default) needs every
run to pass, pass@k (`pass_mode="any"`) one of them, `min_pass_rate` a share.
The report shows all three for every repeated test, whichever one decided.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import pytest
from _pytest.outcomes import Failed, Skipped, XFailed

from pytest_llmops.context import TestContext
from pytest_llmops.recording import refusals
from pytest_llmops.recording.network import NetworkBlocked
from pytest_llmops.recording.transport import BudgetExhausted, CassetteMiss

# Outcomes that end the test at once: repeating cannot change them.
FATAL = (Skipped, XFailed, CassetteMiss, BudgetExhausted, NetworkBlocked, KeyboardInterrupt, SystemExit)


def _message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300]


def _run_once(item: pytest.Item, ctx: TestContext, index: int) -> BaseException | None:
    ctx.begin_run(index)
    started = time.perf_counter()
    try:
        item.runtest()
    except FATAL:
        raise
    except (Exception, Failed) as exc:
        refusals.reported(exc)
        ctx.end_run("failed", _message(exc), time.perf_counter() - started)
        return exc
    ctx.end_run("passed", None, time.perf_counter() - started)
    return None


def run_repeated(
    item: pytest.Item,
    ctx: TestContext,
    count: int,
    min_pass_rate: float | None,
    pass_mode: str | None = None,
) -> Generator[None, Any, Any]:
    """Body of the `pytest_runtest_call` wrapper: runs 1..N-1 here, the last one through pytest's own call."""
    failures: list[tuple[int, BaseException]] = []
    for index in range(count - 1):
        exc = _run_once(item, ctx, index)
        if exc is not None:
            failures.append((index, exc))
    last = count - 1
    ctx.begin_run(last)
    started = time.perf_counter()
    result: Any = None
    try:
        result = yield
    except FATAL:
        raise
    except (Exception, Failed) as exc:
        refusals.reported(exc)
        ctx.end_run("failed", _message(exc), time.perf_counter() - started)
        failures.append((last, exc))
    else:
        ctx.end_run("passed", None, time.perf_counter() - started)
    if not failures:
        return result
    if count == 1:
        raise failures[0][1]
    passed = count - len(failures)
    if pass_mode == "any":
        if passed >= 1:
            return result  # pass@k: one passing run is enough; the report lists the failures
        rule = "pass_mode='any' (pass@k) needs at least one"
    else:
        required = 1.0 if min_pass_rate is None else min_pass_rate
        if passed / count >= required:
            return result  # flaky but good enough; the report lists it
        rule = (
            f"below min_pass_rate={required:g}"
            if min_pass_rate is not None
            else "pass^k needs every run to pass (pass_mode='any' or min_pass_rate relax it)"
        )
    first = failures[0][1]
    summary = "; ".join(f"run {i + 1}: {_message(e)}" for i, e in failures)
    first.add_note(f"LLM repeat: {passed}/{count} runs passed, {rule}. Failed runs: {summary}")
    raise first
