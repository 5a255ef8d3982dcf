"""Checks inside llm tests, as a user runs them: scores recorded, judges recorded into cassettes and replayed,
cascade escalations, plugin checks registered through the hook."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

# Imported here, before any inner run: pytester's in-process runs drop modules first imported during a run,
# so a module re-imported in a later run would hold a different `context` than the session's, and the SDKs
# would be imported again for every run (seconds each).
import anthropic  # noqa: F401
import openai  # noqa: F401
import pytest
import yaml

from pytest_llmops.simulator import ChatTurn, ProviderSimulator, chain
from pytest_llmops.simulator.judge_responder import with_judge
from tests.conftest import INNER_CONFTEST

# Replies scripted per request: when `key` is in a judge request, the next reply in SCRIPT[key] is used.
SCRIPT: dict[str, list[str]] = {}


def scripted(turn: ChatTurn) -> str | None:
    if "Rubric:" not in turn.system:
        return None
    text = "\n".join(t for _, t in turn.messages)
    for key, replies in SCRIPT.items():
        if key in text and replies and turn.messages[-1][0] == "user" and len(turn.messages) == 1:
            return replies.pop(0)
    return None


@pytest.fixture(scope="module")
def judge_simulator() -> Iterator[ProviderSimulator]:
    with ProviderSimulator(responder=chain(scripted, with_judge()), idle_timeout_s=120) as sim:
        yield sim


@pytest.fixture
def sim(judge_simulator: ProviderSimulator) -> ProviderSimulator:
    """Overrides the suite's simulator: this one also answers judge rubrics (llm_pytester uses it)."""
    judge_simulator.reset()
    SCRIPT.clear()
    return judge_simulator


# Until the session itself calls checks.settings.configure / registry.load_from_hook and declares the
# hook, the inner suite does it here; both are idempotent, so this stays correct once the plugin does.
CHECKS_WIRING = textwrap.dedent(
    """
    import json
    import pytest
    from pytest_llmops.checks import registry as _checks_registry, settings as _checks_settings

    class _ChecksSpec:
        @staticmethod
        @pytest.hookspec(historic=True)
        def pytest_llmops_register_checks(registry):
            pass

    def pytest_addhooks(pluginmanager):
        caller = getattr(pluginmanager.hook, "pytest_llmops_register_checks", None)
        if caller is None or caller.spec is None:
            pluginmanager.add_hookspecs(_ChecksSpec)

    @pytest.hookimpl(trylast=True)
    def pytest_configure(config):
        from pytest_llmops.settings import Settings

        s = Settings.from_config(config)
        _checks_settings.configure(
            judge=s.judge, mode=s.judge_mode, base_url=s.judge_base_url, scorer=s.scorer
        )
        _checks_registry.load_from_hook(config.hook)

    def pytest_unconfigure(config):
        _checks_settings.reset()

    def pytest_runtest_logreport(report):
        data = getattr(report, "llmops", None)
        if data is not None and report.when == "teardown":
            with open("records.jsonl", "a") as out:
                out.write(json.dumps(data) + "\\n")
    """
)


def setup_suite(pytester: pytest.Pytester, ini: str, tests: str, conftest_extra: str = "") -> None:
    pytester.makeconftest(INNER_CONFTEST + CHECKS_WIRING + textwrap.dedent(conftest_extra))
    pytester.makeini("[pytest]\n" + textwrap.dedent(ini))
    pytester.makepyfile(test_app=textwrap.dedent(tests))


def records(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    """The per-test records of the last run, by test name; the file is emptied for the next run."""
    path = pytester.path / "records.jsonl"
    found = {
        json.loads(line)["nodeid"].split("::")[-1]: json.loads(line) for line in path.read_text().splitlines()
    }
    path.unlink()
    return found


def scores(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in record["scores"]}


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # hypothesis' plugin imports hypothesis at every session's end: over a second per in-process run.
    return pytester.runpytest("--llm-eval", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


LOCAL_SUITE = """
    import pytest
    from pytest_llmops import checks

    CONTEXT = "Refunds are processed within 5 business days. Digital goods cannot be refunded."

    @pytest.mark.llm
    def test_grounded():
        checks.grounding("Refunds are processed within 5 business days.", CONTEXT, threshold=0.9)
        checks.record_score("latency_s", 0.8, threshold=2.0, higher_is_better=False)

    @pytest.mark.llm
    def test_hallucinates():
        checks.conciseness("Refunds take 5 business days.", max_words=20)
        checks.grounding("Refunds take 5 business days. You also get a $10 voucher.", CONTEXT, threshold=0.9)
        checks.record_score("never_reached", 1.0)

    def test_plain_test_can_use_checks():
        assert checks.correctness("Paris is the capital.", "Paris").value > 0.7
"""


def test_local_checks_record_scores_and_fail_readably(llm_pytester: pytest.Pytester) -> None:
    setup_suite(llm_pytester, "", LOCAL_SUITE)
    result = run(llm_pytester)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   *CheckFailed: grounding 0.5 < threshold 0.9 (lexical scorer): "
            "1 of 2 sentences not supported by the context",
            'E *unsupported: "You also get a $10 voucher." (support 0.0)',
            "*FAILED test_app.py::test_hallucinates - *CheckFailed*",
        ]
    )
    assert "checks/" not in result.stdout.str()  # the check's own frames are hidden from the traceback
    found = records(llm_pytester)
    assert set(found) == {"test_grounded", "test_hallucinates"}
    good, bad = scores(found["test_grounded"]), scores(found["test_hallucinates"])
    assert good["grounding"]["passed"] is True and good["latency_s"]["higher_is_better"] is False
    assert list(bad) == ["conciseness", "grounding"]  # recorded before the failure; nothing after it
    assert bad["grounding"]["passed"] is False and bad["grounding"]["details"]["hallucination_rate"] == 0.5
    assert found["test_hallucinates"]["outcome"] == "failed"


JUDGED_SUITE = """
    import pytest
    from pytest_llmops import checks

    Q = "How long do refunds take?"
    CONTEXT = "Refunds are processed within 5 business days of receiving the return."

    @pytest.mark.llm
    def test_rag(openai_client):
        r = openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Answer from the context. Reply with exactly: "
                       "Refunds are processed within 5 business days."}],
        )
        answer = r.choices[0].message.content
        checks.relevance(Q, answer, threshold=4)
        checks.grounding(answer, CONTEXT, threshold=0.9)

    @pytest.mark.llm
    def test_off_topic():
        checks.relevance(Q, "Our office is closed on Sundays. MESSY", threshold=4)
"""


def test_judge_calls_are_recorded_then_replayed_offline(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup_suite(
        llm_pytester,
        f"llm_judge = openai:gpt-4o-mini\nllm_judge_base_url = {sim.openai_base_url}\n",
        JUDGED_SUITE,
    )
    SCRIPT["MESSY"] = ["I'd say this is mostly irrelevant."]  # unreadable: one reminder follows
    recorded = run(llm_pytester, "--llm-record=once")
    recorded.assert_outcomes(passed=1, failed=1)
    line = "*relevance 1.0 < threshold 4.0 (judge openai:gpt-4o-mini, prompt relevance@1.0.0): The answer *"
    recorded.stdout.fnmatch_lines([line])
    assert len(sim.requests) == 5  # the app's call, two judge calls, and a judge call with its retry
    first = records(llm_pytester)

    rag = first["test_rag"]
    assert [c["role"] for c in rag["calls"]] == ["app", "judge", "judge"]
    rag_scores = scores(rag)
    for name in ("relevance", "grounding"):
        score = rag_scores[name]
        assert score["scorer"] == "judge:openai:gpt-4o-mini" and score["passed"] is True
        assert (
            score["details"]["judge_prompt"] == f"{name}@1.0.0"
            and len(score["details"]["judge_prompt_sha256"]) == 64
        )
        judge_call_costs = [c["cost_usd"] for c in rag["calls"] if c["role"] == "judge"]
        assert score["judge_cost_usd"] > 0
    assert rag_scores["relevance"]["judge_cost_usd"] + rag_scores["grounding"][
        "judge_cost_usd"
    ] == pytest.approx(sum(judge_call_costs))
    messy = scores(first["test_off_topic"])["relevance"]
    assert messy["details"]["judge_retried"] is True and messy["details"]["judge_calls"] == 2

    cassette = yaml.safe_load((llm_pytester.path / "cassettes" / "test_app" / "test_rag.yaml").read_text())
    bodies = [i["request"]["body"] for i in cassette["interactions"]]
    assert len(bodies) == 3 and "Rubric: relevance." in bodies[1] and "Rubric: grounding." in bodies[2]

    # Replay: no keys, nothing reaches the simulator, same verdicts and the same judge spend.
    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    replayed = run(llm_pytester)
    replayed.assert_outcomes(passed=1, failed=1)
    replayed.stdout.fnmatch_lines([line])
    assert sim.requests == []
    second = records(llm_pytester)
    for test in ("test_rag", "test_off_topic"):
        for name, score in scores(first[test]).items():
            again = scores(second[test])[name]
            assert (again["value"], again["judge_cost_usd"], again["details"]) == (
                score["value"],
                score["judge_cost_usd"],
                score["details"],
            )
        assert [c["source"] for c in second[test]["calls"]] == ["replayed"] * len(first[test]["calls"])


CASCADE_SUITE = """
    import pytest
    from pytest_llmops import checks

    EXPECTED = "Refunds are processed within 5 business days."

    @pytest.mark.llm
    def test_clear_pass():
        checks.correctness("Refunds are processed within 5 business days.", EXPECTED, threshold=0.7)

    @pytest.mark.llm
    def test_clear_fail():
        checks.correctness("The Eiffel Tower is 330 meters tall.", EXPECTED)

    @pytest.mark.llm
    def test_unsure():
        checks.correctness("Refunds are handled within 5 days.", EXPECTED, threshold=0.5)
"""


def test_cascade_asks_the_judge_only_for_uncertain_scores(
    llm_pytester: pytest.Pytester,
    sim: ProviderSimulator,
    with_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ini = (
        f"llm_judge = anthropic:claude-haiku-4-5\nllm_judge_mode = cascade\nllm_judge_base_url = {sim.url}\n"
    )
    setup_suite(llm_pytester, ini, CASCADE_SUITE)
    run(llm_pytester, "--llm-record=once").assert_outcomes(passed=3)
    assert len(sim.requests) == 1 and sim.requests[0].provider == "anthropic"
    first = records(llm_pytester)
    escalated = {test: scores(r)["correctness"]["details"]["escalated"] for test, r in first.items()}
    assert escalated == {"test_clear_pass": False, "test_clear_fail": False, "test_unsure": True}
    unsure = scores(first["test_unsure"])["correctness"]
    assert unsure["scorer"] == "judge:anthropic:claude-haiku-4-5" and unsure["judge_cost_usd"] > 0
    assert unsure["details"]["local_scorer"] == "lexical" and unsure["details"]["cascade_band"] == [
        0.35,
        0.75,
    ]
    assert [c["role"] for c in first["test_unsure"]["calls"]] == ["judge"]
    assert (
        first["test_clear_pass"]["calls"] == []
        and scores(first["test_clear_pass"])["correctness"]["judge_cost_usd"] is None
    )
    assert not (llm_pytester.path / "cassettes" / "test_app" / "test_clear_pass.yaml").exists()

    for name in with_keys:
        monkeypatch.delenv(name)
    sim.reset()
    run(llm_pytester).assert_outcomes(passed=3)
    assert sim.requests == []
    second = records(llm_pytester)
    assert scores(second["test_unsure"])["correctness"] == unsure


PLUGIN_CONFTEST = """
    def pytest_llmops_register_checks(registry):
        def shouting(text):
            '''Share of upper-case letters.'''
            letters = [c for c in text if c.isalpha()]
            return sum(c.isupper() for c in letters) / len(letters)

        registry.register("shouting", shouting, higher_is_better=False)
"""

PLUGIN_SUITE = """
    import pytest
    from pytest_llmops import checks

    @pytest.mark.llm
    def test_calm():
        checks.run("shouting", "Refunds take five days.", threshold=0.3)

    @pytest.mark.llm
    def test_loud():
        checks.run("shouting", "REFUNDS TAKE FIVE DAYS", threshold=0.3)
"""


def test_conftest_registers_a_check_through_the_hook(llm_pytester: pytest.Pytester) -> None:
    setup_suite(llm_pytester, "", PLUGIN_SUITE, PLUGIN_CONFTEST)
    result = run(llm_pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["E   *CheckFailed: shouting 1.0 > threshold 0.3 (custom)"])
    found = records(llm_pytester)
    calm = scores(found["test_calm"])["shouting"]
    assert (
        calm["value"] == pytest.approx(1 / 19)
        and calm["higher_is_better"] is False
        and calm["passed"] is True
    )
