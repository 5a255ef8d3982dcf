"""llm_ignore_hosts: a client library's side traffic passes the cassette, LLM calls never do.

The inner tests make one chat completion (to 127.0.0.1, the simulator, named by no base URL variable)
and one side request, a GET of /v1/models on `localhost` (the same simulator by another name), through
httpx, requests or aiohttp: the shape of huggingface_hub's registry lookup, which one run makes and
another does not (its answer is cached for a day).
"""

from __future__ import annotations

import pytest

from pytest_llmops.simulator import ProviderSimulator

SIDE = {
    "httpx": "import httpx\n        def side(url):\n            return httpx.get(url).status_code",
    "requests": "import requests\n        def side(url):\n            return requests.get(url).status_code",
    "aiohttp": (
        "import asyncio, aiohttp\n"
        "        def side(url):\n"
        "            async def go():\n"
        "                async with aiohttp.ClientSession() as s, s.get(url) as r:\n"
        "                    return r.status\n"
        "            return asyncio.run(go())"
    ),
}


def _suite(pytester: pytest.Pytester, library: str, *, side_call: bool = True) -> None:
    pytester.makepyfile(
        test_side=f"""
        import os
        import pytest
        {SIDE[library]}

        @pytest.mark.llm
        def test_answer(openai_client):
            if {side_call!r}:
                port = os.environ["SIM_URL"].rsplit(":", 1)[1]
                assert side(f"http://localhost:{{port}}/v1/models") == 401  # no key: it arrived
            reply = openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=[{{"role": "user", "content": "What is RAG?"}}])
            assert reply.choices[0].message.content
        """
    )


def _models_gets(sim: ProviderSimulator) -> int:
    return sum(1 for r in sim.requests if r.method == "GET" and r.path.endswith("/models"))


def _chats(sim: ProviderSimulator) -> int:
    return sum(1 for r in sim.requests if r.path.endswith("/chat/completions"))


@pytest.mark.parametrize("library", ["httpx", "requests", "aiohttp"])
def test_ignored_host_is_sent_live_and_never_recorded(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    library: str,
) -> None:
    _suite(llm_pytester, library)
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "--llm-ignore-hosts=localhost")
    result.assert_outcomes(passed=1)
    assert "not recorded" not in result.stdout.str()  # no warning about unrecorded traffic
    [path] = llm_pytester.path.rglob("test_answer.yaml")
    cassette = path.read_text()
    assert "/chat/completions" in cassette
    assert "localhost" not in cassette and "/v1/models" not in cassette
    assert (_models_gets(sim), _chats(sim)) == (1, 1)

    # Replay: the chat completion from the cassette, the side request live again.
    sim.reset()
    for name in with_keys:
        monkeypatch.delenv(name)
    llm_pytester.runpytest("--llm-eval", "--llm-ignore-hosts=localhost").assert_outcomes(passed=1)
    assert (_models_gets(sim), _chats(sim)) == (1, 0)


def test_without_the_option_the_side_request_is_a_miss_that_names_its_host(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    """Recorded when the library skipped its lookup, replayed when it makes it: the miss says what to do."""
    _suite(llm_pytester, "httpx", side_call=False)
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    _suite(llm_pytester, "httpx")
    sim.reset()
    result = llm_pytester.runpytest("--llm-eval")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*No recorded response for GET /v1/models in cassette*",
            "*The cassette holds no request to localhost.*",
            "*llm_ignore_hosts = localhost in the ini file (or --llm-ignore-hosts=localhost)*",
        ]
    )
    assert sim.requests == []  # the replay sent nothing

    llm_pytester.makeini("[pytest]\nllm_ignore_hosts = localhost\n")
    llm_pytester.runpytest("--llm-eval").assert_outcomes(passed=1)
    assert (_models_gets(sim), _chats(sim)) == (1, 0)


def test_an_llm_shaped_request_to_an_ignored_host_is_still_replayed_or_refused(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator
) -> None:
    """Ignoring a host never lets an LLM call past the cassette: a replay run sends it nowhere."""
    llm_pytester.makepyfile(
        test_llm_via_localhost="""
        import os
        import pytest
        from openai import OpenAI

        @pytest.mark.llm
        def test_answer():
            port = os.environ["SIM_URL"].rsplit(":", 1)[1]
            client = OpenAI(base_url=f"http://localhost:{port}/v1", max_retries=0)
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = llm_pytester.runpytest("--llm-eval", "--llm-ignore-hosts=localhost")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*No recorded response for POST /v1/chat/completions (model gpt-4o-mini)*"])
    assert "llm_ignore_hosts" not in result.stdout.str()  # an LLM call is never suggested for ignoring
    assert sim.requests == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("api.openai.com", "*names api.openai.com, which is or covers the host of an LLM provider*"),
        ("*.azure.com", "*names [*].azure.com, which is or covers the host of an LLM provider*"),
        ("*.amazonaws.com", "*names [*].amazonaws.com, which is or covers*"),
        ("https://telemetry.example.com/", "*'https://telemetry.example.com/' is not a host name*"),
        ("telemetry.example.com:443", "*is not a host name*without scheme, port or path*"),
    ],
)
def test_bad_values_are_usage_errors(pytester: pytest.Pytester, value: str, message: str) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--llm-eval", f"--llm-ignore-hosts={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--llm-ignore-hosts{message}"])


def test_a_base_url_host_in_the_ini_file_is_refused(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://llm-gateway.internal.example/v1")
    pytester.makeini("[pytest]\nllm_ignore_hosts = telemetry.example.com llm-gateway.internal.example\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*llm_ignore_hosts in *tox.ini names llm-gateway.internal.example, which is or covers*"]
    )


HF_SUITE = """
import asyncio, os
import pytest
from huggingface_hub import AsyncInferenceClient, InferenceClient

URL = os.environ["SIM_URL"] + "/v1"
KEY = os.environ.get("OPENAI_API_KEY", "sk-replay")
MESSAGES = [{"role": "user", "content": "What is retrieval-augmented generation?"}]

@pytest.mark.llm
def test_chat():
    out = InferenceClient(base_url=URL, api_key=KEY).chat_completion(MESSAGES, model="gpt-4o-mini", max_tokens=40)
    assert out.choices[0].message.content

@pytest.mark.llm
def test_stream():
    client = InferenceClient(base_url=URL, api_key=KEY)  # it holds the stream open: keep it alive
    chunks = client.chat_completion(MESSAGES, model="gpt-4o-mini", max_tokens=40, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

@pytest.mark.llm
def test_async():
    async def go():
        client = AsyncInferenceClient(base_url=URL, api_key=KEY)
        return await client.chat_completion(MESSAGES, model="gpt-4o-mini", max_tokens=40)
    assert asyncio.run(go()).choices[0].message.content
"""


def test_huggingface_hub_registry_lookup(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The real huggingface_hub client: its agent-registry lookup (pointed at the simulator on `localhost`
    through HF_ENDPOINT, with an empty HF_HOME, so every process makes it) passes; its chat calls replay."""
    pytest.importorskip("huggingface_hub")
    port = sim.url.rsplit(":", 1)[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://localhost:{port}")
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf-home")))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    llm_pytester.makepyfile(test_hf=HF_SUITE)
    llm_pytester.makeini("[pytest]\nllm_ignore_hosts = localhost\n")

    def registry_gets() -> int:
        return sum(1 for r in sim.requests if r.path == "/api/agent-harnesses")

    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-" + "R" * 40)
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=3)
    assert (registry_gets(), _chats(sim)) == (1, 3)
    cassettes = "".join(p.read_text() for p in llm_pytester.path.rglob("*.yaml"))
    assert cassettes.count("/v1/chat/completions") == 3 and "agent-harnesses" not in cassettes

    monkeypatch.delenv("OPENAI_API_KEY")
    sim.reset()
    llm_pytester.runpytest("--llm-eval").assert_outcomes(passed=3)
    assert (registry_gets(), _chats(sim)) == (1, 0)

    llm_pytester.makeini("[pytest]\n")
    sim.reset()
    result = llm_pytester.runpytest("--llm-eval")
    # Without the option every test fails: the miss is not an Exception the library's best-effort
    # `except Exception` could swallow, so its lookup is tried (and refused) again in each test.
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        ["*No recorded response for GET /api/agent-harnesses*", "*llm_ignore_hosts = localhost*"]
    )
    assert sim.requests == []
