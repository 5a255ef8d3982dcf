"""Help output: `pytest --help` with the plugin, and every `pytest-llmops ... --help`.

argparse %-formats help strings, so one bare `%` in an option's help crashes the whole of
`pytest --help` for every plugin in the environment; these tests render every help text.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pytest_llmops.cli.app import build_parser
from pytest_llmops.options import OPTIONS, argparse_help


@pytest.mark.parametrize("opt", [o for o in OPTIONS if o.flag], ids=lambda o: o.flag)
def test_each_option_help_renders_through_argparse(opt: object) -> None:
    from pytest_llmops.options import Option

    assert isinstance(opt, Option) and opt.flag
    parser = argparse.ArgumentParser(prog="x", formatter_class=argparse.HelpFormatter)
    if opt.action:
        parser.add_argument(opt.flag, help=argparse_help(opt.help), action=opt.action)
    else:
        parser.add_argument(opt.flag, help=argparse_help(opt.help), metavar=opt.metavar, choices=opt.choices)
    text = parser.format_help()
    assert opt.flag in text
    # The help reads as written: a % in the source shows as one %, not %% or a format error.
    assert " ".join(opt.help.split())[:30] in " ".join(text.split())


def test_argparse_help_escapes_percent() -> None:
    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--gate", help=argparse_help("pass_rate:-5%,cost_usd:+10%"))
    assert "pass_rate:-5%,cost_usd:+10%" in parser.format_help()


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_pytest_help_with_plugin(pytester: pytest.Pytester, flag: str) -> None:
    # The plugin loads through its pytest11 entry point, as wherever it is installed.
    result = pytester.runpytest_subprocess(flag)
    assert result.ret == 0, result.stderr.str()
    out = result.stdout.str()
    for opt in OPTIONS:
        if opt.flag:
            assert opt.flag in out, opt.flag
        if opt.ini:
            assert opt.ini in out, opt.ini
    result.stdout.fnmatch_lines(["*--llm-fail-on*", "*pass_rate:-5%,cost_usd:+10%*"])


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*prefix, name))


COMMANDS = list(_commands(build_parser()))


def test_the_cli_tree_is_walked() -> None:
    assert ("inspect",) in COMMANDS
    assert any(len(c) >= 2 for c in COMMANDS), COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_cli_help_renders_in_process(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_llmops.cli.app import main

    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: pytest-llmops")


def test_cli_help_every_command_in_a_subprocess() -> None:
    """The console script as installed; one interpreter per command would be slow, so one script loops."""
    script = (
        "import sys, contextlib, io\n"
        "from pytest_llmops.cli.app import main\n"
        f"for cmd in {COMMANDS!r}:\n"
        "    buf = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buf):\n"
        "        try:\n"
        "            main([*cmd, '--help'])\n"
        "        except SystemExit as exc:\n"
        "            code = exc.code\n"
        "        else:\n"
        "            code = 'no exit'\n"
        "    print(' '.join(cmd) or 'top', code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(COMMANDS)
    assert all(line.endswith(" 0") for line in lines), lines
