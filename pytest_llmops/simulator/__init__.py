"""A local OpenAI + Anthropic API for tests, benchmarks and examples: no network, no key.

    from pytest_llmops.simulator import ProviderSimulator

    with ProviderSimulator() as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="test")
        ...

Not imported by the plugin at load time; import it where you need it. Token
counts are approximate (see `tokens`), not tiktoken's.
"""

from __future__ import annotations

from .responders import (
    ChatTurn,
    Responder,
    chain,
    echo_header_responder,
    extractive_responder,
    fixed_responder,
    generic_responder,
    keyword_responder,
)
from .server import ProviderSimulator, SimRequest
from .tokens import count_tokens, tokenize

__all__ = [
    "ChatTurn",
    "ProviderSimulator",
    "Responder",
    "SimRequest",
    "chain",
    "count_tokens",
    "echo_header_responder",
    "extractive_responder",
    "fixed_responder",
    "generic_responder",
    "keyword_responder",
    "tokenize",
]
