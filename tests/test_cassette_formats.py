from __future__ import annotations

import base64
import copy
import csv
import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmops.recording import formats as cassette_formats
from pytest_llmops.recording import yaml_io as cassette_yaml
from pytest_llmops.recording.formats import (
    JSON_WIDTH,
    CassetteFormatError,
    dump_interactions,
    load_interactions,
    loads_interactions,
)
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
    header,
)
from pytest_llmops.recording.sse import iter_events, split_event_chunks
from pytest_llmops.recording.yaml_emitter import FlowMap, FlowSeq, Unsupported, emit_item
from pytest_llmops.recording.yaml_fast import fast_load
from tests.real_cassettes import REAL_CASSETTES

REAL = REAL_CASSETTES
with (REAL / "INDEX.tsv").open(encoding="utf-8") as _f:
    INDEX = list(csv.DictReader(_f, delimiter="\t"))

HERE = Path("cassette.yaml")


def loads(text: str | bytes, name: str = "cassette.yaml") -> list[Interaction]:
    return loads_interactions(text, path=Path(name))


def looks_like_sse(body: bytes) -> bool:
    return body.lstrip().startswith((b"data:", b"event:", b":"))


def json_equal_or_same(a: bytes | None, b: bytes | None) -> bool:
    if a == b:
        return True
    if a is None or b is None:
        return False
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


def assert_same_interactions(got: list[Interaction], want: list[Interaction]) -> None:
    """Equal, except that JSON bodies may be re-indented and content-length follows the body."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.meta == w.meta
        pairs: list[tuple[Any, Any]] = [(g.response, w.response)]
        if w.request is None:
            assert g.request is None
        else:
            assert g.request is not None
            assert (g.request.method, g.request.uri) == (w.request.method, w.request.uri)
            pairs.append((g.request, w.request))
        for got_part, want_part in pairs:
            assert json_equal_or_same(got_part.body, want_part.body)
            strip = {"content-length"}
            assert _without(got_part.headers, strip) == _without(want_part.headers, strip)
            length = header(got_part.headers, "content-length")
            if length is not None:
                assert int(length) == len(got_part.body or b"")
        assert (g.response.status, g.response.reason) == (w.response.status, w.response.reason)


def _without(headers: dict[str, list[str]], names: set[str]) -> dict[str, list[str]]:
    return {k: v for k, v in headers.items() if k.lower() not in names}


def chat(body: bytes = b'{"model":"gpt-4o-mini","messages":[]}', **kw: Any) -> Interaction:
    response = kw.pop("response", None) or RecordedResponse(
        status=200,
        reason="OK",
        headers={"content-type": ["application/json"], "x-request-id": ["req_1"]},
        body=b'{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":3}}',
    )
    return Interaction(
        request=RecordedRequest(
            method="POST",
            uri="https://api.openai.com/v1/chat/completions",
            headers={"content-type": ["application/json"]},
            body=body,
        ),
        response=response,
        **kw,
    )


def vcr_yaml(response: str, request_body: str = "null") -> str:
    return (
        "interactions:\n- request:\n    body: " + request_body + "\n    headers: {}\n    method: POST\n"
        "    uri: https://api.openai.com/v1/chat/completions\n  response:\n" + response + "version: 1\n"
    )


# --- every real recording ---------------------------------------------------------------------------


@pytest.mark.parametrize("row", INDEX, ids=[r["saved_file"].split("/")[-1][-60:] for r in INDEX])
def test_real_cassette_loads(row: dict[str, str]) -> None:
    interactions = load_interactions(REAL / row["saved_file"])
    assert len(interactions) == int(row["n_interactions"])
    streams = 0
    for x in interactions:
        for part in (x.request, x.response):
            if part is None:
                continue
            assert all(isinstance(k, str) and isinstance(v, list) for k, v in part.headers.items())
            assert all(isinstance(s, str) for v in part.headers.values() for s in v)
            assert header(part.headers, "content-encoding") is None
            body = part.body or b""
            assert not body.startswith(b"\x1f\x8b"), "gzip left in a body"
            length = header(part.headers, "content-length")
            assert length is None or int(length) == len(body)
        if x.request is not None and x.request.body:
            assert x.request.json() is not None, "request bodies of these APIs are JSON"
        body = x.response.body
        if looks_like_sse(body):
            streams += 1
            assert list(iter_events(body)), "an SSE body without events"
            assert b"".join(split_event_chunks(body)) == body
        elif body:
            json.loads(body)  # decoded and parseable
    if row["streaming"] == "yes":
        assert streams >= 1
    else:
        assert streams == 0


@pytest.mark.parametrize("row", INDEX, ids=[r["saved_file"].split("/")[-1][-60:] for r in INDEX])
def test_real_cassette_round_trips_through_our_format(
    row: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = [x for x in load_interactions(REAL / row["saved_file"]) if x.request is not None]

    def no_fallback(data: Any) -> str:
        raise AssertionError("real traffic must not need the PyYAML emitter")

    monkeypatch.setattr(cassette_yaml, "dump_yaml", no_fallback)
    text = dump_interactions(original)
    assert fast_load(text) is not None, "our own output must take the fast path"
    assert fast_load(text) == yaml.load(text, Loader=yaml.SafeLoader)
    assert_same_interactions(loads(text), original)


def test_real_yaml_files_parse_the_same_on_the_fast_path() -> None:
    from pytest_llmops.recording.yaml_general import CassetteLoader

    taken = 0
    for row in INDEX:
        path = REAL / row["saved_file"]
        if path.suffix != ".yaml":
            continue
        text = path.read_text(encoding="utf-8")
        fast = fast_load(text)
        if fast is not None:
            taken += 1
            assert fast == yaml.load(text, Loader=CassetteLoader), path.name
    assert taken >= 1


# --- each foreign layout ----------------------------------------------------------------------------


def _load_real(fragment: str) -> list[Interaction]:
    (row,) = [r for r in INDEX if fragment in r["saved_file"]]
    return load_interactions(REAL / row["saved_file"])


def test_vcr_binary_gzip_body_is_decoded_and_header_dropped() -> None:
    raw = yaml.safe_load((REAL / INDEX[0]["saved_file"]).read_text(encoding="utf-8"))
    stored = raw["interactions"][0]["response"]["body"]["string"]
    assert isinstance(stored, bytes) and stored.startswith(b"\x1f\x8b")
    (first, *_) = load_interactions(REAL / INDEX[0]["saved_file"])
    assert first.response.body == gzip.decompress(stored)
    assert first.response.json()["object"] == "chat.completion"
    assert first.response.reason == "OK"


def test_old_httpx_layout() -> None:
    (x,) = _load_real("v1__moderation.yaml")
    assert (x.response.status, x.response.reason) == (200, "OK")
    assert x.response.json() is not None
    assert header(x.response.headers, "content-encoding") is None


def test_pydantic_parsed_body_becomes_compact_json() -> None:
    path = REAL / next(r["saved_file"] for r in INDEX if "test_openai_native_output" in r["saved_file"])
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    loaded = load_interactions(path)
    for item, x in zip(raw, loaded, strict=True):
        assert x.request is not None
        assert x.request.json() == item["request"]["parsed_body"]
        assert x.response.json() == item["response"]["parsed_body"]
        assert b": " not in x.response.body[:20]  # compact separators
        # The recorded content-length described the original bytes, not ours.
        assert header(x.request.headers, "content-length") in (None, str(len(x.request.body or b"")))


def test_query_strings_are_kept() -> None:
    x = _load_real("test_anthropic_cache_real_api")[0]
    assert x.request is not None and x.request.uri.endswith("/v1/messages?beta=true")
    assert x.request.path == "/v1/messages"


def test_aiohttp_istr_header_keys_become_plain_strings() -> None:
    (x,) = _load_real("anthropic_v1_messages_post_a6302ed3.yaml")
    assert x.request is not None
    assert type(next(iter(x.request.headers))) is str
    assert header(x.request.headers, "accept") == "application/json"
    assert x.response.status == 401


def test_unsafe_python_tags_are_refused_not_constructed(tmp_path: Path) -> None:
    text = (
        "interactions:\n- request: !!python/object/apply:os.system ['echo pwned > "
        + str(tmp_path / "x")
        + "']\nversion: 1\n"
    )
    with pytest.raises(CassetteFormatError) as info:
        loads(text)
    assert info.value.line == 2
    assert "refusing" in str(info.value)
    assert not (tmp_path / "x").exists()


def test_har_headers_bodies_and_timings() -> None:
    xs = _load_real("caches-long-system-message.har")
    assert [x.response.status for x in xs] == [200, 200]
    for x in xs:
        assert x.request is not None and x.request.json()["model"]
        assert x.response.json()["type"] == "message"
        assert x.meta.recorded_at and x.meta.recorded_at.startswith("2026-")
        assert x.meta.latency_ms is not None and x.meta.latency_ms > 0


def test_har_base64_content() -> None:
    payload = json.dumps({"ok": True}).encode()
    har = {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "request": {"method": "POST", "url": "https://x.test/v1?q=1", "headers": []},
                    "response": {
                        "status": 201,
                        "statusText": "Created",
                        "headers": [
                            {"name": "Set-Cookie", "value": "a=1"},
                            {"name": "set-cookie", "value": "b=2"},
                        ],
                        "content": {
                            "text": base64.b64encode(gzip.compress(payload)).decode(),
                            "encoding": "base64",
                        },
                    },
                }
            ],
        }
    }
    (x,) = loads(json.dumps(har), "rec.har")
    assert x.request is not None and x.request.method == "POST" and x.request.body is None
    assert x.request.uri == "https://x.test/v1?q=1"
    assert (x.response.status, x.response.reason, x.response.body) == (201, "Created", payload)
    assert x.response.headers == {"Set-Cookie": ["a=1", "b=2"]}


def test_single_interaction_json_with_lying_content_encoding() -> None:
    (x,) = _load_real("anthropic_v1_messages_post_28bbec95.json")
    raw = json.loads(
        (REAL / next(r["saved_file"] for r in INDEX if "28bbec95.json" in r["saved_file"])).read_text()
    )
    assert raw["response"]["headers"]["Content-Encoding"] == "gzip"
    assert header(x.response.headers, "content-encoding") is None
    assert x.response.body == raw["response"]["body"].encode()


def test_response_only_json() -> None:
    (x,) = _load_real("thinking-streaming.json")
    assert x.request is None
    assert x.response.is_sse and (x.response.status, x.response.reason) == (200, "OK")


def test_vcrpy_json_serializer_output_is_read() -> None:
    from vcr.request import Request
    from vcr.serialize import serialize
    from vcr.serializers import jsonserializer

    request = Request("POST", "https://api.openai.com/v1/embeddings", b'{"input":"hi"}', {"a": "b"})
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": ["application/json"]},
        "body": {"string": b'{"data":[]}'},
    }
    text = serialize({"requests": [request], "responses": [response]}, jsonserializer)
    (x,) = loads(text, "cassette.json")
    assert x.request is not None and x.request.body == b'{"input":"hi"}'
    assert x.request.headers == {"a": ["b"]}
    assert (x.response.status, x.response.body) == (200, b'{"data":[]}')


@pytest.mark.parametrize("text", ["", "\n", "interactions: []\nversion: 1\n", '{"interactions": []}'])
def test_empty_cassettes(text: str) -> None:
    assert loads(text) == []


def test_status_without_message_gets_the_standard_reason() -> None:
    (x,) = loads(vcr_yaml("    body: {string: ''}\n    headers: {}\n    status: {code: 404}\n"))
    assert (x.response.status, x.response.reason) == (404, "Not Found")
    (y,) = loads(vcr_yaml("    body: {string: ''}\n    headers: {}\n    status: {code: 529, message: ''}\n"))
    assert (y.response.status, y.response.reason) == (529, "")


# --- content encodings -----------------------------------------------------------------------------


def _binary_response(body: bytes, headers: str) -> str:
    b64 = base64.b64encode(body).decode()
    return (
        f"    body: {{string: !!binary '{b64}'}}\n    headers: {headers}\n"
        "    status: {code: 200, message: OK}\n"
    )


@pytest.mark.parametrize(
    "encode",
    [zlib.compress, lambda b: zlib.compress(b)[2:-4]],  # zlib-wrapped and raw deflate
    ids=["zlib", "raw"],
)
def test_declared_deflate_is_decoded(encode: Any) -> None:
    payload = b'{"text": "' + b"deflate me " * 20 + b'"}'
    (x,) = loads(vcr_yaml(_binary_response(encode(payload), "{Content-Encoding: [deflate]}")))
    assert x.response.body == payload and x.response.headers == {}


def test_undeclared_zlib_binary_is_sniffed() -> None:
    payload = b'{"a": 1}' * 10
    (x,) = loads(vcr_yaml(_binary_response(zlib.compress(payload), "{}")))
    assert x.response.body == payload


def test_gzip_is_sniffed_without_header_and_request_bodies_too() -> None:
    payload = b'{"model": "m"}'
    b64 = base64.b64encode(gzip.compress(payload)).decode()
    text = vcr_yaml(_binary_response(gzip.compress(payload), "{}"), request_body=f"!!binary '{b64}'")
    (x,) = loads(text)
    assert x.request is not None and x.request.body == payload
    assert x.response.body == payload


def test_gzip_archive_payload_is_not_unwrapped() -> None:
    archive = gzip.compress(b"file contents")
    (x,) = loads(vcr_yaml(_binary_response(archive, "{Content-Type: [application/gzip]}")))
    assert x.response.body == archive


def test_brotli_text_body_means_the_header_lied() -> None:
    (x,) = loads(
        vcr_yaml("    body: {string: '{}'}\n    headers: {content-encoding: [br]}\n    status: 200\n")
    )
    assert x.response.body == b"{}" and x.response.headers == {}


def test_brotli_binary_body_without_a_brotli_module(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_llmops.recording import content_encoding

    monkeypatch.setattr(content_encoding, "_optional_module", lambda *names: None)
    with pytest.raises(CassetteFormatError, match="pip install brotli") as info:
        loads(vcr_yaml(_binary_response(b"\x8b\x00\x80\xff", "{content-encoding: [br]}")))
    assert info.value.where == "interactions[0].response.body"


def test_brotli_body_is_decoded_when_brotli_is_installed() -> None:
    brotli = pytest.importorskip("brotli")
    payload = b'{"answer": 42}'
    (x,) = loads(vcr_yaml(_binary_response(brotli.compress(payload), "{content-encoding: [br]}")))
    assert x.response.body == payload and x.response.headers == {}


def test_a_body_contradicting_its_content_length_is_an_error_naming_file_and_interaction() -> None:
    response = "    body: {string: abc}\n    headers: {Content-Length: ['3'], X: ['1']}\n    status: 200\n"
    (x,) = loads(vcr_yaml(response))
    assert x.response.headers == {"Content-Length": ["3"], "X": ["1"]}
    ours = response.replace("'3'", "'99'") + "  metadata: {recorded_at: '2026-12-01T00:00:00Z'}\n"
    with pytest.raises(CassetteFormatError) as info:
        loads(vcr_yaml(ours), "cassettes/test_x.yaml")
    # Another recorder's file (no `metadata`) may have re-serialized the body: its length is not checked.
    (foreign,) = loads(vcr_yaml(response.replace("'3'", "'99'")))
    assert foreign.response.body == b"abc"
    assert str(info.value).startswith(
        "cassettes/test_x.yaml: interactions[0].response.body: the body has 3 bytes but its "
        "content-length header says 99: the file was cut off or edited."
    )
    # Recorders that store the decoded body keep the encoded length beside it: dropped, not an error.
    encoded = response.replace("'99'", "'99'").replace("X: ['1']", "X: ['1'], Content-Encoding: [gzip]")
    (y,) = loads(vcr_yaml(encoded.replace("'3'", "'99'")))
    assert y.response.headers == {"X": ["1"]}
    # A body that broke off while recording is as short as it was.
    broken = response.replace("'3'", "'99'") + "  metadata: {truncated: true}\n"
    (z,) = loads(vcr_yaml(broken))
    assert z.response.body == b"abc" and z.meta.truncated


def test_a_json_body_that_is_not_json_is_an_error_unless_it_broke_off() -> None:
    response = (
        '    body: {string: \'{"id": "chatcmpl-1", "choi\'}\n'
        "    headers: {Content-Type: [application/json]}\n    status: 200\n"
    )
    with pytest.raises(CassetteFormatError) as info:
        loads(vcr_yaml(response), "cassettes/test_x.yaml")
    assert "cassettes/test_x.yaml: interactions[0].response.body: content-type is application/json" in str(
        info.value
    )
    (x,) = loads(vcr_yaml(response + "  metadata: {error: {type: RemoteProtocolError, message: cut}}\n"))
    assert x.meta.error == {"type": "RemoteProtocolError", "message": "cut"} and x.meta.truncated is False
    # Recorded as the server sent it (the recorder marks such bodies): not damage.
    (y,) = loads(vcr_yaml(response + "  metadata: {body_not_json: true}\n"))
    assert y.meta.extra == {"body_not_json": True}


# --- malformed input --------------------------------------------------------------------------------


def test_yaml_syntax_error_names_file_and_line() -> None:
    text = "interactions:\n- request:\n    method: POST\n    uri: [unclosed\n  response: {}\n"
    with pytest.raises(CassetteFormatError) as info:
        loads(text, "cassettes/test_x.yaml")
    err = info.value
    assert err.path == Path("cassettes/test_x.yaml") and err.line is not None and 4 <= err.line <= 5
    assert str(err).startswith(f"cassettes/test_x.yaml:{err.line}: invalid YAML")


def test_json_syntax_error_names_file_and_line() -> None:
    with pytest.raises(CassetteFormatError) as info:
        loads('{\n  "request": {\n    "method": "POST",,\n', "rec.json")
    assert info.value.line == 3
    assert "rec.json:3: invalid JSON" in str(info.value)


@pytest.mark.parametrize(
    ("response", "where"),
    [
        ("    body: {string: ''}\n    headers: {}\n", "interactions[0].response.status"),
        (
            "    body: {string: ''}\n    headers: {}\n    status: {code: abc}\n",
            "interactions[0].response.status.code",
        ),
        ("    body: {string: 5}\n    headers: {}\n    status: 200\n", "interactions[0].response.body.string"),
        (
            "    body: {string: ''}\n    headers: [a, b]\n    status: 200\n",
            "interactions[0].response.headers[0]",
        ),
        (
            "    body: {string: ''}\n    headers: {a: [{x: 1}]}\n    status: 200\n",
            "interactions[0].response.headers.a",
        ),
    ],
)
def test_wrong_structure_names_the_interaction_and_field(response: str, where: str) -> None:
    with pytest.raises(CassetteFormatError) as info:
        loads(vcr_yaml(response))
    assert info.value.where == where
    assert f"cassette.yaml: {where}: " in str(info.value)


def test_error_names_the_failing_interaction_index() -> None:
    good = chat()
    text = dump_interactions([good, good]).replace("status: {code: 200, message: OK}", "status: nope", 2)
    text = text.replace("status: nope", "status: {code: 200, message: OK}", 1)
    with pytest.raises(CassetteFormatError, match=r"interactions\[1\]\.response\.status"):
        loads(text)


def test_truncated_gzip_is_reported() -> None:
    truncated = gzip.compress(b'{"a": "' + b"x" * 500 + b'"}')[:-12]
    with pytest.raises(CassetteFormatError) as info:
        loads(vcr_yaml(_binary_response(truncated, "{Content-Encoding: [gzip]}")))
    assert info.value.where == "interactions[0].response.body"
    assert "truncated" in str(info.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("- request: {}\n  response: {}\n", "pre-1.0 vcrpy"),
        ("interactions: []\nversion: 2\n", "version 2"),
        ("interactions: {a: 1}\n", "expected a list"),
        ("just a string\n", "expected a mapping"),
        ("foo: 1\nbar: 2\n", "top-level keys: foo, bar"),
        ("interactions:\n- request: {method: GET}\n  response: {status: 200}\n", "request.uri"),
    ],
)
def test_unknown_structures_are_rejected(text: str, reason: str) -> None:
    with pytest.raises(CassetteFormatError, match=reason.replace("[", r"\[")):
        loads(text)


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [("5", "expected a mapping"), ("{latency_ms: soon}", "invalid value")],
)
def test_bad_metadata_is_reported(metadata: str, reason: str) -> None:
    text = dump_interactions([chat()]).replace("version: 1\n", f"  metadata: {metadata}\nversion: 1\n")
    with pytest.raises(CassetteFormatError, match=reason) as info:
        loads(text)
    assert info.value.where == "interactions[0].metadata"


def test_file_round_trip_with_bom_and_bytes(tmp_path: Path) -> None:
    xs = [chat(meta=InteractionMeta(recorded_at="2026-11-27T23:00:00Z", latency_ms=3.25, attempts=2))]
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + dump_interactions(xs).encode())
    assert_same_interactions(load_interactions(path), xs)


def test_missing_file_is_not_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_interactions(tmp_path / "nope.yaml")


# --- our writer -------------------------------------------------------------------------------------


def test_dump_layout() -> None:
    meta = InteractionMeta(recorded_at="2026-11-27T23:00:00.123456Z", latency_ms=812.3, ttfb_ms=170.1)
    text = dump_interactions([chat(meta=meta)])
    assert text.startswith("interactions:\n- request:\n    method: POST\n    uri: https://api.openai.com/")
    # a body that fits on a line is one line
    assert (
        '    headers:\n      content-type: [application/json]\n    body: |\n      {"model": "gpt-4o-mini", "messages": []}\n'
        in text
    )
    assert "    status: {code: 200, message: OK}\n" in text
    assert (
        '    body:\n      string: |\n        {"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 3}}\n'
        in text
    )
    assert (
        "  metadata: {recorded_at: '2026-11-27T23:00:00.123456Z', latency_ms: 812.3, ttfb_ms: 170.1}\n"
        in text
    )
    assert text.endswith("version: 1\n")


def test_dump_puts_each_message_on_a_line_and_fills_short_fields() -> None:
    """JSON bodies for review: one line per message or choice however long its text, the rest filled."""
    long_text = "Refunds take five to seven working days after we receive the parcel. " * 4
    request = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": long_text},
            {"role": "user", "content": "Where is my refund?"},
        ],
        "temperature": 0.2,
        "max_tokens": 200,
    }
    answer = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1796298518, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": long_text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 45, "completion_tokens": 33, "total_tokens": 78,
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
    }  # fmt: skip
    response = RecordedResponse(
        200, "OK", {"content-type": ["application/json"]}, json.dumps(answer).encode()
    )
    text = dump_interactions([chat(body=json.dumps(request).encode(), response=response)])
    lines = text.splitlines()
    assert '      {"model": "gpt-4o-mini",' in lines  # the first member follows the bracket
    assert '       "messages": [' in lines  # several messages: each on a line of its own, lined up
    assert f'        {{"role": "system", "content": "{long_text}"}},' in lines
    assert '        {"role": "user", "content": "Where is my refund?"}],' in lines
    assert '       "temperature": 0.2, "max_tokens": 200}' in lines  # short ones filled, bracket closing
    assert any(line.startswith('        {"id": "chatcmpl-1", "object": "chat.completion",') for line in lines)
    assert not any(line.strip() in ("{", "}", "[", "]", "],", "},") for line in lines)
    choice = (
        '{"index": 0, "message": {"role": "assistant", "content": "'
        + long_text
        + '"}, "finish_reason": "stop"}'
    )
    assert any(choice in line for line in lines)
    long_lines = [line for line in lines if len(line) > 8 + JSON_WIDTH]
    assert all(long_text in line for line in long_lines), long_lines  # only a long text makes a line long
    (back,) = loads(text)
    assert back.request is not None and json.loads(back.request.body or b"") == request
    assert json.loads(back.response.body) == answer


def test_dump_fills_long_lists_of_numbers() -> None:
    vector = [round(i / 7, 6) for i in range(300)]
    response = RecordedResponse(
        200,
        "OK",
        {"content-type": ["application/json"]},
        json.dumps({"data": [{"embedding": vector}]}).encode(),
    )
    text = dump_interactions([chat(response=response)])
    assert text.count("\n") < 60  # not one number per line
    (back,) = loads(text)
    assert json.loads(back.response.body)["data"][0]["embedding"] == vector


def test_dump_keeps_sse_verbatim_and_readable() -> None:
    stream = (
        b'event: message_start\ndata: {"type":"message_start"}\n\nevent: ping\ndata: {"type": "ping"   }\n\n'
    )
    response = RecordedResponse(200, "OK", {"Content-Type": ["text/event-stream; charset=utf-8"]}, stream)
    text = dump_interactions([chat(response=response)])
    assert '        data: {"type": "ping"   }\n' in text
    (back,) = loads(text)
    assert back.response.body == stream
    assert split_event_chunks(back.response.body) == split_event_chunks(stream)


def test_dump_non_utf8_as_binary() -> None:
    blob = bytes(range(256))
    response = RecordedResponse(200, "OK", {"Content-Type": ["application/octet-stream"]}, blob)
    text = dump_interactions([chat(response=response)])
    assert "string: !!binary |" in text
    (back,) = loads(text)
    assert back.response.body == blob


def test_dump_updates_content_length_to_the_written_body() -> None:
    x = chat()
    x.response.headers["Content-Length"] = [str(len(x.response.body))]
    text = dump_interactions([x])
    (back,) = loads(text)
    assert int(back.response.headers["Content-Length"][0]) == len(back.response.body)
    assert back.response.json() == x.response.json()


def test_dump_rejects_response_only_interactions() -> None:
    with pytest.raises(ValueError, match=r"interactions\[0\] has no request"):
        dump_interactions([Interaction(request=None, response=RecordedResponse(200))])


def test_dump_is_deterministic_and_has_no_aliases() -> None:
    shared = {"content-type": ["application/json"]}
    xs = [chat(), chat()]
    for x in xs:
        assert x.request is not None
        x.request.headers = shared
    assert dump_interactions(xs) == dump_interactions(copy.deepcopy(xs))
    assert "&id" not in dump_interactions(xs)


def test_vcrpy_reads_our_cassettes() -> None:
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    stream = b'data: {"x": 1}\n\ndata: [DONE]\n\n'
    sse = RecordedResponse(200, "OK", {"content-type": ["text/event-stream"]}, stream)
    binary = RecordedResponse(
        500, "Internal Server Error", {"content-type": ["application/octet-stream"]}, b"\xff\x00"
    )
    xs = [chat(meta=InteractionMeta(latency_ms=5.0)), chat(response=sse), chat(response=binary)]
    text = dump_interactions(xs)
    requests, responses = deserialize(text, yamlserializer)[:2]
    ours = loads(text)
    assert len(requests) == len(responses) == 3
    for request, response, x, original in zip(requests, responses, ours, xs, strict=True):
        assert x.request is not None
        assert request.method == "POST" and request.uri == x.request.uri
        assert request.body == x.request.body
        assert original.request is not None and original.request.body is not None
        assert json.loads(request.body) == json.loads(original.request.body)
        assert response["status"] == {"code": original.response.status, "message": original.response.reason}
        assert response["body"]["string"] == x.response.body
        assert response["headers"] == x.response.headers
    assert responses[1]["body"]["string"] == stream


def test_hand_edited_cassette_still_loads() -> None:
    text = dump_interactions([chat()])
    edited = "# recorded by hand\n" + text.replace(
        "      content-type: [application/json]\n",
        "      content-type:\n      - application/json  # json\n",
        1,
    )
    assert fast_load(edited) is None  # comments leave the fast path ...
    assert_same_interactions(loads(edited), loads(text))  # ... and PyYAML reads it the same


def test_crlf_checkout_loads_the_same() -> None:
    text = dump_interactions([chat(meta=InteractionMeta(latency_ms=1.5))])
    assert_same_interactions(loads(text.replace("\n", "\r\n").encode()), loads(text))


# --- round trips of arbitrary interactions --------------------------------------------------------

header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True)
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"), max_size=20
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
bodies = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=60).map(str.encode),
    st.lists(st.text(alphabet="ab: \n\r\t{}\"'", max_size=12), max_size=6).map(
        lambda ls: "\n".join(ls).encode()
    ),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
)


@st.composite
def interactions(draw: st.DrawFn) -> Interaction:
    def headers() -> dict[str, list[str]]:
        names = draw(st.lists(header_names, max_size=4, unique_by=str.lower))
        return {n: draw(st.lists(header_values, min_size=1, max_size=2)) for n in names}

    content_type = draw(st.sampled_from([None, "application/json", "text/event-stream", "text/plain"]))
    response_headers = headers()
    if content_type:
        response_headers["Content-Type"] = [content_type]
    response_body = draw(bodies)
    meta = InteractionMeta(
        # Only a body that broke off may contradict its JSON content type (the loader rejects others).
        truncated=content_type == "application/json" and not _is_json(response_body),
        recorded_at=draw(st.none() | st.just("2026-11-27T23:00:00.123456Z")),
        latency_ms=draw(st.none() | st.floats(0, 1e6, allow_nan=False)),
        ttfb_ms=draw(st.none() | st.floats(0, 1e6, allow_nan=False)),
        extra=draw(st.dictionaries(st.sampled_from(["note", "attempt_ids"]), header_values, max_size=1)),
    )
    return Interaction(
        request=RecordedRequest(
            method=draw(st.sampled_from(["GET", "POST"])),
            uri="https://api.example.test/v1/x" + draw(st.sampled_from(["", "?beta=true", "?a=1&b=%20"])),
            headers=headers(),
            body=draw(st.none() | bodies),
        ),
        response=RecordedResponse(
            status=draw(st.sampled_from([200, 400, 429, 529])),
            reason=draw(st.sampled_from(["OK", "", "Too Many Requests"])),
            headers=response_headers,
            body=response_body,
        ),
        meta=meta,
    )


def _is_json(body: bytes) -> bool:
    if not body.strip():
        return True
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _rounded(meta: InteractionMeta) -> InteractionMeta:
    return InteractionMeta.from_dict(meta.to_dict())


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(xs=st.lists(interactions(), max_size=3))
def test_round_trip_and_fast_path_agree_with_pyyaml(xs: list[Interaction]) -> None:
    # Bodies must be ones the loader keeps as they are (no compression magic to sniff).
    for x in xs:
        for part in (x.request, x.response):
            if part is not None and part.body and part.body[:2] in (b"\x1f\x8b", b"\x28\xb5"):
                part.body = b"x" + part.body
            if part is not None and part.body and part.body[0] == 0x78:
                part.body = b"y" + part.body
    text = dump_interactions(xs)
    assert text == dump_interactions(copy.deepcopy(xs))
    reference = yaml.load(text, Loader=yaml.SafeLoader)
    assert fast_load(text) in (None, reference)
    back = loads(text)
    expected = [Interaction(x.request, x.response, _rounded(x.meta)) for x in xs]
    assert_same_interactions(back, expected)
    for got, want in zip(back, xs, strict=True):
        if not json_looks(want.response.body):
            assert got.response.body == want.response.body


def json_looks(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), (dict, list))
    except ValueError:
        return False


# --- the fast emitter and reader against PyYAML ------------------------------------------------------

yaml_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
yaml_leaves = (
    yaml_scalars
    | st.binary(min_size=1, max_size=30)
    | st.lists(yaml_scalars, max_size=3)
    | st.builds(FlowSeq, st.lists(yaml_scalars, max_size=3))
    | st.builds(FlowMap, st.dictionaries(st.text(max_size=6), yaml_scalars, max_size=3))
)
yaml_items = st.recursive(
    st.dictionaries(st.text(max_size=8) | st.integers(), yaml_leaves, min_size=1, max_size=4),
    lambda inner: st.dictionaries(st.text(max_size=8), inner | yaml_leaves, min_size=1, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None, database=None)
@given(item=yaml_items)
def test_emitter_output_loads_back_exactly(item: dict[str, Any]) -> None:
    try:
        text = "interactions:\n" + emit_item(item) + "version: 1\n"
    except Unsupported:
        return
    expected = {"interactions": [item], "version": 1}
    assert yaml.load(text, Loader=yaml.SafeLoader) == expected
    assert yaml.load(text, Loader=yaml.CSafeLoader) == expected
    assert fast_load(text) in (None, expected)


def test_items_the_emitter_cannot_write_go_through_pyyaml() -> None:
    stream = b"data: 1\n\ndata: [DONE]\n\n"
    odd = chat(response=RecordedResponse(200, "OK", {"x" * 1001: ["long name"]}, stream))
    nested = chat(meta=InteractionMeta(latency_ms=2.0, extra={"retries": {"count": 2, "codes": [429, 529]}}))
    xs = [odd, nested, chat()]
    for x in xs[:2]:
        with pytest.raises(Unsupported):
            emit_item(cassette_formats._interaction_data(x, 0))
    text = dump_interactions(xs)
    assert "\n...\n" not in text
    assert_same_interactions(loads(text), xs)
    assert loads(text)[0].response.body == stream


def _plain_data(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_data(v) for v in value]
    return value


@settings(max_examples=300, deadline=None, database=None)
@given(
    item=yaml_items,
    width=st.sampled_from([20, 80, 100_000]),
    flow=st.sampled_from([False, None]),
    unicode=st.booleans(),
)
def test_fast_reader_agrees_with_pyyaml_on_other_writers_styles(
    item: dict[str, Any], width: int, flow: bool | None, unicode: bool
) -> None:
    # vcrpy and other recorders write with PyYAML defaults: block lists, folded long lines, escapes.
    data = {"interactions": [_plain_data(item)], "version": 1}
    text = yaml.dump(
        data, Dumper=yaml.SafeDumper, width=width, default_flow_style=flow, allow_unicode=unicode
    )
    assert fast_load(text) in (None, yaml.load(text, Loader=yaml.SafeLoader))


def test_vcrpy_reads_our_dumps_of_every_real_cassette() -> None:
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    for row in INDEX:
        xs = [x for x in load_interactions(REAL / row["saved_file"]) if x.request is not None]
        text = dump_interactions(xs)
        requests, responses = deserialize(text, yamlserializer)[:2]
        ours = loads(text)
        assert [r["status"]["code"] for r in responses] == [x.response.status for x in xs], row["saved_file"]
        assert [r["body"]["string"] for r in responses] == [x.response.body for x in ours]
        assert [r.body for r in requests] == [x.request.body for x in ours if x.request]


def test_binary_bytes_that_only_look_like_zlib_stay_as_they_are() -> None:
    # 0x88 0xf5 passes zlib's header check, but nothing declared an encoding and it does not inflate.
    x = Interaction(
        request=RecordedRequest(
            method="POST", uri="https://api.example.test/v1/x", headers={}, body=b"\x88\xf5\x00"
        ),
        response=RecordedResponse(status=200, reason="OK", headers={}, body=b""),
        meta=InteractionMeta(),
    )
    (back,) = loads(dump_interactions([x]))
    assert back.request.body == b"\x88\xf5\x00"


@pytest.mark.parametrize(
    "text", ["\tindented by a tab\nsecond line\n", "\t\n\tx\n", "\tno newline at the end\nok"]
)
def test_a_block_starting_with_a_tab_loads_with_libyaml_too(text: str) -> None:
    """libyaml will not guess a block's indentation from a line that starts with a tab: the emitter says it."""
    item = {"body": text}
    out = "interactions:\n" + emit_item(item) + "version: 1\n"
    expected = {"interactions": [item], "version": 1}
    assert yaml.load(out, Loader=yaml.CSafeLoader) == expected
    assert yaml.load(out, Loader=yaml.SafeLoader) == expected
    assert fast_load(out) in (None, expected)


def test_not_printable_is_exactly_what_printable_leaves_out() -> None:
    """The emitter's classes are written as the complement of PRINTABLE (which compiles ~1000x faster
    than `[^PRINTABLE]`); every code point must fall on the same side."""
    import re

    from pytest_llmops.recording import yaml_emitter

    every = "".join(map(chr, range(0x110000)))
    negated = re.compile(f"[^{yaml_emitter.PRINTABLE}]")
    complement = re.compile(f"[{yaml_emitter.NOT_PRINTABLE}]")
    assert [m.start() for m in complement.finditer(every)] == [m.start() for m in negated.finditer(every)]
    escaped = [m.start() for m in yaml_emitter._NEEDS_ESCAPE.finditer(every)]
    assert escaped == sorted([m.start() for m in negated.finditer(every)] + [ord('"'), ord("\\")])
    not_literal = [
        m.start() for m in yaml_emitter._NOT_LITERAL.finditer(every.replace("\n", "").replace("\t", ""))
    ]
    assert len(not_literal) == len(negated.findall(every)) - 2  # all but the tab and the newline
