"""Parsed cassettes cached by content hash: never stale, never required."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_llmops.recording import formats
from pytest_llmops.recording.parse_cache import ParseCache


def test_the_same_bytes_are_parsed_once(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    calls = []

    def parse() -> dict[str, object]:
        calls.append(1)
        return {"interactions": [{"a": b"\x00\xff", "b": [1, 2.5, None, True]}], "version": 1}

    first = cache.load(b"same", parse)
    second = cache.load(b"same", parse)
    assert first == second == parse()
    assert len(calls) == 2  # once for the two loads, once in the assertion


def test_a_changed_byte_is_parsed_afresh(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    assert cache.load(b"one", lambda: "parsed one") == "parsed one"
    assert cache.load(b"two", lambda: "parsed two") == "parsed two"
    assert cache.load(b"one", lambda: "never called") == "parsed one"


def test_a_damaged_entry_is_parsed_again_and_rewritten(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    cache.load(b"x", lambda: {"k": "v"})
    (entry,) = cache.folder.iterdir()
    entry.write_bytes(entry.read_bytes()[:3])
    assert cache.load(b"x", lambda: {"k": "v2"}) == {"k": "v2"}
    assert cache.load(b"x", lambda: "never called") == {"k": "v2"}


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = ParseCache(blocker)
    assert cache.load(b"x", lambda: [1]) == [1]
    assert cache.load(b"x", lambda: [2]) == [2]


def test_a_new_reader_gets_its_own_folder(tmp_path: Path) -> None:
    assert ParseCache(tmp_path).folder.parent == tmp_path
    assert ParseCache(tmp_path).folder.name.startswith("py3")


def test_replay_reads_the_edited_cassette_not_the_cached_one(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:recording -p no:langsmith_plugin"
    )  # cacheprovider on
    llm_pytester.makepyfile(
        test_q=textwrap.dedent(
            """
            import pytest

            @pytest.mark.llm
            def test_q(openai_client):
                r = openai_client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}])
                print("ANSWER", r.choices[0].message.content)
            """
        )
    )
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-s").assert_outcomes(passed=1)
    for name in with_keys:
        monkeypatch.delenv(name)
    replay = llm_pytester.runpytest("--llm-eval", "-s")
    replay.assert_outcomes(passed=1)
    answer = next(line for line in replay.outlines if "ANSWER " in line).partition("ANSWER ")[2]
    cached = list((llm_pytester.path / ".pytest_cache" / "d" / "llmops-cassettes").rglob("*.marshal"))
    assert len(cached) == 1

    (cassette,) = (llm_pytester.path / "cassettes").rglob("*.yaml")
    words = answer.split()
    edit = "Z" * len(words[0])  # same length: the recorded content-length still holds
    cassette.write_text(cassette.read_text().replace(words[0], edit, 1))
    edited = llm_pytester.runpytest("--llm-eval", "-s")
    edited.assert_outcomes(passed=1)
    assert any(f"ANSWER {edit}" in line for line in edited.outlines), edited.outlines
    assert formats._parse_cache is None  # the session turned it off when it stopped
