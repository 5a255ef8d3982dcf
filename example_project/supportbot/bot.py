"""`SupportBot`: retrieve passages, fill the prompt, ask the model, return an `Answer` with its citations."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportbot.corpus import Passage
from supportbot.llm import ChatModel
from supportbot.retrieval import Retriever

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
DEFAULT_PROMPT = "rag_qa@1.3.0"
FALLBACK_ANSWER = "I don't have enough information to answer that."
"""What the bot says when the help center does not answer the question (prompt rag_qa >= 1.3.0)."""

_CITATION = re.compile(r"\[Source:\s*([^\]\n]+?)\s*\]")


@dataclass(frozen=True)
class Answer:
    text: str
    sources: list[str]
    """Article ids the answer cites, in order of first citation."""
    retrieved: list[Passage] = field(repr=False)
    """The passages the model was given."""
    prompt: str
    """The prompt version used, as name@version."""
    model: str

    @property
    def context(self) -> dict[str, str]:
        """Article id -> the text the model saw from it (what citations and grounding are checked against)."""
        merged: dict[str, list[str]] = {}
        for passage in self.retrieved:
            merged.setdefault(passage.source, []).append(passage.text)
        return {source: "\n\n".join(texts) for source, texts in merged.items()}

    @property
    def declined(self) -> bool:
        return self.text.strip() == FALLBACK_ANSWER


def configured_prompt() -> str:
    """The prompt version the bot runs with: SUPPORTBOT_PROMPT, else the released default."""
    return os.environ.get("SUPPORTBOT_PROMPT") or DEFAULT_PROMPT


def load_prompt(ref: str) -> Any:
    """A prompt version from `prompts/` (a `pytest_llmops.prompts.Prompt`)."""
    from pytest_llmops.prompts import PromptRegistry

    registry = PromptRegistry.load(PROMPTS_DIR)
    if registry.errors:
        raise ValueError(f"broken prompt file in {PROMPTS_DIR}: {registry.errors[0]}")
    return registry.get(ref)


def format_context(passages: list[Passage]) -> str:
    return "\n\n".join(f"[Source: {p.source}]\n{p.text}" for p in passages)


class SupportBot:
    """Answers questions about Acme Notes from the help center articles.

    `prompt` is a loaded prompt version (`pytest_llmops.prompts.Prompt`): the
    prompt files are versioned with pytest-llmops' format, so the app and its
    tests read the same files. `temperature` overrides the prompt's own.
    """

    def __init__(
        self,
        prompt: Any,
        *,
        provider: str = "openai",
        model: str | None = None,
        retriever: Retriever | None = None,
        top_k: int = 3,
        temperature: float | None = None,
    ) -> None:
        self.prompt = prompt
        self.chat = ChatModel(provider, model or (prompt.model if provider == "openai" else None))
        self.retriever = retriever or Retriever()
        self.top_k = top_k
        self.temperature = temperature

    @classmethod
    def from_env(cls, prompt: Any = None, **overrides: Any) -> SupportBot:
        """Configured by the environment: SUPPORTBOT_PROVIDER (openai or anthropic), SUPPORTBOT_MODEL, and
        SUPPORTBOT_PROMPT (name@version) unless a loaded `prompt` is given."""
        if prompt is None:
            prompt = load_prompt(configured_prompt())
        overrides.setdefault("provider", os.environ.get("SUPPORTBOT_PROVIDER") or "openai")
        overrides.setdefault("model", os.environ.get("SUPPORTBOT_MODEL") or None)
        return cls(prompt, **overrides)

    def ask(self, question: str) -> Answer:
        passages = self.retriever.search(question, k=self.top_k)
        messages = self.prompt.messages(context=format_context(passages), question=question.strip())
        params = {k: v for k, v in self.prompt.parameters.items() if k != "model"}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        completion = self.chat.complete(messages, params)
        cited = list(dict.fromkeys(m.group(1) for m in _CITATION.finditer(completion.text)))
        return Answer(completion.text.strip(), cited, passages, self.prompt.ref, completion.model)
