"""Render `docs/configuration.md` from the plugin's own data, so the reference cannot drift.

    python -m pytest_llmops.cli.reference > docs/configuration.md

Sources: `options.OPTIONS` (flags and ini keys), `markers.KEYWORDS` (the `llm`
marker), the fixtures of `plugin`, the hooks of `hookspecs` and the argparse
tree of the `pytest-llmops` console script. `tests/test_config_reference.py`
asserts the committed file equals `render()`. Imported only by that test and
the command above; the output is plain data (no argparse help formatting, no
terminal width), so it is the same on every Python version.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from pytest_llmops import hookspecs, markers, options, plugin

__all__ = ["COMMAND", "render"]

COMMAND = "python -m pytest_llmops.cli.reference > docs/configuration.md"

_INI_TYPES = {"string": "text", "bool": "true/false", "args": "list (space separated)", "linelist": "lines"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(opt: options.Option) -> str:
    if opt.action == "store_true" and not opt.ini:
        return "off"
    value = opt.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, list | tuple):
        return " ".join(f"`{v}`" for v in value) if value else "empty"
    return f"`{value}`"


def _values(opt: options.Option) -> str:
    if opt.choices:
        return ", ".join(f"`{c}`" for c in opt.choices)
    if opt.action == "store_true":
        return "flag"
    if opt.flag and opt.metavar:
        return f"`{opt.metavar}`"
    return _INI_TYPES[opt.ini_type]


def _ini(opt: options.Option) -> str:
    if not opt.ini:
        return ""
    # The ini twin of a flag can take another form (a list where the flag takes commas): say which.
    differs = opt.flag and opt.ini_type != "string" and not opt.choices
    return f"`{opt.ini}`" + (f" ({_INI_TYPES[opt.ini_type]})" if differs else "")


def _options() -> Iterator[str]:
    yield "| Command line | ini key | Values | Default | What it does |"
    yield "|---|---|---|---|---|"
    for opt in options.OPTIONS:
        flag = f"`{opt.flag}`" if opt.flag else ""
        yield f"| {flag} | {_ini(opt)} | {_values(opt)} | {_default(opt)} | {_cell(opt.help)} |"


def _accepts(keyword: markers.Keyword) -> str:
    """What the keyword's own validator asks for (it describes itself when given a value it refuses)."""
    wanted = keyword.check(object())
    return wanted if wanted is not None else "anything"


def _keywords() -> Iterator[str]:
    yield "| Keyword | Accepts | What it does |"
    yield "|---|---|---|"
    for keyword in markers.KEYWORDS:
        yield f"| `{keyword.name}=` | {_cell(_accepts(keyword))} | {_cell(keyword.help)} |"


def _fixture_scope(obj: Any) -> str | None:
    """The scope of a fixture object (pytest >= 8.4 and older), None for anything else."""
    marker = getattr(obj, "_fixture_function_marker", None) or getattr(obj, "_pytestfixturefunction", None)
    if marker is None:
        return None
    scope = marker.scope
    return scope if isinstance(scope, str) else "function"


def fixtures(module: ModuleType = plugin) -> list[tuple[str, str, str]]:
    """(name, scope, first docstring line) of every fixture the plugin module defines, in source order."""
    found = []
    for name, obj in vars(module).items():
        scope = _fixture_scope(obj)
        if scope is not None:
            doc = inspect.getdoc(obj) or ""
            found.append((name, scope, doc.split("\n")[0]))
    return found


def _fixtures() -> Iterator[str]:
    yield "| Fixture | Scope | What it gives |"
    yield "|---|---|---|"
    for name, scope, doc in fixtures():
        yield f"| `{name}` | {scope} | {_cell(doc)} |"


def hooks(module: ModuleType = hookspecs) -> list[tuple[str, str, str, str]]:
    """(name, call signature, kind, docstring) of every `pytest_llmops_*` hook spec, in source order."""
    found = []
    for name, obj in vars(module).items():
        if name.startswith("pytest_llmops_") and inspect.isfunction(obj):
            params = ", ".join(inspect.signature(obj, eval_str=False).parameters)
            spec = getattr(obj, "pytest_spec", {}) or {}
            kinds = [
                k
                for k, on in (
                    ("first result wins", spec.get("firstresult")),
                    ("historic", spec.get("historic")),
                )
                if on
            ]
            found.append((name, f"{name}({params})", ", ".join(kinds), inspect.getdoc(obj) or ""))
    return found


def _hooks() -> Iterator[str]:
    for _, signature, kind, doc in hooks():
        yield f"### `{signature}`"
        yield ""
        if kind:
            yield f"*{kind[0].upper() + kind[1:]}.*"
            yield ""
        yield doc
        yield ""


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((name, helps.get(name, ""), sub))
    return out


def _arguments(parser: argparse.ArgumentParser) -> Iterator[str]:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.option_strings:
            name = action.option_strings[-1]
            if action.nargs != 0:
                name += f" {action.metavar or action.dest.upper()}"
        else:
            name = str(action.metavar or action.dest)
            if action.nargs == "+":
                name += "..."
        yield f"| `{name}` | {_cell(action.help or '')} |"


def _commands() -> Iterator[str]:
    from pytest_llmops.cli.app import build_parser

    def walk(parser: argparse.ArgumentParser, words: list[str], summary: str) -> Iterator[str]:
        rows = list(_arguments(parser))
        children = _subcommands(parser)
        yield f"### `{' '.join(words)}`"
        yield ""
        if summary:
            yield summary[0].upper() + summary[1:] + "."
            yield ""
        if rows:
            yield "| Argument | Meaning |"
            yield "|---|---|"
            yield from rows
            yield ""
        for name, help_text, child in children:
            yield from walk(child, [*words, name], help_text)

    root = build_parser()
    for name, help_text, child in _subcommands(root):
        yield from walk(child, ["pytest-llmops", name], help_text)


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated from the plugin's code by `{COMMAND}`. Do not edit by hand:",
        "     tests/test_config_reference.py fails when this file and the code disagree. -->",
        "",
        "Every option, ini key, marker keyword, fixture, hook and console command of pytest-llmops.",
        "The guides explain them: [getting started](getting-started.md), [cassettes](cassettes.md),",
        "[prompts](prompts.md), [checks and judges](checks-and-judges.md),",
        "[budgets and pricing](budgets-and-pricing.md), [report and baseline](report-and-baseline.md),",
        "[datasets, repeats and A/B](datasets-repeats-ab.md), [CI](ci.md), [extending](extending.md).",
        "",
        "**Precedence**, per setting: command line > `@pytest.mark.llm(...)` keyword (per test) > ini",
        "file > built-in default. ini keys go in the `[pytest]` section of `pytest.ini` (or",
        "`[tool.pytest.ini_options]` in `pyproject.toml`, `[tool:pytest]` in `setup.cfg`, `[pytest]` in",
        "`tox.ini`). Paths in ini keys are relative to the ini file's folder (cassette folders: to each",
        "test file's folder); report paths on the command line are relative to where pytest is started.",
        "",
        "## Command-line options and ini keys",
        "",
        *_options(),
        "",
        "## Marker keywords",
        "",
        "`@pytest.mark.llm(...)` marks an LLM test (skipped unless `--llm-eval`, `--llm-record` or",
        "`llm_eval_default = true`). It takes keyword arguments only; on a class or module (`pytestmark`)",
        "it applies to every test inside, and the marker closest to the test wins per keyword. An unknown",
        "keyword or a bad value is a collection error that names the test.",
        "",
        *_keywords(),
        "",
        "## Fixtures",
        "",
        *_fixtures(),
        "",
        "## Hooks",
        "",
        "Implement them in a `conftest.py` or a plugin; see [extending](extending.md).",
        "",
        *_hooks(),
        "## Console commands",
        "",
        *_commands(),
    ]
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
