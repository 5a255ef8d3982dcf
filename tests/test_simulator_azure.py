"""The simulator's Azure OpenAI paths, driven by the real `openai.AzureOpenAI` / `AsyncAzureOpenAI` clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx2
import openai
import pytest

from pytest_llmops.simulator import ProviderSimulator

KEY = "a" * 32  # Azure keys are 32 hex characters; assembled at run time
VERSION = "2024-10-21"


@pytest.fixture(scope="module")
def sim() -> Iterator[ProviderSimulator]:
    with ProviderSimulator(idle_timeout_s=120) as simulator:
        yield simulator


@pytest.fixture
def fresh(sim: ProviderSimulator) -> ProviderSimulator:
    sim.reset()
    return sim


@pytest.fixture
def azure(fresh: ProviderSimulator) -> Iterator[openai.AzureOpenAI]:
    client = openai.AzureOpenAI(
        azure_endpoint=fresh.azure_endpoint, api_key=KEY, api_version=VERSION, max_retries=0
    )
    yield client
    client.close()


def test_chat_on_a_deployment_path_with_content_filter_results(
    fresh: ProviderSimulator, azure: openai.AzureOpenAI
) -> None:
    raw = azure.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]
    )
    reply = raw.parse()
    assert reply.model == "gpt-4o-mini-2024-07-18"  # the underlying model, dated, as Azure reports it
    assert (
        reply.usage is not None
        and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    )
    body = json.loads(raw.http_response.content)
    assert body["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    assert "content_filter_results" in body["choices"][0]
    (request,) = fresh.requests
    assert request.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert request.query == {"api-version": [VERSION]}
    assert request.headers["api-key"] == KEY and "authorization" not in request.headers
    assert raw.headers["apim-request-id"]


def test_stream_starts_with_the_prompt_filter_chunk(azure: openai.AzureOpenAI) -> None:
    chunks = list(
        azure.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Say hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices == [] and chunks[0].model == "" and chunks[0].id == ""
    assert {c.model for c in chunks[1:]} == {"gpt-4o-mini-2024-07-18"}
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_a_named_deployment_and_the_v1_path(fresh: ProviderSimulator) -> None:
    named = openai.AzureOpenAI(
        azure_endpoint=fresh.azure_endpoint,
        azure_deployment="prod-chat",
        api_key=KEY,
        api_version=VERSION,
        max_retries=0,
    )
    reply = named.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == "gpt-4.1-mini-2025-04-14"  # the body's model wins over the deployment name
    assert fresh.requests[-1].path == "/openai/deployments/prod-chat/chat/completions"
    v1 = openai.OpenAI(base_url=fresh.url + "/openai/v1", api_key=KEY, max_retries=0)
    assert (
        v1.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}]).model
        == "gpt-4o-2024-08-06"
    )
    assert fresh.requests[-1].path == "/openai/v1/chat/completions"


def test_async_client(fresh: ProviderSimulator) -> None:
    async def run() -> tuple[str, str]:
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=fresh.azure_endpoint, api_key=KEY, api_version=VERSION, max_retries=0
        )
        reply = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]
        )
        fresh.reset()
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        await client.close()
        return reply.choices[0].message.content or "", text

    whole, streamed = asyncio.run(run())
    assert whole and whole == streamed


def test_azure_error_bodies(fresh: ProviderSimulator, azure: openai.AzureOpenAI) -> None:
    fresh.fail_next(429, retry_after=20)
    with pytest.raises(openai.RateLimitError) as caught:
        azure.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "429"
    assert (
        "exceeded token rate limit" in str(caught.value)
        and caught.value.response.headers["retry-after"] == "20"
    )
    unsigned = httpx2.post(
        fresh.url + f"/openai/deployments/gpt-4o-mini/chat/completions?api-version={VERSION}",
        json={"messages": []},
    )
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "401"
    no_version = httpx2.post(
        fresh.url + "/openai/deployments/gpt-4o-mini/chat/completions",
        json={"messages": []},
        headers={"api-key": KEY},
    )
    assert no_version.status_code == 404 and no_version.json() == {
        "error": {"code": "404", "message": "Resource not found"}
    }
    fresh.fail_next(429, retry_after=0)
    retrying = openai.AzureOpenAI(
        azure_endpoint=fresh.azure_endpoint, api_key=KEY, api_version=VERSION, max_retries=1
    )
    assert retrying.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    ).choices
