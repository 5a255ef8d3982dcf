"""`prompts.lock`: the content hash of every released prompt version.

A version, once locked, is immutable: editing its template, messages or
parameters without bumping `version:` is a `LockViolation` (metadata edits,
comments and reformatting are fine; they are not hashed). The file sits
beside the prompts folder (`<prompts_dir>/../prompts.lock`) and is meant to
be committed. It is JSON, written in a fixed order (names alphabetical,
versions by semver precedence), two-space indented, one version per line:

    {
      "lockfile_version": 1,
      "prompts": {
        "rag_qa_v2": {
          "1.3.2": "<sha256 of the content, see pytest_llmops.prompts.model>"
        }
      }
    }

`update_lock` only ever adds versions; a changed locked version stays a
violation until the file is restored or the version bumped. A locked version
whose file is gone is reported as information, not a failure (deleting an
old version is a legitimate clean-up), and its entry is kept so the same
`name@version` cannot come back with different content; `prune=True`
(`prompts lock --prune`) drops such entries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytest_llmops.prompts.errors import PromptLockError
from pytest_llmops.prompts.model import Prompt
from pytest_llmops.prompts.registry import PromptRegistry
from pytest_llmops.prompts.semver import Version
from pytest_llmops.recording.files import write_atomic

LOCK_FILENAME = "prompts.lock"
LOCKFILE_VERSION = 1
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Lock:
    """The parsed lock file: `entries[name][version]` is the locked content hash."""

    path: Path | None = None
    entries: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    exists: bool = False

    def sha256(self, name: str, version: str) -> str | None:
        return self.entries.get(name, {}).get(version)

    def refs(self) -> list[str]:
        return [f"{name}@{version}" for name, versions in self.entries.items() for version in versions]

    def __len__(self) -> int:
        return sum(len(v) for v in self.entries.values())


@dataclass(frozen=True)
class LockViolation:
    """A locked version whose content changed."""

    path: Path
    line: int
    ref: str
    locked_sha256: str
    current_sha256: str
    lock_path: Path | None = None

    @property
    def message(self) -> str:
        bump = _next_patch(self.ref.partition("@")[2])
        lock = self.lock_path or LOCK_FILENAME
        return (
            f"{self.path}:{self.line}: {self.ref} changed after it was locked in {lock} "
            f"(locked sha256 {self.locked_sha256[:12]}, now {self.current_sha256[:12]}). "
            f"Released versions are immutable: restore the file, or bump `version:` "
            f"(e.g. to {bump}) and run `pytest-llmops prompts lock`."
        )

    def __str__(self) -> str:
        return self.message


def _next_patch(version: str) -> str:
    try:
        v = Version.parse(version)
    except ValueError:
        return "a new version"
    return f"{v.major}.{v.minor}.{v.patch + (0 if v.is_prerelease else 1)}"


def lock_path_for(prompts_dir: Path) -> Path:
    """`prompts.lock` beside the prompts folder."""
    prompts_dir = Path(prompts_dir)
    if prompts_dir.name in ("", "..", "."):  # `.` or `..` have no useful textual parent
        prompts_dir = prompts_dir.resolve()
    return prompts_dir.parent / LOCK_FILENAME


def read_lock(path: Path) -> Lock:
    """Read a lock file; a missing file is an empty lock (`exists` False)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lock(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptLockError(f"cannot read the lock file: {exc}", path=path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = (
            "; it has merge conflict markers: resolve them by keeping both sides' entries"
            if "<<<<<<<" in text
            else "; fix it, or delete it and run `pytest-llmops prompts lock` to re-create it"
        )
        raise PromptLockError(
            f"invalid JSON: {exc.msg} (column {exc.colno}){hint}", path=path, line=exc.lineno
        ) from None
    return Lock(path=path, entries=_entries(data, path), exists=True)


def _entries(data: object, path: Path) -> dict[str, dict[str, str]]:
    if not isinstance(data, dict):
        raise PromptLockError("expected a JSON object with lockfile_version and prompts", path=path)
    version = data.get("lockfile_version")
    if version != LOCKFILE_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > LOCKFILE_VERSION:
            problem = f"lockfile_version {version} is newer than this pytest-llmops understands; upgrade it"
        else:
            problem = f"unsupported lockfile_version {version!r} (expected {LOCKFILE_VERSION})"
        raise PromptLockError(problem, path=path)
    prompts = data.get("prompts", {})
    if not isinstance(prompts, dict):
        raise PromptLockError("`prompts` must be an object of name -> {version: sha256}", path=path)
    entries: dict[str, dict[str, str]] = {}
    for name, versions in prompts.items():
        if not isinstance(versions, dict):
            raise PromptLockError(f"prompts.{name} must be an object of version -> sha256", path=path)
        for version, digest in versions.items():
            if not isinstance(digest, str) or not _SHA256_RE.fullmatch(digest):
                raise PromptLockError(f"{name}@{version}: {digest!r} is not a sha256 hex digest", path=path)
        entries[name] = dict(versions)
    return entries


def check_lock(registry: PromptRegistry, lock: Lock) -> list[LockViolation]:
    """Locked versions whose current content hash differs from the locked one."""
    violations = []
    for prompt in registry:
        locked = lock.sha256(prompt.name, prompt.version)
        if locked is not None and locked != prompt.sha256:
            violations.append(
                LockViolation(prompt.path, prompt.line, prompt.ref, locked, prompt.sha256, lock.path)
            )
    return violations


def unlocked(registry: PromptRegistry, lock: Lock) -> list[Prompt]:
    """Prompt versions not in the lock yet (`pytest-llmops prompts lock` adds them)."""
    return [p for p in registry if lock.sha256(p.name, p.version) is None]


def missing_from_disk(registry: PromptRegistry, lock: Lock) -> list[str]:
    """Locked `name@version`s with no prompt file any more: information, not a failure."""
    present = {p.ref for p in registry}
    return [ref for ref in lock.refs() if ref not in present]


def update_lock(registry: PromptRegistry, path: Path, *, prune: bool = False) -> list[str]:
    """Add the versions not locked yet and write the file atomically; returns the added refs.

    A locked version whose content changed is left as it is (`check_lock`
    reports it). With `prune`, entries whose files are gone are dropped.
    The file is not rewritten when nothing changes.
    """
    path = Path(path)
    lock = read_lock(path)
    entries = {name: dict(versions) for name, versions in lock.entries.items()}
    added = []
    for prompt in unlocked(registry, lock):
        entries.setdefault(prompt.name, {})[prompt.version] = prompt.sha256
        added.append(prompt.ref)
    pruned = missing_from_disk(registry, lock) if prune else []
    for ref in pruned:
        name, _, version = ref.partition("@")
        del entries[name][version]
        if not entries[name]:
            del entries[name]
    if added or pruned or not lock.exists:
        write_atomic(path, render_lock(entries))
    return added


def render_lock(entries: Mapping[str, Mapping[str, str]]) -> str:
    """The lock file text: deterministic, sorted, one version per line."""
    ordered = {
        name: {v: entries[name][v] for v in sorted(entries[name], key=_version_order)}
        for name in sorted(entries)
    }
    data = {"lockfile_version": LOCKFILE_VERSION, "prompts": ordered}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _version_order(version: str) -> tuple[int, Version | str]:
    try:
        return (0, Version.parse(version))
    except ValueError:  # hand-edited junk still sorts deterministically
        return (1, version)
