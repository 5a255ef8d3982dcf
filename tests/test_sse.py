from __future__ import annotations

import csv
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmops.recording.formats import load_interactions
from pytest_llmops.recording.sse import SSEEvent, iter_events, split_event_chunks
from tests.real_cassettes import REAL_CASSETTES

REAL = REAL_CASSETTES


def events(body: str | bytes) -> list[SSEEvent]:
    return list(iter_events(body))


# --- the standard's parsing rules -------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_are_equivalent(newline: str) -> None:
    body = newline.join(["event: a", "data: one", "", "data: two", "", ""])
    assert events(body) == [SSEEvent("a", "one"), SSEEvent(None, "two")]


def test_mixed_line_endings_in_one_body() -> None:
    assert events("data: x\r\n\ndata: y\r\rdata: z\n\r\n") == [
        SSEEvent(None, "x"),
        SSEEvent(None, "y"),
        SSEEvent(None, "z"),
    ]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert events("data: first\ndata: second\ndata:\n\n") == [SSEEvent(None, "first\nsecond\n")]


def test_only_one_leading_space_is_stripped_from_values() -> None:
    assert events("data:  two spaces\n\ndata:none\n\n") == [
        SSEEvent(None, " two spaces"),
        SSEEvent(None, "none"),
    ]


def test_field_without_colon_has_empty_value() -> None:
    assert events("data\n\n") == [SSEEvent(None, "")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    body = ": keep-alive\n\n: OPENROUTER PROCESSING\nfoo: bar\ndata: x\n\n"
    assert events(body) == [SSEEvent(None, "x")]


def test_block_without_data_dispatches_nothing_and_resets_event_type() -> None:
    assert events("event: lonely\n\ndata: x\n\n") == [SSEEvent(None, "x")]


def test_event_type_does_not_leak_into_the_next_event() -> None:
    assert [e.event for e in events("event: ping\ndata: {}\n\ndata: 1\n\n")] == ["ping", None]


def test_id_carries_over_and_nul_ids_are_ignored() -> None:
    body = "id: 7\ndata: a\n\ndata: b\n\nid: bad\0id\ndata: c\n\nid\ndata: d\n\n"
    assert [e.id for e in events(body)] == ["7", "7", "7", ""]


def test_retry_must_be_all_digits() -> None:
    assert [e.retry for e in events("retry: 3000\ndata: a\n\nretry: 1a\ndata: b\n\n")] == [3000, None]


def test_final_event_without_blank_line_is_still_dispatched() -> None:
    assert events("data: a\n\ndata: [DONE]\n") == [SSEEvent(None, "a"), SSEEvent(None, "[DONE]")]
    assert events("data: a\n\ndata: [DONE]") == [SSEEvent(None, "a"), SSEEvent(None, "[DONE]")]


def test_leading_bom_is_skipped_and_bytes_are_utf8() -> None:
    body = "\ufeffdata: héllo\n\n".encode()
    assert events(body) == [SSEEvent(None, "héllo")]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert events(b"data: \xff\n\n") == [SSEEvent(None, "\ufffd")]


def test_empty_body_has_no_events() -> None:
    assert events(b"") == []
    assert split_event_chunks(b"") == []


# --- raw chunks for replay --------------------------------------------------------------------------


def test_chunks_end_with_their_blank_line() -> None:
    body = b"event: a\ndata: 1\n\ndata: 2\r\n\r\ndata: 3\r\r"
    assert split_event_chunks(body) == [b"event: a\ndata: 1\n\n", b"data: 2\r\n\r\n", b"data: 3\r\r"]


def test_blocks_without_events_ride_with_the_next_event() -> None:
    body = b": comment\n\n\n\nevent: x\ndata: 1\n\n: trailing\n\n"
    # Leading junk joins the first event; trailing junk joins the last one.
    assert split_event_chunks(body) == [body]
    body2 = b"data: 1\n\n: between\n\ndata: 2\n\n"
    assert split_event_chunks(body2) == [b"data: 1\n\n", b": between\n\ndata: 2\n\n"]


def test_unterminated_final_event_is_its_own_chunk() -> None:
    body = b"data: a\n\ndata: [DONE]"
    assert split_event_chunks(body) == [b"data: a\n\n", b"data: [DONE]"]


def test_body_without_any_event_is_one_chunk() -> None:
    assert split_event_chunks(b": just a comment\n\n") == [b": just a comment\n\n"]


sse_lines = st.lists(
    st.one_of(
        st.just(""),
        st.sampled_from(["data", "data:", "data: x", "event: e", "id: 1", ": c", "retry: 5", "other: y"]),
        st.text(alphabet="da:te \t", max_size=8),
    ),
    max_size=25,
)


@settings(database=None)
@given(lines=sse_lines, newlines=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=3))
def test_chunks_always_rebuild_the_body_and_match_events(lines: list[str], newlines: list[str]) -> None:
    body = "".join(line + newlines[i % len(newlines)] for i, line in enumerate(lines)).encode()
    chunks = split_event_chunks(body)
    assert b"".join(chunks) == body
    n_events = len(events(body))
    if n_events:
        assert len(chunks) == n_events
        # Each chunk, parsed alone, yields exactly its own event.
        assert [len(events(chunk)) for chunk in chunks] == [1] * n_events


# --- real recorded streams --------------------------------------------------------------------------


def _real_streams(provider: str, endpoint: str) -> list[tuple[str, bytes]]:
    out = []
    with (REAL / "INDEX.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["provider"] == provider and endpoint in row["endpoint(s)"] and row["streaming"] == "yes":
                for x in load_interactions(REAL / row["saved_file"]):
                    if x.response.body.lstrip().startswith((b"data:", b"event:")):
                        out.append((row["saved_file"], x.response.body))
    assert out, f"no real {provider} {endpoint} streams found"
    return out


def test_real_anthropic_streams() -> None:
    for name, body in _real_streams("anthropic", "/v1/messages"):
        evs = events(body)
        assert evs[0].event == "message_start", name
        assert evs[-1].event == "message_stop", name
        for ev in evs:
            payload = json.loads(ev.data)  # padded with spaces before "}" in some recordings
            assert payload["type"] == ev.event, name
        assert len(split_event_chunks(body)) == len(evs)


def test_real_anthropic_streams_include_pings() -> None:
    names = [ev.event for _, body in _real_streams("anthropic", "/v1/messages") for ev in events(body)]
    assert "ping" in names


def test_real_openai_chat_streams_end_with_done() -> None:
    for name, body in _real_streams("openai", "/v1/chat/completions"):
        evs = events(body)
        assert evs[-1].data == "[DONE]", name
        for ev in evs[:-1]:
            assert json.loads(ev.data)["object"] == "chat.completion.chunk", name
        assert b"".join(split_event_chunks(body)) == body


def test_real_openai_responses_streams_name_their_events() -> None:
    for name, body in _real_streams("openai", "/v1/responses"):
        evs = events(body)
        assert evs[0].event == "response.created", name
        assert evs[-1].event in ("response.completed", "response.incomplete", "response.failed"), name
        assert all(json.loads(ev.data)["type"] == ev.event for ev in evs), name
