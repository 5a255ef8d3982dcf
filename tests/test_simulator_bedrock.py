"""The simulator's Bedrock runtime, driven by the real boto3 `bedrock-runtime` client (signed, dummy keys)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pytest_llmops.recording.eventstream import iter_messages
from pytest_llmops.simulator import ProviderSimulator

CLAUDE = "anthropic.claude-3-5-haiku-20241022-v1:0"
NOVA = "us.amazon.nova-lite-v1:0"
QUESTION = "Context:\n[Source: faq-1]\nRefunds take 5 business days.\n\nQuestion: How long do refunds take?"


@pytest.fixture(scope="module")
def sim() -> Iterator[ProviderSimulator]:
    with ProviderSimulator(idle_timeout_s=120) as simulator:
        yield simulator


@pytest.fixture
def fresh(sim: ProviderSimulator) -> ProviderSimulator:
    sim.reset()
    return sim


def bedrock(sim: ProviderSimulator, attempts: int = 1) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=sim.bedrock_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="AKIA" + "X" * 16,
        aws_secret_access_key="s" * 40,
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
    )


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def test_converse_json_usage_and_signed_request(fresh: ProviderSimulator) -> None:
    reply = bedrock(fresh).converse(
        modelId=CLAUDE,
        messages=user(QUESTION),
        system=[{"text": "Answer briefly."}],
        inferenceConfig={"maxTokens": 200, "temperature": 0},
    )
    text = reply["output"]["message"]["content"][0]["text"]
    assert "5 business days" in text
    usage = reply["usage"]
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert reply["stopReason"] == "end_turn" and reply["metrics"]["latencyMs"] >= 1
    (request,) = fresh.requests
    assert request.path == "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIA")
    assert "x-amz-date" in request.headers
    assert "model" not in request.json  # the model is named by the URL only


def test_converse_stream_events_reassemble_the_json_answer(fresh: ProviderSimulator) -> None:
    client = bedrock(fresh)
    whole = client.converse(modelId=NOVA, messages=user(QUESTION))
    fresh.reset()
    streamed = client.converse_stream(modelId=NOVA, messages=user(QUESTION))
    assert streamed["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/vnd.amazon.eventstream"
    events = list(streamed["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert events[-1]["metadata"]["usage"] == whole["usage"]
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"


def test_converse_stream_raw_frames_are_valid_event_stream(fresh: ProviderSimulator) -> None:
    body = json.dumps({"messages": user("hi")}).encode()
    raw = urllib.request.Request(
        fresh.url + "/model/amazon.nova-lite-v1%3A0/converse-stream",
        data=body,
        headers={"content-type": "application/json", "authorization": "Bearer bedrock-api-key"},
    )
    with urllib.request.urlopen(raw, timeout=10) as response:
        data = response.read()
    messages = list(iter_messages(data))
    assert {m.message_type for m in messages} == {"event"}
    assert {m.content_type for m in messages} == {"application/json"}
    assert all("p" in json.loads(m.payload) for m in messages)  # Bedrock's padding field
    assert messages[-1].event_type == "metadata"


def test_tool_use_json_and_streamed(fresh: ProviderSimulator) -> None:
    client = bedrock(fresh)
    tools = {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather in a city",
                    "inputSchema": {
                        "json": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        }
                    },
                }
            }
        ],
        "toolChoice": {"any": {}},
    }
    reply = client.converse(modelId=CLAUDE, messages=user("Weather in Paris?"), toolConfig=tools)
    assert reply["stopReason"] == "tool_use"
    use = next(b["toolUse"] for b in reply["output"]["message"]["content"] if "toolUse" in b)
    assert use["name"] == "get_weather" and "city" in use["input"]
    fresh.reset()
    events = list(
        client.converse_stream(modelId=CLAUDE, messages=user("Weather in Paris?"), toolConfig=tools)["stream"]
    )
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_weather"
    pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e]
    assert json.loads("".join(pieces)) == use["input"]


def test_cache_points_write_then_read(fresh: ProviderSimulator) -> None:
    client = bedrock(fresh)
    system = [{"text": "Policy. " * 1500}, {"cachePoint": {"type": "default"}}]
    first = client.converse(modelId=CLAUDE, messages=user("Summarize."), system=system)["usage"]
    second = client.converse(modelId=CLAUDE, messages=user("Summarize again."), system=system)["usage"]
    assert first["cacheWriteInputTokens"] > 1024 and first["cacheReadInputTokens"] == 0
    assert second["cacheReadInputTokens"] == first["cacheWriteInputTokens"]
    assert second["cacheWriteInputTokens"] == 0
    assert second["totalTokens"] == (
        second["inputTokens"]
        + second["outputTokens"]
        + second["cacheReadInputTokens"]
        + second["cacheWriteInputTokens"]
    )


def anthropic_body(**extra: Any) -> str:
    return json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 200,
            "messages": [{"role": "user", "content": QUESTION}],
            **extra,
        }
    )


def test_invoke_model_answers_the_anthropic_body(fresh: ProviderSimulator) -> None:
    reply = bedrock(fresh).invoke_model(modelId="us." + CLAUDE, body=anthropic_body())
    message = json.loads(reply["body"].read())
    assert message["type"] == "message" and message["model"] == "claude-3-5-haiku-20241022"
    assert "5 business days" in message["content"][0]["text"]
    headers = reply["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) == message["usage"]["input_tokens"]
    assert int(headers["x-amzn-bedrock-output-token-count"]) == message["usage"]["output_tokens"]


def test_invoke_model_with_response_stream_chunks(fresh: ProviderSimulator) -> None:
    client = bedrock(fresh)
    whole = json.loads(client.invoke_model(modelId=CLAUDE, body=anthropic_body())["body"].read())
    fresh.reset()
    reply = client.invoke_model_with_response_stream(modelId=CLAUDE, body=anthropic_body())
    events = [json.loads(e["chunk"]["bytes"]) for e in reply["body"]]
    kinds = [e["type"] for e in events]
    assert (
        kinds[0] == "message_start"
        and kinds[-2:] == ["message_delta", "message_stop"]
        and "ping" not in kinds
    )
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert text == whole["content"][0]["text"]
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == whole["usage"]["input_tokens"]
    assert metrics["outputTokenCount"] == whole["usage"]["output_tokens"]


def test_invoke_model_rejects_a_model_key_like_bedrock(fresh: ProviderSimulator) -> None:
    with pytest.raises(ClientError) as caught:
        bedrock(fresh).invoke_model(modelId=CLAUDE, body=anthropic_body(model="claude"))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "extraneous key [model]" in caught.value.response["Error"]["Message"]


def test_throttling_and_retries(fresh: ProviderSimulator) -> None:
    fresh.fail_next(429)
    with pytest.raises(ClientError) as caught:
        bedrock(fresh).converse(modelId=CLAUDE, messages=user("hi"))
    error = caught.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["Error"]["Message"] == "Too many requests, please wait before trying again."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    fresh.reset()
    fresh.fail_next(429)
    reply = bedrock(fresh, attempts=3).converse(modelId=CLAUDE, messages=user("hi"))
    assert reply["stopReason"] == "end_turn"
    assert [r.status for r in fresh.requests] == [429, 200]


def test_error_bodies_and_unsigned_requests(fresh: ProviderSimulator) -> None:
    request = urllib.request.Request(
        fresh.url + "/model/amazon.nova-lite-v1%3A0/converse",
        data=b"{}",
        headers={"content-type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 403
    assert caught.value.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException:")
    assert json.loads(caught.value.read()) == {"message": "Missing Authentication Token"}
    with pytest.raises(ClientError) as validation:
        bedrock(fresh).converse(modelId=NOVA, messages=[])
    assert validation.value.response["Error"]["Code"] == "ValidationException"


def test_stream_chunk_bytes_are_base64_of_anthropic_events(fresh: ProviderSimulator) -> None:
    request = urllib.request.Request(
        fresh.url + "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream",
        data=anthropic_body().encode(),
        headers={"content-type": "application/json", "authorization": "Bearer bedrock-api-key"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        messages = list(iter_messages(response.read()))
    assert {m.event_type for m in messages} == {"chunk"}
    first = json.loads(base64.b64decode(json.loads(messages[0].payload)["bytes"]))
    assert first["type"] == "message_start" and first["message"]["model"] == "claude-3-haiku-20240307"
