"""`LLMCall`: what one provider request used, cost and took, live or replayed.

Token meanings are normalized across providers:
- `input_tokens`: every input token processed, cached ones included;
- `cached_input_tokens`: read from the prompt cache;
- `cache_write_tokens`: written to the prompt cache (Anthropic), else 0;
- `output_tokens`: generated tokens (reasoning tokens included, as billed);
- `reasoning_tokens`: the part of `output_tokens` spent reasoning.

A token field is None when the recording carries no usage and nothing was
estimated; `estimated` is True when the counts were estimated from the text.
`cost_usd` is None when the model has no known price: unknown, never $0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

Source = Literal["live", "replayed"]
Role = Literal["app", "judge"]


@dataclass(slots=True)
class LLMCall:
    provider: str
    endpoint: str
    model: str | None = None
    request_model: str | None = None
    stream: bool = False
    status: int = 200
    error_type: str | None = None
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    estimated: bool = False
    latency_ms: float | None = None
    ttft_ms: float | None = None
    cost_usd: float | None = None
    recorded_at: str | None = None
    source: Source = "replayed"
    role: Role = "app"
    prompt: str | None = None
    variant: str | None = None
    cassette: str | None = None
    index: int | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """Tools the response asked to call, in order: `{"name", "arguments", "id"}` (spend/providers/tool_calls)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def failed(self) -> bool:
        """The provider rejected the request (an HTTP error status) or failed it after the 200, with an
        error inside the stream (`error_type` set): either way the app got no answer."""
        return not 200 <= self.status < 300 or self.error_type is not None

    @property
    def priced(self) -> bool:
        return self.cost_usd is not None

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    @property
    def has_usage(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None

    def to_dict(self) -> dict[str, Any]:
        # Shallow, not dataclasses.asdict: this runs for every call of every test, and the values are
        # already JSON-able (extra holds plain data).
        data = {name: getattr(self, name) for name in _FIELDS}
        if not data["extra"]:
            del data["extra"]
        if not data["tool_calls"]:
            del data["tool_calls"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LLMCall:
        return cls(**{k: v for k, v in data.items() if k in _FIELD_SET})


_FIELDS = tuple(f.name for f in fields(LLMCall))
_FIELD_SET = frozenset(_FIELDS)
