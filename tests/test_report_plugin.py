"""The report and the baseline gate as a user meets them: record, replay, accept, regress, with and
without xdist."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from typing import Any

import anthropic  # noqa: F401  imported once here: pytester's in-process runs would import them again each run
import openai  # noqa: F401
import pytest

import pytest_llmops.results.reporting
import pytest_llmops.session  # noqa: F401
from pytest_llmops.results.report import html, json_report, markdown, terminal  # noqa: F401
from pytest_llmops.simulator import ProviderSimulator

SUITE = textwrap.dedent(
    """
    import os
    import pytest
    from pytest_llmops import checks, context
    from pytest_llmops.results.scores import Score

    QUESTION = [{"role": "user", "content": "What is the capital of France?"}]

    def score(name, value, **kwargs):
        context.current().add_score(Score(name, value, **kwargs))

    @pytest.mark.llm
    def test_capital(openai_client):
        reply = openai_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
        answer = os.environ.get("ANSWER", reply.choices[0].message.content)
        checks.record_output(answer, inputs={"question": QUESTION[0]["content"]}, expected="Paris")
        score("relevance", float(os.environ.get("RELEVANCE", "0.9")), threshold=0.5, passed=True)

    @pytest.mark.llm
    @pytest.mark.parametrize("city", ["Paris", "Lyon"])
    def test_summary(anthropic_client, city):
        anthropic_client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "About " + city}])
        score("relevance", 0.8)
        score("faithfulness", 0.7, scorer="judge",
              details={"judge": os.environ.get("JUDGE", "openai:gpt-4o-mini"), "judge_prompt": "faith@1.0.0"})

    @pytest.mark.llm
    def test_no_calls():
        score("format", 1.0)
        if os.environ.get("FAIL_NO_CALLS"):
            raise AssertionError("bad format")
    """
)
TESTS = 4
QUIET = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:hypothesispytest",
    "-p",
    "no:recording",
)  # unrelated, slow to load


@pytest.fixture
def recorded(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """The suite with its cassettes recorded against the simulator, and no API keys left for the replays."""
    llm_pytester.makepyfile(test_app=SUITE)
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", *QUIET)
    result.assert_outcomes(passed=TESTS)
    for name in with_keys:
        monkeypatch.delenv(name)
    return llm_pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--llm-eval", *QUIET, *args)


def strip_timings(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: strip_timings(v) for k, v in data.items() if k != "timings"}
    if isinstance(data, list):
        return [strip_timings(v) for v in data]
    return data


def test_replay_prints_the_section_and_writes_every_report(
    recorded: pytest.Pytester, sim: ProviderSimulator
) -> None:
    before = len(sim.requests)
    out = recorded.path / "out"
    result = run(
        recorded,
        f"--llm-report-json={out / 'r.json'}",
        f"--llm-report-md={out / 'r.md'}",
        f"--llm-report-html={out / 'r.html'}",
        f"--junitxml={out / 'junit.xml'}",
        "--llm-report-terminal=full",
    )
    result.assert_outcomes(passed=TESTS)
    assert result.ret == pytest.ExitCode.OK
    assert len(sim.requests) == before  # replayed offline
    result.stdout.fnmatch_lines(
        [
            "*= LLM evaluation =*",
            "4 llm tests: 4 passed · pass rate 100%",
            "app calls: 3 (3 replayed, 0 live)",
            "spend: $0 live (paid now) · $* replayed (cost when recorded)",
            "cassettes: 3 played · 0 new recordings · 0 misses",
            "baseline: none yet (.llm-baseline.json)",
            "Quality",
            "*faithfulness*0.7*2*",
            "*relevance*0.833*3*",
            "By model",
            "*claude-haiku-4-5*",
            "Next: No baseline yet (.llm-baseline.json). Create it from this run: "
            "pytest --llm-eval --llm-update-baseline",
        ]
    )
    section = result.outlines[
        result.outlines.index(next(x for x in result.outlines if "LLM evaluation" in x)) :
    ]
    last = [line for line in section if not line.startswith("=")][-1]
    assert last.startswith("Next: ")  # the next step ends the section
    report = json.loads((out / "r.json").read_text())
    assert report["format"] == 2
    assert report["headline"]["tests"] == TESTS
    assert report["baseline"]["state"] == "missing"
    assert [t["nodeid"] for t in report["tests"]] == sorted(t["nodeid"] for t in report["tests"])
    assert "## LLM evaluation" in (out / "r.md").read_text()
    page = (out / "r.html").read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert page.count("<script") == 1  # the per-test view's filters, inline
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")

    cases = {c.get("name"): c for c in ET.parse(out / "junit.xml").getroot().iter("testcase")}
    props = {p.get("name"): p.get("value") or "" for p in cases["test_capital"].iter("property")}
    assert props["llm.score.relevance"] == "0.9"
    assert int(props["llm.tokens.input"]) > 0 and int(props["llm.tokens.output"]) > 0
    assert props["llm.calls"] == "1" and "llm.cost_usd" in props
    assert props["llm.model"].startswith("gpt-4o-mini")


def test_accepted_baseline_then_a_score_drop_fails_the_session(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted = run(recorded, "--llm-update-baseline")
    assert accepted.ret == pytest.ExitCode.OK
    accepted.stdout.fnmatch_lines(["Next: Baseline .llm-baseline.json updated from this run (4 tests)*"])
    path = recorded.path / ".llm-baseline.json"
    text = path.read_text()
    data = json.loads(text)
    assert data["format"] == 1
    assert text == json.dumps(data, sort_keys=True, indent=1) + "\n"  # sorted keys, stable diffs
    entry = data["tests"]["test_app.py::test_capital"]["metrics"]
    assert entry["relevance"] == {"count": 1, "higher_is_better": True, "value": 0.9}
    assert {"pass_rate", "cost_usd", "input_tokens", "output_tokens", "latency_p95"} <= set(entry)
    assert data["meta"]["judges"] == [{"judge": "openai:gpt-4o-mini", "judge_prompt": "faith@1.0.0"}]
    assert data["meta"]["recorded_at"] and data["meta"]["git_commit"] is None

    same = run(recorded)
    assert same.ret == pytest.ExitCode.OK
    same.stdout.fnmatch_lines(["Next: Every test is within its gates of the baseline; nothing to do."])

    monkeypatch.setenv("RELEVANCE", "0.5")
    dropped = run(recorded, "--llm-report-terminal=full")
    dropped.assert_outcomes(passed=TESTS)  # every test passed, yet the session fails on the regression
    assert dropped.ret == pytest.ExitCode.TESTS_FAILED
    dropped.stdout.fnmatch_lines(
        [
            "Regressions (1)",
            "*test*metric*baseline -> now*delta*gate*",
            "*test_app.py::test_capital*relevance*0.9 -> 0.5*-0.4 (-44.4%)*relevance:-10% (default)*",
            "LLM gates failed: 1 regression against the baseline",
            "Next: Investigate the regressions above. If the change is intended, accept these results as "
            "the new baseline: pytest --llm-eval --llm-update-baseline",
        ]
    )
    assert path.read_text() == text  # never rewritten unasked

    loose = run(recorded, "--llm-fail-on=relevance:-0.5")
    assert loose.ret == pytest.ExitCode.OK


def test_judge_change_is_not_comparable_new_and_unused_tests(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(recorded, "--llm-update-baseline")
    monkeypatch.setenv("JUDGE", "anthropic:claude-sonnet-4-5")
    result = run(recorded, "-v")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "Not comparable: the judge changed (2)",
            "*test_summary[[]Lyon[]]*faithfulness*judge openai:gpt-4o-mini in the baseline, "
            "anthropic:claude-sonnet-4-5 now*",
        ]
    )

    path = recorded.path / ".llm-baseline.json"
    data = json.loads(path.read_text())
    data["tests"]["test_app.py::test_gone"] = data["tests"].pop("test_app.py::test_no_calls")
    path.write_text(json.dumps(data))
    full = run(recorded, "-o", "llm_report_terminal=full")
    full.stdout.fnmatch_lines(
        [
            "New tests, not in the baseline (1)",
            "  test_app.py::test_no_calls",
            "Baseline entries of tests that no longer exist (1)",
            "  test_app.py::test_gone",
        ]
    )
    assert full.ret == pytest.ExitCode.OK  # neither fails by default
    for narrowing in (["-k", "capital or no_calls"], ["test_app.py"], ["test_app.py::test_capital"]):
        partial = run(recorded, *narrowing)
        assert "no longer exist" not in partial.stdout.str(), narrowing  # unused only on full runs
    assert "no longer exist" in run(recorded, str(recorded.path)).stdout.str()  # the rootdir is everything
    assert run(recorded, "-o", "llm_fail_on_new=true").ret == pytest.ExitCode.TESTS_FAILED


def test_partial_update_keeps_other_entries(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(recorded, "--llm-update-baseline")
    path = recorded.path / ".llm-baseline.json"
    monkeypatch.setenv("RELEVANCE", "0.6")
    run(recorded, "--llm-update-baseline", "-k", "capital")
    data = json.loads(path.read_text())
    assert set(data["tests"]) == {
        "test_app.py::test_capital",
        "test_app.py::test_no_calls",
        "test_app.py::test_summary[Lyon]",
        "test_app.py::test_summary[Paris]",
    }
    assert data["tests"]["test_app.py::test_capital"]["metrics"]["relevance"]["value"] == 0.6


def test_corrupt_baseline_is_a_usage_error_and_left_alone(recorded: pytest.Pytester) -> None:
    path = recorded.path / ".llm-baseline.json"
    path.write_text('{"format": 1, "tests": {"x": {"metrics": {"m": {"value": "high"}}}}}')
    result = run(recorded)
    result.assert_outcomes(passed=TESTS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        [
            "baseline unusable: *.llm-baseline.json: tests?'x'?.metrics.m.value is 'high', not a number. "
            "It was not used and has not been changed. Regenerate it*"
            "pytest --llm-eval --llm-update-baseline*",
            "LLM gates failed: the baseline file .llm-baseline.json is unusable",
            "Next: Fix .llm-baseline.json, or regenerate it from a good run: "
            "pytest --llm-eval --llm-update-baseline (this replaces the file).",
        ]
    )
    assert "high" in path.read_text()
    assert run(recorded, "--llm-update-baseline").ret == pytest.ExitCode.OK  # asked: now it is replaced
    assert json.loads(path.read_text())["format"] == 1


def test_a_bad_gate_spec_names_the_bad_part(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--llm-eval", "--llm-fail-on=relevance:-0.3,cost_usd:10%")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-fail-on*part 2 'cost_usd:10%'*a sign is required*"])


def test_the_same_report_and_decisions_with_and_without_xdist(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(recorded, "--llm-update-baseline")
    monkeypatch.setenv("RELEVANCE", "0.4")
    monkeypatch.setenv("FAIL_NO_CALLS", "1")
    reports = {}
    for name, args in {"none": ["-p", "no:xdist"], "n0": ["-n", "0"], "n2": ["-n", "2"]}.items():
        path = recorded.path / f"{name}.json"
        result = run(recorded, *args, f"--llm-report-json={path}", "--llm-report-terminal=full")
        result.assert_outcomes(passed=TESTS - 1, failed=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            ["Regressions (2)", "*test_capital*relevance*0.9 -> 0.4*", "*test_no_calls*pass_rate*"]
        )
        reports[name] = json.loads(path.read_text())
    assert reports["n2"]["meta"] == reports["none"]["meta"]
    assert strip_timings(reports["n0"]) == strip_timings(reports["none"])
    assert strip_timings(reports["n2"]) == strip_timings(reports["none"])
    assert [r["metric"] for r in reports["n2"]["regressions"]] == ["relevance", "pass_rate"]


def test_the_default_summary_is_short_and_shows_the_answers_behind_a_regression(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(recorded, "--llm-update-baseline")
    data = json.loads((recorded.path / ".llm-baseline.json").read_text())
    kept = data["tests"]["test_app.py::test_capital"]["answer"]
    assert kept["call"] == "cassettes/test_app/test_capital.yaml#0" and kept["chars"] == len(kept["output"])
    assert "answer" not in data["tests"]["test_app.py::test_no_calls"]

    monkeypatch.setenv("RELEVANCE", "0.5")
    monkeypatch.setenv("ANSWER", "Lyon is the capital of France.")
    out = recorded.path / "r.html"
    result = run(recorded, f"--llm-report-html={out}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    first_line = kept["output"].splitlines()[0]
    result.stdout.fnmatch_lines(
        [
            "*= LLM evaluation =*",
            "4 llm tests: 4 passed · pass rate 100%",
            "Regressions: 1 metric in 1 test",
            "  test_app.py::test_capital: relevance 0.9 -> 0.5",
            f"    before: {first_line[:60]}*",
            "    now:    Lyon is the capital of France.",
            "LLM gates failed: 1 regression against the baseline",
            "Every table: -v or --llm-report-terminal=full; every answer: --llm-report-html.",
            "Next: Investigate the regressions above.*",
        ]
    )
    section = result.stdout.str().split("LLM evaluation", 1)[1]
    assert "Quality" not in section and "By model" not in section
    page = out.read_text()
    assert "<ins>Lyon " in page and "What is the capital of France?" in page  # the diff, and the input

    verbose = run(recorded, "-v")
    verbose.stdout.fnmatch_lines(
        ["Regressions (1)", "*test_capital*relevance*0.9 -> 0.5*", "Quality", "Tests"]
    )


MISSING_CASSETTE = textwrap.dedent(
    """
    import pytest

    @pytest.mark.llm
    def test_unrecorded(openai_client):
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "never recorded"}])
    """
)


def test_a_run_with_cassette_misses_is_not_offered_as_the_baseline(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded.makepyfile(test_new=MISSING_CASSETTE)
    monkeypatch.setenv("FAIL_NO_CALLS", "1")  # a check failure is a result, and may be baselined
    result = run(recorded)
    result.assert_outcomes(passed=TESTS - 1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "Next: No baseline yet (.llm-baseline.json). 1 test failed for a reason other than its checks: "
            "test_new.py::test_unrecorded (cassette miss). Fix it before accepting this run as the baseline*"
        ]
    )
    assert "Create it from this run" not in result.stdout.str()

    refused = run(recorded, "--llm-update-baseline")
    assert refused.ret == pytest.ExitCode.TESTS_FAILED
    assert not (recorded.path / ".llm-baseline.json").exists()
    refused.stdout.fnmatch_lines(
        [
            "*the baseline was not written: 1 test failed for a reason other than its checks, so this run "
            "does not measure its answers: test_new.py::test_unrecorded (cassette miss)*"
            "--llm-baseline-include-errors*"
        ]
    )

    forced = run(recorded, "--llm-update-baseline", "--llm-baseline-include-errors")
    data = json.loads((recorded.path / ".llm-baseline.json").read_text())
    assert "test_new.py::test_unrecorded" in data["tests"]
    forced.stdout.fnmatch_lines(["*Baseline .llm-baseline.json updated from this run (5 tests)*"])

    (recorded.path / ".llm-baseline.json").unlink()
    (recorded.path / "test_new.py").unlink()
    checked = run(recorded, "--llm-update-baseline")  # only a check failed: its pass rate 0 is real
    assert (recorded.path / ".llm-baseline.json").exists(), checked.stdout.str()
    data = json.loads((recorded.path / ".llm-baseline.json").read_text())
    assert data["tests"]["test_app.py::test_no_calls"]["metrics"]["pass_rate"]["value"] == 0
