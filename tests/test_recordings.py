"""The "Recordings" section as data and in every printer: recording age, cost then and today, deprecated and
unpriced models; and the `llm_max_recording_age` syntax."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_llmops.options import recording_age
from pytest_llmops.results import baseline as bl
from pytest_llmops.results.records import CassetteInfo, RunRecord, TestRecord
from pytest_llmops.results.report import html, json_report, markdown, terminal, terminal_summary
from pytest_llmops.results.report.build import build
from pytest_llmops.results.report.model import BaselineInfo, Report
from pytest_llmops.results.report.recordings import change_text, recorded_date
from pytest_llmops.spend import pricing
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.pricing import PriceTable, UserPrice

AS_OF = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
O3_CUT = "2025-06-10"  # genai-prices: o3 went from $10/$40 to $2/$8 per million tokens on this day


def replayed(model: str, recorded_at: str | None, cassette: str = "c/test_a.yaml", **kwargs: Any) -> LLMCall:
    values: dict[str, Any] = {
        "provider": "openai",
        "endpoint": "/v1/chat/completions",
        "model": model,
        "input_tokens": 1000,
        "output_tokens": 500,
        "recorded_at": recorded_at,
        "cassette": cassette,
        "source": "replayed",
    }
    values.update(kwargs)
    call = LLMCall(**values)
    call.cost_usd = pricing.price_call(call)
    return call


def record(nodeid: str, *calls: LLMCall) -> TestRecord:
    rec = TestRecord(nodeid=nodeid, base_nodeid=nodeid, outcome="passed", duration_s=0.1)
    rec.runs = [RunRecord(0, "passed")]
    rec.calls = list(calls)
    rec.cassette = CassetteInfo(path=calls[0].cassette or "c.yaml", mode="none", played=len(calls))
    return rec


def report(*records: TestRecord, max_age: int | None = 90, prices: PriceTable | None = None) -> Report:
    return build(
        records,
        {r.nodeid: bl.measure(r) for r in records},
        baseline=BaselineInfo(".llm-baseline.json", "missing"),
        diff=None,
        as_of=AS_OF,
        max_recording_age_days=max_age,
        prices=prices,
    )


def printed(rep: Report, short: bool = True) -> str:
    printer = terminal_summary.lines if short else terminal.lines
    return "\n".join(text for text, _ in printer(rep))


# -- the option's syntax ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("12w", 84), ("1d", 1), (" 2W ", 14), ("off", 0)])
def test_recording_age_accepts_days_weeks_and_off(text: str, days: int) -> None:
    assert recording_age(text) == days


@pytest.mark.parametrize("text", ["", "90", "d", "0d", "-3d", "1.5w", "90 days", "ninety"])
def test_recording_age_refuses_other_forms_and_shows_the_accepted_ones(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"90d or 12w, or off"):
        recording_age(text)


@pytest.mark.parametrize("text", ["6m", "1y", "6mo", "2months"])
def test_recording_age_refuses_months_and_years_with_a_conversion(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"months and years vary in length: write 180d"):
        recording_age(text)


# -- prices at two dates ---------------------------------------------------------------------------------


def test_genai_prices_data_knows_a_real_price_change_o3() -> None:
    """The fact the section rests on: genai-prices keeps dated prices, and o3's price fell on 2025-06-10."""
    before = replayed("o3-2025-04-16", "2025-06-09T23:59:00Z")
    after = replayed("o3-2025-04-16", f"{O3_CUT}T00:00:01Z")
    assert before.cost_usd == pytest.approx(1000 * 10e-6 + 500 * 40e-6)
    assert after.cost_usd == pytest.approx(1000 * 2e-6 + 500 * 8e-6)
    assert pricing.price_call_at(before, AS_OF) == pytest.approx(after.cost_usd)


def test_user_prices_have_no_dates_so_they_never_change() -> None:
    table = PriceTable({"o3-2025-04-16": UserPrice(1.0, 2.0, 1.0, 1.0)})
    call = replayed("o3-2025-04-16", "2025-01-01T00:00:00Z")
    call.cost_usd = pricing.price_call(call, table)
    assert pricing.price_call_at(call, AS_OF, table) == call.cost_usd
    section = report(record("t.py::test_a", call), prices=table).recordings
    assert section.models[0].cost_then_usd == section.models[0].cost_now_usd and not section.changed_models


def test_only_calls_whose_price_has_dates_are_priced_again() -> None:
    assert pricing.has_dated_prices(replayed("o3-2025-04-16", None))
    assert not pricing.has_dated_prices(replayed("gpt-4o-mini-2024-07-18", None))
    # its service tiers' prices (flex, priority) start on a date: a call on a tier is priced again
    assert pricing.has_dated_prices(replayed("gpt-4o-mini-2024-07-18", None, extra={"service_tier": "flex"}))
    table = PriceTable({"o3-2025-04-16": UserPrice(1.0, 2.0, 1.0, 1.0)})
    assert not pricing.has_dated_prices(replayed("o3-2025-04-16", None), table)
    assert not pricing.has_dated_prices(replayed("acme-support-1", None))


def test_deprecated_is_genai_prices_own_flag() -> None:
    assert pricing.is_deprecated("gemini-2.0-flash", "gemini")
    assert not pricing.is_deprecated("gpt-4o-mini", "openai")
    assert not pricing.is_deprecated("acme-support-1", "openai")  # unknown is not deprecated: it is unpriced


# -- the section as data ---------------------------------------------------------------------------------


def test_an_old_cassette_is_listed_with_its_age_and_its_price_change() -> None:
    old = replayed("o3-2025-04-16", "2025-05-01T10:00:00.000000Z", "c/test_old.yaml")
    newer = replayed("o3-2025-04-16", "2026-11-30T10:00:00Z", "c/test_old.yaml")
    fresh = replayed("gpt-4o-mini-2024-07-18", "2026-12-01T08:00:00Z", "c/test_fresh.yaml")
    rep = report(record("t.py::test_old", old, newer), record("t.py::test_fresh", fresh))
    section = rep.recordings
    assert section.as_of == "2026-12-03" and section.replayed == 3 and section.cassettes == 2
    assert section.oldest == "2025-05-01T10:00:00.000000Z"
    [aged] = section.too_old
    assert (aged.path, aged.age_days, aged.recordings, aged.too_old) == ("c/test_old.yaml", 581, 2, 1)
    assert aged.tests == ["t.py::test_old"]
    o3 = next(m for m in section.models if m.model == "o3-2025-04-16")
    assert o3.calls == 2 and o3.changed
    assert o3.cost_then_usd == pytest.approx(0.03 + 0.006) and o3.cost_now_usd == pytest.approx(0.012)
    assert section.changed_models == ["o3-2025-04-16"]
    mini = next(m for m in section.models if m.model.startswith("gpt-4o-mini"))
    assert not mini.changed and mini.cost_then_usd == mini.cost_now_usd
    assert section.cost_then_usd == pytest.approx(0.036 + mini.cost_then_usd)
    assert section.change_usd == pytest.approx(-0.024) and section.findings


def test_the_age_limit_is_whole_utc_days_and_exactly_the_limit_is_not_old() -> None:
    at_limit = replayed("gpt-4o-mini", "2026-09-04T23:59:59Z")  # 90 days before 2026-12-03
    past = replayed("gpt-4o-mini", "2026-09-03T00:00:00+00:00", "c/test_b.yaml")
    section = report(record("t.py::test_a", at_limit), record("t.py::test_b", past)).recordings
    assert [(c.path, c.age_days) for c in section.too_old] == [("c/test_b.yaml", 91)]


def test_without_a_limit_no_cassette_is_old_but_prices_are_still_compared() -> None:
    old = replayed("o3", "2025-01-01T00:00:00Z")
    section = report(record("t.py::test_a", old), max_age=None).recordings
    assert section.too_old == [] and section.max_age_days is None
    assert section.changed_models == ["o3"] and section.findings


def test_a_fresh_replay_has_nothing_to_say() -> None:
    rep = report(record("t.py::test_a", replayed("gpt-4o-mini", "2026-12-02T12:00:00Z")))
    assert not rep.recordings.findings
    assert "Recordings" not in printed(rep) and "Recordings" not in printed(rep, short=False)
    assert "Recordings" not in markdown.render(rep) and "Recordings" not in html.render(rep)
    assert json.loads(json_report.render(rep))["recordings"]["findings"] is False


def test_live_calls_are_not_recordings_to_age() -> None:
    live = replayed("o3", "2025-01-01T00:00:00Z", source="live")
    section = report(record("t.py::test_a", live)).recordings
    assert section.replayed == 0 and section.models == [] and not section.findings


def test_unknown_and_deprecated_models_are_flagged() -> None:
    unknown = replayed("acme-support-1", "2026-12-01T00:00:00Z")
    gemini = replayed(
        "gemini-2.0-flash", "2026-12-01T00:00:00Z", "c/test_g.yaml", provider="gemini", endpoint="/v1beta"
    )
    section = report(record("t.py::test_a", unknown), record("t.py::test_g", gemini)).recordings
    assert section.unpriced_models == ["acme-support-1"] and section.deprecated_models == ["gemini-2.0-flash"]
    assert section.findings and section.cost_then_usd == pytest.approx(gemini.cost_usd)


def test_a_call_a_plugin_priced_keeps_its_cost_today() -> None:
    call = replayed("acme-support-1", "2025-01-01T00:00:00Z")
    call.cost_usd = 0.5  # set by a pytest_llmops_parse_call hook: no second price to compare with
    section = report(record("t.py::test_a", call), max_age=None).recordings
    assert section.models[0].cost_now_usd == 0.5 and not section.findings


def test_undated_recordings_are_counted_never_guessed() -> None:
    undated = replayed("gpt-4o-mini", None, "c/foreign.yaml")
    garbled = replayed("gpt-4o-mini", "last tuesday", "c/foreign.yaml")
    section = report(record("t.py::test_a", undated, garbled)).recordings
    assert section.undated == 2 and section.undated_cassettes == ["c/foreign.yaml"]
    assert section.too_old == [] and section.oldest is None and section.findings
    assert "no recording date: 2 recordings in 1 cassette" in printed(
        report(record("t.py::test_a", undated, garbled))
    )
    assert not report(record("t.py::test_a", undated), max_age=None).recordings.findings


def test_no_date_to_compare_with_gives_an_empty_section() -> None:
    rec = record("t.py::test_a", replayed("o3", "2025-01-01T00:00:00Z"))
    rep = build([rec], {rec.nodeid: bl.measure(rec)}, baseline=BaselineInfo("b", "missing"), diff=None)
    assert rep.recordings.as_of is None and rep.recordings.models == [] and not rep.recordings.findings


def test_recorded_date_reads_our_stamps_and_foreign_ones() -> None:
    assert str(recorded_date("2025-06-01T12:00:00.000000Z")) == "2025-06-01"
    assert str(recorded_date("2025-06-01T23:30:00-02:00")) == "2025-06-02"  # the UTC date
    assert str(recorded_date("2025-06-01T12:00:00")) == "2025-06-01"
    assert recorded_date("yesterday") is None and recorded_date(None) is None


def test_change_text() -> None:
    assert change_text(0.03, 0.006) == "-80%"
    assert change_text(0.01, 0.01) == "±0"
    assert change_text(0.0, 0.002) == "+$0.00200"
    assert change_text(None, 0.1) == "" and change_text(0.1, None) == ""


# -- every printer ---------------------------------------------------------------------------------------


def old_report() -> Report:
    old = replayed("o3-2025-04-16", "2025-05-01T10:00:00Z", "c/test_old.yaml")
    unknown = replayed("acme-support-1", "2026-12-01T00:00:00Z", "c/test_new.yaml")
    return report(record("t.py::test_old", old), record("t.py::test_new", unknown))


def test_the_terminal_block_names_the_cassette_the_age_and_both_costs() -> None:
    for short in (True, False):
        text = printed(old_report(), short)
        assert "Recordings (as of 2026-12-03)" in text
        assert "older than 90 days: 1 cassette" in text
        assert "c/test_old.yaml: 581 days old (recorded 2025-05-01; 1 of 1 recording over the limit)" in text
        assert "o3-2025-04-16 $0.0300 -> $0.00600 (-80%, 1 call)" in text
        assert "no price today: acme-support-1 (1 call)" in text


def test_the_short_summary_lists_three_old_cassettes_and_counts_the_rest() -> None:
    records = [
        record(f"t.py::test_{i}", replayed("gpt-4o-mini", "2025-01-01T00:00:00Z", f"c/test_{i}.yaml"))
        for i in range(5)
    ]
    text = printed(report(*records))
    assert text.count("days old") == 3 and "... and 2 more" in text
    assert printed(report(*records), short=False).count("days old") == 5


def test_markdown_html_and_json_carry_the_section() -> None:
    rep = old_report()
    md = markdown.render(rep)
    assert "### Recordings (as of 2026-12-03)" in md
    assert "| `c/test_old.yaml` | 581 days | 2025-05-01T10:00:00Z | 1 of 1 | `t.py::test_old` |" in md
    assert "| `o3-2025-04-16` | openai | 1 | $0.0300 | $0.00600 | -80% |  |" in md
    assert "| `acme-support-1` | openai | 1 | unknown | unknown |  | no price today |" in md
    page = html.render(rep)
    assert "<h2>Recordings (as of 2026-12-03)</h2>" in page and "<code>c/test_old.yaml</code>" in page
    assert "$0.00600" in page and "no price today" in page
    data = json.loads(json_report.render(rep))["recordings"]
    assert data["as_of"] == "2026-12-03" and data["max_age_days"] == 90
    assert data["too_old"][0] == {
        "path": "c/test_old.yaml",
        "oldest": "2025-05-01T10:00:00Z",
        "age_days": 581,
        "recordings": 1,
        "too_old": 1,
        "tests": ["t.py::test_old"],
    }
    o3 = next(m for m in data["models"] if m["model"] == "o3-2025-04-16")
    assert o3["cost_then_usd"] == pytest.approx(0.03) and o3["cost_now_usd"] == pytest.approx(0.006)
    assert o3["change"] == pytest.approx(-0.8) and o3["changed"] is True
    assert data["unpriced_models"] == ["acme-support-1"] and data["changed_models"] == ["o3-2025-04-16"]
