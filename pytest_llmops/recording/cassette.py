"""One cassette file: what it holds, which recording answers a request, and writing it back safely.

Live interactions reach disk twice: at once, one by one, in the cassette's
journal (see `journal`), and at the end of the test in the cassette itself,
merged under a lock with whatever another process wrote there meanwhile.
"""

from __future__ import annotations

import os
import stat
import threading
from collections import deque
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_llmops.recording import guard
from pytest_llmops.recording.files import cassette_lock, write_atomic
from pytest_llmops.recording.headers import DEFAULT_RULE, HeaderRule
from pytest_llmops.recording.interactions import Interaction, RecordedRequest
from pytest_llmops.recording.journal import Journal, Recovery, dumps_line, recover
from pytest_llmops.recording.matching import Matcher, MatchKey, body_diff, closest
from pytest_llmops.recording.multipart import parse_form
from pytest_llmops.recording.secrets import Scrubber, SecretLeakError, redact, remember_request

INTERRUPTED = "interrupted"
"""Metadata key of a recording whose test did not finish (Ctrl-C, or a run killed and recovered from its
journal): under `once` the test's next run records the rest instead of failing on the first request
the recording does not hold. Cleared when a run of the test finishes."""


class CassetteWriteError(Exception):
    """The cassette (or its journal) cannot be written: the message names the path and what to do."""


class RecordMode(StrEnum):
    """vcrpy's record modes, plus `rewrite` (pytest-recording's): start the file afresh."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"
    REWRITE = "rewrite"


class Cassette:
    """Recorded interactions of one test, indexed by request key, plus what this run adds.

    Identical requests are answered by their recordings in recorded order, each
    recording once (cache write then read, 429 then 200, one per repeat).
    """

    def __init__(
        self,
        path: Path,
        mode: RecordMode,
        matcher: Matcher,
        scrubber: Scrubber,
        headers: HeaderRule = DEFAULT_RULE,
        *,
        run_started_ns: int | None = None,
    ) -> None:
        self.path = path
        self.headers = headers
        self.mode = mode
        self.matcher = matcher
        self.scrubber = scrubber
        found = _stat(path)
        written_ns = found.st_mtime_ns if found is not None else 0  # before a recovery rewrites the file
        # Journals a dead run left are merged first, so their recordings replay like any other.
        self.recovered: list[Recovery] = recover(path, check_text=scrubber.assert_text_clean)
        if self.recovered:
            found = _stat(path)
        self.existed = found is not None and stat.S_ISREG(found.st_mode)
        # "Exists" means existed before the run. A file this run wrote already (another test sharing the
        # cassette, on this or another xdist worker; a journal recovered just now is not) holds this run's
        # recordings: under `once` it replays what it holds and records the rest (as `new_episodes`), under
        # `rewrite` later tests append to it (as `all`) instead of replacing it.
        self.written_this_run = (
            self.existed
            and mode in (RecordMode.ONCE, RecordMode.REWRITE)
            and run_started_ns is not None
            and written_ns >= run_started_ns
        )
        self.recorded: list[Interaction] = []
        if self.existed and (mode is not RecordMode.REWRITE or self.written_this_run):
            from pytest_llmops.recording.formats import load_interactions

            self.recorded = load_interactions(path)
        self.unfinished = any(i.meta.extra.get(INTERRUPTED) is True for i in self.recorded)
        """The file holds recordings of a test that was interrupted (`INTERRUPTED`)."""
        self.new: list[Interaction] = []
        self.saved = 0
        """How many of `new` are in the cassette file (the rest are in the journal, or nowhere)."""
        self.played = 0
        self.misses = 0
        self.refused = False
        self.leak: SecretLeakError | None = None
        self.write_error: CassetteWriteError | None = None
        self.journal = Journal(path)
        self._disk_state = None if found is None else (found.st_ino, found.st_size, found.st_mtime_ns)
        rewrites = mode is RecordMode.REWRITE and not self.written_this_run
        self._base: list[Interaction] = [] if rewrites else self.recorded
        self._replaced = not rewrites or not self.existed
        self._queues: dict[MatchKey, deque[int]] | None = None
        self.prepared: list[Any] = []
        """Each recording in the form the interceptions replay it from (`transport.prepare_replay`)."""
        self._lock = threading.Lock()

    @property
    def replays(self) -> bool:
        return self.mode in (RecordMode.NONE, RecordMode.NEW_EPISODES) or (
            self.mode is RecordMode.ONCE and self.existed
        )

    @property
    def records(self) -> bool:
        return self.mode in (RecordMode.NEW_EPISODES, RecordMode.ALL, RecordMode.REWRITE) or (
            self.mode is RecordMode.ONCE and (not self.existed or self.written_this_run or self.unfinished)
        )

    def _index(self) -> dict[MatchKey, deque[int]]:
        if self._queues is None:
            queues: dict[MatchKey, deque[int]] = {}
            for i, interaction in enumerate(self.recorded):
                if interaction.request is not None:
                    queues.setdefault(self.matcher.key(interaction.request), deque()).append(i)
            from pytest_llmops.recording.transport import prepare_replay

            self.prepared = [prepare_replay(interaction) for interaction in self.recorded]
            self._queues = queues
        return self._queues

    def play(self, request: RecordedRequest, body_key: str | None = None) -> tuple[int, Interaction] | None:
        """The next unplayed recording for `request`, or None. `body_key`: its canonical body, when
        the interception has it without the bytes (`Matcher.canonical_json`)."""
        queues = self._queues
        if queues is None:  # not indexed yet (or not replaying)
            if not self.replays:
                return None
            queues = self._index()
        key = self.matcher.key(request, body_key)
        with self._lock:
            queue = queues.get(key)
            if not queue:
                return None
            index = queue.popleft()
            self.played += 1
        return index, self.recorded[index]

    def prepare_live(self) -> None:
        """Called before a live request is sent: refuse it when what it returns could not be kept.

        The first call creates the journal, which proves the folder can be written (and has room
        for a write) before anything is paid for.
        """
        with self._lock:
            if self.leak is not None:
                raise self.leak
            if self.write_error is not None:
                raise self.write_error
            if not self.journal.is_open:
                try:
                    self.journal.open()
                except OSError as exc:
                    self.write_error = _write_error(self.path, self.journal.path, exc, before=True)
                    raise self.write_error from None

    def add(self, interaction: Interaction) -> int:
        """Keep a live interaction, scrubbed, slimmed (`headers`) and scanned, and journal it; returns its
        index in the file.

        Never raises: the transport calls it while the app reads the response. A credential or a
        failed journal write is kept in `leak` / `write_error` for the test to fail on.
        """
        clean = self.headers.apply(self.scrubber.scrub(interaction))
        with self._lock:
            index = len(self._base) + len(self.new)
            if self.refused:
                return index
            try:
                # The one scan of this interaction: every field, its decoded views and the metadata,
                # which is everything its journal line holds. The file's exact text is checked once
                # more when it is written (`save`).
                self.scrubber.assert_interactions_clean([clean], str(self.path))
            except SecretLeakError as exc:
                self.leak = SecretLeakError(
                    exc.target, exc.field.replace("interactions[0]", f"interactions[{index}]"), exc.kind
                )
                self._refuse()
                return index
            self.new.append(clean)
            if self.write_error is None:
                try:
                    if not self.journal.is_open:
                        self.journal.open()
                    self.journal.append_line(dumps_line(clean))
                except OSError as exc:
                    self.write_error = _write_error(self.path, self.journal.path, exc, before=False)
            return index

    def was_recorded(self, request: RecordedRequest) -> int:
        """How many recordings exist for this request, played or not."""
        key = self.matcher.key(request)
        return sum(1 for i in self.recorded if i.request is not None and self.matcher.key(i.request) == key)

    def miss_message(self, request: RecordedRequest, rerecord_command: str) -> str:
        """Why `request` has no recording, with the closest recorded one's diff; secrets redacted."""
        self.misses += 1
        remember_request(request.headers, request.uri, self.scrubber)
        parts = urlsplit(request.uri)
        model = request.fields().get("model")
        what = f"{request.method} {parts.path}" + (f" (model {model})" if model else "")
        lines = [f"No recorded response for {what} in cassette {self.path} (record mode: {self.mode.value})."]
        if not self.existed:
            lines.append("The cassette file does not exist yet.")
            command = rerecord_command.replace("{mode}", "once")
        elif self.unfinished:
            lines.append(
                "The recording of this test was interrupted before the test finished (Ctrl-C, or a run "
                "that was killed), so the cassette holds only what was recorded until then; recording "
                "with `once` replays that and records the rest."
            )
            command = rerecord_command.replace("{mode}", "once")
        else:
            command = rerecord_command.replace("{mode}", "new_episodes")
            seen = self.was_recorded(request)
            hosts = {urlsplit(i.request.uri).hostname for i in self.recorded if i.request is not None}
            if parts.hostname not in hosts:
                lines += _new_host_lines(request.uri, str(parts.hostname), bool(hosts))
            elif seen:
                lines.append(
                    f"This request was recorded {seen} time(s) and every recording was already played in this "
                    "test: the test now makes it more often than when it was recorded."
                )
            else:
                requests: Sequence[RecordedRequest] = [
                    i.request for i in self.recorded if i.request is not None
                ]
                best = closest(request, requests, self.matcher)
                if best is None:
                    lines.append("The cassette holds no requests.")
                else:
                    recorded = requests[best]
                    lines.append(
                        f"Closest recorded request (#{best}, {recorded.method} {urlsplit(recorded.uri).path}); "
                        f"diff of the {'form fields' if parse_form(request.body) is not None else 'JSON bodies'}:"
                    )
                    lines.append(body_diff(recorded, request, self.matcher))
        lines.append("To record it (needs the provider's API key), run:")
        lines.append(f"  {command}")
        return redact("\n".join(lines), self.scrubber)

    @property
    def dirty(self) -> bool:
        if self.refused:
            return False
        return len(self.new) > self.saved or not self._replaced

    def _finishes(self, finished: bool) -> bool:
        """Whether saving now clears the file's `INTERRUPTED` marks: its test finished while recording."""
        return finished and self.unfinished and self.records and not self.refused

    def refuse(self) -> None:
        """Drop this run's recordings: the file stays as it was (after a secret was found in them)."""
        with self._lock:
            self._refuse()

    def _refuse(self) -> None:
        self.refused = True
        self.new.clear()
        self.saved = 0
        self.journal.discard()

    def check_secrets(self) -> None:
        """Raise SecretLeakError if a new interaction held a credential; nothing of this run is kept then."""
        if self.leak is not None:
            raise self.leak

    def save(self, *, finished: bool = True) -> bool:
        """Merge what is not in the file yet into it, atomically, under the cassette's lock.

        `finished`: whether the test ran to its end. When it did not (Ctrl-C), what it recorded is
        marked `INTERRUPTED`, so its next run records the rest; when it did, earlier marks are cleared.

        If the file changed on disk since this test read it (another xdist worker recording a test
        that shares it), the new interactions are appended to what is there now, so nobody's
        recordings are lost. Returns whether the file was written; raises CassetteWriteError
        (the journal then keeps the interactions for the next run) or SecretLeakError (from the
        final scan of the file's text; nothing of this run is kept then).
        """
        clear_marks = self._finishes(finished)
        if not self.dirty and not clear_marks:  # nothing new, or refused (check_secrets says why)
            self.journal.discard()
            return False
        from pytest_llmops.recording.formats import dump_interactions, load_interactions

        with self._lock:
            pending = self.new[self.saved :]
            if not finished:
                for interaction in pending:
                    interaction.meta.extra[INTERRUPTED] = True
            try:
                with cassette_lock(self.path):
                    base = self._base
                    if _fingerprint(self.path) != self._disk_state:
                        base = load_interactions(self.path) if self.path.is_file() else []
                    final = [*base, *pending]
                    if clear_marks:
                        for interaction in final:
                            interaction.meta.extra.pop(INTERRUPTED, None)
                    text = dump_interactions(final)
                    self.scrubber.assert_text_clean(text, str(self.path))
                    write_atomic(self.path, text)
                    self._disk_state = _fingerprint(self.path)
            except SecretLeakError:
                self._refuse()
                raise
            except OSError as exc:
                self.journal.close()
                raise _write_error(
                    self.path, self.journal.path, exc, before=False, kept=len(pending)
                ) from None
            self._base = final
            self.saved = len(self.new)
            self._replaced = True
            if clear_marks:
                self.unfinished = False
            self.journal.discard()
        return True

    def close(self) -> None:
        """Stop journaling without merging (the run is being abandoned; a later run recovers)."""
        self.journal.close()


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _fingerprint(path: Path) -> tuple[int, int, int] | None:
    st = _stat(path)
    return None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns)


def _write_error(
    path: Path, journal: Path, exc: OSError, *, before: bool, kept: int | None = None
) -> CassetteWriteError:
    reason = exc.strerror or str(exc)
    if before:
        return CassetteWriteError(
            f"cannot record into cassette {path}: {reason} ({exc.filename or path.parent}). "
            "The request was not sent, since its answer could not be kept. "
            "Make the folder writable (or free disk space), or point llm_cassette_dir elsewhere."
        )
    if not journal.exists():
        where = "this test's recordings could not be kept"
    elif kept is None:
        where = (
            f"the recordings journaled before the failure are in {journal}, which the next run "
            f"(or `pytest-llmops recover {path.parent}`) merges"
        )
    else:
        where = (
            f"the {kept} recording(s) not written are kept in {journal}, which the next run "
            f"(or `pytest-llmops recover {path.parent}`) merges"
        )
    return CassetteWriteError(
        f"could not write cassette {path}: {reason}; {where}. Free the disk or fix the folder."
    )


class LiveOnly:
    """A cassette that answers nothing and keeps nothing: every request goes live, and its answer reaches
    the test but no file (no cassette, no journal). The live canary (`--llm-live-sample`) sends through it,
    so comparing a recording with today's answer never changes the recording.

    It has the part of `Cassette`'s interface the `Recorder` uses.
    """

    records = True
    replays = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sent = 0

    def play(self, request: RecordedRequest, body_key: str | None = None) -> None:
        return None

    def prepare_live(self) -> None:
        return None

    def add(self, interaction: Interaction) -> int:
        """Count the interaction; its index is its position among this run's live answers."""
        self.sent += 1
        return self.sent - 1

    def miss_message(self, request: RecordedRequest, rerecord_command: str) -> str:  # pragma: no cover
        raise AssertionError("a live-only cassette never misses")


def _new_host_lines(uri: str, host: str, others: bool) -> list[str]:
    """A miss to a host the cassette never recorded: often a client library's own side traffic
    (telemetry, a registry or token lookup) that happened in this run and not when it was recorded."""
    lines = [f"The cassette holds no request to {host}{'' if others else ' (it holds no requests)'}."]
    if not guard.is_provider_request(uri):
        lines.append(
            f"If this is not an LLM call but a library's own traffic (telemetry, a registry or token lookup, "
            f"which can happen in one run and not in another), let it through unrecorded with "
            f"llm_ignore_hosts = {host} in the ini file (or --llm-ignore-hosts={host}); else record it."
        )
    return lines
