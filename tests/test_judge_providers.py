"""Judges on every provider the recording layer reads: Azure OpenAI end to end against the simulator;
Gemini and Bedrock through their real SDKs' request types (Bedrock through botocore's Stubber, which
validates the request against the service model); LiteLLM and missing SDKs by their errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_llmops import checks
from pytest_llmops.checks import judge_clients, settings
from pytest_llmops.checks.judge import JudgeError, forget_clients
from pytest_llmops.simulator import ProviderSimulator
from pytest_llmops.simulator.judge_responder import with_judge

Q, GOOD, BAD = (
    "How long do refunds take?",
    "Refunds are processed within 5 business days.",
    "Our office is closed.",
)
MESSAGES = [
    {"role": "system", "content": "Rubric: relevance."},
    {"role": "user", "content": "<answer>x</answer>"},
]
PARAMS = {"temperature": 0, "max_tokens": 300}


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    settings.reset()


def test_azure_judge_calls_the_deployment_path_with_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with ProviderSimulator(responder=with_judge(), idle_timeout_s=30) as sim:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-test-key")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", sim.url)
        monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
        settings.configure(judge="azure:judge-deployment")
        good, bad = checks.relevance(Q, GOOD), checks.relevance(Q, BAD)
        assert good.value == 5.0 and bad.value <= 2.0 and good.scorer == "judge:azure:judge-deployment"
        request = sim.requests[0]
        assert request.path == "/openai/deployments/judge-deployment/chat/completions"
        assert (
            request.query["api-version"] == ["2024-10-21"] and request.headers["api-key"] == "azure-test-key"
        )
        assert good.judge_cost_usd is None  # "judge-deployment" names no priced model: unknown, never $0


def test_azure_judge_without_an_endpoint_says_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-test-key")
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    settings.configure(judge="azure:judge-deployment")
    with pytest.raises(JudgeError, match="AZURE_OPENAI_ENDPOINT"):
        checks.relevance(Q, GOOD)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    forget_clients()
    with pytest.raises(JudgeError, match="needs AZURE_OPENAI_API_KEY in the environment"):
        checks.relevance(Q, GOOD)


def test_openai_compatible_gateway_through_the_judge_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with ProviderSimulator(responder=with_judge(), idle_timeout_s=30) as sim:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        settings.configure(judge="openai:llama-3.1-8b-instruct", base_url=sim.openai_base_url)
        assert checks.relevance(Q, GOOD).value == 5.0
        assert sim.requests[0].json["model"] == "llama-3.1-8b-instruct"


def test_gemini_request_is_valid_for_the_google_genai_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    types = pytest.importorskip("google.genai.types")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-key")
    client = judge_clients.make_client("gemini", judge_clients.key_for("gemini"), "http://127.0.0.1:9")
    assert client._api_client.api_key == "gemini-test-key"
    assert client._api_client._http_options.base_url.startswith("http://127.0.0.1:9")

    seen: dict[str, Any] = {}

    class Models:
        def generate_content(self, **kwargs: Any) -> Any:
            seen.update(kwargs)
            return types.GenerateContentResponse(
                candidates=[
                    types.Candidate(
                        content=types.Content(role="model", parts=[types.Part(text='{"score": 4}')])
                    )
                ]
            )

    send, text = judge_clients.request("gemini", "gemini-2.0-flash", PARAMS, MESSAGES)
    reply = send(type("Client", (), {"models": Models()})())
    assert text(reply) == '{"score": 4}'
    config = types.GenerateContentConfig.model_validate(seen["config"])
    assert config.system_instruction == "Rubric: relevance." and config.temperature == 0
    assert config.max_output_tokens == 300
    [content] = [types.Content.model_validate(c) for c in seen["contents"]]
    assert content.role == "user" and content.parts[0].text == "<answer>x</answer>"


def test_bedrock_converse_request_passes_the_service_model(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("boto3")
    from botocore.stub import Stubber

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    client = judge_clients.make_client("bedrock", None, None)
    assert (
        client.meta.region_name == "eu-west-1" and client.meta.service_model.service_name == "bedrock-runtime"
    )
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    send, text = judge_clients.request("bedrock", model, PARAMS, MESSAGES)
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            {
                "output": {
                    "message": {"role": "assistant", "content": [{"text": '{"score": 5, "reason": "ok"}'}]}
                },
                "stopReason": "end_turn",
                "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
                "metrics": {"latencyMs": 100},
            },
            {
                "modelId": model,
                "system": [{"text": "Rubric: relevance."}],
                "messages": [{"role": "user", "content": [{"text": "<answer>x</answer>"}]}],
                "inferenceConfig": {"temperature": 0, "maxTokens": 300},
            },
        )
        assert text(send(client)) == '{"score": 5, "reason": "ok"}'


def test_litellm_and_missing_sdks_name_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)  # not installed
    settings.configure(judge="litellm:ollama/llama3")
    with pytest.raises(
        JudgeError, match=r"needs the litellm package: pip install 'pytest-llmops\[litellm\]'"
    ):
        checks.relevance(Q, GOOD)
    monkeypatch.setitem(sys.modules, "google.genai", None)
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    settings.configure(judge="gemini:gemini-2.0-flash")
    with pytest.raises(JudgeError, match=r"google-genai package: pip install 'pytest-llmops\[gemini\]'"):
        checks.relevance(Q, GOOD)


def test_litellm_request_passes_the_base_url() -> None:
    seen: dict[str, Any] = {}

    def completion(**kwargs: Any) -> Any:
        seen.update(kwargs)
        message = type("M", (), {"content": '{"score": 3}'})()
        return type("R", (), {"choices": [type("C", (), {"message": message})()]})()

    send, text = judge_clients.request("litellm", "ollama/llama3", PARAMS, MESSAGES)
    assert text(send(judge_clients._LiteLLM(completion, "http://127.0.0.1:11434"))) == '{"score": 3}'
    assert seen == {
        "model": "ollama/llama3",
        "messages": MESSAGES,
        "temperature": 0,
        "max_tokens": 300,
        "api_base": "http://127.0.0.1:11434",
    }


def test_an_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match="provider one of openai, anthropic, azure, gemini, bedrock, litellm"
    ):
        settings.configure(judge="mistral:large")
