"""The `pytest-llmops` console script: `inspect` cassettes, `recover` interrupted recordings, `slim` old
cassettes, manage `prompts`, `merge` shard reports.

Each subcommand lives in the module that owns its subject and exposes
`register(subparsers)`; the parser it adds carries `func(args) -> int`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from pytest_llmops.cli import inspect as inspect_cmd
    from pytest_llmops.cli import merge as merge_cmd
    from pytest_llmops.cli import prompts as prompts_cli
    from pytest_llmops.cli import recover as recover_cmd
    from pytest_llmops.cli import slim as slim_cmd

    parser = argparse.ArgumentParser(
        prog="pytest-llmops",
        description="Tools around pytest-llmops cassettes, prompt files and reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    inspect_cmd.register(sub)
    recover_cmd.register(sub)
    slim_cmd.register(sub)
    prompts_cli.register(sub)
    merge_cmd.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `pytest-llmops inspect ... | head`
        sys.stderr.close()
        return 0
