"""The live canary (`--llm-live-sample`): a sample of the recorded tests runs again live after its replay,
against the simulator in its "drifted model" mode or unchanged, and the report says what drifted.

Each scenario records a small suite against the normal simulator first, then runs the canary; the
cassettes must be byte-identical afterwards (the canary writes nothing)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_llmops.experiments import canary
from pytest_llmops.results import drift as drift_rules
from pytest_llmops.results.gates import parse_gates
from pytest_llmops.results.records import AnswerRecord, CanaryRun, RunRecord, TestRecord
from pytest_llmops.results.scores import Score
from pytest_llmops.simulator import ProviderSimulator
from pytest_llmops.spend.calls import LLMCall
from tests.conftest import fake_key

ARTICLES = "[Source: refunds]\nRefunds go back to the original card within 5 business days."
SUITE = """
import pytest
from pytest_llmops import checks

ARTICLES = "[Source: refunds]\\nRefunds go back to the original card within 5 business days."
QUESTIONS = [
    "How long does a refund take?",
    "Where does a refund go?",
    "When do refunds reach the card?",
    "How many business days for a refund?",
    "Do refunds go back to the card?",
    "What is the refund time?",
]


@pytest.mark.llm
@pytest.mark.parametrize("question", QUESTIONS)
def test_answer(openai_client, question):
    reply = openai_client.chat.completions.create(
        model="gpt-4o-mini",
        temperature=0,
        messages=[
            {"role": "system", "content": "Answer from the articles and cite them.\\n\\n" + ARTICLES},
            {"role": "user", "content": question},
        ],
    )
    answer = reply.choices[0].message.content
    checks.grounding(answer, ARTICLES)
    checks.citations(answer, ["refunds"], threshold=0.0)
"""


def cassettes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "cassettes").rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def recorded(llm_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The suite, recorded against the normal simulator; the key stays set for the canary."""
    llm_pytester.makepyfile(test_refunds=SUITE)
    monkeypatch.setenv("OPENAI_API_KEY", fake_key())
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist")
    result.assert_outcomes(passed=6)
    return llm_pytester


def canary_run(
    pytester: pytest.Pytester, sim: ProviderSimulator, *args: str, drifted: bool = True
) -> tuple[pytest.RunResult, dict[str, Any], dict[str, bytes], dict[str, bytes]]:
    before = cassettes(pytester.path)
    sim.drifted = drifted
    try:
        result = pytester.runpytest(
            "--llm-eval", "--llm-report-json=report.json", "-p", "no:xdist", "-p", "no:randomly", *args
        )
    finally:
        sim.drifted = False
    report = json.loads((pytester.path / "report.json").read_text())
    return result, report, before, cassettes(pytester.path)


def test_the_canary_detects_a_drifted_model_and_writes_nothing(
    recorded: pytest.Pytester, sim: ProviderSimulator
) -> None:
    sent_before = len(sim.requests)
    result, report, before, after = canary_run(recorded, sim, "--llm-live-sample=50%", "--junitxml=junit.xml")
    assert result.ret == 0  # drift is reported, not gated, without --llm-fail-on-drift
    result.assert_outcomes(passed=6)
    assert after == before  # byte-identical cassettes, no journal left behind
    drift = report["drift"]
    sampled = {t["nodeid"] for t in drift["tests"]}
    expected = canary.choose(
        [f"test_refunds.py::test_answer[{q}]" for q in _questions()], canary.parse_sample("50%")
    )
    assert sampled == expected and 0 < len(sampled) < 6
    assert len(sim.requests) - sent_before == len(sampled)  # one live call per sampled test, nothing else
    assert drift["compared"] == len(sampled) and drift["skipped"] == []
    for test in drift["tests"]:
        assert test["status"] == "drifted" and test["answer_changed"] is True
        assert test["recorded_models"] == ["gpt-4o-mini-2024-07-18"]
        assert test["live_models"] == ["gpt-4.1-mini-2025-04-14"]
        moved = {c["metric"]: c for c in test["comparisons"].values()}
        assert moved["citations"]["status"] == "regressed" and moved["citations"]["current"] < 1
        assert moved["output_tokens"]["status"] == "regressed"
        assert (
            moved["cost_usd"]["status"] == "regressed"
            and moved["cost_usd"]["current"] > moved["cost_usd"]["baseline"]
        )
        assert moved["input_tokens"]["status"] == "same"  # the prompt did not change
        assert "latency_p95" in moved and moved["latency_p95"]["gate"] == "latency_p95:off"
    metrics = {m["name"]: m for m in drift["metrics"]}
    assert metrics["citations"]["drifted"] == len(sampled) and metrics["citations"]["delta"] < 0
    assert metrics["output_tokens"]["test"] == "paired t-test"
    assert drift["live_calls"] == len(sampled) and drift["live_cost_usd"] > 0
    view = drift["views"][0]
    assert (
        "[Source: refunds]" in view["before"]["output"] and "[Source: refunds]" not in view["now"]["output"]
    )
    result.stdout.fnmatch_lines(
        [
            f"Drift (live canary, --llm-live-sample=50%): {len(sampled)} of {len(sampled)} sampled tests run live, *",
            f"  {len(sampled)} tests drifted, * past the default gates; *citations 1 -> 0*",
            "  test_refunds.py::test_answer*: citations 1 -> 0, *",
            "    recorded: * business days. ?Source: refunds?",
            "    live:     As far as I can tell*",
        ]
    )
    props = {
        p.get("name"): p.get("value")
        for case in ET.parse(recorded.path / "junit.xml").getroot().iter("testcase")
        for p in case.iter("property")
        if "[" + case.get("name", "").split("[", 1)[-1] in str(sampled)
    }
    assert props["llm.live.model"] == "gpt-4.1-mini-2025-04-14" and props["llm.live.score.citations"] == "0"


def _questions() -> list[str]:
    namespace: dict[str, Any] = {}
    exec(SUITE.split("@pytest.mark.llm")[0].replace("from pytest_llmops import checks", ""), namespace)
    return [str(q) for q in namespace["QUESTIONS"]]


def test_fail_on_drift_sets_the_exit_status_and_reports_in_every_format(
    recorded: pytest.Pytester,
    sim: ProviderSimulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, report, before, after = canary_run(
        recorded,
        sim,
        "--llm-live-sample=2",
        "--llm-fail-on-drift=citations:-0.5,cost_usd:off,output_tokens:off",
        "--llm-report-md=report.md",
        "--llm-report-html=report.html",
        "-v",
    )
    assert result.ret == 1
    result.assert_outcomes(passed=6)  # the tests pass: it is the session that fails
    assert after == before
    drift = report["drift"]
    assert drift["gated"] and drift["sampled"] == 2
    # cost and tokens gated off; grounding keeps its default gate (-10%)
    assert {c["metric"] for c in drift["drifted"]} == {"citations", "grounding"}
    assert report["verdict"]["failed"] and "drifted live" in report["verdict"]["reasons"][0]
    result.stdout.fnmatch_lines(
        ["*metric*tests*replayed*live*delta*p (paired)*drifted*", "LLM gates failed: *drifted live*"]
    )
    md = (recorded.path / "report.md").read_text()
    assert "### Drift (live canary" in md and "| recorded answer | live answer |" in md
    assert "~~\\[Source: refunds\\]~~" in md
    html = (recorded.path / "report.html").read_text()
    assert "Drift (live canary" in html and "<del>" in html

    # The JSON report carries the canary runs and the gate: `pytest-llmops merge` rebuilds the verdict.
    from pytest_llmops import cli

    monkeypatch.chdir(recorded.path)
    capsys.readouterr()
    assert cli.main(["merge", "report.json"]) == 1
    merged = capsys.readouterr().out
    assert "Drift (live canary, --llm-live-sample=2): 2 of 2 sampled tests run live" in merged
    assert "drifted live in 2 canary tests (--llm-fail-on-drift)" in merged


def test_no_drift_against_the_unchanged_simulator(recorded: pytest.Pytester, sim: ProviderSimulator) -> None:
    result, report, before, after = canary_run(
        recorded, sim, "--llm-live-sample=100%", "--llm-fail-on-drift=citations:-0", drifted=False
    )
    assert result.ret == 0, result.stdout.str()
    assert after == before
    drift = report["drift"]
    assert drift["compared"] == 6 and drift["drifted"] == []
    assert {t["status"] for t in drift["tests"]} == {"same"}
    assert all(t["answer_changed"] is False for t in drift["tests"])
    result.stdout.fnmatch_lines(
        ["  no drift: every live metric is within its drift gate of the replayed one"]
    )


def test_the_budget_caps_the_canary_and_the_rest_is_not_run(
    recorded: pytest.Pytester, sim: ProviderSimulator
) -> None:
    from pytest_llmops.spend.worst_case import worst_case

    # Each live call first reserves its worst case (its largest possible output at the requested model's
    # price); a cap of one worst case plus a little more than one real call lets two calls through.
    bounds = []
    for question in _questions():
        body = {
            "model": "gpt-4o-mini",
            "temperature": 0,
            "messages": [
                {"role": "system", "content": "Answer from the articles and cite them.\n\n" + ARTICLES},
                {"role": "user", "content": question},
            ],
        }
        bound, why = worst_case(body, "openai", "/v1/chat/completions")
        assert bound is not None, why
        bounds.append(bound.cost_usd)
    cap = max(bounds) + 1.5e-4
    result, report, before, after = canary_run(
        recorded, sim, "--llm-live-sample=100%", f"--llm-budget-usd={cap}"
    )
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=6)
    assert after == before
    drift = report["drift"]
    assert 0 < drift["compared"] < 6
    assert len(drift["skipped"]) == 6 - drift["compared"]
    assert {reason for _, reason in drift["skipped"]} == {
        "the session budget (--llm-budget-usd) left no room for it"
    }
    assert drift["live_cost_usd"] <= cap
    result.stdout.fnmatch_lines(
        ["  not run live: * the session budget (--llm-budget-usd) left no room for it*"]
    )


def test_without_a_key_the_canary_is_skipped_in_one_line(
    recorded: pytest.Pytester, sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    sent = len(sim.requests)
    result, report, before, after = canary_run(
        recorded, sim, "--llm-live-sample=100%", "--llm-fail-on-drift=citations:-0"
    )
    assert result.ret == 0
    assert len(sim.requests) == sent  # no placeholder-key call reached the provider
    assert after == before
    assert report["drift"]["compared"] == 0
    result.stdout.fnmatch_lines(
        ["Drift: live canary skipped (6 sampled tests): no OPENAI_API_KEY in the environment"]
    )


def test_the_sample_agrees_under_xdist_and_only_the_controller_prints(
    recorded: pytest.Pytester, sim: ProviderSimulator
) -> None:
    pytest.importorskip("xdist")
    before = cassettes(recorded.path)
    sim.drifted = True
    try:
        result = recorded.runpytest_subprocess(
            "--llm-eval", "-n", "2", "--llm-live-sample=50%", "--llm-report-json=report.json"
        )
    finally:
        sim.drifted = False
    assert result.ret == 0, result.stdout.str()
    assert cassettes(recorded.path) == before
    report = json.loads((recorded.path / "report.json").read_text())
    sampled = {t["nodeid"] for t in report["drift"]["tests"]}
    assert sampled == canary.choose(
        [f"test_refunds.py::test_answer[{q}]" for q in _questions()], canary.parse_sample("50%")
    )
    assert all(t["status"] == "drifted" for t in report["drift"]["tests"])
    assert result.stdout.str().count("Drift (live canary") == 1


def test_rewrite_re_records_the_sampled_tests_from_their_live_answers(
    recorded: pytest.Pytester, sim: ProviderSimulator
) -> None:
    result, report, before, after = canary_run(recorded, sim, "--llm-live-sample=1", "--llm-record=rewrite")
    assert result.ret == 0, result.stdout.str()
    assert len(report["drift"]["tests"]) == 1
    changed = [name for name in before if before[name] != after[name]]
    assert len(changed) == 1 and "As far as I can tell" in after[changed[0]].decode()
    assert report["drift"]["tests"][0]["status"] == "drifted"


def test_other_record_modes_do_not_fit_the_canary(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makepyfile(test_refunds=SUITE)
    result = llm_pytester.runpytest("--llm-eval", "--llm-live-sample=1", "--llm-record=once")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-live-sample replays every test*--llm-record=rewrite*"])


@pytest.mark.parametrize("bad", ["0", "-1", "0%", "101%", "ten", "5.5"])
def test_bad_sample_sizes_name_the_option(llm_pytester: pytest.Pytester, bad: str) -> None:
    result = llm_pytester.runpytest("--llm-eval", f"--llm-live-sample={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-live-sample*"])


# -- pure parts ----------------------------------------------------------------------------------------


def test_the_sample_depends_on_the_node_id_alone() -> None:
    ids = [f"t.py::test_{i}" for i in range(400)]
    half = canary.choose(ids, canary.parse_sample("50%"))
    assert 150 < len(half) < 250
    subset = ids[::3]  # a -k subset or a shard: each test is in or out as in the whole suite
    assert canary.choose(subset, canary.parse_sample("50%")) == half & set(subset)
    five = canary.choose(ids, canary.parse_sample("5"))
    assert len(five) == 5 and five == canary.choose(list(reversed(ids)), canary.parse_sample("5"))
    assert canary.choose(subset, canary.parse_sample("5")) >= five & set(subset)
    assert canary.point("t.py::test_1") == canary.point("t.py::test_1")  # no salted hash


def test_missing_keys_name_the_variables() -> None:
    present = {"OPENAI_API_KEY", "AWS_PROFILE"}.__contains__
    assert canary.missing_keys(["openai", "bedrock"], present) == []
    assert canary.missing_keys(["anthropic", "gemini", "groq"], present) == [
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY or GOOGLE_API_KEY",
        "GROQ_API_KEY",
    ]


def _record(
    nodeid: str, score: float, tokens: int, answer: str, live: TestRecord | None = None
) -> TestRecord:
    record = TestRecord(nodeid=nodeid, base_nodeid=nodeid)
    record.runs = [RunRecord(0, "passed")]
    record.scores = [Score("relevance", score, scorer="lexical")]
    record.calls = [
        LLMCall(
            provider="openai",
            endpoint="chat",
            model="m",
            input_tokens=10,
            output_tokens=tokens,
            cost_usd=0.001,
            latency_ms=5.0,
        )
    ]
    record.answer = AnswerRecord(answer, str(hash(answer)), len(answer))
    if live is not None:
        record.canary = CanaryRun(True, None, live)
    return record


def test_drift_compares_each_metric_and_pairs_the_sample() -> None:
    records = [_record(f"t::{i}", 4.0, 10, "a", _record(f"t::{i}", 2.0 + i / 10, 30, "b")) for i in range(4)]
    tests = [drift_rules.compare_test(r, parse_gates("relevance:-0.5"), 0.05) for r in records]
    assert all(t is not None and t.status == "drifted" for t in tests)
    metrics = {m.name: m for m in drift_rules.metric_drift([t for t in tests if t])}
    assert metrics["relevance"].drifted == 4 and metrics["relevance"].test == "paired t-test"
    assert metrics["relevance"].p_value is not None and metrics["relevance"].p_value < 0.01
    assert metrics["cost_usd"].test == "no difference" and metrics["cost_usd"].p_value == 1.0
    assert "latency_p95" in metrics and metrics["latency_p95"].drifted == 0  # off unless named
    gated = drift_rules.compare_test(records[0], parse_gates("latency_p95:+0"), 0.05)
    assert gated is not None and gated.comparisons["latency_p95"].gate == "latency_p95:+0"
    assert drift_rules.compare_test(_record("t::x", 4.0, 10, "a"), parse_gates(None), 0.05) is None


def test_the_canary_run_rides_the_report_as_json() -> None:
    record = _record("t::1", 4.0, 10, "a", _record("t::1", 3.0, 12, "b"))
    again = TestRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again.canary is not None and again.canary.record is not None
    assert again.canary.record.scores[0].value == 3.0 and again.canary.ran
    skipped = TestRecord.from_dict(
        {**record.to_dict(), "canary": CanaryRun(False, "no OPENAI_API_KEY").to_dict()}
    )
    assert skipped.canary == CanaryRun(False, "no OPENAI_API_KEY", None)


def test_the_drifted_simulator_answers_differently(sim: ProviderSimulator) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=sim.openai_base_url, api_key=fake_key(), max_retries=0)
    messages: Any = [
        {"role": "system", "content": "Cite.\n\n[Source: refunds]\nRefunds take 5 business days."},
        {"role": "user", "content": "How long does a refund take?"},
    ]
    usual = client.chat.completions.create(model="gpt-4o-mini", messages=messages, seed=1)
    sim.drifted = True
    try:
        drifted = client.chat.completions.create(model="gpt-4o-mini", messages=messages, seed=1)
    finally:
        sim.drifted = False
    assert "[Source: refunds]" in (usual.choices[0].message.content or "")
    assert "[Source" not in (drifted.choices[0].message.content or "")
    assert drifted.model == "gpt-4.1-mini-2025-04-14" != usual.model
    assert usual.usage is not None and drifted.usage is not None
    assert drifted.usage.completion_tokens > usual.usage.completion_tokens
    assert drifted.usage.prompt_tokens == usual.usage.prompt_tokens


JUDGED_SUITE = """
import pytest
from pytest_llmops import checks

ARTICLES = "[Source: refunds]\\nRefunds go back to the original card within 5 business days."


@pytest.mark.llm
def test_judged(anthropic_client):
    question = "How long does a refund take?"
    reply = anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=200,
        system="Answer from the articles and cite them.\\n\\n" + ARTICLES,
        messages=[{"role": "user", "content": question}],
    )
    answer = reply.content[0].text
    checks.relevance(question, answer)
    checks.citations(answer, ["refunds"])
"""


def test_judges_score_the_live_run_too_and_need_their_key(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makeini(
        f"[pytest]\nllm_judge = openai:gpt-4o-mini\nllm_judge_base_url = {sim.openai_base_url}\n"
    )
    llm_pytester.makepyfile(test_judged=JUDGED_SUITE)
    monkeypatch.setenv("ANTHROPIC_API_KEY", fake_key("sk-ant-api03-"))
    monkeypatch.setenv("OPENAI_API_KEY", fake_key())
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist").assert_outcomes(passed=1)

    monkeypatch.delenv("OPENAI_API_KEY")  # the judge's provider: the canary needs its key as well
    result, report, before, after = canary_run(llm_pytester, sim, "--llm-live-sample=1")
    assert report["drift"]["skipped"] == [
        ["test_judged.py::test_judged", "no OPENAI_API_KEY in the environment"]
    ]
    assert after == before

    monkeypatch.setenv("OPENAI_API_KEY", fake_key())
    sent = len(sim.requests)
    result, report, before, after = canary_run(llm_pytester, sim, "--llm-live-sample=1")
    assert result.ret == 0 and after == before
    assert [r.provider for r in sim.requests[sent:]] == ["anthropic", "openai"]  # the app, then the judge
    [test] = report["drift"]["tests"]
    assert test["recorded_models"] == ["claude-haiku-4-5-20251001"]
    assert test["live_models"] == ["claude-sonnet-4-5-20250929"]
    assert test["comparisons"]["relevance"]["status"] != "not comparable"  # the same judge on both sides
    assert test["comparisons"]["citations"]["status"] == "regressed"
    [record] = report["records"]
    live = record["canary"]["record"]
    assert [c["role"] for c in live["calls"]] == ["app", "judge"]
    assert all(c["source"] == "live" and c["cassette"] is None for c in live["calls"])
    judged = next(s for s in live["scores"] if s["name"] == "relevance")
    assert judged["scorer"] == "judge:openai:gpt-4o-mini"


def test_the_standalone_simulator_drifts_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_llmops.simulator.__main__ import _parser

    assert _parser().parse_args(["--drifted"]).drifted
    monkeypatch.setenv("LLMOPS_SIMULATOR_DRIFTED", "1")
    assert _parser().parse_args([]).drifted
    monkeypatch.setenv("LLMOPS_SIMULATOR_DRIFTED", "0")
    assert not _parser().parse_args([]).drifted
    sim = ProviderSimulator(drifted=True)
    sim.reset()
    assert sim.drifted  # reset keeps what the simulator was built as


def test_a_failing_replay_still_runs_live_but_a_cassette_miss_does_not(
    llm_pytester: pytest.Pytester, sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_pytester.makepyfile(
        test_two="""
        import os
        import pytest

        MSG = [{"role": "user", "content": "Say hello"}]

        @pytest.mark.llm
        def test_fails(openai_client):
            reply = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MSG, seed=1)
            assert "nothing like this" in reply.choices[0].message.content

        @pytest.mark.llm
        def test_unrecorded(openai_client):
            if os.environ.get("SKIP_ME"):
                pytest.skip("not recorded")
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        """
    )
    monkeypatch.setenv("OPENAI_API_KEY", fake_key())
    monkeypatch.setenv("SKIP_ME", "1")
    llm_pytester.runpytest("--llm-eval", "--llm-record=once", "-p", "no:xdist").assert_outcomes(
        failed=1, skipped=1
    )
    monkeypatch.delenv("SKIP_ME")
    result, report, before, after = canary_run(llm_pytester, sim, "--llm-live-sample=100%", drifted=False)
    result.assert_outcomes(failed=2)  # the replays' own results, raised as they were
    result.stdout.fnmatch_lines(["*AssertionError*", "*No recorded response for POST /v1/chat/completions*"])
    assert after == before
    tests = {t["nodeid"].split("::")[1]: t for t in report["drift"]["tests"]}
    assert tests["test_fails"]["live_outcome"] == "failed" and tests["test_fails"]["status"] == "same"
    assert tests["test_unrecorded"]["reason"] == "the replayed run did not finish (cassette miss)"


def test_the_ini_keys_are_read_and_checked(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makeini("[pytest]\nllm_live_sample = 0%\n")
    result = llm_pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*llm_live_sample = 0% in *: '0%': the share must be above 0%*"])
    llm_pytester.makeini("[pytest]\nllm_fail_on_drift = relevance:0.3\n")
    result = llm_pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*llm_fail_on_drift = relevance:0.3*a sign is required*"])
