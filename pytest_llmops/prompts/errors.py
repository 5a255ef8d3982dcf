"""The errors of the prompts package.

Every error says where it comes from (`path:line`), which prompt
(`name@version`) when known, and what to do about it, so that the CLI and
the plugin can print `str(error)` as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class PromptError(Exception):
    """A problem with a prompt file, a prompt reference or a rendering."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        ref: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.ref = ref

    @property
    def location(self) -> str | None:
        """`path:line` (or `path`) for editors and terminals to jump to."""
        if self.path is None:
            return None
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)

    def __str__(self) -> str:
        parts = [p for p in (self.location, self.ref) if p]
        parts.append(self.message)
        return ": ".join(parts)


class PromptNotFound(PromptError):
    """No prompt by that name, or no version of it matching the selector.

    `available` lists what does exist: the names when the name is unknown,
    the versions of that name when only the version did not match.
    """

    def __init__(
        self,
        message: str,
        *,
        name: str,
        selector: str | None,
        available: Sequence[str],
    ) -> None:
        super().__init__(message)
        self.name = name
        self.selector = selector
        self.available = list(available)


class PromptLockError(PromptError):
    """`prompts.lock` cannot be read or written."""
