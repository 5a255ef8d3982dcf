"""The match key's fast path: the canonical body computed from the object a client was given to send as
JSON must be exactly the one computed from the bytes it sends, or not be offered at all."""

from __future__ import annotations

import enum
import json
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmops.recording.interactions import RecordedRequest
from pytest_llmops.recording.matching import Matcher

MATCHERS = [
    Matcher.build(),
    Matcher.build(ignore=["metadata.request_id", "messages.*.id", "stream_options"]),
]

text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["é", "日本語", "😀", "\u2028", "\x00", "\\", '"', "\ud800"]  # a lone surrogate: json escapes it
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.1, 1e16, 1e-7, -0.0, 5e-324, 1.7976931348623157e308, 2.5])
    | text
)
plain = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(text, children, max_size=4)
    ),
    max_leaves=25,
)
any_keys = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.integers(-20, 20) | st.booleans() | st.none() | st.floats() | text, children, max_size=4
        )
    ),
    max_leaves=15,
)


def from_bytes(matcher: Matcher, value: Any) -> str:
    """What the key holds for the bytes aiohttp (and requests) send for `json=value`."""
    return matcher.canonical_body(json.dumps(value).encode("utf-8"))


@settings(max_examples=400, deadline=None)
@given(plain)
def test_plain_json_data_gets_the_canonical_form_of_its_bytes(value: Any) -> None:
    for matcher in MATCHERS:
        fast = matcher.canonical_json(value)
        assert fast is not None
        assert fast == from_bytes(matcher, value)


@settings(max_examples=300, deadline=None)
@given(any_keys)
def test_the_prebuilt_encoder_is_the_standard_one(value: Any) -> None:
    from pytest_llmops.recording.matching import _CANONICAL, _canonical_encode

    try:
        expected = _CANONICAL.encode(value)
    except (TypeError, ValueError):
        return  # mixed key types Python cannot sort: both refuse
    assert _canonical_encode(value) == expected


def is_canonical(key: str) -> bool:
    """Whether `key` is a canonical form at all, as every key built from recorded bytes is."""
    try:
        return json.dumps(json.loads(key), sort_keys=True, separators=(",", ":"), ensure_ascii=False) == key
    except ValueError:
        return False


@settings(max_examples=400, deadline=None)
@given(any_keys)
def test_any_keys_either_give_the_bytes_key_or_a_key_no_recording_has(value: Any) -> None:
    for matcher in MATCHERS:
        fast = matcher.canonical_json(value)
        if fast is not None and is_canonical(fast):
            assert fast == from_bytes(matcher, value)


def test_chat_bodies_as_clients_send_them() -> None:
    bodies = [
        {
            "model": "gpt-4o-mini",
            "temperature": 0.7,
            "top_p": 1.0,
            "max_tokens": 100,
            "messages": [
                {"role": "system", "content": "Réponds en français, s'il te plaît."},
                {"role": "user", "content": "Quel temps fait-il à Zürich? 😀 日本語"},
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        {
            "contents": [{"parts": [{"text": "hi"}], "role": "user"}],
            "generationConfig": {"temperature": 1e-3},
        },
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": []},
        [1, 2.0, -0.0, math.inf, -math.inf, 1e300, 123456789012345678901234567890],
        "just a string",
        0,
    ]
    for matcher in MATCHERS:
        for body in bodies:
            assert matcher.canonical_json(body) == from_bytes(matcher, body)
    nan = Matcher.build().canonical_json({"x": math.nan})
    assert nan == from_bytes(Matcher.build(), {"x": math.nan}) == '{"x":NaN}'


class Color(enum.Enum):
    RED = "red"


class Mode(enum.StrEnum):
    FAST = "fast"


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "value",
    [
        {1: "a", 10: "b", 2: "c"},  # json.dumps turns int keys into strings: "10" sorts before "2"
        {"outer": {2.5: 1, 10.5: 2}},
        [{"deep": {3: "x", 20: "y"}}],
    ],
)
def test_keys_json_would_reorder_give_a_key_no_recording_has(value: Any) -> None:
    matcher = Matcher.build()
    fast = matcher.canonical_json(value)
    assert fast is not None and fast != from_bytes(matcher, value) and not is_canonical(fast)


@pytest.mark.parametrize(
    "value",
    [
        {1: "a", "1": "b"},  # two keys that JSON makes one: Python cannot even sort them
        {"color": Color.RED},  # json cannot encode it: the caller raises what aiohttp raises
        {"when": object()},
    ],
)
def test_what_json_refuses_is_left_to_the_bytes(value: Any) -> None:
    for matcher in MATCHERS:
        assert matcher.canonical_json(value) is None


def test_subclasses_and_enums_encode_as_json_does() -> None:
    value = {"mode": Mode.FAST, "level": Level.HIGH, "ordered": OrderedDict(b=1, a=2)}
    assert Matcher.build().canonical_json(value) == from_bytes(Matcher.build(), value)
    ignoring = MATCHERS[1]
    assert ignoring.canonical_json(value) is None  # the copy for dropping fields takes plain data only
    assert ignoring.canonical_json({1: "a"}) is None


def test_the_fast_path_falls_back_to_the_bytes_on_a_miss(tmp_path: Path) -> None:
    """A body whose object key misses is looked up again from its bytes, and found."""
    from pytest_llmops.recording.cassette import Cassette, RecordMode
    from pytest_llmops.recording.formats import dump_interactions
    from pytest_llmops.recording.interactions import Interaction, RecordedResponse
    from pytest_llmops.recording.secrets import Scrubber
    from pytest_llmops.recording.transport import Recorder

    body = {"model": "m", "logit_bias": {10: 1, 2: -1}}
    uri = "http://127.0.0.1:1/v1/chat/completions"
    path = tmp_path / "c.yaml"
    recorded = Interaction(
        RecordedRequest("POST", uri, {}, json.dumps(body).encode()), RecordedResponse(200, "OK", {}, b"{}")
    )
    path.write_text(dump_interactions([recorded]), encoding="utf-8")
    recorder = Recorder(
        cassette=Cassette(path, RecordMode.NONE, Matcher.build(), Scrubber()),
        rerecord_command=lambda: "",
        on_replay=lambda index, interaction: None,
        on_live=lambda index, interaction, ticket: None,
    )
    request = RecordedRequest("POST", uri)
    assert recorder.find(request, json_body=body) is None
    request.body = json.dumps(body).encode()
    hit = recorder.lookup(request)
    assert hit is not None and hit[0] == 0


def test_a_cycle_is_left_to_the_bytes() -> None:
    looped: dict[str, Any] = {"a": []}
    looped["a"].append(looped)
    assert Matcher.build().canonical_json(looped) is None
    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    fast = Matcher.build().canonical_json(deep)
    assert fast is None or fast == from_bytes(Matcher.build(), deep)


def test_ignored_fields_are_dropped_from_a_copy() -> None:
    matcher = Matcher.build(ignore=["metadata.request_id"])
    body: dict[str, Any] = {"model": "m", "metadata": {"request_id": "r-1", "user": "u"}}
    assert matcher.canonical_json(body) == '{"metadata":{"user":"u"},"model":"m"}'
    assert body["metadata"]["request_id"] == "r-1"  # the app's object is untouched


def test_the_key_from_the_object_equals_the_key_from_the_bytes() -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hé"}]}
    uri = "https://api.openai.com/v1/chat/completions?b=2&a=1"
    matcher = Matcher.build()
    from_wire = matcher.key(RecordedRequest("post", uri, {}, json.dumps(body).encode()))
    assert matcher.key(RecordedRequest("POST", uri), matcher.canonical_json(body)) == from_wire


def _gemini_tool_round(call_ids: list[str], answered: list[str]) -> bytes:
    """A Gemini request as pydantic-ai sends it after a tool round: its calls, then their responses."""
    calls = [{"functionCall": {"id": i, "name": "lookup", "args": {"n": n}}} for n, i in enumerate(call_ids)]
    answers = [{"functionResponse": {"id": i, "name": "lookup", "response": {"n": 1}}} for i in answered]
    return json.dumps(
        {"contents": [{"role": "model", "parts": calls}, {"role": "user", "parts": answers}]}
    ).encode()


def test_ids_a_client_makes_up_per_run_match_by_where_they_appear() -> None:
    matcher = Matcher.build()
    run1 = ["pyd_ai_" + "a1" * 16, "pyd_ai_" + "b2" * 16]
    run2 = ["pyd_ai_" + "c3" * 16, "pyd_ai_" + "d4" * 16]
    recorded = matcher.canonical_body(_gemini_tool_round(run1, run1))
    assert matcher.canonical_body(_gemini_tool_round(run2, run2)) == recorded
    assert "pyd_ai_" not in recorded
    # Which call a response answers still counts: answering the second call first is another request.
    assert matcher.canonical_body(_gemini_tool_round(run2, run2[::-1])) != recorded
    # From the object the client serializes, the same key as from its bytes.
    body = json.loads(_gemini_tool_round(run2, run2))
    assert matcher.canonical_json(body) == recorded
    # Only whole string values that have the made-up form: an id mentioned in a text is text.
    mentioned = matcher.canonical_body(json.dumps({"text": f"see {run1[0]}"}).encode())
    assert run1[0] in mentioned
