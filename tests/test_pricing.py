"""Pricing: genai-prices semantics, time of recording, caching, the user price file."""

from __future__ import annotations

import random
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from genai_prices.data import providers as genai_providers
from genai_prices.types import ModelInfo, ModelPrice, StartDateConstraint, TieredPrices

from pytest_llmops.spend import pricing
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.pricing import PriceFileError, PriceTable, price_call, unknown_models
from tests.conftest import python_output

WHEN = "2025-06-01T12:00:00Z"


def call_of(
    model: str | None,
    provider: str = "openai",
    *,
    inp: int | None = 1000,
    cached: int | None = 0,
    write: int | None = 0,
    out: int | None = 100,
    status: int = 200,
    recorded_at: str | None = WHEN,
    **extra: Any,
) -> LLMCall:
    return LLMCall(
        provider=provider,
        endpoint="/v1/x",
        model=model,
        status=status,
        input_tokens=inp,
        cached_input_tokens=cached,
        cache_write_tokens=write,
        output_tokens=out,
        recorded_at=recorded_at,
        extra=dict(extra),
    )


def direct(call: LLMCall, model: str | None = None) -> float:
    """genai-prices called directly for `call`'s usage."""
    kwargs = {
        "input_tokens": call.input_tokens or 0,
        "cache_read_tokens": call.cached_input_tokens or 0,
        "cache_write_tokens": call.cache_write_tokens or 0,
        "output_tokens": call.output_tokens or 0,
    }
    if call.extra.get("cache_write_1h_tokens"):
        kwargs["cache_write_1h_tokens"] = call.extra["cache_write_1h_tokens"]
    tier = call.extra.get("service_tier")
    result = calc_price(
        Usage(**kwargs),
        model or call.model or "",
        provider_id=call.provider,
        genai_request_timestamp=datetime.fromisoformat(call.recorded_at or WHEN),
        price_context={"service_tier": tier} if tier else None,
    )
    return float(result.total_price)


def genai_model(provider_id: str, model: str) -> ModelInfo:
    provider = next(p for p in genai_providers if p.id == provider_id)
    found = provider.find_model(model)
    assert found is not None
    return found


def find_models(
    predicate: Any, provider_ids: tuple[str, ...] = ("openai", "anthropic")
) -> list[tuple[str, ModelInfo]]:
    return [(p.id, m) for p in genai_providers if p.id in provider_ids for m in p.models if predicate(m)]


# --- genai-prices' usage semantics ----------------------------------------------------------------


def test_worked_example_genai_input_tokens_include_cache_reads_and_writes() -> None:
    """10,000 input tokens of which 6,000 read from and 1,000 written to the cache, and 500 output tokens.

    If genai-prices' `input_tokens` counted only uncached tokens (Anthropic's
    meaning) it would charge 10,000 at the full input price on top of the cache
    prices; it charges the 3,000 uncached ones, as our normalized meaning needs.
    """
    when = datetime(2025, 6, 1, tzinfo=UTC)
    prices = genai_model("anthropic", "claude-3-5-sonnet-20241022").get_prices(when)
    assert isinstance(prices, ModelPrice)
    inp, read, write, out = (
        Decimal(getattr(prices, k))
        for k in ("input_mtok", "cache_read_mtok", "cache_write_mtok", "output_mtok")
    )
    by_hand = (3_000 * inp + 6_000 * read + 1_000 * write + 500 * out) / 1_000_000
    anthropic_meaning = (10_000 * inp + 6_000 * read + 1_000 * write + 500 * out) / 1_000_000
    assert by_hand != anthropic_meaning

    usage = Usage(input_tokens=10_000, cache_read_tokens=6_000, cache_write_tokens=1_000, output_tokens=500)
    assert (
        calc_price(
            usage, "claude-3-5-sonnet-20241022", provider_id="anthropic", genai_request_timestamp=when
        ).total_price
        == by_hand
    )

    call = call_of("claude-3-5-sonnet-20241022", "anthropic", inp=10_000, cached=6_000, write=1_000, out=500)
    assert price_call(call) == pytest.approx(float(by_hand), rel=1e-12)


def test_one_hour_cache_writes_are_priced_as_such() -> None:
    model = "claude-sonnet-4-20250514"
    five_minutes = call_of(model, "anthropic", inp=3000, cached=0, write=2000, out=10)
    one_hour = call_of(model, "anthropic", inp=3000, cached=0, write=2000, out=10, cache_write_1h_tokens=2000)
    assert price_call(one_hour) == pytest.approx(direct(one_hour), rel=1e-9)
    assert price_call(one_hour) != price_call(five_minutes)


def test_fast_path_equals_genai_prices_for_many_usages() -> None:
    rng = random.Random(20250601)
    tiered = find_models(
        lambda m: (
            isinstance(m.prices, ModelPrice)
            and any(isinstance(v, TieredPrices) for v in vars(m.prices).values())
        )
    )
    cases = [
        ("openai", "gpt-4o-2024-08-06", None),
        ("openai", "gpt-4o-mini", None),
        ("openai", "gpt-5-nano", "flex"),
        ("openai", "gpt-5-nano", "priority"),
        ("openai", "text-embedding-3-small", None),
        ("anthropic", "claude-3-5-sonnet-20240620", "standard"),
        ("anthropic", "claude-haiku-4-5-20251001", None),
        ("anthropic", "claude-sonnet-4-20250514", None),
    ]
    cases += [(provider, m.id, None) for provider, m in tiered[:2]]
    start = datetime(2023, 6, 1, tzinfo=UTC)
    for provider, model, tier in cases:
        for _ in range(40):
            total = rng.choice([0, 1, 57, 4_000, 150_000, 260_000])
            cached = rng.randint(0, total)
            write = rng.randint(0, total - cached) if provider == "anthropic" else 0
            extra: dict[str, Any] = {"service_tier": tier} if tier else {}
            if write and rng.random() < 0.5:
                extra["cache_write_1h_tokens"] = rng.randint(0, write)
            when = (start + timedelta(hours=rng.randint(0, 24 * 365 * 3))).isoformat()
            call = call_of(
                model,
                provider,
                inp=total,
                cached=cached,
                write=write,
                out=rng.randint(0, 9000),
                recorded_at=when,
                **extra,
            )
            assert price_call(call) == pytest.approx(direct(call), rel=1e-9, abs=1e-15), (model, call)


def test_priced_at_the_time_of_recording() -> None:
    changed = find_models(
        lambda m: (
            isinstance(m.prices, list)
            and any(isinstance(c.constraint, StartDateConstraint) for c in m.prices)
        )
    )
    assert changed, "genai-prices has no OpenAI/Anthropic price change to test with"
    provider, model = changed[0]
    assert isinstance(model.prices, list)
    start = next(
        c.constraint.start_date for c in model.prices if isinstance(c.constraint, StartDateConstraint)
    )
    assert isinstance(start, date)
    before = call_of(
        model.id,
        provider,
        inp=1_000_000,
        out=1_000_000,
        recorded_at=f"{start - timedelta(days=2)}T12:00:00+00:00",
    )
    after = call_of(model.id, provider, inp=1_000_000, out=1_000_000, recorded_at=f"{start}T12:00:00Z")
    assert price_call(before) == pytest.approx(direct(before))
    assert price_call(after) == pytest.approx(direct(after))
    assert price_call(before) != price_call(after)


def test_time_of_day_prices_follow_the_recorded_hour() -> None:
    model = "deepseek-chat"
    calls = [call_of(model, "deepseek", recorded_at=f"2025-06-01T{h:02d}:30:00Z") for h in range(24)]
    costs = {price_call(c) for c in calls}
    assert len(costs) > 1  # peak and off-peak
    for c in calls:
        assert price_call(c) == pytest.approx(direct(c), rel=1e-9)


# --- unknown, free, rejected ----------------------------------------------------------------------


def test_unknown_model_costs_none_never_zero() -> None:
    assert price_call(call_of("moonshotai/kimi-k2")) is None
    assert price_call(call_of("no-such-model-xyz", "anthropic")) is None
    assert price_call(call_of(None)) is None


def test_the_response_model_is_priced_and_the_request_model_only_when_none_is_named() -> None:
    call = call_of("moonshotai/kimi-k2")
    call.request_model = "gpt-4.1-mini"
    assert price_call(call) is None
    call.model = None
    assert price_call(call) == pytest.approx(direct(call, "gpt-4.1-mini"))


def test_free_model_without_usage_costs_zero_paid_one_is_unknown() -> None:
    moderation = call_of("omni-moderation-latest", inp=None, cached=None, write=None, out=None)
    assert price_call(moderation) == 0.0
    chat = call_of("gpt-4o", inp=None, cached=None, write=None, out=None)
    assert price_call(chat) is None


def test_a_missing_count_is_never_priced_as_zero() -> None:
    assert price_call(call_of("gpt-4o", inp=None, cached=None, write=None, out=50)) is None
    assert price_call(call_of("gpt-4o", inp=50, out=None)) is None


def test_rejected_requests_are_not_billed() -> None:
    for status in (400, 401, 429, 529):
        rejected = call_of("gpt-4o", status=status, inp=None, cached=None, write=None, out=None)
        assert price_call(rejected) == 0.0


def test_contradictory_usage_is_unknown_not_an_exception() -> None:
    assert price_call(call_of("gpt-4o", inp=10, cached=50)) is None
    assert price_call(call_of("claude-3-5-sonnet-20240620", "anthropic", inp=10, cached=5, write=20)) is None


def test_a_provider_genai_prices_does_not_know_matches_by_model() -> None:
    call = call_of("gpt-4o-mini", "my-proxy")
    assert price_call(call) == pytest.approx(direct(call_of("gpt-4o-mini", "openai")))


# --- speed and isolation --------------------------------------------------------------------------


def test_lookups_and_probes_are_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[tuple[Any, ...]] = []
    real_lookup = pricing._lookup

    def counting(*args: Any) -> Any:
        lookups.append(args)
        return real_lookup(*args)

    monkeypatch.setattr(pricing, "_resolved", {})
    monkeypatch.setattr(pricing, "_lookup", counting)
    probes: list[int] = []
    real_probe = pricing._GenaiModel._probe

    def counting_probe(self: Any, *args: Any) -> Any:
        probes.append(1)
        return real_probe(self, *args)

    monkeypatch.setattr(pricing._GenaiModel, "_probe", counting_probe)
    for i in range(2000):
        price_call(call_of("gpt-4o-mini", inp=1000 + i, out=i))
        price_call(call_of("not-a-model"))
    assert len(lookups) == 2
    assert len(probes) == 1


def test_pricing_uses_bundled_data_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("pricing tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(pricing, "_resolved", {})
    pricing._snapshot.cache_clear()
    assert price_call(call_of("gpt-4o")) == pytest.approx(direct(call_of("gpt-4o")))
    assert pricing._snapshot().from_auto_update is False
    assert not [t for t in threading.enumerate() if t.name.startswith("genai_prices")]


def test_each_provider_alone_finds_what_the_whole_data_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups by provider use that provider (and its fallbacks) alone: the same model as a lookup in
    every provider, for every model genai-prices lists, under each provider and under the others."""
    from genai_prices.data_snapshot import DataSnapshot

    whole = DataSnapshot(providers=genai_providers, from_auto_update=False)
    monkeypatch.setattr(pricing, "_resolved", {})
    monkeypatch.setattr(pricing, "_by_provider", {})
    names = sorted({m.id for p in genai_providers for m in p.models})
    ours = {"gemini": "google", "bedrock": "aws"}
    compared = 0
    for provider in [*sorted({p.id for p in genai_providers}), *ours, "unknown-proxy", "litellm"]:
        provider_id = ours.get(provider, provider)
        try:
            whole.find_provider(None, provider_id, None)
        except LookupError:
            provider_id = None
        for model in (
            names[::31] + [m.id for p in genai_providers if p.id == provider_id for m in p.models][::3]
        ):
            try:
                expected = whole.find_provider_model(model, None, provider_id, None)
            except LookupError:
                expected = None
            found = pricing._lookup(provider, model)
            got = None if found is None else (found.provider, found.info)
            assert got == expected, (provider, model)
            compared += expected is not None
    assert compared > 500
    assert pricing._by_provider["azure"] is not None
    assert [p.id for p in pricing._by_provider["azure"].providers][:2] == ["azure", "openai"]


def test_a_session_keeps_only_the_providers_it_priced() -> None:
    """genai-prices' data is built for the lookup and freed but for the provider priced (a fresh process:
    this one has imported `genai_prices.data` already, which the lookups then share)."""
    code = (
        "import gc, sys\n"
        "from pytest_llmops.spend import pricing\n"
        "from pytest_llmops.spend.calls import LLMCall\n"
        "call = LLMCall(provider='openai', endpoint='/v1/chat/completions', model='gpt-4o-mini', status=200,"
        " input_tokens=1000, output_tokens=10, recorded_at='2025-06-01T12:00:00Z')\n"
        "assert pricing.price_call(call) > 0\n"
        "from genai_prices.types import Provider\n"
        "gc.collect()\n"
        "print('genai_prices.data' in sys.modules, sorted(o.id for o in gc.get_objects() if isinstance(o, Provider)))\n"
    )
    assert python_output(code) == "False ['openai']"


def test_importing_our_modules_imports_no_heavy_packages() -> None:
    code = (
        "import sys\n"
        "import pytest_llmops.spend.pricing, pytest_llmops.spend.providers, pytest_llmops.cli.inspect\n"
        "heavy = {'genai_prices', 'openai', 'anthropic', 'httpx', 'httpx2', 'vcr', 'numpy', 'scipy',"
        " 'rapidfuzz'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    assert python_output(code) == "[]"


# --- the user's price file ------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_price_file_overrides_genai_prices(tmp_path: Path) -> None:
    table = PriceTable.load(
        write(
            tmp_path,
            """\
# USD per million tokens
models:
  gpt-4o-mini:
    input: 2
    cached_input: 1
    output: 10
  my-finetune:
    input: 0.5
    output: 1.5
  claude-only:
    provider: anthropic
    input: 3
    cache_write: 3.75
    cached_input: 0.3
    output: 15
  free-local:
    input: 0
    output: 0
""",
        )
    )
    call = call_of("gpt-4o-mini", inp=1000, cached=400, out=100)
    assert price_call(call, table) == pytest.approx((600 * 2 + 400 * 1 + 100 * 10) / 1e6)
    assert price_call(call) != price_call(call, table)
    # cached_input and cache_write default to the input price
    finetune = call_of("my-finetune", "anthropic", inp=1000, cached=200, write=300, out=10)
    assert price_call(finetune, table) == pytest.approx((1000 * 0.5 + 10 * 1.5) / 1e6)
    restricted = call_of("claude-only", "anthropic", inp=1000, cached=100, write=200, out=10)
    assert price_call(restricted, table) == pytest.approx((700 * 3 + 100 * 0.3 + 200 * 3.75 + 10 * 15) / 1e6)
    assert price_call(call_of("claude-only", "openai"), table) is None  # restricted to anthropic
    assert price_call(call_of("free-local"), table) == 0.0
    assert price_call(call_of("free-local", inp=None, cached=None, write=None, out=None), table) == 0.0
    assert unknown_models([call_of("my-finetune"), call_of("free-local")], table) == []


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        ("models:\n  m:\n    input: cheap\n    output: 1\n", 3, ["models.m.input", "'cheap'", "Fix"]),
        ("models:\n  m:\n    input: '0.5'\n    output: 1\n", 3, ["models.m.input", "'0.5'", "Fix"]),
        ("models:\n  m:\n    input: -1\n    output: 1\n", 3, ["models.m.input", "non-negative", "Fix"]),
        ("models:\n  m:\n    input: yes\n    output: 1\n", 3, ["models.m.input", "Fix"]),
        ("models:\n  m:\n    input: .nan\n    output: 1\n", 3, ["models.m.input", "Fix"]),
        ("models:\n  m:\n    input: 1\n", 2, ["models.m.output is missing", "Fix: add `output:"]),
        (
            "models:\n  m:\n    input: 1\n    outptu: 2\n",
            4,
            ["models.m.outptu", "unknown field", "Fix: use only"],
        ),
        (
            "models:\n  m:\n    input: 1\n    output: 1\n  m:\n    input: 2\n    output: 2\n",
            5,
            ["models.m is listed twice", "Fix"],
        ),
        ("models:\n  m: 0.5\n", 2, ["models.m must be a mapping", "Fix"]),
        ("models:\n  m:\n    provider: ''\n    input: 1\n    output: 1\n", 3, ["models.m.provider", "Fix"]),
        ("model:\n  m:\n    input: 1\n", 1, ["unknown top-level key 'model'", "Fix"]),
        ("- m\n", 1, ["expected a mapping", "Fix"]),
        ("models: 3\n", 1, ["`models` must map", "Fix"]),
        ("models:\n  m: [1, 2\n", 3, ["not valid YAML", "Fix"]),
        ("# only a comment\n", 1, ["empty", "Fix"]),
    ],
)
def test_bad_price_files_name_file_line_field_and_fix(
    tmp_path: Path, text: str, line: int, fragments: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PriceFileError) as info:
        PriceTable.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}:"), message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_price_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match="cannot read the price file"):
        PriceTable.load(tmp_path / "nope.yaml")


def test_integers_and_empty_models_are_fine(tmp_path: Path) -> None:
    assert PriceTable.load(write(tmp_path, "models:\n")).models == {}
    table = PriceTable.load(write(tmp_path, "models:\n  m:\n    input: 1\n    output: 2_000\n"))
    assert table.models["m"].output == 2000.0


# --- unknown models -------------------------------------------------------------------------------


def test_unknown_models_lists_each_unpriced_model_once() -> None:
    no_usage = call_of("ghost-model", inp=None, cached=None, write=None, out=None)
    calls = [
        call_of("moonshotai/kimi-k2"),
        call_of("gpt-4o"),
        call_of("moonshotai/kimi-k2"),
        call_of("another/unknown", "anthropic"),
        no_usage,  # nothing to price, so nothing missing
        call_of(None),
    ]
    assert unknown_models(calls) == ["another/unknown", "moonshotai/kimi-k2"]
