"""Cassettes recorded by other projects against the real APIs replay through the real SDKs.

For every chat completions, Responses and Anthropic messages recording in
../shared/real-cassettes, the recorded request body is sent through the SDK in
replay mode (record mode none, no key, no network) and must come back as the
recorded response, in recorded order.
"""

from __future__ import annotations

import csv
import json
import textwrap

import pytest

from tests.real_cassettes import REAL_CASSETTES, SHARED_SOURCE

ENDPOINTS = ("/chat/completions", "/responses", "/messages")


def replayable_files() -> list[str]:
    with open(REAL_CASSETTES / "INDEX.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    files = []
    for row in rows:
        if "no request stored" in row["endpoint(s)"]:
            continue
        if any(e in row["endpoint(s)"] for e in ENDPOINTS) and row["provider"] in ("openai", "anthropic"):
            files.append(row["saved_file"])
    return files


FILES = replayable_files()


@pytest.mark.skipif(not SHARED_SOURCE.is_dir(), reason="../shared/real-cassettes is not beside this checkout")
def test_vendored_copy_is_unchanged() -> None:
    source = sorted(p.relative_to(SHARED_SOURCE) for p in SHARED_SOURCE.rglob("*") if p.is_file())
    vendored = sorted(p.relative_to(REAL_CASSETTES) for p in REAL_CASSETTES.rglob("*") if p.is_file())
    assert vendored == source
    for relative in source:
        assert (REAL_CASSETTES / relative).read_bytes() == (SHARED_SOURCE / relative).read_bytes(), relative


def test_replayable_set_is_broad() -> None:
    # The index lists recordings from several projects and formats; make sure the filter keeps them.
    assert len(FILES) >= 35


@pytest.mark.parametrize("name", FILES)
def test_recorded_request_through_the_sdk_returns_the_recorded_response(
    name: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_llmops.recording.formats import load_interactions

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    path = REAL_CASSETTES / name
    interactions = [i for i in load_interactions(path) if i.request is not None]
    expected = [
        {
            "status": i.response.status,
            "sse": i.response.is_sse,
            "body": i.response.text,
            "json": i.response.json(),
        }
        for i in interactions
    ]
    pytester.makepyfile(
        test_inner=textwrap.dedent(
            f"""
            import json
            from urllib.parse import urlsplit

            import pytest
            from pytest_llmops.recording.formats import load_interactions

            PATH = {str(path)!r}
            EXPECTED = json.loads({json.dumps(expected)!r})

            def client_for(uri):
                parts = urlsplit(uri)
                origin = f"{{parts.scheme}}://{{parts.netloc}}"
                path = parts.path + ("?" + parts.query if parts.query else "")
                if parts.path.endswith("/messages"):
                    from anthropic import Anthropic
                    return Anthropic(base_url=origin, max_retries=0), path
                from openai import OpenAI
                for marker in ("/chat/completions", "/responses"):
                    if marker in parts.path:
                        prefix = parts.path.split(marker)[0]
                        break
                return OpenAI(base_url=origin + prefix, max_retries=0), path[len(prefix):]

            @pytest.mark.llm(cassette=PATH)
            def test_replay():
                import httpx2
                for interaction, want in zip([i for i in load_interactions(__import__("pathlib").Path(PATH))
                                              if i.request is not None], EXPECTED):
                    client, path = client_for(interaction.request.uri)
                    body = json.loads(interaction.request.body) if interaction.request.body else None
                    try:
                        response = client.post(path, body=body, cast_to=httpx2.Response, stream=want["sse"])
                    except Exception as exc:  # 4xx/5xx become the SDK's status errors
                        response = exc.response
                    assert response.status_code == want["status"]
                    text = response.read().decode()
                    if want["json"] is not None:
                        assert json.loads(text) == want["json"]
                    else:
                        assert text == want["body"]
            """
        )
    )
    result = pytester.runpytest("--llm-eval", "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
