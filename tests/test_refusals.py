"""A refusal the test never sees (a miss in a background thread, in a task whose errors the app collects)
still fails the test, with the plugin's message: the app went on without an answer nothing gave it."""

from __future__ import annotations

import pytest

from pytest_llmops.recording import refusals
from pytest_llmops.recording.transport import CassetteMiss
from pytest_llmops.simulator import ProviderSimulator

SUITE = """
import asyncio, os, threading

import pytest

QUESTION = "Where is order " + os.environ.get("ORDER", "1") + "?"


def ask(client):
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}])


@pytest.mark.llm
def test_in_a_thread(openai_client):
    answers = []
    def work():
        try:
            answers.append(ask(openai_client))
        except Exception:
            pass  # a worker that logs and goes on
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    print("ANSWERS", len(answers))


@pytest.mark.llm
def test_in_tasks_whose_errors_are_collected(async_openai_client):
    async def main():
        results = await asyncio.gather(ask(async_openai_client), return_exceptions=True)
        return [r for r in results if not isinstance(r, BaseException)]
    print("ANSWERS", len(asyncio.run(main())))
"""


def test_a_refusal_the_test_never_sees_fails_the_test(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makepyfile(test_swallow=SUITE)
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=2)
    monkeypatch.delenv("OPENAI_API_KEY")
    sim.reset()

    llm_pytester.runpytest("--llm-eval", "--llm-record=none", "-s").assert_outcomes(passed=2)

    monkeypatch.setenv("ORDER", "2")  # another question: the recordings do not answer it
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=none", "--llm-block-network", "-s")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*a request of this test was refused, but the test did not see it: the refusal was raised in another "
            "thread*The first refusal: No recorded response for POST /v1/chat/completions*",
        ]
    )
    assert sum("ANSWERS 0" in line for line in result.outlines) == 2  # both went on without an answer
    assert sim.requests == []


def test_a_refusal_that_reached_the_outcome_is_not_counted_again() -> None:
    refusals.watch(True)
    try:
        seen, reported = CassetteMiss("seen by the test"), CassetteMiss("lost in a thread")
        refusals.reported(seen)
        assert refusals.unreported() == [reported]
    finally:
        refusals.watch(False)
    CassetteMiss("outside an llm test")
    assert refusals.unreported() == []
