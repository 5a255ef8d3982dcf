"""Parsed cassettes cached by content hash: never stale, never required."""

from __future__ import annotations

import marshal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmops.recording import formats
from pytest_llmops.recording.errors import CassetteFormatError
from pytest_llmops.recording.parse_cache import ParseCache

REAL = Path(__file__).parent / "data" / "real-cassettes"


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
    (entry,) = cache.folder.rglob("*.marshal")
    entry.write_bytes(entry.read_bytes()[:3])
    assert cache.load(b"x", lambda: {"k": "v2"}) == {"k": "v2"}
    assert cache.load(b"x", lambda: "never called") == {"k": "v2"}


def test_entries_are_spread_over_subfolders_by_hash_and_leave_no_temporary_file(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    for n in range(40):
        cache.load(str(n).encode(), lambda n=n: n)
    entries = sorted(cache.folder.rglob("*"))
    files = [p for p in entries if p.is_file()]
    assert len(files) == 40
    for path in files:
        digest = path.name.removesuffix(".marshal")
        assert path.parent.name == digest[:2] and path.parent.parent == cache.folder
    assert len({p.parent for p in files}) > 20  # 40 hashes over 256 subfolders
    assert [n for n in range(40) if cache.load(str(n).encode(), lambda: "never") != n] == []
    cache.clear()
    assert cache.load(b"7", lambda: "parsed again") == "parsed again"


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


def test_a_replay_served_by_the_cache_loads_no_yaml_library(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyYAML is only needed to read a cassette the cache does not hold, or to write one."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:recording -p no:langsmith_plugin")
    llm_pytester.makepyfile(
        test_q=textwrap.dedent(
            """
            import sys

            import pytest

            @pytest.mark.llm
            def test_q(openai_client):
                openai_client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}])

            def test_loaded():
                print("YAML_LOADED", "yaml" in sys.modules)
            """
        )
    )
    llm_pytester.runpytest_subprocess("--llm-eval", "--llm-record=once").assert_outcomes(passed=2)
    for name in with_keys:
        monkeypatch.delenv(name)
    first = llm_pytester.runpytest_subprocess("--llm-eval", "-s", "-p", "no:xdist")  # parses, fills the cache
    first.assert_outcomes(passed=2)
    assert any("YAML_LOADED True" in line for line in first.outlines), first.outlines
    again = llm_pytester.runpytest_subprocess("--llm-eval", "-s", "-p", "no:xdist")
    again.assert_outcomes(passed=2)
    assert any("YAML_LOADED False" in line for line in again.outlines), again.outlines


@pytest.fixture
def cache_on(tmp_path: Path) -> Iterator[ParseCache]:
    formats.use_parse_cache(tmp_path / "cache")
    assert formats._parse_cache is not None
    yield formats._parse_cache
    formats.use_parse_cache(None)


def test_a_cached_cassette_reads_as_the_file_itself(cache_on: ParseCache) -> None:
    """Every real recording, cold then warm, gives the same interactions as reading it without a cache."""
    files = sorted(p for p in REAL.rglob("*") if p.suffix in (".yaml", ".yml", ".json", ".har"))
    assert len(files) > 20
    for path in files:
        formats.use_parse_cache(None)
        try:
            plain = formats.load_interactions(path)
        except CassetteFormatError:
            continue
        formats.use_parse_cache(cache_on.folder.parent)
        assert formats.load_interactions(path) == plain, path  # cold: parsed and stored
        assert formats.load_interactions(path) == plain, path  # warm: from the entry
    assert len(list(cache_on.folder.rglob("*.marshal"))) > 20


def test_the_cache_is_read_not_the_file_and_a_changed_file_is_read_again(
    cache_on: ParseCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    real = REAL / "simonw__llm" / "tests__cassettes__test_openai_responses__test_responses_tool_use.yaml"
    path.write_bytes(real.read_bytes())
    first = formats.load_interactions(path)
    monkeypatch.setattr(formats, "loads_interactions", lambda *a, **k: pytest.fail("parsed again"))
    assert formats.load_interactions(path) == first
    monkeypatch.undo()
    path.write_bytes(path.read_bytes().replace(b"uri: ", b"uri:  ", 1))  # same meaning, other bytes
    assert formats.load_interactions(path) == first
    assert len(list(cache_on.folder.rglob("*.marshal"))) == 2


def test_a_broken_cassette_is_never_kept(cache_on: ParseCache, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("interactions: 3\nversion: 1\n")
    for _ in range(2):
        with pytest.raises(CassetteFormatError, match=r"broken\.yaml"):
            formats.load_interactions(path)
    assert not cache_on.folder.exists() or not list(cache_on.folder.rglob("*.marshal"))


def test_the_same_bytes_named_json_and_yaml_are_kept_apart(cache_on: ParseCache, tmp_path: Path) -> None:
    """`{a: 1, ...}` is YAML but not JSON: a .json file must fail on it, however the .yaml was cached."""
    text = "{interactions: [], version: 1}\n"
    (tmp_path / "c.yaml").write_text(text)
    (tmp_path / "c.json").write_text(text)
    assert formats.load_interactions(tmp_path / "c.yaml") == []
    with pytest.raises(CassetteFormatError, match="invalid JSON"):
        formats.load_interactions(tmp_path / "c.json")


def test_an_entry_of_another_shape_falls_back_to_the_file(cache_on: ParseCache, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    real = REAL / "simonw__llm" / "tests__cassettes__test_openai_responses__test_responses_tool_use.yaml"
    path.write_bytes(real.read_bytes())
    expected = formats.load_interactions(path)
    (entry,) = cache_on.folder.rglob("*.marshal")
    entry.write_bytes(marshal.dumps([("not", "a row")]))
    assert formats.load_interactions(path) == expected
