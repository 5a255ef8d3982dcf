"""The `pytest-llmops` command: `inspect` cassettes, manage `prompts`; `reference` renders the
configuration reference (docs/configuration.md) from the options and markers."""

from pytest_llmops.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
