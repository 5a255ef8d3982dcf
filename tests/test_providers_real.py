"""Every real recording in tests/data/real-cassettes (a copy of ../shared/real-cassettes): tokens as its bodies say, costs as genai-prices.

Expectations are computed here from the raw response bodies, simply and
independently of the adapters: JSON `usage` as the provider defines it, the
final usage chunk of an OpenAI chat stream, the `response.completed` event of
a Responses stream, and for Anthropic streams `message_start` overlaid by the
last `message_delta` usage.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.recording.interactions import Interaction, header
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.pricing import price_call
from pytest_llmops.spend.providers import builtin_parse_call
from tests.real_cassettes import REAL_CASSETTES

ROOT = REAL_CASSETTES


@dataclass(frozen=True)
class Entry:
    saved_file: str
    provider: str
    endpoint: str
    n_interactions: int


def entries() -> list[Entry]:
    if not (ROOT / "INDEX.tsv").exists():
        return []
    with (ROOT / "INDEX.tsv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [Entry(r["saved_file"], r["provider"], r["endpoint(s)"], int(r["n_interactions"])) for r in rows]


ENTRIES = entries()


def events(body: bytes) -> list[dict[str, Any]]:
    """JSON `data:` payloads of an SSE body, the simple way."""
    out = []
    for line in body.decode("utf-8").splitlines():
        if line.startswith("data:") and line[5:].strip().startswith("{"):
            out.append(json.loads(line[5:]))
    return out


def is_stream(interaction: Interaction) -> bool:
    return interaction.response.body.lstrip().startswith((b"data:", b"event:"))


@dataclass
class Expected:
    model: str | None
    tokens: tuple[int, int, int, int] | None  # input, cached, cache write, output
    error_type: str | None = None
    estimated: bool = False
    cache_write_1h: int = 0
    service_tier: str | None = None


def expected_for(interaction: Interaction, provider: str, endpoint: str) -> Expected:
    request = interaction.request.json() if interaction.request is not None else None
    request_model = request.get("model") if isinstance(request, dict) else None
    body = interaction.response.body
    if interaction.response.status >= 400:
        error = json.loads(body)["error"]
        kind = error.get("type") or str(error.get("code"))
        return Expected(request_model, None, error_type=kind)
    if provider == "anthropic":
        if is_stream(interaction):
            evs = events(body)
            start = next(e for e in evs if e["type"] == "message_start")["message"]
            last_delta = [e for e in evs if e["type"] == "message_delta"][-1]["usage"]
            usage = {**start["usage"], **{k: v for k, v in last_delta.items() if v is not None}}
            model = start["model"]
        else:
            message = json.loads(body)
            usage, model = message["usage"], message["model"]
        read = usage.get("cache_read_input_tokens") or 0
        write = usage.get("cache_creation_input_tokens") or 0
        return Expected(
            model,
            (usage["input_tokens"] + read + write, read, write, usage["output_tokens"]),
            cache_write_1h=(usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens") or 0,
            service_tier=usage.get("service_tier"),
        )
    if endpoint.endswith("/moderations"):
        return Expected(json.loads(body)["model"], None)
    if endpoint.endswith("/embeddings"):
        data = json.loads(body)
        return Expected(data["model"], (data["usage"]["prompt_tokens"], 0, 0, 0))
    if endpoint.endswith("/responses"):
        if is_stream(interaction):
            response = [e for e in events(body) if e["type"] == "response.completed"][-1]["response"]
        else:
            response = json.loads(body)
        usage = response["usage"]
        tokens = (
            usage["input_tokens"],
            usage["input_tokens_details"]["cached_tokens"],
            0,
            usage["output_tokens"],
        )
        return Expected(response["model"], tokens, service_tier=response.get("service_tier"))
    # chat completions
    if is_stream(interaction):
        chunks = events(body)
        usages = [c["usage"] for c in chunks if c.get("usage")]
        model = chunks[0]["model"]
        tier = chunks[0].get("service_tier")
        if not usages:
            return Expected(model, None, estimated=True, service_tier=tier)
        usage = usages[-1]
    else:
        data = json.loads(body)
        usage, model, tier = data["usage"], data["model"], data.get("service_tier")
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    return Expected(model, (usage["prompt_tokens"], cached, 0, usage["completion_tokens"]), service_tier=tier)


def recorded_time(interaction: Interaction) -> datetime | None:
    if interaction.meta.recorded_at:
        return datetime.fromisoformat(interaction.meta.recorded_at)
    date = header(interaction.response.headers, "date")
    return parsedate_to_datetime(date).astimezone(UTC) if date else None


def genai_cost(call: LLMCall, expected: Expected, interaction: Interaction) -> float | None:
    """genai-prices called directly, for the usage the recording states (or the flagged estimate)."""
    from genai_prices import Usage, calc_price

    if expected.tokens is None and not expected.estimated:
        if expected.error_type is not None:
            return 0.0  # rejected requests are not billed
        usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)  # no usage: only a free model is known
    else:
        tokens = expected.tokens or (
            call.input_tokens or 0,
            call.cached_input_tokens or 0,
            call.cache_write_tokens or 0,
            call.output_tokens or 0,
        )
        kwargs = dict(
            input_tokens=tokens[0],
            cache_read_tokens=tokens[1],
            cache_write_tokens=tokens[2],
            output_tokens=tokens[3],
        )
        if expected.cache_write_1h:
            kwargs["cache_write_1h_tokens"] = expected.cache_write_1h
        usage = Usage(**kwargs)
    context = {"service_tier": expected.service_tier} if expected.service_tier else None
    try:
        result = calc_price(
            usage,
            expected.model or "",
            provider_id=call.provider,
            genai_request_timestamp=recorded_time(interaction),
            price_context=context,
        )
    except LookupError:
        return None
    total = float(result.total_price)
    if expected.tokens is None and not expected.estimated:
        return 0.0 if total == 0 else None
    return total


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.saved_file.split("/")[-1][-70:] for e in ENTRIES])
def test_tokens_and_cost_match_the_recording(entry: Entry) -> None:
    interactions = load_interactions(ROOT / entry.saved_file)
    assert len(interactions) == entry.n_interactions
    # The format decides the adapter; the host names an OpenAI-compatible provider it knows (openrouter.ai).
    provider = "anthropic" if entry.provider.startswith("anthropic") else "openai"
    if entry.provider.startswith("openrouter"):
        provider = "openrouter"
    for index, interaction in enumerate(interactions):
        where = f"{entry.saved_file}[{index}]"
        call = builtin_parse_call(interaction)
        assert call is not None, where
        assert call.provider == provider, where
        if interaction.request is not None:
            assert call.endpoint == interaction.request.path.split("?")[0], where
            assert call.endpoint in entry.endpoint, where
        expected = expected_for(interaction, provider, call.endpoint)
        assert call.model == expected.model, where
        assert call.error_type == expected.error_type, where
        assert call.estimated == expected.estimated, where
        tokens = (call.input_tokens, call.cached_input_tokens, call.cache_write_tokens, call.output_tokens)
        if expected.estimated:
            assert call.output_tokens is not None and call.output_tokens > 0, where
        elif expected.tokens is None:
            assert tokens == (None, None, None, None), where
        else:
            assert tokens == expected.tokens, where
        cost = price_call(call)
        direct = genai_cost(call, expected, interaction)
        if direct is None:
            assert cost is None, where
        else:
            assert cost == pytest.approx(direct, rel=1e-9, abs=1e-15), where


def test_a_gateway_answering_with_another_model_is_priced_as_that_model_or_not_at_all() -> None:
    path = ROOT / "simonw__llm/tests__cassettes__test_tools_streaming__test_tools_streaming_variant_a.yaml"
    calls = [builtin_parse_call(x) for x in load_interactions(path)]
    for call in calls:
        assert call is not None
        assert call.request_model == "gpt-4.1-mini"
        assert call.model == "moonshotai/kimi-k2"
        assert price_call(call) is None  # never the price of gpt-4.1-mini
        assert isinstance(call.extra["usage"]["cost"], float)  # the gateway's own figure, kept aside
        assert call.extra["upstream_provider"]
