"""The models the simulator knows: alias -> dated snapshot, reasoning, embedding sizes, cache minimums.

Real APIs answer an alias request (`gpt-4o-mini`) with a dated model
(`gpt-4o-mini-2024-07-18`); consumers that price by the response's model
must cope with that, so the simulator does the same. Unknown names are
echoed unchanged, like fine-tunes and new models are.
"""

from __future__ import annotations

import re
from typing import Any

OPENAI_SNAPSHOTS = {
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "o1": "o1-2024-12-17",
    "o3": "o3-2025-04-16",
    "o3-mini": "o3-mini-2025-01-31",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "gpt-5-nano": "gpt-5-nano-2025-08-07",
    "omni-moderation-latest": "omni-moderation-2024-09-26",
    "text-moderation-latest": "text-moderation-007",
}

ANTHROPIC_SNAPSHOTS = {
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-opus-4-0": "claude-opus-4-20250514",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-opus-4-5": "claude-opus-4-5-20251101",
}

DRIFTED_SNAPSHOTS = {
    "gpt-3.5-turbo-0125": "gpt-4o-mini-2024-07-18",
    "gpt-4o-mini-2024-07-18": "gpt-4.1-mini-2025-04-14",
    "gpt-4o-2024-08-06": "gpt-4.1-2025-04-14",
    "gpt-4.1-nano-2025-04-14": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-mini-2025-04-14": "gpt-4.1-2025-04-14",
    "claude-3-5-haiku-20241022": "claude-haiku-4-5-20251001",
    "claude-haiku-4-5-20251001": "claude-sonnet-4-5-20250929",
    "claude-3-5-sonnet-20241022": "claude-3-7-sonnet-20250219",
    "claude-3-7-sonnet-20250219": "claude-sonnet-4-20250514",
    "claude-sonnet-4-20250514": "claude-sonnet-4-5-20250929",
    "gemini-1.5-flash": "gemini-2.0-flash",
    "gemini-2.0-flash": "gemini-2.5-flash",
    "gemini-2.0-flash-lite": "gemini-2.0-flash",
}
"""What a "drifted" simulator serves instead (`ProviderSimulator(drifted=True)`): a successor behind the same
alias, priced differently, as when a provider moves an alias to a new snapshot."""

EMBEDDING_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
DEFAULT_EMBEDDING_DIMENSIONS = 1536

_REASONING = re.compile(r"^(?:o\d|gpt-5)(?!.*-chat)")

REASONING_EFFORT_TOKENS = {"none": 0, "minimal": 16, "low": 64, "medium": 192, "high": 512, "xhigh": 1024}
"""Reasoning tokens an OpenAI reasoning model spends per effort level (simulated, fixed)."""


def resolve(provider: str, model: str) -> str:
    """The dated model name a real API would report for `model`."""
    table = ANTHROPIC_SNAPSHOTS if provider == "anthropic" else OPENAI_SNAPSHOTS
    return table.get(model, model)


def served(provider: str, model: str, *, drifted: bool = False) -> str:
    """The model a response reports: the dated snapshot, or its successor when the simulator drifted."""
    name = resolve(provider, model) if provider in ("openai", "anthropic") else model
    return DRIFTED_SNAPSHOTS.get(name, name) if drifted else name


def is_reasoning_model(model: str) -> bool:
    """OpenAI o-series and gpt-5 models bill hidden reasoning tokens."""
    return bool(_REASONING.match(model))


def anthropic_min_cacheable_tokens(model: str) -> int:
    """Shortest prefix Anthropic will cache: 2048 tokens for Haiku models, 1024 for the others."""
    return 2048 if "haiku" in model else 1024


def openai_models() -> list[dict[str, Any]]:
    names = sorted({*OPENAI_SNAPSHOTS, *OPENAI_SNAPSHOTS.values(), *EMBEDDING_DIMENSIONS})
    return [{"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"} for name in names]


def anthropic_models() -> list[dict[str, Any]]:
    names = sorted(set(ANTHROPIC_SNAPSHOTS.values()), reverse=True)
    return [
        {"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"}
        for name in names
    ]
