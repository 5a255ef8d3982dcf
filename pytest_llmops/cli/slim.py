"""`pytest-llmops slim [PATH...]`: rewrite existing YAML cassettes as a recording made now would write them.

New recordings leave out headers that only describe the recording machine or
change on every call (`recording/headers.py`) and lay JSON bodies out one
message per line. Cassettes recorded before keep every header and still
replay; this command applies the same rule to them: the interactions, bodies
and metadata stay, so they replay as before. Only `.yaml` / `.yml` files are
rewritten (JSON and HAR files of other tools are left as they are), each
atomically, and only when something changes. Exit status 2 if a file could not
be read or written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "run"]

EXIT_OK = 0
EXIT_FAILED = 2
SUFFIXES = (".yaml", ".yml")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "slim",
        help="leave out of existing cassettes the headers new recordings leave out",
        description="Rewrite the YAML cassettes under the paths (folders are searched recursively; default: "
        "the current folder) without the request and response headers a new recording leaves out "
        "(user-agent, x-stainless-*, date, server, ...; see docs/cassettes.md), JSON bodies laid out as "
        "new recordings are. Interactions, bodies and metadata are kept, so every test replays as before. "
        "Exit status 2 if a file could not be read or written.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", type=Path, help="folder or cassette (default: .)")
    parser.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="HEADER",
        help="keep this header too (repeatable; `x-ratelimit-*` patterns; as the ini key llm_keep_headers)",
    )
    parser.set_defaults(func=run)


def _cassettes(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())


def run(args: argparse.Namespace) -> int:
    from pytest_llmops.recording.errors import CassetteFormatError
    from pytest_llmops.recording.files import cassette_lock, write_atomic
    from pytest_llmops.recording.formats import dump_interactions, loads_interactions
    from pytest_llmops.recording.headers import HeaderRule
    from pytest_llmops.recording.journal import find_journals
    from pytest_llmops.recording.secrets import Scrubber, SecretLeakError

    rule = HeaderRule.build(args.keep)
    scrubber = Scrubber()
    status = EXIT_OK
    changed = seen = saved = 0
    for root in args.paths or [Path(".")]:
        if not root.exists():
            print(f"{root}: no such file or folder", file=sys.stderr)
            status = EXIT_FAILED
            continue
        for path in _cassettes(root):
            if path.suffix.lower() not in SUFFIXES:
                print(f"{path}: left alone, not a YAML cassette", file=sys.stderr)
                continue
            if find_journals(path):
                print(
                    f"{path}: left alone, it has journals; run `pytest-llmops recover` first", file=sys.stderr
                )
                status = EXIT_FAILED
                continue
            seen += 1
            try:
                with cassette_lock(path):
                    before = path.read_text(encoding="utf-8")
                    text = dump_interactions([rule.apply(x) for x in loads_interactions(before, path=path)])
                    if text == before:
                        continue
                    scrubber.assert_text_clean(text, str(path))
                    write_atomic(path, text)
            except (CassetteFormatError, SecretLeakError, ValueError, OSError) as exc:
                print(f"{path}: not rewritten: {exc}", file=sys.stderr)
                status = EXIT_FAILED
                continue
            changed += 1
            saved += len(before.encode("utf-8")) - len(text.encode("utf-8"))
            print(f"{path}: {len(before.encode('utf-8')):,} -> {len(text.encode('utf-8')):,} bytes")
    change = f"{saved:,} bytes fewer" if saved >= 0 else f"{-saved:,} bytes more"
    print(f"{changed} of {seen} cassette(s) rewritten, {change}")
    return status
