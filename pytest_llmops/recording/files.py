"""Writing files the safe way: readers see the old content or the new one, never half of either.

Also the portable file locks that order writers of one cassette across xdist
workers and tell a journal still being written from one a dead run left.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LockBusy", "cassette_lock", "lock_fd", "unlock_fd", "write_all", "write_atomic"]


class LockBusy(OSError):
    """A non-blocking lock request found the lock held (by another process or another open file)."""


def write_atomic(path: Path, text: str) -> None:
    """Temporary file in the same folder, fsync, rename. Keeps the old file's mode, else the umask's.

    Plain `os` calls: this runs once per recorded test, so the folder is made only when missing and
    the new file gets the umask's mode from `open` itself (no umask query, no chmod).
    """
    data = text.encode("utf-8")
    try:
        mode: int | None = os.stat(path).st_mode & 0o777
    except OSError:
        mode = None  # a new file: created with 0o666, which the umask narrows
    fd, tmp = _create_temp(path, 0o600 if mode is not None else 0o666)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _create_temp(path: Path, mode: int) -> tuple[int, str]:
    """A new `.<name>.<random>.tmp` beside `path` (its folder made if missing), open for writing."""
    folder, made = os.fspath(path.parent), False
    while True:
        tmp = os.path.join(folder, f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, _TEMP_FLAGS, mode), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            if made:
                raise
            path.parent.mkdir(parents=True, exist_ok=True)
            made = True


def write_all(fd: int, data: bytes) -> None:
    """All of `data` to the OS (`os.write` may take part of it)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def lock_fd(fd: int, *, exclusive: bool = True, blocking: bool = True) -> None:
    """flock on POSIX; msvcrt's byte-range lock on the first byte on Windows (always exclusive).

    Held until `unlock_fd` or until the file is closed, also when the process is killed.
    Raises LockBusy when `blocking` is false and the lock is held elsewhere.
    """
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError as exc:
            if blocking:
                raise
            raise LockBusy(str(exc)) from None
        return
    import fcntl

    flags = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        fcntl.flock(fd, flags if blocking else flags | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise LockBusy(str(exc)) from None


def unlock_fd(fd: int) -> None:
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def cassette_lock(path: Path) -> Iterator[None]:
    """Exclusive lock for read-merge-write of the cassette at `path`, across processes.

    POSIX locks the cassette's folder itself (no lock file left beside the cassettes);
    Windows, where a folder cannot be locked, a hidden `.<name>.lock` file beside it.
    """
    try:
        fd = _open_lock(path)
    except FileNotFoundError:  # the folder is made with the first cassette in it
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_lock(path)
    try:
        lock_fd(fd)
        try:
            yield
        finally:
            unlock_fd(fd)
    finally:
        os.close(fd)


def _open_lock(path: Path) -> int:
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        return os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    return os.open(path.parent, os.O_RDONLY)
