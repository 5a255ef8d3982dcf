"""One cassette file: what it holds, which recording answers a request, and writing it back safely."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pytest_llmops.recording.files import write_atomic
from pytest_llmops.recording.interactions import Interaction, RecordedRequest
from pytest_llmops.recording.matching import Matcher, MatchKey, body_diff, closest
from pytest_llmops.recording.secrets import Scrubber, redact, remember_request


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

    def __init__(self, path: Path, mode: RecordMode, matcher: Matcher, scrubber: Scrubber) -> None:
        self.path = path
        self.mode = mode
        self.matcher = matcher
        self.scrubber = scrubber
        self.existed = path.is_file()
        self.recorded: list[Interaction] = []
        if self.existed and mode is not RecordMode.REWRITE:
            from pytest_llmops.recording.formats import load_interactions

            self.recorded = load_interactions(path)
        self.new: list[Interaction] = []
        self.played = 0
        self.misses = 0
        self.refused = False
        self._queues: dict[MatchKey, deque[int]] | None = None
        self._lock = threading.Lock()

    @property
    def replays(self) -> bool:
        return self.mode in (RecordMode.NONE, RecordMode.NEW_EPISODES) or (
            self.mode is RecordMode.ONCE and self.existed
        )

    @property
    def records(self) -> bool:
        return self.mode in (RecordMode.NEW_EPISODES, RecordMode.ALL, RecordMode.REWRITE) or (
            self.mode is RecordMode.ONCE and not self.existed
        )

    def _index(self) -> dict[MatchKey, deque[int]]:
        if self._queues is None:
            queues: dict[MatchKey, deque[int]] = {}
            for i, interaction in enumerate(self.recorded):
                if interaction.request is not None:
                    queues.setdefault(self.matcher.key(interaction.request), deque()).append(i)
            self._queues = queues
        return self._queues

    def play(self, request: RecordedRequest) -> tuple[int, Interaction] | None:
        """The next unplayed recording for `request`, or None."""
        if not self.replays:
            return None
        key = self.matcher.key(request)
        with self._lock:
            queue = self._index().get(key)
            if not queue:
                return None
            index = queue.popleft()
            self.played += 1
        return index, self.recorded[index]

    def add(self, interaction: Interaction) -> int:
        """Keep a live interaction (scrubbed) for writing; returns its index in the saved file."""
        clean = self.scrubber.scrub(interaction)
        with self._lock:
            self.new.append(clean)
            base = 0 if self.mode is RecordMode.REWRITE else len(self.recorded)
            return base + len(self.new) - 1

    def was_recorded(self, request: RecordedRequest) -> int:
        """How many recordings exist for this request, played or not."""
        key = self.matcher.key(request)
        return sum(1 for i in self.recorded if i.request is not None and self.matcher.key(i.request) == key)

    def miss_message(self, request: RecordedRequest, rerecord_command: str) -> str:
        """Why `request` has no recording, with the closest recorded one's diff; secrets redacted."""
        self.misses += 1
        remember_request(request.headers, request.uri, self.scrubber)
        parts = urlsplit(request.uri)
        body = request.json()
        model = body.get("model") if isinstance(body, dict) else None
        what = f"{request.method} {parts.path}" + (f" (model {model})" if model else "")
        lines = [f"No recorded response for {what} in cassette {self.path} (record mode: {self.mode.value})."]
        if not self.existed:
            lines.append("The cassette file does not exist yet.")
            command = rerecord_command.replace("{mode}", "once")
        else:
            command = rerecord_command.replace("{mode}", "new_episodes")
            seen = self.was_recorded(request)
            if seen:
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
                        "diff of the JSON bodies:"
                    )
                    lines.append(body_diff(recorded, request, self.matcher))
        lines.append("To record it (needs the provider's API key), run:")
        lines.append(f"  {command}")
        return redact("\n".join(lines), self.scrubber)

    @property
    def dirty(self) -> bool:
        if self.refused:
            return False
        return bool(self.new) or (self.mode is RecordMode.REWRITE and self.existed)

    def refuse(self) -> None:
        """Drop this run's recordings: the file stays as it was (after a secret was found in them)."""
        self.refused = True
        self.new.clear()

    def final_interactions(self) -> list[Interaction]:
        if self.mode is RecordMode.REWRITE:
            return list(self.new)
        return [*self.recorded, *self.new]

    def check_secrets(self) -> None:
        """Raise SecretLeakError if a new interaction holds a credential; nothing of this run is kept then."""
        try:
            self.scrubber.assert_interactions_clean(self.new, str(self.path))
        except Exception:
            self.refuse()
            raise

    def save(self) -> bool:
        """Write atomically when something changed. Returns whether the file was written."""
        if not self.dirty:
            return False
        from pytest_llmops.recording.formats import dump_interactions

        self.check_secrets()
        text = dump_interactions(self.final_interactions())
        self.scrubber.assert_text_clean(text, str(self.path))
        write_atomic(self.path, text)
        return True
