"""The judge's SDK clients, one per provider the recording layer reads, and how each one is asked.

| `llm_judge`                  | client                               | credentials and endpoint                          |
|------------------------------|--------------------------------------|---------------------------------------------------|
| `openai:gpt-4o-mini`         | `openai.OpenAI`                      | OPENAI_API_KEY; `llm_judge_base_url` or           |
|                              |                                      | OPENAI_BASE_URL for OpenAI-compatible gateways    |
| `anthropic:claude-haiku-4-5` | `anthropic.Anthropic`                | ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL             |
| `azure:my-deployment`        | `openai.AzureOpenAI`                 | AZURE_OPENAI_API_KEY, AZURE_OPENAI_ENDPOINT (or   |
|                              |                                      | `llm_judge_base_url`), OPENAI_API_VERSION         |
| `gemini:gemini-2.0-flash`    | `google.genai.Client` (google-genai) | GEMINI_API_KEY or GOOGLE_API_KEY                  |
| `bedrock:<model id>`         | boto3 `bedrock-runtime`, Converse    | the AWS credential chain; AWS_REGION              |
| `litellm:<any litellm model>`| `litellm.completion`                 | whatever LiteLLM reads for that model             |

Every SDK is imported on the first judge call; a missing one is a JudgeError
naming the package and the extra that installs it. The model after the colon
is passed as is (for Azure it is the deployment name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_llmops.markers import JUDGE_PROVIDERS

_REASONING_MODEL = re.compile(r"^(?:o\d|gpt-5)", re.I)
"""OpenAI models that reject `temperature` and `max_tokens` (they take max_completion_tokens)."""

DEFAULT_API_VERSION = "2024-10-21"
"""Azure OpenAI's GA data-plane version, used when OPENAI_API_VERSION is unset."""


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    key_env: tuple[str, ...]
    """Environment variables holding the key, any of them; empty: the SDK finds its own credentials."""
    base_url_env: str | None
    package: str
    extra: str


PROVIDERS: dict[str, ProviderSpec] = {
    "openai": ProviderSpec(("OPENAI_API_KEY",), "OPENAI_BASE_URL", "openai", ""),
    "anthropic": ProviderSpec(("ANTHROPIC_API_KEY",), "ANTHROPIC_BASE_URL", "anthropic", ""),
    "azure": ProviderSpec(("AZURE_OPENAI_API_KEY",), "AZURE_OPENAI_ENDPOINT", "openai", ""),
    "gemini": ProviderSpec(("GEMINI_API_KEY", "GOOGLE_API_KEY"), None, "google-genai", "gemini"),
    "bedrock": ProviderSpec((), None, "boto3", "bedrock"),
    "litellm": ProviderSpec((), None, "litellm", "litellm"),
}
assert set(PROVIDERS) == set(JUDGE_PROVIDERS)

SDK_MODULES = frozenset({"openai", "anthropic", "httpx", "httpx2", "google", "botocore", "litellm"})
"""Where the exceptions of a failed judge request come from (they become a JudgeError)."""


class MissingCredentials(Exception):
    """The judge's provider has no key in the environment; the message names the variables."""


class MissingPackage(Exception):
    """The judge's provider SDK is not installed; the message says how to install it."""


def key_for(provider: str) -> str | None:
    spec = PROVIDERS[provider]
    if not spec.key_env:
        return None
    for name in spec.key_env:
        if os.environ.get(name):
            return os.environ[name]
    raise MissingCredentials(" or ".join(spec.key_env))


def _import(provider: str, module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        spec = PROVIDERS[provider]
        extra = f"pip install 'pytest-llmops[{spec.extra}]'" if spec.extra else f"pip install {spec.package}"
        raise MissingPackage(f"the {provider} judge needs the {spec.package} package: {extra}") from None


def make_client(provider: str, key: str | None, base_url: str | None) -> Any:
    """A client for `provider`; `base_url` from `llm_judge_base_url` or the provider's environment."""
    if provider == "openai":
        return _import(provider, "openai").OpenAI(api_key=key, base_url=base_url)
    if provider == "anthropic":
        return _import(provider, "anthropic").Anthropic(api_key=key, base_url=base_url)
    if provider == "azure":
        if not base_url:
            raise MissingCredentials("AZURE_OPENAI_ENDPOINT (or llm_judge_base_url)")
        return _import(provider, "openai").AzureOpenAI(
            api_key=key,
            azure_endpoint=base_url,
            api_version=os.environ.get("OPENAI_API_VERSION") or DEFAULT_API_VERSION,
        )
    if provider == "gemini":
        genai = _import(provider, "google.genai")
        options = genai.types.HttpOptions(base_url=base_url) if base_url else None
        return genai.Client(api_key=key, http_options=options)
    if provider == "bedrock":
        boto3 = _import(provider, "boto3")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return boto3.client("bedrock-runtime", region_name=region, endpoint_url=base_url)
    litellm = _import(provider, "litellm")
    return _LiteLLM(litellm.completion, base_url)


@dataclass(slots=True)
class _LiteLLM:
    """LiteLLM has no client object: its module-level `completion`, with the base URL bound."""

    completion: Callable[..., Any]
    api_base: str | None


def request(
    provider: str, model: str, params: dict[str, Any], messages: list[dict[str, str]]
) -> tuple[Callable[[Any], Any], Callable[[Any], str]]:
    """(send(client) -> response, text(response) -> str) for one judge request in `provider`'s shape."""
    temperature = params.get("temperature", 0)
    max_tokens = int(params.get("max_tokens", 400))
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns = [m for m in messages if m["role"] != "system"]
    if provider in ("openai", "azure"):
        kwargs: dict[str, Any] = {"model": model, "messages": messages}
        if _REASONING_MODEL.match(model):
            kwargs["max_completion_tokens"] = max_tokens * 4  # room for hidden reasoning
        else:
            kwargs["temperature"] = temperature
            kwargs["max_tokens"] = max_tokens
        return (lambda client: client.chat.completions.create(**kwargs)), _chat_text
    if provider == "litellm":
        return (
            lambda client: client.completion(
                model=model,
                messages=messages,
                temperature=temperature,
                max_tokens=max_tokens,
                **({"api_base": client.api_base} if client.api_base else {}),
            )
        ), _chat_text
    if provider == "anthropic":
        # Sent as a body field: newer SDKs dropped the `temperature` keyword, the API still takes it.
        return (
            lambda client: client.messages.create(
                model=model,
                max_tokens=max_tokens,
                system=system,
                messages=turns,
                extra_body={"temperature": temperature},
            )
        ), lambda r: "".join(getattr(b, "text", "") for b in r.content if b.type == "text")
    if provider == "gemini":
        contents = [
            {"role": "model" if m["role"] == "assistant" else "user", "parts": [{"text": m["content"]}]}
            for m in turns
        ]
        config: dict[str, Any] = {"temperature": temperature, "max_output_tokens": max_tokens}
        if system:
            config["system_instruction"] = system
        return (
            lambda client: client.models.generate_content(model=model, contents=contents, config=config)
        ), lambda r: r.text or ""
    if provider == "bedrock":
        converse: dict[str, Any] = {
            "modelId": model,
            "messages": [{"role": m["role"], "content": [{"text": m["content"]}]} for m in turns],
            "inferenceConfig": {"temperature": temperature, "maxTokens": max_tokens},
        }
        if system:
            converse["system"] = [{"text": system}]
        return (lambda client: client.converse(**converse)), _bedrock_text
    raise ValueError(f"unknown judge provider {provider!r}")


def _chat_text(response: Any) -> str:
    choice = response.choices[0] if response.choices else None
    return (choice.message.content or "") if choice is not None else ""


def _bedrock_text(response: Any) -> str:
    content = response.get("output", {}).get("message", {}).get("content", [])
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))
