"""LangChain (langchain-openai, langchain-anthropic) and pydantic-ai (OpenAI, Anthropic and Gemini models),
driven for real against the simulator:
recorded once, then replayed with the simulator running (it must hear nothing) and stopped, under
--llm-block-network: the same answers and usage, sync, async and streamed.

Both wrap the official SDKs, so what this proves is that nothing they add (their own retries, streaming
helpers, tool calls for structured output, pydantic-ai's async client under `run_sync`) escapes the cassette.
instructor is not in the test extra: 1.17, its latest release, pins `jiter<0.15`, which downgrades openai. Its
test runs where it is installed (checked here with `pip install --no-deps instructor`), and is skipped otherwise.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.simulator import ProviderSimulator

# Imported before any in-process inner run: pytester restores sys.modules after each run, and these are
# slow to import (and hold pydantic models the SDKs' classes are checked against).
langchain_openai = pytest.importorskip("langchain_openai", reason="langchain-openai is in the test extra")
langchain_anthropic = pytest.importorskip(
    "langchain_anthropic", reason="langchain-anthropic is in the test extra"
)
pydantic_ai = pytest.importorskip(
    "pydantic_ai", reason="pydantic-ai-slim[openai,anthropic] is in the test extra"
)

SUITE = textwrap.dedent(
    """
    import asyncio, json, os
    import pytest
    from pydantic import BaseModel

    URL = os.environ["SIM_URL"]
    Q = "Context: refunds take 5 business days. How long do refunds take?"


    def show(name, text, usage):
        print("RESULT", name, json.dumps({
            "text": text, "calls": len(usage.calls), "input": usage.input_tokens, "output": usage.output_tokens,
            "streams": [c.stream for c in usage.calls], "estimated": usage.estimated,
        }))


    def chat_openai(**kwargs):
        from langchain_openai import ChatOpenAI
        return ChatOpenAI(model="gpt-4o-mini", base_url=URL + "/v1", max_retries=0, **kwargs)


    def chat_anthropic():
        from langchain_anthropic import ChatAnthropic
        return ChatAnthropic(model="claude-haiku-4-5", base_url=URL, max_retries=0)


    def openai_model():
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider
        return OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(base_url=URL + "/v1"))


    def anthropic_model():
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider
        return AnthropicModel("claude-haiku-4-5", provider=AnthropicProvider(base_url=URL))


    def gemini_model(http_client):
        from pydantic_ai.models.google import GoogleModel
        from pydantic_ai.providers.google import GoogleProvider
        provider = GoogleProvider(
            api_key=os.environ.get("GEMINI_API_KEY", "placeholder"), base_url=URL, http_client=http_client
        )
        return GoogleModel("gemini-2.5-flash", provider=provider)


    class Refund(BaseModel):
        days: int


    @pytest.mark.llm
    def test_langchain_openai_invoke(llm_usage):
        show("langchain_openai_invoke", chat_openai().invoke(Q).content, llm_usage)


    @pytest.mark.llm
    def test_langchain_openai_ainvoke(llm_usage):
        show("langchain_openai_ainvoke", asyncio.run(chat_openai().ainvoke(Q)).content, llm_usage)


    @pytest.mark.llm
    def test_langchain_openai_stream(llm_usage):
        # With a base URL, ChatOpenAI asks for stream usage only when told to (the trap in the docs).
        text = "".join(chunk.content for chunk in chat_openai(stream_usage=True).stream(Q))
        show("langchain_openai_stream", text, llm_usage)


    @pytest.mark.llm
    def test_langchain_openai_stream_default(llm_usage):
        text = "".join(chunk.content for chunk in chat_openai().stream(Q + " (default)"))
        show("langchain_openai_stream_default", text, llm_usage)


    @pytest.mark.llm
    def test_langchain_anthropic_invoke(llm_usage):
        show("langchain_anthropic_invoke", chat_anthropic().invoke(Q).content, llm_usage)


    @pytest.mark.llm
    def test_langchain_anthropic_astream(llm_usage):
        async def go():
            return "".join([chunk.content async for chunk in chat_anthropic().astream(Q)])
        show("langchain_anthropic_astream", asyncio.run(go()), llm_usage)


    @pytest.mark.llm
    def test_pydantic_ai_run_sync(llm_usage):
        from pydantic_ai import Agent
        show("pydantic_ai_run_sync", Agent(openai_model()).run_sync(Q).output, llm_usage)


    @pytest.mark.llm
    def test_pydantic_ai_run_async_anthropic(llm_usage):
        from pydantic_ai import Agent
        show("pydantic_ai_run_async_anthropic", asyncio.run(Agent(anthropic_model()).run(Q)).output, llm_usage)


    @pytest.mark.llm
    def test_pydantic_ai_run_stream(llm_usage):
        from pydantic_ai import Agent
        async def go():
            async with Agent(openai_model()).run_stream(Q) as result:
                return "".join([delta async for delta in result.stream_text(delta=True)])
        show("pydantic_ai_run_stream", asyncio.run(go()), llm_usage)


    @pytest.mark.llm
    def test_pydantic_ai_gemini_tool_agent(llm_usage):
        # Gemini's function calls carry no id: pydantic-ai makes one up per run and sends it back with the
        # tool's result, so the second request is other bytes on every run.
        import httpx2
        from pydantic_ai import Agent

        async def go():
            # The app's own client, closed when done (the provider's default one is left open).
            async with httpx2.AsyncClient(timeout=60) as http:
                agent = Agent(gemini_model(http), system_prompt="Answer from the policies you look up.")

                @agent.tool_plain
                def lookup_policy(topic: str) -> str:
                    "The support policy on a topic."
                    return "Refunds take 5 business days."

                return (await agent.run("Please lookup policy on refunds.")).output

        show("pydantic_ai_gemini_tool_agent", asyncio.run(go()), llm_usage)


    @pytest.mark.llm
    def test_pydantic_ai_structured_output(llm_usage):
        from pydantic_ai import Agent
        refund = Agent(openai_model(), output_type=Refund).run_sync(Q).output
        show("pydantic_ai_structured_output", refund.model_dump_json(), llm_usage)
    """
)

NAMES = [
    "langchain_openai_invoke",
    "langchain_openai_ainvoke",
    "langchain_openai_stream",
    "langchain_openai_stream_default",
    "langchain_anthropic_invoke",
    "langchain_anthropic_astream",
    "pydantic_ai_run_sync",
    "pydantic_ai_run_async_anthropic",
    "pydantic_ai_run_stream",
    "pydantic_ai_gemini_tool_agent",
    "pydantic_ai_structured_output",
]


def results(run: pytest.RunResult) -> dict[str, dict[str, Any]]:
    out = {}
    for line in run.outlines:
        if "RESULT " in line and "print(" not in line:
            name, _, data = line.split("RESULT ", 1)[1].partition(" ")
            out[name] = json.loads(data)
    return out


def test_langchain_and_pydantic_ai_record_then_replay_with_nothing_reaching_the_network(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(test_wrappers=SUITE)
    run = ("--llm-eval", "-s", "-p", "no:randomly")
    with ProviderSimulator(idle_timeout_s=120) as live:
        monkeypatch.setenv("SIM_URL", live.url)
        recorded = llm_pytester.runpytest(*run, "--llm-record=once")
        recorded.assert_outcomes(passed=len(NAMES))
        seen = results(recorded)
        assert sorted(seen) == sorted(NAMES)
        assert len(live.requests) == len(NAMES) + 1  # the tool agent's second turn
        assert seen["pydantic_ai_gemini_tool_agent"]["calls"] == 2
        assert all(
            "5 business days" in r["text"] for n, r in seen.items() if n != "pydantic_ai_structured_output"
        )
        assert json.loads(seen["pydantic_ai_structured_output"]["text"]) == {"days": 5}  # a tool call, parsed
        for name in ("langchain_openai_stream", "langchain_anthropic_astream", "pydantic_ai_run_stream"):
            assert seen[name]["streams"] == [True] and not seen[name]["estimated"], name
        # The trap: with a base URL and no stream_usage, LangChain sends no stream_options, so the
        # stream carries no counts and the plugin estimates them.
        assert seen["langchain_openai_stream_default"]["estimated"]
        folder = llm_pytester.path / "cassettes" / "test_wrappers"
        [default] = load_interactions(folder / "test_langchain_openai_stream_default.yaml")
        assert default.request is not None and "stream_options" not in (default.request.json() or {})
        for path in folder.glob("*.yaml"):
            text = path.read_text(encoding="utf-8")
            assert not [key for key in with_keys.values() if key in text], path.name

        for name in with_keys:  # replay: no keys (the plugin sets placeholders)
            monkeypatch.delenv(name)
        live.reset()
        replayed = llm_pytester.runpytest(*run)
        replayed.assert_outcomes(passed=len(NAMES))
        assert live.requests == []  # up and reachable, and it hears nothing
        assert results(replayed) == seen

    offline = llm_pytester.runpytest(*run, "--llm-block-network")  # the simulator is stopped now
    offline.assert_outcomes(passed=len(NAMES))
    assert results(offline) == seen


INSTRUCTOR_SUITE = textwrap.dedent(
    """
    import asyncio, json, os
    import instructor
    import pytest
    from openai import AsyncOpenAI, OpenAI
    from pydantic import BaseModel

    URL = os.environ["SIM_URL"] + "/v1"
    Q = [{"role": "user", "content": "Context: refunds take 5 business days. How many days do refunds take?"}]


    def gemini_model(http_client):
        from pydantic_ai.models.google import GoogleModel
        from pydantic_ai.providers.google import GoogleProvider
        provider = GoogleProvider(
            api_key=os.environ.get("GEMINI_API_KEY", "placeholder"), base_url=URL, http_client=http_client
        )
        return GoogleModel("gemini-2.5-flash", provider=provider)


    class Refund(BaseModel):
        days: int


    def show(name, refund, usage):
        print("RESULT", name, json.dumps({"text": refund.model_dump_json(), "calls": len(usage.calls),
                                          "streams": [c.stream for c in usage.calls]}))


    @pytest.mark.llm
    def test_instructor_sync(llm_usage):
        client = instructor.from_openai(OpenAI(base_url=URL, max_retries=0))
        show("instructor_sync", client.chat.completions.create(
            model="gpt-4o-mini", response_model=Refund, messages=Q), llm_usage)


    @pytest.mark.llm
    def test_instructor_async(llm_usage):
        client = instructor.from_openai(AsyncOpenAI(base_url=URL, max_retries=0))
        refund = asyncio.run(client.chat.completions.create(model="gpt-4o-mini", response_model=Refund, messages=Q))
        show("instructor_async", refund, llm_usage)


    @pytest.mark.llm
    def test_instructor_partial_stream(llm_usage):
        client = instructor.from_openai(OpenAI(base_url=URL, max_retries=0))
        partials = list(client.chat.completions.create_partial(model="gpt-4o-mini", response_model=Refund, messages=Q))
        show("instructor_partial_stream", partials[-1], llm_usage)
    """
)


def test_instructor_records_then_replays_with_nothing_reaching_the_network(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    instructor = pytest.importorskip(
        "instructor",
        reason="not in the test extra: instructor 1.17 (the latest) pins jiter<0.15, which downgrades openai",
    )
    from openai import AsyncOpenAI, OpenAI

    # instructor imports its provider modules on first use: do it here, outside the inner runs, which
    # drop what they imported (a second import would register its modes twice).
    instructor.from_openai(OpenAI(api_key="unused", base_url="http://127.0.0.1:9"))
    instructor.from_openai(AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1:9"))
    llm_pytester.makepyfile(test_instructor=INSTRUCTOR_SUITE)
    run = ("--llm-eval", "-s", "-p", "no:randomly")
    names = ["instructor_sync", "instructor_async", "instructor_partial_stream"]
    with ProviderSimulator(idle_timeout_s=120) as live:
        monkeypatch.setenv("SIM_URL", live.url)
        recorded = llm_pytester.runpytest(*run, "--llm-record=once")
        recorded.assert_outcomes(passed=len(names))
        seen = results(recorded)
        assert sorted(seen) == sorted(names) and len(live.requests) == len(names)
        assert {json.loads(r["text"])["days"] for r in seen.values()} == {5}
        assert seen["instructor_partial_stream"]["streams"] == [True]
        for name in with_keys:
            monkeypatch.delenv(name)
        live.reset()
        replayed = llm_pytester.runpytest(*run)
        replayed.assert_outcomes(passed=len(names))
        assert live.requests == [] and results(replayed) == seen
    offline = llm_pytester.runpytest(*run, "--llm-block-network")
    offline.assert_outcomes(passed=len(names))
    assert results(offline) == seen
