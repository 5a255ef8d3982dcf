"""A/B comparisons as a user meets them: two prompt variants over a dataset, recorded once against the
simulator and replayed offline; the decision in the terminal, the JSON report and the Markdown report.

The simulator's extractive responder cites its sources only when the prompt asks it to, so the
`citations` score separates the variant that asks from the one that does not.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import anthropic  # noqa: F401  imported once here: pytester's in-process runs would import them again each run
import openai  # noqa: F401
import pytest

import pytest_llmops.experiments.comparison_tables
import pytest_llmops.experiments.comparisons
import pytest_llmops.results.reporting
import pytest_llmops.session  # noqa: F401
from pytest_llmops import stats
from pytest_llmops.results.report import html, json_report, markdown, terminal  # noqa: F401
from pytest_llmops.simulator import ProviderSimulator

DOCS = {
    "billing-01": "Refunds are issued within 5 business days of approval.",
    "shipping-02": "Standard shipping takes 3 to 7 days within the country.",
    "account-03": "Passwords must be reset every 90 days for security.",
    "support-04": "Phone support is open from 9am to 5pm on weekdays.",
    "returns-05": "Items can be returned within 30 days of delivery.",
    "billing-06": "Invoices can be downloaded from the billing page of your account.",
    "plans-07": "The team plan includes up to 10 users.",
    "plans-08": "The free plan offers 5 GB of storage.",
    "reports-09": "Reports can be exported to PDF and CSV formats.",
    "files-10": "Deleted files are kept in the trash for 30 days.",
}
QUESTIONS = {
    "refunds": "How long do refunds take?",
    "shipping": "How long does standard shipping take?",
    "passwords": "How often must passwords be reset?",
    "support": "When is phone support open?",
    "returns": "How many days do I have to return an item?",
    "invoices": "Where can I download my invoices?",
    "plans": "How many users does the team plan include?",
    "storage": "How much storage does the free plan offer?",
    "export": "Which formats can reports be exported to?",
    "deletion": "How long are deleted files kept?",
}
CASES = len(QUESTIONS)
REPEATS = 4

SUITE = textwrap.dedent(
    f"""
    import os
    import pytest
    from pytest_llmops import checks

    DOCS = {DOCS!r}
    CONTEXT = "\\n\\n".join(f"[Source: {{k}}]\\n{{v}}" for k, v in DOCS.items())
    VARIANTS = {{
        "plain": {{"instructions": "Answer the question using the context."}},
        "cited": {{"instructions": "Answer the question using the context. Cite sources for each sentence."}},
    }}
    if os.environ.get("CITED_FIRST"):  # the same tests (and cassettes), with the other variant as control
        VARIANTS = dict(reversed(list(VARIANTS.items())))

    def answer(client, instructions, question):
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {{"role": "system", "content": instructions + "\\n\\n" + CONTEXT}},
                {{"role": "user", "content": question}},
            ],
        )
        checks.citations(reply.choices[0].message.content, DOCS)

    @pytest.mark.llm(dataset="questions.yaml", variants=VARIANTS)
    def test_answer(openai_client, llm_case, llm_variant):
        answer(openai_client, llm_variant["instructions"], llm_case["question"])

    @pytest.mark.llm(variants=VARIANTS, repeat={REPEATS})
    def test_repeated(openai_client, llm_variant):
        answer(openai_client, llm_variant["instructions"], "How long do refunds take?")
    """
)
INI = """
[pytest]
llm_primary_metric = citations
# Simulator latencies are a few milliseconds of wall-clock noise: no latency guard here.
llm_guard_metrics = cost_usd:+20% latency_p95:off safety:-0
"""
TESTS = 2 * CASES + 2
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:recording")


@pytest.fixture
def recorded(
    llm_pytester: pytest.Pytester, with_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """The suite recorded once against the simulator; no API keys are left for the replays."""
    llm_pytester.makeini(INI)
    llm_pytester.makefile(
        ".yaml", questions="\n".join(f"- {{id: {k}, question: {q!r}}}" for k, q in QUESTIONS.items())
    )
    llm_pytester.makepyfile(test_app=SUITE)
    result = llm_pytester.runpytest("--llm-eval", "--llm-record=once", *QUIET)
    result.assert_outcomes(passed=TESTS)
    for name in with_keys:
        monkeypatch.delenv(name)
    return llm_pytester


def replay(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    """A replay with the JSON report; the report's comparisons by test name (the part after ::)."""
    path = pytester.path / "report.json"
    result = pytester.runpytest(
        "--llm-eval", *QUIET, f"--llm-report-json={path}", "--llm-report-terminal=full", *args
    )
    report = json.loads(path.read_text())
    return result, report


def comparisons(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["data"]["test"].split("::")[-1]: t["data"] for t in report["comparisons"]}


def metrics(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["metric"]: m for m in data["metrics"]}


def test_the_variant_that_cites_ships_in_every_report_with_and_without_xdist(
    recorded: pytest.Pytester, sim: ProviderSimulator
) -> None:
    before = len(sim.requests)
    md = recorded.path / "report.md"
    result, report = replay(recorded, f"--llm-report-md={md}")
    result.assert_outcomes(passed=TESTS)
    assert len(sim.requests) == before  # replayed offline

    found = comparisons(report)
    paired = found["test_answer"]
    assert (paired["control"], paired["treatment"], paired["design"]) == ("plain", "cited", "paired")
    assert (paired["n_control"], paired["only_control"], paired["only_treatment"]) == (CASES, [], [])
    assert paired["decision"]["verdict"] == "SHIP"
    assert paired["decision"]["reason"].startswith("cited raises citations 0 -> 1 (p=")
    assert "cost_usd +" in paired["decision"]["reason"] and "within +20%" in paired["decision"]["reason"]

    # The wiring, end to end: per-case citation scores from the report's test rows, into the stats.
    rows = {
        t["nodeid"].split("[")[-1].rstrip("]"): t for t in report["tests"] if "test_answer" in t["nodeid"]
    }
    plain = [rows[f"plain-{case}"]["metrics"]["citations"]["value"] for case in QUESTIONS]
    cited = [rows[f"cited-{case}"]["metrics"]["citations"]["value"] for case in QUESTIONS]
    by_metric = metrics(paired)
    citations = by_metric["citations"]
    assert (citations["control"]["mean"], citations["treatment"]["mean"]) == (0.0, 1.0)
    assert citations["test"] == "wilcoxon"
    assert citations["p"] == stats.wilcoxon_signed_rank(cited, plain).p_value
    primary = paired["primary_metric"]
    assert by_metric[primary]["p_adj"] == by_metric[primary]["p"]  # the primary is tested alone
    secondary = [m for m in paired["metrics"] if m["p"] is not None and m["metric"] != primary]
    assert [m["p_adj"] for m in secondary] == list(
        stats.holm_bonferroni([m["p"] for m in secondary]).adjusted
    )
    assert by_metric["pass_rate"]["test"] == "mcnemar"
    assert by_metric["cost_usd"]["lift"] > 0 and by_metric["input_tokens"]["lift"] > 0  # asking costs words

    unpaired = found["test_repeated"]
    assert (unpaired["design"], unpaired["n_control"], unpaired["n_treatment"]) == (
        "unpaired",
        REPEATS,
        REPEATS,
    )
    assert metrics(unpaired)["citations"]["test"] == "welch"
    assert metrics(unpaired)["pass_rate"]["test"] == "fisher"

    result.stdout.fnmatch_lines(
        [
            "A/B test_app.py::test_answer: cited vs plain — SHIP",
            "*metric*plain (control) [[]95% CI]*cited [[]95% CI]*lift*relative*n*test*p*p adj (Holm)",
            "*citations (primary)*0*1*+1*10*Wilcoxon signed-rank*",
            "*SHIP: cited raises citations 0 -> 1*",
            "*Paired by case: 10 cases ran under both variants.",
        ]
    )
    text = md.read_text()
    assert "### A/B test_app.py::test_answer: cited vs plain — SHIP" in text
    assert (
        "| metric | plain (control) [95% CI] | cited [95% CI] | lift | relative | n | test | p "
        "| p adj (Holm) |" in text
    )
    # 0/10 and 10/10: Wilson intervals, on the 0-1 scale, not a point at the observed mean
    assert (
        "| citations (primary) | 0 [0, 0.278] | 1 [0.722, 1] | +1 | - | 10 | Wilcoxon signed-rank |" in text
    )

    # Under xdist the controller collects nothing: the control still comes from the collection order.
    result, parallel = replay(recorded, "-n", "2")
    result.assert_outcomes(passed=TESTS)
    assert parallel["comparisons"] == report["comparisons"]


def test_a_guard_blocks_a_ship_a_swapped_control_reverts_and_few_cases_are_inconclusive(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report = replay(recorded, "-o", "llm_guard_metrics=cost_usd:+1%")
    blocked = comparisons(report)["test_answer"]["decision"]
    assert blocked["verdict"] == "INCONCLUSIVE"
    assert (
        blocked["reason"].startswith("cited raises citations 0 -> 1") and "exceeds +1%" in blocked["reason"]
    )

    monkeypatch.setenv("CITED_FIRST", "1")
    result, report = replay(recorded)
    result.assert_outcomes(passed=TESTS)  # the same cassettes: only the order of the variants changed
    swapped = comparisons(report)["test_answer"]
    assert (swapped["control"], swapped["decision"]["verdict"]) == ("cited", "REVERT")
    assert swapped["decision"]["reason"].startswith("plain lowers citations 1 -> 0 (p=")

    monkeypatch.delenv("CITED_FIRST")
    result, report = replay(recorded, "-k", "refunds or shipping or passwords")
    result.assert_outcomes(passed=6)
    data = comparisons(report)["test_answer"]
    decision = data["decision"]
    assert data["n_control"] == 3 and decision["verdict"] == "INCONCLUSIVE"
    needed = decision["needed_n"]
    assert needed is not None and needed > 3 and decision["needed_n_unit"] == "cases"
    assert f"about {needed} cases would detect a change this size (have 3)" in decision["reason"]
    result.stdout.fnmatch_lines(["A/B test_app.py::test_answer: cited vs plain — INCONCLUSIVE"])
