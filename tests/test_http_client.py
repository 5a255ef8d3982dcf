"""http.client and urllib.request are recorded and replayed like the other client libraries.

The inner suite calls the simulator as a small SDK or a hand-written client would: urllib.request and
`http.client` directly, JSON and SSE, OpenAI and Anthropic wire formats, reading streams every way
`HTTPResponse` allows. It prints what it got; the replay (no keys, --llm-block-network) must print the same
and send nothing to the simulator.
"""

from __future__ import annotations

import re

import pytest

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.simulator import ProviderSimulator

SUITE = """
import gzip, http.client, json, os, time, urllib.error, urllib.request, zlib
from urllib.parse import urlsplit
import pytest

URL = os.environ["SIM_URL"]
HOST, PORT = urlsplit(URL).hostname, urlsplit(URL).port
OPENAI = {"authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "sk-replay"),
          "content-type": "application/json"}
ANTHROPIC = {"x-api-key": os.environ.get("ANTHROPIC_API_KEY", "sk-replay"), "anthropic-version": "2023-06-01",
             "content-type": "application/json"}
MESSAGES = [{"role": "user", "content": "Where is my order, and when will it arrive?"}]
CHAT = {"model": "gpt-4o-mini", "messages": MESSAGES}
MESSAGE = {"model": "claude-haiku-4-5", "max_tokens": 60, "messages": MESSAGES}


def post(path, body, headers):
    request = urllib.request.Request(URL + path, data=json.dumps(body).encode(), headers=headers, method="POST")
    return urllib.request.urlopen(request, timeout=10)


def events(lines):
    return [json.loads(line[5:]) for line in lines if line.startswith(b"data:") and line.strip() != b"data: [DONE]"]


@pytest.mark.llm
def test_urllib_openai_json(llm_usage):
    with post("/v1/chat/completions", CHAT, OPENAI) as resp:
        assert (resp.status, resp.getcode(), resp.reason) == (200, 200, "OK")
        assert resp.headers.get_content_type() == "application/json" and resp.geturl().endswith("/completions")
        answer = json.load(resp)
    print("ANSWER", answer["choices"][0]["message"]["content"], answer["usage"]["total_tokens"])
    assert len(llm_usage.calls) == 1 and llm_usage.calls[0].output_tokens > 0


@pytest.mark.llm
def test_urllib_anthropic_stream_lines():
    with post("/v1/messages", {**MESSAGE, "stream": True}, ANTHROPIC) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        got = events(resp)  # iteration: one line at a time
    text = "".join(e["delta"]["text"] for e in got if e["type"] == "content_block_delta")
    print("ANSWER", [e["type"] for e in got][:3], text)


@pytest.mark.llm
def test_http_client_openai_stream_read1():
    conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
    conn.request("POST", "/v1/chat/completions", json.dumps({**CHAT, "stream": True}), OPENAI)
    resp = conn.getresponse()
    assert isinstance(resp, http.client.HTTPResponse) and resp.getheader("content-type").startswith("text/event")
    first = resp.read1(65536)
    assert first.startswith(b"data: {")  # an event as soon as it is there, not the whole body
    body = first + b"".join(iter(lambda: resp.read1(7), b""))
    resp.close()
    conn.close()
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events(body.splitlines()) if e["choices"])
    print("ANSWER", text)


@pytest.mark.llm
def test_http_client_anthropic_json_readinto_and_readline():
    conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
    conn.putrequest("POST", "/v1/messages")  # the low-level calls, body sent after the headers
    data = json.dumps(MESSAGE).encode()
    for name, value in {**ANTHROPIC, "content-length": str(len(data))}.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(data[:10])
    conn.send(data[10:])
    resp = conn.getresponse()
    length = int(resp.getheader("content-length"))
    buffer = bytearray(length)
    view, got = memoryview(buffer), 0
    while got < length:
        got += resp.readinto(view[got:got + 16])
    assert resp.read() == b"" and resp.isclosed()
    answer = json.loads(buffer)
    print("ANSWER", answer["content"][0]["text"], answer["usage"]["output_tokens"])
    conn.request("POST", "/v1/messages", json.dumps({**MESSAGE, "stream": True}), ANTHROPIC)  # same connection
    with conn.getresponse() as resp:
        lines = list(iter(resp.readline, b""))
    print("ANSWER", len(events(lines)) > 3, lines[0][:7])


@pytest.mark.llm
def test_http_client_stream_read_n():
    conn = http.client.HTTPSConnection if URL.startswith("https") else http.client.HTTPConnection
    conn = conn(HOST, PORT, timeout=10)
    conn.request("POST", "/v1/chat/completions", json.dumps({**CHAT, "stream": True, "n": 1}), OPENAI)
    resp = conn.getresponse()
    body = b"".join(iter(lambda: resp.read(16), b""))
    print("ANSWER", resp.isclosed(), len(events(body.splitlines())) > 2)


@pytest.mark.llm
def test_https_connection_is_used_as_http_connection():
    # HTTPSConnection inherits the patched methods; a replay never opens it, so no TLS server is needed there.
    assert issubclass(http.client.HTTPSConnection, http.client.HTTPConnection)


@pytest.mark.llm
def test_gzip_as_the_server_sent_it():
    request = urllib.request.Request(URL + "/v1/chat/completions", data=json.dumps(CHAT).encode(),
                                     headers={**OPENAI, "accept-encoding": "gzip"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.headers["content-encoding"] == "gzip"
        answer = json.loads(gzip.decompress(resp.read()))
    print("ANSWER", answer["choices"][0]["message"]["content"])
"""


def _answers(result: pytest.RunResult) -> list[str]:
    found = (re.search(r"(ANSWER|ERROR) .*", line) for line in result.outlines)  # -s: after the file name
    return [match.group(0).rstrip(".") for match in found if match]


def test_record_then_replay_with_nothing_reaching_the_simulator(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makeini("[pytest]\nllm_record_retries = 0\n")
    llm_pytester.makepyfile(test_stdlib=SUITE)
    recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:randomly")
    recorded.assert_outcomes(passed=7)
    assert len(sim.requests) == 7 and len(_answers(recorded)) == 7
    cassettes = sorted((llm_pytester.path / "cassettes" / "test_stdlib").glob("*.yaml"))
    assert len(cassettes) == 6  # the HTTPS test sends nothing
    for path in cassettes:
        text = path.read_text()
        assert all(key not in text for key in with_keys.values()), path.name
    [stream] = load_interactions(cassettes[0].parent / "test_urllib_anthropic_stream_lines.yaml")
    assert stream.response.is_sse and "event: message_start" in stream.response.text
    [gz] = load_interactions(cassettes[0].parent / "test_gzip_as_the_server_sent_it.yaml")
    assert gz.response.text.startswith("{") and gz.meta.extra.get("content_encoding") == "gzip"

    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    replayed = llm_pytester.runpytest("--llm-eval", "--llm-block-network", "-s", "-p", "no:randomly")
    replayed.assert_outcomes(passed=7)
    assert sim.requests == []
    assert _answers(replayed) == _answers(recorded)


ERRORS = """
import json, os, urllib.error, urllib.request
import pytest

@pytest.mark.llm
@pytest.mark.parametrize("status", [429, 500])
def test_error(status):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"status {status}"}]}
    request = urllib.request.Request(os.environ["SIM_URL"] + "/v1/chat/completions", data=json.dumps(body).encode(),
        headers={"authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "sk-replay")}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    print("ERROR", info.value.code, info.value.reason, info.value.headers.get("retry-after"),
          json.load(info.value)["error"]["type"])
"""


def test_error_statuses_raise_http_error_in_replay_as_live(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makeini("[pytest]\nllm_record_retries = 0\n")
    llm_pytester.makepyfile(test_errors=ERRORS)
    sim.fail_next(429, retry_after=7)
    sim.fail_next(500)
    recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:randomly")
    recorded.assert_outcomes(passed=2)
    assert [line.split()[:2] for line in _answers(recorded)] == [["ERROR", "429"], ["ERROR", "500"]]
    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    replayed = llm_pytester.runpytest("--llm-eval", "--llm-block-network", "-s", "-p", "no:randomly")
    replayed.assert_outcomes(passed=2)
    assert sim.requests == []
    # the recorded retry-after is replaced by a short one in replays, as for every client library
    assert [line.split()[:3] for line in _answers(replayed)] == [
        ["ERROR", "429", "Too"],
        ["ERROR", "500", "Internal"],
    ]


def test_a_stream_stays_a_stream_while_recording(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ProviderSimulator(ttfb_ms=50, chunk_delay_ms=40, idle_timeout_s=60) as slow:
        monkeypatch.setenv("SIM_URL", slow.url)
        llm_pytester.makepyfile(
            test_slow="""
            import json, os, time, urllib.request, pytest

            @pytest.mark.llm
            def test_q():
                body = {"model": "gpt-4o-mini", "stream": True,
                        "messages": [{"role": "user", "content": "Explain streaming in a few words please"}]}
                request = urllib.request.Request(os.environ["SIM_URL"] + "/v1/chat/completions",
                    data=json.dumps(body).encode(), headers={"authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})
                started = time.perf_counter()
                with urllib.request.urlopen(request, timeout=10) as resp:
                    first = None
                    for line in resp:
                        if first is None and line.startswith(b"data:"):
                            first = time.perf_counter() - started
                total = time.perf_counter() - started
                print(f"TIMING {first:.3f} {total:.3f}")
            """
        )
        result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s")
    result.assert_outcomes(passed=1)
    [line] = [m.group(0) for m in (re.search(r"TIMING .*", x) for x in result.outlines) if m]
    first, total = map(float, line.split()[1:3])
    assert first < total / 2, f"first event at {first:.3f}s of {total:.3f}s: the stream was buffered"
    [interaction] = load_interactions(llm_pytester.path / "cassettes" / "test_slow" / "test_q.yaml")
    assert interaction.meta.ttfb_ms is not None and interaction.meta.latency_ms is not None
    assert abs(interaction.meta.ttfb_ms / 1000 - first) < max(0.15, first * 0.5)
    assert interaction.meta.ttfb_ms < interaction.meta.latency_ms / 2 and not interaction.meta.truncated
    assert interaction.response.body.count(b"data:") > 3


MISS = """
import json, os, urllib.error, urllib.request, pytest

PROMPT = os.environ["PROMPT"]

@pytest.mark.llm
def test_ask():
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}
    request = urllib.request.Request(os.environ["SIM_URL"] + "/v1/chat/completions", data=json.dumps(body).encode(),
        headers={"authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "sk-replay")})
    try:
        urllib.request.urlopen(request, timeout=10).read()
    except Exception as exc:  # an app's own fallback cannot swallow the miss
        print("SWALLOWED", type(exc).__name__)

def test_unmarked():
    body = json.dumps({"model": "gpt-4o-mini", "messages": []}).encode()
    urllib.request.urlopen(urllib.request.Request(os.environ["SIM_URL"] + "/v1/chat/completions", data=body), timeout=5)

def test_unmarked_side_service():
    try:
        urllib.request.urlopen(os.environ["SIM_URL"] + "/health", timeout=5).read()
    except urllib.error.HTTPError as exc:  # answered, whatever it says
        assert exc.code in (401, 404)
"""


def test_a_miss_fails_with_our_message_and_unmarked_calls_are_refused(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makepyfile(test_miss=MISS)
    monkeypatch.setenv("PROMPT", "What is the refund window?")
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-k", "test_ask").assert_outcomes(passed=1)
    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    monkeypatch.setenv("PROMPT", "What is the shipping window?")
    result = llm_pytester.runpytest("--llm-eval", "-p", "no:randomly", "-s")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*No recorded response for POST /v1/chat/completions (model gpt-4o-mini) in cassette *test_ask.yaml*",
            "*pytest --llm-eval --llm-record=new_episodes test_miss.py::test_ask*",
            "*POST /v1/chat/completions to 127.0.0.1:* from urllib.request was refused: it comes from a test without*",
        ]
    )
    assert "SWALLOWED" not in result.stdout.str()
    assert [r.path for r in sim.requests] == ["/health"]


def test_ignored_hosts_pass_unrecorded(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    llm_pytester.makeini("[pytest]\nllm_ignore_hosts = localhost\n")
    llm_pytester.makepyfile(
        test_side="""
        import os, urllib.error, urllib.request, pytest

        @pytest.mark.llm
        def test_health():
            url = os.environ["SIM_URL"].replace("127.0.0.1", "localhost") + "/health"
            try:
                urllib.request.urlopen(url, timeout=5).read()
            except urllib.error.HTTPError as exc:  # answered, whatever it says
                assert exc.code in (401, 404)
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    assert not list(llm_pytester.path.rglob("*.yaml"))
    llm_pytester.runpytest("--llm-eval").assert_outcomes(passed=1)  # a replay run sends it again
    assert [r.path for r in sim.requests] == ["/health", "/health"]


HTTPS = """
import http.client, json, os, urllib.request, pytest

BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Is TLS replayed?"}]})
AUTH = {"authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "sk-replay"), "content-type": "application/json"}

@pytest.mark.llm
def test_urllib():
    request = urllib.request.Request(os.environ["BASE"] + "/v1/chat/completions", data=BODY.encode(), headers=AUTH)
    with urllib.request.urlopen(request, timeout=10) as resp:
        print("ANSWER", json.load(resp)["choices"][0]["message"]["content"])

@pytest.mark.llm
def test_connection():
    host = os.environ["BASE"].split("//")[1]
    conn = (http.client.HTTPSConnection if os.environ["BASE"].startswith("https") else http.client.HTTPConnection)(
        host, timeout=10)
    conn.request("POST", "/v1/chat/completions", BODY, AUTH)
    print("ANSWER", json.loads(conn.getresponse().read())["choices"][0]["message"]["content"])
"""


def test_https_replays_without_a_connection(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recorded over HTTP from the simulator, then made a recording of api.openai.com over HTTPS (as if
    recorded there): HTTPSConnection and urllib.request replay it offline, and nothing is connected."""
    llm_pytester.makepyfile(test_tls=HTTPS)
    monkeypatch.setenv("BASE", sim.url)
    recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:randomly")
    recorded.assert_outcomes(passed=2)
    for path in (llm_pytester.path / "cassettes").rglob("*.yaml"):
        path.write_text(path.read_text().replace(sim.url, "https://api.openai.com"))
    for name in with_keys:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BASE", "https://api.openai.com")
    sim.reset()
    replayed = llm_pytester.runpytest("--llm-eval", "--llm-block-network", "-s", "-p", "no:randomly")
    replayed.assert_outcomes(passed=2)
    assert _answers(replayed) == _answers(recorded) and len(_answers(replayed)) == 2
    assert sim.requests == []


def _chunked(pieces: list[bytes]) -> bytes:
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nTrailer: x\r\n\r\n"


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 10_000])
def test_the_tee_undoes_chunked_coding_however_the_reads_split_it(step: int) -> None:
    from pytest_llmops.recording.transports.http_client import _Unframer

    pieces = [b'data: {"a": 1}\n\n', b"x" * 40, b"data: [DONE]\n\n"]
    wire = _chunked(pieces)
    unframer, out = _Unframer(chunked=True, length=None), []
    for at in range(0, len(wire), step):
        assert not unframer.done
        out.append(unframer.feed(wire[at : at + step]))
    assert unframer.done and b"".join(out) == b"".join(pieces)
    sized = _Unframer(chunked=False, length=5)
    assert sized.feed(b"abc") == b"abc" and not sized.done and sized.feed(b"defg") == b"de" and sized.done


def test_the_session_budget_caps_urllib_calls(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(
        test_spend="""
        import json, os, urllib.request, pytest

        @pytest.mark.llm
        @pytest.mark.parametrize("n", range(8))
        def test_call(n):
            body = {"model": "gpt-4o-mini", "max_tokens": 40, "messages": [{"role": "user", "content": f"question {n}"}]}
            request = urllib.request.Request(os.environ["SIM_URL"] + "/v1/chat/completions",
                data=json.dumps(body).encode(), headers={"authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})
            urllib.request.urlopen(request, timeout=10).read()
        """
    )
    result = llm_pytester.runpytest(
        "--llm-eval", "--llm-record=once", "--llm-budget-usd=0.0001", "-p", "no:randomly"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and outcomes.get("failed", 0) >= 1
    assert len(sim.requests) == outcomes["passed"]  # a refused call sent nothing
    result.stdout.fnmatch_lines(["*budget exhausted: live spend $*would pass --llm-budget-usd=0.0001*"])


def test_httplib2_records_and_replays_offline(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httplib2 (under google-api-python-client) sends through http.client, but connects first."""
    pytest.importorskip("httplib2")
    llm_pytester.makepyfile(
        test_h2="""
        import json, os, pytest, httplib2

        @pytest.mark.llm
        def test_chat():
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Where is my parcel?"}]}
            headers = {"authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "sk-replay"),
                       "content-type": "application/json"}
            resp, content = httplib2.Http(timeout=10).request(
                os.environ["BASE"] + "/v1/chat/completions", "POST", body=json.dumps(body), headers=headers)
            print("ANSWER", resp.status, resp.get("-content-encoding"), json.loads(content)["choices"][0]["message"]["content"])
        """
    )
    monkeypatch.setenv("BASE", sim.url)
    recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s")
    recorded.assert_outcomes(passed=1)
    assert len(sim.requests) == 1 and "gzip" in sim.requests[0].headers.get("accept-encoding", "")
    for path in (llm_pytester.path / "cassettes").rglob("*.yaml"):
        path.write_text(path.read_text().replace(sim.url, "https://api.openai.com"))
    for name in with_keys:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BASE", "https://api.openai.com")
    sim.reset()
    replayed = llm_pytester.runpytest("--llm-eval", "--llm-block-network", "-s")
    replayed.assert_outcomes(passed=1)
    assert _answers(replayed) == _answers(recorded) and _answers(replayed)[0].startswith("ANSWER 200 gzip")
    assert sim.requests == []
