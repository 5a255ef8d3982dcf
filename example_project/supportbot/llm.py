"""One chat completion with OpenAI or Anthropic.

The SDK client of a provider is built on first use and shared by every bot and agent of the process, as the
SDKs recommend: a client holds the connection pool and the TLS context (loading the CA bundle takes about
20 ms), so building one per question would pay that on every call. Only the chosen provider's SDK is
imported, when its client is first needed: the two SDKs together are about 4,000 modules. The SDKs read
their keys and base URLs from the environment (OPENAI_API_KEY / OPENAI_BASE_URL, ANTHROPIC_API_KEY /
ANTHROPIC_BASE_URL) when the client is built.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

PROVIDERS = ("openai", "anthropic")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def client(provider: str) -> Any:
    """The process's SDK client for `provider` (`openai.OpenAI` or `anthropic.Anthropic`), built on first use."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}")
    with _clients_lock:
        if provider not in _clients:
            if provider == "openai":
                import openai

                _clients[provider] = openai.OpenAI()
            else:
                import anthropic

                _clients[provider] = anthropic.Anthropic()
        return _clients[provider]


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

    @property
    def client(self) -> Any:
        return client(self.provider)

    def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        if self.provider == "openai":
            return self._openai(messages, params)
        return self._anthropic(messages, params)

    def _openai(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        response = self.client.chat.completions.create(model=self.model, messages=messages, **params)
        return Completion(response.choices[0].message.content or "", response.model)

    def _anthropic(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [m for m in messages if m["role"] != "system"]
        params = dict(params)
        max_tokens = params.pop("max_tokens", 1024)
        # Sampling parameters go in the body: recent SDK versions dropped them as keywords.
        response = self.client.messages.create(
            model=self.model, system=system, messages=turns, max_tokens=max_tokens, extra_body=params or None
        )
        text = "".join(block.text for block in response.content if block.type == "text")
        return Completion(text, response.model)
