"""The Mistral SDK (`mistralai`, its own httpx2 client, sync, async and streamed) against the simulator's
OpenAI-format chat: recorded once, then replayed under --llm-block-network with the simulator hearing
nothing, and the same answers and usage. Its calls to loopback are unpriced, as any OpenAI-shaped call to a
host of no known provider whose model OpenAI does not list: it may be a self-hosted server."""

from __future__ import annotations

import pytest

from pytest_llmops.simulator import ProviderSimulator
from tests.conftest import printed_results

pytest.importorskip("mistralai.client", reason="mistralai is in the test extra")

SUITE = """
import asyncio, json, os

import pytest
from mistralai.client import Mistral

MESSAGES = [{"role": "user", "content": "How long do refunds take?"}]


def client():
    return Mistral(api_key=os.environ.get("MISTRAL_API_KEY", "placeholder"), server_url=os.environ["SIM_URL"])


def show(name, text, usage):
    print("RESULT", name, json.dumps({"text": text, "calls": len(usage.calls), "input": usage.input_tokens,
        "output": usage.output_tokens, "cost": usage.cost_usd, "streams": [c.stream for c in usage.calls]}))


@pytest.mark.llm
def test_sync(llm_usage):
    reply = client().chat.complete(model="mistral-small-latest", messages=MESSAGES)
    show("sync", reply.choices[0].message.content, llm_usage)


@pytest.mark.llm
def test_stream(llm_usage):
    events = client().chat.stream(model="mistral-small-latest", messages=MESSAGES)
    text = "".join(e.data.choices[0].delta.content or "" for e in events if e.data.choices)
    show("stream", text, llm_usage)


@pytest.mark.llm
def test_async(llm_usage):
    async def ask():
        async with client() as mistral:
            return await mistral.chat.complete_async(model="mistral-small-latest", messages=MESSAGES)
    show("async", asyncio.run(ask()).choices[0].message.content, llm_usage)
"""


def test_mistral_sdk_records_and_replays_offline(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "mistral-test-key-0123456789abcdef")
    llm_pytester.makepyfile(test_mistral=SUITE)
    recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s")
    recorded.assert_outcomes(passed=3)
    live = printed_results(recorded)
    assert len(sim.requests) == 3
    assert {name: r["calls"] for name, r in live.items()} == {"sync": 1, "stream": 1, "async": 1}
    assert live["stream"]["streams"] == [True]
    assert all(r["cost"] is None and r["input"] and r["output"] for r in live.values())

    sim.reset()
    monkeypatch.delenv("MISTRAL_API_KEY")
    replayed = llm_pytester.runpytest("--llm-eval", "--llm-record=none", "--llm-block-network", "-s")
    replayed.assert_outcomes(passed=3)
    assert printed_results(replayed) == live
    assert sim.requests == []
