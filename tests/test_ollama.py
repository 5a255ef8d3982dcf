"""The `ollama` client (Ollama's native API: JSON and newline-delimited JSON streams) recorded through the
plugin against the simulator, then replayed with --llm-block-network: the same lines in the same pieces,
the same usage, the same errors, and nothing sent. Also NDJSON through requests, http.client and aiohttp,
and the pure parts: replay chunking, cassette round trip, the usage parser."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmops.recording.errors import CassetteFormatError
from pytest_llmops.recording.formats import dump_interactions, load_interactions, loads_interactions
from pytest_llmops.recording.interactions import (
    JSON_LINES_TYPES,
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.recording.transport import prepare_replay
from pytest_llmops.simulator import ProviderSimulator, fixed_responder
from pytest_llmops.spend.providers import builtin_parse_call

ollama = pytest.importorskip("ollama")
aiohttp = pytest.importorskip("aiohttp")  # imported before any in-process inner run (see tests/conftest.py)
requests = pytest.importorskip("requests")

ANSWER = "Refunds take five business days."

SUITE = textwrap.dedent(
    """
    import asyncio, http.client, json, os, urllib.parse
    import pytest
    import ollama

    HOST = os.environ["SIM_URL"]
    Q = [{"role": "user", "content": "Context: refunds take 5 business days. How long do refunds take?"}]

    def show(name, value, usage=None):
        if usage is not None:
            value = {"value": value, "input": usage.input_tokens, "output": usage.output_tokens,
                     "cost": usage.cost_usd, "estimated": usage.estimated,
                     "calls": [[c.provider, c.model, c.stream, c.status] for c in usage.calls]}
        print("RESULT", name, json.dumps(value))

    @pytest.fixture
    def client():
        return ollama.Client(host=HOST)

    @pytest.mark.llm
    def test_chat(client, llm_usage):
        r = client.chat(model="llama3.2", messages=Q, stream=False, options={"temperature": 0})
        show("chat", [r.message.content, r.done_reason, r.prompt_eval_count, r.eval_count], llm_usage)

    @pytest.mark.llm
    def test_chat_stream(client, llm_usage):
        parts = [[p.message.content, p.done, p.eval_count] for p in client.chat(model="llama3.2", messages=Q, stream=True)]
        show("chat_stream", parts, llm_usage)

    @pytest.mark.llm
    def test_chat_async_stream(llm_usage):
        async def go():
            out = []
            async for p in await ollama.AsyncClient(host=HOST).chat(model="llama3.2", messages=Q, stream=True):
                out.append([p.message.content, p.done])
            return out
        show("chat_async_stream", asyncio.run(go()), llm_usage)

    @pytest.mark.llm
    def test_generate_async(llm_usage):
        async def go():
            return await ollama.AsyncClient(host=HOST).generate(model="llama3.2", prompt="How long do refunds take?")
        r = asyncio.run(go())
        show("generate_async", [r.response, r.done_reason, len(r.context)], llm_usage)

    @pytest.mark.llm
    def test_embed(client, llm_usage):
        r = client.embed(model="all-minilm", input=["refunds", "five business days"])
        show("embed", [len(r.embeddings), len(r.embeddings[0]), round(sum(r.embeddings[1]), 6)], llm_usage)

    @pytest.mark.llm
    def test_tool_call(client, llm_usage):
        def get_refund_status(order_id: str) -> str:
            '''Look up a refund.

            Args:
              order_id: the order
            '''
            return "sent"
        r = client.chat(model="llama3.2", messages=[{"role": "user", "content": "Use get_refund_status for A-12"}],
                        tools=[get_refund_status], stream=False)
        calls = [[t.function.name, dict(t.function.arguments)] for t in r.message.tool_calls]
        show("tool_call", [calls, [c.tool_calls for c in llm_usage.calls]], llm_usage)

    @pytest.mark.llm
    def test_missing_model(client, llm_usage):
        with pytest.raises(ollama.ResponseError) as caught:
            client.chat(model="llama9", messages=Q)
        show("missing_model", [caught.value.status_code, caught.value.error, str(caught.value)], llm_usage)

    @pytest.mark.llm(budget_tokens=10)
    def test_over_token_budget(client):
        client.chat(model="llama3.2", messages=Q, stream=False)

    # The same NDJSON stream through other client libraries, piece by piece as each one hands it over.
    BODY = {"model": "llama3.2", "messages": Q}

    @pytest.mark.llm
    def test_requests_pieces():
        import requests
        with requests.post(HOST + "/api/chat", json=BODY, stream=True) as r:
            pieces = [c.decode() for c in r.iter_content(chunk_size=None)]
            show("requests_pieces", [r.headers.get("content-type"), r.headers.get("transfer-encoding"), pieces])

    @pytest.mark.llm
    def test_requests_lines():
        import requests
        with requests.post(HOST + "/api/chat", json=BODY, stream=True) as r:
            lines = [json.loads(line)["message"]["content"] for line in r.iter_lines() if line]
        show("requests_lines", lines)

    @pytest.mark.llm
    def test_http_client_pieces():
        url = urllib.parse.urlsplit(HOST)
        conn = http.client.HTTPConnection(url.hostname, url.port)
        conn.request("POST", "/api/chat", body=json.dumps(BODY), headers={"content-type": "application/json"})
        response = conn.getresponse()
        pieces = []
        while piece := response.read1(65536):
            pieces.append(piece.decode())
        conn.close()
        show("http_client_pieces", [response.getheader("transfer-encoding"), response.getheader("content-length"), pieces])

    @pytest.mark.llm
    def test_httpx2_pieces():
        import httpx2
        with httpx2.Client() as http, http.stream("POST", HOST + "/api/chat", json=BODY) as r:
            show("httpx2_pieces", [r.headers.get("transfer-encoding"), [p.decode() for p in r.iter_raw()]])

    @pytest.mark.llm
    def test_aiohttp_pieces():
        import aiohttp
        async def go():
            async with aiohttp.ClientSession() as session:
                async with session.post(HOST + "/api/chat", json=BODY) as r:
                    pieces = [p.decode() async for p, _ in r.content.iter_chunks()]
                    return [r.headers.get("transfer-encoding"), pieces]
        show("aiohttp_pieces", asyncio.run(go()))

    @pytest.mark.llm
    def test_cut_stream(client, llm_usage):
        parts = []
        with pytest.raises(Exception) as caught:
            for p in client.chat(model="llama3.2", messages=[{"role": "user", "content": "cut me off"}], stream=True):
                parts.append(p.message.content)
        show("cut_stream", [parts, type(caught.value).__name__, llm_usage.estimated], llm_usage)

    @pytest.mark.llm
    def test_aiohttp_lines():
        import aiohttp
        async def go():
            async with aiohttp.ClientSession() as session:
                async with session.post(HOST + "/api/chat", json=BODY) as r:
                    return [json.loads(line)["message"]["content"] async for line in r.content if line.strip()]
        show("aiohttp_lines", asyncio.run(go()))
    """
)

RECORDED = 15  # requests the suite sends while recording (a budget breach is found once the call is in)


@pytest.fixture
def own_sim() -> Iterator[ProviderSimulator]:
    # Lines 10 ms apart, so every library receives them one by one while recording, as from a real server.
    with ProviderSimulator(idle_timeout_s=60, chunk_delay_ms=10, responder=fixed_responder(ANSWER)) as sim:
        yield sim


def results(run: pytest.RunResult) -> dict[str, Any]:
    lines = [
        line.split("RESULT ", 1)[1] for line in run.outlines if "RESULT " in line and "print(" not in line
    ]
    return {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1]) for line in lines}


def pieces_shape(expected: list[str], got: list[str]) -> list[str]:
    """`got`, checked to be one JSON line per piece like `expected` (their timestamps differ)."""
    assert len(got) == len(expected) and all(p.count("\n") == 1 and p.endswith("\n") for p in got)
    return got


def test_ollama_client_records_then_replays_line_by_line_with_nothing_sent(
    pytester: pytest.Pytester, own_sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_URL", own_sim.url)
    for name in ("OLLAMA_HOST", "OLLAMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_local=SUITE)
    own_sim.cut_next(after_events=3, path="/api/chat", body_contains="cut me off")

    recorded = pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:cacheprovider")
    recorded.assert_outcomes(passed=14, failed=1)
    recorded.stdout.fnmatch_lines(["*LLM budget exceeded: *tokens*"])
    assert len(own_sim.requests) == RECORDED
    live = results(recorded)

    # What the app got, and what the plugin read from it.
    text, reason, prompt_tokens, eval_tokens = live["chat"]["value"]
    assert text == ANSWER and reason == "stop" and prompt_tokens > 0 and eval_tokens > 0
    assert (live["chat"]["input"], live["chat"]["output"]) == (prompt_tokens, eval_tokens)
    assert live["chat"]["calls"] == [["ollama", "llama3.2", False, 200]]
    assert live["chat"]["cost"] is None and not live["chat"]["estimated"]  # self-hosted: unpriced, not $0
    stream = live["chat_stream"]["value"]
    assert "".join(p[0] for p in stream) == ANSWER and [p[1] for p in stream].count(True) == 1
    assert stream[-1][1] is True and stream[-1][2] == live["chat_stream"]["output"] > 0
    assert live["chat_stream"]["calls"] == [["ollama", "llama3.2", True, 200]]
    assert "".join(p[0] for p in live["chat_async_stream"]["value"]) == ANSWER
    assert live["generate_async"]["value"][0] == ANSWER and live["generate_async"]["output"] > 0
    assert live["embed"]["value"][:2] == [2, 384] and live["embed"]["input"] > 0
    assert live["embed"]["output"] == 0
    calls, seen = live["tool_call"]["value"]
    assert calls == [["get_refund_status", {"order_id": "A-12"}]]
    assert seen == [
        [{"name": "get_refund_status", "arguments": {"order_id": "A-12"}, "id": seen[0][0]["id"]}]
    ]
    missing = 'model "llama9" not found, try pulling it first'
    assert live["missing_model"]["value"] == [404, missing, f"{missing} (status code: 404)"]
    assert live["missing_model"]["calls"] == [["ollama", "llama9", False, 404]]
    # Other libraries: one piece per NDJSON line, no content-length, as the server sent it.
    content_type, framing, pieces = live["requests_pieces"]
    assert content_type == "application/x-ndjson" and framing == "chunked"
    assert len(pieces) > 3 and all(p.count("\n") == 1 and p.endswith("\n") for p in pieces)
    framing, length, http_pieces = live["http_client_pieces"]
    assert framing == "chunked" and length is None and len(http_pieces) == len(pieces)
    # The same headers in replay as live: chunked, no content-length (checked by `results(replayed) == live`).
    assert "".join(live["requests_lines"]) == "".join(live["aiohttp_lines"]) == ANSWER
    assert live["httpx2_pieces"] == ["chunked", pieces_shape(pieces, live["httpx2_pieces"][1])]
    # aiohttp hands over what its buffer holds, so live pieces follow the timing of the reads: two lines
    # that arrived in one read come as one piece, and the terminating chunk read on its own comes as an
    # empty piece (both seen on a loaded machine). Whole lines per piece and the same text are required.
    framing, aio_pieces = live["aiohttp_pieces"]
    aio_pieces = [p for p in aio_pieces if p]
    assert framing == "chunked" and all(p.endswith("\n") for p in aio_pieces)
    assert "".join(aio_pieces).count("\n") == len(pieces) and len(aio_pieces) <= len(pieces)
    # A stream broken off before its `done` line: the error again, and counts estimated, never invented.
    cut_parts, error, estimated = live["cut_stream"]["value"]
    assert cut_parts == ["Refunds", " take", " five"] and error == "RemoteProtocolError" and estimated
    assert live["cut_stream"]["output"] > 0

    cassettes = pytester.path / "cassettes" / "test_local"
    streamed = load_interactions(cassettes / "test_chat_stream.yaml")[0]
    assert streamed.response.content_type == "application/x-ndjson"
    assert len(prepare_replay(streamed).chunks) == len(stream)

    # Replay with the simulator still listening: nothing may reach it.
    replayed = pytester.runpytest("--llm-eval", "--llm-block-network", "-s", "-p", "no:cacheprovider")
    replayed.assert_outcomes(passed=14, failed=1)
    replayed.stdout.fnmatch_lines(["*LLM budget exceeded: *tokens*"])
    assert len(own_sim.requests) == RECORDED
    again = results(replayed)
    # Replay hands over one recorded line per read, whatever the live run's reads were.
    assert pieces_shape(pieces, again["aiohttp_pieces"][1]) and "".join(
        again["aiohttp_pieces"][1]
    ) == "".join(aio_pieces)
    assert {**again, "aiohttp_pieces": None} == {**live, "aiohttp_pieces": None}

    # A request the cassette does not hold fails with our message, not a connection error.
    (pytester.path / "test_local.py").write_text(SUITE.replace("How long do refunds take?", "Changed?"))
    missed = pytester.runpytest(
        "--llm-eval", "--llm-block-network", "-p", "no:cacheprovider", "-k", "test_chat_stream"
    )
    missed.assert_outcomes(failed=1)
    missed.stdout.fnmatch_lines(["*No recorded response for POST /api/chat (model llama3.2) in cassette*"])
    assert len(own_sim.requests) == RECORDED


SLOW = textwrap.dedent(
    """
    import json, os, time
    import pytest
    import ollama

    @pytest.mark.llm
    def test_slow_stream():
        started = time.perf_counter()
        first = None
        for part in ollama.Client(host=os.environ["SIM_URL"]).generate(model="llama3.2", prompt="count", stream=True):
            first = time.perf_counter() - started if first is None else first
        print("TIMES", json.dumps([first, time.perf_counter() - started]))
    """
)


def test_recording_a_slow_ndjson_stream_passes_each_line_on_as_it_arrives(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ProviderSimulator(
        idle_timeout_s=30, chunk_delay_ms=120, responder=fixed_responder("one two three four five")
    ) as sim:
        monkeypatch.setenv("SIM_URL", sim.url)
        pytester.makepyfile(test_slow=SLOW)
        run = pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:cacheprovider")
    run.assert_outcomes(passed=1)
    line = "TIMES " + next(x for x in run.outlines if "TIMES " in x).split("TIMES ", 1)[1]
    first, total = json.loads(line.split(" ", 1)[1])
    # Six lines 120 ms apart: the app has the first long before the last (a buffered tee would hand it
    # over only with the last).
    assert total >= 0.5 and first < total / 3
    recorded = load_interactions(pytester.path / "cassettes" / "test_slow" / "test_slow_stream.yaml")[0]
    assert recorded.meta.ttfb_ms is not None and recorded.meta.latency_ms is not None
    assert recorded.meta.ttfb_ms < recorded.meta.latency_ms / 3


# -- pure parts ---------------------------------------------------------------------------------------

LINES = [
    b'{"model":"llama3.2","created_at":"2025-01-01T00:00:00.1Z","message":{"role":"assistant","content":"Hi"},'
    b'"done":false}\n',
    b'{"model":"llama3.2","created_at":"2025-01-01T00:00:00.2Z","message":{"role":"assistant","content":" there"},'
    b'"done":false}\n',
    b'{"model":"llama3.2","created_at":"2025-01-01T00:00:00.3Z","message":{"role":"assistant","content":""},'
    b'"done_reason":"stop","done":true,"total_duration":900,"load_duration":100,"prompt_eval_count":12,'
    b'"prompt_eval_duration":200,"eval_count":3,"eval_duration":500}\n',
]
CHAT_REQUEST = b'{"model":"llama3.2","messages":[{"role":"user","content":"Say hi to me please"}]}'


def ndjson(
    body: bytes,
    content_type: str = "application/x-ndjson",
    *,
    path: str = "/api/chat",
    request: bytes | None = None,
) -> Interaction:
    return Interaction(
        RecordedRequest(
            "POST", f"http://127.0.0.1:11434{path}", {}, CHAT_REQUEST if request is None else request
        ),
        RecordedResponse(200, "OK", {"Content-Type": [content_type], "Transfer-Encoding": ["chunked"]}, body),
    )


@pytest.mark.parametrize("content_type", sorted(JSON_LINES_TYPES))
def test_json_lines_streams_replay_one_line_per_chunk_without_a_length(content_type: str) -> None:
    parts = prepare_replay(ndjson(b"".join(LINES), content_type + "; charset=utf-8"))
    assert parts.streamed and parts.chunks == LINES and parts.error is None
    assert [(k.lower(), v) for k, v in parts.headers][1:] == [("transfer-encoding", "chunked")]


def test_a_last_line_without_newline_and_json_seq_records_stay_whole() -> None:
    cut = LINES[0] + LINES[1][:20]
    assert prepare_replay(ndjson(cut)).chunks == [LINES[0], LINES[1][:20]]
    seq = b'\x1e{"a":1}\n\x1e{"a":2}\n'
    assert prepare_replay(ndjson(seq, "application/json-seq")).chunks == [b'\x1e{"a":1}\n', b'\x1e{"a":2}\n']


def test_an_ndjson_body_round_trips_through_a_cassette_byte_for_byte(tmp_path: Path) -> None:
    for body in (b"".join(LINES), LINES[2]):  # a one-line stream is not pretty-printed into many lines
        interaction = ndjson(body)
        interaction.meta = InteractionMeta(recorded_at="2025-01-01T00:00:00Z")
        text = dump_interactions([interaction])
        loaded = loads_interactions(text, path=tmp_path / "c.yaml")[0]
        assert loaded.response.body == body
        assert prepare_replay(loaded).chunks == prepare_replay(interaction).chunks


def test_an_edited_ndjson_line_is_reported_with_its_number(tmp_path: Path) -> None:
    interaction = ndjson(b"".join(LINES))
    interaction.meta = InteractionMeta(recorded_at="2025-01-01T00:00:00Z")
    text = dump_interactions([interaction]).replace('"content":" there"},', '"content":" there"')
    with pytest.raises(CassetteFormatError, match=r"not valid JSON \(line 2"):
        loads_interactions(text, path=tmp_path / "c.yaml")


def test_usage_model_and_reason_are_read_from_the_done_line() -> None:
    call = builtin_parse_call(ndjson(b"".join(LINES)))
    assert call is not None
    assert (call.provider, call.model, call.stream, call.estimated) == ("ollama", "llama3.2", True, False)
    assert (call.input_tokens, call.output_tokens, call.cached_input_tokens) == (12, 3, 0)
    assert call.extra["done_reason"] == "stop"
    assert call.extra["durations_ns"] == {
        "total_duration": 900,
        "load_duration": 100,
        "prompt_eval_duration": 200,
        "eval_duration": 500,
    }


def test_a_stream_cut_before_its_done_line_is_estimated_not_invented() -> None:
    cut = ndjson(LINES[0] + LINES[1][:30])
    cut.meta = InteractionMeta(
        truncated=True, error={"type": "RemoteProtocolError", "message": "peer closed"}
    )
    call = builtin_parse_call(cut)
    assert call is not None and call.estimated and call.stream
    assert call.output_tokens == 1  # "Hi": the half line is not read
    assert call.input_tokens is not None and call.input_tokens > 0


def test_json_answers_embeddings_and_errors_are_read() -> None:
    whole = ndjson(
        LINES[2].replace(b'"content":""', b'"content":"Hi there"'), "application/json; charset=utf-8"
    )
    call = builtin_parse_call(whole)
    assert call is not None and not call.stream and (call.input_tokens, call.output_tokens) == (12, 3)
    embed = ndjson(
        b'{"model":"all-minilm","embeddings":[[0.1,0.2]],"total_duration":5,"load_duration":1,"prompt_eval_count":4}',
        "application/json; charset=utf-8",
        path="/api/embed",
        request=b'{"model":"all-minilm","input":"hello"}',
    )
    call = builtin_parse_call(embed)
    assert call is not None and (call.provider, call.model, call.input_tokens, call.output_tokens) == (
        "ollama",
        "all-minilm",
        4,
        0,
    )
    missing = ndjson(
        b'{"error":"model \\"x\\" not found, try pulling it first"}', "application/json; charset=utf-8"
    )
    missing.response.status = 404
    call = builtin_parse_call(missing)
    assert (
        call is not None and call.status == 404 and call.error_type == "error" and call.input_tokens is None
    )
    assert call.extra["error_message"] == 'model "x" not found, try pulling it first'


def test_a_web_apps_own_api_chat_is_not_taken_for_ollama() -> None:
    own = ndjson(b'{"reply":"hello"}', "application/json", request=b'{"message":"hi"}')
    assert builtin_parse_call(own) is None


def test_response_only_recordings_and_openai_compatible_api_paths_are_told_apart() -> None:
    headless = Interaction(None, ndjson(b"".join(LINES)).response)
    call = builtin_parse_call(headless)
    assert call is not None and call.provider == "ollama" and call.endpoint == "/api/chat"
    assert call.output_tokens == 3
    legacy = ndjson(
        b'{"embedding":[0.1]}',
        "application/json",
        path="/api/embeddings",
        request=b'{"model":"m","prompt":"x"}',
    )
    assert builtin_parse_call(legacy).provider == "ollama"  # type: ignore[union-attr]
    compatible = ndjson(
        b'{"object":"list","data":[{"object":"embedding","embedding":[0.1],"index":0}],"model":"m",'
        b'"usage":{"prompt_tokens":2,"total_tokens":2}}',
        "application/json",
        path="/api/embeddings",
        request=b'{"model":"m","input":"x"}',
    )
    read = builtin_parse_call(compatible)
    # Read as the OpenAI format (the legacy Ollama endpoint has no counts); port 11434 names Ollama as its server.
    assert read is not None and read.input_tokens == 2 and read.output_tokens == 0


# -- the simulator's wire format -----------------------------------------------------------------------


def test_simulator_speaks_ollamas_wire_format(sim: ProviderSimulator) -> None:
    import httpx

    with httpx.Client(base_url=sim.ollama_base_url) as http:
        streamed = http.post(
            "/api/chat", json={"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
        )
        assert streamed.headers["content-type"] == "application/x-ndjson"
        assert streamed.headers["transfer-encoding"] == "chunked" and "content-length" not in streamed.headers
        lines = [json.loads(x) for x in streamed.text.splitlines()]
        assert all(list(x)[:2] == ["model", "created_at"] for x in lines)
        assert [x["done"] for x in lines].count(True) == 1 and lines[-1]["done"] is True
        assert set(lines[-1]) == {
            "model", "created_at", "message", "done_reason", "done", "total_duration", "load_duration",
            "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration",
        }  # fmt: skip
        whole = http.post(
            "/api/chat",
            json={"model": "llama3.2", "stream": False, "options": {"num_predict": 2},
                  "messages": [{"role": "user", "content": "Tell me a long story about refunds"}]},
        )  # fmt: skip
        assert whole.headers["content-type"] == "application/json; charset=utf-8"
        assert whole.headers.get("content-encoding") is None  # Ollama never compresses
        assert whole.json()["done_reason"] == "length" and whole.json()["eval_count"] == 2
        assert "\n" not in whole.text
        fmt = http.post(
            "/api/generate",
            json={"model": "llama3.2", "prompt": "a refund policy", "stream": False,
                  "format": {"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]}},
        )  # fmt: skip
        assert isinstance(json.loads(fmt.json()["response"])["days"], int)
        cases = [
            (http.post("/api/chat", json={"model": "nope", "messages": []}), 404,
             {"error": 'model "nope" not found, try pulling it first'}),
            (http.post("/api/chat", content=b""), 400, {"error": "missing request body"}),
            (http.post("/api/chat", content=b"not json"), 400,
             {"error": "invalid character 'n' looking for beginning of value"}),
            (http.post("/api/chat", json={"messages": []}), 400, {"error": "model is required"}),
            (http.post("/api/embed", json={"model": "all-minilm", "input": 3}), 400, {"error": "invalid input type"}),
            (http.post("/api/chat", json={"model": "llama3.2", "think": True, "messages": []}), 400,
             {"error": '"llama3.2" does not support thinking'}),
        ]  # fmt: skip
        for response, status, body in cases:
            assert (response.status_code, response.json()) == (status, body)
            assert response.headers["content-type"] == "application/json; charset=utf-8"
        unknown = http.post("/api/pull", json={"model": "x"})
        assert (unknown.status_code, unknown.text, unknown.headers["content-type"]) == (
            404,
            "404 page not found",
            "text/plain",
        )
        tags = http.get("/api/tags").json()["models"]
        assert {"llama3.2:latest", "all-minilm:latest"} <= {m["name"] for m in tags}


def test_simulator_faults_apply_to_ollama(sim: ProviderSimulator) -> None:
    client = ollama.Client(host=sim.ollama_base_url)
    sim.fail_next(429, path="/api/chat", retry_after=2)
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 429 and "too many requests" in caught.value.error
    assert sim.requests[-1].status == 429
    sim.cut_next(after_events=2, path="/api/chat")
    parts: list[str] = []
    with pytest.raises(Exception) as broken:  # httpx's "peer closed connection" error, as from a dropped line
        for part in client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}], stream=True):
            parts.append(part.message.content)
    assert len(parts) == 2 and "incomplete" in str(broken.value).lower()
    started = time.perf_counter()
    assert client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}], stream=False).done
    assert time.perf_counter() - started < 5


def test_json_output_reads_the_ollama_clients_answers() -> None:
    from pytest_llmops.checks import json_output

    chat = ollama.ChatResponse(
        model="llama3.2", created_at="2025-01-01T00:00:00Z", done=True,
        message=ollama.Message(role="assistant", content='{"days": 5}'),
    )  # fmt: skip
    generated = ollama.GenerateResponse(
        model="llama3.2", created_at="2025-01-01T00:00:00Z", done=True, response='{"days": "five"}'
    )
    schema = {"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]}
    assert json_output(chat, schema).value == 1.0
    assert json_output(generated, schema, threshold=None).value == 0.0


def test_unpriced_unless_the_price_file_names_the_model_and_num_predict_bounds_a_reservation() -> None:
    from pytest_llmops.spend.pricing import PriceTable, UserPrice, price_call
    from pytest_llmops.spend.worst_case import output_tokens_bound, worst_case

    call = builtin_parse_call(ndjson(b"".join(LINES)))
    assert call is not None and price_call(call) is None  # genai-prices' llama prices are other hosts'
    table = PriceTable({"llama3.2": UserPrice(input=1.0, output=2.0, cached_input=1.0, cache_write=1.0)})
    assert price_call(call, table) == pytest.approx((12 * 1.0 + 3 * 2.0) / 1e6)
    body = {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "hi"}],
        "options": {"num_predict": 50},
    }
    assert output_tokens_bound(body, "ollama", "llama3.2") == 50
    bound, why = worst_case(body, "ollama", "/api/chat", table)
    assert why is None and bound is not None and bound.output_tokens == 50
    assert worst_case(body, "ollama", "/api/chat")[0] is None  # unpriced: a budget cannot hold it


def test_simulator_generate_stream_thinking_and_model_details(sim: ProviderSimulator) -> None:
    client = ollama.Client(host=sim.ollama_base_url)
    parts = list(client.generate(model="llama3.2", prompt="Say hello", stream=True))
    assert parts[-1].done and parts[-1].done_reason == "stop" and parts[-1].context
    assert all(not p.done and p.eval_count is None for p in parts[:-1])
    assert parts[-1].eval_count == len(parts) - 1  # one line per generated token
    thought = client.chat(model="qwen3", messages=[{"role": "user", "content": "Why?"}], stream=False)
    assert thought.message.thinking and thought.eval_count is not None and thought.eval_count > 0
    quiet = client.chat(model="qwen3", messages=[{"role": "user", "content": "Why?"}], think=False)
    assert not quiet.message.thinking
    shown = client.show("all-minilm")
    assert shown.capabilities == ["embedding"] and shown.details is not None
    assert shown.details.family == "bert"
    with pytest.raises(ollama.ResponseError) as caught:
        client.show("llama9")
    assert caught.value.status_code == 404 and caught.value.error == "model 'llama9' not found"
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="all-minilm", messages=[{"role": "user", "content": "hi"}])
    assert (caught.value.status_code, caught.value.error) == (400, '"all-minilm" does not support chat')
