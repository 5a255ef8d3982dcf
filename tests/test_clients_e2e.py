"""google-genai, Azure OpenAI, Claude on Bedrock through `anthropic.AnthropicBedrock` (httpx2, SigV4, the
binary event stream) and an OpenAI-compatible server recorded through the plugin against the simulator, then
replayed with the simulator stopped and --llm-block-network: same answers, usage and cost, no request.

google-genai's async client goes through aiohttp when aiohttp is installed; these tests send it through
httpx2 (`has_aiohttp` off) because aiohttp interception is the aiohttp transport's job, not this file's.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.simulator import ProviderSimulator
from tests.conftest import fake_key

CLIENTS_CONFTEST = textwrap.dedent(
    """
    import os
    import pytest

    @pytest.fixture
    def gemini():
        from google import genai
        from google.genai import _api_client, types
        _api_client.has_aiohttp = False  # async through httpx2 (see the module docstring of the outer test)
        return genai.Client(
            api_key=os.environ["GEMINI_API_KEY"],
            http_options=types.HttpOptions(base_url=os.environ["SIM_URL"]),
        )

    @pytest.fixture
    def azure():
        from openai import AzureOpenAI
        return AzureOpenAI(azure_endpoint=os.environ["SIM_URL"], api_version="2024-10-21", max_retries=0)

    @pytest.fixture
    def async_azure():
        from openai import AsyncAzureOpenAI
        return AsyncAzureOpenAI(azure_endpoint=os.environ["SIM_URL"], api_version="2024-10-21", max_retries=0)

    @pytest.fixture
    def bedrock_claude():
        from anthropic import AnthropicBedrock
        return AnthropicBedrock(base_url=os.environ["SIM_URL"], aws_access_key="AKIA" + "X" * 16,
                                aws_secret_key="s" * 40, aws_region="us-east-1", max_retries=0)

    @pytest.fixture
    def compatible():
        from openai import OpenAI
        return OpenAI(base_url=os.environ["SIM_URL"] + "/v1", api_key="not-needed-locally", max_retries=0)
    """
)

CLIENTS_SUITE = textwrap.dedent(
    """
    import asyncio
    import json
    import os
    import pytest

    Q = "Context: refunds take 5 business days. Question: how long do refunds take?"
    MSG = [{"role": "user", "content": Q}]

    def show(name, text, usage):
        print("RESULT", name, json.dumps({
            "text": text, "input": usage.input_tokens, "output": usage.output_tokens, "cost": usage.cost_usd,
            "providers": [c.provider for c in usage.calls], "models": [c.model for c in usage.calls],
            "streams": [c.stream for c in usage.calls], "estimated": usage.estimated,
        }))

    @pytest.mark.llm
    def test_gemini(gemini, llm_usage):
        r = gemini.models.generate_content(model="gemini-2.5-flash", contents=Q)
        show("gemini", r.text, llm_usage)

    @pytest.mark.llm
    def test_gemini_stream(gemini, llm_usage):
        text = "".join(c.text or "" for c in gemini.models.generate_content_stream(model="gemini-2.0-flash", contents=Q))
        show("gemini_stream", text, llm_usage)

    @pytest.mark.llm
    def test_gemini_async(gemini, llm_usage):
        async def go():
            r = await gemini.aio.models.generate_content(model="gemini-2.0-flash", contents=Q)
            parts = [c.text or "" async for c in await gemini.aio.models.generate_content_stream(
                model="gemini-2.0-flash", contents=Q + " Twice.")]
            return r.text + "|" + "".join(parts)
        show("gemini_async", asyncio.run(go()), llm_usage)

    @pytest.mark.llm
    def test_gemini_rest_json_array_stream(llm_usage):
        import httpx2
        r = httpx2.post(
            os.environ["SIM_URL"] + "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
            json={"contents": [{"role": "user", "parts": [{"text": Q}]}]},
            headers={"x-goog-api-key": os.environ["GEMINI_API_KEY"]},
        )
        chunks = r.json()
        show("gemini_rest", "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks), llm_usage)

    @pytest.mark.llm
    def test_azure(azure, llm_usage):
        r = azure.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        show("azure", r.choices[0].message.content, llm_usage)

    @pytest.mark.llm
    def test_azure_stream(azure, llm_usage):
        s = azure.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True,
                                          stream_options={"include_usage": True})
        show("azure_stream", "".join(c.choices[0].delta.content or "" for c in s if c.choices), llm_usage)

    @pytest.mark.llm
    def test_azure_async(async_azure, llm_usage):
        async def go():
            r = await async_azure.chat.completions.create(model="gpt-4o-mini", messages=MSG)
            return r.choices[0].message.content
        show("azure_async", asyncio.run(go()), llm_usage)

    @pytest.mark.llm
    def test_anthropic_bedrock(bedrock_claude, llm_usage):
        model = "anthropic.claude-3-5-haiku-20241022-v1:0"
        r = bedrock_claude.messages.create(model=model, max_tokens=200, messages=MSG)
        with bedrock_claude.messages.stream(model=model, max_tokens=200, messages=MSG) as s:
            final = s.get_final_message()
        show("anthropic_bedrock", r.content[0].text + "|" + final.content[0].text, llm_usage)

    @pytest.mark.llm
    def test_compatible_server(compatible, llm_usage):
        r = compatible.chat.completions.create(model="mistral-small-latest", messages=MSG)
        s = compatible.chat.completions.create(model="mistral-small-latest", messages=MSG, stream=True,
                                               stream_options={"include_usage": True})
        text = "".join(c.choices[0].delta.content or "" for c in s if c.choices)
        show("compatible", r.choices[0].message.content + "|" + text, llm_usage)
    """
)


@pytest.fixture
def own_sim() -> Iterator[ProviderSimulator]:
    with ProviderSimulator(idle_timeout_s=60) as simulator:
        yield simulator


def results(run: pytest.RunResult) -> dict[str, dict[str, Any]]:
    lines = [
        line.split("RESULT ", 1)[1] for line in run.outlines if "RESULT " in line and "print(" not in line
    ]
    return {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1]) for line in lines}


def test_gemini_azure_and_compatible_clients_record_then_replay_offline(
    pytester: pytest.Pytester, own_sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    gemini_key = "AIza" + fake_key("")[:35]
    azure_key = fake_key("")[:32]
    monkeypatch.setenv("SIM_URL", own_sim.url)
    monkeypatch.setenv("GEMINI_API_KEY", gemini_key)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", azure_key)
    for name in (
        "GOOGLE_API_KEY",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "AZURE_OPENAI_ENDPOINT",
        "OPENAI_API_VERSION",
    ):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(CLIENTS_CONFTEST)
    pytester.makepyfile(test_clients=CLIENTS_SUITE)

    recorded = pytester.runpytest(
        "--llm-eval", "--llm-record=once", "-s", "-p", "no:cacheprovider", "-W", "ignore::UserWarning"
    )
    recorded.assert_outcomes(passed=9)
    assert len(own_sim.requests) == 12
    live = results(recorded)
    assert set(live) == {
        "gemini", "gemini_stream", "gemini_async", "gemini_rest", "azure", "azure_stream", "azure_async", "compatible",
        "anthropic_bedrock",
    }  # fmt: skip

    folder = pytester.path / "cassettes" / "test_clients"
    for path in folder.iterdir():
        text = path.read_text()
        assert gemini_key not in text and azure_key not in text
        assert "x-goog-api-key" not in text.lower() and "api-key:" not in text.lower()
        for interaction in load_interactions(path):
            assert interaction.meta.recorded_at and interaction.meta.latency_ms is not None

    # What the plugin read from the live calls: provider, model, stream flag, usage and price.
    def seen(name: str) -> tuple[list[str], list[str], list[bool]]:
        return live[name]["providers"], live[name]["models"], live[name]["streams"]

    assert seen("gemini") == (["gemini"], ["gemini-2.5-flash"], [False])
    assert seen("gemini_stream") == (["gemini"], ["gemini-2.0-flash"], [True])
    assert seen("gemini_async") == (["gemini"] * 2, ["gemini-2.0-flash"] * 2, [False, True])
    assert seen("gemini_rest") == (["gemini"], ["gemini-2.0-flash"], [True])
    assert seen("azure") == (["azure"], ["gpt-4o-mini-2024-07-18"], [False])
    assert seen("azure_stream") == (["azure"], ["gpt-4o-mini-2024-07-18"], [True])
    bedrock_model = "anthropic.claude-3-5-haiku-20241022-v1:0"
    assert seen("anthropic_bedrock") == (["bedrock"] * 2, [bedrock_model] * 2, [False, True])
    assert seen("compatible") == (["openai"] * 2, ["mistral-small-latest"] * 2, [False, True])
    for name, result in live.items():
        assert result["input"] > 0 and result["output"] > 0 and not result["estimated"], name
        if name != "compatible":
            assert result["cost"] is not None and result["cost"] > 0, name
    # An unknown host serving a model OpenAI does not price: unpriced (None), never $0.
    assert live["compatible"]["cost"] is None

    # Replay with the simulator stopped and no keys: same answers, usage and cost, nothing sent.
    own_sim.stop()
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    replayed = pytester.runpytest("--llm-eval", "--llm-block-network", "-s", "-p", "no:cacheprovider")
    replayed.assert_outcomes(passed=9)
    assert results(replayed) == live
