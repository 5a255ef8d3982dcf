"""Parsed cassettes kept by the SHA-256 of their bytes, so a file is parsed once per content, not per run.

What is kept is the caller's choice: `formats.load_interactions` keeps the interactions after every
check of the layout (the code doing those checks is part of the folder name, see `_readers_tag`).

The key is the content itself, so an entry can never be stale: a changed byte is another key, and a
cassette edited by hand, re-recorded or checked out at another commit is parsed afresh. Entries are
`marshal` dumps of plain data (dicts, lists, str, bytes, numbers): loading one runs no code, and an entry
that does not load (truncated, another Python's marshal version) is parsed again and rewritten. Writes
are atomic (temporary file, then rename), so xdist workers sharing the folder never see half an entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import itertools
import marshal
import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_llmops.recording.files import write_all

__all__ = ["ParseCache", "read_bytes"]

_serial = itertools.count()


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The whole file, as `Path.read_bytes` (and its errors), in a few system calls without a buffered
    file object: every replayed llm test reads two files (its cassette, then its parse cache entry)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)  # one more byte: a file that grew since the fstat reads on
        if len(data) <= size:
            return data
        chunks = [data]
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _readers_tag() -> str:
    """The interpreter, marshal's format and the YAML readers' own code: a new parser (a fixed bug, an
    upgraded PyYAML) must not be served the old one's output, so each gets its own folder."""
    digest = hashlib.sha256()
    spec = importlib.util.find_spec("yaml")  # its __init__ names its version; read, not imported
    if spec is not None and spec.origin is not None:
        with contextlib.suppress(OSError):
            digest.update(Path(spec.origin).read_bytes())
    here = Path(__file__).resolve().parent
    for name in (
        "yaml_io.py",
        "yaml_general.py",
        "yaml_fast.py",
        "formats.py",
        "layouts.py",
        "interactions.py",
        "content_encoding.py",
    ):
        with contextlib.suppress(OSError):
            digest.update((here / name).read_bytes())
    return f"py{sys.version_info.major}{sys.version_info.minor}-m{marshal.version}-{digest.hexdigest()[:12]}"


class ParseCache:
    """A folder of parsed cassettes by content hash; `load(data, parse)` returns `parse()`'s result.

    Entries sit in 256 subfolders named by the first two hex digits of their hash, as git keeps its
    objects, so no folder grows with the suite: on our ext4 machines, creating a file in a folder of
    2,000 entries took several times the system time it takes in a small one.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder / _readers_tag()
        self._prefix = os.path.join(self.folder, "")  # entries' paths are built as strings, once per test

    def load(self, data: bytes, parse: Callable[[], Any], *, kind: str = "") -> Any:
        """`kind` separates results that depend on more than the bytes (how a file's name says to read them)."""
        digest = hashlib.sha256(data).hexdigest()
        shard = self._prefix + digest[:2]
        path = f"{shard}{os.sep}{digest}{f'.{kind}' if kind else ''}.marshal"
        try:
            return marshal.loads(read_bytes(path))
        except (OSError, EOFError, ValueError, TypeError):
            pass
        parsed = parse()
        self._store(shard, path, parsed)
        return parsed

    def _store(self, shard: str, path: str, parsed: Any) -> None:
        try:
            blob = marshal.dumps(parsed)
        except ValueError:  # something marshal cannot hold: just don't cache it
            return
        # A name no other writer uses (process and thread), created exclusively, then renamed over the
        # entry: readers see the whole entry or none, whichever xdist worker wrote it.
        tmp = f"{shard}{os.sep}.tmp-{os.getpid()}-{threading.get_ident()}-{next(_serial)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
            try:
                fd = os.open(tmp, flags, 0o666)
            except FileNotFoundError:  # the first entry of this shard (or of the cache)
                os.makedirs(shard, exist_ok=True)
                fd = os.open(tmp, flags, 0o666)
            try:
                try:
                    write_all(fd, blob)
                finally:
                    os.close(fd)
                os.replace(tmp, path)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def clear(self) -> None:
        if self.folder.is_dir():
            shutil.rmtree(self.folder, ignore_errors=True)
