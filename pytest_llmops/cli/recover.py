"""`pytest-llmops recover [PATH...]`: merge the journals a killed or interrupted recording run left.

A run merges the leftover journal of a cassette by itself when a test opens
that cassette; this command does it for every cassette under the paths,
without running the tests. Journals a running process still writes are left
alone. Exit status 2 if a cassette could not be read or written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "run"]

EXIT_OK = 0
EXIT_FAILED = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "recover",
        help="merge recordings left in cassette journals by an interrupted run",
        description="Find *.journal files under the paths (folders are searched recursively; default: the "
        "current folder) and merge their recordings into their cassettes, as the next test run would. "
        "Exit status 2 if a cassette could not be read or written.",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", type=Path, help="folder, cassette or journal (default: .)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pytest_llmops.recording.errors import CassetteFormatError
    from pytest_llmops.recording.journal import find_journals, leftover_cassettes, recover
    from pytest_llmops.recording.secrets import Scrubber, SecretLeakError

    scrubber = Scrubber()
    status = EXIT_OK
    merged = files = 0
    for root in args.paths or [Path(".")]:
        if not root.exists():
            print(f"{root}: no such file or folder", file=sys.stderr)
            status = EXIT_FAILED
            continue
        for cassette in leftover_cassettes(root):
            try:
                done = recover(cassette, check_text=scrubber.assert_text_clean)
            except (CassetteFormatError, SecretLeakError, OSError) as exc:
                print(f"{cassette}: not recovered: {exc}", file=sys.stderr)
                status = EXIT_FAILED
                continue
            for item in done:
                skipped = f" ({item.skipped_lines} cut-off line(s) skipped)" if item.skipped_lines else ""
                print(
                    f"recovered {item.interactions} recording(s) from {item.journal} into {cassette}{skipped}"
                )
                merged += item.interactions
                files += 1
            for busy in find_journals(cassette):
                print(f"{busy}: left alone, a running process is still writing it")
    print(f"{merged} recording(s) recovered from {files} journal(s)")
    return status
