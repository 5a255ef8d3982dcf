"""One chat completion with OpenAI or Anthropic. The SDKs read their keys and base URLs from the environment
(OPENAI_API_KEY / OPENAI_BASE_URL, ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL) and are imported on first use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROVIDERS = ("openai", "anthropic")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}


@dataclass(frozen=True)
class Completion:
    text: str
    model: str


class ChatModel:
    """A provider and model; `complete` sends chat messages (a leading system message allowed) with params."""

    def __init__(self, provider: str = "openai", model: str | None = None) -> None:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}")
        self.provider = provider
        self.model = model or DEFAULT_MODELS[provider]
        self._client: Any = None

    def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        if self.provider == "openai":
            return self._openai(messages, params)
        return self._anthropic(messages, params)

    def _openai(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        if self._client is None:
            import openai

            self._client = openai.OpenAI()
        response = self._client.chat.completions.create(model=self.model, messages=messages, **params)
        return Completion(response.choices[0].message.content or "", response.model)

    def _anthropic(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        if self._client is None:
            import anthropic

            self._client = anthropic.Anthropic()
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [m for m in messages if m["role"] != "system"]
        params = dict(params)
        max_tokens = params.pop("max_tokens", 1024)
        # Sampling parameters go in the body: recent SDK versions dropped them as keywords.
        response = self._client.messages.create(
            model=self.model, system=system, messages=turns, max_tokens=max_tokens, extra_body=params or None
        )
        text = "".join(block.text for block in response.content if block.type == "text")
        return Completion(text, response.model)
