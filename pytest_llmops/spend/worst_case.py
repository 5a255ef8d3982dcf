"""The most a request can cost before it is sent: what a session budget reserves.

Input tokens are bounded from the request body: one token per 2 characters of
every string in it (twice the usual 4-characters rule of thumb, so code, JSON
and most non-Latin text stay under it), plus each list item's message framing.
Output tokens are the request's own limit (`max_tokens`,
`max_completion_tokens`, `max_output_tokens`, Ollama's `options.num_predict`, times `n` choices), or, without
one, the model's output limit: from a small table of known limits, else its
context window from genai-prices. Everything is priced as uncached input and
output at the model's price (`pricing.price_call`), which is never below the
real bill for those counts.

`worst_case` returns None with the reason when no bound exists (an unpriced
model, or no output limit at all): under a budget such a request is refused.
Requests no provider bills (`unbilled`) are sent without a reservation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_llmops.spend.calls import LLMCall

CHARS_PER_TOKEN_BOUND = 2
TOKENS_PER_ITEM = 4

# Maximum output tokens of models whose limit is far below their context window (OpenAI's model pages).
OUTPUT_LIMITS: dict[str, int] = {
    "gpt-4o-mini": 16_384,
    "gpt-4o": 16_384,
    "gpt-4.1": 32_768,
    "gpt-4.1-mini": 32_768,
    "gpt-4.1-nano": 32_768,
    "gpt-4-turbo": 4_096,
    "gpt-3.5-turbo": 4_096,
    "gpt-5": 128_000,
    "gpt-5-mini": 128_000,
    "gpt-5-nano": 128_000,
    "o1": 100_000,
    "o3": 100_000,
    "o3-mini": 100_000,
    "o4-mini": 100_000,
}
_LIMIT_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


@dataclass(frozen=True, slots=True)
class WorstCase:
    cost_usd: float
    input_tokens: int
    output_tokens: int


def input_tokens_bound(body: Any) -> int:
    """An upper bound on the prompt tokens of a JSON request body."""
    chars, items = _text_size(body)
    return -(-chars // CHARS_PER_TOKEN_BOUND) + items * TOKENS_PER_ITEM


def output_tokens_bound(body: dict[str, Any], provider: str, model: str) -> int | None:
    """The request's output limit (times `n`), else the model's; None when neither is known."""
    n = body.get("n")
    choices = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
    options = body.get("options")  # Ollama: `options.num_predict`
    limits = [body.get(name) for name in _LIMIT_FIELDS]
    limits.append(options.get("num_predict") if isinstance(options, dict) else None)
    for value in limits:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return int(value * choices)
    limit = model_output_limit(provider, model)
    return None if limit is None else limit * choices


def model_output_limit(provider: str, model: str) -> int | None:
    known = OUTPUT_LIMITS.get(model) or next(
        (v for k, v in OUTPUT_LIMITS.items() if model.startswith(k + "-20")), None
    )
    if known is not None:
        return known
    from pytest_llmops.spend.pricing import context_window

    return context_window(model, provider)


def unbilled(method: str, body: bytes | None, headers: Mapping[str, Any] | None = None) -> bool:
    """Whether no provider bills such a request: a GET (a listing, a lookup) or another method without a
    body to generate from, or an OAuth token request (a sign-in before the calls). Not a GET that asks to
    upgrade the connection: a realtime session over a WebSocket is billed."""
    from pytest_llmops.recording.token_bodies import is_token_exchange

    if headers and any(str(name).lower() == "upgrade" for name in headers):
        return False
    return method.upper() not in ("POST", "PUT", "PATCH") or is_token_exchange(body)


def worst_case(
    body: Any, provider: str, endpoint: str, table: Any = None
) -> tuple[WorstCase | None, str | None]:
    """(the bound, None) or (None, why there is none) for a request about to be sent."""
    from pytest_llmops.spend.pricing import price_call

    if not isinstance(body, dict):
        return None, "its body is not a JSON object, so its cost cannot be bounded."
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return None, "it names no model, so its price and cost are unknown."
    output = output_tokens_bound(body, provider, model)
    inputs = input_tokens_bound(body)
    probe = LLMCall(
        provider=provider,
        endpoint=endpoint,
        model=model,
        input_tokens=inputs,
        output_tokens=output if output is not None else 1,
        cached_input_tokens=0,
        cache_write_tokens=0,
    )
    cost = price_call(probe, table)
    if cost is None or not math.isfinite(cost):
        return None, (
            f"no price is known for model {model!r}, so its spend cannot be held to the budget. "
            "Add it to the llm_prices file."
        )
    if output is None:
        return None, (
            f"the request sets no max_tokens and no output limit is known for model {model!r}, "
            "so its cost cannot be bounded. Set max_tokens (or max_completion_tokens) on the request."
        )
    return WorstCase(cost, inputs, output), None


def _text_size(value: Any) -> tuple[int, int]:
    """(characters of every string in `value`, number of list items)."""
    if isinstance(value, str):
        return len(value), 0
    if isinstance(value, dict):
        chars = items = 0
        for item in value.values():
            c, i = _text_size(item)
            chars, items = chars + c, items + i
        return chars, items
    if isinstance(value, list):
        chars, items = 0, len(value)
        for item in value:
            c, i = _text_size(item)
            chars, items = chars + c, items + i
        return chars, items
    return 0, 0
