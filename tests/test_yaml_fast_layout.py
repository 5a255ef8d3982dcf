"""The reader specialised to our writer's layout (`yaml_fast._ITEM`) against PyYAML.

Our own files must take the whole-item path; any file, edited by hand in any way, must load to exactly
what PyYAML builds from it (or leave the fast reader for PyYAML), and to the same interactions or the
same error as reading PyYAML's data would give.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmops.recording import yaml_fast
from pytest_llmops.recording.errors import CassetteFormatError
from pytest_llmops.recording.formats import dump_interactions, load_interactions, loads_interactions
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)
from pytest_llmops.recording.layouts import interactions_from_data
from pytest_llmops.recording.yaml_fast import fast_load
from pytest_llmops.recording.yaml_general import CassetteLoader
from tests.real_cassettes import REAL_CASSETTES
from tests.test_cassette_formats import INDEX, interactions

HERE = Path("cassette.yaml")
SSE = (
    b'data: {"id":"c1","choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b'data: {"id":"c1","choices":[{"delta":{"content":"lo \xe2\x9c\x93"}}]}\n\n'
    b"data: [DONE]\n\n"
)


def _x(
    response_body: bytes,
    content_type: str = "application/json",
    request_body: bytes | None = b'{"model": "m", "messages": []}',
    *,
    encoding: bool = False,
    **meta: Any,
) -> Interaction:
    headers = {"content-type": [content_type], "openai-processing-ms": ["9"], "x-reset": ["6ms"]}
    if encoding:  # a gzip body as vcrpy keeps it: the server's bytes, content-encoding listed
        headers["content-encoding"] = ["gzip"]
    return Interaction(
        request=RecordedRequest(
            method="POST",
            uri="https://api.openai.com/v1/chat/completions?beta=true",
            headers={"content-type": ["application/json"], "x-stainless-retry-count": ["0"]},
            body=request_body,
        ),
        response=RecordedResponse(
            status=200,
            reason="OK",
            headers=headers,
            body=response_body,
        ),
        meta=InteractionMeta(recorded_at="2026-12-03T11:40:31.002849Z", latency_ms=11.661, **meta),
    )


SAMPLES = [
    _x(
        b'{"id": "chatcmpl-1", "choices": [{"message": {"content": "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe6\x97\xa5"}}]}'
    ),
    _x(SSE, "text/event-stream"),
    _x(b"\x89PNG\r\n\x1a\n\x00\x01binary", "image/png", request_body=None),
    _x(gzip.compress(b'{"a": 1}', mtime=0), request_body=b"", encoding=True),
    _x(b"", request_body=b"  leading spaces\n\n\ntrailing blank lines\n\n"),
    _x(b"no newline at the end\nsecond line", "text/plain", request_body=b"\none\ntwo\n"),
    _x(b'{"a": 1}', ttfb_ms=1.5, attempts=2, extra={"note": "it's"}),
]


def _general_items(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the items the general reader had to read (`mapping` of an item's keys, at column 2)."""
    calls: list[int] = []
    general = yaml_fast._Reader.mapping

    def spy(self: Any, indent: int, first: int | None = None) -> Any:
        if indent == 2:
            calls.append(self.pos)
        return general(self, indent, first)

    monkeypatch.setattr(yaml_fast._Reader, "mapping", spy)
    return calls


def _reference(text: str) -> Any:
    return yaml.load(text, Loader=CassetteLoader)


def _same_as_pyyaml(text: str) -> None:
    """fast_load is PyYAML's data or None; loads_interactions gives PyYAML's interactions or its error."""
    try:
        reference = _reference(text)
    except yaml.YAMLError:
        try:
            pure = yaml.load(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            assert fast_load(text) is None
            with pytest.raises(CassetteFormatError, match="invalid YAML"):
                loads_interactions(text, path=HERE)
            return
        # libyaml refuses a tab right after a block scalar's detected indentation, which the YAML spec
        # and PyYAML's own reader accept: the fast reader reads it as PyYAML does (or leaves it).
        assert fast_load(text) in (None, pure)
        return
    assert fast_load(text) in (None, reference)
    try:
        want: Any = interactions_from_data(reference, HERE)
    except CassetteFormatError as exc:
        want = str(exc)
    try:
        got: Any = loads_interactions(text, path=HERE)
    except CassetteFormatError as exc:
        got = str(exc)
    assert got == want


def test_our_files_take_the_whole_item_path(monkeypatch: pytest.MonkeyPatch) -> None:
    text = dump_interactions(SAMPLES)
    general = _general_items(monkeypatch)
    data = fast_load(text)
    assert general == []
    assert data == yaml.load(text, Loader=yaml.SafeLoader)
    assert loads_interactions(text, path=HERE) == interactions_from_data(data, HERE)


def test_real_recordings_rewritten_by_us_take_the_whole_item_path(monkeypatch: pytest.MonkeyPatch) -> None:
    general = _general_items(monkeypatch)
    for row in INDEX:
        xs = [x for x in load_interactions(REAL_CASSETTES / row["saved_file"]) if x.request is not None]
        text = dump_interactions(xs)
        before = len(general)
        assert fast_load(text) == yaml.load(text, Loader=yaml.SafeLoader), row["saved_file"]
        # Only a header with several values (set-cookie, vary) makes the writer leave the one-line layout.
        multi = sum(
            any(len(v) > 1 for part in (x.request, x.response) if part for v in part.headers.values())
            for x in xs
        )
        assert len(general) - before == multi, row["saved_file"]


def test_items_off_the_layout_are_read_by_the_general_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    xs = [SAMPLES[0], SAMPLES[1], SAMPLES[0]]
    text = dump_interactions(xs)
    starts = [i + 1 for i in range(len(text)) if text.startswith("\n- request:", i)]
    first, second = starts[1], starts[2]
    # The second item gets a key our writer never writes, and a header with two values.
    middle = text[first:second].replace("  response:\n", "  note: by hand\n  response:\n")
    middle = middle.replace("      x-reset: [6ms]\n", "      x-reset:\n      - 6ms\n      - 7ms\n")
    edited = text[:first] + middle + text[second:]
    general = _general_items(monkeypatch)
    data = fast_load(edited)
    assert general == [first]
    assert data == yaml.load(edited, Loader=yaml.SafeLoader)
    assert data["interactions"][1]["note"] == "by hand"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # Block content indented deeper (or less) than our writer's two spaces.
        ("    body: |\n      {", "    body: |\n        {"),
        ("      string: |\n        {", "      string: |\n          {"),
        ("      string: |\n        {", "      string: |4\n            {"),
        ("      string: |\n        {", "      string: |2\n          {"),
        ("      string: |\n        {", "      string: |-\n        {"),
        ("      string: |\n        {", "      string: |+\n        {"),
        ("      string: |\n        {", "      string: >\n        {"),
        ("      string: |\n        {", "      string: |  # c\n        {"),
        ("      string: |\n        {", "      string: |\n\n        {"),
        ("      string: |\n        {", "      string: |\n        \n        {"),
        ("      string: |\n        {", "      string: |\n         \n        {"),
        ("      string: |\n        {", "      string: |\n   \n        {"),
        ('": 1}\n', '": 1}  \n'),
        ('": 1}\n', '": 1}\n          \n'),
        ('": 1}\n', '": 1}\n\n\n'),
        ('": 1}\n', '": 1}\n\t\n'),
        ("      string: |\n        {", "      string: |\n        \t{"),
        ("      string: |\n        {", "      string: |2\n        \t{"),
        # Scalars and flow values in other styles.
        ("    method: POST\n", "    method: 'POST'\n"),
        ("    method: POST\n", '    method: "P\\x4FST"\n'),
        ("    method: POST\n", "    method: POST  # verb\n"),
        ("    method: POST\n", "    method: POST \n"),
        ("    method: POST\n", "    method:   POST\n"),
        ("    method: POST\n", "    method: [POST]\n"),
        ("    method: POST\n", "    method: yes\n"),
        ("    uri: https:", "    uri: https: "),
        ("[application/json]", "['application/json']"),
        ("[application/json]", '["application/json"]'),
        ("[application/json]", "[ application/json ]"),
        ("[application/json]", "[application/json, text/plain]"),
        ("[application/json]", "[]"),
        ("[application/json]", "[on]"),
        ("['9']", "[9]"),
        ("['9']", "[0x9]"),
        ("['9']", "[9.0]"),
        ("['9']", "['9''']"),
        ("[6ms]", "[2026-12-03]"),
        ("      content-type:", "      on:"),
        ("      content-type:", "      'content-type':"),
        ("      content-type:", "      Content-Type:"),
        ("{code: 200, message: OK}", "{code: 200, message: 'OK'}"),
        ("{code: 200, message: OK}", "{message: OK, code: 200}"),
        ("{code: 200, message: OK}", "{code: '200', message: OK}"),
        ("{code: 200, message: OK}", "{code: 200, message: OK} # x"),
        ("{code: 200, message: OK}", "{code: 200}"),
        ("    status: {code: 200, message: OK}\n", "    status:\n      code: 200\n      message: OK\n"),
        ("latency_ms: 11.661", "latency_ms: 1_1.661"),
        ("latency_ms: 11.661", "latency_ms: 11"),
        ("latency_ms: 11.661", "latency_ms: 1e3"),
        ("latency_ms: 11.661", "latency_ms: 1.0e+3"),
        ("latency_ms: 11.661", "latency_ms: .5"),
        ("latency_ms: 11.661", "latency_ms: 0o17"),
        ("latency_ms: 11.661", "latency_ms: 017"),
        ("latency_ms: 11.661", "latency_ms: -0"),
        ("latency_ms: 11.661", "latency_ms: 1:30"),
        ("latency_ms: 11.661", "latency_ms: .inf"),
        ("latency_ms: 11.661", "latency_ms: ~"),
        # Structure: keys moved, added, removed, indented, blank and comment lines, documents.
        (
            "    headers:\n      content-type: [application/json]\n      x-stainless",
            "    headers: {}\n    x: [1]\n      x-stainless",
        ),
        ("  response:\n", "  extra: 1\n  response:\n"),
        ("  response:\n", "\n  response:\n"),
        ("  response:\n", "  # c\n  response:\n"),
        ("  response:\n", "   response:\n"),
        ("  metadata: {", "    metadata: {"),
        ("  metadata: {", "  metadata:   {"),
        ("  metadata: {recorded_at", "  metadata: {x: {y: 1}, recorded_at"),
        ("    body:\n      string:", "    body:\n      encoding: utf-8\n      string:"),
        ("    body:\n      string:", "    content:\n      string:"),
        ("- request:\n    method: POST\n    uri", "- request:\n    uri"),
        ("- request:\n", "-   request:\n"),
        ("- request:\n", "- request:  \n"),
        ("- request:\n", "- request: \n"),
        ("- request:\n", "- ? request\n  :\n"),
        ("- request:\n", "-\n  request:\n"),
        ("- request:\n", "---\n- request:\n"),
        ("version: 1\n", "version: 1\n---\nversion: 2\n"),
        ("version: 1\n", "version: 1\n...\n"),
        ("version: 1\n", "interactions: []\nversion: 1\n"),
        ("version: 1\n", "  version: 1\n"),
        ("interactions:\n", "interactions:  \n"),
        ("interactions:\n", "interactions: # all\n"),
        ("interactions:\n", "%YAML 1.1\n---\ninteractions:\n"),
        ("interactions:\n", "x: 1\ninteractions:\n"),
    ],
)
@pytest.mark.parametrize("count", ["first", "all"])
def test_hand_edits_load_as_pyyaml_reads_them(old: str, new: str, count: str) -> None:
    text = dump_interactions([SAMPLES[6], SAMPLES[1], SAMPLES[6]])
    assert old in text, old
    _same_as_pyyaml(text.replace(old, new, 1 if count == "first" else -1))


@pytest.mark.parametrize("sample", range(len(SAMPLES)))
def test_each_kind_of_body_loads_the_same_on_the_fast_path(sample: int) -> None:
    x = SAMPLES[sample]
    text = dump_interactions([x, x])
    reference = yaml.load(text, Loader=yaml.SafeLoader)
    assert fast_load(text) == reference
    back = loads_interactions(text, path=HERE)
    assert back == interactions_from_data(reference, HERE)
    assert back[0] == back[1]
    if not x.response.body.startswith(b"{"):  # JSON bodies are re-indented on the way out
        assert back[0].response.body == (b'{"a": 1}' if sample == 3 else x.response.body)


# --- any edit of our output, against PyYAML ---------------------------------------------------------

_EDITS = [
    lambda line: " " + line,
    lambda line: "  " + line,
    lambda line: line[1:],
    lambda line: line[2:],
    lambda line: line + "  # note",
    lambda line: line + " ",
    lambda line: line + "\t",
    lambda line: "\n" + line,
    lambda line: "  \n" + line,
    lambda line: line + "\n" + line,
    lambda line: line + "\n" + line[: len(line) - len(line.lstrip(" "))] + "extra: 1",
    lambda line: line + "\n" + line[: len(line) - len(line.lstrip(" "))] + "- item",
    lambda line: line.replace(": |", ": |2", 1),
    lambda line: line.replace(": |", ": |-", 1),
    lambda line: line.replace(": |", ": |+", 1),
    lambda line: line.replace(": |", ": |4", 1),
    lambda line: line.replace(": |", ": >", 1),
    lambda line: line.replace(": |", ": !!str |", 1),
    lambda line: line.replace(": [", ": ['", 1).replace("]", "']", 1) if "'" not in line else line,
    lambda line: line.replace(": [", ":\n" + " " * (len(line) - len(line.lstrip(" "))) + "- ", 1).rstrip("]"),
    lambda line: line.replace(": ", ":  ", 1),
    lambda line: line.replace(": ", ": &a ", 1),
    lambda line: line.replace(": ", ": !!str ", 1),
    lambda line: line.replace(": ", ': "', 1) + '"' if '"' not in line and "\\" not in line else line,
    lambda line: line.replace(":", ": ", 1),
    lambda line: line.replace(" ", "\t", 1),
    lambda line: line.replace("'", "''", 1),
    lambda line: line.replace("'", "", 1),
    lambda line: line.replace("[", "[1", 1),
    lambda line: line.replace("]", ", x]", 1),
    lambda line: line.replace("{", "{x: 1, ", 1),
    lambda line: line.replace("}", ", code: 1}", 1),
    lambda line: line + "é\u00a0\U0001f600",
    lambda line: "---\n" + line,
    lambda line: "...\n" + line,
    lambda line: "",
]


@st.composite
def edited_cassettes(draw: st.DrawFn) -> str:
    xs = draw(st.lists(interactions(), min_size=1, max_size=3))
    extra = draw(st.lists(st.sampled_from(SAMPLES), max_size=2))
    text = dump_interactions(extra + xs)
    lines = text.split("\n")[:-1]
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(_EDITS))
        lines[at : at + 1] = edit(lines[at]).split("\n")
        if draw(st.booleans()) and at + 1 < len(lines):  # or swap with the next line
            lines[at], lines[at + 1] = lines[at + 1], lines[at]
    return "\n".join(lines) + "\n"


@settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=edited_cassettes())
def test_any_edit_of_our_output_loads_as_pyyaml_reads_it(text: str) -> None:
    _same_as_pyyaml(text)


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(xs=st.lists(interactions(), min_size=1, max_size=4))
def test_generated_interactions_take_the_whole_item_path(xs: list[Interaction]) -> None:
    text = dump_interactions(xs)
    reference = yaml.load(text, Loader=yaml.SafeLoader)
    reader = yaml_fast._Reader(text)
    data = yaml_fast._our_cassette(reader)
    assert data == reference
    multi = any(len(v) > 1 for x in xs for p in (x.request, x.response) if p for v in p.headers.values())
    items = [text.index("- request:")]
    if not multi:
        for item in reference["interactions"]:
            match = yaml_fast._ITEM.match(text, items[-1])
            assert match is not None
            assert yaml_fast._our_item(match) == item
            items.append(match.end())


# --- the loader's shortcuts for the usual interaction ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "want_body", "want_headers"),
    [
        (b"hello", {}, b"hello", {}),
        (b"hello", {"content-length": ["5"]}, b"hello", {"content-length": ["5"]}),
        (
            b"hello",
            {"Content-Length": [" 5 "], "x": ["1"]},
            b"hello",
            {"Content-Length": [" 5 "], "x": ["1"]},
        ),
        (b"hello", {"content-length": ["4"], "x": ["1"]}, b"hello", {"x": ["1"]}),
        (b"hello", {"content-length": ["5", "6"]}, b"hello", {}),
        (
            b"hello",
            {"Content-Encoding": ["identity"], "content-length": ["5"]},
            b"hello",
            {"content-length": ["5"]},
        ),
        (b"hello", {"content-encoding": ["gzip"]}, b"hello", {}),  # the header lied: text stays
        (b"hello", {"content-encoding": ["compress"], "x": ["1"]}, b"hello", {"x": ["1"]}),
        (gzip.compress(b"hi", mtime=0), {"content-length": ["99"]}, b"hi", {}),
        (
            gzip.compress(b"hi", mtime=0),
            {"content-type": ["application/gzip"]},
            gzip.compress(b"hi", mtime=0),
            {"content-type": ["application/gzip"]},
        ),
        (__import__("zlib").compress(b"\xffhi"), {}, b"\xffhi", {}),  # undeclared zlib, not text
        (b"", {"content-length": ["0"]}, b"", {"content-length": ["0"]}),
    ],
)
def test_decode_body_keeps_or_decodes(
    body: bytes, headers: dict[str, list[str]], want_body: bytes, want_headers: dict[str, list[str]]
) -> None:
    from pytest_llmops.recording.content_encoding import decode_body

    assert decode_body(body, headers) == (want_body, want_headers)


@pytest.mark.parametrize(
    ("lines", "want"),
    [
        ("      x-a: [one]\n      x-b: ['2']\n", {"x-a": ["one"], "x-b": ["2"]}),
        ("      x-a: [one]\n      X-A: [two]\n", {"x-a": ["one", "two"]}),  # one name, first spelling
        ("      x-a: [1]\n      x-b: [true]\n", {"x-a": ["1"], "x-b": ["true"]}),
        ("      x-a: [null]\n      x-b: [v]\n", {"x-a": [], "x-b": ["v"]}),
        ("      x-a: one\n", {"x-a": ["one"]}),
        ("      x-a: []\n", {"x-a": []}),
    ],
)
def test_header_maps_of_every_shape_load_as_before(lines: str, want: dict[str, list[str]]) -> None:
    text = dump_interactions([SAMPLES[6]])
    start = text.index("      content-type: [application/json]\n      x-stainless")
    end = text.index("    body:", start)
    edited = text[:start] + lines + text[end:]
    _same_as_pyyaml(edited)
    (x,) = loads_interactions(edited, path=HERE)
    assert x.request is not None and x.request.headers == want
