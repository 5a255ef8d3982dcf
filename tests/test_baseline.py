"""The baseline file: what a test measures, the file format, loading errors, accepting a run, comparing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_llmops.recording.secrets import Scrubber, SecretLeakError
from pytest_llmops.results import baseline as bl
from pytest_llmops.results.gates import parse_gates
from pytest_llmops.results.records import RunRecord, TestRecord
from pytest_llmops.results.scores import Score
from pytest_llmops.spend.calls import LLMCall

from .conftest import fake_key


def call(run: int = 0, **kwargs: Any) -> LLMCall:
    values: dict[str, Any] = {
        "provider": "openai",
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o-mini",
        "input_tokens": 100,
        "output_tokens": 20,
        "latency_ms": 400.0,
        "cost_usd": 0.0002,
        "recorded_at": "2025-06-01T10:00:00Z",
    }
    values.update(kwargs)
    return LLMCall(extra={"run": run}, **values)


def record(
    nodeid: str = "t.py::test_a",
    scores: dict[str, list[float]] | None = None,
    runs: int = 1,
    outcome: str = "passed",
    calls: list[LLMCall] | None = None,
    **score_kwargs: Any,
) -> TestRecord:
    """One test; `scores` gives each score's value per run."""
    rec = TestRecord(nodeid=nodeid, base_nodeid=nodeid.split("[")[0], outcome=outcome)
    rec.runs = [RunRecord(i, "passed" if outcome == "passed" else "failed") for i in range(runs)]
    rec.calls = calls if calls is not None else [call(i) for i in range(runs)]
    for name, values in (scores or {"relevance": [0.9] * runs}).items():
        rec.scores += [Score(name, v, run=i, **score_kwargs) for i, v in enumerate(values)]
    rec.prompts = {"qa@1.0.0": "a" * 64}
    return rec


def measured(*records: TestRecord) -> dict[str, dict[str, bl.MetricEntry]]:
    return {r.nodeid: bl.measure(r) for r in records}


def accept(*records: TestRecord) -> bl.Baseline:
    base = bl.build(
        records, measured(*records), previous=None, full_run=True, meta=bl.run_meta(records, None)
    )
    return bl.Baseline.from_json(base.to_json(), Path("b.json"))


def compare(
    base: bl.Baseline, *records: TestRecord, spec: str = "", full_run: bool = True
) -> bl.BaselineDiff:
    return bl.compare(records, measured(*records), base, parse_gates(spec), alpha=0.05, full_run=full_run)


# -- measuring ---------------------------------------------------------------------------------------


def test_a_test_measures_its_scores_and_the_builtins_per_run() -> None:
    rec = record(
        scores={"relevance": [0.8, 0.6]},
        runs=2,
        calls=[call(0, latency_ms=100.0), call(0, latency_ms=300.0), call(1, latency_ms=200.0)],
    )
    rec.runs[1].outcome = "failed"
    m = bl.measure(rec)
    assert m["relevance"].value == pytest.approx(0.7) and m["relevance"].runs == [0.8, 0.6]
    assert m["pass_rate"].runs == [1.0, 0.0] and m["pass_rate"].value == 0.5
    assert m["cost_usd"].runs == pytest.approx([0.0004, 0.0002]) and m["cost_usd"].value == pytest.approx(
        0.0003
    )
    assert m["input_tokens"].value == 150 and m["output_tokens"].value == 30
    assert m["latency_p95"].value == pytest.approx(290.0)  # p95 (type 7) of 100, 200, 300
    assert m["latency_p95"].runs == pytest.approx([290.0, 200.0])
    assert not m["cost_usd"].higher_is_better and m["relevance"].higher_is_better


def test_several_values_of_a_score_in_one_run_are_averaged_first() -> None:
    rec = record(scores={"relevance": [1.0]})
    rec.scores.append(Score("relevance", 0.0, run=0))
    assert bl.measure(rec)["relevance"].runs == [0.5]


def test_without_repeats_pass_rate_follows_the_outcome() -> None:
    rec = record(outcome="failed")
    rec.runs = [RunRecord(0, "passed")]  # e.g. a budget breach after the body passed
    assert bl.measure(rec)["pass_rate"].runs == [0.0]


def test_unknown_cost_or_tokens_are_left_out_never_counted_as_zero() -> None:
    rec = record(calls=[call(), call(cost_usd=None, model="my-local-model")])
    m = bl.measure(rec)
    assert "cost_usd" not in m and m["input_tokens"].value == 200
    no_usage = record(calls=[call(input_tokens=None, output_tokens=None, cost_usd=None)])
    assert {"cost_usd", "input_tokens", "output_tokens"}.isdisjoint(bl.measure(no_usage))


def test_a_failed_call_without_usage_costs_nothing() -> None:
    rec = record(calls=[call(), call(status=429, input_tokens=None, output_tokens=None, cost_usd=None)])
    m = bl.measure(rec)
    assert m["cost_usd"].value == pytest.approx(0.0002) and m["input_tokens"].value == 100


@pytest.mark.parametrize("outcome", ["skipped", "xfailed"])
def test_a_test_that_did_not_run_measures_nothing(outcome: str) -> None:
    assert bl.measure(record(outcome=outcome)) == {}


def test_judge_identity_comes_from_the_details_or_the_scorer() -> None:
    rec = record(
        details={"judge": "openai:gpt-4o-mini", "judge_prompt": "rel@1.0.0", "judge_prompt_sha256": "ab"}
    )
    assert bl.measure(rec)["relevance"].judge == {
        "judge": "openai:gpt-4o-mini",
        "judge_prompt": "rel@1.0.0",
        "judge_prompt_sha256": "ab",
    }
    assert bl.measure(record(scorer="judge:anthropic:claude-haiku-4-5"))["relevance"].judge == {
        "judge": "anthropic:claude-haiku-4-5"
    }
    assert bl.measure(record(scorer="lexical"))["relevance"].judge is None
    assert "judge" not in bl.measure(record())["pass_rate"].to_dict()


# -- the file ------------------------------------------------------------------------------------------


def test_the_file_has_sorted_keys_a_format_and_per_run_values_with_repeats(tmp_path: Path) -> None:
    recs = [record("t.py::test_b", runs=3, scores={"relevance": [0.9, 0.8, 0.7]}), record("t.py::test_a")]
    base = bl.build(recs, measured(*recs), previous=None, full_run=True, meta=bl.run_meta(recs, "f" * 40))
    path = tmp_path / "sub" / ".llm-baseline.json"
    bl.write(path, base, Scrubber())
    text = path.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=1) + "\n"
    assert data["format"] == bl.FORMAT == 1
    assert list(data["tests"]) == ["t.py::test_a", "t.py::test_b"]
    repeated = data["tests"]["t.py::test_b"]["metrics"]["relevance"]
    assert repeated["count"] == 3 and repeated["runs"] == [0.9, 0.8, 0.7]
    assert repeated["mean"] == pytest.approx(0.8) and repeated["stdev"] == pytest.approx(0.1)
    assert data["tests"]["t.py::test_a"]["metrics"]["relevance"] == {
        "count": 1,
        "higher_is_better": True,
        "value": 0.9,
    }
    meta = data["meta"]
    assert meta["git_commit"] == "f" * 40 and meta["models"] == ["gpt-4o-mini"]
    assert meta["prompts"] == {"qa@1.0.0": "a" * 64} and meta["recorded_at"] == "2025-06-01T10:00:00Z"
    assert bl.load(path) is not None and bl.load(path).tests.keys() == base.tests.keys()  # type: ignore[union-attr]


def test_no_file_is_not_an_error(tmp_path: Path) -> None:
    assert bl.load(tmp_path / "missing.json") is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON (line 1, column 2"),
        ("[1, 2]", "expected a JSON object, found list"),
        ('{"tests": {}}', "no `format` key: this is not a pytest-llmops baseline file"),
        (
            '{"format": 99, "tests": {}}',
            "format 99 is written by a newer pytest-llmops; upgrade it, or this version reads format 1",
        ),
        ('{"format": "x", "tests": {}}', "format 'x' is unknown;"),
        ('{"format": 1, "tests": []}', "`tests` is missing or not an object"),
        (
            '{"format": 1, "tests": {"t": {"metrics": {"m": {"value": "high"}}}}}',
            "tests['t'].metrics.m.value is 'high', not a number",
        ),
        ('{"format": 1, "tests": {"t": {}}}', "tests['t'].metrics is missing or not an object"),
        (
            '{"format": 1, "tests": {"t": {"metrics": {"m": {"value": 1, "count": 0}}}}}',
            "tests['t'].metrics.m.count is 0, not a whole number >= 1",
        ),
    ],
)
def test_an_unusable_file_is_a_clear_error_with_the_fix(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / ".llm-baseline.json"
    path.write_text(content)
    with pytest.raises(bl.BaselineError) as info:
        bl.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and problem in message
    assert "pytest --llm-eval --llm-update-baseline" in message


def test_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(bl.BaselineError, match="is a directory"):
        bl.load(tmp_path)


def test_a_secret_in_any_field_refuses_the_write_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / ".llm-baseline.json"
    path.write_text("old")
    rec = record()
    rec.prompts = {"qa@1.0.0": fake_key()}
    base = bl.build([rec], measured(rec), previous=None, full_run=True, meta={})
    with pytest.raises(SecretLeakError, match="refusing to write"):
        bl.write(path, base, Scrubber())
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == [".llm-baseline.json"]


# -- accepting a run ----------------------------------------------------------------------------------


def test_a_full_run_drops_gone_tests_and_a_partial_run_keeps_them() -> None:
    old = accept(record("t.py::test_a"), record("t.py::test_gone"), record("t.py::test_skipped"))
    now = [
        record("t.py::test_a", scores={"relevance": [0.5]}),
        record("t.py::test_skipped", outcome="skipped"),
    ]
    full = bl.build(now, measured(*now), previous=old, full_run=True, meta={})
    assert list(full.tests) == ["t.py::test_a", "t.py::test_skipped"]  # a skipped test keeps its entry
    assert full.tests["t.py::test_a"].metrics["relevance"].value == 0.5
    partial = bl.build(now, measured(*now), previous=old, full_run=False, meta={"models": ["new"]})
    assert list(partial.tests) == ["t.py::test_a", "t.py::test_gone", "t.py::test_skipped"]
    assert partial.meta["models"] == ["gpt-4o-mini", "new"]


# -- comparing -----------------------------------------------------------------------------------------


def test_each_metric_is_compared_in_its_direction() -> None:
    base = accept(record(calls=[call(cost_usd=0.001, latency_ms=400.0)]))
    now = record(scores={"relevance": [0.95]}, calls=[call(cost_usd=0.0005, latency_ms=700.0)])
    rows = compare(base, now).comparisons["t.py::test_a"]
    assert rows["relevance"].status == "better"
    assert rows["cost_usd"].status == "better"  # a lower cost is not a regression
    assert rows["latency_p95"].status == "regressed"  # +75% > the default +50%
    assert rows["latency_p95"].gate == "latency_p95:+50%" and rows["latency_p95"].gate_default
    assert rows["pass_rate"].status == "same"
    assert rows["relevance"].delta == pytest.approx(0.05) and rows["relevance"].relative == pytest.approx(
        0.05 / 0.9
    )


def test_a_drop_within_its_gate_is_worse_beyond_it_regressed() -> None:
    base = accept(record())
    assert (
        compare(base, record(scores={"relevance": [0.85]})).comparisons["t.py::test_a"]["relevance"].status
        == "worse"
    )
    diff = compare(base, record(scores={"relevance": [0.7]}), spec="relevance:-0.1")
    [regression] = diff.regressions
    assert (regression.metric, regression.baseline, regression.current, regression.gate) == (
        "relevance",
        0.9,
        0.7,
        "relevance:-0.1",
    )
    assert not regression.gate_default


def test_with_repeats_a_noisy_drop_is_not_significant_and_a_steady_one_is() -> None:
    base = accept(record(runs=5, scores={"relevance": [0.9, 0.5, 0.95, 0.6, 0.85]}))
    noisy = compare(base, record(runs=5, scores={"relevance": [0.4, 0.9, 0.5, 0.95, 0.55]}))
    row = noisy.comparisons["t.py::test_a"]["relevance"]
    assert row.status == "not significant" and row.p_value is not None and row.p_value >= 0.05
    assert "over 5 and 5 runs" in (row.note or "")
    steady = compare(base, record(runs=5, scores={"relevance": [0.3, 0.31, 0.29, 0.3, 0.32]}))
    row = steady.comparisons["t.py::test_a"]["relevance"]
    assert row.status == "regressed" and row.p_value is not None and row.p_value < 0.05


def test_a_rise_is_tested_for_significance_too() -> None:
    base = accept(record(runs=3, calls=[call(i, cost_usd=c) for i, c in enumerate([0.001, 0.003, 0.002])]))
    now = record(runs=3, calls=[call(i, cost_usd=c) for i, c in enumerate([0.001, 0.004, 0.0035])])
    assert compare(base, now).comparisons["t.py::test_a"]["cost_usd"].status == "not significant"


def test_changed_rubric_criteria_make_the_score_not_comparable_never_a_regression() -> None:
    judged = {
        "judge": "openai:gpt-4o-mini",
        "judge_prompt": "custom_criteria@1.0.0",
        "rubric_sha256": "a" * 64,
    }
    base = accept(record(scores={"tone": [0.9]}, details=judged))
    saved = base.tests["t.py::test_a"].metrics["tone"].judge
    assert saved is not None and saved["rubric_sha256"] == "a" * 64  # the hash is in the baseline file
    same = compare(base, record(scores={"tone": [0.2]}, details=judged))
    assert same.comparisons["t.py::test_a"]["tone"].status == "regressed"
    changed = compare(base, record(scores={"tone": [0.2]}, details={**judged, "rubric_sha256": "b" * 64}))
    item = changed.comparisons["t.py::test_a"]["tone"]
    assert item.status == "not comparable" and item.note.startswith("rubric criteria changed")
    assert changed.regressions == []


def test_a_changed_judge_makes_its_scores_not_comparable() -> None:
    judged = {"judge": "openai:gpt-4o-mini", "judge_prompt": "rel@1.0.0"}
    base = accept(record(details=judged))
    row = compare(base, record(scores={"relevance": [0.1]}, details={**judged, "judge_prompt": "rel@2.0.0"}))
    item = row.comparisons["t.py::test_a"]["relevance"]
    assert (
        item.status == "not comparable"
        and item.note == "judge prompt rel@1.0.0 in the baseline, rel@2.0.0 now"
    )
    assert row.regressions == []
    local = compare(base, record(scores={"relevance": [0.9]}))
    assert (
        local.comparisons["t.py::test_a"]["relevance"].note
        == "judge openai:gpt-4o-mini in the baseline, no judge now"
    )
    same = compare(base, record(details=judged))
    assert same.comparisons["t.py::test_a"]["relevance"].status == "same"


def test_new_tests_unused_entries_and_missing_metrics() -> None:
    base = accept(
        record("t.py::test_a", scores={"relevance": [0.9], "tone": [1.0]}), record("t.py::test_gone")
    )
    now = [record("t.py::test_a"), record("t.py::test_new"), record("t.py::test_skip", outcome="skipped")]
    full = compare(base, *now)
    assert full.new_tests == ["t.py::test_new"]
    assert full.unused == ["t.py::test_gone"]
    assert full.missing_metrics == [("t.py::test_a", "tone")]
    assert compare(base, *now, full_run=False).unused == []


def test_git_commit_is_none_outside_a_repository(tmp_path: Path) -> None:
    assert bl.git_commit(tmp_path) is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_is_head_inside_a_repository(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "x")
    assert bl.git_commit(tmp_path) == git("rev-parse", "HEAD").strip()


def test_a_cascade_that_escalated_in_one_run_only_is_still_compared() -> None:
    judged = {"judge": "openai:gpt-4o-mini", "judge_prompt": "rel@1.0.0", "escalated": True}
    base = accept(record(details=judged))
    local = compare(base, record(scores={"relevance": [0.1]}, details={"escalated": False}))
    item = local.comparisons["t.py::test_a"]["relevance"]
    assert item.status == "regressed"
    plain_local = compare(base, record(scores={"relevance": [0.1]}))
    assert plain_local.comparisons["t.py::test_a"]["relevance"].status == "not comparable"


def test_a_cascade_that_escalated_nothing_compares_with_a_baseline_made_without_a_judge() -> None:
    """Baseline without a judge, then cascade configured and nothing escalated: same local scorer."""
    base = accept(record(scores={"relevance": [0.9]}))
    for runs in (1, 3):
        now = compare(
            base, record(runs=runs, scores={"relevance": [0.1] * runs}, details={"escalated": False})
        )
        item = now.comparisons["t.py::test_a"]["relevance"]
        assert item.status == "regressed", (runs, item.note)
    local_base = accept(record(scores={"relevance": [0.9]}, details={"escalated": False}))
    assert (
        compare(local_base, record(scores={"relevance": [0.9]}))
        .comparisons["t.py::test_a"]["relevance"]
        .status
        == "same"
    )


def test_a_judged_score_against_a_baseline_without_any_judge_names_the_judge() -> None:
    base = accept(record(scores={"relevance": [0.9]}))
    now = compare(base, record(scores={"relevance": [0.1]}, details={"judge": "openai:gpt-4o-mini"}))
    item = now.comparisons["t.py::test_a"]["relevance"]
    assert item.status == "not comparable"
    assert item.note == "no judge in the baseline, judge openai:gpt-4o-mini now"
    assert "?" not in item.note
