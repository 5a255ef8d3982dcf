"""`--llm-fail-on` gates: parsing, what a sign and a `%` mean, and the defaults."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmops.options import fail_on_spec
from pytest_llmops.results.gates import BUILTIN_METRICS, DEFAULT_GATES, Gate, parse_gates


def test_a_spec_becomes_one_gate_per_metric() -> None:
    gates = parse_gates("relevance:-0.3, pass_rate:-5%  cost_usd:+10%,latency_p95:off")
    assert gates.named == (
        Gate("relevance", "down", 0.3, False),
        Gate("pass_rate", "down", 0.05, True),
        Gate("cost_usd", "up", 0.10, True),
        Gate("latency_p95", None),
    )
    assert gates.text == "relevance:-0.3,pass_rate:-5%,cost_usd:+10%,latency_p95:off"
    assert parse_gates(gates.text) == gates


@pytest.mark.parametrize("text", [None, "", "  "])
def test_no_spec_means_only_defaults(text: str | None) -> None:
    gates = parse_gates(text)
    assert gates.named == ()
    assert gates.for_metric("cost_usd", False) is DEFAULT_GATES["cost_usd"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("relevance=-0.3", "part 1 'relevance=-0.3' is not METRIC:CHANGE; write e.g. relevance:-0.3"),
        (
            "relevance:-0.3,cost_usd:10%",
            "part 2 'cost_usd:10%': '10%' is not a signed change like -0.3, +10% or off "
            "(a sign is required: - watches falls, + watches rises)",
        ),
        ("relevance:-abc", "part 1 'relevance:-abc': '-abc' is not a signed change"),
        ("relevance:-0.3%%", "'-0.3%%' is not a signed change"),
        ("relevance:-0.1,relevance:-0.2", "part 2 'relevance:-0.2': relevance already has a gate (part 1)"),
        (
            "cost_usd:-10%",
            "part 1 'cost_usd:-10%': a fall in cost_usd is an improvement, never a regression; "
            "write cost_usd:+10% to limit how far it may get worse",
        ),
        ("pass_rate:+0.1", "a rise in pass_rate is an improvement, never a regression; write pass_rate:-0.1"),
        (":-0.1", "part 1 ':-0.1' is not METRIC:CHANGE"),
    ],
)
def test_a_bad_spec_names_the_bad_part(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_gates(spec)
    assert message in str(info.value)


def test_the_option_type_turns_a_bad_spec_into_an_argparse_error() -> None:
    assert fail_on_spec("relevance:-0.3") == "relevance:-0.3"
    with pytest.raises(argparse.ArgumentTypeError, match="part 1 'relevance' is not METRIC:CHANGE"):
        fail_on_spec("relevance")


def test_a_bare_number_is_an_absolute_change_and_the_boundary_passes() -> None:
    gate = parse_gates("relevance:-0.3").named[0]
    assert not gate.exceeded(0.9, 0.6)  # exactly the allowance
    assert gate.exceeded(0.9, 0.59)
    assert not gate.exceeded(0.9, 1.0)  # a rise is never watched by a "-" gate
    assert not gate.exceeded(0.1, 0.0)


def test_a_percentage_is_relative_to_the_baseline_value() -> None:
    gate = parse_gates("cost_usd:+10%").named[0]
    assert not gate.exceeded(0.002, 0.0022)
    assert gate.exceeded(0.002, 0.00221)
    assert not gate.exceeded(0.002, 0.0001)  # a lower cost is not a regression
    assert gate.allowance(0.002) == pytest.approx(0.0002)


def test_from_a_zero_baseline_any_move_the_watched_way_exceeds_a_relative_gate() -> None:
    gate = parse_gates("cost_usd:+25%").named[0]
    assert gate.exceeded(0.0, 0.0001)
    assert not gate.exceeded(0.0, 0.0)


def test_off_never_fails() -> None:
    gate = parse_gates("latency_p95:off").named[0]
    assert not gate.exceeded(100.0, 1e9)
    assert gate.text == "latency_p95:off"


def test_defaults_cover_builtins_and_scores_in_their_worse_direction() -> None:
    gates = parse_gates("relevance:-0.05")
    assert gates.for_metric("relevance", True).text == "relevance:-0.05"
    toxicity = gates.for_metric("toxicity", False)
    assert (toxicity.direction, toxicity.amount, toxicity.relative, toxicity.default) == (
        "up",
        0.1,
        True,
        True,
    )
    faithfulness = gates.for_metric("faithfulness", True)
    assert faithfulness.text == "faithfulness:-10%" and faithfulness.default
    assert {m: g.text for m, g in DEFAULT_GATES.items()} == {
        "pass_rate": "pass_rate:-0",
        "cost_usd": "cost_usd:+25%",
        "input_tokens": "input_tokens:+25%",
        "output_tokens": "output_tokens:+25%",
        "latency_p95": "latency_p95:+50%",
    }
    assert set(DEFAULT_GATES) == set(BUILTIN_METRICS)


values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(baseline=values, current=values, amount=st.floats(min_value=0, max_value=10), relative=st.booleans())
def test_a_gate_never_fails_on_a_move_the_other_way_nor_on_no_change(
    baseline: float, current: float, amount: float, relative: bool
) -> None:
    down = Gate("m", "down", amount, relative)
    up = Gate("m", "up", amount, relative)
    assert not down.exceeded(baseline, baseline) and not up.exceeded(baseline, baseline)
    if current >= baseline:
        assert not down.exceeded(baseline, current)
    if current <= baseline:
        assert not up.exceeded(baseline, current)


@given(baseline=st.floats(min_value=0.01, max_value=1e4), amount=st.floats(min_value=0, max_value=5))
def test_a_gate_fails_beyond_its_allowance_and_not_within(baseline: float, amount: float) -> None:
    for relative in (False, True):
        gate = Gate("m", "up", amount, relative)
        allowed = gate.allowance(baseline)
        assert not gate.exceeded(baseline, baseline + allowed * 0.999)
        assert gate.exceeded(baseline, baseline + allowed * 1.001 + 1e-6)
