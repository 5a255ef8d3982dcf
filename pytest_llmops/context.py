"""The running llm test: what it called, what it scored, under which prompt, variant and run.

Checks and fixtures find it with `current()`. Only one test runs at a time in
a pytest process, so a module-level slot is enough, and threads started by the
app see it too (a contextvar would not reach them).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_llmops.markers import LLMMarker
from pytest_llmops.recording.interactions import Interaction
from pytest_llmops.results.records import INPUT_LIMIT, OUTPUT_LIMIT, AnswerRecord, RunRecord, TestRecord
from pytest_llmops.results.scores import Score
from pytest_llmops.spend.calls import LLMCall, Role, Source

CallFactory = Callable[[Interaction, Source], LLMCall]


@dataclass
class _Pending:
    interaction: Interaction
    source: Source
    index: int
    role: Role
    prompt: str | None
    variant: str | None
    run: int
    call: LLMCall | None = None


@dataclass
class TestContext:
    nodeid: str
    marker: LLMMarker
    record: TestRecord
    make_call: CallFactory
    cassette_label: str | None = None
    run: int = 0
    prompt: str | None = None
    variant: str | None = None
    role: Role = "app"
    _pending: list[_Pending] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _answer_run: int | None = None
    _answer_rank: int = 0

    __test__ = False

    # Interactions arrive from the transport (possibly from the app's threads).
    def add_interaction(self, index: int, interaction: Interaction, source: Source) -> LLMCall | None:
        pending = _Pending(interaction, source, index, self.role, self.prompt, self.variant, self.run)
        with self._lock:
            self._pending.append(pending)
        if source == "live":
            return self._materialize(pending)  # budgets need the cost now
        return None

    def _materialize(self, pending: _Pending) -> LLMCall:
        if pending.call is None:
            call = self.make_call(pending.interaction, pending.source)
            call.role = pending.role
            call.prompt = pending.prompt
            call.variant = pending.variant
            call.cassette = self.cassette_label
            call.index = pending.index
            call.extra.setdefault("run", pending.run)
            pending.call = call
        return pending.call

    @property
    def calls(self) -> list[LLMCall]:
        with self._lock:
            pending = list(self._pending)
        return [self._materialize(p) for p in pending]

    def add_score(self, score: Score) -> None:
        score.run = self.run
        self.record.scores.append(score)

    def observe(
        self, output: str, inputs: Mapping[str, str] | None = None, expected: str | None = None, rank: int = 2
    ) -> None:
        """Keep `output` as the test's answer, with the inputs and expected output it was scored against.

        The report shows it beside the baseline's answer. The answer comes from the first run that
        observed one (so `repeat` runs do not overwrite it); within that run the source of the highest
        `rank` wins (3: `checks.record_output`, 2: a check of an answer, 1: a scan such as `safety`,
        which may be given an input), the first on a tie. Inputs and the expected output are merged from
        every check of that run, the first value of each name kept.
        """
        if not isinstance(output, str):
            return
        if self._answer_run is not None and self.run != self._answer_run:
            return
        self._answer_run = self.run
        answer = self.record.answer
        if answer is None or rank > self._answer_rank:
            kept = answer
            answer = self.record.answer = AnswerRecord(
                output[:OUTPUT_LIMIT],
                hashlib.sha256(output.encode("utf-8", "surrogatepass")).hexdigest(),
                len(output),
            )
            if kept is not None:
                answer.inputs, answer.expected = kept.inputs, kept.expected
            self._answer_rank = rank
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and name not in answer.inputs:
                answer.inputs[name] = value[:INPUT_LIMIT]
        if answer.expected is None and isinstance(expected, str):
            answer.expected = expected[:INPUT_LIMIT]

    def use_prompt(self, ref: str, sha256: str, metadata: dict[str, Any] | None = None) -> None:
        """Tag the calls that follow with this prompt version."""
        self.prompt = ref
        self.record.prompts[ref] = sha256
        if metadata:
            self.record.prompt_metadata[ref] = metadata

    @contextlib.contextmanager
    def as_role(self, role: Role) -> Iterator[None]:
        previous, self.role = self.role, role
        try:
            yield
        finally:
            self.role = previous

    def begin_run(self, index: int) -> None:
        self.run = index

    def end_run(self, outcome: str, message: str | None, duration_s: float) -> None:
        self.record.runs.append(RunRecord(self.run, outcome, message, duration_s))


_current: TestContext | None = None


def current() -> TestContext | None:
    """The llm test running now, or None (outside tests, or in a test without the llm marker)."""
    return _current


def set_current(ctx: TestContext | None) -> None:
    global _current
    _current = ctx
