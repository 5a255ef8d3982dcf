"""`--llm-live-sample`: the live canary. A sample of the llm tests runs a second time, live, after its replay,
so the report can say whether the recordings still are what the providers answer today.

The sample is chosen from each test's node id alone (a stable hash, not Python's salted `hash`), so
every xdist worker, shard and `-k` subset agrees on it: with `N%` a test is in the sample or out of it
whatever else runs; with `N` the N tests of lowest hash among the selected ones are (each worker
collects the same tests, so the workers agree).

The live run is the test body called again in the same item, as `repeat=` does (fixtures are not set up
again), in a context of its own, so its calls, scores and answer land in a record of their own
(`CanaryRun.record`) and never in the replayed run's.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence

import pytest
from _pytest.outcomes import Failed, Skipped, XFailed

from pytest_llmops.context import TestContext
from pytest_llmops.recording import refusals
from pytest_llmops.recording.network import NetworkBlocked
from pytest_llmops.recording.transport import BudgetExhausted, RecordingRefused

__all__ = ["KEY_ENV", "Sample", "choose", "missing_keys", "parse_sample", "point", "run_live"]

KEY_ENV: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "bedrock": ("AWS_ACCESS_KEY_ID", "AWS_PROFILE"),
}
"""The environment variables that hold a provider's key (any one of them will do). A provider not listed
needs `<PROVIDER>_API_KEY` (MISTRAL_API_KEY, GROQ_API_KEY, ...)."""


class Sample:
    """A parsed `--llm-live-sample`: a count of tests, or a share of them."""

    __slots__ = ("count", "share", "text")

    def __init__(self, text: str, count: int | None, share: float | None) -> None:
        self.text, self.count, self.share = text, count, share


def parse_sample(text: str) -> Sample:
    raw = text.strip()
    if raw.endswith("%"):
        return Sample(raw, None, float(raw[:-1]) / 100.0)
    return Sample(raw, int(raw), None)


def point(nodeid: str) -> float:
    """Where `nodeid` falls in [0, 1): the first 8 bytes of its SHA-256, the same in every process."""
    return (
        int.from_bytes(hashlib.sha256(nodeid.encode("utf-8", "surrogatepass")).digest()[:8], "big") / 2.0**64
    )


def choose(nodeids: Iterable[str], sample: Sample) -> set[str]:
    """The node ids in the sample."""
    ids = list(dict.fromkeys(nodeids))
    if sample.share is not None:
        share = sample.share
        return {n for n in ids if point(n) < share}
    ranked = sorted(ids, key=lambda n: (point(n), n))
    return set(ranked[: sample.count or 0])


def missing_keys(providers: Iterable[str], present: Callable[[str], bool]) -> list[str]:
    """For each provider none of whose key variables is `present`, the variable(s) to set."""
    missing: list[str] = []
    for provider in sorted(set(providers)):
        names = KEY_ENV.get(provider, (f"{provider.upper()}_API_KEY",))
        if not any(present(name) for name in names):
            missing.append(" or ".join(names))
    return missing


# What ends a live run early without saying anything about the answers.
_STOPPED = (BudgetExhausted, NetworkBlocked, RecordingRefused)


def run_live(item: pytest.Item, ctx: TestContext, count: int) -> str | None:
    """Run the body `count` times in `ctx` (whose calls go live); record each run's outcome in it.

    Never raises (but for an interrupt): a failing live run is a result, compared with the replayed one.
    Returns why the live run says nothing, or None when it ran: the session budget, a blocked request,
    a skip.
    """
    outcomes: list[str] = []
    first_message: str | None = None
    for index in range(count):
        ctx.begin_run(index)
        started = time.perf_counter()
        try:
            item.runtest()
        except _STOPPED as exc:
            refusals.reported(exc)  # the canary's result says why it stopped
            return _reason(exc)
        except (Skipped, XFailed) as exc:
            return f"the live run was skipped: {str(exc).strip()[:200]}"
        except (Exception, Failed) as exc:
            refusals.reported(exc)
            text = str(exc).strip().splitlines()
            message = f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
            ctx.end_run("failed", message, time.perf_counter() - started)
            outcomes.append("failed")
            first_message = first_message or message
        else:
            ctx.end_run("passed", None, time.perf_counter() - started)
            outcomes.append("passed")
    record = ctx.record
    record.outcome = "passed" if all(o == "passed" for o in outcomes) else "failed"
    record.message = first_message
    record.failure = None if record.outcome == "passed" else "check"
    record.calls = ctx.calls
    return None


def _reason(exc: BaseException) -> str:
    """Why a live run stopped, in words shared by every test it happens to (the report groups them)."""
    if isinstance(exc, BudgetExhausted):
        return "the session budget (--llm-budget-usd) left no room for it"
    if isinstance(exc, NetworkBlocked):
        return "--llm-block-network blocked it"
    first = str(exc).strip().splitlines()
    return f"its answer could not be kept: {first[0] if first else type(exc).__name__}"[:300]


def providers_of(calls: Sequence[object]) -> list[str]:
    """The providers a run's calls went to (the replayed run's calls say which keys the live run needs)."""
    names = {str(getattr(c, "provider", "") or "") for c in calls}
    return sorted(names - {"", "unknown"})
