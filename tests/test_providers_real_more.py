"""Gemini, Bedrock and OpenAI-compatible recordings that public projects committed (tests/data/real-provider-cassettes).

Expectations are computed here from the raw bodies, independently of the adapters:
Gemini's last `usageMetadata` (output = candidates + thoughts), Bedrock Converse usage
(`inputTokens` excludes cache reads and writes) with event streams decoded by botocore's
own parser, OpenAI-shaped `usage`; costs come from genai-prices called directly.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from botocore.eventstream import EventStreamBuffer

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.recording.interactions import Interaction
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.pricing import price_call
from pytest_llmops.spend.providers import builtin_parse_call

ROOT = Path(__file__).parent / "data" / "real-provider-cassettes"
GENAI_IDS = {"gemini": "google", "bedrock": "aws"}


@dataclass(frozen=True)
class Entry:
    saved_file: str
    provider: str
    n_interactions: int


def entries() -> list[Entry]:
    with (ROOT / "INDEX.tsv").open(newline="", encoding="utf-8") as f:
        return [
            Entry(r["saved_file"], r["provider"], int(r["n_interactions"]))
            for r in csv.DictReader(f, delimiter="\t")
        ]


ENTRIES = entries()


@dataclass
class Expected:
    model: str | None
    tokens: tuple[int, int, int, int] | None  # input, cached, cache write, output
    error_type: str | None = None
    stream: bool = False


def expected_for(interaction: Interaction, provider: str) -> Expected:
    assert interaction.request is not None
    body = interaction.response.body
    path = interaction.request.path
    if provider == "bedrock":
        model = unquote(path.split("/model/", 1)[1].rsplit("/", 1)[0])
        streamed = path.endswith("-stream")
        if interaction.response.status >= 400:
            return Expected(model, None, json.loads(body).get("__type", "error"), stream=streamed)
        if streamed:
            buffer = EventStreamBuffer()
            buffer.add_data(body)
            events = {m.headers[":event-type"]: json.loads(m.payload) for m in buffer}
            usage = events["metadata"]["usage"]
        else:
            usage = json.loads(body)["usage"]
        read, write = usage.get("cacheReadInputTokens", 0), usage.get("cacheWriteInputTokens", 0)
        tokens = (usage["inputTokens"] + read + write, read, write, usage["outputTokens"])
        assert tokens[0] + tokens[3] == usage["totalTokens"]  # the recording agrees with itself
        return Expected(model, tokens, stream=streamed)
    if provider == "gemini":
        if body.startswith(b"data:"):
            chunks = [json.loads(line[5:]) for line in body.decode().splitlines() if line.startswith("data:")]
        else:
            chunks = [json.loads(body)]
        usage = chunks[-1]["usageMetadata"]
        output = usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
        tokens = (usage["promptTokenCount"], usage.get("cachedContentTokenCount", 0), 0, output)
        assert tokens[0] + output == usage["totalTokenCount"]
        return Expected(chunks[-1]["modelVersion"], tokens, stream=body.startswith(b"data:"))
    data = json.loads(body)  # OpenAI-shaped
    usage = data["usage"]
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    return Expected(data["model"], (usage["prompt_tokens"], cached, 0, usage["completion_tokens"]))


def genai_cost(call: LLMCall, expected: Expected, interaction: Interaction) -> float | None:
    from genai_prices import Usage, calc_price

    if expected.tokens is None:
        return 0.0  # rejected requests are not billed
    recorded = interaction.meta.recorded_at
    when = datetime.fromisoformat(recorded) if recorded else datetime.now(tz=UTC)
    usage = Usage(
        input_tokens=expected.tokens[0],
        cache_read_tokens=expected.tokens[1],
        cache_write_tokens=expected.tokens[2],
        output_tokens=expected.tokens[3],
    )
    try:
        result = calc_price(
            usage,
            expected.model or "",
            provider_id=GENAI_IDS.get(call.provider, call.provider),
            genai_request_timestamp=when,
        )
    except LookupError:
        return None
    return float(result.total_price)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.saved_file.rsplit("__", 1)[-1] for e in ENTRIES])
def test_tokens_and_cost_match_the_recording(entry: Entry) -> None:
    interactions = load_interactions(ROOT / entry.saved_file)
    assert len(interactions) == entry.n_interactions
    for index, interaction in enumerate(interactions):
        where = f"{entry.saved_file}[{index}]"
        call = builtin_parse_call(interaction)
        assert call is not None, where
        assert call.provider == entry.provider, where
        expected = expected_for(interaction, entry.provider)
        assert call.model == expected.model, where
        assert call.error_type == expected.error_type, where
        assert call.stream == expected.stream, where
        assert not call.estimated, where
        tokens = (call.input_tokens, call.cached_input_tokens, call.cache_write_tokens, call.output_tokens)
        assert tokens == (expected.tokens or (None, None, None, None)), where
        direct = genai_cost(call, expected, interaction)
        assert direct is not None, f"{where}: genai-prices should know {expected.model}"
        assert price_call(call) == pytest.approx(direct, rel=1e-9, abs=1e-15), where


def test_every_vendored_file_is_indexed() -> None:
    on_disk = {str(p.relative_to(ROOT)) for p in ROOT.rglob("*.yaml")}
    assert on_disk == {e.saved_file for e in ENTRIES}


def test_the_recorded_event_stream_decodes_the_same_with_ours_and_botocores() -> None:
    from pytest_llmops.recording.eventstream import iter_messages

    (stream,) = [e for e in ENTRIES if "stream_empty_text_delta" in e.saved_file]
    (interaction,) = load_interactions(ROOT / stream.saved_file)
    buffer = EventStreamBuffer()
    buffer.add_data(interaction.response.body)
    theirs = [(dict(m.headers), m.payload) for m in buffer]
    ours = [(m.headers, m.payload) for m in iter_messages(interaction.response.body)]
    assert ours == theirs and len(ours) == 9


def test_gemini_thoughts_are_billed_as_output_not_dropped() -> None:
    (interaction,) = load_interactions(
        ROOT / "pydantic__pydantic-ai/tests__models__cassettes__test_google__test_google_model.yaml"
    )
    call = builtin_parse_call(interaction)
    assert call is not None
    assert (call.output_tokens, call.reasoning_tokens) == (9 + 34, 34)
