"""Counted words and cut cells, as every report and message shows them."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmops.results.report.figures import histogram
from pytest_llmops.results.report.html import axis_ticks
from pytest_llmops.wording import ELLIPSIS, plural, shorten


@pytest.mark.parametrize(
    ("n", "word", "expected"),
    [
        (1, "new recording", "1 new recording"),
        (0, "new recording", "0 new recordings"),
        (1, "miss", "1 miss"),
        (2, "miss", "2 misses"),
        (1, "test", "1 test"),
        (1024, "test", "1,024 tests"),
        (2, "baseline entry", "2 baseline entries"),
        (3, "case", "3 cases"),
        (2, "person", "2 people"),
    ],
)
def test_plural(n: int, word: str, expected: str) -> None:
    many = "people" if word == "person" else None
    assert plural(n, word, many) == expected


def test_a_cut_prose_cell_ends_on_a_whole_word_or_path_segment() -> None:
    message = (
        "Failed: cassette tests/cassettes/test_app/test_capital_of_france.yaml has no recorded answer "
        "for POST /v1/chat/completions"
    )
    for limit in range(20, len(message)):
        cut = shorten(message, limit)
        assert len(cut) <= limit and cut.endswith(ELLIPSIS)
        kept = cut[: -len(ELLIPSIS)]
        # what is kept is the message up to a break: the next character is a space or a separator
        assert message.startswith(kept)
        assert message[len(kept)] in " /,;:" or kept.endswith(("/", "::")), (limit, cut)


def test_a_long_path_keeps_its_start_and_end() -> None:
    nodeid = "tests/integration/providers/anthropic/test_streaming_tool_calls.py::test_parallel_tools[sonnet]"
    cut = shorten(nodeid, 60)
    assert len(cut) <= 60 and ELLIPSIS in cut
    head, tail = cut.split(ELLIPSIS)
    assert nodeid.startswith(head) and nodeid.endswith(tail)
    assert head.endswith("/")  # the start is cut at a separator


@given(st.text(min_size=0, max_size=300), st.integers(min_value=1, max_value=200))
def test_shorten_never_exceeds_the_limit(text: str, limit: int) -> None:
    cut = shorten(text, limit)
    assert len(cut) <= limit
    assert cut == text or ELLIPSIS in cut


@pytest.mark.parametrize(
    ("values", "unit"),
    [
        ([0.4, 0.9, 1.3, 1.7, 2.1], "ms"),  # the "1 ms, 1 ms, 2 ms, 2 ms"
        ([1.0, 1.0, 2.0, 2.0, 3.0], "ms"),
        ([120.0, 480.0, 1930.0], "ms"),
        ([12_000.0, 45_000.0, 80_000.0], "ms"),
        ([0.1, 0.5, 0.9], "score"),
        ([1.0, 2.0, 4.0, 5.0], "score"),
        ([-2.0, 5.0, 7.0], "score"),
        ([3.21, 3.3, 3.42], "score"),
    ],
)
def test_histogram_axis_ticks_are_distinct_round_and_increasing(values: list[float], unit: str) -> None:
    hist = histogram(values, unit, bins=20 if unit == "ms" else 10)
    assert hist is not None
    ticks = axis_ticks(hist)
    labels = [label for _, label in ticks]
    assert len(set(labels)) == len(labels) >= 2, labels
    assert len(ticks) <= 6
    positions = [v for v, _ in ticks]
    assert positions == sorted(positions)
    steps = {round(b - a, 9) for a, b in itertools.pairwise(positions)}
    assert len(steps) == 1, labels  # evenly spaced
    (step,) = steps
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(abs(mantissa - f) < 1e-6 for f in (1, 2, 2.5, 5, 10)), step
    for label in labels:  # a label reads back as its value
        number = float(re.sub(r"[^0-9.\-]", "", label))
        assert number >= 0 or unit == "score"
