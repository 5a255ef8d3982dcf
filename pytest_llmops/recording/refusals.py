"""The plugin's refusals (a replay miss, a blocked or refused connection, an exhausted budget), and which of
them the running llm test never saw.

Each derives from pytest's `Failed`, a BaseException, so that no SDK retry loop turns it into a slow
"Connection error": raised in the test, it fails the test with our message. Raised where the test cannot
see it (a background thread, an asyncio task nobody awaits, code that catches everything), it would be
lost and the test would pass on a request nothing answered. So every refusal made while an llm test runs
is kept here until the test reports it (`reported`), and the test fails on any left over (`unreported`).
Standard library and pytest only: imported at start-up by the guard.
"""

from __future__ import annotations

import pytest

_raised: list[BaseException] = []
_watching = False


class Refusal(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    def __init__(self, msg: str) -> None:
        super().__init__(msg=msg, pytrace=False)
        if _watching:
            _raised.append(self)


def watch(on: bool) -> None:
    """Start (or stop) keeping the refusals of one llm test."""
    global _watching
    _watching = on
    _raised.clear()


def reported(exc: BaseException) -> None:
    """`exc` reached the test's outcome (it failed the test, or one of its repeats)."""
    for i, raised in enumerate(_raised):
        if raised is exc:
            del _raised[i]
            return


def unreported() -> list[BaseException]:
    return list(_raised)
