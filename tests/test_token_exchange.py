"""Sign-ins recorded with the LLM calls: token requests and answers keep no secret, and replay without one.

An app that signs in to its provider (Entra ID for Azure OpenAI, a Google refresh token, an assumed AWS
role) sends a client secret, refresh token or assertion in a request body and gets a token or AWS keys back
in a response body. Before, those went to the cassette as they were, and the scans passed them (no header,
no environment variable, no key shape).
"""

from __future__ import annotations

import json

import pytest

from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.recording.matching import Matcher
from pytest_llmops.recording.secrets import Scrubber, SecretLeakError
from pytest_llmops.simulator import ProviderSimulator

SECRET = "Qx8Q~client-secret-" + "z" * 20
REFRESH = "1//0refresh-token-" + "r" * 30
TOKEN = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJhcGkifQ." + "s" * 40
ENTRA = "https://login.microsoftonline.com/tenant/oauth2/v2.0/token"


def exchange(
    request_body: bytes, response_body: bytes, *, uri: str = ENTRA, content_type: str = "application/json"
) -> Interaction:
    return Interaction(
        request=RecordedRequest(
            "POST", uri, {"content-type": ["application/x-www-form-urlencoded"]}, request_body
        ),
        response=RecordedResponse(200, "OK", {"content-type": [content_type]}, response_body),
        meta=InteractionMeta(),
    )


def entra(secret: str = SECRET, client: str = "app-1") -> bytes:
    return (
        f"client_id={client}&grant_type=client_credentials&client_secret={secret.replace('~', '%7E')}"
        "&scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default"
    ).encode()


def test_a_token_exchange_is_written_without_its_secrets() -> None:
    answer = json.dumps(
        {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN}
    )
    raw = exchange(entra(), answer.encode())
    scrubber = Scrubber()
    with pytest.raises(SecretLeakError, match=r"body field (client_secret|access_token)"):
        scrubber.assert_interactions_clean([raw], "c.yaml")  # the scan now finds it unscrubbed
    clean = scrubber.scrub(raw)
    assert clean.request is not None and clean.request.body is not None
    assert clean.request.body.endswith(
        b"&client_secret=REDACTED&scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default"
    )
    assert json.loads(clean.response.body) == {
        "token_type": "Bearer",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": "REDACTED",
    }
    scrubber.assert_interactions_clean([clean], "c.yaml")
    # The token, now known, is found wherever else it turns up (a later call's echo of it) and redacted.
    assert TOKEN not in scrubber.redact(f"sent {TOKEN}")


@pytest.mark.parametrize(
    ("body", "content_type", "secrets"),
    [
        (  # STS AssumeRole (XML)
            b"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLEEXAMPLE12</AccessKeyId>"
            b"<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>"
            b"<SessionToken>FwoGZXIvYXdzEXAMPLEtokenEXAMPLEtoken</SessionToken></Credentials>"
            b"</AssumeRoleResult></AssumeRoleResponse>",
            "text/xml",
            ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLEtokenEXAMPLEtoken"],
        ),
        (  # IAM Identity Center (SSO) GetRoleCredentials
            b'{"roleCredentials": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "sso-secret-EXAMPLE-123",'
            b' "sessionToken": "sso-session-EXAMPLE-456", "expiration": 1}}',
            "application/json",
            ["sso-secret-EXAMPLE-123", "sso-session-EXAMPLE-456"],
        ),
        (  # the instance metadata service's role credentials
            b'{"Code": "Success", "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "imds-secret-EXAMPLE",'
            b' "Token": "imds-token-EXAMPLE-789"}',
            "text/plain",
            ["imds-secret-EXAMPLE", "imds-token-EXAMPLE-789"],
        ),
    ],
)
def test_aws_keys_handed_out_in_a_body_are_scrubbed(
    body: bytes, content_type: str, secrets: list[str]
) -> None:
    clean = Scrubber().scrub(
        exchange(b"Action=AssumeRole", body, uri="https://sts.amazonaws.com/", content_type=content_type)
    )
    assert not [s for s in secrets if s.encode() in clean.response.body]
    assert b"REDACTED" in clean.response.body and b"ASIA" not in clean.response.body
    Scrubber().assert_interactions_clean([clean], "c.yaml")


def test_a_stream_that_quotes_aws_xml_is_left_alone() -> None:
    stream = (
        b'data: {"choices": [{"delta": {"content": "<SessionToken>example-token-123</SessionToken>"}}]}\n\n'
    )
    clean = Scrubber().scrub(exchange(b"{}", stream, uri="https://api.openai.com/v1/chat/completions"))
    assert clean.response.body == stream  # what the app saw live, byte for byte


def test_bodies_that_are_not_an_exchange_are_left_alone() -> None:
    chat = json.dumps(
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "my password=hunter22 code=1"}]}
    )
    reply = json.dumps({"access_token": "looks-like-a-token-but-no-token_type", "choices": []})
    clean = Scrubber().scrub(
        exchange(chat.encode(), reply.encode(), uri="https://api.openai.com/v1/chat/completions")
    )
    assert clean.request is not None and clean.request.body == chat.encode()
    assert clean.response.body == reply.encode()


def test_a_token_request_matches_whatever_secret_the_replay_sends() -> None:
    matcher = Matcher.build()
    recorded = matcher.canonical_body(Scrubber().scrub(exchange(entra(), b"{}")).request.body)  # type: ignore[union-attr]
    assert matcher.canonical_body(entra("placeholder")) == recorded  # CI has no secret
    assert matcher.canonical_body(entra(client="app-2")) != recorded  # another client is another request
    as_json = {"grant_type": "refresh_token", "client_id": "c", "refresh_token": REFRESH}
    assert matcher.canonical_json(as_json) == matcher.canonical_body(
        json.dumps({**as_json, "refresh_token": "REDACTED"}).encode()
    )


INNER = """
import os
import pytest
import google.auth.transport.requests
import google.oauth2.credentials
from openai import OpenAI

URL = os.environ["SIM_URL"]


@pytest.mark.llm
def test_signs_in_then_asks():
    # The secrets come from a vault, not from the environment: no scan of variables would know them.
    credentials = google.oauth2.credentials.Credentials(
        token=None, refresh_token=os.environ["VAULT_REFRESH"], client_id="app-1",
        client_secret=os.environ["VAULT_SECRET"], token_uri=URL + "/token",
    )
    credentials.refresh(google.auth.transport.requests.Request())
    client = OpenAI(base_url=URL + "/v1", api_key=credentials.token, max_retries=0)
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi."}])
    print("TOKEN", credentials.token)
    print("SAW", credentials.expiry is not None, answer.choices[0].message.content)
"""


def test_a_google_sign_in_records_no_secret_and_replays_without_one(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(test_signin=INNER)
    monkeypatch.setenv("VAULT_SECRET", SECRET)
    monkeypatch.setenv("VAULT_REFRESH", REFRESH)
    live = llm_pytester.runpytest("-s", "--llm-eval", "--llm-record=once")
    live.assert_outcomes(passed=1)
    assert [r.path for r in sim.requests] == ["/token", "/v1/chat/completions"]
    [token] = [line.split("TOKEN ", 1)[1].strip() for line in live.outlines if "TOKEN " in line]
    text = (llm_pytester.path / "cassettes" / "test_signin" / "test_signs_in_then_asks.yaml").read_text()
    assert len(token) > 100 and token not in text
    assert SECRET not in text and REFRESH not in text and "client_secret=REDACTED" in text
    assert '"access_token": "REDACTED"' in text
    seen = [line.split("SAW", 1)[1] for line in live.outlines if "SAW" in line]

    monkeypatch.setenv("VAULT_SECRET", "not-the-secret")  # a CI run has none of them
    monkeypatch.setenv("VAULT_REFRESH", "not-the-token")
    sim.reset()
    replay = llm_pytester.runpytest("-s", "--llm-eval", "--llm-block-network")
    replay.assert_outcomes(passed=1)
    assert sim.requests == []
    assert [line.split("SAW", 1)[1] for line in replay.outlines if "SAW" in line] == seen
