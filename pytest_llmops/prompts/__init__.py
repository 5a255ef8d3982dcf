"""Versioned prompts kept as YAML files, with content hashes and a lock file.

Import lazily: this package imports PyYAML. See `loader` for the file
format, `registry` for references (`name@^1.3`), `semver` for the range
grammar, `model` for rendering and the content hash, `lockfile` for
`prompts.lock`.
"""

from __future__ import annotations

from pytest_llmops.prompts.errors import PromptError, PromptLockError, PromptNotFound
from pytest_llmops.prompts.lockfile import (
    Lock,
    LockViolation,
    check_lock,
    lock_path_for,
    missing_from_disk,
    read_lock,
    unlocked,
    update_lock,
)
from pytest_llmops.prompts.model import MessageTemplate, Prompt
from pytest_llmops.prompts.registry import LATEST, PromptRegistry, parse_ref
from pytest_llmops.prompts.semver import Range, Version

__all__ = [
    "LATEST",
    "Lock",
    "LockViolation",
    "MessageTemplate",
    "Prompt",
    "PromptError",
    "PromptLockError",
    "PromptNotFound",
    "PromptRegistry",
    "Range",
    "Version",
    "check_lock",
    "lock_path_for",
    "missing_from_disk",
    "parse_ref",
    "read_lock",
    "unlocked",
    "update_lock",
]
