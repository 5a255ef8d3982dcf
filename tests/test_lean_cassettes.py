"""Lean cassettes: headers that only describe the recording machine or change on every call are left out,
what matching, replay and review need stays, old cassettes still replay, `pytest-llmops slim` rewrites them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from pytest_llmops.recording.formats import dump_interactions, load_interactions
from pytest_llmops.recording.headers import HeaderRule
from pytest_llmops.recording.interactions import Interaction, RecordedRequest, RecordedResponse
from pytest_llmops.simulator import ProviderSimulator


def exchange(status: int = 200, **response_headers: str) -> Interaction:
    request_headers = {
        "Host": "api.openai.com",
        "User-Agent": "OpenAI/Python 2.1.0",
        "X-Stainless-OS": "Linux",
        "X-Stainless-Package-Version": "2.1.0",
        "x-stainless-retry-count": "0",
        "Accept-Encoding": "gzip, deflate",
        "Content-Length": "40",
        "Content-Type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-tenant": "shop-7",
    }
    return Interaction(
        request=RecordedRequest(
            "POST",
            "https://api.openai.com/v1/chat/completions",
            {k: [v] for k, v in request_headers.items()},
            b'{"model":"gpt-4o-mini","messages":[]}',
        ),
        response=RecordedResponse(
            status, "OK", {k.replace("_", "-"): [v] for k, v in response_headers.items()}, b"{}"
        ),
    )


RESPONSE_HEADERS = {
    "content_type": "application/json",
    "Date": "Thu, 03 Dec 2026 11:35:41 GMT",
    "Server": "cloudflare",
    "CF-RAY": "8f1c2d3e4f5a6b7c-AMS",
    "alt_svc": 'h3=":443"; ma=86400',
    "openai_processing_ms": "412",
    "openai_version": "2020-10-01",
    "x_request_id": "req_abc",
    "x_ratelimit_remaining_tokens": "29999940",
    "retry_after": "3",
    "x_should_retry": "false",
    "x_custom_gateway": "eu-1",
}


def test_the_default_rule_drops_machine_and_per_call_headers_and_keeps_what_clients_read() -> None:
    slim = HeaderRule().apply(exchange(**RESPONSE_HEADERS))
    assert slim.request is not None
    # the content type stays: vcrpy's body matcher compares JSON bodies as JSON only when it says so
    assert set(slim.request.headers) == {"Content-Type", "anthropic-version", "x-tenant"}
    assert set(slim.response.headers) == {
        "content-type",
        "x-request-id",  # the SDKs expose it as _request_id
        "retry-after",
        "x-should-retry",
        "x-custom-gateway",  # unknown headers stay
    }


def test_rate_limit_headers_stay_on_errors() -> None:
    slim = HeaderRule().apply(exchange(429, **RESPONSE_HEADERS))
    assert "x-ratelimit-remaining-tokens" in slim.response.headers
    assert "date" not in slim.response.headers


def test_llm_keep_headers_keeps_named_headers_patterns_or_everything() -> None:
    rule = HeaderRule.build(["User-Agent", "x-ratelimit-*", "Date"])
    slim = rule.apply(exchange(**RESPONSE_HEADERS))
    assert slim.request is not None and "User-Agent" in slim.request.headers
    assert {"x-ratelimit-remaining-tokens", "Date"} <= set(slim.response.headers)
    assert "X-Stainless-OS" not in slim.request.headers
    whole = exchange(**RESPONSE_HEADERS)
    assert HeaderRule.build(["*"]).apply(whole) is whole


ASK = textwrap.dedent(
    """
    SYSTEM = "You are the support assistant of an online bookshop. Answer in one or two sentences."


    def ask(client):
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": SYSTEM},
                      {"role": "user", "content": "Where is order 42? I placed it 3 days ago."}],
            temperature=0.2,
        )
        print("ANSWER", reply.choices[0].message.content, reply._request_id)
    """
)
"""One typical chat call, made by the inner suites below."""

ONE_CHAT = (
    "import pytest\n"
    + ASK
    + textwrap.dedent(
        """

    @pytest.mark.llm
    def test_chat(openai_client):
        ask(openai_client)
    """
    )
)


def test_a_typical_chat_call_records_a_small_readable_cassette_that_replays(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(test_chat=ONE_CHAT)
    recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:xdist")
    recorded.assert_outcomes(passed=1)
    path = llm_pytester.path / "cassettes" / "test_chat" / "test_chat.yaml"
    text = path.read_text()
    assert len(text.encode()) <= 1638, text  # 3.2 KB with every header and one JSON member per line
    data = yaml.safe_load(text)["interactions"][0]
    assert data["request"]["headers"] == {"content-type": ["application/json"]}
    assert set(data["response"]["headers"]) == {"content-type", "x-request-id"}
    lines = text.splitlines()
    assert any(line.strip().startswith('{"role": "user", "content": "Where is order 42?') for line in lines)
    assert any('"message": {"role": "assistant", "content": ' in line for line in lines)

    for name in with_keys:
        monkeypatch.delenv(name)
    replayed = llm_pytester.runpytest("--llm-eval", "-s", "-p", "no:xdist")
    replayed.assert_outcomes(passed=1)
    live = [line for line in recorded.outlines if "ANSWER" in line]
    again = [line for line in replayed.outlines if "ANSWER" in line]
    assert live and [line.split("ANSWER", 1)[1] for line in live] == [
        line.split("ANSWER", 1)[1] for line in again
    ]  # the answer and the request id, as live


VCR_REPLAY = (
    "import pytest\n"
    + ASK
    + textwrap.dedent(
        """

    @pytest.fixture(scope="module")
    def vcr_config():
        return {"record_mode": "none", "match_on": ["method", "scheme", "host", "port", "path", "query", "body"]}


    @pytest.fixture(scope="module")
    def vcr_cassette_dir(request):
        return str(request.config.rootpath / "cassettes" / "test_chat")


    @pytest.mark.vcr("test_chat.yaml")
    def test_chat():
        from openai import OpenAI

        ask(OpenAI(api_key="sk-not-needed", base_url=BASE_URL, max_retries=0))
    """
    )
)


def test_pytest_recording_replays_a_new_recording_matching_on_the_body(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], sim: ProviderSimulator
) -> None:
    """Our files are plain vcrpy cassettes: the laid-out JSON body still matches the compact one the SDK
    sends, because vcrpy compares bodies as JSON when the recorded request says `application/json`."""
    llm_pytester.makepyfile(test_chat=ONE_CHAT)
    recorded = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s", "-p", "no:xdist")
    recorded.assert_outcomes(passed=1)
    (interaction,) = load_interactions(llm_pytester.path / "cassettes" / "test_chat" / "test_chat.yaml")
    assert interaction.request is not None
    base_url = interaction.request.uri.rsplit("/chat/completions", 1)[0]
    (llm_pytester.path / "test_chat.py").unlink()
    llm_pytester.makepyfile(test_vcr=f"BASE_URL = {base_url!r}\n" + VCR_REPLAY)
    heard = len(sim.requests)
    replayed = llm_pytester.runpytest_subprocess(
        "-p", "no:llmops", "-p", "pytest_recording.plugin", "-p", "no:xdist", "-s", "test_vcr.py"
    )
    replayed.assert_outcomes(passed=1)
    assert len(sim.requests) == heard  # answered from the cassette
    live = [line.split("ANSWER", 1)[1] for line in recorded.outlines if "ANSWER" in line]
    again = [line.split("ANSWER", 1)[1] for line in replayed.outlines if "ANSWER" in line]
    assert live and live == again


def test_old_cassettes_with_every_header_still_replay(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makeini("[pytest]\nllm_keep_headers = *\n")
    llm_pytester.makepyfile(test_chat=ONE_CHAT)
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist").assert_outcomes(passed=1)
    path = llm_pytester.path / "cassettes" / "test_chat" / "test_chat.yaml"
    headers = yaml.safe_load(path.read_text())["interactions"][0]["request"]["headers"]
    assert "user-agent" in headers and any(h.startswith("x-stainless-") for h in headers)
    llm_pytester.makeini("[pytest]\n")
    for name in with_keys:
        monkeypatch.delenv(name)
    llm_pytester.runpytest("--llm-eval", "-p", "no:xdist").assert_outcomes(passed=1)


def test_slim_rewrites_our_cassettes_and_leaves_other_formats_alone(tmp_path: Path) -> None:
    from pytest_llmops import cli

    fat = tmp_path / "cassettes" / "t.yaml"
    fat.parent.mkdir()
    fat.write_text(dump_interactions([exchange(**RESPONSE_HEADERS)]))
    har = tmp_path / "cassettes" / "other.har"
    har.write_text('{"log": {"entries": []}}')
    before = fat.stat().st_size
    assert cli.main(["slim", str(tmp_path / "cassettes")]) == 0
    assert fat.stat().st_size < before
    (slim,) = load_interactions(fat)
    assert slim.request is not None and "User-Agent" not in slim.request.headers
    assert "Date" not in slim.response.headers and "x-request-id" in slim.response.headers
    assert har.read_text() == '{"log": {"entries": []}}'
    assert cli.main(["slim", str(tmp_path / "cassettes")]) == 0  # nothing left to do: unchanged
    assert load_interactions(fat) == [slim]
