"""The `pytest-llmops` command: `inspect` cassettes, manage `prompts`; `reference` renders docs/configuration.md."""

from pytest_llmops.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
