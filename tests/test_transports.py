"""Every client library's HTTP stack, recorded and replayed for real against the simulator; and a replay
that nothing escapes (unpatched libraries, raw sockets, unmarked tests)."""

from __future__ import annotations

import os
import time

import pytest

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.simulator import ProviderSimulator

os.environ.setdefault(
    "LITELLM_LOCAL_MODEL_COST_MAP", "True"
)  # litellm fetches its price map at import otherwise

# Imported before any in-process inner run: pytester restores sys.modules after each, and these hold
# C extensions or classes the plugin patches, which must not be imported a second time.
aiohttp = pytest.importorskip("aiohttp")
requests = pytest.importorskip("requests")
boto3 = pytest.importorskip("boto3")
litellm = pytest.importorskip("litellm")

CLIENTS = """
import asyncio, json, os, pytest

URL = os.environ["SIM_URL"]
KEY = os.environ.get("OPENAI_API_KEY", "")
AUTH = {"Authorization": "Bearer " + KEY}
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in French"}]}
MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
MSG = [{"role": "user", "content": [{"text": "Say hello in French"}]}]


def deltas(lines):
    out = []
    for line in lines:
        line = line.decode() if isinstance(line, bytes) else line
        if line.strip().startswith("data: {"):
            choice = json.loads(line.strip()[6:])["choices"]
            if choice and choice[0]["delta"].get("content"):
                out.append(choice[0]["delta"]["content"])
    return "".join(out)


@pytest.fixture
def bedrock():
    import boto3
    return boto3.client("bedrock-runtime", endpoint_url=URL, region_name="us-east-1")  # keys from the environment


@pytest.mark.llm
def test_aiohttp_json():
    import aiohttp
    async def go():
        async with aiohttp.ClientSession() as s:
            async with s.post(URL + "/v1/chat/completions", json=BODY, headers=AUTH) as r:
                return (await r.json())["choices"][0]["message"]["content"]
    print("ANSWER aiohttp_json", asyncio.run(go()))


@pytest.mark.llm
def test_aiohttp_stream():
    import aiohttp
    async def go():
        async with aiohttp.ClientSession() as s:
            async with s.post(URL + "/v1/chat/completions", json={**BODY, "stream": True}, headers=AUTH) as r:
                return deltas([line async for line in r.content])
    print("ANSWER aiohttp_stream", asyncio.run(go()))


@pytest.mark.llm
def test_requests_json():
    import requests
    r = requests.post(URL + "/v1/chat/completions", json=BODY, headers=AUTH)
    print("ANSWER requests_json", r.json()["choices"][0]["message"]["content"])


@pytest.mark.llm
def test_requests_stream():
    import requests
    with requests.post(URL + "/v1/chat/completions", json={**BODY, "stream": True}, headers=AUTH, stream=True) as r:
        print("ANSWER requests_stream", deltas(r.iter_lines()))


@pytest.mark.llm
def test_litellm_sync():
    import litellm
    r = litellm.completion(model="openai/gpt-4o-mini", api_base=URL + "/v1", api_key=KEY, messages=BODY["messages"])
    print("ANSWER litellm_sync", r.choices[0].message.content)


@pytest.mark.llm
def test_litellm_async():
    import litellm
    async def go():
        r = await litellm.acompletion(
            model="openai/gpt-4o-mini", api_base=URL + "/v1", api_key=KEY, messages=BODY["messages"])
        return r.choices[0].message.content
    print("ANSWER litellm_async", asyncio.run(go()))


@pytest.mark.llm
def test_litellm_async_stream():
    import litellm
    async def go():
        out = []
        r = await litellm.acompletion(model="openai/gpt-4o-mini", api_base=URL + "/v1", api_key=KEY,
                                      messages=BODY["messages"], stream=True)
        async for chunk in r:
            if chunk.choices and chunk.choices[0].delta.content:
                out.append(chunk.choices[0].delta.content)
        return "".join(out)
    print("ANSWER litellm_async_stream", asyncio.run(go()))


@pytest.mark.llm
def test_bedrock_converse(bedrock):
    r = bedrock.converse(modelId=MODEL, messages=MSG)
    print("ANSWER bedrock_converse", r["output"]["message"]["content"][0]["text"], r["usage"]["outputTokens"])


@pytest.mark.llm
def test_bedrock_converse_stream(bedrock):
    events = list(bedrock.converse_stream(modelId=MODEL, messages=MSG)["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    print("ANSWER bedrock_converse_stream", len(events), text)


@pytest.mark.llm
def test_bedrock_invoke_model(bedrock):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
            "messages": [{"role": "user", "content": "Say hello in French"}]}
    r = bedrock.invoke_model(modelId=MODEL, body=json.dumps(body))
    print("ANSWER bedrock_invoke_model", json.loads(r["body"].read())["content"][0]["text"])
"""

NAMES = [
    "aiohttp_json",
    "aiohttp_stream",
    "requests_json",
    "requests_stream",
    "litellm_sync",
    "litellm_async",
    "litellm_async_stream",
    "bedrock_converse",
    "bedrock_converse_stream",
    "bedrock_invoke_model",
]


def answers(result: pytest.RunResult) -> dict[str, str]:
    out = {}
    for line in result.outlines:
        if "ANSWER " in line and "print(" not in line:
            name, _, text = line.split("ANSWER ", 1)[1].partition(" ")
            out[name] = text
    return out


def test_every_client_library_records_then_replays_with_nothing_reaching_the_network(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(test_clients=CLIENTS)
    aws = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "example",
        "AWS_SESSION_TOKEN": "token-1234",
    }
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):  # no credentials from a local AWS config
        monkeypatch.setenv(name, str(llm_pytester.path / "no-aws-config"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    run = ("--llm-eval", "-s", "-p", "no:randomly")
    with ProviderSimulator(idle_timeout_s=120) as live:
        monkeypatch.setenv("SIM_URL", live.url)
        recorded = llm_pytester.runpytest(*run, "--llm-record=once")
        recorded.assert_outcomes(passed=len(NAMES))
        assert len(live.requests) == len(NAMES)
        assert sorted(answers(recorded)) == sorted(NAMES)
        # Live spend counts the calls made through aiohttp, requests and botocore too.
        recorded.stdout.fnmatch_lines([f"app calls: {len(NAMES)} (0 replayed, {len(NAMES)} live)"])

        folder = llm_pytester.path / "cassettes" / "test_clients"
        for name in NAMES:
            path = folder / f"test_{name}.yaml"
            text = path.read_text()
            for secret in [*with_keys.values(), "token-1234"]:
                assert secret not in text, (name, secret)
            [interaction] = load_interactions(path)
            assert interaction.meta.ttfb_ms is not None and interaction.meta.latency_ms is not None
        [stream] = load_interactions(folder / "test_bedrock_converse_stream.yaml")
        assert stream.response.content_type == "application/vnd.amazon.eventstream"
        assert stream.response.body.count(b":event-type") > 3  # raw frames kept as they came

        for name in [*with_keys, *aws]:  # replay: no keys at all (boto3 signs with the plugin's placeholder)
            monkeypatch.delenv(name)
        live.reset()
        replayed = llm_pytester.runpytest(*run)
        replayed.assert_outcomes(passed=len(NAMES))
        assert live.requests == []  # the simulator is up and reachable, and hears nothing
        assert answers(replayed) == answers(recorded)

    offline = llm_pytester.runpytest(*run, "--llm-block-network")
    offline.assert_outcomes(passed=len(NAMES))
    assert answers(offline) == answers(recorded)


UNINTERCEPTED = """
import json, os, socket, urllib.request, pytest

URL = os.environ["SIM_URL"]


@pytest.mark.llm
def test_urllib_request():
    request = urllib.request.Request(
        URL + "/v1/chat/completions", data=json.dumps({"model": "gpt-4o-mini", "messages": []}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
    urllib.request.urlopen(request, timeout=5).read()


@pytest.mark.llm
def test_raw_socket_to_a_port_a_patched_client_used(openai_client):
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    host, port = URL.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"GET /health HTTP/1.0\\r\\n\\r\\n")


@pytest.mark.llm
def test_raw_socket_off_the_machine():
    socket.create_connection(("192.0.2.1", 443), timeout=5)


@pytest.mark.llm
def test_name_lookup_of_a_provider():
    socket.create_connection(("api.anthropic.com", 443), timeout=5)


@pytest.mark.llm
def test_loopback_service_stays_reachable():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname(), timeout=5)
    client.close()
    listener.close()


def test_unmarked_requests_with_base_url_in_code():
    import requests
    requests.post(URL + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []}, timeout=5)


def test_unmarked_aiohttp_with_base_url_in_code():
    import asyncio, aiohttp
    async def go():
        async with aiohttp.ClientSession() as s:
            await s.post(URL + "/v1/messages", json={"model": "claude", "messages": []})
    asyncio.run(go())


def test_unmarked_local_service_is_fine():
    import requests
    assert requests.get(URL + "/health", timeout=5).status_code in (200, 401, 404)
"""


def test_replay_refuses_what_no_interception_accounts_for(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makepyfile(test_escape=UNINTERCEPTED)
    cassettes = llm_pytester.path / "cassettes" / "test_escape"
    cassettes.mkdir(parents=True)
    # A cassette answering the openai call, so that test gets as far as its http.client request.
    with_cassette = llm_pytester.runpytest(
        "--llm-eval", "--llm-record=once", "-k", "port_a_patched", "-p", "no:randomly"
    )
    with_cassette.assert_outcomes(passed=1)
    for name in with_keys:
        monkeypatch.delenv(name)
    # The raw socket's request is sent without waiting for the answer: let the simulator note it before
    # forgetting it, or it lands among the replay's requests below.
    deadline = time.monotonic() + 10
    while "/health" not in [r.path for r in sim.requests] and time.monotonic() < deadline:
        time.sleep(0.01)
    sim.reset()

    result = llm_pytester.runpytest("--llm-eval", "-p", "no:randomly", "-rf")
    result.assert_outcomes(passed=2, failed=6)
    result.stdout.fnmatch_lines_random(
        [
            "No recorded response for POST /v1/chat/completions (model gpt-4o-mini) in cassette *test_urllib_request.yaml*",
            "*a connection to 127.0.0.1:* was refused: test_escape.py::test_raw_socket_to_a_port_a_patched*",
            "*a connection to 192.0.2.1:443 was refused: test_escape.py::test_raw_socket_off_the_machine*",
            "*a name lookup of api.anthropic.com was refused*",
            "*POST /v1/chat/completions to 127.0.0.1 was not sent: it comes from a test without @pytest.mark.llm*",
            "*POST /v1/messages to 127.0.0.1 was not sent: it comes from a test without @pytest.mark.llm*",
        ]
    )
    assert "Connection error" not in result.stdout.str()
    # Only the unmarked test's request to a non-LLM path reached the simulator.
    assert [r.path for r in sim.requests] == ["/health"]


def test_recording_warns_about_traffic_it_did_not_record(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", sim.url + "/v1")  # the port is an LLM endpoint's
    llm_pytester.makepyfile(
        test_side="""
        import os, socket, pytest

        @pytest.mark.llm
        def test_side_channel():
            host, port = os.environ["SIM_URL"].split("//")[1].split(":")
            with socket.create_connection((host, int(port)), timeout=5) as raw:
                raw.sendall(b"GET /health HTTP/1.0\\r\\n\\r\\n")
                raw.recv(100)
        """
    )
    warned = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:randomly")
    warned.assert_outcomes(passed=1)  # other warnings (pytest's own, depending on the order) may come too
    assert warned.stdout.str().count("UnrecordedTrafficWarning:") == 1
    warned.stdout.fnmatch_lines(
        [
            "*UnrecordedTrafficWarning: test_side.py::test_side_channel sent traffic the plugin did not record: 127.0.0.1:*"
        ]
    )
    failed = llm_pytester.runpytest(
        "--llm-eval", "--llm-record=all", "--llm-block-network", "-p", "no:randomly"
    )
    failed.assert_outcomes(passed=1, errors=1)
    failed.stdout.fnmatch_lines(["*sent traffic the plugin did not record*--llm-block-network is set*"])


def test_time_to_first_byte_is_stamped_at_the_transport_not_when_the_app_reads(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ProviderSimulator(ttfb_ms=60, idle_timeout_s=60) as slow:
        monkeypatch.setenv("SIM_URL", slow.url)
        llm_pytester.makepyfile(
            test_late="""
            import asyncio, os, time, pytest

            URL = os.environ["SIM_URL"] + "/v1/chat/completions"
            AUTH = {"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}
            BODY = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hello there"}]}

            @pytest.mark.llm
            def test_httpx():
                import httpx2
                with httpx2.Client() as client, client.stream("POST", URL, json=BODY, headers=AUTH) as r:
                    time.sleep(0.4)
                    r.read()

            @pytest.mark.llm
            def test_aiohttp():
                import aiohttp
                async def go():
                    async with aiohttp.ClientSession() as s, s.post(URL, json=BODY, headers=AUTH) as r:
                        await asyncio.sleep(0.4)
                        await r.read()
                asyncio.run(go())

            @pytest.mark.llm
            def test_requests():
                import requests
                with requests.post(URL, json=BODY, headers=AUTH, stream=True) as r:
                    time.sleep(0.4)
                    r.content
            """
        )
        llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=3)
    for name in ("test_httpx", "test_aiohttp", "test_requests"):
        [interaction] = load_interactions(llm_pytester.path / "cassettes" / "test_late" / f"{name}.yaml")
        assert interaction.meta.ttfb_ms is not None and interaction.meta.latency_ms is not None
        assert 50 <= interaction.meta.ttfb_ms < 300, (name, interaction.meta)
        assert interaction.response.body.count(b"data:") > 2


# In a fresh interpreter: which client libraries the plugin imports, and whether one imported afterwards is
# patched before the import statement returns (through a dependency, submodule first, reloaded).
PATCH_ON_IMPORT = """
import importlib, json, sys
from pytest_llmops.recording import transports

def patched():
    out = {}
    if "urllib3" in sys.modules:
        out["urllib3"] = hasattr(sys.modules["urllib3"].connectionpool.HTTPConnectionPool.urlopen, "__wrapped__")
    if "aiohttp" in sys.modules:
        out["aiohttp"] = hasattr(sys.modules["aiohttp"].ClientSession._request, "__wrapped__")
    for name in ("httpx", "httpx2"):
        if name in sys.modules:
            out[name] = hasattr(sys.modules[name].HTTPTransport.handle_request, "__wrapped__")
    return out

seen = {}
import httpx2  # imported before the plugin installs: patched at once
transports.install(import_missing=True)
seen["at_install"] = patched()
seen["imported_by_install"] = sorted(n for n in ("httpx", "aiohttp", "urllib3", "requests") if n in sys.modules)
import requests  # urllib3 comes in as a dependency
from aiohttp import client  # submodule first: the package runs, then the hook patches it
import httpx
seen["after_import"] = patched()
seen["loader"] = type(sys.modules["urllib3"].__loader__).__name__
importlib.reload(sys.modules["httpx"])  # new classes: patched again
seen["after_reload"] = patched()
transports.uninstall()
seen["after_uninstall"] = patched()
seen["hook_left"] = any(type(f).__name__ == "_PatchOnImport" for f in sys.meta_path)
transports.install(import_missing=False)  # what is imported, and no hook
seen["without_hook"] = patched()
seen["hook_without_import_missing"] = any(type(f).__name__ == "_PatchOnImport" for f in sys.meta_path)
print(json.dumps(seen))
"""


def test_client_libraries_are_patched_when_imported_not_imported_by_the_plugin() -> None:
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", PATCH_ON_IMPORT], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["at_install"] == {"httpx2": True}
    assert seen["imported_by_install"] == []
    assert seen["after_import"] == {"httpx2": True, "httpx": True, "aiohttp": True, "urllib3": True}
    assert seen["loader"] == "SourceFileLoader", "the library keeps its own loader once imported"
    assert seen["after_reload"] == seen["after_import"]
    assert seen["after_uninstall"] == {"httpx2": False, "httpx": False, "aiohttp": False, "urllib3": False}
    assert seen["hook_left"] is False
    assert seen["without_hook"] == seen["after_import"]
    assert seen["hook_without_import_missing"] is False


LATE_IMPORT = """
import json, os, sys, pytest

URL = os.environ["SIM_URL"]
IMPORTED_AT_COLLECTION = sorted(n for n in ("requests", "urllib3") if n in sys.modules)


def ask(content):
    import requests  # first imported here, after the plugin has patched what was imported before the test
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}
    key = os.environ.get("OPENAI_API_KEY", "")
    reply = requests.post(URL + "/v1/chat/completions", json=body, headers={"Authorization": "Bearer " + key})
    return reply.json()["choices"][0]["message"]["content"]


@pytest.mark.llm
def test_recorded():
    assert IMPORTED_AT_COLLECTION == []
    print("ANSWER late", ask("Say hello in French"))


@pytest.mark.llm
def test_not_recorded():
    if os.environ.get("SECOND_QUESTION"):
        ask("Say goodbye in French")
"""


def test_a_library_first_imported_inside_a_test_replays_and_fails_closed(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makepyfile(test_late=LATE_IMPORT)
    args = ("--llm-eval", "-s", "-p", "no:randomly")  # the pytester fixture turns langsmith's plugin off
    recorded = llm_pytester.runpytest_subprocess(*args, "--llm-record=once")
    recorded.assert_outcomes(passed=2)
    assert len(sim.requests) == 1
    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    monkeypatch.setenv("SECOND_QUESTION", "1")
    replayed = llm_pytester.runpytest_subprocess(*args)
    replayed.assert_outcomes(passed=1, failed=1)
    assert answers(replayed) == answers(recorded)
    replayed.stdout.fnmatch_lines(["*test_not_recorded*", "*CassetteMiss*"])
    assert sim.requests == []  # replayed by the patch, and the unrecorded request refused by it
