"""The Groq SDK (`groq`, plain httpx, sync, async and streamed): recorded once from the simulator's
OpenAI-format chat under Groq's `/openai/v1` path, then replayed under --llm-block-network with no
GROQ_API_KEY (the SDK refuses to build a client without one, so a replay sets a placeholder), the same
answers and usage, and the simulator hearing nothing."""

from __future__ import annotations

import pytest

from pytest_llmops.simulator import ProviderSimulator
from tests.conftest import printed_results

pytest.importorskip("groq", reason="groq is in the test extra")

SUITE = """
import asyncio, json, os

import pytest
from groq import AsyncGroq, Groq

MESSAGES = [{"role": "user", "content": "How long do refunds take?"}]
MODEL = "llama-3.1-8b-instant"


def show(name, text, usage):
    print("RESULT", name, json.dumps({"text": text, "calls": len(usage.calls), "input": usage.input_tokens,
        "output": usage.output_tokens, "streams": [c.stream for c in usage.calls]}))


@pytest.mark.llm
def test_sync(llm_usage):
    reply = Groq(base_url=os.environ["SIM_URL"]).chat.completions.create(model=MODEL, messages=MESSAGES)
    show("sync", reply.choices[0].message.content, llm_usage)


@pytest.mark.llm
def test_stream(llm_usage):
    chunks = Groq(base_url=os.environ["SIM_URL"]).chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True
    )
    show("stream", "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), llm_usage)


@pytest.mark.llm
def test_async(llm_usage):
    async def ask():
        async with AsyncGroq(base_url=os.environ["SIM_URL"]) as groq:
            return await groq.chat.completions.create(model=MODEL, messages=MESSAGES)
    show("async", asyncio.run(ask()).choices[0].message.content, llm_usage)
"""

KEY = "gsk_" + "a1B2c3D4e5F6g7H8i9J0" * 2


def test_groq_sdk_records_and_replays_offline_without_its_key(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    llm_pytester.makepyfile(test_groq=SUITE)
    recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:xdist")
    recorded.assert_outcomes(passed=3)
    live = printed_results(recorded)
    assert len(sim.requests) == 3
    assert all(r.path == "/openai/v1/chat/completions" for r in sim.requests)
    assert {name: r["calls"] for name, r in live.items()} == {"sync": 1, "stream": 1, "async": 1}
    assert live["stream"]["streams"] == [True]
    assert all(r["input"] and r["output"] for r in live.values())
    cassettes = list((llm_pytester.path / "cassettes").rglob("*.yaml"))
    assert len(cassettes) == 3 and not any(KEY in p.read_text() for p in cassettes)

    sim.reset()
    monkeypatch.delenv("GROQ_API_KEY")
    replayed = llm_pytester.runpytest("--llm-eval", "--llm-block-network", "-s", "-p", "no:xdist")
    replayed.assert_outcomes(passed=3)
    assert printed_results(replayed) == live
    assert sim.requests == []

    # Without the placeholder the SDK cannot even build its client: the replay fails before any call.
    refused = llm_pytester.runpytest(
        "--llm-eval", "--llm-block-network", "-p", "no:xdist", "-o", "llm_replay_placeholder_keys=false"
    )
    refused.assert_outcomes(failed=3)
    refused.stdout.fnmatch_lines(["*GROQ_API_KEY*"])
