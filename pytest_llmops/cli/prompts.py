"""`pytest-llmops prompts ...`: list, diff, render, lock and check prompt files.

Every action takes `--dir PATH` (before or after the action; default
`./prompts`). Exit status: 0 fine, 1 a locked version changed (`lock`,
`check`), 2 bad input: unreadable or invalid prompt files, an unknown
prompt, a missing variable. Problems go to stderr; whatever is valid is
still listed on stdout.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmops.prompts import Prompt, PromptError, PromptRegistry

DEFAULT_DIR = Path("prompts")
_VAR_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # `--dir` is accepted on `prompts` and on each action. The actions' copy defaults to SUPPRESS so
    # that it does not reset a `--dir` given before the action (and it must be a distinct action object:
    # `set_defaults` on a parser would change a shared one everywhere).
    common = argparse.ArgumentParser(add_help=False)
    _add_dir_option(common, argparse.SUPPRESS)
    parser = subparsers.add_parser(
        "prompts",
        help="list, diff, render, lock and check versioned prompt files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_dir_option(parser, DEFAULT_DIR)
    actions = parser.add_subparsers(dest="prompts_action", required=True, metavar="ACTION")

    p = actions.add_parser("list", parents=[common], help="every prompt version with its hash and metadata")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_list)

    p = actions.add_parser("diff", parents=[common], help="unified diff of two prompt versions' content")
    p.add_argument("old", metavar="NAME@A")
    p.add_argument("new", metavar="NAME@B")
    p.set_defaults(func=_diff)

    p = actions.add_parser("render", parents=[common], help="print a prompt with its variables filled in")
    p.add_argument("ref", metavar="NAME@VERSION", help="a reference; a bare NAME means its latest version")
    p.add_argument(
        "--var",
        dest="vars",
        action="append",
        default=[],
        type=_parse_var,
        metavar="KEY=VALUE",
        help="a variable; KEY=@FILE reads FILE (@- reads stdin), KEY=@@text gives a value starting with @",
    )
    p.add_argument("--json", action="store_true", help="print the messages as JSON")
    p.set_defaults(func=_render)

    p = actions.add_parser("lock", parents=[common], help="add new versions' hashes to prompts.lock")
    p.add_argument("--prune", action="store_true", help="drop locked versions whose files were deleted")
    p.set_defaults(func=_lock)

    p = actions.add_parser("check", parents=[common], help="verify no locked version changed")
    p.add_argument("--strict", action="store_true", help="also fail when a version is not locked yet")
    p.set_defaults(func=_check)


def _add_dir_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--dir",
        dest="prompts_dir",
        type=Path,
        metavar="PATH",
        default=default,
        help=f"the prompts folder (default: ./{DEFAULT_DIR})",
    )


def _parse_var(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not _VAR_NAME_RE.fullmatch(key):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY a variable name, got {text!r}")
    if value.startswith("@@"):
        return key, value[1:]
    if value == "@-":
        return key, sys.stdin.read()
    if value.startswith("@"):
        try:
            return key, Path(value[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise argparse.ArgumentTypeError(f"--var {key}: cannot read {value[1:]!r}: {exc}") from None
    return key, value


def _load(args: argparse.Namespace) -> PromptRegistry | None:
    from pytest_llmops.prompts import PromptError, PromptRegistry

    try:
        return PromptRegistry.load(args.prompts_dir)
    except PromptError as exc:
        _error(exc)
        return None


def _error(message: object) -> None:
    print(f"error: {message}", file=sys.stderr)


def _report_errors(errors: list[PromptError]) -> int:
    """Print the registry's errors; the exit status they call for."""
    for err in errors:
        _error(err)
    if errors:
        plural = "s" if len(errors) > 1 else ""
        print(f"{len(errors)} problem{plural} in prompt files", file=sys.stderr)
    return 2 if errors else 0


def _list(args: argparse.Namespace) -> int:
    registry = _load(args)
    if registry is None:
        return 2
    prompts = list(registry)
    latest = {p.name: p for p in prompts if not p.is_prerelease}
    if args.json:
        data = {
            "prompts_dir": str(args.prompts_dir),
            "prompts": [_prompt_json(p, latest.get(p.name) is p) for p in prompts],
            "errors": [str(e) for e in registry.errors],
        }
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    elif not prompts:
        print(f"no prompts in {args.prompts_dir}")
    else:
        rows = [("NAME", "VERSION", "SHA256", "CREATED", "BY", "FILE")]
        details: list[list[str]] = [[]]
        for p in prompts:
            version = p.version + (" (latest)" if latest.get(p.name) is p else "")
            rows.append(
                (
                    p.name,
                    version,
                    p.short_hash,
                    p.created_at or "-",
                    p.created_by or "-",
                    f"{p.path}:{p.line}",
                )
            )
            details.append(_details(p))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for row, extra in zip(rows, details, strict=True):
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
            for line in extra:
                print(" " * (widths[0] + 2) + line)
    return _report_errors(registry.errors)


def _details(p: Prompt) -> list[str]:
    out = [f"{p.kind}; variables: {', '.join(sorted(p.variables)) or '-'}"]
    if p.parameters:
        out.append("parameters: " + _pairs(p.parameters))
    if p.metadata:
        out.append("metadata: " + _pairs(p.metadata))
    return out


def _pairs(mapping: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_scalar(v)}" for k, v in mapping.items())


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _prompt_json(p: Prompt, is_latest: bool) -> dict[str, Any]:
    content: dict[str, Any] = (
        {"template": p.template}
        if p.template is not None
        else {"messages": [{"role": m.role, "content": m.content} for m in p.message_templates or ()]}
    )
    return {
        "name": p.name,
        "version": p.version,
        "ref": p.ref,
        "latest": is_latest,
        "prerelease": p.is_prerelease,
        "sha256": p.sha256,
        "kind": p.kind,
        "variables": sorted(p.variables),
        **content,
        "parameters": p.parameters,
        "created_by": p.created_by,
        "created_at": p.created_at,
        "description": p.description,
        "metadata": p.metadata,
        "path": str(p.path),
        "line": p.line,
    }


def _diff(args: argparse.Namespace) -> int:
    from pytest_llmops.prompts import PromptError

    registry = _load(args)
    if registry is None:
        return 2
    try:
        old, new = registry.get(args.old), registry.get(args.new)
    except PromptError as exc:
        _error(exc)
        _report_errors(registry.errors)
        return 2
    if old.sha256 == new.sha256:
        print(f"{old.ref} and {new.ref} have the same content (sha256 {old.short_hash})")
    else:
        lines = difflib.unified_diff(
            _content_lines(old),
            _content_lines(new),
            fromfile=f"{old.ref} ({old.path})",
            tofile=f"{new.ref} ({new.path})",
            lineterm="",
        )
        for line in lines:
            print(line)
    return _report_errors(registry.errors)


def _content_lines(p: Prompt) -> list[str]:
    """The hashed content as text: template or messages, then parameters."""
    lines: list[str] = []
    if p.template is not None:
        lines.append("template:")
        lines += _indented(p.template)
    else:
        for i, m in enumerate(p.message_templates or ()):
            lines.append(f"messages[{i}] {m.role}:")
            lines += _indented(m.content)
    lines.append("parameters:")
    lines += [f"  {k}: {_scalar(v)}" for k, v in sorted(p.parameters.items())]
    return lines


def _indented(text: str) -> list[str]:
    lines = ["  " + line for line in text.splitlines()]
    if not text.endswith("\n"):
        lines.append("\\ no newline at end")
    return lines


def _render(args: argparse.Namespace) -> int:
    from pytest_llmops.prompts import PromptError

    registry = _load(args)
    if registry is None:
        return 2
    values: dict[str, str] = {}
    for key, value in args.vars:
        if key in values:
            _error(f"--var {key} is given twice")
            return 2
        values[key] = value
    try:
        prompt = registry.get(args.ref)
        messages = prompt.messages(**values)
    except PromptError as exc:
        _error(exc)
        _report_errors(registry.errors)
        return 2
    if args.json:
        print(json.dumps(messages, indent=2, ensure_ascii=False))
    elif prompt.kind == "text":
        text = messages[0]["content"]
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        blocks = [f"[{m['role']}]\n{m['content'].rstrip(chr(10))}" for m in messages]
        print("\n\n".join(blocks))
    return _report_errors(registry.errors)


def _lock(args: argparse.Namespace) -> int:
    from pytest_llmops.prompts import (
        PromptError,
        check_lock,
        lock_path_for,
        missing_from_disk,
        read_lock,
        update_lock,
    )

    registry = _load(args)
    if registry is None:
        return 2
    path = lock_path_for(args.prompts_dir)
    if registry.errors:
        _report_errors(registry.errors)
        print(f"not updating {path} until the prompt files are fixed", file=sys.stderr)
        return 2
    try:
        gone = missing_from_disk(registry, read_lock(path))
        added = update_lock(registry, path, prune=args.prune)
        lock = read_lock(path)
    except PromptError as exc:
        _error(exc)
        return 2
    by_ref = {p.ref: p for p in registry}
    for ref in added:
        print(f"locked {ref} (sha256 {by_ref[ref].short_hash})")
    for ref in gone:
        if args.prune:
            print(f"dropped {ref}: no prompt file defines it any more")
        else:
            print(f"note: {ref} is locked but no prompt file defines it any more (kept; --prune drops it)")
    if not added and not (args.prune and gone):
        print(f"{path} is up to date ({len(lock)} locked version{'s' if len(lock) != 1 else ''})")
    violations = check_lock(registry, lock)
    for violation in violations:
        _error(violation)
    return 1 if violations else 0


def _check(args: argparse.Namespace) -> int:
    from pytest_llmops.prompts import (
        PromptError,
        check_lock,
        lock_path_for,
        missing_from_disk,
        read_lock,
        unlocked,
    )

    registry = _load(args)
    if registry is None:
        return 2
    path = lock_path_for(args.prompts_dir)
    try:
        lock = read_lock(path)
    except PromptError as exc:
        _error(exc)
        return 2
    violations = check_lock(registry, lock)
    new = unlocked(registry, lock)
    if not lock.exists:
        print(f"no {path}: nothing is locked yet; run `pytest-llmops prompts lock` to create it")
    else:
        intact = len(registry) - len(new) - len(violations)
        print(f"{path}: {intact} locked version{'s' if intact != 1 else ''} unchanged")
    if new and lock.exists:
        print(f"not locked yet: {', '.join(p.ref for p in new)} (run `pytest-llmops prompts lock`)")
    for ref in missing_from_disk(registry, lock):
        print(f"note: {ref} is locked but no prompt file defines it any more")
    for violation in violations:
        _error(violation)
    status = _report_errors(registry.errors)
    if status:
        return status
    if violations:
        return 1
    if args.strict and new:
        print(f"--strict: {len(new)} version{'s' if len(new) != 1 else ''} not locked", file=sys.stderr)
        return 1
    return 0
