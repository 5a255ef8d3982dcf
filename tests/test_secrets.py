"""Credentials never reach a cassette: scrubbed where known, refused where found."""

from __future__ import annotations

import pytest

from pytest_llmops.recording.interactions import Interaction, RecordedRequest, RecordedResponse
from pytest_llmops.recording.secrets import REDACTED, Scrubber, SecretLeakError
from tests.conftest import fake_key


def make(
    headers: dict[str, list[str]] | None = None, body: bytes = b"{}", uri: str = "https://x/v1/chat"
) -> Interaction:
    return Interaction(
        request=RecordedRequest("POST", uri, headers or {}, body),
        response=RecordedResponse(
            200, "OK", {"set-cookie": ["__cf_bm=abc"], "openai-organization": ["org-1"]}, b"{}"
        ),
    )


def test_scrub_drops_credential_headers_both_ways_and_redacts_query() -> None:
    scrubber = Scrubber.with_extra(headers=["X-Team-Token"], query_params=["sessionid"])
    clean = scrubber.scrub(
        make(
            {"Authorization": ["Bearer abc"], "x-api-key": ["k"], "X-Team-Token": ["t"], "accept": ["*/*"]},
            uri="https://x/v1/chat?api_key=secret&sessionid=9&beta=true",
        )
    )
    assert clean.request is not None
    assert set(clean.request.headers) == {"accept"}
    assert clean.response.headers == {}
    assert "secret" not in clean.request.uri and "=9" not in clean.request.uri
    assert f"api_key={REDACTED}" in clean.request.uri and "beta=true" in clean.request.uri


@pytest.mark.parametrize(
    ("where", "interaction"),
    [
        ("interactions[0].request.body", make(body=b'{"user": "KEY"}')),
        ("interactions[0].request.headers.x-other", make({"x-other": ["KEY"]})),
        ("interactions[0].request.uri", make(uri="https://x/v1?k=KEY")),
    ],
)
def test_key_shaped_strings_are_refused_naming_the_field(where: str, interaction: Interaction) -> None:
    key = fake_key()
    request = interaction.request
    assert request is not None
    request.uri = request.uri.replace("KEY", key)
    request.body = (request.body or b"").replace(b"KEY", key.encode())
    request.headers = {k: [v.replace("KEY", key) for v in vs] for k, vs in request.headers.items()}
    with pytest.raises(SecretLeakError) as info:
        Scrubber().assert_interactions_clean([interaction], "c.yaml")
    assert info.value.field == where
    assert key not in str(info.value)  # the message must not print the secret either


def test_env_values_are_refused_even_when_not_key_shaped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "plain-value-12345")
    with pytest.raises(SecretLeakError, match=r"\$ANTHROPIC_API_KEY"):
        Scrubber().assert_text_clean("body: plain-value-12345\n", "r.json")
    monkeypatch.setenv("MY_GATEWAY_TOKEN", "gw-tok-999999")
    with pytest.raises(SecretLeakError, match="line 2"):
        Scrubber.with_extra(env_vars=["MY_GATEWAY_TOKEN"]).assert_text_clean("a\nb gw-tok-999999\n", "r.json")


def test_recording_a_leaking_request_fails_the_test_and_writes_nothing(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(
        test_leak="""
        import os, pytest

        @pytest.mark.llm
        def test_q(openai_client):
            openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "my key is " + os.environ["OPENAI_API_KEY"]}])
        """
    )
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*refusing to write*test_q.yaml: interactions[[]0[]].request.body contains the value of $OPENAI_API_KEY*"
        ]
    )
    assert with_keys["OPENAI_API_KEY"] not in result.stdout.str()
    assert not (llm_pytester.path / "cassettes").exists() or not list(
        (llm_pytester.path / "cassettes").rglob("*.yaml")
    )


def test_identity_headers_sent_by_the_sdk_are_scrubbed(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str]
) -> None:
    llm_pytester.makepyfile(
        test_org="""
        import os, pytest
        from openai import OpenAI

        @pytest.mark.llm
        def test_q():
            client = OpenAI(base_url=os.environ["SIM_URL"] + "/v1", organization="org-abc123", project="proj_xyz789")
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        """
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=1)
    text = (llm_pytester.path / "cassettes" / "test_org" / "test_q.yaml").read_text()
    assert "org-abc123" not in text and "proj_xyz789" not in text


def test_env_values_are_read_again_when_the_environment_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan's view of the environment is kept between scans only while no secret variable changed:
    a key set, changed or removed mid-session is searched for (or no longer) from the next scan on."""
    scrubber = Scrubber.with_extra(env_vars=["MY_SERVICE_TOKEN"])
    monkeypatch.delenv("MY_SERVICE_TOKEN", raising=False)
    assert scrubber.find_secret("uses tok-first-value-123") is None
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-first-value-123")
    assert scrubber.find_secret("uses tok-first-value-123") == "the value of $MY_SERVICE_TOKEN"
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-second-value-456")
    assert scrubber.find_secret("uses tok-first-value-123") is None
    assert scrubber.find_secret("uses tok-second-value-456") == "the value of $MY_SERVICE_TOKEN"
    assert ("MY_SERVICE_TOKEN", "tok-second-value-456") in scrubber.env_secrets()
    monkeypatch.delenv("MY_SERVICE_TOKEN")
    assert scrubber.find_secret("uses tok-second-value-456") is None
    assert all(name != "MY_SERVICE_TOKEN" for name, _ in scrubber.env_secrets())
