"""The journal: every live interaction on disk the moment it completes, before the cassette is written.

A cassette file is written once per test, at its end; a run stopped by Ctrl-C
or killed before then would lose every paid call the test made. So each live
interaction is first appended, scrubbed and scanned like the cassette, as one
JSON line to `<cassette>.<writer>.journal` beside the cassette, written straight
to the operating system (no buffer in this process). Writing the cassette merges
the journal in and deletes it.

Durability: a line handed to the OS survives the process, however it ends
(Ctrl-C, SIGKILL, a crash); only a power cut or a kernel crash can lose it, and
fsync is what guards against those. An fsync per line would cost every live
call a disk round trip (milliseconds on a loaded disk), so it is batched: the
cassette written at the end of the test is fsync'd (`write_atomic`) before its
journal is deleted, and a journal left behind (write failure, abandoned run) is
fsync'd when it is closed. A power cut therefore loses at most the calls of the
tests running at that moment; nothing else does.

A journal's writer holds an exclusive lock on it for as long as it writes,
which the operating system releases when the process ends, however it ends.
A journal nobody holds is therefore a leftover of a run that died: the next
run that opens its cassette, or `pytest-llmops recover`, merges it.

Line 1 is a header (`{"llmops_journal": 1, "cassette": NAME, ...}`); each
further line one interaction. A last line cut short by the kill is skipped.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_llmops.recording.files import LockBusy, cassette_lock, lock_fd, write_all, write_atomic
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)

__all__ = [
    "JOURNAL_SUFFIX",
    "Journal",
    "JournalContent",
    "Recovery",
    "find_journals",
    "read_journal",
    "recover",
]

JOURNAL_SUFFIX = ".journal"
FORMAT_VERSION = 1


class Journal:
    """The journal this process writes for one cassette; created (and locked) by `open`."""

    def __init__(self, cassette: Path) -> None:
        self.cassette = cassette
        self._path: Path | None = None
        self.count = 0
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        """`<cassette>.<pid>-<random>.journal`, named when first asked for: a cassette that only replays
        (every llm test's, by default) never does."""
        if self._path is None:
            name = f"{self.cassette.name}.{os.getpid()}-{secrets.token_hex(3)}{JOURNAL_SUFFIX}"
            self._path = self.cassette.with_name(name)
        return self._path

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def open(self) -> None:
        """Create the folder and the journal, lock it and write its header: proof the place is writable.

        Raises OSError (read-only folder, disk full, a file where a folder should be, ...);
        nothing is left behind then.
        """
        if self.cassette.is_dir():
            raise IsADirectoryError(21, "the cassette path is a folder", str(self.cassette))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileNotFoundError:  # the cassette's folder is made with its first journal
            self.cassette.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, flags, 0o644)
        try:
            lock_fd(fd)
            header = {
                "llmops_journal": FORMAT_VERSION,
                "cassette": self.cassette.name,
                "pid": os.getpid(),
                "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            # A write, not an fsync: a full disk refuses the write already, and the request that
            # follows must not wait on the disk (the app would see it as latency).
            write_all(fd, (json.dumps(header) + "\n").encode("utf-8"))
        except BaseException:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise
        self._fd = fd

    def append_line(self, line: str) -> None:
        """Append one interaction line (from `dumps_line`), handed to the OS before returning: it survives
        the process being killed. Not fsync'd (see the module's docstring)."""
        if self._fd is None:
            raise RuntimeError("journal is not open")
        write_all(self._fd, line.encode("utf-8"))
        self.count += 1

    def sync(self) -> None:
        """fsync the journal and its folder (the file's name), so it survives a power cut too."""
        if self._fd is not None:
            os.fsync(self._fd)
            _fsync_folder(self.path.parent)

    def close(self) -> None:
        """Stop writing; the file stays (and becomes a leftover for recovery), fsync'd first."""
        if self._fd is not None:
            try:
                if self.count:
                    self.sync()
            except OSError:
                pass  # best effort: the lines are with the OS already
            finally:
                os.close(self._fd)
                self._fd = None

    def discard(self) -> None:
        """Close and delete: its interactions are in the cassette now (or were refused)."""
        if self._fd is None and not self.count:
            return  # never created (or already gone)
        if self._fd is not None:
            os.close(self._fd)  # no fsync: the file goes
            self._fd = None
        self.path.unlink(missing_ok=True)
        self.count = 0


def dumps_line(interaction: Interaction) -> str:
    return json.dumps(_to_json(interaction), ensure_ascii=False) + "\n"


@dataclass(slots=True)
class JournalContent:
    cassette_name: str | None
    interactions: list[Interaction]
    skipped_lines: int


def read_journal(path: Path) -> JournalContent:
    """Parse a journal; lines that are not whole interactions (a write cut by a kill) are counted, not fatal."""
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    name: str | None = None
    interactions: list[Interaction] = []
    skipped = 0
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            skipped += 1
            continue
        if number == 0 and isinstance(data, dict) and "llmops_journal" in data:
            name = str(data.get("cassette")) if data.get("cassette") is not None else None
            continue
        try:
            interactions.append(_from_json(data))
        except (KeyError, TypeError, ValueError):
            skipped += 1
    return JournalContent(name, interactions, skipped)


def find_journals(cassette: Path) -> list[Path]:
    """Journals written for this cassette, by any process, oldest first."""
    folder = cassette.parent
    names = _journal_names(folder)
    if not names:  # the usual case: no journal in the folder at all
        return []
    prefix = os.path.normcase(cassette.name + ".")
    shortest = len(prefix) + len(JOURNAL_SUFFIX)  # `<cassette>.<writer>.journal`, the writer may be empty
    found = [
        p
        for p in (
            folder / name
            for name in names
            if len(name) >= shortest and os.path.normcase(name).startswith(prefix)
        )
        if p.is_file() and _header_name(p) in (None, cassette.name)
    ]
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


_SETTLED_NS = 2_000_000_000
_listings: dict[str, tuple[tuple[int, int, int], list[str]]] = {}


def _journal_names(folder: Path) -> list[str]:
    """The journal file names in `folder`, listed again only when the folder changed.

    Every llm test asks when it opens its cassette, and a module's cassettes share a folder, so listing
    it each time made opening a cassette cost O(tests in the module). A folder's mtime changes whenever
    a name is added or removed in it, but file systems stamp it from a coarse clock: a listing is kept
    only when the folder was last changed well before it was made (`_SETTLED_NS`), so a name added
    after the listing always gives the folder another mtime.
    """
    key = os.fspath(folder)
    try:
        st = os.stat(key)
    except OSError:  # no folder yet (nothing recorded), or not a folder
        _listings.pop(key, None)
        return []
    state = (st.st_ino, st.st_size, st.st_mtime_ns)
    kept = _listings.get(key)
    if kept is not None and kept[0] == state:
        return kept[1]
    try:
        names = [name for name in os.listdir(key) if name.endswith(JOURNAL_SUFFIX)]
    except OSError:
        return []
    if time.time_ns() - st.st_mtime_ns > _SETTLED_NS:
        _listings[key] = (state, names)
    else:
        _listings.pop(key, None)
    return names


def _header_name(path: Path) -> str | None:
    """The cassette a journal's header names (None when the header is unreadable)."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.readline())
    except (OSError, ValueError):
        return None
    return str(data["cassette"]) if isinstance(data, dict) and data.get("cassette") is not None else None


@dataclass(slots=True)
class Recovery:
    journal: Path
    cassette: Path
    interactions: int
    skipped_lines: int


def recover(cassette: Path, *, check_text: Any = None) -> list[Recovery]:
    """Merge every leftover journal of `cassette` into it (appended, in journal order) and delete them.

    Journals still locked by a live writer are left alone. `check_text(text, target)`
    may refuse the merged text (a secret scan): the journals then stay.
    A cassette that cannot be read raises CassetteFormatError; nothing changes then.
    """
    candidates = find_journals(cassette)
    if not candidates:
        return []
    from pytest_llmops.recording.formats import dump_interactions, load_interactions

    with cassette_lock(cassette):
        held: list[tuple[int, Path, JournalContent]] = []
        try:
            for path in candidates:
                fd = _claim(path)
                if fd is None:
                    continue
                content = read_journal(path)
                if content.cassette_name not in (None, cassette.name):
                    os.close(fd)  # a journal of another cassette whose name starts like this one
                    continue
                held.append((fd, path, content))
            if not held:
                return []
            merged = load_interactions(cassette) if cassette.is_file() else []
            for _, _, content in held:
                for interaction in content.interactions:
                    # Its run died before the test finished: the test's next run records the rest
                    # (`cassette.INTERRUPTED`, named here to keep this module below cassette.py).
                    interaction.meta.extra["interrupted"] = True
                merged.extend(content.interactions)
            if any(c.interactions for _, _, c in held):
                text = dump_interactions(merged)
                if check_text is not None:
                    check_text(text, str(cassette))
                write_atomic(cassette, text)
            for _, path, _ in held:
                path.unlink(missing_ok=True)
            return [Recovery(p, cassette, len(c.interactions), c.skipped_lines) for _, p, c in held]
        finally:
            for fd, _, _ in held:
                os.close(fd)


def leftover_cassettes(root: Path) -> Iterator[Path]:
    """Cassettes under `root` (a folder, searched recursively, or one cassette or journal file) with journals."""
    if root.is_file() and root.name.endswith(JOURNAL_SUFFIX):
        name = read_journal(root).cassette_name
        if name:
            yield root.with_name(name)
        return
    if root.is_file() or not root.exists():
        yield root
        return
    seen: set[Path] = set()
    for journal in sorted(root.rglob(f"*{JOURNAL_SUFFIX}")):
        name = read_journal(journal).cassette_name
        if name is None:
            continue
        cassette = journal.with_name(name)
        if cassette not in seen:
            seen.add(cassette)
            yield cassette


def _claim(path: Path) -> int | None:
    """An fd holding the journal's lock, or None when a live writer holds it (or it vanished)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        lock_fd(fd, blocking=False)
    except LockBusy:
        os.close(fd)
        return None
    return fd


def _fsync_folder(folder: Path) -> None:
    """Make the new file's name durable too; not possible (nor needed) on Windows."""
    if os.name == "nt":  # pragma: no cover
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _body_out(body: bytes | None) -> dict[str, str] | None:
    if body is None:
        return None
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}


def _body_in(data: Any) -> bytes | None:
    if data is None:
        return None
    if "base64" in data:
        return base64.b64decode(data["base64"])
    return str(data["text"]).encode("utf-8")


def _to_json(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    return {
        "request": None
        if request is None
        else {
            "method": request.method,
            "uri": request.uri,
            "headers": request.headers,
            "body": _body_out(request.body),
        },
        "response": {
            "status": response.status,
            "reason": response.reason,
            "headers": response.headers,
            "body": _body_out(response.body),
        },
        "metadata": interaction.meta.to_dict(),
    }


def _from_json(data: dict[str, Any]) -> Interaction:
    req, resp = data["request"], data["response"]
    request = (
        None
        if req is None
        else RecordedRequest(
            method=str(req["method"]),
            uri=str(req["uri"]),
            headers={str(k): [str(x) for x in v] for k, v in req["headers"].items()},
            body=_body_in(req["body"]),
        )
    )
    response = RecordedResponse(
        status=int(resp["status"]),
        reason=str(resp.get("reason") or ""),
        headers={str(k): [str(x) for x in v] for k, v in resp["headers"].items()},
        body=_body_in(resp["body"]) or b"",
    )
    return Interaction(
        request=request, response=response, meta=InteractionMeta.from_dict(data.get("metadata"))
    )
