"""A local OpenAI, Anthropic, Gemini, Bedrock, Azure OpenAI and Ollama API for tests, benchmarks and
examples: no network, no real key.

    from pytest_llmops.simulator import ProviderSimulator

    with ProviderSimulator() as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="test")
        gemini = genai.Client(api_key="test", http_options=HttpOptions(base_url=sim.gemini_base_url))
        bedrock = boto3.client("bedrock-runtime", endpoint_url=sim.bedrock_endpoint_url, ...)
        azure = openai.AzureOpenAI(azure_endpoint=sim.azure_endpoint, api_key="test", api_version="2024-10-21")
        local = ollama.Client(host=sim.ollama_base_url)
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
