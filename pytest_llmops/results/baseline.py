"""The baseline file: what each llm test measured when the results were last accepted, and the comparison.

Format (documented in docs/report-and-baseline.md): one JSON object with sorted
keys, `format`, `meta` (commit, models, prompt hashes, judges, recording
time) and `tests`: nodeid -> metrics, each with its value and count, and with
repeats the mean, the spread and the per-run values that let a drop be tested
for significance rather than judged from one number.

Metrics of a test (`measure`): every score name (mean over runs) and the
built-ins of `gates.BUILTIN_METRICS` over the app's calls, per run: cost and
tokens are per-run sums averaged over runs, latency_p95 the 95th percentile of
the call latencies. A metric is left out when it is unknown (an unpriced call
makes cost unknown, never $0).
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_llmops.recording.secrets import Scrubber
from pytest_llmops.results.gates import BUILTIN_METRICS, Gate, GateSet
from pytest_llmops.results.records import OUTPUT_LIMIT, TestRecord
from pytest_llmops.results.scores import Score
from pytest_llmops.spend.calls import LLMCall

__all__ = [
    "FORMAT",
    "JUDGE_KEYS",
    "UPDATE_COMMAND",
    "Baseline",
    "BaselineAnswer",
    "BaselineDiff",
    "BaselineError",
    "MetricComparison",
    "MetricEntry",
    "Status",
    "TestEntry",
    "build",
    "compare",
    "git_commit",
    "known",
    "load",
    "measure",
    "run_meta",
    "write",
]

FORMAT = 1
UPDATE_COMMAND = "pytest --llm-eval --llm-update-baseline"
JUDGE_KEYS = ("judge", "judge_prompt", "judge_prompt_sha256", "rubric_sha256")
"""What makes two judged values comparable: the same judge, judge prompt, and (for `checks.rubric`) the
same criteria."""
UNMEASURED_OUTCOMES = frozenset({"skipped", "xfailed"})

Status = Literal["same", "better", "worse", "regressed", "not significant", "not comparable"]


class BaselineError(Exception):
    """The baseline file cannot be used; the message names the file and the fix."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(
            f"{path}: {problem}. It was not used and has not been changed. Regenerate it from a good run "
            f"with `{UPDATE_COMMAND}` (this replaces the file; review the diff before committing)."
        )


# -- measuring one test ------------------------------------------------------------------------------


@dataclass(slots=True)
class MetricEntry:
    """One metric of one test: `value` is what gates compare; `runs` holds the per-run values."""

    value: float
    runs: list[float]
    higher_is_better: bool
    judge: dict[str, str] | None = None
    # The values the metric can take, (low, high), high may be inf; None: unknown. Not stored in the file.
    scale: tuple[float, float] | None = None

    @property
    def count(self) -> int:
        return len(self.runs)

    @property
    def stdev(self) -> float | None:
        n = len(self.runs)
        if n < 2:
            return None
        m = math.fsum(self.runs) / n
        return math.sqrt(max(0.0, math.fsum((x - m) ** 2 for x in self.runs) / (n - 1)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "count": self.count,
            "higher_is_better": self.higher_is_better,
        }
        if self.count > 1:
            out["mean"] = math.fsum(self.runs) / self.count
            out["stdev"] = self.stdev
            out["runs"] = list(self.runs)
        if self.judge:
            out["judge"] = dict(self.judge)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> MetricEntry:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} is not an object")
        value: Any = data.get("value")
        if not _is_number(value):
            raise ValueError(f"{where}.value is {value!r}, not a number")
        count = data.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"{where}.count is {count!r}, not a whole number >= 1")
        runs = data.get("runs")
        if runs is None:
            runs = [value] * count
        elif not isinstance(runs, list) or not all(_is_number(x) for x in runs):
            raise ValueError(f"{where}.runs is not a list of numbers")
        judge = data.get("judge")
        if judge is not None and not (
            isinstance(judge, dict) and all(isinstance(v, str) for v in judge.values())
        ):
            raise ValueError(f"{where}.judge is not an object of strings")
        hib = data.get("higher_is_better", True)
        return cls(float(value), [float(x) for x in runs], bool(hib), judge)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _p95(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    xs = sorted(values)
    h = (len(xs) - 1) * 0.95
    lo = math.floor(h)
    if lo >= len(xs) - 1:
        return xs[-1]
    return xs[lo] + (xs[lo + 1] - xs[lo]) * (h - lo)


_IDENTITIES: dict[tuple[Any, ...], dict[str, str] | None] = {}


def judge_of(details: dict[str, Any], scorer: str) -> dict[str, str] | None:
    """Which judge (and judge prompt) produced a score, from its details or a "judge:provider:model" scorer.

    Memoized: a session has a handful of judges and many thousands of scores. Treat the result as
    read-only (it is shared)."""
    if details:
        judge, prompt, sha, rubric, escalated = (
            details.get("judge"),
            details.get("judge_prompt"),
            details.get("judge_prompt_sha256"),
            details.get("rubric_sha256"),
            details.get("escalated"),
        )
    else:
        judge = prompt = sha = rubric = escalated = None
    from_scorer = scorer[len("judge:") :] if scorer.startswith("judge:") else None
    key = (judge, prompt, sha, rubric, from_scorer, escalated)
    memo = True
    try:
        return _IDENTITIES[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable value in the details: work it out without the memo
        memo = False
    identity = {
        k: str(v) for k, v in zip(JUDGE_KEYS, (judge, prompt, sha, rubric), strict=True) if v is not None
    }
    if "judge" not in identity and from_scorer is not None:
        identity["judge"] = from_scorer
    if not identity and escalated is False:
        identity["cascade"] = "local"
    result = dict(sorted(identity.items())) or None
    if memo and len(_IDENTITIES) < 1024:
        _IDENTITIES[key] = result
    return result


def _judge_identity(details_list: Sequence[tuple[dict[str, Any], str]]) -> dict[str, str] | None:
    if len(details_list) == 1:  # the usual case: one value per test
        return judge_of(*details_list[0])
    seen: dict[str, set[str]] = {}
    stayed_local = False
    for details, scorer in details_list:
        stayed_local = stayed_local or details.get("escalated") is False
        for key in JUDGE_KEYS:
            value = details.get(key)
            if value is None and key == "judge" and scorer.startswith("judge:"):
                value = scorer[len("judge:") :]
            if value is not None:
                seen.setdefault(key, set()).add(str(value))
    if not seen:
        return {"cascade": "local"} if stayed_local else None
    return {k: " | ".join(sorted(v)) for k, v in sorted(seen.items())}


UNIT_SCALE = (0.0, 1.0)
NON_NEGATIVE_SCALE = (0.0, math.inf)


def scale_of(score: Score) -> tuple[float, float] | None:
    """The scale a score was given on (`details["scale"]`, [low, high]); None when it does not say."""
    scale = score.details.get("scale") if score.details else None
    if (
        isinstance(scale, list | tuple)
        and len(scale) == 2
        and all(_is_number(x) for x in scale)
        and float(scale[0]) < float(scale[1])
    ):
        return float(scale[0]), float(scale[1])
    return None


def known(call: LLMCall, attr: str) -> float | None:
    """A call's cost or token count; 0 for a failed call that carries none (errors are not billed),
    None when a successful call's figure is unknown (no usage, or no price)."""
    value = getattr(call, attr)
    if value is None:
        return 0.0 if call.failed else None
    return float(value) if math.isfinite(value) else None


def run_indexes(record: TestRecord) -> list[int]:
    runs = record.runs
    if len(runs) == 1:
        return [runs[0].index if runs[0].outcome != "skipped" else 0]
    return sorted({r.index for r in runs if r.outcome != "skipped"}) or [0]


def _mean(values: list[float]) -> float:
    return values[0] if len(values) == 1 else math.fsum(values) / len(values)


def measure(record: TestRecord) -> dict[str, MetricEntry]:
    """The metrics of one test, as the baseline stores and compares them; empty when it did not run.

    Called for every test at the end of the session, so written for speed: one pass over the scores,
    one over the app's calls.
    """
    if record.outcome in UNMEASURED_OUTCOMES:
        return {}
    out: dict[str, MetricEntry] = {}

    by_name: dict[str, dict[int, list[float]]] = {}
    first: dict[str, Score] = {}
    judged: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for score in record.scores:
        name, value = score.name, score.value
        if name in BUILTIN_METRICS or not math.isfinite(value):
            continue
        per_run = by_name.get(name)
        if per_run is None:
            by_name[name] = {score.run: [float(value)]}
            first[name] = score
            judged[name] = [(score.details, score.scorer)]
        else:
            per_run.setdefault(score.run, []).append(float(value))
            judged[name].append((score.details, score.scorer))
    for name in sorted(by_name):
        per_run = by_name[name]
        if len(per_run) == 1:
            values = [_mean(next(iter(per_run.values())))]
        else:
            values = [_mean(per_run[run]) for run in sorted(per_run)]
        out[name] = MetricEntry(
            _mean(values),
            values,
            first[name].higher_is_better,
            _judge_identity(judged[name]),
            scale_of(first[name]),
        )

    real_runs = [r for r in record.runs if r.outcome != "skipped"]
    if len(real_runs) > 1:
        passes = [1.0 if r.outcome == "passed" else 0.0 for r in sorted(real_runs, key=lambda r: r.index)]
    else:
        passes = [1.0 if record.outcome == "passed" else 0.0]
    out["pass_rate"] = MetricEntry(_mean(passes), passes, True, scale=UNIT_SCALE)

    # Per run: [cost, input tokens, output tokens] sums (None once unknown) and the latencies.
    sums: dict[int, list[float | None]] = {i: [0.0, 0.0, 0.0] for i in run_indexes(record)}
    latencies: dict[int, list[float]] = {}
    any_latency = False
    for call in record.calls:
        if call.role != "app":
            continue
        run = int(call.extra.get("run", 0))
        row = sums.get(run)
        if row is None:
            row = sums[run] = [0.0, 0.0, 0.0]
        figures: tuple[float | None, ...] = (call.cost_usd, call.input_tokens, call.output_tokens)
        for i, figure in enumerate(figures):
            current = row[i]
            if current is None:
                continue
            if figure is None:
                row[i] = current if call.failed else None
            elif math.isfinite(figure):
                row[i] = current + figure
            else:
                row[i] = None
        latency = call.latency_ms
        if latency is not None and math.isfinite(latency):
            latencies.setdefault(run, []).append(latency)
            any_latency = True
    ordered = [sums[run] for run in sorted(sums)]
    for i, name in enumerate(("cost_usd", "input_tokens", "output_tokens")):
        per_run_values = [row[i] for row in ordered]
        if None not in per_run_values:
            known_values = [float(v) for v in per_run_values if v is not None]
            out[name] = MetricEntry(_mean(known_values), known_values, False, scale=NON_NEGATIVE_SCALE)
    if any_latency:
        if len(latencies) == 1:
            p95 = _p95(next(iter(latencies.values())))
            out["latency_p95"] = MetricEntry(p95, [p95], False, scale=NON_NEGATIVE_SCALE)
        else:
            runs_latency = [latencies[run] for run in sorted(latencies)]
            pooled = [x for v in runs_latency for x in v]
            out["latency_p95"] = MetricEntry(
                _p95(pooled), [_p95(v) for v in runs_latency], False, scale=NON_NEGATIVE_SCALE
            )
    return out


# -- the file ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class BaselineAnswer:
    """The accepted answer of a test, kept so a regression can show what the model said before.

    `output` is the text the test's checks scored, cut at `OUTPUT_LIMIT` characters; `sha256` and
    `chars` are of the whole text; `call` points at the recording that produced it
    ("cassette path#interaction index"), where the full response is.
    """

    output: str
    sha256: str
    chars: int
    call: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"output": self.output, "sha256": self.sha256, "chars": self.chars}
        if self.call:
            out["call"] = self.call
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str) -> BaselineAnswer:
        if not isinstance(data, dict):
            raise ValueError(f"{where} is not an object")
        output, sha, chars, call = data.get("output"), data.get("sha256"), data.get("chars"), data.get("call")
        if not isinstance(output, str) or not isinstance(sha, str):
            raise ValueError(f"{where}: output and sha256 must be strings")
        if not isinstance(chars, int) or isinstance(chars, bool) or chars < len(output):
            raise ValueError(f"{where}.chars is {chars!r}, not the length of the whole output")
        if call is not None and not isinstance(call, str):
            raise ValueError(f"{where}.call is {call!r}, not a string")
        return cls(output, sha, chars, call)

    @classmethod
    def of(cls, record: TestRecord) -> BaselineAnswer | None:
        answer = record.answer
        if answer is None:
            return None
        call = None
        runs = [c for c in record.calls if c.role == "app" and c.cassette and c.index is not None]
        if runs:
            first = min(int(c.extra.get("run", 0)) for c in runs)
            last = [c for c in runs if int(c.extra.get("run", 0)) == first][-1]
            call = f"{last.cassette}#{last.index}"
        return cls(answer.output[:OUTPUT_LIMIT], answer.sha256, answer.chars, call)


@dataclass(slots=True)
class TestEntry:
    metrics: dict[str, MetricEntry]
    outcome: str = "passed"
    prompts: dict[str, str] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    answer: BaselineAnswer | None = None

    __test__ = False

    def to_dict(self) -> dict[str, Any]:
        out = {
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "outcome": self.outcome,
            "prompts": dict(self.prompts),
            "models": list(self.models),
        }
        if self.answer is not None:
            out["answer"] = self.answer.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str) -> TestEntry:
        if not isinstance(data, dict):
            raise ValueError(f"{where} is not an object")
        metrics = data.get("metrics")
        if not isinstance(metrics, dict):
            raise ValueError(f"{where}.metrics is missing or not an object")
        prompts = data.get("prompts", {})
        models = data.get("models", [])
        if not isinstance(prompts, dict) or not isinstance(models, list):
            raise ValueError(f"{where}: prompts must be an object and models a list")
        answer = data.get("answer")
        return cls(
            {str(k): MetricEntry.from_dict(v, f"{where}.metrics.{k}") for k, v in metrics.items()},
            str(data.get("outcome", "passed")),
            {str(k): str(v) for k, v in prompts.items()},
            [str(m) for m in models],
            None if answer is None else BaselineAnswer.from_dict(answer, f"{where}.answer"),
        )


@dataclass(slots=True)
class Baseline:
    tests: dict[str, TestEntry]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "meta": self.meta,
            "tests": {k: v.to_dict() for k, v in self.tests.items()},
        }
        return json.dumps(data, sort_keys=True, indent=1, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str, path: Path) -> Baseline:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BaselineError(
                path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        if not isinstance(data, dict):
            raise BaselineError(path, f"expected a JSON object, found {type(data).__name__}")
        version = data.get("format")
        if version is None:
            raise BaselineError(path, "no `format` key: this is not a pytest-llmops baseline file")
        if version != FORMAT:
            newer = isinstance(version, int) and version > FORMAT
            why = "written by a newer pytest-llmops; upgrade it, or" if newer else "unknown;"
            raise BaselineError(path, f"format {version!r} is {why} this version reads format {FORMAT}")
        tests = data.get("tests")
        if not isinstance(tests, dict):
            raise BaselineError(path, "`tests` is missing or not an object")
        meta = data.get("meta", {})
        try:
            entries = {str(k): TestEntry.from_dict(v, f"tests[{k!r}]") for k, v in tests.items()}
        except ValueError as exc:
            raise BaselineError(path, str(exc)) from None
        return cls(entries, meta if isinstance(meta, dict) else {})


def load(path: Path) -> Baseline | None:
    """The baseline at `path`; None when there is no file (not an error), BaselineError when unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise BaselineError(path, "is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(path, f"cannot be read ({exc})") from None
    return Baseline.from_json(text, path)


def write(path: Path, baseline: Baseline, scrubber: Scrubber) -> None:
    """Atomically, after the secret scan of the exact text (fail closed: SecretLeakError, nothing written)."""
    from pytest_llmops.recording.files import write_atomic

    text = baseline.to_json()
    scrubber.assert_text_clean(text, str(path))
    write_atomic(path, text)


def git_commit(cwd: Path) -> str | None:
    """HEAD's commit of the repository holding `cwd`; None, quietly, when there is none or no git."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    if done.returncode != 0 or not all(c in "0123456789abcdef" for c in commit) or len(commit) < 40:
        return None
    return commit


def _models(record: TestRecord) -> list[str]:
    return sorted({c.model or c.request_model or "?" for c in record.calls if c.role == "app"})


def run_meta(records: Iterable[TestRecord], git: str | None) -> dict[str, Any]:
    """What produced these results: commit, models, prompt hashes, judges, latest recording time."""
    models: set[str] = set()
    judge_models: set[str] = set()
    prompts: dict[str, str] = {}
    judges: set[tuple[tuple[str, str], ...]] = set()
    recorded: str | None = None
    for record in records:
        for call in record.calls:
            name = call.model or call.request_model
            if name:
                (models if call.role == "app" else judge_models).add(name)
            if call.recorded_at and (recorded is None or call.recorded_at > recorded):
                recorded = call.recorded_at
        prompts.update(record.prompts)
        for score in record.scores:
            identity = judge_of(score.details, score.scorer)
            if identity and "judge" in identity:
                judges.add(tuple(sorted(identity.items())))
    return {
        "git_commit": git,
        "models": sorted(models),
        "judge_models": sorted(judge_models),
        "prompts": dict(sorted(prompts.items())),
        "judges": [dict(j) for j in sorted(judges)],
        "recorded_at": recorded,
    }


def build(
    records: Iterable[TestRecord],
    measured: Mapping[str, dict[str, MetricEntry]],
    *,
    previous: Baseline | None,
    full_run: bool,
    meta: dict[str, Any],
) -> Baseline:
    """The baseline after accepting this run.

    Tests measured now are replaced. Entries of tests that did not run
    (skipped here, or outside a partial run) are kept; on a full run, entries
    of tests that no longer exist are dropped.
    """
    records = list(records)
    seen = {r.nodeid for r in records}
    tests: dict[str, TestEntry] = {}
    if previous is not None:
        for nodeid, entry in previous.tests.items():
            if nodeid in seen or not full_run:
                tests[nodeid] = entry
    for record in records:
        metrics = measured.get(record.nodeid) or {}
        if metrics:
            tests[record.nodeid] = TestEntry(
                metrics, record.outcome, dict(record.prompts), _models(record), BaselineAnswer.of(record)
            )
    merged = dict(meta)
    if previous is not None and not full_run:
        old = previous.meta
        merged["models"] = sorted(set(merged.get("models", [])) | set(old.get("models", [])))
        merged["prompts"] = dict(sorted({**old.get("prompts", {}), **merged.get("prompts", {})}.items()))
    return Baseline(dict(sorted(tests.items())), merged)


# -- comparing ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class MetricComparison:
    nodeid: str
    metric: str
    baseline: float
    current: float
    higher_is_better: bool
    gate: str
    gate_default: bool
    status: Status
    p_value: float | None = None
    note: str | None = None

    @property
    def delta(self) -> float:
        return self.current - self.baseline

    @property
    def relative(self) -> float | None:
        return None if self.baseline == 0 else (self.current - self.baseline) / abs(self.baseline)

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.nodeid,
            "metric": self.metric,
            "baseline": self.baseline,
            "current": self.current,
            "delta": self.delta,
            "relative": self.relative,
            "higher_is_better": self.higher_is_better,
            "gate": self.gate,
            "gate_default": self.gate_default,
            "status": self.status,
            "p_value": self.p_value,
            "note": self.note,
        }


@dataclass(slots=True)
class BaselineDiff:
    """Every comparison of this run with the baseline, and the tests on one side only."""

    comparisons: dict[str, dict[str, MetricComparison]] = field(default_factory=dict)
    new_tests: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    missing_metrics: list[tuple[str, str]] = field(default_factory=list)
    prompt_changes: list[tuple[str, str]] = field(default_factory=list)
    answers: dict[str, BaselineAnswer] = field(default_factory=dict)  # of the compared tests that have one

    def with_status(self, *statuses: Status) -> list[MetricComparison]:
        return [
            c
            for nodeid in sorted(self.comparisons)
            for c in self.comparisons[nodeid].values()
            if c.status in statuses
        ]

    @property
    def regressions(self) -> list[MetricComparison]:
        return self.with_status("regressed")


def _judge_difference(base: dict[str, str] | None, now: dict[str, str] | None) -> str | None:
    """Why two judge-produced values cannot be compared, or None.

    A side with no "judge" key was scored locally: either no judge was configured (None) or a
    cascade kept the score local ({"cascade": "local"}). Two local sides are compared, and so
    is a cascade that escalated in one run and not in the other: that is the configured metric
    at work. A judged score is not compared with a score from a run that had no judge at all,
    nor with one from another judge, judge prompt or prompt hash.
    """
    base_judge = base.get("judge") if base else None
    now_judge = now.get("judge") if now else None
    if base_judge is None and now_judge is None:
        return None
    if base_judge is None or now_judge is None:
        other = base if base_judge is None else now
        if other and other.get("cascade") == "local":
            return None
        if base_judge is None:
            return f"no judge in the baseline, judge {now_judge} now"
        return f"judge {base_judge} in the baseline, no judge now"
    assert base is not None and now is not None
    for key in JUDGE_KEYS:
        if key in base and key in now and base[key] != now[key]:
            if key == "rubric_sha256":
                return (
                    f"rubric criteria changed (sha256 {base[key][:12]} in the baseline, {now[key][:12]} now)"
                )
            return f"{key.replace('_', ' ')} {base[key]} in the baseline, {now[key]} now"
    return None


def _significance(
    gate_direction: str, base_runs: list[float], runs: list[float], alpha: float
) -> float | None:
    """p-value of a move the gate's way, from the per-run values; None when either side has < 2 runs."""
    if len(base_runs) < 2 or len(runs) < 2:
        return None
    from pytest_llmops.stats import significant_drop

    if gate_direction == "up":  # a rise is a drop of the negated values
        base_runs, runs = [-x for x in base_runs], [-x for x in runs]
    try:
        return significant_drop(base_runs, runs, alpha).p_value
    except ValueError:
        return None


def compare_metric(
    nodeid: str,
    metric: str,
    base: MetricEntry,
    now: MetricEntry,
    gate: Gate,
    alpha: float,
    gate_text: str = "",
) -> MetricComparison:
    result = MetricComparison(
        nodeid,
        metric,
        base.value,
        now.value,
        now.higher_is_better,
        gate_text or gate.text,
        gate.default,
        "same",
    )
    if metric not in BUILTIN_METRICS:
        why = _judge_difference(base.judge, now.judge)
        if why is not None:
            result.status, result.note = "not comparable", why
            return result
    if gate.exceeded(base.value, now.value):
        assert gate.direction is not None
        p = _significance(gate.direction, base.runs, now.runs, alpha)
        result.p_value = p
        if p is not None and p >= alpha:
            result.status = "not significant"
            result.note = f"p = {p:.3g} >= alpha {alpha:g} over {base.count} and {now.count} runs"
        else:
            result.status = "regressed"
        return result
    if now.value != base.value:
        improved = (now.value > base.value) == now.higher_is_better
        result.status = "better" if improved else "worse"
    return result


def compare(
    records: Iterable[TestRecord],
    measured: Mapping[str, dict[str, MetricEntry]],
    baseline: Baseline,
    gates: GateSet,
    *,
    alpha: float,
    full_run: bool,
) -> BaselineDiff:
    diff = BaselineDiff()
    seen: set[str] = set()
    chosen: dict[tuple[str, bool], tuple[Gate, str]] = {}  # the gate of each metric, looked up once
    for record in records:
        seen.add(record.nodeid)
        metrics = measured.get(record.nodeid) or {}
        if not metrics:
            continue
        entry = baseline.tests.get(record.nodeid)
        if entry is None:
            diff.new_tests.append(record.nodeid)
            continue
        rows: dict[str, MetricComparison] = {}
        for name, now in metrics.items():
            base = entry.metrics.get(name)
            if base is None:
                continue
            key = (name, now.higher_is_better)
            found = chosen.get(key)
            if found is None:
                gate = gates.for_metric(name, now.higher_is_better)
                found = chosen[key] = (gate, gate.text)
            if now.value == base.value and base.judge == now.judge:  # the usual case, made cheap
                rows[name] = MetricComparison(
                    record.nodeid,
                    name,
                    base.value,
                    now.value,
                    now.higher_is_better,
                    found[1],
                    found[0].default,
                    "same",
                )
            else:
                rows[name] = compare_metric(record.nodeid, name, base, now, found[0], alpha, found[1])
        if len(entry.metrics) > len(rows):
            diff.missing_metrics.extend((record.nodeid, m) for m in sorted(set(entry.metrics) - set(metrics)))
        for ref, sha in sorted(record.prompts.items()):
            if ref in entry.prompts and entry.prompts[ref] != sha:
                diff.prompt_changes.append((record.nodeid, ref))
        diff.comparisons[record.nodeid] = rows
        if entry.answer is not None:
            diff.answers[record.nodeid] = entry.answer
    diff.new_tests.sort()
    if full_run:
        diff.unused = sorted(set(baseline.tests) - seen)
    return diff
