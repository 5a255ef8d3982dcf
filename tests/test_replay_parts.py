"""What every interception builds a replayed response from: prepared once per recording when the cassette
is indexed, with the per-run retry rule applied on use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmops.recording.cassette import Cassette, RecordMode
from pytest_llmops.recording.formats import dump_interactions
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.recording.matching import Matcher
from pytest_llmops.recording.secrets import Scrubber
from pytest_llmops.recording.transport import (
    Recorder,
    RecordPolicy,
    prepare_replay,
    replay_parts,
)

SSE = b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n'


def interaction(
    status: int = 200, headers: dict[str, list[str]] | None = None, body: bytes = b"{}"
) -> Interaction:
    return Interaction(
        RecordedRequest("POST", "https://api.openai.com/v1/chat/completions", {}, b'{"q":1}'),
        RecordedResponse(status, "OK", headers or {"Content-Type": ["application/json"]}, body),
    )


def test_a_plain_body_gets_its_length_and_loses_hop_headers() -> None:
    parts = prepare_replay(
        interaction(
            headers={
                "Content-Type": ["application/json"],
                "Transfer-Encoding": ["chunked"],
                "Content-Length": ["999"],
                "x-request-id": ["r1", "r2"],
            },
            body=b'{"ok":true}',
        )
    )
    assert parts.headers == [
        ("Content-Type", "application/json"),
        ("x-request-id", "r1"),
        ("x-request-id", "r2"),
        ("content-length", "11"),
    ]
    assert parts.chunks == [b'{"ok":true}'] and not parts.streamed and parts.error is None


def test_a_stream_is_served_event_by_event_without_a_length() -> None:
    parts = prepare_replay(
        interaction(headers={"content-type": ["text/event-stream; charset=utf-8"]}, body=SSE)
    )
    assert parts.streamed and b"".join(parts.chunks) == SSE and len(parts.chunks) == 3
    assert all(name.lower() != "content-length" for name, _ in parts.headers)


def test_a_recording_that_broke_off_keeps_its_error_and_has_no_length() -> None:
    cut = interaction(body=b'{"choices": [')
    cut.meta = InteractionMeta(truncated=True, error={"type": "ClientPayloadError", "message": "cut"})
    parts = prepare_replay(cut)
    assert parts.error == {"type": "ClientPayloadError", "message": "cut"}
    assert parts.chunks == [b'{"choices": [']
    assert all(name.lower() != "content-length" for name, _ in parts.headers)


def test_retry_waits_are_shortened_in_replay_unless_turned_off() -> None:
    limited = interaction(429, {"content-type": ["application/json"], "Retry-After": ["20"]}, b'{"error":{}}')
    fast = replay_parts(limited, RecordPolicy())
    assert ("retry-after-ms", "1") in fast.headers and all(k != "Retry-After" for k, _ in fast.headers)
    slow = replay_parts(limited, RecordPolicy(fast_replay_retries=False))
    assert ("Retry-After", "20") in slow.headers and ("retry-after-ms", "1") not in slow.headers
    prepared = prepare_replay(limited)
    assert replay_parts(limited, RecordPolicy(), prepared).headers == fast.headers
    assert ("Retry-After", "20") in prepared.headers  # the prepared form is not changed by a use


def test_the_recorder_replays_what_the_cassette_prepared_when_indexed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(dump_interactions([interaction(body=b'{"n":1}'), interaction(body=b'{"n":2}')]), "utf-8")
    cassette = Cassette(path, RecordMode.NONE, Matcher.build(), Scrubber())
    recorder = Recorder(
        cassette=cassette,
        rerecord_command=lambda: "",
        on_replay=lambda index, interaction: None,
        on_live=lambda index, interaction, ticket: None,
    )
    first = recorder.lookup(interaction().request)  # type: ignore[arg-type]
    assert first is not None and len(cassette.prepared) == 2
    parts = recorder.replay_parts(*first)
    assert parts is cassette.prepared[first[0]] and json.loads(parts.chunks[0]) == {"n": 1}


def test_a_recorded_error_is_raised_again_as_the_library_class_of_that_name() -> None:
    import aiohttp
    import urllib3

    from pytest_llmops.recording.transports import aiohttp as via_aiohttp
    from pytest_llmops.recording.transports import urllib3 as via_urllib3

    kit = via_aiohttp._Kit(aiohttp)
    for name, expected in [
        ("ClientPayloadError", aiohttp.ClientPayloadError),
        ("ServerDisconnectedError", aiohttp.ServerDisconnectedError),
        ("ClientConnectorError", aiohttp.ClientPayloadError),  # needs more than a message to be made
        ("ValueError", aiohttp.ClientPayloadError),  # not an aiohttp error
        ("NoSuchError", aiohttp.ClientPayloadError),
    ]:
        exc = kit._failure({"type": name, "message": "Response payload is not completed"})
        assert type(exc) is expected and "not completed" in str(exc), name
    for name, expected in [
        ("ProtocolError", urllib3.exceptions.ProtocolError),
        ("ReadTimeoutError", urllib3.exceptions.ProtocolError),
        ("DecodeError", urllib3.exceptions.DecodeError),
        ("NoSuchError", urllib3.exceptions.ProtocolError),
    ]:
        exc = via_urllib3._failure({"type": name, "message": "Connection broken: IncompleteRead"})
        assert type(exc) is expected and "IncompleteRead" in str(exc), name


def test_a_replayed_urllib3_body_raises_after_its_chunks() -> None:
    import urllib3

    from pytest_llmops.recording.transports.urllib3 import _RecordedBody

    body = _RecordedBody([b"data: 1\n\n", b"data: 2\n\n"], urllib3.exceptions.ProtocolError("cut"))
    assert body.read(100) == b"data: 1\n\n" and not body.isclosed()
    assert body.read(4) == b"data" and body.read(100) == b": 2\n\n"
    with pytest.raises(urllib3.exceptions.ProtocolError, match="cut"):
        body.read(100)
    assert body.isclosed() and body.read(100) == b""
    whole = _RecordedBody([b"partial"], urllib3.exceptions.ProtocolError("cut"))
    with pytest.raises(urllib3.exceptions.ProtocolError):  # read() to the end meets the break, as live
        whole.read()
