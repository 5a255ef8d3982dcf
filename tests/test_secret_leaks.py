"""No credential leaves: echoed keys split across stream events, removed header values echoed in a body,
and keys in replay-miss diffs are kept out of every file and message the plugin writes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmops.recording.interactions import Interaction, RecordedRequest, RecordedResponse
from pytest_llmops.recording.secrets import SECRET_ENV_VARS, Scrubber, SecretLeakError, redact
from pytest_llmops.simulator import ProviderSimulator, echo_header_responder
from tests.conftest import fake_key

STREAM_ECHO = """
import os, pytest

@pytest.mark.llm
def test_stream(openai_client):
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True, max_tokens=60)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "credential" in text
"""

AZURE_ECHO = """
import os, pytest
from openai import OpenAI

@pytest.mark.llm
def test_azure():
    client = OpenAI(base_url=os.environ["SIM_URL"] + "/v1", max_retries=0,
                    default_headers={"api-key": os.environ["AZURE_STYLE_KEY"]})
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    print(reply.choices[0].message.content)
"""


def azure_key() -> str:
    return "".join("0123456789abcdef"[(i * 7 + 3) % 16] for i in range(32))


@pytest.fixture
def echo_sim(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderSimulator]:
    with ProviderSimulator(responder=echo_header_responder(request.param), idle_timeout_s=60) as sim:
        monkeypatch.setenv("SIM_URL", sim.url)
        yield sim


def written_text(root: Path, result: pytest.RunResult) -> dict[str, str]:
    """Every file under `root` the run could have written, and the terminal output."""
    texts = {"terminal": result.stdout.str() + result.stderr.str()}
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".json", ".md", ".html", ".xml", ".jsonl"):
            texts[str(path.relative_to(root))] = path.read_text(errors="replace")
    return texts


def run_and_collect(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, str]]:
    result = pytester.runpytest(
        "--llm-eval",
        "--llm-report-json=r.json",
        "--llm-report-md=r.md",
        "--llm-report-html=r.html",
        "--junitxml=junit.xml",
        *args,
    )
    return result, written_text(pytester.path, result)


@pytest.mark.parametrize("echo_sim", ["authorization"], indirect=True)
def test_a_key_echoed_a_few_characters_per_stream_event_is_refused(
    llm_pytester: pytest.Pytester, echo_sim: ProviderSimulator, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(test_echo=STREAM_ECHO)
    key = with_keys["OPENAI_API_KEY"]
    result, texts = run_and_collect(llm_pytester, "--llm-record=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*refusing to write*test_stream.yaml: interactions[[]0[]].response.body "
            "(stream text choices[[]0[]].delta.content joined across events) contains the value of $OPENAI_API_KEY*"
        ]
    )
    assert len(echo_sim.requests) == 1  # the key really was echoed, split over events
    assert not any(name.endswith("test_stream.yaml") for name in texts)
    leaks = [name for name, text in texts.items() if key in text]
    assert leaks == []


@pytest.mark.parametrize("echo_sim", ["api-key"], indirect=True)
def test_an_azure_key_removed_from_the_headers_is_refused_when_echoed_in_the_body(
    llm_pytester: pytest.Pytester,
    echo_sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = azure_key()
    monkeypatch.setenv("AZURE_STYLE_KEY", key)  # a name the plugin does not know: only the header tells
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    llm_pytester.makepyfile(test_az=AZURE_ECHO)
    result, texts = run_and_collect(llm_pytester, "--llm-record=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*refusing to write*test_azure.yaml: interactions[[]0[]].response.body contains "
            "the credential from the request header api-key*"
        ]
    )
    assert [name for name, text in texts.items() if key in text] == []
    assert "Your credential is [REDACTED:API_KEY]" in texts["terminal"]  # the test's captured output


def test_a_replay_miss_diff_is_redacted_on_the_terminal_and_in_every_file(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(
        test_miss="""
        import os, pytest

        @pytest.mark.llm
        def test_q(openai_client):
            content = os.environ.get("SEND_KEY", "hello")
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}])
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    key = with_keys["OPENAI_API_KEY"]
    os.environ["SEND_KEY"] = "my key is " + key
    try:
        result, texts = run_and_collect(llm_pytester, "--llm-record=none")
    finally:
        del os.environ["SEND_KEY"]
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*No recorded response for POST /v1/chat/completions*", "*[[]REDACTED:OPENAI_API_KEY[]]*"]
    )
    assert [name for name, text in texts.items() if key in text] == []
    assert "REDACTED:OPENAI_API_KEY" in texts["junit.xml"]
    assert "r.json" in texts and "r.html" in texts  # the reports are written (redacted), not refused


# --- unit: the scan and the redaction --------------------------------------------------------------


def sse(*pieces: str) -> bytes:
    import json

    events = [
        "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}) + "\n\n" for p in pieces
    ]
    return ("".join(events) + "data: [DONE]\n\n").encode()


def interaction(
    headers: dict[str, list[str]],
    body: bytes,
    content_type: str = "text/event-stream",
    uri: str = "https://x/v1/c",
) -> Interaction:
    return Interaction(
        request=RecordedRequest("POST", uri, headers, b"{}"),
        response=RecordedResponse(200, "OK", {"content-type": [content_type]}, body),
    )


@pytest.mark.parametrize(
    ("header", "value", "secret"),
    [
        ("authorization", "Bearer {k}", "{k}"),
        ("api-key", "{k}", "{k}"),
        ("x-goog-api-key", "{k}", "{k}"),
        ("x-amz-security-token", "{k}", "{k}"),
        ("cookie", "session={k}; theme=dark", "{k}"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIA{k8}/20250101/us-east-1/bedrock/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature={k}",
            "{k}",
        ),
    ],
)
def test_every_removed_credential_is_searched_for_in_the_stream_joined(
    header: str, value: str, secret: str
) -> None:
    k = azure_key()
    secret_value = secret.format(k=k)
    body = sse("ok ", secret_value[:5], secret_value[5:13], secret_value[13:], " done")
    item = interaction({header: [value.format(k=k, k8=k[:16].upper())]}, body)
    scrubber = Scrubber()
    clean = scrubber.scrub(item)
    with pytest.raises(SecretLeakError) as info:
        scrubber.assert_interactions_clean([clean], "c.yaml")
    assert "joined across events" in info.value.field
    assert k not in str(info.value)


def test_a_key_like_query_parameter_is_searched_for_in_the_json_body() -> None:
    k = azure_key()
    item = interaction(
        {}, b'{"echo": "' + k.encode() + b'"}', "application/json", uri=f"https://x/v1?key={k}"
    )
    with pytest.raises(SecretLeakError, match="query parameter key"):
        Scrubber().assert_interactions_clean([item], "c.yaml")


def test_json_escaped_keys_are_found() -> None:
    k = fake_key()
    escaped = "".join(f"\\u{ord(c):04x}" for c in k)
    item = interaction({}, b'{"echo": "' + escaped.encode() + b'"}', "application/json")
    os.environ["OPENAI_API_KEY"] = k
    try:
        with pytest.raises(SecretLeakError, match=r"JSON strings"):
            Scrubber().assert_interactions_clean([item], "c.yaml")
    finally:
        del os.environ["OPENAI_API_KEY"]


@pytest.mark.parametrize(
    "name",
    [
        "AZURE_OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "HF_TOKEN",
        "LANGSMITH_API_KEY",
        "CO_API_KEY",
    ],
)
def test_default_secret_variables_cover_the_providers(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    assert name in SECRET_ENV_VARS
    monkeypatch.setenv(name, "value-of-" + name.lower())
    assert redact(f"x value-of-{name.lower()} y") == f"x [REDACTED:{name}] y"
    with pytest.raises(SecretLeakError, match=rf"\${name}"):
        Scrubber().assert_text_clean(f"value-of-{name.lower()}", "r.json")


def test_redact_replaces_key_shapes_and_remembered_credentials() -> None:
    k = azure_key()[::-1]
    Scrubber().scrub(interaction({"api-key": [k]}, b"{}"))
    assert redact(f"a {k} b {fake_key()}") == "a [REDACTED:API_KEY] b [REDACTED:KEY]"


def test_cookie_attributes_are_not_taken_for_secrets() -> None:
    k = azure_key()[5:] + "cookie"
    item = Interaction(
        request=RecordedRequest("POST", "https://x/v1/c", {}, b"{}"),
        response=RecordedResponse(
            200,
            "OK",
            {
                "set-cookie": [
                    f"__cf_bm={k}; path=/; expires=Thu, 01-Jan-2026 00:00:00 GMT; domain=.api.openai.com"
                ]
            },
            b'{"see": "https://platform.api.openai.com/docs", "when": "Thu, 01-Jan-2026 00:00:00 GMT"}',
        ),
    )
    scrubber = Scrubber()
    assert [v for _, v in scrubber.credentials(item)][-1] == k
    scrubber.assert_interactions_clean([scrubber.scrub(item)], "c.yaml")  # nothing but the value is secret


@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_a_key_in_the_query_is_scrubbed_and_the_recording_kept(
    llm_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    """Gemini's REST API takes the key as `?key=`: the cassette holds `key=REDACTED`, and the scan before
    writing does not take the placeholder for the secret (it once refused every such recording)."""
    key = "AIza" + "K" * 35
    monkeypatch.setenv("GEMINI_API_KEY", key)
    llm_pytester.makepyfile(
        test_rest=f"""
        import os
        import pytest
        import {library} as http

        @pytest.mark.llm
        def test_generate():
            url = (os.environ["SIM_URL"] + "/v1beta/models/gemini-2.0-flash:generateContent?key="
                   + os.environ["GEMINI_API_KEY"])
            reply = http.post(url, json={{"contents": [{{"parts": [{{"text": "What is RAG?"}}]}}]}})
            assert reply.status_code == 200, reply.text
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    [cassette] = llm_pytester.path.rglob("test_generate.yaml")
    text = cassette.read_text()
    assert ":generateContent?key=REDACTED" in text and key not in text
    monkeypatch.setenv("GEMINI_API_KEY", "another-key-at-replay")
    llm_pytester.runpytest("--llm-eval", "--llm-block-network").assert_outcomes(passed=1)
