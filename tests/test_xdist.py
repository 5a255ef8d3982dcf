"""`-n 0`, `-n 2` and `-p no:xdist` give the same session: same JSON report (timings aside), same baseline."""

from __future__ import annotations

import json
from typing import Any

import pytest

SUITE = """
import pytest
from pytest_llmops import checks

def ask(client, text, **kw):
    r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **kw)
    return r.choices[0].message.content

@pytest.mark.llm
@pytest.mark.parametrize("q", ["What is the capital of France?", "Name a primary colour.", "What is 2+2?"])
def test_questions(openai_client, q):
    answer = ask(openai_client, q)
    checks.relevance(q, answer)
    checks.conciseness(answer, max_words=80)

@pytest.mark.llm(dataset="cases.jsonl")
def test_dataset(anthropic_client, llm_case):
    r = anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=200,
                                         messages=[{"role": "user", "content": llm_case["q"]}])
    checks.correctness(r.content[0].text, llm_case["ref"])

@pytest.mark.llm(repeat=3, min_pass_rate=0.3)
def test_repeated(openai_client):
    answer = ask(openai_client, "Tell me a joke", temperature=1.0)
    checks.record_score("length", len(answer), higher_is_better=False)

@pytest.mark.llm
def test_failing(openai_client):
    answer = ask(openai_client, "Say something")
    checks.record_score("always_low", 0.1, threshold=0.5)
"""

CASES = '{"id": "c1", "q": "What is the capital of Italy?", "ref": "Rome"}\n{"id": "c2", "q": "Largest planet?", "ref": "Jupiter"}\n'


def strip_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items() if k != "timings"}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value


@pytest.fixture
def recorded(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    llm_pytester.makepyfile(test_suite=SUITE)
    (llm_pytester.path / "cases.jsonl").write_text(CASES)
    llm_pytester.runpytest("--llm-eval", "--llm-record=once").assert_outcomes(passed=6, failed=1)
    for name in with_keys:
        monkeypatch.delenv(name)
    return llm_pytester


MODES = {"n0": ["-n", "0"], "n2": ["-n", "2"], "no-xdist": ["-p", "no:xdist"]}


def test_reports_and_baselines_are_equal_across_xdist_modes(recorded: pytest.Pytester) -> None:
    reports: dict[str, Any] = {}
    baselines: dict[str, str] = {}
    report = recorded.path / "report.json"
    baseline = recorded.path / "baseline.json"
    for mode, args in MODES.items():
        baseline.unlink(missing_ok=True)
        result = recorded.runpytest_subprocess(
            "--llm-eval",
            *args,
            f"--llm-report-json={report}",
            f"--llm-baseline={baseline}",
            "--llm-update-baseline",
        )
        result.assert_outcomes(passed=6, failed=1)
        reports[mode] = strip_timings(json.loads(report.read_text()))
        baselines[mode] = baseline.read_text()
    assert reports["n0"]["headline"]["tests"] == 7
    assert reports["n0"]["repeats"] and reports["n0"]["quality"]
    assert reports["n2"] == reports["n0"]
    assert reports["no-xdist"] == reports["n0"]
    assert baselines["n2"] == baselines["n0"] == baselines["no-xdist"]


def test_baseline_decisions_are_equal_across_xdist_modes(recorded: pytest.Pytester) -> None:
    baseline = recorded.path / ".llm-baseline.json"
    recorded.runpytest("--llm-eval", "--llm-update-baseline")
    data = json.loads(baseline.read_text())
    # Pretend the baseline was better, so every mode must find the same regressions.
    for entry in data["tests"].values():
        for metric in entry["metrics"].values():
            if metric["higher_is_better"]:
                metric["value"] = metric["value"] * 2 + 1
            else:
                metric["value"] = metric["value"] / 2
    baseline.write_text(json.dumps(data))
    regressions = {}
    for mode, args in MODES.items():
        report = recorded.path / f"r-{mode}.json"
        result = recorded.runpytest_subprocess("--llm-eval", *args, f"--llm-report-json={report}")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        regressions[mode] = json.loads(report.read_text())["regressions"]
    assert regressions["n0"], "the edited baseline must produce regressions"
    assert regressions["n2"] == regressions["n0"] == regressions["no-xdist"]
