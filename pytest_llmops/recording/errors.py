"""The one error every cassette reader raises, so callers catch a single type."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CassetteFormatError"]


class CassetteFormatError(Exception):
    """A cassette file we cannot read, with where and why.

    `line` (1-based) is set for syntax errors, `where` (e.g.
    `interactions[2].response.status`) for structure errors.
    """

    def __init__(self, path: Path, reason: str, *, line: int | None = None, where: str | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        self.where = where
        super().__init__(path, reason, line, where)

    def __str__(self) -> str:
        location = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        if self.where:
            location = f"{location}: {self.where}"
        return f"{location}: {self.reason}"
