"""Record against the provider simulator through the real SDKs, then replay offline."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
import yaml

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.simulator import ProviderSimulator

SDK_SUITE = textwrap.dedent(
    """
    import asyncio
    import pytest

    MSG = [{"role": "user", "content": "What is the capital of France?"}]

    @pytest.mark.llm
    def test_openai_chat(openai_client):
        r = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        print("ANSWER", r.choices[0].message.content, r.usage.total_tokens)

    @pytest.mark.llm
    def test_openai_chat_stream(openai_client):
        stream = openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=MSG, stream=True, stream_options={"include_usage": True})
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        print("ANSWER", text)

    @pytest.mark.llm
    def test_openai_responses_stream(openai_client):
        with openai_client.responses.stream(model="gpt-4o-mini", input="Say hello") as stream:
            for _ in stream:
                pass
            final = stream.get_final_response()
        print("ANSWER", final.output_text, final.usage.output_tokens)

    @pytest.mark.llm
    def test_openai_responses(openai_client):
        r = openai_client.responses.create(model="gpt-4o-mini", input="Say hello")
        print("ANSWER", r.output_text)

    @pytest.mark.llm
    def test_openai_async_stream(async_openai_client):
        async def go():
            stream = await async_openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=MSG, stream=True)
            parts = []
            async for c in stream:
                if c.choices:
                    parts.append(c.choices[0].delta.content or "")
            return "".join(parts)
        print("ANSWER", asyncio.run(go()))

    @pytest.mark.llm
    def test_anthropic_messages(anthropic_client):
        r = anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSG)
        print("ANSWER", r.content[0].text, r.usage.output_tokens)

    @pytest.mark.llm
    def test_anthropic_create_stream(anthropic_client):
        events = anthropic_client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, messages=MSG, stream=True)
        text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
        print("ANSWER", text)

    @pytest.mark.llm
    def test_anthropic_stream_helper(anthropic_client):
        with anthropic_client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSG) as s:
            final = s.get_final_message()
        print("ANSWER", final.content[0].text)

    @pytest.mark.llm
    def test_anthropic_async(async_anthropic_client):
        async def go():
            async with async_anthropic_client.messages.stream(
                    model="claude-haiku-4-5", max_tokens=100, messages=MSG) as s:
                return (await s.get_final_message()).content[0].text
        print("ANSWER", asyncio.run(go()))
    """
)


def tagged(result: pytest.RunResult, tag: str) -> list[str]:
    """Lines the inner tests printed with -s (pytest prefixes the first one with the file name)."""
    return [tag + line.split(tag, 1)[1] for line in result.outlines if tag in line and "print(" not in line]


def answers(result: pytest.RunResult) -> list[str]:
    return sorted(tagged(result, "ANSWER"))


def test_every_sdk_path_records_then_replays_offline(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makepyfile(test_sdk=SDK_SUITE)
    recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:cacheprovider")
    recorded.assert_outcomes(passed=9)
    assert len(sim.requests) == 9

    folder = llm_pytester.path / "cassettes" / "test_sdk"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{name}.yaml"
        for name in (
            "test_openai_chat",
            "test_openai_chat_stream",
            "test_openai_responses_stream",
            "test_openai_responses",
            "test_openai_async_stream",
            "test_anthropic_messages",
            "test_anthropic_create_stream",
            "test_anthropic_stream_helper",
            "test_anthropic_async",
        )
    )
    for path in folder.iterdir():
        text = path.read_text()
        for secret in with_keys.values():
            assert secret not in text
        assert "authorization" not in text.lower() and "x-api-key" not in text.lower()
        [interaction] = load_interactions(path)
        assert interaction.meta.recorded_at and interaction.meta.latency_ms is not None
        assert (
            interaction.meta.ttfb_ms is not None and interaction.meta.ttfb_ms <= interaction.meta.latency_ms
        )

    # Replay: no keys, nothing reaches the simulator, and the app sees the same answers.
    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    replayed = llm_pytester.runpytest("--llm-eval", "-s", "-p", "no:cacheprovider")
    replayed.assert_outcomes(passed=9)
    assert sim.requests == []
    assert answers(replayed) == answers(recorded)


def test_sse_is_stored_as_readable_text_and_json_pretty(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(test_sdk=SDK_SUITE)
    llm_pytester.runpytest(
        "--llm-eval", "--llm-record=once", "-k", "test_anthropic_create_stream or test_openai_chat"
    )
    stream_file = llm_pytester.path / "cassettes" / "test_sdk" / "test_anthropic_create_stream.yaml"
    raw = yaml.safe_load(stream_file.read_text())
    body = raw["interactions"][0]["response"]["body"]["string"]
    assert isinstance(body, str) and "event: message_start" in body and "event: message_stop" in body
    assert "string: |" in stream_file.read_text()  # a literal block, reviewable line by line
    chat = yaml.safe_load(
        (llm_pytester.path / "cassettes" / "test_sdk" / "test_openai_chat.yaml").read_text()
    )
    request_body = chat["interactions"][0]["request"]["body"]
    # laid out for review (the SDK sends `{"messages":[...],"model":...}` with no spaces): one line per message
    assert '"model": "gpt-4o-mini"' in request_body and request_body.endswith("}\n")
    assert '{"role": "user", "content": ' in request_body


def test_replay_miss_fails_at_once_with_diff_and_command(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makepyfile(
        test_miss="""
        import os, pytest

        @pytest.mark.llm
        def test_ask(openai_client):
            q = os.environ.get("QUESTION", "What is 2+2?")
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}])
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    for name in with_keys:
        monkeypatch.delenv(name)
    monkeypatch.setenv("QUESTION", "What is 3+3?")
    sim.reset()
    # Clients with retries on: a plain vcrpy miss would be retried with backoff and end as "Connection error".
    llm_pytester.makeconftest(
        "import os, pytest\n"
        "@pytest.fixture\n"
        "def openai_client():\n"
        "    from openai import OpenAI\n"
        "    return OpenAI(base_url=os.environ['SIM_URL'] + '/v1', max_retries=5)\n"
    )
    started = time.perf_counter()
    result = llm_pytester.runpytest("--llm-eval")
    elapsed = time.perf_counter() - started
    result.assert_outcomes(failed=1)
    assert sim.requests == []
    assert elapsed < 5, "a miss must not go through the SDK's retry backoff"
    text = result.stdout.str()
    assert "Connection error" not in text
    result.stdout.fnmatch_lines(
        [
            "*No recorded response for POST /v1/chat/completions (model gpt-4o-mini) in cassette*"
            "cassettes/test_miss/test_ask.yaml (record mode: none).",
            "*diff of the JSON bodies:*",
            '*-*"content": "What is 2+2?"*',
            '*+*"content": "What is 3+3?"*',
            "*pytest --llm-eval --llm-record=new_episodes test_miss.py::test_ask*",
        ]
    )


def test_missing_cassette_names_the_file_and_once_mode(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(
        test_new="""
        import pytest

        @pytest.mark.llm
        def test_fresh(anthropic_client):
            anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=10,
                                             messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = llm_pytester.runpytest("--llm-eval")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*The cassette file does not exist yet.*",
            "*pytest --llm-eval --llm-record=once test_new.py::test_fresh*",
        ]
    )


REPEATED_CALLS = """
import pytest

@pytest.mark.llm
def test_twice(openai_client):
    msgs = [{"role": "user", "content": "Tell me a joke"}]
    a = openai_client.chat.completions.create(model="gpt-4o-mini", messages=msgs, temperature=1.0)
    b = openai_client.chat.completions.create(model="gpt-4o-mini", messages=msgs, temperature=1.0)
    print("PAIR", a.choices[0].message.content, "|", b.choices[0].message.content)
"""


def test_identical_requests_replay_in_recorded_order(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(test_order=REPEATED_CALLS)
    first = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s")
    first.assert_outcomes(passed=1)
    [pair] = tagged(first, "PAIR")
    left, right = pair.removeprefix("PAIR").split("|")
    assert left.strip() != right.strip()  # temperature 1: the two answers differ, so order is observable
    for name in with_keys:
        monkeypatch.delenv(name)
    again = llm_pytester.runpytest("--llm-eval", "-s")
    again.assert_outcomes(passed=1)
    assert tagged(again, "PAIR") == [pair]


def test_more_identical_requests_than_recorded_is_a_clear_miss(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(
        test_order=REPEATED_CALLS.replace(
            "print(",
            "c = openai_client.chat.completions."
            "create(model='gpt-4o-mini', messages=msgs, "
            "temperature=1.0) if __import__('os').environ.get("
            "'THIRD') else None\n    print(",
        )
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    for name in with_keys:
        monkeypatch.delenv(name)
    monkeypatch.setenv("THIRD", "1")
    result = llm_pytester.runpytest("--llm-eval")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*recorded 2 time(s) and every recording was already played*"])


def test_record_modes(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makepyfile(
        test_modes="""
        import os, pytest

        @pytest.mark.llm
        def test_q(openai_client):
            for q in os.environ["QS"].split(","):
                openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}])
        """
    )
    path = llm_pytester.path / "cassettes" / "test_modes" / "test_q.yaml"

    def questions() -> list[str]:
        return [i.request.json()["messages"][0]["content"] for i in load_interactions(path)]  # type: ignore[union-attr]

    monkeypatch.setenv("QS", "a,b")
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    assert questions() == ["a", "b"]

    monkeypatch.setenv("QS", "a,c")
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(failed=1)  # once: file exists
    assert questions() == ["a", "b"]

    sim.reset()
    llm_pytester.runpytest("--llm-eval", "--llm-record=new_episodes").assert_outcomes(passed=1)
    assert questions() == ["a", "b", "c"]
    assert len(sim.requests) == 1  # "a" replayed, only "c" went out

    sim.reset()
    llm_pytester.runpytest("--llm-eval", "--llm-record=all").assert_outcomes(passed=1)
    assert questions() == ["a", "b", "c", "a", "c"]
    assert len(sim.requests) == 2

    llm_pytester.runpytest("--llm-eval", "--llm-record=rewrite").assert_outcomes(passed=1)
    assert questions() == ["a", "c"]

    # The marker sets the mode per test; the command line still wins.
    llm_pytester.makepyfile(
        test_modes="""
        import os, pytest

        @pytest.mark.llm(record="new_episodes")
        def test_q(openai_client):
            for q in os.environ["QS"].split(","):
                openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}])
        """
    )
    monkeypatch.setenv("QS", "a,c,d")
    llm_pytester.runpytest("--llm-eval", "--llm-record=none").assert_outcomes(failed=1)
    llm_pytester.runpytest("--llm-eval").assert_outcomes(passed=1)
    assert questions() == ["a", "c", "d"]


def test_replay_ignores_host_and_configured_volatile_fields(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makeini("[pytest]\nllm_match_ignore = metadata.request_id user\n")
    llm_pytester.makepyfile(
        test_vol="""
        import os, pytest, uuid

        @pytest.mark.llm
        def test_q(openai_client):
            openai_client.chat.completions.create(
                model="gpt-4o-mini", user=str(uuid.uuid4()), store=False,
                metadata={"request_id": str(uuid.uuid4()), "team": "search"},
                messages=[{"role": "user", "content": "hello"}])
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    for name in with_keys:
        monkeypatch.delenv(name)
    # Replay under another host: an OpenAI-compatible base_url recorded once, replayed anywhere.
    with ProviderSimulator() as other:
        monkeypatch.setenv("SIM_URL", other.url)
        llm_pytester.runpytest("--llm-eval").assert_outcomes(passed=1)
        assert other.requests == []


def test_gzip_response_is_stored_decoded(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(
        test_gz="""
        import pytest

        @pytest.mark.llm
        def test_q(openai_client):
            openai_client.embeddings.create(model="text-embedding-3-small", input="hello")
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    assert "gzip" in sim.requests[0].headers.get("accept-encoding", "")
    text = (llm_pytester.path / "cassettes" / "test_gz" / "test_q.yaml").read_text()
    assert "!!binary" not in text and '"embedding"' in text
    assert "content-encoding" not in text.lower()


def test_recording_retries_429_and_keeps_only_the_final_answer(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    sim.fail_next(429, count=2, retry_after=0.01)
    llm_pytester.makepyfile(
        test_retry="""
        import pytest

        @pytest.mark.llm
        def test_q(anthropic_client):
            anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=10,
                                             messages=[{"role": "user", "content": "hi"}])
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    assert len(sim.requests) == 3
    [interaction] = load_interactions(llm_pytester.path / "cassettes" / "test_retry" / "test_q.yaml")
    assert interaction.response.status == 200
    assert interaction.meta.attempts == 3


def test_recording_gives_up_after_the_limit_and_records_the_error(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    llm_pytester.makeini("[pytest]\nllm_record_retries = 1\n")
    sim.fail_next(529, count=5, retry_after=0.01)
    llm_pytester.makepyfile(
        test_over="""
        import anthropic, pytest

        @pytest.mark.llm
        def test_q(anthropic_client):
            with pytest.raises(anthropic.InternalServerError):
                anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=10,
                                                 messages=[{"role": "user", "content": "hi"}])
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    assert len(sim.requests) == 2
    [interaction] = load_interactions(llm_pytester.path / "cassettes" / "test_over" / "test_q.yaml")
    assert interaction.response.status == 529
    assert "overloaded_error" in interaction.response.text


def test_stream_reaches_the_app_while_recording(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ProviderSimulator(ttfb_ms=50, chunk_delay_ms=40) as slow:
        monkeypatch.setenv("SIM_URL", slow.url)
        llm_pytester.makepyfile(
            test_ttfb="""
            import time, pytest

            @pytest.mark.llm
            def test_q(openai_client):
                t0 = time.perf_counter()
                stream = openai_client.chat.completions.create(
                    model="gpt-4o-mini", stream=True,
                    messages=[{"role": "user", "content": "Explain streaming in a few words please"}])
                first = None
                for chunk in stream:
                    if first is None:
                        first = time.perf_counter() - t0
                total = time.perf_counter() - t0
                print(f"TIMING {first:.3f} {total:.3f}")
            """
        )
        result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s")
    result.assert_outcomes(passed=1)
    [line] = tagged(result, "TIMING")
    first, total = map(float, line.split()[1:])
    assert first < total / 2, f"first chunk at {first:.3f}s of {total:.3f}s: the stream was buffered"
    [interaction] = load_interactions(llm_pytester.path / "cassettes" / "test_ttfb" / "test_q.yaml")
    assert interaction.meta.ttfb_ms is not None and interaction.meta.latency_ms is not None
    assert abs(interaction.meta.ttfb_ms / 1000 - first) < max(0.15, first * 0.5)
    assert interaction.meta.ttfb_ms < interaction.meta.latency_ms / 2


def test_cassette_location_naming_and_overrides(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str]
) -> None:
    llm_pytester.makeini("[pytest]\nllm_cassette_dir = recordings\n")
    llm_pytester.mkpydir("pkg")
    (llm_pytester.path / "pkg" / "test_names.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def ask(client):
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])

            class TestGroup:
                @pytest.mark.llm
                @pytest.mark.parametrize("p", ["a/b", pytest.param(1, id="x" * 200)])
                def test_param(self, openai_client, p):
                    ask(openai_client)

            @pytest.mark.llm(cassette="shared/custom")
            def test_named(openai_client):
                ask(openai_client)

            @pytest.mark.llm(cassette_dir="elsewhere")
            def test_dir(openai_client):
                ask(openai_client)
            """
        )
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=4)
    base = llm_pytester.path / "pkg"
    found = sorted(str(p.relative_to(base)) for p in base.rglob("*.yaml"))
    assert "recordings/test_names/TestGroup.test_param[a_b].yaml" in found
    assert "recordings/shared/custom.yaml" in found
    assert "elsewhere/test_names/test_dir.yaml" in found
    long = [f for f in found if "xxxx" in f]
    assert len(long) == 1 and len(Path(long[0]).name) <= 125


def test_interrupted_recording_writes_the_cassette_whole(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(
        test_int="""
        import os, pytest

        @pytest.mark.llm
        def test_q(openai_client):
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "v1"}])
            if os.environ.get("INTERRUPT"):
                raise KeyboardInterrupt
        """
    )
    llm_pytester.runpytest_subprocess("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    path = llm_pytester.path / "cassettes" / "test_int" / "test_q.yaml"
    before = load_interactions(path)
    monkeypatch.setenv("INTERRUPT", "1")
    result = llm_pytester.runpytest_subprocess("--llm-eval", "--llm-record=rewrite")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    # Ctrl-C skips the teardown, but the paid call is kept: the rewrite is written, whole.
    after = load_interactions(path)
    assert len(after) == 1
    assert after[0].meta.recorded_at != before[0].meta.recorded_at
    assert not list(path.parent.glob("*.tmp"))
    assert not list(path.parent.glob("*.journal"))
