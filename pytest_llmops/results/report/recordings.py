"""The "Recordings" section: how old the replayed recordings are, and what they would cost today.

Offline drift, without a live call: a cassette recorded long ago may no longer be what the provider
answers, and a replayed call is priced at its recording time (so a replay costs the same next year), which
hides a price change. Here every replayed call is priced a second time, at the report's date, from the
same bundled genai-prices data; the models that data flags as deprecated, or cannot price at all, are
named.

Pure apart from genai-prices' bundled data: the date comes in as `as_of`, never from the clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from pytest_llmops.results.records import TestRecord
from pytest_llmops.results.report.figures import model_of
from pytest_llmops.results.report.model import PRICE_EPSILON, AgedCassette, ModelPrices, Recordings
from pytest_llmops.spend.calls import LLMCall

if TYPE_CHECKING:
    from pytest_llmops.spend.pricing import PriceTable

__all__ = ["RERECORD_HINT", "change_text", "model_notes", "recorded_date", "summarize"]

RERECORD_HINT = (
    "re-record their tests (pytest --llm-eval --llm-record=rewrite TEST), review the new answers, "
    "then update the baseline"
)


def recorded_date(recorded_at: str | None) -> date | None:
    """The UTC date of a `recorded_at` stamp; None when there is none or it cannot be read."""
    if not recorded_at:
        return None
    try:
        when = datetime.fromisoformat(recorded_at)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).date()


def change_text(then: float | None, now: float | None) -> str:
    """How a cost moved, as every printer shows it: "-80%", "+$0.0001" from $0, "" when unknown or equal."""
    from pytest_llmops.results.report import numbers as fmt

    if then is None or now is None:
        return ""
    delta = now - then
    if abs(delta) <= PRICE_EPSILON * max(abs(then), 1e-12):
        return "±0"
    if then:
        return fmt.signed_pct(delta / then)
    return ("+" if delta > 0 else "-") + fmt.usd(abs(delta))


def model_notes(prices: ModelPrices) -> str:
    """What else to know about a model: deprecated by its provider, or no price today."""
    notes = []
    if prices.deprecated:
        notes.append("deprecated")
    if prices.cost_now_usd is None:
        notes.append("no price today")
    return ", ".join(notes)


PRICE_HEADERS = ["model", "provider", "calls", "cost when recorded", "cost today", "change"]


def price_cells(prices: ModelPrices) -> list[Any]:
    """A model's row of the today's-prices table after its name, as Markdown and HTML print it (each printer
    formats the name and the notes column its own way)."""
    from pytest_llmops.results.report import numbers as fmt

    return [
        prices.provider,
        prices.calls,
        fmt.usd(prices.cost_then_usd),
        fmt.usd(prices.cost_now_usd),
        change_text(prices.cost_then_usd, prices.cost_now_usd),
    ]


def summarize(
    records: Iterable[TestRecord],
    *,
    as_of: datetime | None,
    max_age_days: int | None = None,
    prices: PriceTable | None = None,
) -> Recordings:
    """The section for these records, at `as_of` (None: no date to compare with, an empty section).

    Only replayed calls count (a live call was just made), the judge's too: its recordings age like the
    app's. A cassette's age is that of its oldest recording replayed in this run: appending new
    recordings (`new_episodes`) does not make the old ones younger.
    """
    if as_of is None:
        return Recordings()
    today = as_of.astimezone(UTC).date()
    section = Recordings(as_of=today.isoformat(), max_age_days=max_age_days)
    replayed: list[LLMCall] = []
    tests_of: dict[str, set[str]] = {}
    for record in records:
        for call in record.calls:
            if call.source != "replayed":
                continue
            replayed.append(call)
            if call.cassette:
                tests_of.setdefault(call.cassette, set()).add(record.nodeid)
    section.replayed = len(replayed)
    section.cassettes = len(tests_of)
    _ages(section, replayed, tests_of, today)
    _prices(section, replayed, as_of, prices)
    return section


def _ages(section: Recordings, calls: Sequence[LLMCall], tests_of: dict[str, set[str]], today: date) -> None:
    dated: dict[str, list[tuple[date, str]]] = {}
    undated: set[str] = set()
    oldest: tuple[date, str] | None = None
    for call in calls:
        day = recorded_date(call.recorded_at)
        if day is None or call.recorded_at is None:
            section.undated += 1
            if call.cassette:
                undated.add(call.cassette)
            continue
        stamp = (day, call.recorded_at)
        if oldest is None or stamp < oldest:
            oldest = stamp
        if call.cassette:
            dated.setdefault(call.cassette, []).append(stamp)
    section.oldest = oldest[1] if oldest else None
    section.undated_cassettes = sorted(undated)
    limit = section.max_age_days
    if limit is None:
        return
    for path, stamps in dated.items():
        first_day, first_stamp = min(stamps)
        age = (today - first_day).days
        if age <= limit:
            continue
        section.too_old.append(
            AgedCassette(
                path=path,
                oldest=first_stamp,
                age_days=age,
                recordings=len(stamps),
                too_old=sum(1 for day, _ in stamps if (today - day).days > limit),
                tests=sorted(tests_of.get(path, ())),
            )
        )
    section.too_old.sort(key=lambda c: (-c.age_days, c.path))


def _prices(section: Recordings, calls: Sequence[LLMCall], as_of: datetime, table: PriceTable | None) -> None:
    from pytest_llmops.spend.pricing import has_dated_prices, is_deprecated, price_call_at

    groups: dict[tuple[str, str], list[tuple[float | None, float | None]]] = {}
    dated: dict[tuple[str, str, str | None], bool] = {}
    for call in calls:
        if not call.has_usage:
            continue  # no tokens: nothing to price at either date
        key = (model_of(call), call.provider)
        then = call.cost_usd
        tier = call.extra.get("service_tier")
        dated_key = (*key, tier if isinstance(tier, str) else None)
        repriced = dated.get(dated_key)
        if repriced is None:
            repriced = dated[dated_key] = has_dated_prices(call, table)
        # A call whose price has no dates costs the same today: not priced again.
        now = price_call_at(call, as_of, table) if repriced else then
        if now is None and then is not None:
            now = then  # priced by a plugin's parse hook: no second price to compare with
        groups.setdefault(key, []).append((then, now))
    then_total: list[float] = []
    now_total: list[float] = []
    for (model, provider), pairs in sorted(groups.items()):
        thens = [t for t, _ in pairs if t is not None]
        nows = [n for _, n in pairs if n is not None]
        section.models.append(
            ModelPrices(
                model=model,
                provider=provider,
                calls=len(pairs),
                cost_then_usd=math.fsum(thens) if thens else None,
                cost_now_usd=math.fsum(nows) if nows else None,
                deprecated=is_deprecated(model, provider),
            )
        )
        for then, now in pairs:
            if then is not None and now is not None:
                then_total.append(then)
                now_total.append(now)
    section.cost_then_usd = math.fsum(then_total)
    section.cost_now_usd = math.fsum(now_total)
