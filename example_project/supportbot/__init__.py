"""Acme Notes support bot: answers customer questions from the help center, citing the articles it used.

    from supportbot import SupportBot

    bot = SupportBot.from_env()
    answer = bot.ask("Can I get a refund on my annual plan?")
    print(answer.text, answer.sources)

Retrieval is BM25 over the Markdown articles in `articles/`; generation is one
chat call to OpenAI (or Anthropic) with a versioned prompt from `prompts/`.
"""

from __future__ import annotations

from supportbot.bot import FALLBACK_ANSWER, Answer, SupportBot, configured_prompt, load_prompt
from supportbot.corpus import Passage, load_passages
from supportbot.retrieval import Retriever

__all__ = [
    "FALLBACK_ANSWER",
    "Answer",
    "Passage",
    "Retriever",
    "SupportBot",
    "configured_prompt",
    "load_passages",
    "load_prompt",
]
