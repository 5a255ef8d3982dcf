"""The per-test record: JSON-able, built on the worker, carried to the controller on the TestReport."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pytest_llmops.results.scores import Score
from pytest_llmops.spend.calls import LLMCall

REPORT_ATTR = "llmops"

# Failures that say nothing about the answers: a baseline made from them would record pass_rate 0, cost 0.
NOT_CHECK_FAILURES = (
    "cassette miss",
    "budget exhausted",
    "network blocked",
    "error",
)  # attribute of the teardown TestReport that carries TestRecord.to_dict()


@dataclass(slots=True)
class RunRecord:
    """One execution of the test body (several with `repeat`)."""

    index: int
    outcome: str  # passed | failed | skipped
    message: str | None = None
    duration_s: float = 0.0


@dataclass(slots=True)
class CassetteInfo:
    path: str
    mode: str
    played: int = 0
    recorded: int = 0
    misses: int = 0
    written: bool = False


OUTPUT_LIMIT = 2000
"""Characters of a test's output kept in its record (and baseline); `AnswerRecord.sha256` covers it all."""
INPUT_LIMIT = 1000
"""Characters kept of each input (question, context, ...) and of the expected output."""


@dataclass(slots=True)
class AnswerRecord:
    """What the test's model said, and to what: the text its checks scored, the inputs and the expected
    output they were given. Long texts are cut (`OUTPUT_LIMIT`, `INPUT_LIMIT`); `sha256` and `chars` are
    of the whole output, so a change beyond the cut still shows."""

    output: str
    sha256: str
    chars: int
    inputs: dict[str, str] = field(default_factory=dict)
    expected: str | None = None

    @property
    def truncated(self) -> bool:
        return self.chars > len(self.output)

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "sha256": self.sha256,
            "chars": self.chars,
            "inputs": dict(self.inputs),
            "expected": self.expected,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerRecord:
        return cls(
            str(data["output"]),
            str(data["sha256"]),
            int(data["chars"]),
            {str(k): str(v) for k, v in (data.get("inputs") or {}).items()},
            None if data.get("expected") is None else str(data["expected"]),
        )


@dataclass(slots=True)
class CanaryRun:
    """A sampled test's live re-run (`--llm-live-sample`): its record, or why it did not run.

    `record` holds what the live run did (outcome, calls, scores, runs, answer), in the same shape as the
    replayed run's, so both are measured alike. `reason` says why there is no comparison: a missing key,
    the session budget, a replayed run that could not measure anything."""

    ran: bool
    reason: str | None = None
    record: TestRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "reason": self.reason,
            "record": None if self.record is None else self.record.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CanaryRun:
        record = data.get("record")
        return cls(
            bool(data.get("ran")),
            data.get("reason"),
            None if not record else TestRecord.from_dict(record),
        )


@dataclass(slots=True)
class TestRecord:
    nodeid: str
    base_nodeid: str
    outcome: str = "passed"  # passed | failed | error | skipped
    message: str | None = None
    duration_s: float = 0.0
    params: dict[str, str] = field(default_factory=dict)
    calls: list[LLMCall] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    prompts: dict[str, str] = field(default_factory=dict)  # name@version -> sha256
    variant: str | None = None
    variant_config: dict[str, Any] | None = None
    case_id: str | None = None
    cassette: CassetteInfo | None = None
    budget: dict[str, Any] = field(default_factory=dict)
    min_pass_rate: float | None = None
    pass_mode: str | None = None
    """With repeat: "all" (pass^k) or "any" (pass@k), as the marker said; None when it did not."""
    tags: list[str] = field(default_factory=list)
    judge: dict[str, Any] | None = None
    prompt_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    answer: AnswerRecord | None = None
    # Why a failed test failed: "check" (its checks or asserts said no), or one of NOT_CHECK_FAILURES.
    failure: str | None = None
    # With --llm-live-sample, for a sampled test: its live re-run (or why there was none).
    canary: CanaryRun | None = None

    __test__ = False  # not a pytest test class, despite the name

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _SIMPLE_FIELDS}
        data["calls"] = [c.to_dict() for c in self.calls]
        data["scores"] = [s.to_dict() for s in self.scores]
        # By hand, not dataclasses.asdict (recursive deep copies): this runs for every llm test.
        data["runs"] = [
            {"index": r.index, "outcome": r.outcome, "message": r.message, "duration_s": r.duration_s}
            for r in self.runs
        ]
        c = self.cassette
        data["cassette"] = (
            None
            if c is None
            else {
                "path": c.path,
                "mode": c.mode,
                "played": c.played,
                "recorded": c.recorded,
                "misses": c.misses,
                "written": c.written,
            }
        )
        data["answer"] = self.answer.to_dict() if self.answer is not None else None
        data["canary"] = self.canary.to_dict() if self.canary is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestRecord:
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["calls"] = [LLMCall.from_dict(c) for c in data.get("calls", [])]
        kwargs["scores"] = [Score.from_dict(s) for s in data.get("scores", [])]
        kwargs["runs"] = [RunRecord(**r) for r in data.get("runs", [])]
        if data.get("cassette"):
            kwargs["cassette"] = CassetteInfo(**data["cassette"])
        kwargs["answer"] = AnswerRecord.from_dict(data["answer"]) if data.get("answer") else None
        kwargs["canary"] = CanaryRun.from_dict(data["canary"]) if data.get("canary") else None
        return cls(**kwargs)

    def to_report_dict(self) -> dict[str, Any]:
        """`to_dict` with the wall-clock durations under "timings", as the JSON report keeps them apart."""
        data = self.to_dict()
        runs = [dict(r) for r in data["runs"]]
        data["timings"] = {
            "duration_s": data.pop("duration_s"),
            "runs_duration_s": [r.pop("duration_s") for r in runs],
        }
        data["runs"] = runs
        return data

    @classmethod
    def from_report_dict(cls, data: dict[str, Any]) -> TestRecord:
        """The inverse of `to_report_dict` (a record of a JSON report, format 2)."""
        data = dict(data)
        timings = data.pop("timings", None) or {}
        durations = timings.get("runs_duration_s") or []
        data["runs"] = [
            {**r, "duration_s": durations[i] if i < len(durations) else 0.0}
            for i, r in enumerate(data.get("runs", []))
        ]
        data["duration_s"] = timings.get("duration_s", 0.0)
        return cls.from_dict(data)

    @property
    def failed_outside_checks(self) -> str | None:
        """Why this test failed, when its results are no measure of its answers; None otherwise."""
        if self.outcome in ("failed", "error") and self.failure in NOT_CHECK_FAILURES:
            return self.failure
        return None

    @property
    def run_count(self) -> int:
        return sum(1 for r in self.runs if r.outcome != "skipped")


_SIMPLE_FIELDS = tuple(
    f.name
    for f in fields(TestRecord)
    if f.name not in ("calls", "scores", "runs", "cassette", "answer", "canary")
)
