"""docs/configuration.md is generated from the code, and nothing the plugin registers is missing from it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pytest_llmops import hookspecs, markers, options, plugin
from pytest_llmops.cli import build_parser
from pytest_llmops.cli import reference as docs_reference

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_the_committed_reference_is_the_generators_output() -> None:
    assert DOC.read_text(encoding="utf-8") == docs_reference.render(), (
        f"docs/configuration.md is out of date; regenerate it: {docs_reference.COMMAND}"
    )


def registered(config: pytest.Config) -> tuple[set[str], set[str]]:
    """The `--llm-*` flags and `llm_*` ini keys of the running pytest, as its parser holds them."""
    parser = config._parser
    flags = {
        name
        for group in parser._groups
        for option in group.options
        for name in option.names()
        if name.startswith("--llm-")
    }
    flags |= {
        name for option in parser._anonymous.options for name in option.names() if name.startswith("--llm-")
    }
    ini = {name for name in parser._inidict if name.startswith("llm_")}
    return flags, ini


def test_every_registered_flag_and_ini_key_is_documented(request: pytest.FixtureRequest) -> None:
    flags, ini = registered(request.config)
    assert flags and ini, "the plugin registered no options: is it loaded?"
    text = DOC.read_text(encoding="utf-8")
    missing = sorted(name for name in flags | ini if f"`{name}`" not in text)
    assert not missing, f"registered but not in docs/configuration.md: {missing}"
    # and the table is the plugin's own: nothing documented that pytest does not know
    assert flags == {o.flag for o in options.OPTIONS if o.flag}
    assert ini == {o.ini for o in options.OPTIONS if o.ini}


def test_every_marker_keyword_fixture_hook_and_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = [f"`{k.name}=`" for k in markers.KEYWORDS]
    names += [f"`{name}`" for name, _, _ in docs_reference.fixtures(plugin)]
    names += [f"`{name}(" for name in vars(hookspecs) if name.startswith("pytest_llmops_")]
    root = build_parser()
    subcommands = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    names += [f"`pytest-llmops {name}`" for name in subcommands.choices]
    missing = [n for n in names if n not in text]
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_the_fixtures_found_are_the_ones_pytest_sees(request: pytest.FixtureRequest) -> None:
    found = {name for name, _, _ in docs_reference.fixtures(plugin)}
    assert {"llm_usage", "llm_prompts", "llm_prompt", "llm_case", "llm_variant"} <= found
    manager = request.session._fixturemanager
    for name in found:
        definitions = manager.getfixturedefs(name, request.node)
        assert definitions, f"{name} is not a fixture pytest knows"
        assert definitions[-1].scope == dict((n, s) for n, s, _ in docs_reference.fixtures(plugin))[name]


def test_marker_keywords_describe_what_they_accept() -> None:
    for keyword in markers.KEYWORDS:
        accepts = docs_reference._accepts(keyword)
        assert accepts and accepts != "anything", f"{keyword.name}= accepts anything: is its check a no-op?"


def test_a_new_option_shows_up_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = options.Option("llm_new_thing", "A new thing.", flag="--llm-new-thing", ini="llm_new_thing")
    monkeypatch.setattr(options, "OPTIONS", (*options.OPTIONS, extra))
    rendered = docs_reference.render()
    assert "| `--llm-new-thing` | `llm_new_thing` |" in rendered
    assert rendered != DOC.read_text(encoding="utf-8")


def test_the_module_runs_as_the_documented_command() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "pytest_llmops.cli.reference"],
        cwd=DOC.parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == docs_reference.render()
