"""Replay equals live when the connection broke: cut streams and cut bodies, through the real SDKs.

The simulator breaks answers off over real HTTP (`cut_next`); each inner test prints what its app saw
(`OUTCOME name kind detail`), recorded once live and then replayed offline: the lines must be equal.
"""

from __future__ import annotations

import os
import re
import textwrap

import pytest

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.simulator import ProviderSimulator
from tests.conftest import fake_key

os.environ.setdefault(
    "LITELLM_LOCAL_MODEL_COST_MAP", "True"
)  # litellm fetches its price map at import otherwise
# Imported before any in-process inner run (see tests/test_transports.py): pytester restores sys.modules.
aiohttp = pytest.importorskip("aiohttp")
requests = pytest.importorskip("requests")
litellm = pytest.importorskip("litellm")

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
    # What the SDKs raise when the server drops a stream (the replay raised the same, above): openai wraps
    # it; anthropic passed httpx's on before 2.17, and wraps it too since.
    anthropic_error = {"httpx2.RemoteProtocolError", "anthropic.APIConnectionError"}
    assert (
        outcomes["anthropic_sync"] == outcomes["anthropic_async"]
        and outcomes["anthropic_sync"] in anthropic_error
    )
    assert outcomes == {
        "openai_sync": "openai.APIConnectionError",
        "openai_async": "openai.APIConnectionError",
        "anthropic_sync": outcomes["anthropic_sync"],
        "anthropic_async": outcomes["anthropic_async"],
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


IN_STREAM_ERRORS = STREAMS + textwrap.dedent(
    """
    @pytest.mark.llm
    def test_openai_responses():
        def go():
            seen = []
            try:
                for e in openai_sync().responses.create(
                        model="gpt-4o-mini", input="case openai_responses: tell me about Paris", stream=True):
                    seen.append(e.type)
            finally:
                print("EVENTS openai_responses", len(seen), seen[-1])
        report("openai_responses", go)

    @pytest.mark.llm
    def test_ollama_sync():
        import ollama

        def go():
            seen = []
            try:
                for part in ollama.Client(host=URL).chat(
                        model="llama3.2", messages=msg("ollama_sync"), stream=True):
                    seen.append(part.message.content)
            finally:
                print("EVENTS ollama_sync", len(seen))
        report("ollama_sync", go)

    @pytest.mark.llm
    def test_gemini_sync():
        from google import genai
        from google.genai import types

        def go():
            seen = []
            client = genai.Client(api_key=os.environ["GEMINI_API_KEY"], http_options=types.HttpOptions(base_url=URL))
            try:
                for chunk in client.models.generate_content_stream(
                        model="gemini-2.0-flash", contents="case gemini_sync: tell me about Paris"):
                    seen.append(chunk.text)
            finally:
                print("EVENTS gemini_sync", len(seen))
        report("gemini_sync", go)

    @pytest.mark.llm
    def test_bedrock_sync():
        import boto3

        def go():
            seen = []
            client = boto3.client("bedrock-runtime", endpoint_url=URL, region_name="us-east-1")
            try:
                answer = client.converse_stream(
                    modelId="anthropic.claude-3-haiku-20240307-v1:0",
                    messages=[{"role": "user", "content": [{"text": "case bedrock_sync: tell me about Paris"}]}])
                for event in answer["stream"]:
                    seen.append(next(iter(event)))
            finally:
                print("EVENTS bedrock_sync", len(seen))
        report("bedrock_sync", go)
    """
)


def test_an_error_sent_inside_a_stream_raises_the_same_error_at_the_same_event_in_replay(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A provider that fails after the 200 reports it inside the stream (OpenAI's `{"error": ...}` chunk,
    Anthropic's `event: error`, Ollama's `{"error": ...}` line); the SDK raises on it, and must raise the
    same error after the same events in replay. The call is kept as the error it was, with no made-up
    token count."""
    pytest.importorskip("ollama")
    pytest.importorskip("google.genai")
    pytest.importorskip("boto3")
    monkeypatch.setenv("GEMINI_API_KEY", "AIza" + fake_key("")[:35])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + "X" * 16)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s" * 40)
    names = (*NAMES, "openai_responses", "ollama_sync", "gemini_sync", "bedrock_sync")
    for name in names:
        sim.error_in_stream_next(after_events=3, body_contains=f"case {name}:")
    llm_pytester.makepyfile(test_cut=IN_STREAM_ERRORS)
    live = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:randomly")
    live.assert_outcomes(passed=8)
    sent = len(sim.requests)
    assert sent == 8 and not any(r.cut for r in sim.requests)
    replay = llm_pytester.runpytest("--llm-eval", "--llm-block-network", "-s", "-p", "no:randomly")
    replay.assert_outcomes(passed=8)
    assert len(sim.requests) == sent, "replay reached the simulator"
    assert _outcomes(replay) == _outcomes(live)
    # Failed calls in the report, not successful ones with their usage missing.
    replay.stdout.fnmatch_lines(["app calls: 8 (8 replayed, 0 live, 8 errors)"])
    assert "no usage:" not in replay.stdout.str()
    outcomes = {line.split()[1]: line.split()[2] for line in _outcomes(live) if line.startswith("OUTCOME")}
    assert outcomes == {
        "openai_sync": "openai.APIError",
        "openai_async": "openai.APIError",
        "anthropic_sync": "anthropic.APIStatusError",
        "anthropic_async": "anthropic.APIStatusError",
        "openai_responses": "ok",  # the Responses API hands the error over as an event, it does not raise
        "ollama_sync": "ollama.ResponseError",
        "gemini_sync": "google.ServerError",
        "bedrock_sync": "botocore.EventStreamError",
    }
    assert "EVENTS openai_responses 4 error" in _outcomes(live)  # three events, then the error event
    from pytest_llmops.spend.providers import builtin_parse_call

    expected = {
        "anthropic": "overloaded_error",
        "openai": "server_error",
        "ollama": "error",
        "gemini": "UNAVAILABLE",
        "bedrock": "internalServerException",
    }
    for name in names:
        (interaction,) = load_interactions(llm_pytester.path / "cassettes" / "test_cut" / f"test_{name}.yaml")
        # No transport error: the error event is in the recorded body (the SDK stops reading at it).
        tail = (interaction.response.body or b"")[-300:]
        assert interaction.meta.error is None and (b'"error"' in tail or b"internalServerException" in tail)
        call = builtin_parse_call(interaction)
        assert call is not None
        assert call.error_type == expected[name.split("_")[0]], (name, call)
        assert not call.estimated, (name, call)  # a failed call's tokens are not guessed from its text


def test_simulator_cut_options_are_checked() -> None:
    sim = ProviderSimulator()
    with pytest.raises(ValueError, match="after_events"):
        sim.cut_next(after_events=-1)
    with pytest.raises(ValueError, match="count"):
        sim.cut_next(count=0)
    with pytest.raises(ValueError, match=r"error_in_stream_next\(after_events=-1\)"):
        sim.error_in_stream_next(after_events=-1)
    with pytest.raises(ValueError, match=r"error_in_stream_next\(count=0\)"):
        sim.error_in_stream_next(count=0)


# -- aiohttp and requests (urllib3), directly and through LiteLLM's async client ----------------------

LIBRARIES = textwrap.dedent(
    """
    import asyncio, hashlib, os
    import pytest

    URL = os.environ["SIM_URL"]
    AUTH = {"Authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "")}

    def body(name, stream):
        return {"model": "gpt-4o-mini", "stream": stream,
                "messages": [{"role": "user", "content": f"case {name}: tell me about Paris, the capital of France"}]}

    def report(name, fn, seen):
        try:
            fn()
            outcome = "ok"
        except Exception as exc:
            outcome = f"{type(exc).__module__.split('.')[0]}.{type(exc).__name__}"
        digest = hashlib.sha256(repr(seen).encode()).hexdigest()[:12]
        print(f"OUTCOME {name} {outcome} {len(seen)} {digest}")

    @pytest.mark.llm
    def test_aiohttp_stream():
        import aiohttp
        seen = []
        async def go():
            async with aiohttp.ClientSession() as s:
                async with s.post(URL + "/v1/chat/completions", json=body("aiohttp_stream", True), headers=AUTH) as r:
                    async for line in r.content:
                        seen.append(line)
        report("aiohttp_stream", lambda: asyncio.run(go()), seen)

    @pytest.mark.llm
    def test_aiohttp_body():
        import aiohttp
        seen = []
        async def go():
            async with aiohttp.ClientSession() as s:
                async with s.post(URL + "/v1/chat/completions", json=body("aiohttp_body", False), headers=AUTH) as r:
                    seen.append(r.status)
                    seen.append((await r.json())["choices"][0]["message"]["content"])
        report("aiohttp_body", lambda: asyncio.run(go()), seen)

    @pytest.mark.llm
    def test_requests_stream():
        import requests
        seen = []
        def go():
            with requests.post(URL + "/v1/chat/completions", json=body("requests_stream", True), headers=AUTH,
                               stream=True) as r:
                for line in r.iter_lines():
                    seen.append(line)
        report("requests_stream", go, seen)

    @pytest.mark.llm
    def test_requests_body():
        import requests
        seen = []
        def go():
            r = requests.post(URL + "/v1/chat/completions", json=body("requests_body", False), headers=AUTH)
            seen.append(r.json()["choices"][0]["message"]["content"])
        report("requests_body", go, seen)

    @pytest.mark.llm
    def test_litellm_async_stream():
        import litellm
        seen = []
        async def go():
            r = await litellm.acompletion(
                model="openai/gpt-4o-mini", api_base=URL + "/v1", api_key=os.environ.get("OPENAI_API_KEY", "x"),
                messages=body("litellm_async_stream", True)["messages"], stream=True, max_retries=0)
            async for chunk in r:
                seen.append(chunk.choices[0].delta.content if chunk.choices else None)
        report("litellm_async_stream", lambda: asyncio.run(go()), seen)
    """
)
LIBRARY_NAMES = ("aiohttp_stream", "aiohttp_body", "requests_stream", "requests_body", "litellm_async_stream")


def test_aiohttp_and_requests_replay_a_cut_answer_as_it_broke_live(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    for name in LIBRARY_NAMES:
        if name.endswith("stream"):
            sim.cut_next(after_events=3, body_contains=f"case {name}:")
        else:
            sim.cut_next(after_bytes=40, body_contains=f"case {name}:")
    llm_pytester.makepyfile(test_cut=LIBRARIES)
    run = ("--llm-eval", "-s", "-p", "no:randomly")
    live = llm_pytester.runpytest(*run, "--llm-record=once")
    live.assert_outcomes(passed=len(LIBRARY_NAMES))
    assert len(sim.requests) == len(LIBRARY_NAMES) and all(r.cut for r in sim.requests)
    seen_live = _outcomes(live)
    outcomes = {line.split()[1]: line.split()[2] for line in seen_live}
    # What each library raises live when the server drops the connection mid-answer.
    assert outcomes == {
        "aiohttp_stream": "aiohttp.ClientPayloadError",
        "aiohttp_body": "aiohttp.ClientPayloadError",
        "requests_stream": "requests.ChunkedEncodingError",
        "requests_body": "requests.ChunkedEncodingError",
        "litellm_async_stream": outcomes["litellm_async_stream"],
    }, seen_live
    assert outcomes["litellm_async_stream"] != "ok"
    streamed = {line.split()[1]: int(line.split()[3]) for line in seen_live}
    assert streamed["aiohttp_stream"] >= 2 and streamed["requests_stream"] >= 2, seen_live
    folder = llm_pytester.path / "cassettes" / "test_cut"
    errors = {}
    for name in LIBRARY_NAMES:
        (interaction,) = load_interactions(folder / f"test_{name}.yaml")
        assert interaction.meta.truncated and interaction.meta.error is not None, name
        errors[name] = interaction.meta.error["type"]
    assert errors["aiohttp_stream"] == errors["aiohttp_body"] == "ClientPayloadError"
    assert (
        errors["requests_stream"] == errors["requests_body"] == "ProtocolError"
    )  # urllib3's, under requests'

    sim.reset()
    replay = llm_pytester.runpytest(*run)
    replay.assert_outcomes(passed=len(LIBRARY_NAMES))
    assert sim.requests == []
    assert _outcomes(replay) == seen_live  # same error class, after the same chunks
    offline = llm_pytester.runpytest(*run, "--llm-block-network")
    offline.assert_outcomes(passed=len(LIBRARY_NAMES))
    assert _outcomes(offline) == seen_live
