"""Uploads (multipart/form-data: audio transcriptions, files) replay from their cassettes.

Every client draws a new random boundary per request, so the same upload is other bytes on every run;
before, no such request could ever replay. The bodies below are built by the real libraries.
"""

from __future__ import annotations

import json
import re
import struct

import httpx2
import pytest

from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.recording.matching import Matcher
from pytest_llmops.recording.multipart import form_fields, parse_form
from pytest_llmops.simulator import ProviderSimulator
from pytest_llmops.spend.pricing import price_call
from pytest_llmops.spend.providers import builtin_parse_call

requests = pytest.importorskip("requests")
aiohttp = pytest.importorskip("aiohttp")

URL = "http://127.0.0.1:9/v1/audio/transcriptions"


def wav(seconds: float, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV file of silence, `seconds` long."""
    data = b"\x00\x00" * int(seconds * rate)
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVE"
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def httpx_body(audio: bytes, **fields: str) -> bytes:
    request = httpx2.Request(
        "POST", URL, data={"model": "whisper-1", **fields}, files={"file": ("call.wav", audio, "audio/wav")}
    )
    return request.read()


def requests_body(audio: bytes, **fields: str) -> bytes:
    prepared = requests.Request(
        "POST", URL, data={"model": "whisper-1", **fields}, files={"file": ("call.wav", audio, "audio/wav")}
    ).prepare()
    assert isinstance(prepared.body, bytes)
    return prepared.body


@pytest.mark.parametrize("build", [httpx_body, requests_body])
def test_the_same_upload_matches_whatever_its_boundary(build) -> None:  # type: ignore[no-untyped-def]
    audio = wav(0.5)
    first, second = build(audio), build(audio)
    assert first != second  # a new random boundary each time
    matcher = Matcher.build()
    assert matcher.canonical_body(first) == matcher.canonical_body(second)
    # ... and the two libraries' forms of one upload are one request
    assert matcher.canonical_body(first) == matcher.canonical_body(httpx_body(audio))
    assert matcher.canonical_body(build(audio + b"\x01")) != matcher.canonical_body(first)  # another file
    assert matcher.canonical_body(build(audio, language="fr")) != matcher.canonical_body(
        first
    )  # another field


def test_parts_are_read_exactly() -> None:
    audio = wav(0.1) + b"\r\n--not-a-boundary\r\n"  # bytes that look like framing stay content
    parts = parse_form(httpx_body(audio, prompt="line one\r\nline two"))
    assert parts is not None
    by_name = {p.name: p for p in parts}
    assert by_name["file"].filename == "call.wav" and by_name["file"].content_type == "audio/wav"
    assert by_name["file"].content == audio
    assert by_name["prompt"].content == b"line one\r\nline two"
    assert form_fields(httpx_body(audio, prompt="hi")) == {"model": "whisper-1", "prompt": "hi"}
    assert form_fields(requests_body(b"", prompt="")) == {"model": "whisper-1", "prompt": ""}  # empty parts


def test_ignored_fields_and_text_files() -> None:
    matcher = Matcher.build(ignore=["prompt"])
    a = httpx_body(b"hello", prompt="one")
    b = httpx_body(b"hello", prompt="two")
    assert matcher.canonical_body(a) == matcher.canonical_body(b)
    # A small UTF-8 file is matched (and shown in a miss's diff) by its text.
    assert '"text":"hello"' in Matcher.build().canonical_body(a)
    assert '"sha256"' in Matcher.build().canonical_body(httpx_body(wav(0.1)))


@pytest.mark.parametrize(
    "body",
    [
        b'--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--abc',  # no closing delimiter
        b"--abc\r\nContent-Type: text/plain\r\n\r\n1\r\n--abc--\r\n",  # a part without a name
        b"-- just text\r\n",
        b"plain text",
    ],
)
def test_other_bodies_are_not_forms(body: bytes) -> None:
    assert parse_form(body) is None
    assert Matcher.build().canonical_body(body) == body.decode()


def _interaction(request_body: bytes, response: dict[str, object]) -> Interaction:
    return Interaction(
        request=RecordedRequest(
            "POST", URL, {"content-type": "multipart/form-data; boundary=x"}, request_body
        ),
        response=RecordedResponse(
            200, "OK", {"content-type": "application/json"}, json.dumps(response).encode()
        ),
        meta=InteractionMeta(recorded_at="2026-12-01T00:00:00Z"),
    )


def test_a_transcription_by_tokens_is_priced_with_its_audio_tokens() -> None:
    usage = {
        "type": "tokens",
        "input_tokens": 120,
        "input_token_details": {"text_tokens": 20, "audio_tokens": 100},
        "output_tokens": 30,
        "total_tokens": 150,
    }
    body = httpx_body(b"x", model="gpt-4o-transcribe")
    call = builtin_parse_call(_interaction(body, {"text": "hi", "usage": usage}))
    assert call is not None
    assert (call.provider, call.endpoint, call.request_model) == (
        "openai",
        "/v1/audio/transcriptions",
        "gpt-4o-transcribe",
    )
    assert (call.input_tokens, call.output_tokens, call.extra["input_audio_tokens"]) == (120, 30, 100)
    cost = price_call(call)
    # gpt-4o-transcribe: audio in $6, text in $2.50, out $10 per million tokens; audio priced as text would be less
    assert cost == pytest.approx((100 * 6 + 20 * 2.5 + 30 * 10) / 1e6)


def test_a_whisper_transcription_keeps_its_duration_and_claims_no_cost() -> None:
    call = builtin_parse_call(
        _interaction(httpx_body(b"x"), {"text": "hi", "usage": {"type": "duration", "seconds": 9}})
    )
    assert call is not None and call.request_model == "whisper-1"
    assert call.extra["audio_seconds"] == 9
    assert not call.has_usage and price_call(call) is None  # billed by the minute: unknown, not $0
    as_text = _interaction(httpx_body(b"x"), {})
    as_text.response = RecordedResponse(200, "OK", {"content-type": "text/plain"}, b"hi\n")
    plain = builtin_parse_call(as_text)  # response_format=text: no usage at all
    assert plain is not None and plain.extra == {} and price_call(plain) is None


def test_the_simulator_answers_transcriptions_as_the_api_does(sim: ProviderSimulator) -> None:
    from openai import BadRequestError, OpenAI

    client = OpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0)
    said = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.txt", b"Where is my order?")
    )
    assert said.text == "Where is my order?"
    assert said.usage is not None and said.usage.type == "tokens"
    verbose = client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", wav(3.0)), response_format="verbose_json"
    )
    assert verbose.duration == 3.0 and verbose.usage is not None and verbose.usage.type == "duration"
    srt = client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", wav(3.0)), response_format="srt"
    )
    assert "00:00:00,000 --> 00:00:03,000" in srt
    with pytest.warns(DeprecationWarning):  # the SDK marks translations deprecated; the API serves them
        translated = client.audio.translations.create(model="whisper-1", file=("a.txt", b"Bonjour"))
    assert translated.text == "Bonjour"
    with pytest.raises(BadRequestError, match="not compatible with model 'gpt-4o-transcribe'"):
        client.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=("a.wav", wav(1.0)), response_format="verbose_json"
        )
    with (
        pytest.raises(BadRequestError, match="only available with whisper-1"),
        pytest.warns(DeprecationWarning),
    ):
        client.audio.translations.create(model="gpt-4o-transcribe", file=("a.wav", wav(1.0)))
    sent_json = httpx2.post(
        sim.url + "/v1/audio/transcriptions",
        json={"model": "whisper-1"},
        headers={"authorization": "Bearer x"},
    )
    assert (
        sent_json.status_code == 400
        and "expected multipart/form-data" in sent_json.json()["error"]["message"]
    )


INNER = """
import asyncio, os, struct
import aiohttp, pytest, requests
from openai import AsyncOpenAI, OpenAI

URL = os.environ["SIM_URL"]
AUDIO = os.environ.get("AUDIO", "Where is my order 1234? It has not arrived.").encode()

@pytest.mark.llm
def test_openai_sync():
    client = OpenAI(base_url=URL + "/v1", max_retries=0)
    out = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("said.txt", AUDIO))
    print("SAW sync", out.text, out.usage.output_tokens)

@pytest.mark.llm
def test_openai_async_text_format():
    async def main():
        client = AsyncOpenAI(base_url=URL + "/v1", max_retries=0)
        return await client.audio.transcriptions.create(
            model="whisper-1", file=("said.txt", AUDIO), response_format="text"
        )
    print("SAW async", repr(asyncio.run(main())))

@pytest.mark.llm
def test_openai_stream(llm_usage):
    client = OpenAI(base_url=URL + "/v1", max_retries=0)
    events = client.audio.transcriptions.create(
        model="gpt-4o-mini-transcribe", file=("said.txt", AUDIO), stream=True
    )
    kinds = [event.type for event in events]
    call = llm_usage.calls[0]
    print("SAW stream", kinds, call.stream, call.output_tokens, call.estimated)

@pytest.mark.llm
def test_requests_upload():
    answer = requests.post(
        URL + "/v1/audio/transcriptions",
        headers={"authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "none")},
        data={"model": "whisper-1"},
        files={"file": ("said.txt", AUDIO, "text/plain")},
    )
    print("SAW requests", answer.status_code, answer.json())

@pytest.mark.llm
def test_aiohttp_upload():
    async def main():
        form = aiohttp.FormData()
        form.add_field("model", "whisper-1")
        form.add_field("file", AUDIO, filename="said.txt", content_type="text/plain")
        async with aiohttp.ClientSession() as session:
            async with session.post(
                URL + "/v1/audio/transcriptions",
                data=form,
                headers={"authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "none")},
            ) as answer:
                return answer.status, await answer.json()
    print("SAW aiohttp", *asyncio.run(main()))
"""


def _saw(text: str) -> list[str]:
    """What each inner test's app saw (after the progress dots, on the line -s shares with them)."""
    return sorted(found.group(0) for found in map(re.compile(r"SAW .*$").search, text.splitlines()) if found)


def test_uploads_record_then_replay_offline_through_four_clients_and_a_stream(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_pytester.makepyfile(test_uploads=INNER)
    live = llm_pytester.runpytest("-s", "--llm-eval", "--llm-record=once")
    live.assert_outcomes(passed=5)
    assert len(sim.requests) == 5
    seen_live = _saw(live.stdout.str())
    assert len(seen_live) == 5
    stream = next(line for line in seen_live if line.startswith("SAW stream"))
    assert all("Where is my order 1234?" in line for line in seen_live if line != stream)
    # a stream stays a stream; its usage is the done event's, not an estimate
    assert re.fullmatch(
        r"SAW stream \['transcript.text.delta', .*'transcript.text.done'\] True \d+ False", stream
    )
    text = (llm_pytester.path / "cassettes" / "test_uploads" / "test_openai_sync.yaml").read_text()
    assert with_keys["OPENAI_API_KEY"] not in text

    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    replay = llm_pytester.runpytest("-s", "--llm-eval", "--llm-block-network")
    replay.assert_outcomes(passed=5)
    assert sim.requests == []
    assert _saw(replay.stdout.str()) == seen_live
    replay.stdout.fnmatch_lines(["*app calls: 5 (5 replayed, 0 live)*", "*cassettes: 5 played*0 misses*"])

    # Another upload is another request: a miss that shows which field changed.
    monkeypatch.setenv("AUDIO", "Where is my parcel?")
    missed = llm_pytester.runpytest("--llm-eval", "--llm-block-network", "-k", "openai_sync")
    missed.assert_outcomes(failed=1)
    assert sim.requests == []
    missed.stdout.fnmatch_lines(
        [
            "*No recorded response for POST /v1/audio/transcriptions (model gpt-4o-transcribe)*",
            "*diff of the form fields:*",
            '*-*"text": "Where is my order 1234? It has not arrived."*',
            '*+*"text": "Where is my parcel?"*',
        ]
    )


def test_a_streamed_transcription_is_priced_from_its_done_event_and_unknown_when_cut_before_it() -> None:
    delta = b'data: {"type":"transcript.text.delta","delta":"Where is "}\n\n'
    usage = {
        "type": "tokens",
        "input_tokens": 40,
        "input_token_details": {"audio_tokens": 40},
        "output_tokens": 5,
    }
    done = (
        b"data: "
        + json.dumps({"type": "transcript.text.done", "text": "Where is it", "usage": usage}).encode()
    )
    body = httpx_body(b"x", model="gpt-4o-mini-transcribe", stream="true")

    def parsed(events: bytes):  # type: ignore[no-untyped-def]
        interaction = _interaction(body, {})
        interaction.response = RecordedResponse(200, "OK", {"content-type": "text/event-stream"}, events)
        call = builtin_parse_call(interaction)
        assert call is not None and call.stream
        return call

    whole = parsed(delta + done + b"\n\n")
    assert (whole.input_tokens, whole.output_tokens, whole.extra["input_audio_tokens"]) == (40, 5, 40)
    cut = parsed(delta)
    assert not cut.has_usage and not cut.estimated and price_call(cut) is None
