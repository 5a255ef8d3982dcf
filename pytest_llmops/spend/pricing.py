"""What an `LLMCall` cost: genai-prices' bundled data, overridable from a user YAML file.

Determinism first: prices come only from the data bundled with the installed
genai-prices (never its network auto-update, even if something else in the
process started one), at the time the call was recorded, so a replayed run
costs the same next year. A model with no known price costs None (unknown),
never 0.

Token meanings map one to one onto genai-prices' `Usage`: its `input_tokens`
also counts every input token, cache reads and writes included, and it prices
`cache_read_tokens` / `cache_write_tokens` as the more specific part of them
(`tests/test_pricing.py` works an example through).

genai-prices is imported lazily, on the first call priced by it. Its data (every
provider's models) is built for a lookup and freed, but for the providers looked up
(`_provider_snapshot`): a session keeps a few hundred kB of it, not ~3 MB.
"""

from __future__ import annotations

import builtins
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmops.spend.calls import LLMCall

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, Provider

__all__ = [
    "PriceFileError",
    "PriceTable",
    "UserPrice",
    "context_window",
    "has_dated_prices",
    "is_deprecated",
    "is_known_model",
    "price_call",
    "price_call_at",
    "unknown_models",
]

PER_MILLION = 1_000_000
_PRICE_FIELDS = ("input", "cached_input", "cache_write", "output")
_ENTRY_FIELDS = (*_PRICE_FIELDS, "provider")
_EXAMPLE = "models:\n  my-finetune:\n    input: 0.5\n    output: 1.5"


class PriceFileError(Exception):
    """A price file we cannot use; the message names the file, line and field, and the fix."""


@dataclass(frozen=True, slots=True)
class UserPrice:
    """One model's prices from a user file, in USD per million tokens."""

    input: float
    output: float
    cached_input: float
    cache_write: float
    provider: str | None = None

    def cost(self, call: LLMCall) -> float | None:
        if not _full_usage(call):
            return 0.0 if self.input == self.output == self.cached_input == self.cache_write == 0 else None
        total = call.input_tokens or 0
        cached = call.cached_input_tokens or 0
        written = call.cache_write_tokens or 0
        uncached = total - cached - written
        if uncached < 0:
            return None  # cache counts larger than the input: the recording contradicts itself
        return (
            uncached * self.input
            + cached * self.cached_input
            + written * self.cache_write
            + (call.output_tokens or 0) * self.output
        ) / PER_MILLION


@dataclass(frozen=True)
class PriceTable:
    """User prices by exact model name; they win over genai-prices."""

    models: Mapping[str, UserPrice] = field(default_factory=dict)
    source: str | None = None

    def lookup(self, model: str, provider: str | None) -> UserPrice | None:
        price = self.models.get(model)
        if price is None or (price.provider is not None and price.provider != provider):
            return None
        return price

    @classmethod
    def load(cls, path: str | Path) -> PriceTable:
        """Read a price file (the `llm_prices` ini option); raise `PriceFileError` on any problem."""
        import yaml

        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PriceFileError(f"{path}: cannot read the price file: {exc}") from exc
        try:
            root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or str(exc)
            raise PriceFileError(
                f"{where}: not valid YAML ({problem}). Fix the syntax; expected:\n{_EXAMPLE}"
            ) from exc
        return cls(models=_parse_models(path, root), source=str(path))


def price_call(call: LLMCall, table: PriceTable | None = None, *, at: datetime | None = None) -> float | None:
    """USD cost of `call`, or None when it cannot be known.

    The model is the one the response names (what ran and was billed); the
    request's model is used only when the response names none, so a gateway
    answering with another model is priced as that model, or not at all.
    Requests the provider rejected or failed (4xx/5xx, or an error inside the stream, without usage) are
    not billed: 0.0.
    A call without both input and output counts costs 0.0 only if its model is
    known to be free, else None: a missing count is never taken as 0.
    Estimated counts are priced like recorded ones (`call.estimated` says so). An audio call without token
    usage (whisper-1 reports `extra["audio_seconds"]` or nothing, tts-1 nothing) is None: genai-prices lists
    whisper-1 and tts-1 at $0 a token, and they are billed by the minute and by the character.
    `at` prices the call as if it were made then instead of when it was recorded.
    """
    if not call.has_usage and call.failed:
        return 0.0
    if not call.has_usage and ("audio_seconds" in call.extra or "/audio/" in call.endpoint):
        return None  # audio billed by its length (whisper-1) or characters (tts-1): units no price list here holds
    model = call.model or call.request_model
    if not model:
        return None
    if table is not None:
        user_price = table.lookup(model, call.provider)
        if user_price is not None:
            return user_price.cost(call)
    priced = _resolve(call.provider, model)
    if priced is None:
        return None
    return priced.cost(call, at)


def price_call_at(call: LLMCall, when: datetime, table: PriceTable | None = None) -> float | None:
    """What `call` would cost if it were made at `when`: the same usage, the prices in force then.

    Set beside the cost at the recording time, it shows a price change without a live call. The user's
    price file has no dates, so the models it names cost the same at any time.
    """
    return price_call(call, table, at=when)


def has_dated_prices(call: LLMCall, table: PriceTable | None = None) -> bool:
    """Whether what `call` costs depends on when it is made: genai-prices lists its model's prices (or, for
    a call with a service tier, the tier's prices) with start dates or times of day. When it does not, the
    call costs the same at any date and need not be priced again."""
    model = call.model or call.request_model
    if not model or (table is not None and table.lookup(model, call.provider) is not None):
        return False
    resolved = _resolve(call.provider, model)
    if resolved is None:
        return False
    if price_context(call) is not None:
        if resolved.granularity is None:
            resolved.granularity = _granularity(resolved.info)
        return resolved.granularity != "fixed"
    prices = resolved.info.prices  # without a service tier, genai-prices never applies the tiers' variants
    return isinstance(prices, list) and any(p.constraint is not None for p in prices)


def is_deprecated(model: str, provider: str | None) -> bool:
    """Whether genai-prices' data flags `model` as deprecated by its provider (still served, to be retired).

    The data has no retirement dates: a model it stops listing is unknown, hence unpriced, instead.
    """
    resolved = _resolve(provider, model)
    return resolved is not None and bool(resolved.info.deprecated)


def _full_usage(call: LLMCall) -> bool:
    return call.input_tokens is not None and call.output_tokens is not None


def is_known_model(model: str, provider: str | None, table: PriceTable | None = None) -> bool:
    """Whether `model` has a price, in `table` or in genai-prices."""
    if table is not None and table.lookup(model, provider) is not None:
        return True
    return _resolve(provider, model) is not None


def context_window(model: str, provider: str | None) -> int | None:
    """The model's context window in tokens according to genai-prices, or None."""
    resolved = _resolve(provider, model)
    window = resolved.info.context_window if resolved is not None else None
    return window if isinstance(window, int) and window > 0 else None


def unknown_models(calls: Iterable[LLMCall], table: PriceTable | None = None) -> list[str]:
    """Models, sorted, that calls with usage were made to but that have no price: one warning per session."""
    seen: set[tuple[str, str | None]] = set()
    unknown: set[str] = set()
    for call in calls:
        model = call.model or call.request_model
        if not model or not call.has_usage or (model, call.provider) in seen:
            continue
        seen.add((model, call.provider))
        if not is_known_model(model, call.provider, table):
            unknown.add(model)
    return sorted(unknown)


# --- genai-prices ---------------------------------------------------------------------------------

# The usage keys we hand genai-prices, and one probe usage each for `_Coefficients`:
# a million of the unit, with its parents set so the probe is valid usage.
_PROBES: dict[str, dict[str, int]] = {
    "input_tokens": {"input_tokens": PER_MILLION},
    "cache_read_tokens": {"input_tokens": PER_MILLION, "cache_read_tokens": PER_MILLION},
    "cache_write_tokens": {"input_tokens": PER_MILLION, "cache_write_tokens": PER_MILLION},
    "cache_write_1h_tokens": {
        "input_tokens": PER_MILLION,
        "cache_write_tokens": PER_MILLION,
        "cache_write_1h_tokens": PER_MILLION,
    },
    "output_tokens": {"output_tokens": PER_MILLION},
    "web_searches": {"web_searches": PER_MILLION},
}


def genai_usage(call: LLMCall) -> dict[str, int]:
    """`call`'s usage as genai-prices `Usage` keyword arguments (same meanings, so no arithmetic)."""
    usage = {
        "input_tokens": call.input_tokens or 0,
        "cache_read_tokens": call.cached_input_tokens or 0,
        "cache_write_tokens": call.cache_write_tokens or 0,
        "output_tokens": call.output_tokens or 0,
    }
    for key in ("cache_write_1h_tokens", "web_searches", "input_audio_tokens"):
        value = call.extra.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            usage[key] = value
    return usage


def price_context(call: LLMCall) -> dict[str, str] | None:
    """genai-prices' request context: the service tier the response reports (flex, priority...)."""
    tier = call.extra.get("service_tier")
    return {"service_tier": tier} if isinstance(tier, str) else None


@dataclass(slots=True)
class _Coefficients:
    """A model's prices at one time as an affine function of the usage counts.

    genai-prices takes ~80 µs a call; pricing thousands of interactions (the
    `inspect` command) needs far less. For prices without tiers, cost is affine
    in the counts, so genai-prices itself is asked once per price set (one probe
    per unit) and the result reused. Tiered prices are always computed directly.
    """

    base: float
    per_unit: dict[str, float]

    def cost(self, usage: Mapping[str, int]) -> float | None:
        c = self.per_unit
        cache_read = usage["cache_read_tokens"]
        cache_write = usage["cache_write_tokens"]
        write_1h = usage.get("cache_write_1h_tokens", 0)
        uncached = usage["input_tokens"] - cache_read - cache_write
        write_5m = cache_write - write_1h
        if uncached < 0 or write_5m < 0:
            return None  # genai-prices rejects such usage: the recording contradicts itself
        return self.base + (
            uncached * c["input_tokens"]
            + cache_read * c["cache_read_tokens"]
            + write_5m * c["cache_write_tokens"]
            + write_1h * c["cache_write_1h_tokens"]
            + usage["output_tokens"] * c["output_tokens"]
            + usage.get("web_searches", 0) * c["web_searches"]
        )


@dataclass(slots=True)
class _GenaiModel:
    provider: Provider
    info: ModelInfo
    coefficients: dict[Any, _Coefficients | None] = field(default_factory=dict)
    granularity: str | None = None

    def cost(self, call: LLMCall, at: datetime | None = None) -> float | None:
        when = at if at is not None else _timestamp(call.recorded_at)
        context = price_context(call)
        usage = genai_usage(call)
        # Audio input tokens have a price of their own, which the affine form does not hold.
        coefficients = None if "input_audio_tokens" in usage else self._coefficients(when, context)
        if coefficients is not None:
            return coefficients.cost(usage) if _full_usage(call) else _zero_or_none(coefficients)
        if not _full_usage(call):
            return None
        return self._direct(usage, when, context)

    def _direct(
        self, usage: Mapping[str, int], when: datetime, context: dict[str, str] | None
    ) -> float | None:
        from genai_prices import Usage

        try:
            result = self.info.calc_price(
                Usage(**usage), self.provider, genai_request_timestamp=when, price_context=context
            )
        except ValueError:
            return None  # usage genai-prices calls invalid (e.g. more cached than input tokens)
        return float(result.total_price)

    def _coefficients(self, when: datetime, context: dict[str, str] | None) -> _Coefficients | None:
        """The affine form of this model's prices at `when`, or None when they have tiers.

        Cached per span of time over which genai-prices' answer cannot change:
        forever for fixed prices, a UTC day for prices with start dates, the exact
        instant for time-of-day prices (e.g. off-peak discounts).
        """
        if self.granularity is None:
            self.granularity = _granularity(self.info)
        if self.granularity == "fixed":
            period: Any = None
        elif self.granularity == "day":
            period = when.astimezone(UTC).date()
        else:
            period = when
        key = (period, tuple(sorted(context.items())) if context else ())
        try:
            return self.coefficients[key]
        except KeyError:
            pass
        from genai_prices.types import TieredPrices

        prices = self.info.get_prices(when, context)
        tiered = any(isinstance(v, TieredPrices) for v in vars(prices).values())
        found = None if tiered else self._probe(when, context)
        self.coefficients[key] = found
        return found

    def _probe(self, when: datetime, context: dict[str, str] | None) -> _Coefficients | None:
        zero = dict.fromkeys(("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"), 0)
        base = self._direct(zero, when, context)
        if base is None:
            return None
        per_unit: dict[str, float] = {}
        for unit, probe in _PROBES.items():
            total = self._direct({**zero, **probe}, when, context)
            if total is None:
                return None
            per_unit[unit] = (total - base) / PER_MILLION
        return _Coefficients(base=base, per_unit=per_unit)


def _granularity(info: ModelInfo) -> str:
    """How finely the time of a call can change this model's prices: "fixed", "day" or "instant"."""
    from genai_prices.types import StartDateConstraint

    constraints = [c.constraint for c in info.prices] if isinstance(info.prices, list) else []
    constraints += [v.constraint for v in info.price_variants or ()]
    constraints = [c for c in constraints if c is not None]
    if not constraints:
        return "fixed"
    if all(isinstance(c, StartDateConstraint) for c in constraints):
        return "day"
    return "instant"


def _zero_or_none(coefficients: _Coefficients) -> float | None:
    free = coefficients.base == 0 and all(v == 0 for v in coefficients.per_unit.values())
    return 0.0 if free else None


_MISSING = object()
GENAI_PROVIDER_IDS = {"gemini": "google", "bedrock": "aws"}
"""Our provider names where genai-prices uses another id."""
SELF_HOSTED = frozenset({"vllm", "ollama"})
"""Servers the user runs: no public price list, so never priced by a same-named model elsewhere."""
_resolved: dict[tuple[str | None, str], _GenaiModel | None] = {}


def _resolve(provider: str | None, model: str) -> _GenaiModel | None:
    """genai-prices' model for (provider, model), cached, misses included."""
    key = (provider, model)
    found = _resolved.get(key, _MISSING)
    if found is _MISSING:
        found = _lookup(provider, model)
        _resolved[key] = found
    return found  # type: ignore[return-value]


def _lookup(provider: str | None, model: str) -> _GenaiModel | None:
    if provider in SELF_HOSTED:
        return None
    provider_id = GENAI_PROVIDER_IDS.get(provider, provider) if provider is not None else None
    snapshot = _provider_snapshot(provider_id) if provider_id is not None else None
    if snapshot is None:  # no provider, or one genai-prices does not know: match by model name alone
        snapshot, provider_id = _snapshot(), None
    try:
        found_provider, info = snapshot.find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None
    return _GenaiModel(found_provider, info)


_by_provider: dict[str, DataSnapshot | None] = {}


def _provider_snapshot(provider_id: str) -> DataSnapshot | None:
    """A snapshot of the one provider genai-prices finds for `provider_id`, with the providers it falls
    back to for models it does not list; None when genai-prices knows no such provider. Cached.

    genai-prices' data is every provider's models, ~3 MB of objects once built; a session prices the
    models of one or two providers. The bundled data is built once per new provider id, the providers
    needed are kept and the rest is freed. Lookups in this snapshot find what they find in the whole
    data: the provider comes first (`find_provider` takes the first match) and each fallback is the
    first provider with its id, as `Provider.find_model` takes it.
    """
    if provider_id in _by_provider:
        return _by_provider[provider_id]
    from genai_prices.data_snapshot import DataSnapshot

    found: DataSnapshot | None = None
    if provider_id.lower() != "litellm":  # genai-prices reads the provider from a litellm model name
        providers = _bundled_providers()
        try:
            provider = DataSnapshot(providers=providers, from_auto_update=False).find_provider(
                None, provider_id, None
            )
        except LookupError:
            provider = None
        if provider is not None:
            kept = [provider]
            for fallback in provider.fallback_model_providers or ():
                first = next((p for p in providers if p.id == fallback), None)
                if first is not None and all(first is not p for p in kept):
                    kept.append(first)
            if len({p.id for p in kept}) == len(kept):  # else keep every provider (not in the data today)
                found = DataSnapshot(providers=kept, from_auto_update=False)
            else:
                found = _snapshot()
    _by_provider[provider_id] = found
    return found


@lru_cache(maxsize=1)
def _snapshot() -> DataSnapshot:
    """Our own snapshot of every provider in the bundled data: never the auto-updated one, never
    fetched. Built only when a lookup needs them all (a call with no provider genai-prices knows)."""
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=_bundled_providers(), from_auto_update=False)


def _bundled_providers() -> list[Provider]:
    """genai-prices' bundled data (its `genai_prices.data.providers`), built afresh unless that module
    is imported already: its compiled code (the `.pyc` the import system keeps) is run in a namespace of
    our own, so the providers no lookup kept are freed instead of living in `sys.modules`."""
    module = sys.modules.get(_DATA_MODULE)
    if module is not None:
        return module.providers  # type: ignore[no-any-return]
    import importlib.util

    spec = importlib.util.find_spec(_DATA_MODULE)
    get_code = getattr(spec.loader, "get_code", None) if spec is not None else None
    if spec is None or get_code is None:
        from genai_prices.data import providers  # an unusual install: import it as any module

        return providers
    namespace: dict[str, Any] = {
        "__name__": spec.name,
        "__spec__": spec,
        "__package__": spec.parent,
        "__file__": spec.origin,
        "__builtins__": builtins,
    }
    exec(get_code(spec.name), namespace)
    return namespace["providers"]  # type: ignore[no-any-return]


_DATA_MODULE = "genai_prices.data"


@lru_cache(maxsize=4096)
def _timestamp(recorded_at: str | None) -> datetime:
    """When to price at: the recording time; for a call with none (or an unreadable one), the
    time this process first needed it, so one session prices such calls consistently."""
    if recorded_at:
        try:
            when = datetime.fromisoformat(recorded_at)
        except ValueError:
            pass
        else:
            return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return datetime.now(tz=UTC)


# --- the user's price file ------------------------------------------------------------------------


def _parse_models(path: Path, root: Any) -> dict[str, UserPrice]:
    import yaml

    if root is None:
        raise PriceFileError(f"{path}:1: the price file is empty. Fix: add a `models:` mapping:\n{_EXAMPLE}")
    if not isinstance(root, yaml.MappingNode):
        raise PriceFileError(
            f"{_at(path, root)}: expected a mapping with a `models:` key. Fix: write it as\n{_EXAMPLE}"
        )
    models_node = None
    for key, value in root.value:
        if _scalar(key) == "models":
            models_node = value
        else:
            raise PriceFileError(
                f"{_at(path, key)}: unknown top-level key {_scalar(key)!r}. "
                "Fix: put every entry under `models:`."
            )
    if models_node is None:
        raise PriceFileError(f"{path}:1: no `models:` key. Fix: write it as\n{_EXAMPLE}")
    if not isinstance(models_node, yaml.MappingNode):
        if isinstance(models_node, yaml.ScalarNode) and models_node.value in ("", "~", "null"):
            return {}
        raise PriceFileError(
            f"{_at(path, models_node)}: `models` must map model names to prices. Fix: write it as\n{_EXAMPLE}"
        )
    models: dict[str, UserPrice] = {}
    for name_node, entry_node in models_node.value:
        name = _scalar(name_node)
        if not name:
            raise PriceFileError(f"{_at(path, name_node)}: a model name must be a non-empty string.")
        if name in models:
            raise PriceFileError(
                f"{_at(path, name_node)}: models.{name} is listed twice. Fix: keep one entry per model name."
            )
        models[name] = _parse_entry(path, name, entry_node, _at(path, name_node))
    return models


def _parse_entry(path: Path, name: str, node: Any, name_at: str) -> UserPrice:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise PriceFileError(
            f"{name_at}: models.{name} must be a mapping of prices in USD per million tokens. "
            f"Fix: write e.g.\n  {name}:\n    input: 0.5\n    output: 1.5"
        )
    values: dict[str, float] = {}
    provider: str | None = None
    for key_node, value_node in node.value:
        key = _scalar(key_node)
        if key not in _ENTRY_FIELDS:
            raise PriceFileError(
                f"{_at(path, key_node)}: models.{name}.{key}: unknown field. "
                f"Fix: use only {', '.join(_ENTRY_FIELDS)}."
            )
        if key == "provider":
            provider = _scalar(value_node)
            if not provider:
                raise PriceFileError(
                    f"{_at(path, value_node)}: models.{name}.provider must be a provider name such as "
                    "`openai` or `anthropic`. Fix: set it, or remove it to match every provider."
                )
            continue
        values[key] = _number(path, f"models.{name}.{key}", value_node)
    for required in ("input", "output"):
        if required not in values:
            raise PriceFileError(
                f"{name_at}: models.{name}.{required} is missing. "
                f"Fix: add `{required}: <USD per million tokens>` (0 for free)."
            )
    return UserPrice(
        input=values["input"],
        output=values["output"],
        cached_input=values.get("cached_input", values["input"]),
        cache_write=values.get("cache_write", values["input"]),
        provider=provider,
    )


def _number(path: Path, where: str, node: Any) -> float:
    import yaml

    number: float | None = None
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith((":int", ":float")):
        try:
            number = float(node.value.replace("_", ""))
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        shown = node.value if isinstance(node, yaml.ScalarNode) else type(node).__name__.replace("Node", "")
        raise PriceFileError(
            f"{_at(path, node)}: {where}: expected a non-negative number of USD per million tokens, "
            f"got {shown!r}. Fix: write a plain number, e.g. `{where.rsplit('.', 1)[-1]}: 0.5`."
        )
    return number


def _scalar(node: Any) -> str:
    import yaml

    return str(node.value) if isinstance(node, yaml.ScalarNode) else ""


def _at(path: Path, node: Any) -> str:
    return f"{path}:{node.start_mark.line + 1}"
