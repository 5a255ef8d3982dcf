"""A replay-only cassette opened on its first use, so an llm test that sends nothing never reads its file.

Under `--llm-record=none` (the default) a cassette only answers: whether it replays or records does not
depend on the file, and nothing is written. So the file is not needed until the test's first request (or
until the fail-closed guard sees a loopback connection and needs the cassette's recorded endpoints). A
test that makes no call then costs no stat, no read and no parse, and holds no parsed cassette.

What the eager `Cassette` did when the test started happens at that first use instead: leftover journals
are merged (`journal.recover`), the file is read (through the parse cache), and a file that cannot be read
fails the test with `CassetteUnreadable`, our message, from inside the client's call. It derives from
pytest's `Failed` (a BaseException), like `CassetteMiss`, so no SDK retry loop can swallow it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_llmops.recording.cassette import Cassette, RecordMode
from pytest_llmops.recording.interactions import Interaction, RecordedRequest
from pytest_llmops.recording.matching import Matcher


class CassetteUnreadable(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """The test's cassette could not be read when its first request needed it."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg=msg, pytrace=False)


class DeferredCassette:
    """A `Cassette` in record mode `none`, created on first use by `create()`.

    `on_open(cassette)` runs once when it is created (the session warns about recovered journals there);
    `describe_failure(exc)` turns an error reading the file into the message of `CassetteUnreadable`,
    raised then and on every later use (the test fails closed, whatever the app does with the first one).
    """

    mode = RecordMode.NONE
    replays = True
    records = False

    def __init__(
        self,
        path: Path,
        matcher: Matcher,
        create: Callable[[], Cassette],
        *,
        on_open: Callable[[Cassette], None],
        describe_failure: Callable[[Exception], str],
    ) -> None:
        self.path = path
        self.matcher = matcher
        self._create = create
        self._on_open = on_open
        self._describe_failure = describe_failure
        self._cassette: Cassette | None = None
        self._failure: str | None = None
        self._lock = threading.Lock()

    @property
    def opened(self) -> bool:
        """Whether the file was read (or its reading was attempted and failed)."""
        return self._cassette is not None or self._failure is not None

    def cassette(self) -> Cassette:
        """The cassette, read now if it was not yet; raises CassetteUnreadable when it cannot be read."""
        cassette = self._cassette
        if cassette is not None:
            return cassette
        with self._lock:
            if self._cassette is None and self._failure is None:
                try:
                    created = self._create()
                except Exception as exc:  # a broken cassette fails this test, not the session
                    self._failure = self._describe_failure(exc)
                else:
                    self._cassette = created
                    self._on_open(created)
            if self._failure is not None:
                raise CassetteUnreadable(self._failure)
            assert self._cassette is not None
            return self._cassette

    def recorded_uris(self) -> list[str]:
        """The URIs the cassette's requests went to (the guard watches their loopback ports)."""
        return [i.request.uri for i in self.cassette().recorded if i.request is not None]

    # What the session reads at the end of the test: nothing to open for a test that sent nothing.

    @property
    def played(self) -> int:
        return self._cassette.played if self._cassette is not None else 0

    @property
    def misses(self) -> int:
        return self._cassette.misses if self._cassette is not None else 0

    @property
    def saved(self) -> int:
        return self._cassette.saved if self._cassette is not None else 0

    @property
    def write_error(self) -> Any:
        return self._cassette.write_error if self._cassette is not None else None

    def check_secrets(self) -> None:
        if self._cassette is not None:
            self._cassette.check_secrets()

    def save(self, *, finished: bool = True) -> bool:
        """Replaying writes nothing (it only discards a journal, which a replay never opens)."""
        return self._cassette.save(finished=finished) if self._cassette is not None else False

    def close(self) -> None:
        if self._cassette is not None:
            self._cassette.close()

    # What a request needs: the file.

    def play(self, request: RecordedRequest, body_key: str | None = None) -> tuple[int, Interaction] | None:
        return self.cassette().play(request, body_key)

    @property
    def prepared(self) -> list[Any]:
        return self.cassette().prepared

    def miss_message(self, request: RecordedRequest, rerecord_command: str) -> str:
        return self.cassette().miss_message(request, rerecord_command)

    def __getattr__(self, name: str) -> Any:
        # Anything else of the cassette's (recorded, existed, ...) needs the file too.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.cassette(), name)
