"""`recording.eventstream` against botocore's own event-stream parser (the reference implementation)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmops.recording.eventstream import (
    EventStreamDecoder,
    EventStreamError,
    encode_message,
    iter_messages,
    looks_like_event_stream,
)

BEDROCK_HEADERS = {
    ":event-type": "contentBlockDelta",
    ":content-type": "application/json",
    ":message-type": "event",
}


def botocore_messages(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(m.headers), m.payload) for m in buffer]


def test_bedrock_style_frames_parse_identically_in_botocore() -> None:
    payload = b'{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcd"}'
    data = encode_message(BEDROCK_HEADERS, payload) + encode_message(
        {":event-type": "messageStop", ":content-type": "application/json", ":message-type": "event"},
        b'{"stopReason":"end_turn"}',
    )
    ours = [(m.headers, m.payload) for m in iter_messages(data)]
    assert ours == botocore_messages(data)
    assert ours[0][0][":event-type"] == "contentBlockDelta"
    assert [m.event_type for m in iter_messages(data)] == ["contentBlockDelta", "messageStop"]


def test_every_header_type_round_trips_through_botocore() -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers = {
        "t": True,
        "f": False,
        "i": -7,
        "l": 2**40,
        "b": b"\x00\xff",
        "s": "ünï",
        "when": when,
        "id": ident,
    }
    data = encode_message(headers, b"x")
    (theirs,) = botocore_messages(data)
    (ours,) = list(iter_messages(data))
    assert ours.headers == headers
    assert theirs[0]["t"] is True and theirs[0]["f"] is False
    assert theirs[0]["i"] == -7 and theirs[0]["l"] == 2**40
    assert theirs[0]["b"] == b"\x00\xff" and theirs[0]["s"] == "ünï"
    assert theirs[0]["when"] == round(when.timestamp() * 1000)  # botocore keeps the raw milliseconds
    assert theirs[0]["id"] == ident.bytes


@given(
    st.lists(
        st.tuples(
            st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=4),
            st.binary(max_size=300),
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=1, max_value=64),
)
def test_incremental_decoding_in_any_chunking_matches_botocore(
    messages: list[tuple[dict[str, str], bytes]], chunk: int
) -> None:
    data = b"".join(encode_message(h, p) for h, p in messages)
    decoder = EventStreamDecoder()
    decoded = []
    for start in range(0, len(data), chunk):
        decoded.extend(decoder.feed(data[start : start + chunk]))
    assert decoder.pending == 0
    assert [(m.headers, m.payload) for m in decoded] == botocore_messages(data)


def test_a_cut_short_stream_yields_the_complete_messages_only() -> None:
    first = encode_message(BEDROCK_HEADERS, b'{"a":1}')
    data = first + encode_message(BEDROCK_HEADERS, b'{"b":2}')
    assert [m.payload for m in iter_messages(data[:-3])] == [b'{"a":1}']
    decoder = EventStreamDecoder()
    decoder.feed(data[:-3])
    assert decoder.pending == len(data) - 3 - len(first)


@pytest.mark.parametrize("where", ["prelude", "message"])
def test_corruption_is_an_error_not_silence(where: str) -> None:
    data = bytearray(encode_message(BEDROCK_HEADERS, b'{"a":1}'))
    data[9 if where == "prelude" else -6] ^= 0xFF
    with pytest.raises(EventStreamError, match="CRC mismatch"):
        list(iter_messages(bytes(data)))


def test_sniffing() -> None:
    assert looks_like_event_stream(encode_message(BEDROCK_HEADERS, b"{}"))
    assert not looks_like_event_stream(b'{"output": {}}')
    assert not looks_like_event_stream(b"data: {}\n\n")
