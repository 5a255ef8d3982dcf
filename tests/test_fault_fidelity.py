"""Replay equals live when the connection broke: cut streams and cut bodies, through the real SDKs.

The simulator breaks answers off over real HTTP (`cut_next`); each inner test prints what its app saw
(`OUTCOME name kind detail`), recorded once live and then replayed offline: the lines must be equal.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.simulator import ProviderSimulator

CLIENTS = textwrap.dedent(
    """
    import asyncio, os
    import pytest
    from openai import OpenAI, AsyncOpenAI
    from anthropic import Anthropic, AsyncAnthropic

    URL = os.environ["SIM_URL"]
    RETRIES = int(os.environ.get("RETRIES", "0"))

    def openai_sync():
        return OpenAI(base_url=URL + "/v1", max_retries=RETRIES)

    def openai_async():
        return AsyncOpenAI(base_url=URL + "/v1", max_retries=RETRIES)

    def anthropic_sync():
        return Anthropic(base_url=URL, max_retries=RETRIES)

    def anthropic_async():
        return AsyncAnthropic(base_url=URL, max_retries=RETRIES)

    def report(name, fn):
        try:
            print(f"OUTCOME {name} ok {fn()!r}")
        except Exception as exc:
            print(f"OUTCOME {name} {type(exc).__module__.split('.')[0]}.{type(exc).__name__}")

    def msg(name):
        return [{"role": "user", "content": f"case {name}: tell me about Paris, the capital of France"}]
    """
)

STREAMS = CLIENTS + textwrap.dedent(
    """
    @pytest.mark.llm
    def test_openai_sync():
        def go():
            seen = []
            try:
                for c in openai_sync().chat.completions.create(
                        model="gpt-4o-mini", messages=msg("openai_sync"), stream=True):
                    seen.append(c.choices[0].delta.content if c.choices else "")
            finally:
                print("EVENTS openai_sync", len(seen))
        report("openai_sync", go)

    @pytest.mark.llm
    def test_openai_async():
        async def go():
            seen = []
            try:
                stream = await openai_async().chat.completions.create(
                    model="gpt-4o-mini", messages=msg("openai_async"), stream=True)
                async for c in stream:
                    seen.append(c)
            finally:
                print("EVENTS openai_async", len(seen))
        report("openai_async", lambda: asyncio.run(go()))

    @pytest.mark.llm
    def test_anthropic_sync():
        def go():
            seen = []
            try:
                for e in anthropic_sync().messages.create(
                        model="claude-haiku-4-5", max_tokens=100, messages=msg("anthropic_sync"), stream=True):
                    seen.append(e.type)
            finally:
                print("EVENTS anthropic_sync", len(seen))
        report("anthropic_sync", go)

    @pytest.mark.llm
    def test_anthropic_async():
        async def go():
            seen = []
            try:
                async with anthropic_async().messages.stream(
                        model="claude-haiku-4-5", max_tokens=100, messages=msg("anthropic_async")) as s:
                    async for e in s:
                        seen.append(e.type)
            finally:
                print("EVENTS anthropic_async", len(seen))
        report("anthropic_async", lambda: asyncio.run(go()))
    """
)

BODIES = CLIENTS + textwrap.dedent(
    """
    @pytest.mark.llm
    def test_openai_sync():
        report("openai_sync", lambda: openai_sync().chat.completions.create(
            model="gpt-4o-mini", messages=msg("openai_sync")).choices[0].message.content)

    @pytest.mark.llm
    def test_openai_async():
        async def go():
            r = await openai_async().chat.completions.create(model="gpt-4o-mini", messages=msg("openai_async"))
            return r.choices[0].message.content
        report("openai_async", lambda: asyncio.run(go()))

    @pytest.mark.llm
    def test_anthropic_sync():
        report("anthropic_sync", lambda: anthropic_sync().messages.create(
            model="claude-haiku-4-5", max_tokens=100, messages=msg("anthropic_sync")).content[0].text)

    @pytest.mark.llm
    def test_anthropic_async():
        async def go():
            r = await anthropic_async().messages.create(
                model="claude-haiku-4-5", max_tokens=100, messages=msg("anthropic_async"))
            return r.content[0].text
        report("anthropic_async", lambda: asyncio.run(go()))
    """
)

NAMES = ("openai_sync", "openai_async", "anthropic_sync", "anthropic_async")


def _outcomes(result: pytest.RunResult) -> list[str]:
    # -s output shares lines with the progress dots: take each marker to the end of its line.
    found = (re.search(r"(OUTCOME|EVENTS) .*$", line) for line in result.outlines)
    return sorted(m.group(0) for m in found if m)


def _record_then_replay(
    pytester: pytest.Pytester, sim: ProviderSimulator, source: str
) -> tuple[list[str], list[str], int]:
    pytester.makepyfile(test_cut=source)
    live = pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:randomly")
    live.assert_outcomes(passed=4)
    sent = len(sim.requests)
    replay = pytester.runpytest("--llm-eval", "-s", "-p", "no:randomly")
    replay.assert_outcomes(passed=4)
    assert len(sim.requests) == sent, "replay reached the simulator"
    return _outcomes(live), _outcomes(replay), sent


def test_a_cut_stream_raises_the_same_error_at_the_same_event_in_replay(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    for name in NAMES:
        sim.cut_next(after_events=3, body_contains=f"case {name}:")
    live, replay, sent = _record_then_replay(llm_pytester, sim, STREAMS)
    assert sent == 4 and all(r.cut for r in sim.requests)
    assert replay == live
    outcomes = {line.split()[1]: line.split()[2] for line in live if line.startswith("OUTCOME")}
    # What the SDKs raise when the server drops a stream: openai wraps it, anthropic passes httpx's on.
    assert outcomes == {
        "openai_sync": "openai.APIConnectionError",
        "openai_async": "openai.APIConnectionError",
        "anthropic_sync": "httpx2.RemoteProtocolError",
        "anthropic_async": "httpx2.RemoteProtocolError",
    }
    events = [line for line in live if line.startswith("EVENTS")]
    assert len(events) == 4 and all(int(line.split()[2]) >= 2 for line in events)
    for name in NAMES:
        (interaction,) = load_interactions(llm_pytester.path / "cassettes" / "test_cut" / f"test_{name}.yaml")
        assert interaction.meta.truncated
        assert interaction.meta.error is not None
        assert interaction.meta.error["type"] == "RemoteProtocolError"


def test_a_cut_body_that_the_sdk_retried_replays_as_a_retry(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETRIES", "2")
    for name in NAMES:
        sim.cut_next(after_bytes=40, body_contains=f"case {name}:")
    live, replay, sent = _record_then_replay(llm_pytester, sim, BODIES)
    assert sent == 8, "each client retried once after the cut"
    assert replay == live
    assert all(line.split()[2] == "ok" for line in live), live
    for name in NAMES:
        failed, good = load_interactions(llm_pytester.path / "cassettes" / "test_cut" / f"test_{name}.yaml")
        assert failed.meta.error is not None and failed.meta.truncated
        assert good.meta.error is None and good.response.json() is not None


def test_a_cut_body_without_retries_fails_the_same_way_in_replay(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    for name in NAMES:
        sim.cut_next(after_bytes=40, body_contains=f"case {name}:")
    live, replay, sent = _record_then_replay(llm_pytester, sim, BODIES)
    assert sent == 4
    assert replay == live
    assert {line.split()[2] for line in live} == {"openai.APIConnectionError", "anthropic.APIConnectionError"}


def test_simulator_cut_options_are_checked() -> None:
    sim = ProviderSimulator()
    with pytest.raises(ValueError, match="after_events"):
        sim.cut_next(after_events=-1)
    with pytest.raises(ValueError, match="count"):
        sim.cut_next(count=0)
