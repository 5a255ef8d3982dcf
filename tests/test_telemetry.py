"""Tracing and telemetry exports (OpenAI Agents traces, OpenTelemetry, LangSmith, Sentry, PostHog) are never
recorded and never leave the machine in a replay, also when an exporter flushes at interpreter exit.

The collectors' hosts are made to resolve to a loopback collector in the inner suites (their conftest wraps
`socket.getaddrinfo`), so "sent live" is seen arriving, and no test reaches beyond loopback.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pytest_llmops.recording import telemetry, transports
from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.simulator import ProviderSimulator


class Collector:
    """A loopback stand-in for every collector: notes each request's host and path, answers 200."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self._answer(b'{"collected": true}')

            def do_GET(self) -> None:
                self._answer(b'{"looked_up": true}')

            def _answer(self, body: bytes) -> None:
                owner.seen.append(f"{self.headers.get('host', '').split(':')[0]}{self.path}")
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Collector:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


# The inner suites' collectors: real hosts, resolved to the loopback collector.
RESOLVE_TO_COLLECTOR = """
import os, socket

_real = socket.getaddrinfo
COLLECTOR_HOSTS = {
    "api.openai.com", "collector.example.com", "api.smith.langchain.com", "o1.ingest.sentry.io", "huggingface.co",
    "raw.githubusercontent.com",
}

def _to_collector(host, *args, **kwargs):
    if isinstance(host, str) and host in COLLECTOR_HOSTS:
        host = "127.0.0.1"
    return _real(host, *args, **kwargs)

socket.getaddrinfo = _to_collector
PORT = os.environ["COLLECTOR_PORT"]
"""

EXPORTS_SUITE = """
import asyncio, json, os, threading, urllib.request

import aiohttp
import httpx2
import pytest
import requests

from conftest import PORT

OTLP = f"http://collector.example.com:{PORT}/v1/traces"
AGENTS = f"http://api.openai.com:{PORT}/v1/traces/ingest"
LANGSMITH = f"http://api.smith.langchain.com:{PORT}/runs/batch"
SENTRY = f"http://o1.ingest.sentry.io:{PORT}/api/1/envelope/"


def result(status, body):
    return f"{status} {body}"


def via_httpx():
    r = httpx2.post(AGENTS, json={"data": [{"object": "trace", "id": "trace_1"}]})
    return result(r.status_code, r.text)


def via_requests():
    r = requests.post(OTLP, data=b"\\x0a\\x00", headers={"content-type": "application/x-protobuf"})
    return result(r.status_code, r.text)


def via_aiohttp():
    async def send():
        async with aiohttp.ClientSession() as session:
            async with session.post(LANGSMITH, json={"post": [{"id": "run-1"}]}) as r:
                return result(r.status, await r.text())
    return asyncio.run(send())


def via_urllib():
    request = urllib.request.Request(SENTRY, data=b"{}", method="POST")
    with urllib.request.urlopen(request) as r:
        return result(r.status, r.read().decode())


@pytest.mark.llm
def test_answer_with_exports(openai_client, llm_usage):
    answer = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}]
    )
    results = {"httpx": via_httpx(), "requests": via_requests(), "aiohttp": via_aiohttp(), "urllib": via_urllib()}
    thread = threading.Thread(target=lambda: results.update(thread=via_httpx()))  # as exporters send
    thread.start()
    thread.join()
    print("EXPORTS", json.dumps({**results, "calls": len(llm_usage.calls), "text": answer.choices[0].message.content}))
"""


def _suite(
    pytester: pytest.Pytester, collector: Collector, monkeypatch: pytest.MonkeyPatch, **files: str
) -> None:
    monkeypatch.setenv("COLLECTOR_PORT", str(collector.port))
    pytester.makeconftest(pytester.path.joinpath("conftest.py").read_text() + RESOLVE_TO_COLLECTOR)
    pytester.makepyfile(**files)


def _recorded_uris(pytester: pytest.Pytester) -> list[str]:
    """What the one cassette holds."""
    (cassette,) = (pytester.path / "cassettes").rglob("*.yaml")
    return [i.request.uri for i in load_interactions(cassette) if i.request]


def _offline_from_now(collector: Collector, sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what was sent; no key, as in CI."""
    collector.seen.clear()
    sim.reset()
    monkeypatch.delenv("OPENAI_API_KEY")


def _printed(result: pytest.RunResult, tag: str = "EXPORTS") -> dict[str, object]:
    line = next(line for line in result.outlines if f"{tag} " in line)
    found: dict[str, object] = json.loads(line.split(f"{tag} ", 1)[1])
    return found


def _record(pytester: pytest.Pytester) -> pytest.RunResult:
    """Record the inner suite; traffic the plugin does not account for would fail it."""
    recorded = pytester.runpytest(
        "--llm-eval", "--llm-record=once", "-s", "-W", "error::pytest_llmops.session.UnrecordedTrafficWarning"
    )
    recorded.assert_outcomes(passed=1)
    return recorded


def test_exports_go_live_while_recording_and_are_answered_here_in_a_replay(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    collector: Collector,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _suite(llm_pytester, collector, monkeypatch, test_exports=EXPORTS_SUITE)
    live = _printed(_record(llm_pytester))
    # Sent as without the plugin: the collector got each one, and answered it.
    assert {live[k] for k in ("httpx", "requests", "aiohttp", "urllib", "thread")} == {
        '200 {"collected": true}'
    }
    assert sorted(collector.seen) == sorted(
        [
            "api.openai.com/v1/traces/ingest",
            "api.openai.com/v1/traces/ingest",
            "collector.example.com/v1/traces",
            "api.smith.langchain.com/runs/batch",
            "o1.ingest.sentry.io/api/1/envelope/",
        ]
    )
    assert live["calls"] == 1  # the chat call only
    assert _recorded_uris(llm_pytester) == [sim.url + "/v1/chat/completions"]

    _offline_from_now(collector, sim, monkeypatch)
    replayed = llm_pytester.runpytest("--llm-eval", "--llm-record=none", "--llm-block-network", "-s")
    replayed.assert_outcomes(passed=1)
    offline = _printed(replayed)
    assert offline == {
        "httpx": "200 {}",
        "requests": "200 ",  # an OTLP protobuf export: an empty protobuf answer
        "aiohttp": "200 {}",
        "urllib": "200 {}",
        "thread": "200 {}",
        "calls": 1,
        "text": live["text"],
    }
    assert collector.seen == [] and sim.requests == []


AGENTS_SUITE = """
import os

import pytest
from agents import Agent, Runner, set_default_openai_client, set_trace_processors
from agents.tracing.processors import BackendSpanExporter, BatchTraceProcessor
from openai import AsyncOpenAI

from conftest import PORT


@pytest.mark.llm
def test_agent_answers():
    set_default_openai_client(AsyncOpenAI(base_url=os.environ["SIM_URL"] + "/v1", max_retries=0), use_for_tracing=False)
    exporter = BackendSpanExporter(api_key="sk-tracing", endpoint=f"http://api.openai.com:{PORT}/v1/traces/ingest")
    set_trace_processors([BatchTraceProcessor(exporter, schedule_delay=60.0)])  # flushed at interpreter exit
    agent = Agent(name="support", instructions="Answer briefly.", model="gpt-4o-mini")
    result = Runner.run_sync(agent, "Where is my order?")
    print("ANSWER", result.final_output)
"""


def test_the_openai_agents_sdk_flushing_its_traces_at_exit_reaches_nothing_after_a_replay(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    collector: Collector,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("agents", reason="openai-agents is in the test extra")
    _suite(llm_pytester, collector, monkeypatch, test_agent=AGENTS_SUITE)

    # In their own processes, so that the interpreter exits and the SDK flushes its traces then.
    recorded = llm_pytester.runpytest_subprocess("--llm-eval", "--llm-record=once", "-s")
    recorded.assert_outcomes(passed=1)
    assert collector.seen and set(collector.seen) == {"api.openai.com/v1/traces/ingest"}  # live, at exit
    assert _recorded_uris(llm_pytester) == [sim.url + "/v1/responses"]

    _offline_from_now(collector, sim, monkeypatch)
    replayed = llm_pytester.runpytest_subprocess("--llm-eval", "--llm-record=none", "-s")
    replayed.assert_outcomes(passed=1)
    assert [line for line in replayed.outlines if "ANSWER" in line] == [
        line for line in recorded.outlines if "ANSWER" in line
    ]
    assert collector.seen == [] and sim.requests == []
    assert "Tracing request failed" not in replayed.stderr.str()


LANGSMITH_SUITE = """
import pytest
from langsmith import Client, traceable

from conftest import PORT

client = Client(api_url=f"http://api.smith.langchain.com:{PORT}", api_key="lsv2_pt_test")


@traceable(client=client, name="answer")
def answer(openai_client, question):
    reply = openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content


@pytest.mark.llm
def test_traced_answer(openai_client):
    # The server's settings, as the tracing thread reads them at some point of whichever test runs then.
    Client(api_url=f"http://api.smith.langchain.com:{PORT}", api_key="lsv2_pt_test").info
    print("ANSWER", answer(openai_client, "Where is my order?"))
"""


def test_langsmith_tracing_is_sent_while_recording_and_answered_here_in_a_replay(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    collector: Collector,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("langsmith", reason="langsmith comes with langchain-openai, in the test extra")
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    _suite(llm_pytester, collector, monkeypatch, test_traced=LANGSMITH_SUITE)

    recorded = llm_pytester.runpytest_subprocess("--llm-eval", "--llm-record=once", "-s")
    recorded.assert_outcomes(passed=1)
    # Its runs, and the client's reads of its server's settings (`GET /info`), went out.
    assert any("/runs" in seen for seen in collector.seen), collector.seen
    assert all("/runs" in seen or seen.endswith("/info") for seen in collector.seen), collector.seen
    assert _recorded_uris(llm_pytester) == [sim.url + "/v1/chat/completions"]

    _offline_from_now(collector, sim, monkeypatch)
    replayed = llm_pytester.runpytest_subprocess("--llm-eval", "--llm-record=none", "-s")
    replayed.assert_outcomes(passed=1)
    assert collector.seen == [] and sim.requests == []


def test_an_in_process_run_leaves_nothing_installed_for_the_outer_one(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator
) -> None:
    """Only the last run of a process keeps answering telemetry after it ends: pytester's in-process runs
    end while the outer run goes on, which must find the libraries as they were."""
    llm_pytester.makepyfile(
        test_one="""
        import pytest

        @pytest.mark.llm
        def test_nothing_sent():
            pass
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=none").assert_outcomes(passed=1)
    assert transports.installed() == []
    assert not telemetry.offline()


LOOKUPS_SUITE = """
import json

import httpx2
import pytest
import requests

from conftest import PORT

HF = f"http://huggingface.co:{PORT}/api/agent-harnesses"
LITELLM = f"http://raw.githubusercontent.com:{PORT}/BerriAI/litellm/main/model_prices_and_context_window.json"


@pytest.mark.llm
def test_answer_with_lookups(openai_client, llm_usage):
    hf = requests.get(HF, timeout=5)  # huggingface_hub's session is a requests one
    prices = httpx2.get(LITELLM, timeout=5)  # LiteLLM's is httpx
    answer = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}]
    )
    print("LOOKUPS", json.dumps({"hf": hf.status_code, "litellm": prices.status_code,
                                 "calls": len(llm_usage.calls), "text": answer.choices[0].message.content}))
"""


def test_library_lookups_go_live_while_recording_and_are_not_available_in_a_replay(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    collector: Collector,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """huggingface_hub's daily registry lookup and LiteLLM's price map: made on some runs and not on
    others, so never in a cassette, never counted as calls, and never sent from a replay."""
    _suite(llm_pytester, collector, monkeypatch, test_lookups=LOOKUPS_SUITE)
    live = _printed(_record(llm_pytester), "LOOKUPS")
    assert (live["hf"], live["litellm"], live["calls"]) == (200, 200, 1)
    assert sorted(collector.seen) == [
        "huggingface.co/api/agent-harnesses",
        "raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
    ]
    assert _recorded_uris(llm_pytester) == [sim.url + "/v1/chat/completions"]

    _offline_from_now(collector, sim, monkeypatch)
    replayed = llm_pytester.runpytest("--llm-eval", "-s")  # no --llm-block-network: still nothing leaves
    replayed.assert_outcomes(passed=1)
    assert _printed(replayed, "LOOKUPS") == {**live, "hf": 404, "litellm": 404}
    assert collector.seen == [] and sim.requests == []


EXPORT, LOOKUP = "export", "lookup"


@pytest.mark.parametrize(
    ("method", "uri", "kind"),
    [
        ("POST", "https://api.openai.com/v1/traces/ingest", EXPORT),
        ("POST", "https://logfire-api.pydantic.dev/v1/traces", EXPORT),
        ("POST", "https://cloud.langfuse.com/api/public/otel/v1/traces", EXPORT),
        ("POST", "https://otlp.arize.com/v1/metrics", EXPORT),
        ("POST", "https://cloud.langfuse.com/api/public/ingestion", EXPORT),
        ("POST", "https://api.smith.langchain.com/runs/multipart", EXPORT),
        ("PATCH", "https://api.smith.langchain.com/runs/0193-run-id", EXPORT),
        ("POST", "https://eu.api.smith.langchain.com/api/v1/runs", EXPORT),
        ("POST", "https://o42.ingest.us.sentry.io/api/7/envelope/", EXPORT),
        ("POST", "https://us.i.posthog.com/batch/", EXPORT),
        ("POST", "https://llmobs-intake.datadoghq.com/api/v2/llmobs", EXPORT),
        ("GET", "https://api.smith.langchain.com/info", EXPORT),
        ("GET", "https://huggingface.co/api/agent-harnesses", LOOKUP),
        (
            "GET",
            "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
            LOOKUP,
        ),
        # Neither: LLM calls, other reads, and collectors on this machine.
        ("POST", "https://api.openai.com/v1/chat/completions", None),
        ("POST", "https://api.openai.com/v1/responses", None),
        ("GET", "https://api.smith.langchain.com/runs/0193-run-id", None),
        ("GET", "https://collector.example.com/v1/traces", None),
        ("POST", "https://api.smith.langchain.com/runs/query", None),
        ("POST", "https://api.smith.langchain.com/datasets", None),
        ("POST", "http://localhost:6006/v1/traces", None),
        ("POST", "http://127.0.0.1:4318/v1/traces", None),
        ("POST", "https://example.com/v1/traces/extra", None),
        ("POST", "https://huggingface.co/api/agent-harnesses", None),
        ("GET", "https://huggingface.co/api/models/gpt2", None),
        ("GET", "https://raw.githubusercontent.com/BerriAI/litellm/main/README.md", None),
        ("GET", "http://localhost:8080/api/agent-harnesses", None),
    ],
)
def test_which_requests_are_telemetry_or_library_lookups(method: str, uri: str, kind: str | None) -> None:
    assert telemetry.service(method, uri) is (kind == EXPORT)
    assert telemetry.lookup(method, uri) is (kind == LOOKUP)


def test_a_users_collector_is_telemetry_by_its_url_prefix() -> None:
    try:
        telemetry.configure(["https://Collector.Example.com/ingest"])
        assert telemetry.service("POST", "https://collector.example.com/ingest/events")
        assert not telemetry.service("POST", "https://collector.example.com/other")
    finally:
        telemetry.configure(())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("collector.example.com/ingest", "is not an http(s) URL"),
        ("https://api.openai.com/v1/", "on the host of an LLM provider"),
        ("https://collector.example.com/v1/chat/completions", "on the host of an LLM provider"),
    ],
)
def test_a_telemetry_url_that_is_no_collector_is_refused(
    pytester: pytest.Pytester, value: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\nllm_telemetry_urls = {value}\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*llm_telemetry_urls*{message}*"])
